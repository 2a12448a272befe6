//! The resolved plan of a run: what the front end decided (workloads,
//! corpus, models, iteration counts) after merging flags and `perf.toml`.
//!
//! The plan is the contract between `xtask` and the workloads process: the
//! front end writes it as JSON, the workloads binary executes exactly it, and
//! the baseline stores it so that any figure can be traced to its settings.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{
    names::Stage,
    secret_url::{self, SecretUrl},
    setting::{is_name, Flag, FlagValue::*, Setting},
};

pub use crate::index_plan::IndexPlan;
pub use crate::llm_plan::{LlmPlan, OpenAiPlan};
pub use crate::names::{
    CandleWeights, EmbedEngine, EngineName, Kernel, ProfileName, VectorStorage, WorkloadName,
};
pub use crate::vector_plan::{ChromaPlan, LoadPlan, VectorPlan};

/// The flags that set this file's fields.
const FLAGS: &[Flag] = &[
    Flag::new("workload", "NAME", &["workloads"], Name(is_name::<WorkloadName>),
        "Workload to run; repeat for several [default: all five: rag_query, embedding, vector_query, inference, rag_answer]").repeated(),
    Flag::new("iterations", "N", &["harness.passes", "llm.passes"], Count,
        "Measured passes over the query set per process (overrides the profile)"),
    Flag::new("warmup", "N", &["harness.warmup_passes"], Count,
        "Unmeasured warm-up passes before measuring (overrides the profile)"),
    Flag::new("processes", "N", &["harness.processes"], Count,
        "Processes the retrieval workloads are measured in, each a fresh start (the replicate a verdict's interval rests on; overrides the profile)"),
    Flag::new("corpus", "DIR", &["corpus.dir"], Text,
        "Folder of .md/.txt/.html documents [default: the Rust book from rust-docs]"),
    Flag::new("max-chunks", "N", &["corpus.max_chunks"], Count,
        "Keep only the first N chunks of the corpus (overrides the profile)"),
    Flag::new("queries", "FILE", &["queries"], Text,
        "File of questions, one per line [default: perf-workloads/data/queries.txt]"),
    Flag::new("model-dir", "DIR", &["embedding_model.path"], Text,
        "Folder holding the embedding model (model.safetensors, tokenizer.json, config.json) [default: Hugging Face cache, else downloaded once]"),
    Flag::new("threads", "N", &["threads"], Count,
        "Compute threads for the model; 0 means all logical cores"),
];

/// Every flag that sets a plan key, in the order help lists them.
pub fn flags() -> impl Iterator<Item = &'static Flag> {
    FLAGS
        .iter()
        .chain(crate::llm_plan::FLAGS)
        .chain(crate::vector_plan::FLAGS)
}

