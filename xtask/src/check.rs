//! `cargo xtask perf check`: the regression gate. Runs the workloads (or
//! reads a saved run), compares every metric with the baseline through
//! `perf_report::compare`, re-runs what looks regressed once, applies the
//! quality guards, and exits 0 / 1 / 2.

use std::{
    fs::OpenOptions,
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{bail, Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use perf_report::{
    compare::{any_regression, compare_results, Comparison, Verdict},
    compare_render::{comparison_markdown, comparison_table},
    guards::{incomparable_reason, quality_guards, GuardResult},
    noise::{RunNoise, MIN_RUNS},
    plan::{ProfileName, WorkloadName},
    schema::Baseline,
};
use serde::Serialize;
use xshell::Shell;

use crate::{
    baseline::{measure, plan_for, retire, save_run, save_run_as, BASELINE_FILE},
    callgrind,
    cli::{CheckArgs, Format, Mode},
    config,
    thresholds::Thresholds,
};

/// Fixed so that a check of the same files always gives the same intervals.
pub(crate) const BOOTSTRAP_SEED: u64 = 0x5EED_CAFE;

#[derive(Debug, Serialize)]
struct CheckReport {
    passed: bool,
    baseline: String,
    baseline_fingerprint: String,
    current_fingerprint: String,
    /// Set when `--allow-foreign-baseline` let unlike machines be compared.
    foreign_baseline: bool,
    comparisons: Vec<Comparison>,
    guards: Vec<GuardResult>,
    notes: Vec<String>,
}

pub fn run(sh: &Shell, root: &Path, args: &CheckArgs) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let baseline_path = args
        .baseline
        .as_ref()
        .map_or_else(|| root.join(BASELINE_FILE), |p| cwd.join(p));
    if !baseline_path.exists() {
        bail!(
            "no baseline at {}: record one with `cargo xtask perf baseline`",
            baseline_path.display()
        );
    }
    let baseline = Baseline::load(&baseline_path)?;
    let use_callgrind = args.mode == Mode::Instructions && callgrind::has_counts(&baseline);
    if args.mode == Mode::Instructions && args.update {
        bail!("--update with --mode instructions: an instruction check measures no times to record; update with a time check or `cargo xtask perf baseline --update`");
    }
    let loaded = config::load(args.run.config.as_deref(), &root.join("perf.toml"))?;
    let thresholds = Thresholds::new(&loaded.config.check, args.threshold);
    let mut notes = Vec::new();

    // The fresh run repeats the baseline's profile and workloads unless told
    // otherwise, so that like is compared with like.
    let mut run_args = args.run.clone();
    run_args.quick |= baseline.plan.profile == ProfileName::Quick;
    if run_args.workloads.is_empty() {
        run_args.workloads = baseline.workloads.keys().copied().collect();
    }
    let mut plan = None;
    let mut this_run: Option<PathBuf> = args.run_file.as_ref().map(|f| cwd.join(f));
    let current = match &args.run_file {
        Some(f) => Baseline::load(&cwd.join(f))?,
        None if use_callgrind => {
            let mut p = plan_for(sh, root, &cwd, &run_args)?;
            p.inject_delay = args.inject_delay.clone();
            let r = callgrind::measure_instructions(sh, root, &p)?;
            let saved = save_run_as(root, &r, "-instructions")?;
            notes.push(format!("this run: {}", saved.display()));
            this_run = Some(saved);
            notes.push(
                "instruction counts are deterministic: a regressed metric is not re-run".into(),
            );
            notes.push("quality guards (recall, parity) are judged by time checks; a callgrind run measures 8 questions".into());
            r
        }
        None => {
            let mut p = plan_for(sh, root, &cwd, &run_args)?;
            p.inject_delay = args.inject_delay.clone();
            let r = measure(sh, root, &p)?;
            let saved = save_run(root, &r)?;
            notes.push(format!("this run: {}", saved.display()));
            this_run = Some(saved);
            plan = Some(p);
            r
        }
    };

    let foreign = baseline.machine_fingerprint != current.machine_fingerprint;
    if foreign && !args.allow_foreign_baseline {
        bail!(
            "baseline {} was recorded on another machine ({}); this run is on ({}): re-record it here with `cargo xtask perf baseline --update`, or pass --allow-foreign-baseline",
            baseline_path.display(),
            baseline.machine_fingerprint,
            current.machine_fingerprint
        );
    }
    if foreign {
        notes.push(
            "FOREIGN BASELINE: recorded on a different machine; changes mix code and hardware"
                .into(),
        );
    }
    if let Some(reason) = incomparable_reason(&baseline, &current) {
        bail!(
            "this run and baseline {} did not measure the same thing ({reason}): re-record the baseline or match its settings",
            baseline_path.display()
        );
    }

    let history = if args.noise_history {
        earlier_runs(
            root,
            &baseline_path,
            &baseline,
            &current,
            this_run.as_deref(),
        )
    } else {
        Vec::new()
    };
    let noise = RunNoise::from_runs(&history.iter().collect::<Vec<_>>());
    let mut widened = Vec::new();
    let threshold_for = |w: WorkloadName, m: &str| {
        let base = baseline.workloads.get(&w).and_then(|r| r.metrics.get(m));
        let configured = thresholds.pct_for(w, m, base);
        configured.max(noise.threshold_pct(w, m).unwrap_or(0.0))
    };
    for (w, result) in &current.workloads {
        for name in result.metrics.keys() {
            let base = baseline.workloads.get(w).and_then(|r| r.metrics.get(name));
            let configured = thresholds.pct_for(*w, name, base);
            if let Some(t) = noise.threshold_pct(*w, name).filter(|t| *t > configured) {
                widened.push(format!("{w}.{name} ±{t:.0}%"));
            }
        }
    }
    if !args.noise_history {
        // Thresholds as configured: nothing to say.
    } else if noise.runs >= MIN_RUNS {
        if !widened.is_empty() {
            notes.push(format!(
                "between-run noise of {} earlier comparable runs on this machine widened: {}",
                noise.runs,
                widened.join(", ")
            ));
        }
    } else {
        notes.push(format!(
            "{} earlier comparable run(s) on this machine (need {MIN_RUNS} to measure between-run noise): thresholds as configured",
            noise.runs
        ));
    }
    // Only the workloads this run measured are judged; the rest of the
    // baseline is not "missing", just not selected.
    let mut judged = baseline.workloads.clone();
    judged.retain(|w, _| current.workloads.contains_key(w));
    let mut comparisons =
        compare_results(&judged, &current.workloads, &threshold_for, BOOTSTRAP_SEED);
    if args.mode == Mode::Instructions {
        // Callgrind's and the hardware counter's counts differ (callgrind
        // runs its own CPU model): only counts of the same source compare.
        let suffix = if use_callgrind {
            callgrind::SUFFIX
        } else {
            "instructions"
        };
        comparisons.retain(|c| {
            c.metric.ends_with(suffix) && (use_callgrind || !c.metric.ends_with(callgrind::SUFFIX))
        });
        if comparisons.is_empty() {
            bail!(
                "--mode instructions: no instruction counts to compare (baseline: {}; this run: {}); record them with `cargo xtask perf baseline --instructions --update`",
                describe_counting(&baseline),
                describe_counting(&current)
            );
        }
        notes.push(if use_callgrind {
            "deterministic mode: only callgrind instruction counts were judged".into()
        } else {
            "deterministic mode: only retired-instruction counts were judged".into()
        });
    }

    if let (Some(plan), false) = (&plan, args.no_rerun) {
        let suspects: Vec<WorkloadName> = regressed(&comparisons)
            .map(|c| c.workload)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !suspects.is_empty() {
            let names: Vec<&str> = suspects.iter().map(|w| w.as_str()).collect();
            eprintln!(
                "possible regression in {}: re-running once to rule out noise",
                names.join(", ")
            );
            let mut again = plan.clone();
            again.workloads = suspects;
            let rerun = measure(sh, root, &again)?;
            let mut second =
                compare_results(&judged, &rerun.workloads, &threshold_for, BOOTSTRAP_SEED);
            if args.mode == Mode::Instructions {
                second.retain(|c| c.metric.ends_with("instructions"));
            }
            for c in comparisons.iter_mut().filter(|c| is_regressed(c)) {
                let Some(r) = second
                    .iter()
                    .find(|r| r.workload == c.workload && r.metric == c.metric)
                else {
                    continue;
                };
                let outcome = if is_regressed(r) {
                    "confirmed"
                } else {
                    "not confirmed"
                };
                notes.push(format!(
                    "re-ran {}: {} regression {outcome}",
                    c.workload, c.metric
                ));
                *c = r.clone();
            }
        }
    }

    let guards = quality_guards(&baseline, &current);
    let passed = !any_regression(&comparisons) && guards.iter().all(|g| g.passed);
    let report = CheckReport {
        passed,
        baseline: baseline_path.display().to_string(),
        baseline_fingerprint: baseline.machine_fingerprint.clone(),
        current_fingerprint: current.machine_fingerprint.clone(),
        foreign_baseline: foreign,
        comparisons,
        guards,
        notes,
    };
    let markdown = render_markdown(&report);
    match args.format {
        Format::Table => print_tables(&report),
        Format::Markdown => print!("{markdown}"),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report serialises")
        ),
    }
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .with_context(|| {
                format!(
                    "cannot append to GITHUB_STEP_SUMMARY ({})",
                    Path::new(&summary).display()
                )
            })?;
        f.write_all(markdown.as_bytes())
            .context("writing GITHUB_STEP_SUMMARY")?;
    }
    if args.update {
        if passed {
            if let Some(moved) = retire(&baseline_path)? {
                eprintln!("previous baseline kept as {}", moved.display());
            }
            current
                .save(&baseline_path)
                .with_context(|| format!("cannot write baseline {}", baseline_path.display()))?;
            eprintln!("baseline updated: {}", baseline_path.display());
        } else {
            eprintln!("not updating the baseline: the check failed");
        }
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// How many of the most recent comparable runs estimate between-run noise.
const RECENT_RUNS: usize = 10;

/// Earlier runs measured like `current` on the same machine, without an
/// injected delay: the saved runs and the baseline history, each once, the
/// most recent `RECENT_RUNS` of them.
fn earlier_runs(
    root: &Path,
    baseline_path: &Path,
    baseline: &Baseline,
    current: &Baseline,
    this_run: Option<&Path>,
) -> Vec<Baseline> {
    let history = baseline_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("history");
    let mut paths: Vec<PathBuf> = [root.join("target/perf-runs"), history]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.ends_with("latest.json"))
        .filter(|p| Some(p.as_path()) != this_run)
        .collect();
    paths.sort();
    let mut seen = std::collections::BTreeSet::new();
    let mut runs: Vec<Baseline> = std::iter::once(baseline.clone())
        .chain(paths.iter().filter_map(|p| Baseline::load(p).ok()))
        .filter(|r| r.created_at != current.created_at && seen.insert(r.created_at))
        .filter(|r| r.machine_fingerprint == current.machine_fingerprint)
        .filter(|r| r.plan.inject_delay.is_none() && incomparable_reason(current, r).is_none())
        .collect();
    // The machine's recent mood, not its whole past: runs made while it
    // was compiling or shared would otherwise widen thresholds for good.
    runs.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    runs.truncate(RECENT_RUNS);
    runs
}

