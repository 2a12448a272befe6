//! The headline figures of a baseline, picked by metric name: what the
//! summary states first and the trend chart follows over history.
//!
//! Names are matched, not assumed: a workload or metric that is absent
//! (a partial run, a newer baseline with other metrics) simply yields no
//! figure, never an error.

use std::collections::BTreeMap;

use perf_contract::{
    metric_key::{EngineFigure, MetricKey, MetricKind, VectorEngineName},
    plan::WorkloadName,
    schema::{Baseline, Metric, Unit},
};

/// Percentiles of one latency metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    pub workload: WorkloadName,
    pub metric: String,
    pub unit: Unit,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub n: usize,
}

/// The best batch size of one input kind (`sentences`, `chunks`), by median
/// throughput.
#[derive(Debug, Clone, PartialEq)]
pub struct BestBatch {
    pub kind: String,
    pub metric: String,
    pub batch: usize,
    pub median: f64,
    pub unit: Unit,
    pub n: usize,
}

/// One figure by median, with its sample count.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub metric: String,
    pub unit: Unit,
    pub median: f64,
    /// For latencies whose tail matters (inter-token gaps).
    pub p99: f64,
    pub n: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Recall {
    pub metric: String,
    pub k: String,
    pub mean: f64,
    pub min: f64,
    pub n: usize,
}

/// An inference engine's figures (`<engine>.<metric>` in `inference`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Engine {
    pub name: String,
    /// Prefill throughput at the longest prompt length measured, with its
    /// length label (`len128`).
    pub prefill: Option<(String, Figure)>,
    pub decode: Option<Figure>,
    pub ttft: Option<Figure>,
    pub itl: Option<Figure>,
    pub e2e: Option<Figure>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Headline {
    pub rag: Option<Latency>,
    pub embedding: Vec<BestBatch>,
    pub hnsw: Option<Figure>,
    pub exact: Option<Figure>,
    pub recall: Option<Recall>,
    pub inference: Vec<Engine>,
    /// The whole chain per engine (`rag_answer`'s `<engine>.latency`):
    /// retrieval, prompt and the LLM's answer, in engine-name order.
    pub answers: Vec<Latency>,
}

type Metrics = BTreeMap<MetricKey, Metric>;

fn metrics(b: &Baseline, workload: WorkloadName) -> Option<&Metrics> {
    b.workloads.get(&workload).map(|r| &r.metrics)
}

fn figure(name: &MetricKey, m: &Metric) -> Figure {
    Figure {
        metric: name.to_string(),
        unit: m.unit,
        median: m.summary.median,
        p99: m.summary.p99,
        n: m.summary.count,
    }
}

impl Headline {
    pub fn of(b: &Baseline) -> Headline {
        let rag = metrics(b, WorkloadName::RagQuery)
            .and_then(|ms| ms.get(&MetricKind::Latency.key()))
            .map(|m| Latency {
                workload: WorkloadName::RagQuery,
                metric: MetricKind::Latency.to_string(),
                unit: m.unit,
                p50: m.summary.p50,
                p95: m.summary.p95,
                p99: m.summary.p99,
                n: m.summary.count,
            });
        let embedding = metrics(b, WorkloadName::Embedding).map_or_else(Vec::new, best_batches);
        let vq = metrics(b, WorkloadName::VectorQuery);
        let get = |search| {
            let key = MetricKind::SearchLatency(search).key();
            vq.and_then(|ms| ms.get(&key)).map(|m| figure(&key, m))
        };
        let recall = vq.and_then(|ms| {
            ms.iter()
                .find_map(|(name, m)| match name.kind() {
                    // usearch's: the stack's own index.
                    MetricKind::RecallAt {
                        engine: VectorEngineName::Usearch,
                        k,
                    } => Some((name, k, m)),
                    _ => None,
                })
                .map(|(name, k, m)| Recall {
                    metric: name.to_string(),
                    k: k.to_string(),
                    mean: m.summary.mean,
                    min: m.summary.min,
                    n: m.summary.count,
                })
        });
        Headline {
            rag,
            embedding,
            hnsw: get(VectorEngineName::Usearch),
            exact: get(VectorEngineName::Exact),
            recall,
            inference: metrics(b, WorkloadName::Inference).map_or_else(Vec::new, engines),
            answers: metrics(b, WorkloadName::RagAnswer).map_or_else(Vec::new, answers),
        }
    }

