//! Builds the workloads binary in release mode and runs a plan in it as a
//! separate process, turning its stdout line protocol into a [`RunOutcome`].
//!
//! Measurements never come from the front end's (possibly debug) build:
//! xtask only orchestrates, the optimised `perf-workloads` binary measures.
//! Both children (the build and the run) run under xtask's reaper, so they
//! die with xtask with everything they started (`children::reaped`).

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{bail, Context, Result};
use perf_contract::{
    atomic::write_atomic,
    context::RunContext,
    plan::Plan,
    protocol::{Message, WorkloadSamples},
    run_mode::RunMode,
};
use xshell::{cmd, Shell};

use crate::{children, progress::Progress};

/// Everything the workloads process reported for one plan.
#[derive(Debug, Default)]
pub struct RunOutcome {
    pub context: RunContext,
    pub results: Vec<WorkloadSamples>,
    pub notes: Vec<String>,
}

/// Builds perf-workloads in release mode, returning the binary's path as
/// cargo reports it (so `CARGO_TARGET_DIR` and friends are honoured).
pub fn build_workloads(sh: &Shell, root: &Path) -> Result<PathBuf> {
    build_workloads_with(sh, root, &[])
}

/// The same with cargo features of perf-workloads switched on (`dhat-heap`).
pub fn build_workloads_with(sh: &Shell, root: &Path, features: &[&str]) -> Result<PathBuf> {
    build_workloads_from(sh, root, root, features, None)
}

/// Builds the perf-workloads of the source tree `src` with this project's
/// build tools; another revision's checkout builds into its own `target`
/// folder (see `compare_target` for why it must not share the project's).
pub fn build_workloads_from(
    sh: &Shell,
    root: &Path,
    src: &Path,
    features: &[&str],
    target: Option<&Path>,
) -> Result<PathBuf> {
    // Before anything compiles: a missing build tool is one line now, not
    // a backtrace after minutes of compiling.
    crate::build_env::apply(sh, root)?;
    let _dir = sh.push_dir(src);
    let _target = target.map(|dir| sh.push_env("CARGO_TARGET_DIR", dir));
    let feature_args: Vec<String> = if features.is_empty() {
        Vec::new()
    } else {
        let named: Vec<String> = features
            .iter()
            .map(|f| format!("perf-workloads/{f}"))
            .collect();
        vec!["--features".into(), named.join(",")]
    };
    // `--workspace --bin`, not `--package`: features are then resolved
    // for the whole workspace, as in `cargo xtask test`, so this build
    // reuses the test build's dependencies (with `--package`, comfy-table's
    // rustix features were missing and candle was compiled a second time).
    let build: Command = cmd!(
        sh,
        "cargo build --release --workspace --bin perf-workloads --message-format=json-render-diagnostics {feature_args...}"
    )
    .into();
    // A killed xtask takes its build with it: cargo, and the rustc and
    // build scripts (cmake, make, cc) cargo started.
    let out = children::reaped(&build)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot start cargo to build perf-workloads")?;
    if !out.status.success() {
        bail!(
            "building perf-workloads in release mode failed ({}; see cargo's output above)",
            out.status
        );
    }
    executable_from_messages(&String::from_utf8_lossy(&out.stdout))
        .context("cargo did not report the perf-workloads executable")
}

fn executable_from_messages(out: &str) -> Option<PathBuf> {
    out.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "perf-workloads")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
}

/// How the workloads process is started.
pub enum Launch<'a> {
    /// Measure: the binary itself.
    Direct,
    /// Profile instead of measuring: the process writes its files into
    /// `dir`, sampling at `hz`, and reports no results.
    Profile { dir: &'a Path, hz: i32 },
    /// Measure under a wrapper command (`valgrind --tool=callgrind ...`),
    /// the binary and its arguments appended.
    Wrapped(&'a [String]),
}

impl Launch<'_> {
    /// What the process is told to do.
    fn mode(&self) -> RunMode {
        match self {
            Launch::Direct => RunMode::Measure,
            Launch::Profile { dir, hz } => RunMode::Profile {
                dir: dir.to_path_buf(),
                hz: *hz,
            },
            // Only callgrind wraps the process.
            Launch::Wrapped(_) => RunMode::Callgrind,
        }
    }
}