fn describe_counting(run: &Baseline) -> &str {
    match run.context.counting.as_str() {
        "" => "not recorded",
        s => s,
    }
}

fn is_regressed(c: &Comparison) -> bool {
    c.change
        .as_ref()
        .is_some_and(|ch| ch.verdict == Verdict::Regressed)
}

fn regressed(cs: &[Comparison]) -> impl Iterator<Item = &Comparison> {
    cs.iter().filter(|c| is_regressed(c))
}

fn verdict_line(r: &CheckReport) -> String {
    let failed_guards = r.guards.iter().filter(|g| !g.passed).count();
    let regressions = regressed(&r.comparisons).count();
    if r.passed {
        "PASS: no confirmed regression, quality guards hold".into()
    } else {
        format!("FAIL: {regressions} regressed metric(s), {failed_guards} failed quality guard(s)")
    }
}

fn guards_table(guards: &[GuardResult]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "quality guard",
        "baseline",
        "current",
        "rule",
        "result",
    ]);
    for g in guards {
        t.add_row(vec![
            g.metric.clone(),
            g.baseline.map_or("–".into(), |b| format!("{b:.4}")),
            format!("{:.4}", g.current),
            g.rule.clone(),
            if g.passed {
                "pass".into()
            } else {
                "FAIL".into()
            },
        ]);
    }
    t
}