    /// `(workload, metric)` of every headline figure, for the trend chart.
    pub fn keys(&self) -> Vec<(WorkloadName, String)> {
        let mut out = Vec::new();
        if let Some(r) = &self.rag {
            out.push((r.workload, r.metric.clone()));
        }
        for f in [&self.hnsw, &self.exact].into_iter().flatten() {
            out.push((WorkloadName::VectorQuery, f.metric.clone()));
        }
        for e in &self.embedding {
            out.push((WorkloadName::Embedding, e.metric.clone()));
        }
        for e in &self.inference {
            for f in [&e.decode, &e.e2e].into_iter().flatten() {
                out.push((WorkloadName::Inference, f.metric.clone()));
            }
        }
        for a in &self.answers {
            out.push((a.workload, a.metric.clone()));
        }
        out
    }
}

/// `<engine>.latency` of `rag_answer`, one per engine.
fn answers(ms: &Metrics) -> Vec<Latency> {
    ms.iter()
        .filter(|(name, _)| {
            matches!(
                name.kind(),
                MetricKind::Engine {
                    figure: EngineFigure::Latency,
                    ..
                }
            )
        })
        .map(|(name, m)| Latency {
            workload: WorkloadName::RagAnswer,
            metric: name.to_string(),
            unit: m.unit,
            p50: m.summary.p50,
            p95: m.summary.p95,
            p99: m.summary.p99,
            n: m.summary.count,
        })
        .collect()
}

/// `<kind>.batch_<N>.docs_per_s` metrics: the batch size with the highest
/// median per kind, kinds in name order.
pub fn best_batches(ms: &Metrics) -> Vec<BestBatch> {
    let mut best: BTreeMap<String, BestBatch> = BTreeMap::new();
    for (name, m) in ms {
        let Some((kind, batch)) = batch_metric(name) else {
            continue;
        };
        let candidate = BestBatch {
            kind: kind.to_string(),
            metric: name.to_string(),
            batch,
            median: m.summary.median,
            unit: m.unit,
            n: m.summary.count,
        };
        let better = best.get(&kind).is_none_or(|b| candidate.median > b.median);
        if better {
            best.insert(kind.to_string(), candidate);
        }
    }
    best.into_values().collect()
}

/// `("native sentences", 10)` for `native.sentences.batch_10.docs_per_s`:
/// one series per engine and kind of text.
pub fn batch_metric(name: &MetricKey) -> Option<(String, usize)> {
    match name.kind() {
        MetricKind::DocsPerSecond {
            engine,
            texts,
            batch,
        } => Some((format!("{engine} {}", texts.as_str()), *batch as usize)),
        _ => None,
    }
}

