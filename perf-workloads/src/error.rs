//! Errors of the RAG stack and workloads. Each message is one line that names
//! the file, flag or setting at fault and, where there is one, the fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("corpus folder {0} does not exist: pass --corpus DIR, set [corpus] dir in perf.toml, or for the default run `rustup component add rust-docs`")]
    CorpusMissing(PathBuf),
    #[error("corpus folder {0} has no .md, .txt or .html file with text: point --corpus at a folder of documents")]
    CorpusEmpty(PathBuf),
    #[error("query file {0} has no questions: write one question per line")]
    QueriesEmpty(PathBuf),
    #[error("cannot read {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{0}")]
    Config(String),
    #[error("embedding model at {path} is unusable: {message}; delete it to re-provision, or pass --model-dir with a good copy")]
    ModelCorrupt { path: PathBuf, message: String },
    #[error("embedding model is not available: {0}")]
    ModelUnavailable(String),
    #[error("model inference failed: {0}")]
    Inference(String),
    #[error("vector index: {0}")]
    Index(String),
    #[error("GGUF model {path} is unusable: {message}; delete it to re-provision, or pass --llm-model with a good GGUF file")]
    Gguf { path: PathBuf, message: String },
    #[error("LLM model is not available: {0}")]
    LlmUnavailable(String),
    #[error("engine {engine}: {message}")]
    Engine { engine: String, message: String },
    #[error("openai server {url}: {message}")]
    Server { url: String, message: String },
}

impl From<candle_core::Error> for WorkloadError {
    fn from(e: candle_core::Error) -> Self {
        WorkloadError::Inference(e.to_string())
    }
}
