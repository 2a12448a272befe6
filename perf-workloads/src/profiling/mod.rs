//! `perf-workloads --plan FILE --profile DIR`: each workload of the plan
//! run plainly (for the profiler's overhead), then under the CPU sampler and
//! allocation accounting (flamegraph, pprof protobuf, top functions, peak
//! heap and RSS), then stage by stage through [`probes`], whose evidence
//! feeds the computed bottleneck ranking.
//!
//! Files: `DIR/<workload>/{flamegraph.svg, profile.pb, top.txt}`,
//! `DIR/summary.json`, `DIR/bottlenecks.json`.

pub mod probes;

use std::{
    fs,
    path::Path,
    time::{Duration, Instant},
};

use perf_contract::{
    atomic::write_atomic,
    plan::{Plan, WorkloadName},
};
use perf_profile::{
    rank_bottlenecks, read_rss, reset_peak_rss, AllocStats, CountingAllocator, CpuProfiler,
    ProfileSummary, Region, StageEvidence, StageProfile, WorkloadProfile, DEFAULT_TOP_N,
};
use serde::Serialize;

use crate::{
    error::WorkloadError,
    index::FlatIndex,
    rag::RagPipeline,
    reporter::{Reporter, Sink},
    stage_timer::{timed, StageTimes},
    workloads::{prepare_with_index, run_workload},
};

fn io_err(path: &Path, e: impl ToString) -> WorkloadError {
    WorkloadError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn profile_err(e: perf_profile::ProfileError) -> WorkloadError {
    WorkloadError::Config(format!("profiler: {e}"))
}

/// Runs `f` under the sampler and allocation accounting. The sampler starts
/// first and stops last: its own buffers (tens of MiB) are not the
/// workload's allocations.
fn sampled<T>(
    alloc: &CountingAllocator,
    frequency_hz: i32,
    f: impl FnOnce() -> Result<T, WorkloadError>,
) -> Result<(T, perf_profile::CpuProfile, AllocStats, f64), WorkloadError> {
    let session = CpuProfiler::start(frequency_hz).map_err(profile_err)?;
    alloc.enable();
    let region = Region::start(alloc);
    let start = Instant::now();
    let out = f();
    let wall = start.elapsed().as_secs_f64();
    let stats = region.finish();
    alloc.disable();
    let cpu = session.finish().map_err(profile_err);
    Ok((out?, cpu?, stats, wall))
}

/// A stage probe repeats its pass over the inputs for at least this long,
/// so even a microsecond stage collects enough CPU samples to name its hot
/// functions. Evidence is then divided by the passes: one pass per stage.
const MIN_STAGE_TIME: Duration = Duration::from_millis(300);

pub fn profile_plan(
    plan: &Plan,
    dir: &Path,
    frequency_hz: i32,
    alloc: &CountingAllocator,
    sink: &mut dyn Sink,
) -> Result<(), WorkloadError> {
    plan.validate().map_err(WorkloadError::Config)?;
    fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let mut reporter = Reporter::new(sink);
    let (prepared, index) = prepare_with_index(plan, &mut reporter)?;
    let mut workloads = Vec::new();
    let mut evidence = Vec::new();
    for &workload in &plan.workloads {
        let start = Instant::now();
        run_workload(plan, &prepared, index.as_ref(), workload, &mut reporter)?;
        let plain = start.elapsed().as_secs_f64();

        // Best effort: without clear_refs the peak is the process's so far.
        let _ = reset_peak_rss();
        let (_, cpu, alloc_stats, profiled) = sampled(alloc, frequency_hz, || {
            run_workload(plan, &prepared, index.as_ref(), workload, &mut reporter)
        })?;
        let peak_rss_bytes = read_rss().ok().map(|r| r.peak_bytes);
        let wdir = dir.join(workload.as_str());
        fs::create_dir_all(&wdir).map_err(|e| io_err(&wdir, e))?;
        let mut files = vec![wdir.join("profile.pb"), wdir.join("top.txt")];
        cpu.write_pprof(&files[0]).map_err(profile_err)?;
        write_atomic(&files[1], cpu.top(30).to_text().as_bytes())
            .map_err(|e| io_err(&files[1], e))?;
        if cpu.total_samples() > 0 {
            let svg = wdir.join("flamegraph.svg");
            cpu.write_flamegraph(&svg).map_err(profile_err)?;
            files.insert(0, svg);
        } else {
            reporter.note(format!(
                "{workload}: no CPU samples in {profiled:.3} s, so no flamegraph; profile a larger corpus or more iterations"
            ));
        }

        reporter.progress(workload, "profile stages", 0, 1);
        let stages = profile_stages(
            plan,
            &prepared,
            index.as_ref(),
            workload,
            alloc,
            frequency_hz,
        )?;
        reporter.progress(workload, "profile stages", 1, 1);
        // One pass of each stage: the shares of one execution of the workload.
        let per_pass = |x: f64, s: &StageProfile| x / s.passes.max(1) as f64;
        let wall = |s: &StageProfile| per_pass(s.wall_ms_total, s);
        let samples = |s: &StageProfile| per_pass(s.cpu_samples as f64, s).round() as u64;
        let bytes = |s: &StageProfile| per_pass(s.alloc.bytes_allocated as f64, s).round() as u64;
        let total_wall: f64 = stages.iter().map(wall).sum();
        let total_samples: u64 = stages.iter().map(samples).sum();
        let total_bytes: u64 = stages.iter().map(bytes).sum();
        for s in &stages {
            evidence.push(StageEvidence {
                workload: workload.to_string(),
                stage: s.stage.clone(),
                wall_share: wall(s) / total_wall.max(f64::MIN_POSITIVE),
                wall_ms_median: s.wall_ms_median,
                cpu_samples: samples(s),
                total_cpu_samples: total_samples,
                top_functions: s.top_functions.clone(),
                alloc_bytes: bytes(s),
                allocations: per_pass(s.alloc.allocations as f64, s).round() as u64,
                total_alloc_bytes: total_bytes,
            });
        }
        workloads.push(WorkloadProfile {
            workload: workload.to_string(),
            wall_s_plain: plain,
            wall_s_profiled: profiled,
            overhead_pct: (profiled / plain - 1.0) * 100.0,
            cpu_samples: cpu.total_samples(),
            peak_rss_bytes,
            alloc: alloc_stats,
            files,
            stages,
        });
    }
    let summary = ProfileSummary {
        frequency_hz,
        workloads,
        bottlenecks: rank_bottlenecks(&evidence, DEFAULT_TOP_N),
    };
    for (name, text) in [
        ("summary.json", to_json(&summary)),
        ("bottlenecks.json", to_json(&summary.bottlenecks)),
    ] {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes()).map_err(|e| io_err(&path, e))?;
    }
    Ok(())
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).expect("profile data serialises") + "\n"
}

