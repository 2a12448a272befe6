//! The resolved plan of a run: what the front end decided (workloads,
//! corpus, models, iteration counts) after merging flags and `perf.toml`.
//!
//! The plan is the contract between `xtask` and the workloads process: the
//! front end writes it as JSON, the workloads binary executes exactly it, and
//! the baseline stores it so that any figure can be traced to its settings.

use std::{fmt, path::PathBuf, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::setting::Setting;

pub use crate::index_plan::{IndexPlan, VectorStorage};
pub use crate::vector_plan::{ChromaPlan, LoadPlan, VectorPlan};

/// Every workload the harness knows, by the name users type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadName {
    RagQuery,
    Embedding,
    VectorQuery,
    /// LLM prefill, decode, TTFT and inter-token latency per engine.
    Inference,
    /// The full answer path: retrieval, prompt, generation, per engine.
    RagAnswer,
    /// Servers (Chroma, the OpenAI-compatible LLM server, the RAG answer
    /// over both) under open-loop Poisson load at a sweep of rates.
    ServerLoad,
}

impl WorkloadName {
    /// `rag_query, embedding`: names as messages list them.
    pub fn list(names: &[WorkloadName]) -> String {
        names
            .iter()
            .map(|w| w.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub const ALL: [WorkloadName; 6] = [
        WorkloadName::RagQuery,
        WorkloadName::Embedding,
        WorkloadName::VectorQuery,
        WorkloadName::Inference,
        WorkloadName::RagAnswer,
        WorkloadName::ServerLoad,
    ];

    /// What runs when no workload is named: every item of the original
    /// task, retrieval and the LLM's answer alike. (Baselines recorded when
    /// the default was the retrieval stack alone stay comparable: a
    /// comparison covers the workloads both runs hold.) `server_load` is
    /// asked for by name: it loads servers for minutes per rate.
    pub const DEFAULT: [WorkloadName; 5] = [
        WorkloadName::RagQuery,
        WorkloadName::Embedding,
        WorkloadName::VectorQuery,
        WorkloadName::Inference,
        WorkloadName::RagAnswer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadName::RagQuery => "rag_query",
            WorkloadName::Embedding => "embedding",
            WorkloadName::VectorQuery => "vector_query",
            WorkloadName::Inference => "inference",
            WorkloadName::RagAnswer => "rag_answer",
            WorkloadName::ServerLoad => "server_load",
        }
    }

    /// Whether the workload generates text (needs the LLM engines).
    pub fn uses_llm(self) -> bool {
        matches!(self, WorkloadName::Inference | WorkloadName::RagAnswer)
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
    /// LLM engines and generation settings (`inference`, `rag_answer`).
    /// Absent from plans recorded before LLM workloads existed.
    #[serde(default)]
    pub llm: LlmPlan,
    /// Vector engines, corpus sizes, the HNSW sweep and the server-load
    /// test. Absent from plans recorded before engines were named.
    #[serde(default)]
    pub vector: VectorPlan,
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

/// The LLM engines, by the name users type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineName {
    /// llama.cpp in-process (llama-cpp-2).
    Llamacpp,
    /// candle's quantized Gemma 3 in-process.
    Candle,
    /// Any OpenAI-compatible HTTP server, streamed.
    Openai,
}

impl EngineName {
    pub const ALL: [EngineName; 3] = [EngineName::Llamacpp, EngineName::Candle, EngineName::Openai];

    pub fn as_str(self) -> &'static str {
        match self {
            EngineName::Llamacpp => "llamacpp",
            EngineName::Candle => "candle",
            EngineName::Openai => "openai",
        }
    }
}

impl fmt::Display for EngineName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EngineName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EngineName::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = EngineName::ALL.iter().map(|e| e.as_str()).collect();
                format!("unknown engine `{s}` (known: {})", known.join(", "))
            })
    }
}

