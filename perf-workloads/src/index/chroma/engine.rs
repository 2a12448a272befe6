//! One collection of a Chroma server as a [`VectorEngine`].

use std::{
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::{
    error::WorkloadError,
    index::{
        chroma::{
            add_body::add_body,
            config::ChromaConfig,
            server::{first_chars, http_error, Call, ChromaServer},
        },
        Footprint, Hit, VectorEngine, VectorSearch,
    },
};

/// How long `insert` waits for a server that reports unindexed records.
const INDEXING: Duration = Duration::from_secs(600);

/// One collection of a [`ChromaServer`], searched as a [`VectorEngine`].
/// Dropping it deletes the collection (best effort).
pub struct ChromaEngine {
    server: Arc<ChromaServer>,
    name: String,
    /// `/api/v2/tenants/{t}/databases/{d}/collections`.
    base: String,
    /// `{base}/{collection id}`.
    path: String,
    dims: usize,
    /// Records added so far.
    len: usize,
    /// What `indexing_status` said on the last insert.
    indexing: Option<String>,
}

#[derive(Deserialize)]
struct QueryReply {
    ids: Vec<Vec<String>>,
    distances: Option<Vec<Vec<Option<f32>>>>,
}

impl ChromaEngine {
    /// A fresh collection `<config.collection>-<name_suffix>` for vectors of
    /// `dims` dimensions, with `config.hnsw`; a collection left by an
    /// earlier run under that name is deleted first.
    pub fn open(
        server: &Arc<ChromaServer>,
        config: &ChromaConfig,
        dims: usize,
        name_suffix: &str,
    ) -> Result<ChromaEngine, WorkloadError> {
        if dims == 0 {
            return Err(WorkloadError::Index(
                "chroma: vectors of 0 dimensions".into(),
            ));
        }
        let name = if name_suffix.is_empty() {
            config.collection.clone()
        } else {
            format!("{}-{name_suffix}", config.collection)
        };
        let base = format!(
            "/api/v2/tenants/{}/databases/{}/collections",
            config.tenant, config.database
        );
        let stale = server.send(
            "chroma delete of a stale collection",
            Call::Delete,
            &format!("{base}/{name}"),
            true,
        )?;
        if !matches!(stale.status, 200..=299 | 404) {
            return Err(server.fail(format!(
                "cannot delete the stale collection {name}: {}",
                http_error(&stale)
            )));
        }
        let h = config.hnsw;
        let body = json!({
            "name": name,
            "configuration": {"hnsw": {
                "space": "cosine",
                "max_neighbors": h.max_neighbors,
                "ef_construction": h.ef_construction,
                "ef_search": h.ef_search,
            }},
        });
        let what = format!("chroma create collection {name}");
        let created = server.json(&what, Call::Post(&body.to_string()), &base, false)?;
        let Some(id) = created["id"].as_str() else {
            return Err(server.fail(format!("{what}: the answer has no id")));
        };
        Ok(ChromaEngine {
            path: format!("{base}/{id}"),
            server: Arc::clone(server),
            name,
            base,
            dims,
            len: 0,
            indexing: None,
        })
    }

    /// Adds `batch` under ids `first, first + 1, ...`. Retried on a lost
    /// connection like a read: Chroma ignores ids the collection already
    /// holds, so a retry after a first try that did land changes nothing.
    /// A batch the server refuses as too large (HTTP 413, nothing applied)
    /// goes again in two halves.
    fn add(&mut self, first: usize, batch: &[Vec<f32>]) -> Result<(), WorkloadError> {
        let body = add_body(first, batch, self.server.takes_base64());
        let what = format!(
            "chroma add of {} records ({:.1} MB) to collection {}",
            batch.len(),
            body.len() as f64 / 1e6,
            self.name
        );
        let path = format!("{}/add", self.path);
        let reply = self.server.send(&what, Call::Post(&body), &path, true)?;
        match reply.status {
            200..=299 => {
                self.len += batch.len();
                Ok(())
            }
            413 if batch.len() > 1 => {
                let (a, b) = batch.split_at(batch.len() / 2);
                self.add(first, a)?;
                self.add(first + a.len(), b)
            }
            _ => Err(self
                .server
                .fail(format!("{what} failed: {}", http_error(&reply)))),
        }
    }

    /// What the server's `indexing_status` said after the last insert.
    pub fn indexing_status(&self) -> Option<&str> {
        self.indexing.as_deref()
    }

    /// Waits until the server reports no unindexed records, where it
    /// reports them; records what it said.
    fn wait_indexed(&mut self) -> Result<(), WorkloadError> {
        let path = format!("{}/indexing_status", self.path);
        let start = Instant::now();
        loop {
            let reply = self
                .server
                .send("chroma indexing status", Call::Get, &path, false)?;
            if reply.status != 200 {
                // Not offered (a local server says "not implemented"): its
                // queries read the write-ahead log too.
                self.indexing = Some(format!("not reported: {}", http_error(&reply)));
                return Ok(());
            }
            let status: Value = serde_json::from_str(&reply.body).unwrap_or_default();
            self.indexing = Some(first_chars(&reply.body));
            if status["num_unindexed_ops"].as_u64().unwrap_or(0) == 0 {
                return Ok(());
            }
            if start.elapsed() > INDEXING {
                return Err(self.server.fail(format!(
                    "collection {} is still not indexed after {} s: {}",
                    self.name,
                    INDEXING.as_secs(),
                    first_chars(&reply.body)
                )));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl VectorSearch for ChromaEngine {
    fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>, WorkloadError> {
        if query.len() != self.dims {
            return Err(WorkloadError::Index(format!(
                "query has {} dimensions, collection {} has {}",
                query.len(),
                self.name,
                self.dims
            )));
        }
        if k == 0 {
            return Ok(Vec::new());
        }
        let body = json!({
            "query_embeddings": [query],
            "n_results": k,
            "include": ["distances"],
        });
        let what = format!("chroma query on collection {}", self.name);
        let reply = self.server.json(
            &what,
            Call::Post(&body.to_string()),
            &format!("{}/query", self.path),
            true,
        )?;
        let bad = |why: &str| self.server.fail(format!("{what}: {why}"));
        let reply: QueryReply =
            serde_json::from_value(reply).map_err(|e| bad(&format!("unexpected answer ({e})")))?;
        let ids = reply.ids.into_iter().next().unwrap_or_default();
        let distances = reply
            .distances
            .and_then(|d| d.into_iter().next())
            .ok_or_else(|| bad("the answer has no distances"))?;
        if ids.len() != distances.len() {
            return Err(bad("the answer has not as many ids as distances"));
        }
        ids.iter()
            .zip(distances)
            .map(|(id, d)| {
                let id = id
                    .parse()
                    .map_err(|_| bad(&format!("id {id:?} is not a position")))?;
                let d = d.ok_or_else(|| bad("a distance is null"))?;
                Ok(Hit {
                    id,
                    similarity: 1.0 - d,
                })
            })
            .collect()
    }
}

impl VectorEngine for ChromaEngine {
    fn name(&self) -> &'static str {
        "chroma"
    }

    fn insert(&mut self, first_id: usize, vectors: &[Vec<f32>]) -> Result<(), WorkloadError> {
        if vectors.is_empty() {
            return Ok(());
        }
        if let Some(v) = vectors.iter().find(|v| v.len() != self.dims) {
            return Err(WorkloadError::Index(format!(
                "a vector has {} dimensions, collection {} has {}",
                v.len(),
                self.name,
                self.dims
            )));
        }
        for (n, batch) in vectors.chunks(self.server.max_batch_size()).enumerate() {
            self.add(first_id + n * self.server.max_batch_size(), batch)?;
        }
        self.wait_indexed()?;
        let count = self.server.json(
            "chroma count",
            Call::Get,
            &format!("{}/count", self.path),
            true,
        )?;
        if count.as_u64() != Some(self.len as u64) {
            return Err(self.server.fail(format!(
                "collection {} holds {count} records after {} were added",
                self.name, self.len
            )));
        }
        Ok(())
    }

    /// A local server's whole data folder (every collection on it, and
    /// its catalog database); a remote server's is not known.
    fn footprint(&self) -> Footprint {
        let Some(dir) = self.server.data_dir() else {
            return Footprint::Unknown(format!(
                "remote server at {}: its disk use is not visible from here",
                self.server.url()
            ));
        };
        let bytes = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(Result::ok)
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        Footprint::OnDisk(bytes)
    }

    fn describe(&self) -> String {
        self.server.describe()
    }
}

impl Drop for ChromaEngine {
    fn drop(&mut self) {
        if self.server.process().is_some_and(|p| !p.is_running()) {
            return;
        }
        let path = format!("{}/{}", self.base, self.name);
        let _ = self
            .server
            .send("chroma delete collection", Call::Delete, &path, false);
    }
}
