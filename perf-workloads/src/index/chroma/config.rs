//! What the `chroma` engine is told: where the server is, how long to wait
//! for it, and the HNSW settings of its collections.

use std::time::Duration;

/// HNSW settings of a collection (Chroma's names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChromaHnsw {
    /// Graph connectivity (usearch's `connectivity`, hnswlib's `M`).
    pub max_neighbors: usize,
    pub ef_construction: usize,
    pub ef_search: usize,
}

/// Where the server is and how to talk to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChromaConfig {
    /// A running server; `None`: the run starts one
    /// ([`ChromaServer::start`](super::ChromaServer::start)).
    pub url: Option<perf_contract::secret_url::SecretUrl>,
    pub tenant: String,
    pub database: String,
    /// Collection name prefix; an engine's collection is `<prefix>-<suffix>`.
    pub collection: String,
    pub connect_timeout: Duration,
    /// Whole request, answer included.
    pub request_timeout: Duration,
    /// Further attempts of a call that may be repeated.
    pub retries: u32,
    pub hnsw: ChromaHnsw,
}

impl Default for ChromaConfig {
    fn default() -> ChromaConfig {
        ChromaConfig {
            url: None,
            tenant: "default_tenant".into(),
            database: "default_database".into(),
            collection: "perf-vector-query".into(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(30),
            retries: 2,
            // Chroma's own defaults.
            hnsw: ChromaHnsw {
                max_neighbors: 16,
                ef_construction: 100,
                ef_search: 100,
            },
        }
    }
}
