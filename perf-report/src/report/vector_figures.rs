//! A baseline's vector-engine figures, typed: one row per corpus size and
//! engine (`<engine>.n<size>.<figure>`), the HNSW sweep's points
//! (`sweep.m<M>.ef<ef>.<figure>`), their Pareto front, and the plan's
//! operating point among them. The vector section and its charts read
//! these; keys are matched by kind, never taken apart.

use std::collections::{BTreeMap, BTreeSet};

use perf_contract::{
    metric_key::{MetricKind, ScaleFigure, SweepFigure, VectorEngineName},
    plan::{IndexPlan, WorkloadName},
    schema::{Baseline, Metric},
};

/// One engine holding one number of vectors.
#[derive(Debug, Clone)]
pub struct ScaleRow<'a> {
    pub size: u32,
    pub engine: VectorEngineName,
    pub build_time: Option<&'a Metric>,
    pub inserts_per_s: Option<&'a Metric>,
    pub bytes_per_vector: Option<&'a Metric>,
    /// Resident-set growth per vector (in-process engines).
    pub rss_per_vector: Option<&'a Metric>,
    /// Query latency by k.
    pub latency: BTreeMap<u32, &'a Metric>,
    /// Recall by k.
    pub recall: BTreeMap<u32, &'a Metric>,
    /// Queries per second by number of clients.
    pub qps: BTreeMap<u32, &'a Metric>,
}

impl<'a> ScaleRow<'a> {
    fn new(size: u32, engine: VectorEngineName) -> ScaleRow<'a> {
        ScaleRow {
            size,
            engine,
            build_time: None,
            inserts_per_s: None,
            bytes_per_vector: None,
            rss_per_vector: None,
            latency: BTreeMap::new(),
            recall: BTreeMap::new(),
            qps: BTreeMap::new(),
        }
    }

    /// The metric of one figure, whichever kind it is.
    pub fn figure(&self, figure: ScaleFigure) -> Option<&'a Metric> {
        match figure {
            ScaleFigure::BuildTime => self.build_time,
            ScaleFigure::InsertsPerS => self.inserts_per_s,
            ScaleFigure::BytesPerVector => self.bytes_per_vector,
            ScaleFigure::RssPerVector => self.rss_per_vector,
            ScaleFigure::Latency { k } => self.latency.get(&k).copied(),
            ScaleFigure::Recall { k } => self.recall.get(&k).copied(),
            ScaleFigure::Qps { clients } => self.qps.get(&clients).copied(),
        }
    }
}

/// One HNSW setting of the recall/speed sweep.
#[derive(Debug, Clone)]
pub struct SweepPoint<'a> {
    pub connectivity: u32,
    pub ef: u32,
    /// Recall@10 per question.
    pub recall: Option<&'a Metric>,
    /// Queries per second, one sample per pass.
    pub qps: Option<&'a Metric>,
}

impl SweepPoint<'_> {
    /// Mean recall@10 and median QPS, when the point has both.
    pub fn xy(&self) -> Option<(f64, f64)> {
        Some((self.recall?.summary.mean, self.qps?.summary.median))
    }
}

/// Every vector-engine figure of a baseline.
#[derive(Debug, Clone, Default)]
pub struct VectorFigures<'a> {
    /// Sizes ascending; within a size, engines in `VectorEngineName::ALL`
    /// order.
    pub rows: Vec<ScaleRow<'a>>,
    /// By connectivity, then ef.
    pub sweep: Vec<SweepPoint<'a>>,
    /// `vector_query`'s notes (skipped engines, synthetic vectors), as
    /// the run wrote them.
    pub notes: &'a [String],
}

fn engine_rank(engine: VectorEngineName) -> usize {
    VectorEngineName::ALL
        .iter()
        .position(|&e| e == engine)
        .unwrap_or(usize::MAX)
}

impl<'a> VectorFigures<'a> {
    /// Reads every workload's metrics: the figures are recognised by kind,
    /// whichever workload reported them.
    pub fn of(b: &'a Baseline) -> VectorFigures<'a> {
        let mut rows: BTreeMap<(u32, usize), ScaleRow<'a>> = BTreeMap::new();
        let mut sweep: BTreeMap<(u32, u32), SweepPoint<'a>> = BTreeMap::new();
        for result in b.workloads.values() {
            for (key, m) in &result.metrics {
                match *key.kind() {
                    MetricKind::VectorScale {
                        engine,
                        size,
                        figure,
                    } => {
                        let row = rows
                            .entry((size, engine_rank(engine)))
                            .or_insert_with(|| ScaleRow::new(size, engine));
                        match figure {
                            ScaleFigure::BuildTime => row.build_time = Some(m),
                            ScaleFigure::InsertsPerS => row.inserts_per_s = Some(m),
                            ScaleFigure::BytesPerVector => row.bytes_per_vector = Some(m),
                            ScaleFigure::RssPerVector => row.rss_per_vector = Some(m),
                            ScaleFigure::Latency { k } => {
                                row.latency.insert(k, m);
                            }
                            ScaleFigure::Recall { k } => {
                                row.recall.insert(k, m);
                            }
                            ScaleFigure::Qps { clients } => {
                                row.qps.insert(clients, m);
                            }
                        }
                    }
                    MetricKind::Sweep {
                        connectivity,
                        ef,
                        figure,
                    } => {
                        let point = sweep.entry((connectivity, ef)).or_insert(SweepPoint {
                            connectivity,
                            ef,
                            recall: None,
                            qps: None,
                        });
                        match figure {
                            SweepFigure::Recall => point.recall = Some(m),
                            SweepFigure::Qps => point.qps = Some(m),
                        }
                    }
                    _ => {}
                }
            }
        }
        let notes = b
            .workloads
            .get(&WorkloadName::VectorQuery)
            .map_or(&[][..], |r| r.notes.as_slice());
        VectorFigures {
            rows: rows.into_values().collect(),
            sweep: sweep.into_values().collect(),
            notes,
        }
    }

    /// No scaling row and no sweep point.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.sweep.is_empty()
    }