fn print_tables(r: &CheckReport) {
    println!("{}", comparison_table(&r.comparisons));
    if !r.guards.is_empty() {
        println!("{}", guards_table(&r.guards));
    }
    for n in &r.notes {
        println!("note: {n}");
    }
    println!("{}", verdict_line(r));
}

fn render_markdown(r: &CheckReport) -> String {
    let mut out = String::from("### cargo xtask perf check\n\n");
    if r.foreign_baseline {
        out.push_str("> **Foreign baseline**: recorded on a different machine.\n\n");
    }
    out.push_str(&comparison_markdown(&r.comparisons));
    if !r.guards.is_empty() {
        out.push_str(
            "\n| quality guard | baseline | current | rule | result |\n|---|---:|---:|---|---|\n",
        );
        for g in &r.guards {
            out.push_str(&format!(
                "| {} | {} | {:.4} | {} | {} |\n",
                g.metric,
                g.baseline.map_or("–".into(), |b| format!("{b:.4}")),
                g.current,
                g.rule,
                if g.passed { "pass" } else { "**FAIL**" }
            ));
        }
    }
    for n in &r.notes {
        out.push_str(&format!("\n- {n}"));
    }
    out.push_str(&format!("\n\n**{}**\n", verdict_line(r)));
    out
}
