//! The plan's `[vector]` part: `vector_query`'s engines, sizes and
//! sweep, the Chroma server's address, and `server_load`'s open-loop test.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{
    names::{LoadTarget, VectorEngineName},
    secret_url::SecretUrl,
    setting::{is_name, Flag, FlagValue::*, Setting},
};

/// The flags that set this file's fields.
pub(crate) const FLAGS: &[Flag] = &[
    Flag::new("vector-engine", "NAME", &["vector.engines"], Name(is_name::<VectorEngineName>),
        "Vector engine vector_query measures at every size (usearch, exact, chroma); repeat for several [default: [vector] engines, else usearch and exact, plus chroma on the full profile]").repeated(),
    Flag::new("vector-size", "N", &["vector.sizes"], Count,
        "Vector count of the scaling curve; repeat for several [default: 1000 quick; 1000, 10000, 100000 full]").repeated(),
    Flag::new("chroma-url", "URL", &["vector.chroma.url"], Text,
        "A running ChromaDB server for the chroma engine (overrides [vector.chroma] url) [default: the run starts a local one and stops it]"),
];

/// `vector_query`'s engines and scaling curve, the recall/speed sweep, and
/// `server_load`'s open-loop test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VectorPlan {
    /// Engines measured at every size.
    pub engines: Vec<VectorEngineName>,
    /// Vector counts of the scaling curve. Sizes beyond the real vectors
    /// are filled with synthetic ones, labelled so.
    pub sizes: Vec<usize>,
    /// Folders of real documents that the sizes beyond the main corpus
    /// draw from, in order (the toolchain's books and std docs by default).
    pub scaling_corpus: Vec<PathBuf>,
    /// Top-k values timed per engine and size.
    pub ks: Vec<usize>,
    /// Concurrent clients of the throughput figure (1 and N).
    pub clients: Vec<usize>,
    /// Passes over the query set per engine, size and k.
    pub query_passes: u32,
    /// HNSW settings of the recall/speed sweep (empty: no sweep).
    pub sweep_connectivity: Vec<usize>,
    pub sweep_expansion_search: Vec<usize>,
    /// Vectors the sweep's indexes hold (0: the main corpus).
    pub sweep_size: usize,
    pub chroma: ChromaPlan,
    pub load: LoadPlan,
    /// Where provisioned servers (Chroma's venv) are kept, outside git.
    pub tools_dir: PathBuf,
    /// Where a started server keeps its data while the run lasts.
    pub scratch_dir: PathBuf,
}

impl Default for VectorPlan {
    fn default() -> VectorPlan {
        VectorPlan {
            engines: vec![VectorEngineName::Usearch, VectorEngineName::Exact],
            sizes: Vec::new(),
            scaling_corpus: Vec::new(),
            ks: vec![5, 10],
            clients: vec![1, 2],
            query_passes: 3,
            sweep_connectivity: Vec::new(),
            sweep_expansion_search: Vec::new(),
            sweep_size: 0,
            chroma: ChromaPlan::default(),
            load: LoadPlan::default(),
            tools_dir: "target/perf-tools".into(),
            scratch_dir: "target/perf-scratch".into(),
        }
    }
}

/// Where the `chroma` engine's server is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChromaPlan {
    /// A running server (`http://host:8000`); `None`: the run starts a
    /// local one (`chroma run`, from PyPI's chromadb) and stops it.
    pub url: Option<SecretUrl>,
    pub tenant: String,
    pub database: String,
    /// Collections are named `<collection>-n<size>`.
    pub collection: String,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub retries: u32,
}

impl Default for ChromaPlan {
    fn default() -> ChromaPlan {
        ChromaPlan {
            url: None,
            tenant: "default_tenant".into(),
            database: "default_database".into(),
            collection: "perf-vector-query".into(),
            connect_timeout_ms: 2_000,
            request_timeout_ms: 30_000,
            retries: 2,
        }
    }
}