/// Generation settings shared by the LLM workloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmPlan {
    pub engines: Vec<EngineName>,
    /// Explicit GGUF file; when `None` Gemma 3 270M Q4_K_M is provisioned
    /// into `cache_dir`.
    pub model: Option<PathBuf>,
    pub cache_dir: PathBuf,
    /// Prompt lengths (tokens, BOS included) of the prefill measurement.
    pub prompt_lengths: Vec<usize>,
    /// Tokens generated per prompt (greedy, stop tokens ignored).
    pub max_new_tokens: usize,
    /// Questions of the query set used per pass (`None`: all of them).
    pub questions: Option<usize>,
    /// Measured passes of `inference` and `rag_answer` (`None`: the
    /// harness's `passes`). A generation takes about a second where a
    /// retrieval takes milliseconds, so the LLM workloads get fewer passes
    /// and one warm-up pass at most. Absent from older plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passes: Option<u32>,
    /// Leading generated tokens compared between llamacpp and candle.
    pub agreement_tokens: usize,
    /// Context window allocated per engine, in tokens.
    pub context_tokens: usize,
    /// Retrieved context in a `rag_answer` prompt, in characters (about a
    /// quarter as many tokens: 2000 gives prompts near the 512-token
    /// prefill length of `inference`).
    pub rag_context_chars: usize,
    /// How the `candle` engine holds the weights.
    #[serde(default)]
    pub candle_weights: CandleWeights,
    pub openai: Option<OpenAiPlan>,
}

/// How the `candle` engine holds the GGUF's weights. candle 0.11 multiplies
/// Q5_0 blocks with a scalar loop (no SIMD kernel), and Gemma 3 270M's
/// "Q4_K_M" file stores most layer weights as Q5_0 (its 640-wide rows do
/// not fit K-quant blocks), so the choice decides candle's speed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CandleWeights {
    /// As the file stores them, through candle's quantized kernels.
    #[serde(rename = "quantized")]
    Quantized,
    /// Q5_0 tensors expanded to f32 at load (measured for the 270M model:
    /// 623 MiB of RSS after loading against 420 MiB), multiplied by
    /// candle's f32 GEMM; the other types stay quantized. The default: about 10x the prefill rate of `Quantized`
    /// on the development VM, with the same agreement with llama.cpp.
    #[default]
    #[serde(rename = "q5_0_as_f32")]
    Q5AsF32,
}

impl CandleWeights {
    pub fn as_str(self) -> &'static str {
        match self {
            CandleWeights::Quantized => "quantized",
            CandleWeights::Q5AsF32 => "q5_0_as_f32",
        }
    }
}

impl Default for LlmPlan {
    fn default() -> Self {
        LlmPlan {
            engines: vec![EngineName::Llamacpp, EngineName::Candle],
            model: None,
            cache_dir: PathBuf::from("target/perf-models"),
            prompt_lengths: vec![128, 512],
            max_new_tokens: 64,
            questions: None,
            passes: None,
            agreement_tokens: 16,
            context_tokens: 4096,
            rag_context_chars: 2000,
            candle_weights: CandleWeights::Q5AsF32,
            openai: None,
        }
    }
}

/// An OpenAI-compatible server. The API key itself is never in the plan:
/// only the name of the environment variable that holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiPlan {
    /// e.g. `http://127.0.0.1:8000` (the `/v1/...` paths are appended).
    pub base_url: String,
    pub model: String,
    /// The variable holding the API key (`OPENAI_API_KEY` unless configured).
    pub api_key_env: Option<String>,
    /// `api_key_env` is the default, not the user's choice: when the variable
    /// is unset no key is sent (a local server needs none), where a
    /// configured variable that is unset is an error.
    #[serde(default)]
    pub api_key_optional: bool,
    /// Concurrency levels of the open-loop load test.
    pub concurrency: Vec<usize>,
    /// Requests sent per concurrency level and pass.
    pub requests_per_level: usize,
    pub connect_timeout_ms: u64,
    /// Longest wait for the next byte of a response.
    pub read_timeout_ms: u64,
    /// Extra attempts after a failed connection (never after a reply began).
    pub retries: u32,
    /// The run starts llama-cpp-python's server on the GGUF itself and
    /// fills `base_url` with its address (`--openai-serve`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serve: bool,
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
    /// Embedding engines the `embedding` workload measures (`native`,
    /// `candle`); the first also serves the stack (corpus, queries).
    #[serde(default = "default_embed_engines")]
    pub engines: Vec<String>,
    /// The native engine's kernel path: `auto`, `bf16-avx512` or `f32`.
    #[serde(default = "default_kernel")]
    pub kernel: String,
}

fn default_embed_engines() -> Vec<String> {
    vec!["native".into(), "candle".into()]
}

fn default_kernel() -> String {
    "auto".into()
}

