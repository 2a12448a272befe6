//! `vector_query`'s scaling curve: every planned engine loaded with the
//! first N vectors of the scaling set, for every planned N, then queried
//! with the real questions. Per engine and size: load time and rate, bytes
//! per vector, top-k latency per question (warm: one loaded index searched
//! over and over, as a serving process is), recall@k against exact search
//! of the same vectors, and queries per second with 1 and N clients.
//!
//! Engines come from [`EngineHost`], so adding one is a line there; this
//! file never names an engine.

use std::{
    thread,
    time::{Duration, Instant},
};

use perf_contract::{
    metric_key::{MetricKind, ScaleFigure, VectorEngineName},
    plan::WorkloadName,
};

use crate::{
    error::WorkloadError,
    index::{recall_at_k, EngineHost, FlatIndex, Footprint, Hit, OpenError, VectorEngine},
    reporter::{MetricSet, Reporter},
    scaling::ScalingSet,
    workloads::memory,
};

const W: WorkloadName = WorkloadName::VectorQuery;

/// Measures every engine at every size into `m`.
pub fn measure_scaling(
    host: &EngineHost<'_>,
    set: &ScalingSet,
    queries: &[Vec<f32>],
    reporter: &mut Reporter<'_>,
    m: &mut MetricSet,
) -> Result<(), WorkloadError> {
    let plan = &host.plan().vector;
    let k_max = plan.ks.iter().copied().max().unwrap_or(10);
    for &size in &plan.sizes {
        let vectors = &set.vectors[..size.min(set.vectors.len())];
        if let Some(label) = set.label(size) {
            m.note(label);
        }
        let truth = ground_truth(vectors, queries, k_max)?;
        for &name in &plan.engines {
            reporter.note(format!("vector_query: {name} at {size} vectors"));
            // Into a set of its own: an engine that fails halfway leaves
            // no half of its figures behind.
            let mut one = MetricSet::new(W);
            let measured = match host.open(name, &format!("n{size}")) {
                Ok(mut engine) => measure_one(
                    engine.as_mut(),
                    name,
                    vectors,
                    queries,
                    &truth,
                    host,
                    reporter,
                    &mut one,
                ),
                Err(OpenError::Skipped(why)) => {
                    skip(reporter, m, format!("{name}: skipped: {why}"));
                    continue;
                }
                Err(OpenError::Failed(e)) => Err(e),
            };
            match measured {
                // A server that fails at one size costs its figures there,
                // not the in-process engines' (a 1M-vector run is an hour).
                Err(e @ WorkloadError::Server { .. }) => {
                    skip(
                        reporter,
                        m,
                        format!("{name} at {size} vectors: skipped: {e}"),
                    );
                }
                other => {
                    other?;
                    m.append(one);
                }
            }
        }
    }
    Ok(())
}

/// Says on the terminal and in the baseline what was not measured.
pub(super) fn skip(reporter: &mut Reporter<'_>, m: &mut MetricSet, line: String) {
    reporter.note(format!("vector_query: {line}"));
    m.note(line);
}

