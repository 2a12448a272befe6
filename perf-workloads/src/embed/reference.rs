//! The reference vectors Python sentence-transformers (PyTorch) produced for
//! all-MiniLM-L6-v2 on fixed sentences, and the parity of our embedding
//! with them. Used by the parity test and, as a quality guard, by the
//! `embedding` workload, so a change that speeds the model up by breaking it
//! fails the regression check.

use serde::Deserialize;

use crate::{
    embed::{cosine, Embedder},
    error::WorkloadError,
};

/// Copied from the seed's fixtures; see `produced_by` inside for versions.
const REFERENCE_JSON: &str = include_str!("../../data/minilm_reference.json");

#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    pub model: String,
    pub produced_by: String,
    pub max_seq_length: usize,
    pub items: Vec<ReferenceItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceItem {
    pub text: String,
    pub embedding: Vec<f32>,
}

pub fn reference() -> Reference {
    serde_json::from_str(REFERENCE_JSON).expect("the bundled reference file is valid")
}

/// Cosine similarity of our vector with the reference one, per sentence,
/// embedding all sentences in one padded batch (the harder case).
pub fn parity(embedder: &Embedder, reference: &Reference) -> Result<Vec<f64>, WorkloadError> {
    let texts: Vec<&str> = reference.items.iter().map(|i| i.text.as_str()).collect();
    let ours = embedder.embed(&texts)?;
    Ok(reference
        .items
        .iter()
        .zip(&ours)
        .map(|(item, v)| f64::from(cosine(v, &item.embedding)))
        .collect())
}