    /// Every k any row has a latency for, ascending.
    pub fn ks(&self) -> Vec<u32> {
        let ks: BTreeSet<u32> = self
            .rows
            .iter()
            .flat_map(|r| r.latency.keys().copied())
            .collect();
        ks.into_iter().collect()
    }

    /// Every client count any row has a QPS for, ascending.
    pub fn clients(&self) -> Vec<u32> {
        let c: BTreeSet<u32> = self
            .rows
            .iter()
            .flat_map(|r| r.qps.keys().copied())
            .collect();
        c.into_iter().collect()
    }

    /// Engines with at least one row, in `VectorEngineName::ALL` order.
    pub fn engines(&self) -> Vec<VectorEngineName> {
        VectorEngineName::ALL
            .iter()
            .copied()
            .filter(|&e| self.rows.iter().any(|r| r.engine == e))
            .collect()
    }

    /// `(size, metric)` of one figure for one engine, sizes ascending.
    pub fn curve(&self, engine: VectorEngineName, figure: ScaleFigure) -> Vec<(u32, &'a Metric)> {
        self.rows
            .iter()
            .filter(|r| r.engine == engine)
            .filter_map(|r| Some((r.size, r.figure(figure)?)))
            .collect()
    }

    /// Indices into `sweep` of the points no other point beats on both
    /// recall and QPS (at least as good on both, better on one), ordered
    /// by recall ascending (so QPS descending): the front as a line.
    pub fn pareto_front(&self) -> Vec<usize> {
        let points: Vec<(usize, (f64, f64))> = self
            .sweep
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i, p.xy()?)))
            .collect();
        let dominated = |(r, q): (f64, f64)| {
            points
                .iter()
                .any(|&(_, (r2, q2))| r2 >= r && q2 >= q && (r2 > r || q2 > q))
        };
        let mut front: Vec<(usize, (f64, f64))> = points
            .iter()
            .copied()
            .filter(|&(_, xy)| !dominated(xy))
            .collect();
        front.sort_by(|a, b| {
            a.1 .0
                .total_cmp(&b.1 .0)
                .then(b.1 .1.total_cmp(&a.1 .1))
                .then(a.0.cmp(&b.0))
        });
        front.into_iter().map(|(i, _)| i).collect()
    }

    /// Index into `sweep` of the plan's own setting (`index.connectivity`,
    /// `index.expansion_search`), when the sweep measured it.
    pub fn operating_point(&self, index: &IndexPlan) -> Option<usize> {
        self.sweep.iter().position(|p| {
            p.connectivity as usize == index.connectivity && p.ef as usize == index.expansion_search
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_contract::schema::{Better, Unit};

    fn figures_of(names: &[(&str, f64)]) -> Baseline {
        let metrics: Vec<_> = names
            .iter()
            .map(|&(name, v)| {
                (
                    WorkloadName::VectorQuery,
                    name,
                    Unit::Ratio,
                    Better::Higher,
                    vec![v],
                )
            })
            .collect();
        perf_contract::fixture::baseline(&metrics)
    }

    #[test]
    fn rows_order_by_size_then_engine_list() {
        let b = figures_of(&[
            ("chroma.n1000.build_time", 1.0),
            ("usearch.n10000.build_time", 1.0),
            ("exact.n1000.build_time", 1.0),
            ("usearch.n1000.build_time", 1.0),
            ("usearch.n1000.k10.latency", 1.0),
            ("usearch.n1000.c4.qps", 1.0),
        ]);
        let f = VectorFigures::of(&b);
        let order: Vec<(u32, &str)> = f.rows.iter().map(|r| (r.size, r.engine.as_str())).collect();
        assert_eq!(
            order,
            [
                (1000, "usearch"),
                (1000, "exact"),
                (1000, "chroma"),
                (10000, "usearch")
            ]
        );
        assert_eq!(f.ks(), [10]);
        assert_eq!(f.clients(), [4]);
    }

    #[test]
    fn the_front_keeps_undominated_points_by_recall() {
        let b = figures_of(&[
            // (recall, qps): (0.8, 900) front, (0.9, 500) front,
            // (0.85, 400) dominated, (1.0, 100) front, (1.0, 90) dominated.
            ("sweep.m8.ef16.recall_at_10", 0.8),
            ("sweep.m8.ef16.qps", 900.0),
            ("sweep.m8.ef64.recall_at_10", 0.9),
            ("sweep.m8.ef64.qps", 500.0),
            ("sweep.m16.ef16.recall_at_10", 0.85),
            ("sweep.m16.ef16.qps", 400.0),
            ("sweep.m16.ef64.recall_at_10", 1.0),
            ("sweep.m16.ef64.qps", 100.0),
            ("sweep.m32.ef64.recall_at_10", 1.0),
            ("sweep.m32.ef64.qps", 90.0),
        ]);
        let f = VectorFigures::of(&b);
        let front: Vec<(u32, u32)> = f
            .pareto_front()
            .into_iter()
            .map(|i| (f.sweep[i].connectivity, f.sweep[i].ef))
            .collect();
        assert_eq!(front, [(8, 16), (8, 64), (16, 64)]);
        let plan = IndexPlan {
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 64,
            storage: Default::default(),
        };
        assert_eq!(
            f.operating_point(&plan).map(|i| f.sweep[i].connectivity),
            Some(16)
        );
        let elsewhere = IndexPlan {
            expansion_search: 128,
            ..plan
        };
        assert_eq!(f.operating_point(&elsewhere), None);
    }
}
