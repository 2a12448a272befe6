//! `perf-workloads --plan FILE`: executes a plan written by `cargo xtask perf`
//! and prints one JSON message per line on stdout. Exit code 1 on error,
//! after an `error` message carrying the one line to show.

use std::{fs, path::PathBuf, process::ExitCode, time::Duration};

use perf_report::{plan::Plan, protocol::Message};
use perf_workloads::{
    report::{Sink, StdoutSink},
    stage::{inject_delay, Stage},
    workloads::run_plan,
};

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
    let path = match args.as_slice() {
        [flag, path] if flag == "--plan" => PathBuf::from(path),
        _ => {
            return Err(
                "usage: perf-workloads --plan FILE (normally run by `cargo xtask perf`)".into(),
            )
        }
    };
    let text = fs::read_to_string(&path)
        .map_err(|e| format!("cannot read plan {}: {e}", path.display()))?;
    let plan: Plan = serde_json::from_str(&text)
        .map_err(|e| format!("plan {} is not valid: {e}", path.display()))?;
    if plan.threads > 0 {
        // candle sizes its CPU thread pool from this variable on first use;
        // nothing has started a thread yet.
        std::env::set_var("RAYON_NUM_THREADS", plan.threads.to_string());
    }
    if let Some(inject) = &plan.inject_delay {
        let stage: Stage = inject.stage.parse()?;
        inject_delay(stage, Duration::from_micros(inject.micros));
    }
    run_plan(&plan, sink).map_err(|e| e.to_string())
}
