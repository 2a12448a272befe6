//! The names of vector-engine and server-load figures: one engine over the
//! corpus, its builds rotated (`hnsw.latency`, `exact.latency`), one
//! engine at one size (`usearch.n10000.k10.latency`), one HNSW setting of the
//! recall/speed sweep (`sweep.m16.ef64.qps`), one offered rate of an
//! open-loop run (`load.chroma.r20.goodput_rps`).

use std::fmt;

use crate::names::{name_enum, VectorEngineName};

use super::MetricKind;

/// How `vector_query`'s corpus figures of `engine` are named: usearch's
/// keep the names they had when it was the only engine measured over the
/// corpus (`hnsw.latency`, `recall_at_5`, `build_time`, `index_memory`,
/// the `hnsw` and `build` operations), so every recorded baseline still
/// compares; every other engine's carry its own name (`exact.latency`,
/// `chroma.recall_at_5`).
pub fn corpus_name(engine: VectorEngineName) -> &'static str {
    match engine {
        VectorEngineName::Usearch => "hnsw",
        e => e.as_str(),
    }
}

/// The engine a corpus search is named for (`hnsw`, `exact`, `chroma`).
pub(super) fn corpus_engine(name: &str) -> Option<VectorEngineName> {
    match name {
        "hnsw" => Some(VectorEngineName::Usearch),
        name => other_engine(name),
    }
}

/// An engine other than usearch, whose corpus figures carry its name
/// (usearch's are spelled without it, so `usearch.build_time` is no name).
pub(super) fn other_engine(name: &str) -> Option<VectorEngineName> {
    VectorEngineName::from_name(name).filter(|e| *e != VectorEngineName::Usearch)
}

/// `<engine>.latency`, `<engine>.recall_at_<k>`, `<engine>.build_time`,
/// `<engine>.index_memory`.
pub(super) fn parse_corpus_figure(head: &str, rest: &str) -> Option<MetricKind> {
    if rest == "latency" {
        return corpus_engine(head).map(MetricKind::SearchLatency);
    }
    let engine = other_engine(head)?;
    match rest {
        "build_time" => Some(MetricKind::BuildTime(engine)),
        "index_memory" => Some(MetricKind::IndexMemory(engine)),
        _ => {
            let k = rest.strip_prefix("recall_at_")?.parse().ok()?;
            Some(MetricKind::RecallAt { engine, k })
        }
    }
}

/// What one engine at one corpus size measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScaleFigure {
    /// `build_time`: loading every vector until searchable, ms.
    BuildTime,
    /// `inserts_per_s`: vectors loaded per second.
    InsertsPerS,
    /// `bytes_per_vector`: the engine's footprint over its vector count.
    BytesPerVector,
    /// `rss_per_vector`: growth of this process's resident memory while
    /// loading, over the vector count (in-process engines).
    RssPerVector,
    /// `k<k>.latency`: one top-k query, µs.
    Latency { k: u32 },
    /// `k<k>.recall`: share of exact search's top-k found, per question.
    Recall { k: u32 },
    /// `c<clients>.qps`: queries per second with that many clients.
    Qps { clients: u32 },
}

impl fmt::Display for ScaleFigure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScaleFigure::BuildTime => f.write_str("build_time"),
            ScaleFigure::InsertsPerS => f.write_str("inserts_per_s"),
            ScaleFigure::BytesPerVector => f.write_str("bytes_per_vector"),
            ScaleFigure::RssPerVector => f.write_str("rss_per_vector"),
            ScaleFigure::Latency { k } => write!(f, "k{k}.latency"),
            ScaleFigure::Recall { k } => write!(f, "k{k}.recall"),
            ScaleFigure::Qps { clients } => write!(f, "c{clients}.qps"),
        }
    }
}

impl ScaleFigure {
    pub(super) fn parse(s: &str) -> Option<ScaleFigure> {
        match s {
            "build_time" => return Some(ScaleFigure::BuildTime),
            "inserts_per_s" => return Some(ScaleFigure::InsertsPerS),
            "bytes_per_vector" => return Some(ScaleFigure::BytesPerVector),
            "rss_per_vector" => return Some(ScaleFigure::RssPerVector),
            _ => {}
        }
        let (head, tail) = s.split_once('.')?;
        let n = |p: char| head.strip_prefix(p)?.parse().ok();
        match tail {
            "latency" => Some(ScaleFigure::Latency { k: n('k')? }),
            "recall" => Some(ScaleFigure::Recall { k: n('k')? }),
            "qps" => Some(ScaleFigure::Qps { clients: n('c')? }),
            _ => None,
        }
    }
}

name_enum! {
    /// What one HNSW setting of the sweep measures.
    pub enum SweepFigure: "sweep figure" {
        /// Mean recall@10 against exact search.
        Recall => "recall_at_10",
        /// Queries per second, one client.
        Qps => "qps",
    }
}

name_enum! {
    /// What one offered rate of an open-loop run measures.
    pub enum OpenLoadFigure: "open-loop figure" {
        /// Scheduled time to completion, ms, per request.
        E2e => "e2e",
        /// Scheduled time to the first token, ms, per request (LLM).
        Ttft => "ttft",
        /// Gaps between tokens, ms (LLM).
        Itl => "itl",
        /// Completed requests per second.
        AchievedRps => "achieved_rps",
        /// Requests per second that met the SLO.
        GoodputRps => "goodput_rps",
        /// Share of requests that met the SLO.
        SloShare => "slo_share",
    }
}

/// An offered rate in thousandths of a request per second, so it is a
/// key; spelled `r2`, `r0p5` (a `p` for the point: names are dotted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rate(pub u32);

impl Rate {
    pub fn from_per_s(rate: f64) -> Rate {
        Rate((rate * 1000.0).round() as u32)
    }

    pub fn per_s(self) -> f64 {
        f64::from(self.0) / 1000.0
    }

    pub(super) fn parse(s: &str) -> Option<Rate> {
        let s = s.strip_prefix('r')?;
        let (int, frac) = s.split_once('p').unwrap_or((s, ""));
        if int.is_empty() || frac.len() > 3 || frac.ends_with('0') {
            return None;
        }
        let int: u32 = int.parse().ok()?;
        let frac_milli: u32 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<3}").parse().ok()?
        };
        Some(Rate(int.checked_mul(1000)?.checked_add(frac_milli)?))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (int, frac) = (self.0 / 1000, self.0 % 1000);
        if frac == 0 {
            write!(f, "r{int}")
        } else {
            let frac = format!("{frac:03}");
            write!(f, "r{int}p{}", frac.trim_end_matches('0'))
        }
    }
}
