//! `vector_query` over the corpus: every planned engine loaded with the
//! corpus's vectors `index_builds` times, then searched with the real
//! questions, each search on the next load in turn (so consecutive
//! searches touch different memory: cold-cache figures) and every engine
//! asked each question before the next (so drift hits them alike). Per
//! engine: load time, memory, top-k search latency, recall@k against
//! exact search. Loads and searches are measured operations (allocation
//! and instruction counts, callgrind). Nothing here names an engine but
//! the pipeline stages usearch's and exact search's operations are.

use std::time::{Duration, Instant};

use perf_contract::{
    metric_key::{CountedOp, MetricKind, VectorEngineName},
    plan::WorkloadName,
};

use crate::{
    error::WorkloadError,
    hook::Op,
    index::{recall_at_k, EngineHost, FlatIndex, Footprint, Hit, OpenError, VectorEngine},
    reporter::{MetricSet, Reporter},
    stage_timer::{timed, Stage, StageTimes},
    workloads::{passes::run_passes, vector_scale::skip, Cx},
};

const W: WorkloadName = WorkloadName::VectorQuery;

/// One engine's loads and what was measured on them.
struct Loaded {
    name: VectorEngineName,
    loads: Vec<Box<dyn VectorEngine>>,
    /// What the loads are, for the figures' descriptions.
    describe: String,
    build_ms: Vec<f64>,
    /// Bytes each load accounts for in this process (none for a server).
    memory: Vec<f64>,
    latency_us: Vec<f64>,
    recall: Vec<Option<f64>>,
    times: StageTimes,
    /// Why it stopped: a server that failed on the way costs its own
    /// figures, not the other engines'.
    failed: Option<String>,
}

/// The pipeline stage an engine's corpus operation is, where it is one:
/// usearch is the stack's own index (`build_index`, `search`), exact search
/// its ground truth (`exact_search`). Through `timed`, an injected delay
/// and the profiles' stage names reach them as they reach the stack.
fn stage_of(engine: VectorEngineName, build: bool) -> Option<Stage> {
    match (engine, build) {
        (VectorEngineName::Usearch, true) => Some(Stage::BuildIndex),
        (VectorEngineName::Usearch, false) => Some(Stage::Search),
        (VectorEngineName::Exact, false) => Some(Stage::ExactSearch),
        _ => None,
    }
}

/// `f` and its time, in its stage when it has one. Timed inside the
/// meter's region, as the stack's stages are, so the hooks' own work (a
/// counter read, an allocation region) is not in the figure; `times` is
/// reused, room made before, so the harness allocates nothing inside the
/// region whose allocations are counted.
fn in_stage<T>(
    times: &mut StageTimes,
    stage: Option<Stage>,
    f: impl FnOnce() -> T,
) -> (T, Duration) {
    match stage {
        Some(stage) => {
            times.0.clear();
            let out = timed(times, stage, f);
            (out, times.get(stage))
        }
        None => {
            let start = Instant::now();
            let out = f();
            (out, start.elapsed())
        }
    }
}

/// Measures every planned engine over the corpus into `m`.
pub fn measure_corpus(
    cx: &Cx<'_>,
    host: &EngineHost<'_>,
    reporter: &mut Reporter<'_>,
    m: &mut MetricSet,
) -> Result<(), WorkloadError> {
    let (plan, p) = (cx.plan, cx.prepared);
    let vectors = &p.chunk_vectors;
    let (n, k) = (vectors.len(), plan.rag.top_k);
    let builds = plan.harness.index_builds.max(1) as usize;
    let queries = &p.query_vectors;
    let flat = FlatIndex::build(vectors)?;
    let truth: Vec<Vec<Hit>> = queries
        .iter()
        .map(|q| crate::index::VectorSearch::search(&flat, q, k))
        .collect::<Result<_, _>>()?;
    drop(flat);

    let mut engines = Vec::new();
    for &name in &plan.vector.engines {
        let mut build_ms = Vec::with_capacity(builds);
        let mut memory = Vec::with_capacity(builds);
        let mut loads = Vec::with_capacity(builds);
        let mut times = StageTimes(Vec::with_capacity(1));
        let mut where_ = String::new();
        for b in 0..builds {
            let mut engine = match host.open(name, &format!("corpus{b}")) {
                Ok(engine) => engine,
                Err(OpenError::Skipped(why)) => {
                    skip(
                        reporter,
                        m,
                        format!("{name} over the corpus: skipped: {why}"),
                    );
                    break;
                }
                Err(OpenError::Failed(e)) => return Err(e),
            };
            let ((loaded, took), _) =
                cx.meter
                    .measure(Op::new(W, CountedOp::Build(name)), true, || {
                        in_stage(&mut times, stage_of(name, true), || {
                            engine.reserve(n)?;
                            engine.insert(0, vectors)
                        })
                    });
            build_ms.push(took.as_secs_f64() * 1e3);
            loaded?;
            if let Footprint::InProcess(bytes) = engine.footprint() {
                memory.push(bytes as f64);
            }
            where_ = engine.describe();
            loads.push(engine);
            reporter.progress(W, &format!("{name}: load corpus"), b + 1, builds);
        }
        if loads.len() < builds {
            continue;
        }
        engines.push(Loaded {
            name,
            loads,
            describe: where_,
            build_ms,
            memory,
            latency_us: Vec::new(),
            recall: vec![None; queries.len()],
            times: StageTimes(Vec::with_capacity(1)),
            failed: None,
        });
    }

    let mut calls = 0usize;
    run_passes(reporter, W, &plan.harness, queries.len(), |i, measured| {
        // Searches rotate over the loads.
        let b = calls % builds;
        calls += 1;
        for e in engines.iter_mut().filter(|e| e.failed.is_none()) {
            let op = Op::new(W, CountedOp::Search(e.name));
            let (engine, times, stage) = (&e.loads[b], &mut e.times, stage_of(e.name, false));
            // Warm-up searches are timed but not hooked.
            let ((hits, elapsed), _) = cx.meter.measure(op, measured, || {
                in_stage(times, stage, || engine.search(&queries[i], k))
            });
            let hits = match hits {
                Ok(hits) => hits,
                Err(err @ WorkloadError::Server { .. }) => {
                    e.failed = Some(err.to_string());
                    continue;
                }
                Err(err) => return Err(err),
            };
            if measured {
                e.latency_us.push(elapsed.as_secs_f64() * 1e6);
                e.recall[i].get_or_insert_with(|| recall_at_k(&hits, &truth[i]));
            }
        }
        Ok(())
    })?;

    // An engine that failed on the way leaves none of its figures.
    for e in engines {
        if let Some(why) = e.failed {
            skip(
                reporter,
                m,
                format!("{} over the corpus: stopped: {why}", e.name),
            );
            continue;
        }
        m.push(
            MetricKind::BuildTime(e.name),
            format!("{n} vectors, {}", e.describe),
            e.build_ms,
        );
        if e.memory.len() == builds {
            m.push(MetricKind::IndexMemory(e.name), "", e.memory);
        }
        m.push(
            MetricKind::SearchLatency(e.name),
            format!("k = {k}, over {n} vectors, {} loads", e.loads.len()),
            e.latency_us,
        );
        m.push(
            MetricKind::RecallAt {
                engine: e.name,
                k: k as u32,
            },
            "",
            e.recall.into_iter().flatten().collect(),
        );
    }
    Ok(())
}
