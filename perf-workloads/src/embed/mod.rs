//! Sentence embeddings: all-MiniLM-L6-v2 run in-process by the stack's own
//! encoder (`native`) or candle's (`candle`), its provisioning, and the
//! on-disk cache of corpus embeddings.

mod cache;
mod candle_bert;
mod model;
pub mod native;
mod provision;
pub mod reference;

pub use cache::{embed_with_cache, EmbeddingCache};
pub use model::{cosine, Embedder, TokenBatch};
pub use native::KernelPath;
pub use perf_contract::metric_key::EmbedEngine;
pub use provision::{provision_minilm, sha256_file, ModelFiles, MINILM_ID};