/// Runs `plan` in `binary`, feeding progress to `progress`. The plan goes
/// through a file (beside the run output) so it can be inspected or re-run
/// by hand: `perf-workloads --plan FILE`.
pub fn run_plan(
    binary: &Path,
    plan: &Plan,
    plan_file: &Path,
    launch: &Launch<'_>,
    progress: &mut Progress,
) -> Result<RunOutcome> {
    let json = serde_json::to_string_pretty(plan).expect("plan serialises");
    write_atomic(plan_file, json.as_bytes())
        .with_context(|| format!("cannot write plan file {}", plan_file.display()))?;

    let mut command = match launch {
        Launch::Wrapped([wrapper, args @ ..]) => {
            let mut c = Command::new(wrapper);
            c.args(args).arg(binary);
            c
        }
        _ => Command::new(binary),
    };
    command
        .arg("--plan")
        .arg(plan_file)
        .args(launch.mode().args());
    // The plan file holds server addresses without their credentials.
    if let Some((var, value)) = plan.secrets_env() {
        command.env(var, value);
    }
    // Killed with xtask however xtask ends, valgrind and what the process
    // starts (servers, pip builds) included.
    let mut child = children::reaped(&command)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| match launch {
            Launch::Wrapped([wrapper, ..]) => {
                format!("cannot start {wrapper} (for {})", binary.display())
            }
            _ => format!("cannot start {}", binary.display()),
        })?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut outcome = RunOutcome::default();
    let mut error = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading the workloads process output")?;
        match Message::from_line(&line) {
            Ok(Message::Context(c)) => outcome.context = *c,
            Ok(Message::Progress {
                workload,
                phase,
                done,
                total,
            }) => progress.update(workload, &phase, done, total),
            Ok(Message::Note { text }) => {
                progress.note(&text);
                outcome.notes.push(text);
            }
            Ok(Message::Result(r)) => {
                progress.finish_workload(r.workload);
                outcome.results.push(r);
            }
            Ok(Message::Error { message }) => error = Some(crate::settings::for_user(&message)),
            // Only a `--lockstep` process waits; this one was not started so.
            Ok(Message::Ready { label }) => {
                bail!("the workloads process ({}) waits for a lockstep driver at `{label}` although it was not started with --lockstep", binary.display())
            }
            // Stray output (a dependency printing to stdout) is shown, not fatal.
            Err(_) => progress.note(&line),
        }
    }
    let status = child.wait().context("waiting for the workloads process")?;
    progress.clear();
    if let Some(message) = error {
        bail!("{message}");
    }
    if !status.success() {
        bail!(
            "the workloads process ({}) failed: {status}",
            binary.display()
        );
    }
    if matches!(launch, Launch::Profile { .. }) {
        return Ok(outcome);
    }
    let missing: Vec<_> = plan
        .workloads
        .iter()
        .filter(|w| !outcome.results.iter().any(|r| r.workload == **w))
        .map(|w| w.as_str())
        .collect();
    if !missing.is_empty() {
        bail!(
            "the workloads process ended without results for: {}",
            missing.join(", ")
        );
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executable_is_read_from_cargo_messages() {
        let out = r#"{"reason":"compiler-artifact","target":{"name":"serde"},"executable":null}
{"reason":"compiler-artifact","target":{"name":"perf-workloads"},"executable":"/t/release/perf-workloads"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable_from_messages(out),
            Some(PathBuf::from("/t/release/perf-workloads"))
        );
        assert_eq!(executable_from_messages("{}"), None);
    }
}