fn profile_stages(
    plan: &Plan,
    p: &crate::workloads::Prepared,
    index: Option<&crate::index::HnswIndex>,
    workload: WorkloadName,
    alloc: &CountingAllocator,
    frequency_hz: i32,
) -> Result<Vec<StageProfile>, WorkloadError> {
    let flat;
    let batches;
    let inputs;
    let pipeline;
    let mut probe_list = match workload {
        WorkloadName::RagQuery => {
            let index = index.expect("index built for rag_query");
            pipeline = RagPipeline {
                embedder: &p.embedder,
                index,
                corpus: &p.corpus,
                top_k: plan.rag.top_k,
                max_context_chars: plan.rag.max_context_chars,
            };
            inputs = probes::retrieval_inputs(p, &pipeline)?;
            probes::rag_query(p, &pipeline, &inputs, plan.rag.top_k)
        }
        WorkloadName::Embedding => {
            batches = probes::embedding_batches(p, 10)?;
            probes::embedding(p, &batches)
        }
        WorkloadName::VectorQuery => {
            let index = index.expect("index built for vector_query");
            flat = FlatIndex::build(&p.chunk_vectors)?;
            probes::vector_query(plan, p, index, &flat)
        }
        // Generation has no sub-stage to run alone: the whole-workload CPU
        // profile above is its evidence.
        WorkloadName::Inference | WorkloadName::RagAnswer => Vec::new(),
    };
    let mut out = Vec::new();
    for probe in &mut probe_list {
        let mut per_op = Vec::with_capacity(probe.ops);
        let mut passes = 0;
        let (ops, stage) = (probe.ops, probe.stage);
        let run = &mut probe.run;
        let (_, cpu, stats, _) = sampled(alloc, frequency_hz, || {
            let start = Instant::now();
            while passes == 0 || start.elapsed() < MIN_STAGE_TIME {
                for i in 0..ops {
                    let mut times = StageTimes::default();
                    timed(&mut times, stage, || run(i))?;
                    per_op.push(times.get(stage).as_secs_f64() * 1e3);
                }
                passes += 1;
            }
            Ok(())
        })?;
        let summary = perf_contract::summary::Summary::from_samples(&per_op);
        out.push(StageProfile {
            stage: stage.as_str().to_string(),
            ops,
            passes,
            wall_ms_total: per_op.iter().sum(),
            wall_ms_median: summary.map_or(0.0, |s| s.median),
            cpu_samples: cpu.total_samples(),
            alloc: stats,
            top_functions: cpu
                .top(3)
                .by_self
                .iter()
                .map(|f| (f.function.clone(), f.self_samples))
                .collect(),
        });
    }
    Ok(out)
}
