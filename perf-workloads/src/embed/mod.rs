//! Sentence embeddings: all-MiniLM-L6-v2 run in-process with candle, its
//! provisioning, and the on-disk cache of corpus embeddings.

mod cache;
mod model;
mod provision;
pub mod reference;

pub use cache::{embed_with_cache, EmbeddingCache};
pub use model::{cosine, Embedder, TokenBatch};
pub use provision::{provision_minilm, sha256_file, ModelFiles, MINILM_ID};
