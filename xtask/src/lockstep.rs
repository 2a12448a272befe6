//! Drives two `perf-workloads --lockstep` processes, the base build and the
//! candidate build, one step at a time (the protocol's `ready` / `go`).
//!
//! Preparation runs one side after the other (the second side then finds
//! the corpus vectors the first one cached), the first side alternating by
//! round. After that exactly one process
//! works at any moment, and the order alternates per step, ABBA: step `i`
//! runs base then candidate, step `i + 1` candidate then base. Drift on any
//! time scale longer than one step (the other tenant of a shared machine, a
//! thermal state, a page cache) therefore lands on both sides alike, and a
//! step that warms a cache shared by both processes (the same model files)
//! helps each side first half of the time.
//!
//! Both sides must announce the same steps in the same order: they run the
//! same plan and only their code differs. A difference is an error naming
//! the first step where they part, never a silently misaligned pairing.

use std::{
    io::{BufRead, BufReader, Lines, Write},
    path::Path,
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
};

use anyhow::{bail, Context, Result};
use perf_contract::{plan::Plan, protocol::Message};

use crate::{children, progress::Progress, runner::RunOutcome};

/// One side's process and what it reported so far.
struct Side {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    outcome: RunOutcome,
    error: Option<String>,
    /// Whether this side's progress messages are shown (one side's are
    /// enough: both report the same work).
    shows_progress: bool,
}

impl Side {
    fn spawn(
        name: &'static str,
        binary: &Path,
        plan_file: &Path,
        plan: &Plan,
        shows_progress: bool,
    ) -> Result<Side> {
        let mut command = Command::new(binary);
        command
            .arg("--plan")
            .arg(plan_file)
            .args(perf_contract::run_mode::RunMode::Lockstep.args());
        // The plan file holds server addresses without their credentials.
        if let Some((var, value)) = plan.secrets_env() {
            command.env(var, value);
        }
        // Under the reaper: the process and what it starts (servers) die
        // with xtask. The persona is inherited through the reaper's exec.
        let mut command = children::reaped(&command);
        children::fixed_layout(&mut command);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start the {name} build ({})", binary.display()))?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        Ok(Side {
            name,
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
            outcome: RunOutcome::default(),
            error: None,
            shows_progress,
        })
    }

    /// Reads until the process announces its next step (`Some(label)`) or
    /// ends (`None`, after checking how it ended).
    fn next_step(&mut self, progress: &mut Progress) -> Result<Option<String>> {
        for line in self.lines.by_ref() {
            let line = line.with_context(|| format!("reading the {} build's output", self.name))?;
            match Message::from_line(&line) {
                Ok(Message::Ready { label }) => return Ok(Some(label)),
                Ok(Message::Context(c)) => self.outcome.context = *c,
                Ok(Message::Progress {
                    workload,
                    phase,
                    done,
                    total,
                }) => {
                    if self.shows_progress {
                        progress.update(workload, &phase, done, total);
                    }
                }
                Ok(Message::Note { text }) => {
                    progress.note(&format!("{}: {text}", self.name));
                    self.outcome.notes.push(text);
                }
                Ok(Message::Result(r)) => {
                    if self.shows_progress {
                        progress.finish_workload(r.workload);
                    }
                    self.outcome.results.push(r);
                }
                Ok(Message::Error { message }) => {
                    self.error = Some(crate::settings::for_user(&message))
                }
                Err(_) => progress.note(&format!("{}: {line}", self.name)),
            }
        }
        let status = self
            .child
            .wait()
            .with_context(|| format!("waiting for the {} build", self.name))?;
        if let Some(message) = &self.error {
            bail!("the {} build failed: {message}", self.name);
        }
        if !status.success() {
            bail!(
                "the {} build's workloads process failed: {status}",
                self.name
            );
        }
        Ok(None)
    }

    fn go(&mut self) -> Result<()> {
        writeln!(self.stdin, "go")
            .and_then(|()| self.stdin.flush())
            .with_context(|| format!("the {} build stopped listening", self.name))
    }
}

impl Drop for Side {
    /// A side left behind by an error is killed and reaped, not orphaned.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SIGTERM, not SIGKILL: the reaper then kills the whole tree
            // below it rather than dying alone.
            // SAFETY: kill(2) on our own child's pid, which `wait` has not
            // reaped yet, so the pid cannot have been reused.
            unsafe {
                libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
            }
            let _ = self.child.wait();
        }
    }
}

