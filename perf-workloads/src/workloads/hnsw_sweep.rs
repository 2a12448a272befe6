//! `vector_query`'s recall/speed sweep, ann-benchmarks style: usearch
//! HNSW built at every planned connectivity (M) and searched at every
//! planned expansion (ef_search), each point giving recall@10 against exact
//! search and queries per second with one client. The report draws the
//! Pareto front of these points and marks the plan's own setting.

use std::time::Instant;

use perf_contract::{
    metric_key::{MetricKind, SweepFigure},
    plan::{IndexPlan, VectorPlan, WorkloadName},
};

use crate::{
    error::WorkloadError,
    index::{recall_at_k, FlatIndex, HnswIndex, VectorSearch},
    reporter::{MetricSet, Reporter},
};

const K: usize = 10;

/// Sweeps the plan's settings over `vectors` into `m`.
pub fn measure_sweep(
    index: &IndexPlan,
    v: &VectorPlan,
    vectors: &[Vec<f32>],
    queries: &[Vec<f32>],
    reporter: &mut Reporter<'_>,
    m: &mut MetricSet,
) -> Result<(), WorkloadError> {
    let (connectivity, expansion, passes) = (
        &v.sweep_connectivity,
        &v.sweep_expansion_search,
        v.query_passes,
    );
    if connectivity.is_empty() || expansion.is_empty() {
        return Ok(());
    }
    let flat = FlatIndex::build(vectors)?;
    let truth: Vec<_> = queries
        .iter()
        .map(|q| flat.search(q, K))
        .collect::<Result<_, _>>()?;
    drop(flat);
    let n = vectors.len();
    let points = connectivity.len() * expansion.len();
    let mut done = 0;
    for &mm in connectivity {
        let plan = IndexPlan {
            connectivity: mm,
            ..index.clone()
        };
        let mut hnsw = HnswIndex::build(vectors, &plan)?;
        for &ef in expansion {
            hnsw.set_expansion_search(ef);
            // Unmeasured: the first pass touches the graph.
            for q in queries {
                hnsw.search(q, K)?;
            }
            let mut qps = Vec::with_capacity(passes as usize);
            let mut recall = Vec::with_capacity(queries.len());
            for pass in 0..passes {
                let start = Instant::now();
                for (i, q) in queries.iter().enumerate() {
                    let hits = hnsw.search(q, K)?;
                    if pass == 0 {
                        recall.push(recall_at_k(&hits, &truth[i]));
                    }
                }
                qps.push(queries.len() as f64 / start.elapsed().as_secs_f64());
            }
            let kind = |figure| MetricKind::Sweep {
                connectivity: mm as u32,
                ef: ef as u32,
                figure,
            };
            let at = format!(
                "usearch HNSW M={mm}, ef_construction={}, ef_search={ef}, {n} vectors",
                index.expansion_add
            );
            m.push(kind(SweepFigure::Recall), at.as_str(), recall);
            m.push(kind(SweepFigure::Qps), at.as_str(), qps);
            done += 1;
            reporter.progress(
                WorkloadName::VectorQuery,
                "recall/speed sweep",
                done,
                points,
            );
        }
    }
    Ok(())
}
