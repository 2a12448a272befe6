//! Settings that errors of the library crates name. A library says which
//! setting is at fault by its path in the plan (`corpus.dir`); only the
//! front end knows how a user sets it (a flag, a `perf.toml` key) and
//! rewrites the name for the user (xtask's `settings.rs`), so the measured
//! program never speaks of flags it does not have.

use std::fmt;

/// A setting a library error can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Workloads,
    Passes,
    Processes,
    Engines,
    OpenAiUrl,
    CorpusDir,
    EmbeddingModel,
    LlmModel,
    MaxChunks,
    Threads,
    VectorSizes,
    ChromaUrl,
}

impl Setting {
    pub const ALL: [Setting; 12] = [
        Setting::Workloads,
        Setting::Passes,
        Setting::Processes,
        Setting::Engines,
        Setting::OpenAiUrl,
        Setting::CorpusDir,
        Setting::EmbeddingModel,
        Setting::LlmModel,
        Setting::MaxChunks,
        Setting::Threads,
        Setting::VectorSizes,
        Setting::ChromaUrl,
    ];

    /// Its path in the plan file.
    pub fn plan_key(self) -> &'static str {
        match self {
            Setting::Workloads => "workloads",
            Setting::Passes => "harness.passes",
            Setting::Processes => "harness.processes",
            Setting::Engines => "llm.engines",
            Setting::OpenAiUrl => "llm.openai.base_url",
            Setting::CorpusDir => "corpus.dir",
            Setting::EmbeddingModel => "embedding_model.path",
            Setting::LlmModel => "llm.model",
            Setting::MaxChunks => "corpus.max_chunks",
            Setting::Threads => "threads",
            Setting::VectorSizes => "vector.sizes",
            Setting::ChromaUrl => "vector.chroma.url",
        }
    }
}

/// How errors spell it: the plan path in backticks, which a front end
/// finds and replaces.
impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.plan_key())
    }
}
