//! `perf-workloads --plan FILE --profile DIR`: each workload of the plan
//! run plainly (for the profiler's overhead), then with the [`Sampler`]
//! hook (flamegraph, pprof protobuf, top functions, peak heap and RSS),
//! then stage by stage over the probes the workload itself lists
//! (`Workload::stages`), whose evidence feeds the computed bottleneck
//! ranking. Nothing here knows a workload by name.
//!
//! Files: `DIR/<workload>/{flamegraph.svg, profile.pb, top.txt,
//! stacks.folded}` (the folded stacks are what `perf compare --explain`
//! diffs between two builds),
//! `DIR/summary.json`, `DIR/bottlenecks.json`.

#[cfg(feature = "dhat-heap")]
pub mod dhat;
pub mod sampler;

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
    rank_bottlenecks, read_rss, reset_peak_rss, CountingAllocator, ProfileSummary, StageEvidence,
    StageProfile, WorkloadProfile, DEFAULT_TOP_N,
};
use serde::Serialize;

use crate::{
    error::WorkloadError,
    hook::WorkloadHook,
    meter::Meter,
    reporter::{Reporter, Sink},
    stage_timer::{timed, StageTimes},
    workloads::{prepare_with_index, run_workload, workload, Cx},
};
use sampler::{profile_err, Sampled, Sampler};

fn io_err(path: &Path, e: impl ToString) -> WorkloadError {
    WorkloadError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
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
    // Plain timing: profile mode's evidence is the sampler's, and its
    // results are not kept, so no counter is opened for them.
    let meter = Meter::plain();
    let mut reporter = Reporter::new(sink);
    let (prepared, index) = prepare_with_index(plan, &mut reporter)?;
    let cx = Cx {
        plan,
        prepared: &prepared,
        index: index.as_ref(),
        meter: &meter,
    };
    let mut workloads = Vec::new();
    let mut evidence = Vec::new();
    let mut sampler = Sampler::new(alloc, frequency_hz);
    for &name in &plan.workloads {
        let w = workload(name);
        let start = Instant::now();
        run_workload(&cx, w, &mut [], &mut reporter)?;
        let plain = start.elapsed().as_secs_f64();

        // Best effort: without clear_refs the peak is the process's so far.
        let _ = reset_peak_rss();
        run_workload(&cx, w, &mut [&mut sampler], &mut reporter)?;
        let Sampled {
            cpu,
            alloc: alloc_stats,
            wall_s: profiled,
        } = sampler.take().expect("the sampler stopped");
        let workload = name;
        let peak_rss_bytes = read_rss().ok().map(|r| r.peak_bytes);
        let wdir = dir.join(workload.as_str());
        fs::create_dir_all(&wdir).map_err(|e| io_err(&wdir, e))?;
        let mut files = vec![
            wdir.join("profile.pb"),
            wdir.join("top.txt"),
            wdir.join("stacks.folded"),
        ];
        cpu.write_pprof(&files[0]).map_err(profile_err)?;
        write_atomic(&files[1], cpu.top(30).to_text().as_bytes())
            .map_err(|e| io_err(&files[1], e))?;
        cpu.write_folded(&files[2]).map_err(profile_err)?;
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
        let stages = profile_stages(name, w.stages(&cx)?, &mut sampler)?;
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

/// Runs each probe under the sampler, repeating its pass for at least
/// [`MIN_STAGE_TIME`].
fn profile_stages(
    workload: WorkloadName,
    mut probes: Vec<crate::probe::Probe<'_>>,
    sampler: &mut Sampler<'_>,
) -> Result<Vec<StageProfile>, WorkloadError> {
    let mut out = Vec::new();
    for probe in &mut probes {
        let mut per_op = Vec::with_capacity(probe.ops);
        let mut passes = 0;
        let (ops, stage) = (probe.ops, probe.stage);
        let run = &mut probe.run;
        sampler.start(workload)?;
        let looped = (|| {
            let start = Instant::now();
            while passes == 0 || start.elapsed() < MIN_STAGE_TIME {
                for i in 0..ops {
                    let mut times = StageTimes::default();
                    timed(&mut times, stage, || run(i))?;
                    per_op.push(times.get(stage).as_secs_f64() * 1e3);
                }
                passes += 1;
            }
            Ok::<(), WorkloadError>(())
        })();
        sampler.stop(workload)?;
        looped?;
        let Sampled { cpu, alloc, .. } = sampler.take().expect("the sampler stopped");
        let summary = perf_contract::summary::Summary::from_samples(&per_op);
        out.push(StageProfile {
            stage: stage.as_str().to_string(),
            ops,
            passes,
            wall_ms_total: per_op.iter().sum(),
            wall_ms_median: summary.map_or(0.0, |s| s.median),
            cpu_samples: cpu.total_samples(),
            alloc,
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