/// `server_load`: open-loop arrivals at a sweep of offered rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadPlan {
    /// What is loaded; a target whose server is not configured or cannot
    /// start is skipped, saying why.
    pub targets: Vec<LoadTarget>,
    /// Offered rates, requests per second, for the vector server.
    pub chroma_rates: Vec<f64>,
    /// Offered rates for the LLM server and the RAG answer.
    pub llm_rates: Vec<f64>,
    /// Gamma shape of the inter-arrival gaps: 1 is Poisson, below 1
    /// burstier, above 1 more even.
    pub burstiness: f64,
    /// How long each rate is offered (the request count is rate x this).
    pub seconds_per_rate: f64,
    /// Fewest requests per rate, whatever the duration.
    pub min_requests: usize,
    /// Requests in flight at most (more wait, and their wait counts).
    pub max_in_flight: usize,
    /// SLO of one request: first token within `slo_ttft_ms` (LLM) and
    /// the whole reply within `slo_e2e_ms`.
    pub slo_ttft_ms: f64,
    pub slo_e2e_ms: f64,
    /// Chroma queries' SLO, end to end.
    pub slo_chroma_ms: f64,
    /// Share of requests that must meet the SLO for a rate to count as
    /// sustained.
    pub slo_share: f64,
    pub max_tokens: usize,
    pub seed: u64,
}

impl Default for LoadPlan {
    fn default() -> LoadPlan {
        LoadPlan {
            targets: LoadTarget::ALL.to_vec(),
            chroma_rates: vec![50.0, 200.0, 800.0],
            llm_rates: vec![0.1, 0.25, 0.5, 1.0],
            burstiness: 1.0,
            seconds_per_rate: 20.0,
            min_requests: 10,
            max_in_flight: 64,
            slo_ttft_ms: 1_000.0,
            slo_e2e_ms: 5_000.0,
            slo_chroma_ms: 50.0,
            slo_share: 0.9,
            max_tokens: 32,
            seed: 42,
        }
    }
}

impl VectorPlan {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(url) = &self.chroma.url {
            check_server_url(url.expose())
                .map_err(|why| format!("{} `{url}` {why}", Setting::ChromaUrl))?;
        }
        if self.sizes.contains(&0) {
            return Err(format!(
                "{} must be positive numbers, got 0",
                Setting::VectorSizes
            ));
        }
        let lists = [
            ("[vector] ks", &self.ks),
            ("[vector] clients", &self.clients),
            ("[vector] sweep_connectivity", &self.sweep_connectivity),
            (
                "[vector] sweep_expansion_search",
                &self.sweep_expansion_search,
            ),
        ];
        for (name, list) in lists {
            if list.contains(&0) {
                return Err(format!("{name} must hold positive numbers, got 0"));
            }
        }
        if self.query_passes == 0 {
            return Err("[vector] query_passes must be at least 1, got 0".into());
        }
        let l = &self.load;
        let rates = l.chroma_rates.iter().chain(&l.llm_rates);
        if let Some(bad) = rates.clone().find(|r| !(r.is_finite() && **r > 0.0)) {
            return Err(format!("[vector.load] rates must be positive, got {bad}"));
        }
        if !(l.burstiness.is_finite() && l.burstiness > 0.0) {
            return Err(format!(
                "[vector.load] burstiness must be positive (1 = Poisson), got {}",
                l.burstiness
            ));
        }
        if !(0.0..=1.0).contains(&l.slo_share) {
            return Err(format!(
                "[vector.load] slo_share must be between 0 and 1, got {}",
                l.slo_share
            ));
        }
        if l.max_in_flight == 0 || l.min_requests == 0 {
            return Err("[vector.load] max_in_flight and min_requests must be at least 1".into());
        }
        Ok(())
    }
}

/// Why `url` cannot name an HTTP server (`http://host[:port][/path]`), if
/// it cannot: checked before a run, so a typo is one line, not a skip.
pub fn check_server_url(url: &str) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err("must start with http:// (plain HTTP to a local or trusted server)".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || host_port.starts_with('[') => (h, Some(p)),
        _ => (host_port, None),
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err("names no host".into());
    }
    if let Some(port) = port {
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("has no valid port (`{port}`)"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_server_url;

    #[test]
    fn server_urls_are_checked_before_a_run() {
        for good in [
            "http://127.0.0.1:8000",
            "http://user:pw@host:9/",
            "http://host",
            "http://[::1]:8000/x",
        ] {
            assert_eq!(check_server_url(good), Ok(()), "{good}");
        }
        for bad in [
            "127.0.0.1:8000",
            "https://host",
            "http://",
            "http://host:notaport",
            "http://host:0",
            "http://:80",
            "http://ho st",
        ] {
            assert!(check_server_url(bad).is_err(), "{bad}");
        }
    }
}