/// What the plan knows of its workloads; their names are in `names`.
impl WorkloadName {
    /// `rag_query, embedding`: names as messages list them.
    pub fn list(names: &[WorkloadName]) -> String {
        names
            .iter()
            .map(|w| w.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What the commands know of the workload, declared in one table.
    pub const fn traits(self) -> WorkloadTraits {
        // Default: every item of the original task, retrieval and the
        // LLM's answer alike (baselines recorded when the default was the
        // retrieval stack alone stay comparable: a comparison covers the
        // workloads both runs hold); `server_load` is asked for by name, it
        // loads servers for minutes per rate. Countable: the retrieval
        // stack's own code; a generation is minutes per token under
        // valgrind, and a load test measures servers, not our
        // instructions. Compared: what `perf compare` runs unnamed, the
        // retrieval side, minutes on the quick plan. Replicated: measured
        // in every one of `[harness] processes` processes, not the first
        // alone; a process of the LLM workloads is minutes of generation.
        let (default, llm, countable, compared, replicated) = match self {
            WorkloadName::RagQuery => (true, false, true, true, true),
            WorkloadName::Embedding => (true, false, true, true, true),
            WorkloadName::VectorQuery => (true, false, true, true, true),
            WorkloadName::Inference => (true, true, false, false, false),
            WorkloadName::RagAnswer => (true, true, false, false, false),
            WorkloadName::ServerLoad => (false, false, false, false, false),
        };
        WorkloadTraits {
            default,
            llm,
            countable,
            compared,
            replicated,
        }
    }

    /// What runs when no workload is named.
    pub fn defaults() -> Vec<WorkloadName> {
        WorkloadName::ALL
            .into_iter()
            .filter(|w| w.traits().default)
            .collect()
    }

    /// What `perf compare` runs when no workload is named.
    pub fn compared_by_default() -> Vec<WorkloadName> {
        WorkloadName::ALL
            .into_iter()
            .filter(|w| w.traits().compared)
            .collect()
    }

    /// Whether the workload generates text (needs the LLM engines).
    pub fn uses_llm(self) -> bool {
        self.traits().llm
    }

    /// Whether callgrind counts its instructions.
    pub fn countable(self) -> bool {
        self.traits().countable
    }
}

/// Most processes a run measures in: beyond, more passes per process
/// narrow an interval as well and cost no start-ups.
pub const MAX_PROCESSES: u32 = 50;

/// A workload's descriptor: whether it runs by default, generates text,
/// is counted under callgrind, is compared by default, and is measured in
/// every process of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadTraits {
    pub default: bool,
    pub llm: bool,
    pub countable: bool,
    pub compared: bool,
    pub replicated: bool,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectDelay {
    /// The stage slowed down (`embed`, `search`, ...).
    pub stage: Stage,
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
            stage: stage.parse()?,
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
    /// Processes the run measures its replicated workloads in
    /// (`WorkloadTraits::replicated`), each a fresh start: the process is
    /// the replicate a comparison's interval rests on. Plans recorded
    /// before processes were replicated measured in one.
    #[serde(default = "HarnessPlan::one_process")]
    pub processes: u32,
}

impl HarnessPlan {
    fn one_process() -> u32 {
        1
    }
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
    /// Embedding engines the `embedding` workload measures; the first
    /// also serves the stack (corpus, queries). Absent from plans recorded
    /// before engines were named.
    #[serde(default = "EmbeddingPlan::default_engines")]
    pub engines: Vec<EmbedEngine>,
    /// The native engine's kernel path. Absent from older plans.
    #[serde(default)]
    pub kernel: Kernel,
    /// Chunks of the ingest at scale: the main corpus, then the scaling
    /// corpus's chunks (`vector.scaling_corpus`), up to this many, embedded
    /// once by the stack's engine as it indexes them; 0 skips it. Absent
    /// from older plans (skipped).
    #[serde(default)]
    pub scale_ingest_chunks: usize,
}

impl EmbeddingPlan {
    /// Both engines, the stack's own first.
    pub fn default_engines() -> Vec<EmbedEngine> {
        vec![EmbedEngine::Native, EmbedEngine::Candle]
    }
}

/// The fastest path the CPU runs.
impl Default for Kernel {
    fn default() -> Kernel {
        Kernel::Auto
    }
}

/// Compute threads allowed per logical core (`threads`).
const MAX_THREADS_PER_CORE: usize = 8;

impl Plan {
    /// Every server address of the plan (credentials and all).
    pub fn secret_urls(&self) -> Vec<&SecretUrl> {
        let mut urls = Vec::new();
        urls.extend(self.vector.chroma.url.as_ref());
        urls.extend(self.llm.openai.as_ref().map(|o| &o.base_url));
        urls
    }

    /// The environment variable that gives the workloads process the full
    /// addresses the plan file holds redacted, if any has credentials.
    pub fn secrets_env(&self) -> Option<(&'static str, String)> {
        secret_url::env_value(self.secret_urls()).map(|v| (secret_url::SECRETS_ENV, v))
    }

    /// In the workloads process: puts back the credentials the plan file
    /// could not hold, from [`Plan::secrets_env`]'s variable.
    pub fn restore_secrets(&mut self) {
        let Ok(secrets) = std::env::var(secret_url::SECRETS_ENV) else {
            return;
        };
        if let Some(url) = self.vector.chroma.url.as_mut() {
            secret_url::restore(url, &secrets);
        }
        if let Some(o) = self.llm.openai.as_mut() {
            secret_url::restore(&mut o.base_url, &secrets);
        }
    }

    /// The plan without the ingest at scale: what every command but
    /// `baseline` measures. One pass over 100k chunks is minutes; judged
    /// in lockstep rounds (`compare`, `bisect`), again per process
    /// (`check`, `calibrate`) or under a profiler, it would cost hours,
    /// and a baseline's single sample gives no interval to judge anyway.
    pub fn without_ingest_at_scale(mut self) -> Plan {
        self.embedding.scale_ingest_chunks = 0;
        self
    }

    /// The passes of the LLM workloads: `llm.passes` measured (else the
    /// harness's), after at most one warm-up pass (a model is warm after
    /// one generation of each prompt; more would only cost minutes).
    pub fn llm_harness(&self) -> HarnessPlan {
        HarnessPlan {
            warmup_passes: self.harness.warmup_passes.min(1),
            passes: self.llm.passes.unwrap_or(self.harness.passes),
            index_builds: self.harness.index_builds,
            processes: 1,
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
        let processes = format!("processes ({})", Setting::Processes);
        let positive = [
            (passes.as_str(), self.harness.passes as usize),
            (processes.as_str(), self.harness.processes as usize),
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
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("{name} must be at least 1, got 0"));
            }
        }
        if self.harness.processes > MAX_PROCESSES {
            return Err(format!(
                "{processes} is {}: at most {MAX_PROCESSES} (each is a fresh start of the measured program)",
                self.harness.processes
            ));
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
            return Err(format!("{} must be at least 1, got 0", Setting::MaxChunks));
        }
        // More compute threads than cores only queue; thousands of them
        // (a typo) swamped a 2-core machine for minutes before it died.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let most_threads = (MAX_THREADS_PER_CORE * cores).max(64);
        if self.threads > most_threads {
            return Err(format!(
                "{} is {}: at most {most_threads} ({MAX_THREADS_PER_CORE} per logical core, {cores} here); 0 uses every core",
                Setting::Threads,
                self.threads
            ));
        }
        if self.workloads.iter().any(|w| w.uses_llm()) {
            self.llm.validate()?;
        }
        self.vector.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_descriptor_table_gives_the_lists_the_commands_use() {
        use WorkloadName::*;
        assert_eq!(
            WorkloadName::defaults(),
            [RagQuery, Embedding, VectorQuery, Inference, RagAnswer]
        );
        assert_eq!(
            WorkloadName::compared_by_default(),
            [RagQuery, Embedding, VectorQuery]
        );
        let counted: Vec<_> = WorkloadName::ALL
            .into_iter()
            .filter(|w| w.countable())
            .collect();
        assert_eq!(counted, [RagQuery, Embedding, VectorQuery]);
        for w in WorkloadName::ALL {
            // Nothing generating text is counted or compared unnamed.
            assert!(
                !(w.uses_llm() && (w.countable() || w.traits().compared)),
                "{w}"
            );
        }
    }

    /// The slowdown names its stage as typed, and an unknown one is
    /// refused where the flag is read, not by the workloads process.
    #[test]
    fn inject_delay_names_a_stage() {
        let d: InjectDelay = "embed:3000".parse().unwrap();
        assert_eq!((d.stage, d.micros), (Stage::Embed, 3000));
        let err = "embedd:3000".parse::<InjectDelay>().unwrap_err();
        assert!(err.starts_with("unknown stage `embedd` (known: "), "{err}");
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"stage":"embed","micros":3000}"#
        );
    }

    /// Plans from before the embedding engines and kernel were named read
    /// as both engines on the automatic kernel; names are typed in the
    /// plan and spelled in its file as they always were.
    #[test]
    fn embedding_names_are_typed_and_spelled_as_before() {
        let old: EmbeddingPlan = serde_json::from_str(
            r#"{"batch_sizes": [1], "docs_per_batch_size": 1, "min_batches": 1, "warmup_batches": 0}"#,
        )
        .unwrap();
        assert_eq!(old.engines, [EmbedEngine::Native, EmbedEngine::Candle]);
        assert_eq!(old.kernel, Kernel::Auto);
        let json = serde_json::to_value(&old).unwrap();
        assert_eq!(json["engines"], serde_json::json!(["native", "candle"]));
        assert_eq!(json["kernel"], "auto");
        let bad = r#"{"batch_sizes": [1], "docs_per_batch_size": 1, "min_batches": 1, "warmup_batches": 0, "kernel": "avx"}"#;
        let err = serde_json::from_str::<EmbeddingPlan>(bad).unwrap_err();
        assert!(err.to_string().starts_with("unknown kernel `avx`"), "{err}");
    }
}
