//! `cargo xtask perf calibrate`: what this machine can resolve. Measures
//! one build in several sessions, one after another, each of several
//! fresh processes (an A/A comparison of the build with itself), or reads
//! saved runs of one build as the sessions (`--from-run`); keeps each
//! metric's spread between processes and the shift between sessions in
//! `target/perf-calibration/<profile>.json` (`perf_report::calibration`),
//! and prints what a check of three processes a side resolves and how many
//! processes the threshold needs. `check` and `report` read the file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use perf_contract::{
    atomic::write_atomic,
    metric_key::MetricKey,
    plan::{ProfileName, WorkloadName},
    schema::{Baseline, FileRole},
};
use perf_report::{
    calibration::{Calibration, Spread},
    policy::DEFAULT_THRESHOLD_PCT,
};
use xshell::Shell;

use crate::{
    cli::{CalibrateArgs, RunArgs},
    measure,
    settings::{self, names, plan_for},
    store::Store,
};

/// Processes a session when `--processes` is not given: with the default
/// three sessions, six degrees of freedom for the spread between them.
const DEFAULT_PROCESSES: u32 = 3;

/// Sessions a calibration keeps, the newest: a shift between sessions is
/// estimated as a variance, which takes many of them (the simulation in
/// perf-report/tests/process_replicates.rs: eight hold the interval's
/// promise, three fall short).
const MOST_SESSIONS: usize = 12;

/// Rows the terminal shows: the headline metrics, then the widest spreads.
const SHOWN: usize = 16;

pub fn run(sh: &Shell, store: &Store, args: &CalibrateArgs) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let loaded = settings::load(args.run.config.as_deref(), &store.root().join("perf.toml"))?;
    let mut run_args = args.run.clone();
    run_args
        .settings
        .or_set("processes", i64::from(DEFAULT_PROCESSES));
    // The replicated workloads: the LLM ones run in one process.
    let replicated: Vec<WorkloadName> = WorkloadName::ALL
        .into_iter()
        .filter(|w| w.traits().replicated && w.traits().default)
        .collect();
    run_args.settings.or_set("workload", names(&replicated));
    let (sessions, profile, runs) = if args.from_runs.is_empty() {
        let (new, profile, saved) =
            measure_sessions(sh, store, &cwd, &run_args, &loaded, args.sessions as usize)?;
        let (mut sessions, mut runs) = if args.fresh {
            (Vec::new(), Vec::new())
        } else {
            earlier_sessions(store, &new[0], MOST_SESSIONS.saturating_sub(new.len()))?
        };
        sessions.extend(new);
        runs.extend(saved);
        (sessions, profile, runs)
    } else {
        let mut runs = args
            .from_runs
            .iter()
            .map(|f| {
                let path = cwd.join(f);
                Baseline::load_as(&path, FileRole::Run)
                    .map(|r| (r, path))
                    .map_err(anyhow::Error::from)
            })
            .collect::<Result<Vec<_>>>()?;
        runs.sort_by_key(|(r, _)| r.created_at);
        let profile = runs[0].0.plan.profile;
        let (sessions, paths) = runs.into_iter().unzip();
        (sessions, profile, paths)
    };
    let mut calibration = Calibration::from_sessions(&sessions)
        .map_err(|e| anyhow::anyhow!("cannot calibrate: {e}"))?;
    calibration.runs = runs;
    let file = store.calibration_file(profile);
    let json = serde_json::to_string_pretty(&calibration).expect("calibration serialises");
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_atomic(&file, json.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))?;
    print_table(&calibration);
    println!(
        "calibration written: {} (check and report read it on this machine)",
        file.display()
    );
    Ok(())
}

/// Measures `count` sessions of one build, one after another, each run
/// saved; the runs and their profile.
fn measure_sessions(
    sh: &Shell,
    store: &Store,
    cwd: &Path,
    run_args: &RunArgs,
    loaded: &settings::LoadedConfig,
    count: usize,
) -> Result<(Vec<Baseline>, ProfileName, Vec<PathBuf>)> {
    let plan = plan_for(sh, store.root(), cwd, run_args, loaded)?.without_ingest_at_scale();
    let least = if count > 1 { 2 } else { 3 };
    if (plan.harness.processes as usize) < least {
        bail!(
            "--processes {}: a spread between processes needs at least {least} a session with --sessions {count}",
            plan.harness.processes
        );
    }
    let (mut runs, mut saved) = (Vec::new(), Vec::new());
    for s in 1..=count {
        eprintln!(
            "calibrating, session {s} of {count}: {} in {} fresh processes of one build",
            WorkloadName::list(&plan.workloads),
            plan.harness.processes
        );
        let run = measure::measure(sh, store, &plan)?;
        let file = store.save_run_as(&run, "-calibration")?;
        println!("session {s}: {}", file.display());
        runs.push(run);
        saved.push(file);
    }
    Ok((runs, plan.profile, saved))
}

/// The newest `most` sessions of this machine's earlier calibration for
/// `like`'s profile whose runs are still saved and were measured on the
/// same machine, oldest first, with their files.
fn earlier_sessions(
    store: &Store,
    like: &Baseline,
    most: usize,
) -> Result<(Vec<Baseline>, Vec<PathBuf>)> {
    let Some((file, earlier)) = store.calibration(like.plan.profile)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    if let Some(why) = earlier.unlike(like) {
        eprintln!("not joining the sessions of {}: {why}", file.display());
        return Ok((Vec::new(), Vec::new()));
    }
    let mut kept = Vec::new();
    for path in earlier.runs.iter().rev().take(most) {
        // A run deleted since, or of another plan, is left out: the
        // sessions must have measured the same inputs.
        match Baseline::load_as(path, FileRole::Run) {
            Ok(r) if r.plan == like.plan && earlier.unlike(&r).is_none() => {
                kept.push((r, path.clone()))
            }
            _ => eprintln!(
                "not joining earlier session {}: gone or another plan",
                path.display()
            ),
        }
    }
    kept.reverse();
    if !kept.is_empty() {
        eprintln!(
            "joining {} earlier session(s) of this machine, the oldest of {} (--fresh to start over)",
            kept.len(),
            kept[0].0.created_at.format("%Y-%m-%d %H:%M UTC")
        );
    }
    Ok(kept.into_iter().unzip())
}

fn print_table(c: &Calibration) {
    let headline = |key: &str| {
        key.split_once('.')
            .is_some_and(|(_, m)| MetricKey::parse(m).kind().is_headline())
    };
    let mut rows: Vec<(&String, &Spread)> = c.metrics.iter().collect();
    rows.sort_by(|a, b| {
        headline(b.0)
            .cmp(&headline(a.0))
            .then(b.1.sd_log.total_cmp(&a.1.sd_log))
    });
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "metric",
        "spread between processes",
        "shift between sessions",
        "resolves, 3 vs 3 processes",
        &format!("processes a side for ±{DEFAULT_THRESHOLD_PCT}%"),
        "n",
    ]);
    for (key, s) in rows.iter().take(SHOWN) {
        table.add_row([
            key.to_string(),
            format!("{:.1}%", s.sd_log.exp_m1() * 100.0),
            s.shift_cell(),
            format!("±{:.1}%", s.resolvable_pct(3, 3)),
            s.processes_cell(DEFAULT_THRESHOLD_PCT),
            format!("{}×{}", s.processes, s.samples_per_process),
        ]);
    }
    println!("{table}");
    if c.metrics.len() > SHOWN {
        println!(
            "{} more metrics calibrated; the file holds every one",
            c.metrics.len() - SHOWN
        );
    }
}