impl Plan {
    /// The passes of the LLM workloads: `llm.passes` measured (else the
    /// harness's), after at most one warm-up pass (a model is warm after
    /// one generation of each prompt; more would only cost minutes).
    pub fn llm_harness(&self) -> HarnessPlan {
        HarnessPlan {
            warmup_passes: self.harness.warmup_passes.min(1),
            passes: self.llm.passes.unwrap_or(self.harness.passes),
            index_builds: self.harness.index_builds,
        }
    }

    /// Checks the invariants no later stage can recover from, naming the
    /// setting at fault.
    pub fn validate(&self) -> Result<(), String> {
        if self.workloads.is_empty() {
            return Err(format!(
                "no workload selected: name one with {}",
                Setting::Workloads
            ));
        }
        let passes = format!("passes ({})", Setting::Passes);
        let positive = [
            (passes.as_str(), self.harness.passes as usize),
            ("llm_passes", self.llm_harness().passes as usize),
            ("index_builds", self.harness.index_builds as usize),
            ("chunk_size", self.corpus.chunk_size),
            ("top_k", self.rag.top_k),
            ("docs_per_batch_size", self.embedding.docs_per_batch_size),
            ("min_batches", self.embedding.min_batches),
            ("connectivity", self.index.connectivity),
            ("expansion_search", self.index.expansion_search),
            ("expansion_add", self.index.expansion_add),
        ];
        if self.embedding.engines.is_empty() {
            return Err("`[embedding] engines` names no engine".into());
        }
        for engine in &self.embedding.engines {
            engine
                .parse::<crate::metric_key::EmbedEngine>()
                .map_err(|e| format!("`[embedding] engines`: {e}"))?;
        }
        if !["auto", "bf16-avx512", "f32"].contains(&self.embedding.kernel.as_str()) {
            return Err(format!(
                "`[embedding] kernel` is `{}`: use auto, bf16-avx512 or f32",
                self.embedding.kernel
            ));
        }
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
        if self.workloads.iter().any(|w| w.uses_llm()) {
            self.llm.validate()?;
        }
        self.vector.validate()
    }
}

impl LlmPlan {
    fn validate(&self) -> Result<(), String> {
        if self.engines.is_empty() {
            return Err(format!(
                "no LLM engine selected: name one with {}",
                Setting::Engines
            ));
        }
        if self.prompt_lengths.is_empty() || self.prompt_lengths.iter().any(|&n| n < 2) {
            return Err(
                "[llm] prompt_lengths must be a non-empty list of lengths of at least 2 tokens"
                    .into(),
            );
        }
        if self.max_new_tokens < 2 {
            return Err(
                "[llm] max_new_tokens must be at least 2 (inter-token latency needs two tokens)"
                    .into(),
            );
        }
        if self.questions == Some(0) {
            return Err("[llm] questions must be at least 1".into());
        }
        if let Some(longest) = self.prompt_lengths.iter().max() {
            if longest + self.max_new_tokens > self.context_tokens {
                return Err(format!(
                    "[llm] context_tokens ({}) must hold the longest prompt ({longest}) plus max_new_tokens ({})",
                    self.context_tokens, self.max_new_tokens
                ));
            }
        }
        if self.engines.contains(&EngineName::Openai) {
            let Some(o) = &self.openai else {
                return Err(format!(
                    "engine openai needs a server: set {}",
                    Setting::OpenAiUrl
                ));
            };
            // A served server's address is filled in when it is up.
            let served_later = o.serve && o.base_url.is_empty();
            if !served_later && !o.base_url.starts_with("http://") {
                return Err(format!(
                    "[llm.openai] base_url `{}` must start with http:// (plain HTTP to a local or trusted server)",
                    o.base_url
                ));
            }
            if o.concurrency.is_empty() || o.concurrency.contains(&0) {
                return Err(
                    "[llm.openai] concurrency must be a non-empty list of positive levels".into(),
                );
            }
            if o.requests_per_level == 0 {
                return Err("[llm.openai] requests_per_level must be at least 1".into());
            }
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

    #[test]
    fn engine_names_round_trip() {
        for e in EngineName::ALL {
            assert_eq!(e.as_str().parse::<EngineName>().unwrap(), e);
            assert_eq!(serde_json::to_string(&e).unwrap(), format!("\"{e}\""));
        }
        let err = "vllm".parse::<EngineName>().unwrap_err();
        assert!(err.contains("unknown engine `vllm`"), "{err}");
    }
}
