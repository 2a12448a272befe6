//! ChromaDB as a vector-search engine, over its HTTP API (v2): a server the
//! run starts (`chroma run` from the venv perf-provision installs, stopped
//! and its data folder removed when the server handle is dropped) or one
//! at a configured URL. Each engine is one fresh collection, space
//! `cosine`, ids the positions as decimal strings; similarity is
//! `1 - distance`.
//!
//! Every request has a bounded connect and total timeout. Only calls that
//! can be repeated (query, heartbeat, count, reads, and `add`: Chroma
//! ignores ids a collection already holds) are retried, on
//! connection failures and 5xx, a few times with a short back-off; a
//! refused connection (the request never arrived) is retried for any call.
//! Errors are one line: what failed, why, and the fix where there is one.
//!
//! Loading: `add` sends at most the server's `max_batch_size` records,
//! their embeddings base64-encoded where the server says it takes that
//! (`add_body.rs`), as Chroma's own client does; a batch the server finds
//! too large (HTTP 413: nothing applied) is sent again in halves.
//!
//! Indexing: after `add`, the engine asks `indexing_status` and waits for
//! `num_unindexed_ops` to reach 0 where the server reports it. A local
//! single-node server (1.5.9) answers HTTP 500 "Method scout_logs is not
//! implemented": it serves queries from its index and its write-ahead log
//! together, so records are found right after `add` (the tests check that
//! every record finds itself first). Either way the record count must match
//! what was added.

mod add_body;
mod config;
mod engine;
mod server;

pub use config::{ChromaConfig, ChromaHnsw};
pub use engine::ChromaEngine;
pub use server::ChromaServer;