/// What the two sides reported, and how many steps they ran in lockstep.
pub struct Lockstep {
    pub base: RunOutcome,
    pub candidate: RunOutcome,
    pub steps: usize,
}

/// Runs `plan` in both builds in lockstep. `candidate_plan` is the same plan
/// but for what only the candidate gets (an injected delay). Plans go
/// through files beside `plan_file` (`<its stem>-base.json`, `-candidate.json`).
pub fn run_lockstep(
    base_binary: &Path,
    candidate_binary: &Path,
    plan: &Plan,
    candidate_plan: &Plan,
    plan_file: &Path,
    candidate_first: bool,
    progress: &mut Progress,
) -> Result<Lockstep> {
    let write_plan = |suffix: &str, p: &Plan| -> Result<std::path::PathBuf> {
        let path = plan_file.with_file_name(format!(
            "{}-{suffix}.json",
            plan_file.file_stem().unwrap_or_default().to_string_lossy()
        ));
        let json = serde_json::to_string_pretty(p).expect("plan serialises");
        perf_contract::atomic::write_atomic(&path, json.as_bytes())
            .with_context(|| format!("cannot write plan file {}", path.display()))?;
        Ok(path)
    };
    let base_plan_file = write_plan("base", plan)?;
    let candidate_plan_file = write_plan("candidate", candidate_plan)?;

    // The side that starts and prepares first alternates by round, as the
    // first step does: started second, a process found the machine as the
    // first one left it (its page cache, the cached corpus vectors, which
    // core was free), and with a fixed order the candidate was measured
    // about 1% faster than identical code (30 compares of commits that
    // changed no code on a 2-core Sapphire Rapids VM: mean −1.2%).
    let spawn_base = |progress: &mut Progress| -> Result<(Side, Option<String>)> {
        let mut side = Side::spawn("base", base_binary, &base_plan_file, plan, false)?;
        let step = first_step(&mut side, progress)?;
        Ok((side, step))
    };
    let spawn_candidate = |progress: &mut Progress| -> Result<(Side, Option<String>)> {
        let mut side = Side::spawn(
            "candidate",
            candidate_binary,
            &candidate_plan_file,
            candidate_plan,
            true,
        )?;
        let step = first_step(&mut side, progress)?;
        Ok((side, step))
    };
    let ((mut base, mut base_step), (mut candidate, mut candidate_step)) = if candidate_first {
        let c = spawn_candidate(progress)?;
        (spawn_base(progress)?, c)
    } else {
        let b = spawn_base(progress)?;
        (b, spawn_candidate(progress)?)
    };

    let mut steps = 0;
    loop {
        match (&base_step, &candidate_step) {
            (None, None) => break,
            (Some(b), Some(c)) if b == c => {}
            (b, c) => bail!(
                "the two builds parted at step {steps}: base {}, candidate {}; their workloads measure different operations (the same plan must give both the same steps)",
                describe(b),
                describe(c)
            ),
        }
        // ABBA: the side that goes first alternates by step, and which
        // side opens the round alternates by round.
        if (steps % 2 == 0) != candidate_first {
            base.go()?;
            base_step = base.next_step(progress)?;
            candidate.go()?;
            candidate_step = candidate.next_step(progress)?;
        } else {
            candidate.go()?;
            candidate_step = candidate.next_step(progress)?;
            base.go()?;
            base_step = base.next_step(progress)?;
        }
        steps += 1;
    }
    progress.clear();
    Ok(Lockstep {
        base: std::mem::take(&mut base.outcome),
        candidate: std::mem::take(&mut candidate.outcome),
        steps,
    })
}

/// The first `ready`: a build that ends without one cannot be driven.
fn first_step(side: &mut Side, progress: &mut Progress) -> Result<Option<String>> {
    match side.next_step(progress) {
        Ok(Some(step)) => Ok(Some(step)),
        Ok(None) => bail!(
            "the {} build ran without waiting for a lockstep driver: its perf-workloads predates `perf compare` (compare revisions that have it)",
            side.name
        ),
        Err(e) if format!("{e:#}").contains("usage: perf-workloads") => bail!(
            "the {} build does not know --lockstep: its perf-workloads predates `perf compare` (compare revisions that have it)",
            side.name
        ),
        Err(e) => Err(e),
    }
}

fn describe(step: &Option<String>) -> String {
    match step {
        Some(s) => format!("at `{s}`"),
        None => "finished".into(),
    }
}
