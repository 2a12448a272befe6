//! The resolved plan of a run: what the front end decided (workloads,
//! corpus, models, iteration counts) after merging flags and `perf.toml`.
//!
//! The plan is the contract between `xtask` and the workloads process: the
//! front end writes it as JSON, the workloads binary executes exactly it, and
//! the baseline stores it so that any figure can be traced to its settings.

use std::{fmt, path::PathBuf, str::FromStr};

use serde::{Deserialize, Serialize};

/// Every workload the harness knows, by the name users type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadName {
    RagQuery,
    Embedding,
    VectorQuery,
}

impl WorkloadName {
    pub const ALL: [WorkloadName; 3] = [
        WorkloadName::RagQuery,
        WorkloadName::Embedding,
        WorkloadName::VectorQuery,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadName::RagQuery => "rag_query",
            WorkloadName::Embedding => "embedding",
            WorkloadName::VectorQuery => "vector_query",
        }
    }
}

impl fmt::Display for WorkloadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WorkloadName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WorkloadName::ALL
            .into_iter()
            .find(|w| w.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = WorkloadName::ALL.iter().map(|w| w.as_str()).collect();
                format!("unknown workload `{s}` (known: {})", known.join(", "))
            })
    }
}

/// Default corpus exclusions. mdBook output that would double-count the book or is not content:
/// `print.html` is every chapter on one page, `2018-edition/` an older copy,
/// `first-edition/` and `second-edition/` pages that only say the edition
/// moved, and the rest navigation.
pub const DEFAULT_EXCLUDE: [&str; 7] = [
    "print.html",
    "toc.html",
    "404.html",
    "2018-edition/**",
    "first-edition/**",
    "second-edition/**",
    "searchindex*",
];

/// Named set of iteration counts and corpus limits; runs are only compared
/// within the same profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileName {
    /// Few hundred chunks, few iterations: for CI and smoke checks.
    Quick,
    /// Whole corpus, enough iterations for stable tail percentiles.
    Full,
}

impl ProfileName {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Quick => "quick",
            ProfileName::Full => "full",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub profile: ProfileName,
    pub workloads: Vec<WorkloadName>,
    pub corpus: CorpusPlan,
    /// File of questions, one per line (`#` starts a comment).
    pub queries: PathBuf,
    pub embedding_model: ModelPlan,
    /// Compute threads for the model (0 = all logical cores).
    pub threads: usize,
    /// Folder of the on-disk embedding cache.
    pub embedding_cache_dir: PathBuf,
    pub index: IndexPlan,
    pub rag: RagPlan,
    pub harness: HarnessPlan,
    pub embedding: EmbeddingPlan,
    /// Test-only slowdown: a busy-wait added inside one stage's timed region,
    /// so the regression gate can be shown to fire. Never set by users'
    /// configuration; a run carrying it says so in its plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject_delay: Option<InjectDelay>,
    /// Deterministic mode: the process runs under valgrind's callgrind on
    /// one thread and reports instruction counts per measured operation
    /// (its wall times are meaningless and discarded).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub callgrind: bool,
    /// Use only the first N questions of the query file (callgrind's
    /// reduced plan; the file's checksum still names the whole set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_queries: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectDelay {
    /// Stage name as in the baseline (`embed`, `search`, ...).
    pub stage: String,
    pub micros: u64,
}

impl std::str::FromStr for InjectDelay {
    type Err = String;
    /// `STAGE:MICROS`, e.g. `embed:3000`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (stage, micros) = s
            .split_once(':')
            .ok_or_else(|| format!("expected STAGE:MICROS, got `{s}`"))?;
        let micros = micros
            .parse()
            .map_err(|_| format!("expected STAGE:MICROS, `{micros}` is not a whole number"))?;
        Ok(InjectDelay {
            stage: stage.to_string(),
            micros,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusPlan {
    pub dir: PathBuf,
    /// Glob patterns, relative to `dir`, of files to skip.
    pub exclude: Vec<String>,
    /// Target chunk size in characters.
    pub chunk_size: usize,
    /// Characters shared by neighbouring chunks.
    pub chunk_overlap: usize,
    /// Keep only the first N chunks (files in path order): the quick subset.
    pub max_chunks: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPlan {
    /// Explicit model folder; when `None` the model is provisioned.
    pub path: Option<PathBuf>,
    /// Where provisioned models are kept (outside git).
    pub cache_dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexPlan {
    /// HNSW graph degree (usearch `connectivity`, the M of the HNSW paper).
    pub connectivity: usize,
    pub expansion_add: usize,
    pub expansion_search: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RagPlan {
    /// Child chunks retrieved per question.
    pub top_k: usize,
    /// Upper bound of the assembled context, in characters.
    pub max_context_chars: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HarnessPlan {
    /// Unmeasured passes over the query set before measuring.
    pub warmup_passes: u32,
    /// Measured passes over the query set (samples = passes x queries).
    pub passes: u32,
    /// Times the vector index is built from scratch (build-time samples).
    pub index_builds: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingPlan {
    pub batch_sizes: Vec<usize>,
    /// Documents embedded (measured) per batch size and input kind.
    pub docs_per_batch_size: usize,
    /// Lower bound of measured batches, so large batches still give a spread.
    pub min_batches: usize,
    /// Unmeasured batches before each series.
    pub warmup_batches: usize,
}

impl Plan {
    /// Checks the invariants no later stage can recover from, naming the
    /// setting at fault.
    pub fn validate(&self) -> Result<(), String> {
        if self.workloads.is_empty() {
            return Err("no workload selected: name one with --workload".into());
        }
        let positive = [
            ("passes (--iterations)", self.harness.passes as usize),
            ("index_builds", self.harness.index_builds as usize),
            ("chunk_size", self.corpus.chunk_size),
            ("top_k", self.rag.top_k),
            ("docs_per_batch_size", self.embedding.docs_per_batch_size),
            ("min_batches", self.embedding.min_batches),
            ("connectivity", self.index.connectivity),
            ("expansion_search", self.index.expansion_search),
            ("expansion_add", self.index.expansion_add),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("{name} must be at least 1, got 0"));
            }
        }
        if self.corpus.chunk_overlap >= self.corpus.chunk_size {
            return Err(format!(
                "chunk_overlap ({}) must be smaller than chunk_size ({})",
                self.corpus.chunk_overlap, self.corpus.chunk_size
            ));
        }
        if self.embedding.batch_sizes.is_empty() || self.embedding.batch_sizes.contains(&0) {
            return Err("embedding batch_sizes must be a non-empty list of positive sizes".into());
        }
        if self.max_queries == Some(0) {
            return Err("max_queries must be at least 1".into());
        }
        if self.corpus.max_chunks == Some(0) {
            return Err("max_chunks must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_names_round_trip() {
        for w in WorkloadName::ALL {
            assert_eq!(w.as_str().parse::<WorkloadName>().unwrap(), w);
            assert_eq!(serde_json::to_string(&w).unwrap(), format!("\"{w}\""));
        }
        let err = "rag".parse::<WorkloadName>().unwrap_err();
        assert!(err.contains("unknown workload `rag`"), "{err}");
    }
}
