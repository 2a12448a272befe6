//! Errors of the RAG stack and workloads. Each message is one line that names
//! the file or setting at fault and, where there is one, the fix. Settings
//! are named by their plan path ([`Setting`]); the front end turns that into
//! the flag or `perf.toml` key a user types.

use std::path::PathBuf;

use perf_contract::setting::Setting;

#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("corpus folder {0} does not exist: set {setting}, or for the default run `rustup component add rust-docs`", setting = Setting::CorpusDir)]
    CorpusMissing(PathBuf),
    #[error("corpus folder {0} has no .md, .txt or .html file with text: set {setting} to a folder of documents", setting = Setting::CorpusDir)]
    CorpusEmpty(PathBuf),
    #[error("query file {0} has no questions: write one question per line")]
    QueriesEmpty(PathBuf),
    #[error("cannot read {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{0}")]
    Config(String),
    #[error("embedding model at {path} is unusable: {message}; delete it to re-provision, or set {} to a good copy", Setting::EmbeddingModel)]
    ModelCorrupt { path: PathBuf, message: String },
    #[error("embedding model is not available: {0}")]
    ModelUnavailable(String),
    #[error("model inference failed: {0}")]
    Inference(String),
    #[error("vector index: {0}")]
    Index(String),
    #[error("GGUF model {path} is unusable: {message}; delete it to re-provision, or set {} to a good GGUF file", Setting::LlmModel)]
    Gguf { path: PathBuf, message: String },
    #[error("LLM model is not available: {0}")]
    LlmUnavailable(String),
    #[error("engine {engine}: {message}")]
    Engine { engine: String, message: String },
    /// A server the run talks to: `what` is its kind (`openai`, `chroma`).
    #[error("{what} server {url}: {message}")]
    Server {
        what: &'static str,
        url: String,
        message: String,
    },
}

impl From<candle_core::Error> for WorkloadError {
    fn from(e: candle_core::Error) -> Self {
        WorkloadError::Inference(e.to_string())
    }
}
