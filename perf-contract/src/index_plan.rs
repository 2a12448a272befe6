//! The plan's `[index]` part: the HNSW graph's settings and the element
//! type it stores its vectors in.

use serde::{Deserialize, Serialize};

use crate::names::VectorStorage;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexPlan {
    /// HNSW graph degree (usearch `connectivity`, the M of the HNSW paper).
    pub connectivity: usize,
    pub expansion_add: usize,
    pub expansion_search: usize,
    /// How the graph stores its vectors. Runs recorded before the choice
    /// existed stored f32.
    #[serde(default = "VectorStorage::before_the_choice")]
    pub storage: VectorStorage,
}

/// The stack's default.
impl Default for VectorStorage {
    fn default() -> VectorStorage {
        VectorStorage::F16
    }
}

impl VectorStorage {
    /// What a plan written before `storage` existed had.
    fn before_the_choice() -> VectorStorage {
        VectorStorage::F32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_from_before_the_storage_choice_stored_f32() {
        let old: IndexPlan = serde_json::from_str(
            r#"{"connectivity": 16, "expansion_add": 128, "expansion_search": 64}"#,
        )
        .unwrap();
        assert_eq!(old.storage, VectorStorage::F32);
        assert_eq!(VectorStorage::default(), VectorStorage::F16);
        for s in [VectorStorage::F32, VectorStorage::F16] {
            assert_eq!(s.as_str().parse(), Ok(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(
            "bf16".parse::<VectorStorage>().unwrap_err(),
            "unknown vector storage `bf16` (known: f32, f16)"
        );
    }
}