/// Exact search's top-`k` for every query over `vectors`.
fn ground_truth(
    vectors: &[Vec<f32>],
    queries: &[Vec<f32>],
    k: usize,
) -> Result<Vec<Vec<Hit>>, WorkloadError> {
    let flat = FlatIndex::build(vectors)?;
    queries
        .iter()
        .map(|q| crate::index::VectorSearch::search(&flat, q, k))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn measure_one(
    engine: &mut dyn VectorEngine,
    name: VectorEngineName,
    vectors: &[Vec<f32>],
    queries: &[Vec<f32>],
    truth: &[Vec<Hit>],
    host: &EngineHost<'_>,
    reporter: &mut Reporter<'_>,
    m: &mut MetricSet,
) -> Result<(), WorkloadError> {
    let plan = &host.plan().vector;
    let size = vectors.len();
    let n = size as u32;
    let kind = |figure| MetricKind::VectorScale {
        engine: name,
        size: n,
        figure,
    };
    let before = engine.footprint();
    // The resident-set growth of an in-process load: the issue's "memory
    // per vector", beside what the engine itself accounts for.
    let rss_before = matches!(before, Footprint::InProcess(_))
        .then(memory::settled_rss_bytes)
        .flatten();
    let start = Instant::now();
    // Room for the whole load first, as a user who knows it would ask.
    engine.reserve(size)?;
    // In slices, with progress: a million vectors take minutes.
    let slice = (size / 20).max(1_000);
    for (i, part) in vectors.chunks(slice).enumerate() {
        engine.insert(i * slice, part)?;
        reporter.progress(
            W,
            &format!("{name} n{size}: load"),
            (i * slice + part.len()).min(size),
            size,
        );
    }
    let load = start.elapsed().as_secs_f64();
    let where_ = engine.describe();
    if let (Some(a), Some(b)) = (rss_before, rss_before.and(memory::settled_rss_bytes())) {
        m.push(
            kind(ScaleFigure::RssPerVector),
            "",
            vec![b.saturating_sub(a) as f64 / size as f64],
        );
    }
    m.push(
        kind(ScaleFigure::BuildTime),
        where_.clone(),
        vec![load * 1e3],
    );
    m.push(
        kind(ScaleFigure::InsertsPerS),
        "",
        vec![size as f64 / load.max(1e-9)],
    );
    match (before, engine.footprint()) {
        (Footprint::InProcess(a) | Footprint::OnDisk(a), Footprint::InProcess(b)) => m.push(
            kind(ScaleFigure::BytesPerVector),
            "in process (384 f32 = 1536 of them are the vector)",
            vec![b.saturating_sub(a.min(b)) as f64 / size as f64],
        ),
        (Footprint::OnDisk(a), Footprint::OnDisk(b)) => m.push(
            kind(ScaleFigure::BytesPerVector),
            "the server's data folder on disk",
            vec![b.saturating_sub(a) as f64 / size as f64],
        ),
        (_, Footprint::Unknown(why)) | (Footprint::Unknown(why), _) => {
            m.note(format!(
                "{name} n{size}: bytes per vector not measured: {why}"
            ));
        }
        (Footprint::InProcess(_), Footprint::OnDisk(_)) => {}
    }

    let passes = plan.query_passes as usize;
    // One unmeasured pass: first touches of the graph and, for a server,
    // its connection pool.
    for q in queries {
        engine.search(q, plan.ks[0])?;
    }
    for &k in &plan.ks {
        let mut latency = Vec::with_capacity(passes * queries.len());
        let mut recall = Vec::with_capacity(queries.len());
        for pass in 0..passes {
            for (i, q) in queries.iter().enumerate() {
                let t = Instant::now();
                let hits = engine.search(q, k)?;
                latency.push(t.elapsed().as_secs_f64() * 1e6);
                if pass == 0 {
                    recall.push(recall_at_k(&hits, &truth[i][..k.min(truth[i].len())]));
                }
            }
            reporter.progress(W, &format!("{name} n{size}: k={k}"), pass + 1, passes);
        }
        m.push(
            kind(ScaleFigure::Latency { k: k as u32 }),
            where_.clone(),
            latency,
        );
        m.push(kind(ScaleFigure::Recall { k: k as u32 }), "", recall);
    }
    let k = *plan.ks.iter().max().unwrap_or(&10);
    for &clients in &plan.clients {
        let mut qps = Vec::with_capacity(passes);
        for _ in 0..passes {
            let wall = concurrent_pass(&*engine, queries, k, clients)?;
            qps.push((clients * queries.len()) as f64 / wall.as_secs_f64());
        }
        m.push(
            kind(ScaleFigure::Qps {
                clients: clients as u32,
            }),
            "",
            qps,
        );
    }
    Ok(())
}

/// Each of `clients` threads sends every query once; the wall time of all.
fn concurrent_pass(
    engine: &dyn VectorEngine,
    queries: &[Vec<f32>],
    k: usize,
    clients: usize,
) -> Result<Duration, WorkloadError> {
    let start = Instant::now();
    thread::scope(|s| {
        let workers: Vec<_> = (0..clients)
            .map(|c| {
                s.spawn(move || -> Result<(), WorkloadError> {
                    // Clients start at different questions so they do not
                    // ask the same thing in step.
                    for i in 0..queries.len() {
                        engine.search(&queries[(i + c * 7) % queries.len()], k)?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("search threads do not panic"))
    })?;
    Ok(start.elapsed())
}
