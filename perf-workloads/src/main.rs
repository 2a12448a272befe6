//! `perf-workloads --plan FILE [MODE]`: executes (or profiles) a plan
//! written by `cargo xtask perf` and prints one JSON message per line on
//! stdout. The mode (`perf_contract::run_mode::RunMode`: measure, lockstep,
//! profile, callgrind) is read as the front end wrote it. Exit code 1 on
//! error, after an `error` message carrying the one line to show.

use std::{fs, process::ExitCode, time::Duration};

use perf_contract::{plan::Plan, protocol::Message, run_mode::RunMode};
#[cfg(not(feature = "dhat-heap"))]
use perf_profile::CountingAllocator;
#[cfg(not(feature = "dhat-heap"))]
use perf_workloads::profiling::profile_plan;
use perf_workloads::{
    reporter::{Sink, StdoutSink},
    stage_timer::{inject_delay, Slowdown},
    workloads::{run_plan, RunOptions},
};

/// Counts allocations only while a profile asks it to; otherwise its cost
/// is one relaxed atomic load per allocation.
#[cfg(not(feature = "dhat-heap"))]
#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

#[cfg(feature = "dhat-heap")]
#[global_allocator]
static DHAT: dhat::Alloc = dhat::Alloc;

fn main() -> ExitCode {
    let mut sink = StdoutSink;
    match run(&mut sink) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            sink.send(Message::Error { message });
            ExitCode::FAILURE
        }
    }
}

fn run(sink: &mut StdoutSink) -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, mode) = RunMode::from_args(&args)?;
    let text = fs::read_to_string(&path)
        .map_err(|e| format!("cannot read plan {}: {e}", path.display()))?;
    let mut plan: Plan = serde_json::from_str(&text)
        .map_err(|e| format!("plan {} is not valid: {e}", path.display()))?;
    // The plan file holds server addresses without their credentials.
    plan.restore_secrets();
    // The plan of a callgrind run is a reduced one; it and the mode must agree.
    if plan.callgrind != (mode == RunMode::Callgrind) {
        return Err(format!(
            "plan {} is {}a callgrind plan, but the mode is {mode:?}",
            path.display(),
            if plan.callgrind { "" } else { "not " }
        ));
    }
    if mode == RunMode::Callgrind {
        return run_under_callgrind(&plan, sink);
    }
    if plan.threads > 0 {
        // candle sizes its CPU thread pool from this variable on first use;
        // nothing has started a thread yet.
        std::env::set_var("RAYON_NUM_THREADS", plan.threads.to_string());
    }
    if let Some(inject) = &plan.inject_delay {
        inject_delay(
            inject.stage,
            Duration::from_micros(inject.micros),
            Slowdown::Wait,
        );
    }
    let (profile_dir, hz, lockstep) = match &mode {
        RunMode::Profile { dir, hz } => (Some(dir.as_path()), *hz, false),
        RunMode::Lockstep => (None, 0, true),
        RunMode::Measure | RunMode::Callgrind => (None, 0, false),
    };
    execute(&plan, profile_dir, hz, lockstep, sink).map_err(|e| e.to_string())
}

/// Callgrind collects per thread, so every instruction of a measured
/// operation must run on the thread that switched collection on: candle is
/// told to use one thread (its matmul then runs inline, not on rayon), and
/// the whole run executes inside a one-thread pool, where rayon's parallel
/// loops (candle's softmax and norms) run on the calling thread too.
fn run_under_callgrind(plan: &Plan, sink: &mut StdoutSink) -> Result<(), String> {
    perf_workloads::callgrind::enable()?;
    std::env::set_var("RAYON_NUM_THREADS", "1");
    if let Some(inject) = &plan.inject_delay {
        inject_delay(
            inject.stage,
            Duration::from_micros(inject.micros),
            Slowdown::Work,
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| format!("cannot start the one-thread pool: {e}"))?;
    // No allocation counting: its atomics would be counted as the
    // operations' own instructions.
    pool.install(|| run_plan(plan, sink, RunOptions::default()))
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "dhat-heap"))]
fn execute(
    plan: &Plan,
    profile_dir: Option<&std::path::Path>,
    frequency: i32,
    lockstep: bool,
    sink: &mut StdoutSink,
) -> Result<(), perf_workloads::error::WorkloadError> {
    match profile_dir {
        Some(dir) => profile_plan(plan, dir, frequency, &ALLOC, sink),
        None => run_plan(
            plan,
            sink,
            RunOptions {
                lockstep,
                allocator: Some(&ALLOC),
            },
        ),
    }
}

/// The dhat build: a plain run of the plan with dhat's heap profiler hooked
/// around each workload (`DIR/<workload>/dhat-heap.json`).
#[cfg(feature = "dhat-heap")]
fn execute(
    plan: &Plan,
    profile_dir: Option<&std::path::Path>,
    _frequency: i32,
    lockstep: bool,
    sink: &mut StdoutSink,
) -> Result<(), perf_workloads::error::WorkloadError> {
    // dhat is the global allocator here: no counting allocator to report.
    let opts = RunOptions {
        lockstep,
        allocator: None,
    };
    match profile_dir {
        Some(dir) => {
            let mut dhat = perf_workloads::profiling::dhat::DhatHook::new(dir.to_path_buf());
            perf_workloads::workloads::run_plan_with(plan, sink, opts, &mut [&mut dhat])
        }
        None => run_plan(plan, sink, opts),
    }
}
