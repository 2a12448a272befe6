//! The vector engines a run can measure, by name: [`EngineHost::open`] is
//! the one place that maps a [`VectorEngineName`] to an implementation of
//! [`VectorEngine`]. Adding an engine (Qdrant, pgvector, ...) is its file
//! under `index/`, its name in `perf_contract::metric_key::VectorEngineName`,
//! and one arm here; the workloads only see the trait.
//!
//! Server engines share one server per run: a local one is provisioned
//! and started on first use and stopped (and reaped) when the host is
//! dropped, or a configured URL is connected to. A server that cannot be
//! had makes its engine [`OpenError::Skipped`], with the reason, so the
//! rest of the run goes on and the baseline says what is missing.

use std::{cell::OnceCell, sync::Arc, time::Duration};

use perf_contract::{metric_key::VectorEngineName, plan::Plan};

use crate::{
    error::WorkloadError,
    index::{
        chroma::{ChromaConfig, ChromaEngine, ChromaHnsw, ChromaServer},
        FlatIndex, HnswIndex, VectorEngine,
    },
};

/// Why an engine could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// A server engine whose server cannot be had: the run goes on
    /// without it and records this reason.
    Skipped(String),
    /// Anything else: the run stops.
    Failed(WorkloadError),
}

/// Opens engines for one run and owns the servers they talk to. Create and
/// drop it on the thread that runs the workloads: a started server is
/// bound to the life of that thread (its parent-death signal).
pub struct EngineHost<'a> {
    plan: &'a Plan,
    dims: usize,
    chroma: OnceCell<Result<Arc<ChromaServer>, String>>,
}

impl<'a> EngineHost<'a> {
    pub fn new(plan: &'a Plan, dims: usize) -> EngineHost<'a> {
        EngineHost {
            plan,
            dims,
            chroma: OnceCell::new(),
        }
    }

    pub fn plan(&self) -> &'a Plan {
        self.plan
    }

    /// A fresh, empty engine `name`; `tag` tells its storage apart from
    /// other engines of the run (a server collection's name: `n1000`,
    /// `corpus0`).
    pub fn open(
        &self,
        name: VectorEngineName,
        tag: &str,
    ) -> Result<Box<dyn VectorEngine>, OpenError> {
        match name {
            VectorEngineName::Usearch => HnswIndex::empty(self.dims, &self.plan.index)
                .map(|e| Box::new(e) as Box<dyn VectorEngine>)
                .map_err(OpenError::Failed),
            VectorEngineName::Exact => Ok(Box::new(FlatIndex::empty(self.dims))),
            VectorEngineName::Chroma => {
                let server = self.chroma_server().map_err(OpenError::Skipped)?;
                ChromaEngine::open(&server, &self.chroma_config(), self.dims, tag)
                    .map(|e| Box::new(e) as Box<dyn VectorEngine>)
                    .map_err(OpenError::Failed)
            }
        }
    }

    /// The Chroma server, started or connected on first use.
    pub fn chroma_server(&self) -> Result<Arc<ChromaServer>, String> {
        self.chroma
            .get_or_init(|| {
                let config = self.chroma_config();
                let server = match &config.url {
                    Some(url) => ChromaServer::connect(url, &config).map_err(|e| e.to_string())?,
                    None => {
                        let venv = perf_provision::provide_tool(
                            &perf_provision::catalog::CHROMADB,
                            &self.plan.vector.tools_dir,
                            // Stdout is the protocol; the first install
                            // takes a minute and says so on stderr.
                            &mut |e| {
                                if let perf_provision::Event::Note(n) = e {
                                    eprintln!("{n}");
                                }
                            },
                        )
                        .map_err(|e| e.to_string())?;
                        ChromaServer::start(&venv, &self.plan.vector.scratch_dir, &config)
                            .map_err(|e| e.to_string())?
                    }
                };
                Ok(Arc::new(server))
            })
            .clone()
    }

    /// The plan's `[vector.chroma]`, with the HNSW settings of the plan's
    /// index so that Chroma and usearch build comparable graphs.
    fn chroma_config(&self) -> ChromaConfig {
        let c = &self.plan.vector.chroma;
        let i = &self.plan.index;
        ChromaConfig {
            url: c.url.clone(),
            tenant: c.tenant.clone(),
            database: c.database.clone(),
            collection: c.collection.clone(),
            connect_timeout: Duration::from_millis(c.connect_timeout_ms),
            request_timeout: Duration::from_millis(c.request_timeout_ms),
            retries: c.retries,
            hnsw: ChromaHnsw {
                max_neighbors: i.connectivity,
                ef_construction: i.expansion_add,
                ef_search: i.expansion_search,
            },
        }
    }
}