/// Engines of the `inference` workload, by the metrics it reports:
/// `<engine>.prefill_tokens_per_s.len<N>`, `<engine>.decode_tokens_per_s`,
/// `<engine>.ttft`, `<engine>.itl`, `<engine>.e2e`. Other metrics are
/// ignored.
pub fn engines(ms: &Metrics) -> Vec<Engine> {
    let mut out: BTreeMap<&str, Engine> = BTreeMap::new();
    let mut longest: BTreeMap<&str, u32> = BTreeMap::new();
    for (name, m) in ms {
        let (engine, figure_kind) = match name.kind() {
            MetricKind::Engine { engine, figure } => (*engine, Some(*figure)),
            MetricKind::Prefill { engine, .. } => (*engine, None),
            _ => continue,
        };
        let slot = || Engine {
            name: engine.to_string(),
            ..Engine::default()
        };
        let f = || Some(figure(name, m));
        match (figure_kind, name.kind()) {
            (Some(EngineFigure::DecodeTokensPerS), _) => {
                out.entry(engine.as_str()).or_insert_with(slot).decode = f()
            }
            (Some(EngineFigure::Ttft), _) => {
                out.entry(engine.as_str()).or_insert_with(slot).ttft = f()
            }
            (Some(EngineFigure::Itl), _) => {
                out.entry(engine.as_str()).or_insert_with(slot).itl = f()
            }
            (Some(EngineFigure::E2e), _) => {
                out.entry(engine.as_str()).or_insert_with(slot).e2e = f()
            }
            (None, MetricKind::Prefill { prompt_tokens, .. }) => {
                let e = out.entry(engine.as_str()).or_insert_with(slot);
                // The longest prompt: the figure least dominated by fixed costs.
                let best = longest.entry(engine.as_str()).or_insert(0);
                if e.prefill.is_none() || *prompt_tokens > *best {
                    *best = *prompt_tokens;
                    e.prefill = Some((format!("len{prompt_tokens}"), figure(name, m)));
                }
            }
            _ => {}
        }
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_contract::schema::Better;

    fn keyed<const N: usize>(entries: [(&str, Metric); N]) -> Metrics {
        entries
            .into_iter()
            .map(|(name, m)| (MetricKey::parse(name), m))
            .collect()
    }

    fn m(unit: Unit, x: f64) -> Metric {
        Metric::new(
            unit,
            Better::Lower,
            String::new(),
            vec![x, x * 1.1, x * 0.9],
        )
        .unwrap()
    }

    #[test]
    fn batch_names_parse() {
        let batch_metric = |name| batch_metric(&MetricKey::parse(name));
        assert_eq!(
            batch_metric("chunks.batch_50.docs_per_s"),
            Some(("candle chunks".to_string(), 50))
        );
        assert_eq!(
            batch_metric("native.sentences.batch_32.docs_per_s"),
            Some(("native sentences".to_string(), 32))
        );
        assert_eq!(batch_metric("quality.parity_cosine"), None);
        assert_eq!(batch_metric("chunks.batch_x.docs_per_s"), None);
    }

    #[test]
    fn best_batch_is_the_highest_median_per_kind() {
        let ms = keyed([
            ("chunks.batch_1.docs_per_s", m(Unit::DocsPerSecond, 30.0)),
            ("chunks.batch_10.docs_per_s", m(Unit::DocsPerSecond, 25.0)),
            ("sentences.batch_1.docs_per_s", m(Unit::DocsPerSecond, 70.0)),
            (
                "sentences.batch_50.docs_per_s",
                m(Unit::DocsPerSecond, 200.0),
            ),
            (
                "native.chunks.batch_32.docs_per_s",
                m(Unit::DocsPerSecond, 90.0),
            ),
            ("quality.parity_cosine", m(Unit::Ratio, 1.0)),
        ]);
        let best = best_batches(&ms);
        let got: Vec<_> = best.iter().map(|b| (b.kind.as_str(), b.batch)).collect();
        // Names from before engines were named are candle's; each engine
        // has its own best batch.
        assert_eq!(
            got,
            [
                ("candle chunks", 1),
                ("candle sentences", 50),
                ("native chunks", 32)
            ]
        );
    }

    #[test]
    fn inference_engines_are_found_by_name_pattern() {
        let ms = keyed([
            (
                "candle.prefill_tokens_per_s.len128",
                m(Unit::DocsPerSecond, 900.0),
            ),
            (
                "candle.prefill_tokens_per_s.len32",
                m(Unit::DocsPerSecond, 500.0),
            ),
            ("candle.decode_tokens_per_s", m(Unit::DocsPerSecond, 20.0)),
            ("candle.ttft", m(Unit::Milliseconds, 80.0)),
            ("candle.itl", m(Unit::Milliseconds, 50.0)),
            ("candle.e2e", m(Unit::Milliseconds, 3000.0)),
            ("llamacpp.decode_tokens_per_s", m(Unit::DocsPerSecond, 30.0)),
            ("llamacpp.something_new", m(Unit::Count, 1.0)),
            ("no_dot", m(Unit::Count, 1.0)),
        ]);
        let e = engines(&ms);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].name, "candle");
        let (len, f) = e[0].prefill.as_ref().unwrap();
        assert_eq!((len.as_str(), f.median), ("len128", 900.0));
        assert_eq!(e[0].ttft.as_ref().unwrap().median, 80.0);
        assert_eq!(e[1].name, "llamacpp");
        assert!(e[1].prefill.is_none() && e[1].decode.is_some());
    }
}
