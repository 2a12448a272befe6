//! `cargo xtask perf check`: the regression gate. Runs the workloads (or
//! reads a saved run), judges the run against the baseline through
//! `perf_report::judgement` (the report's comparison uses the same), re-runs
//! what looks regressed in more processes, measures one more process at a
//! time while a headline metric's minimum detectable effect exceeds its
//! threshold (within `--max-time`), prints the judgement through `perf_report::export`, and exits
//! 0 / 1 (regression) / 2 (error) / 3 (inconclusive). With `--paired`, or
//! where this machine's calibration says the sessions leave a headline
//! threshold unresolved, it measures the baseline's commit beside this
//! tree instead (`paired_check`).

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{bail, Context, Result};
use perf_contract::{
    metric_key::MetricKind,
    plan::{ProfileName, WorkloadName},
    schema::{Baseline, FileRole},
};
use perf_report::{
    compare::Verdict,
    export::{self, Document},
    guards::{incomparable_reason, other_machine_reason},
    judgement::{is_regressed, judge, Judgement},
    noise::{RunNoise, MIN_RUNS},
    policy::Policy,
};
use xshell::Shell;

use crate::{
    baseline_update::{clear_stale_temps, missing_baseline, replace_baseline},
    callgrind,
    cli::{CheckArgs, Mode},
    measure, paired_check, printer, replicates, revision,
    session_notes::{calibration_for, sessions_note},
    settings::{self, names, plan_for},
    store::Store,
    thresholds,
};

pub fn run(sh: &Shell, store: &Store, args: &CheckArgs) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let root = store.root();
    let here = crate::machine::probe(sh, root);
    let (baseline_path, own) = match &args.baseline {
        Some(p) => (cwd.join(p), false),
        None => store.baseline_for(&here.machine_id()),
    };
    clear_stale_temps(&baseline_path);
    if !baseline_path.exists() {
        bail!("{}", missing_baseline(&baseline_path));
    }
    let baseline = Baseline::load(&baseline_path)?;
    // Before anything runs: minutes of measuring cannot make another
    // machine's baseline comparable.
    if !args.allow_foreign_baseline && args.run_file.is_none() {
        let probed = Baseline {
            machine_fingerprint: here.fingerprint(),
            environment: here.clone(),
            ..baseline.clone()
        };
        if let Some(why) = other_machine_reason(&baseline, &probed) {
            bail!(
                "baseline {} was recorded on another machine ({why}): record this machine's own with `cargo xtask perf baseline --this-machine` ({}, which check then uses), or pass --allow-foreign-baseline",
                baseline_path.display(),
                store.machine_baseline(&here.machine_id()).display()
            );
        }
    }
    let use_callgrind = args.mode == Mode::Instructions && callgrind::has_counts(&baseline);
    if args.mode == Mode::Instructions && args.update {
        bail!("--update with --mode instructions: an instruction check measures no times to record; update with a time check or `cargo xtask perf baseline --update`");
    }
    if args.paired {
        if args.mode == Mode::Instructions {
            bail!("--paired with --mode instructions: instruction counts do not move with the machine's state, so there is nothing to pair; drop one");
        }
        paired_check::buildable(&baseline, &baseline_path)?;
    }
    // perf.toml once: the plan and the policy both come from it.
    let loaded = settings::load(args.run.config.as_deref(), &root.join("perf.toml"))?;
    let config_name = loaded.name();
    thresholds::validate(&loaded.check, &config_name, args.threshold)?;
    thresholds::check_keys(&loaded.check, &config_name, &baseline, &baseline_path)?;
    let policy = thresholds::policy(&loaded.check, args.threshold);
    let mut notes = Vec::new();
    if own {
        notes.push(format!(
            "this machine's own baseline: {}",
            baseline_path.display()
        ));
    }

    // The fresh run repeats the baseline's profile and workloads unless told
    // otherwise, so that like is compared with like.
    let mut run_args = args.run.clone();
    run_args.quick |= baseline.plan.profile == ProfileName::Quick;
    let recorded: Vec<WorkloadName> = baseline.workloads.keys().copied().collect();
    run_args.settings.or_set("workload", names(&recorded));
    // Read once: it may set how many processes to measure, then joins the
    // judgement.
    let profile = if run_args.quick {
        ProfileName::Quick
    } else {
        ProfileName::Full
    };
    let calibration = store.calibration(profile)?;
    let mut plan = None;
    let mut this_run: Option<PathBuf> = args.run_file.as_ref().map(|f| cwd.join(f));
    let current = match &args.run_file {
        Some(f) => Baseline::load_as(&cwd.join(f), FileRole::Run)?,
        None if use_callgrind => {
            let mut p = plan_for(sh, root, &cwd, &run_args, &loaded)?.without_ingest_at_scale();
            p.inject_delay = args.inject_delay.clone();
            let r = callgrind::measure_instructions(sh, store, &p)?;
            let saved = store.save_run_as(&r, "-instructions")?;
            notes.push(format!("this run: {}", saved.display()));
            this_run = Some(saved);
            notes.push(
                "instruction counts are deterministic: a regressed metric is not re-run".into(),
            );
            notes.push("quality guards (recall, parity) are judged by time checks; a callgrind run measures 8 questions".into());
            r
        }
        None => {
            let mut p = plan_for(sh, root, &cwd, &run_args, &loaded)?.without_ingest_at_scale();
            let (mut unresolved, mut processes_note) = (Vec::new(), None);
            if !args.run.settings.has("processes") {
                let c = calibration.as_ref().map(|(_, c)| c);
                let base_processes = baseline
                    .workloads
                    .values()
                    .flat_map(|r| r.metrics.values())
                    .map(|m| m.by_process().len())
                    .max()
                    .unwrap_or(1);
                let threshold_for = |policy: &Policy, w: WorkloadName, m: &str| {
                    let b = baseline.workloads.get(&w).and_then(|r| r.metrics.get(m));
                    policy.pct_for(w, m, b)
                };
                if let Some(c) = c {
                    let r = replicates::from_calibration(
                        sh,
                        store,
                        c,
                        &mut p,
                        Some(base_processes),
                        &policy,
                        &threshold_for,
                    );
                    (unresolved, processes_note) = (r.unresolved, r.note);
                }
            }
            let refused = args.unpaired || args.mode == Mode::Instructions;
            let in_repo = |c: &str| revision::resolve(sh, store, Some(c)).is_ok();
            if let Some(why) = paired_check::reason(
                args.paired,
                refused,
                &baseline,
                &unresolved,
                &in_repo,
                &mut notes,
            ) {
                // The processes a check beside the file would take do not
                // apply: the rounds decide.
                eprintln!("{why}");
                notes.push(why);
                let mut candidate_plan = p.clone();
                candidate_plan.inject_delay = args.inject_delay.clone();
                let paired = paired_check::run(
                    sh,
                    store,
                    (&baseline, &baseline_path),
                    &here,
                    &p,
                    &candidate_plan,
                    &policy,
                    &loaded,
                    (!args.no_rerun, args.max_time),
                    &mut notes,
                )?;
                let mut judgement = paired.judgement;
                notes.extend(export::stages::moved_stages(&judgement));
                judgement.notes = notes;
                return finish(judgement, &paired.current, &baseline_path, args);
            }
            notes.extend(processes_note);
            p.inject_delay = args.inject_delay.clone();
            let r = measure::measure(sh, store, &p)?;
            let saved = store.save_run(&r)?;
            notes.push(format!("this run: {}", saved.display()));
            this_run = Some(saved);
            plan = Some(p);
            r
        }
    };

    // The fingerprint holds the model name only: two generations of one
    // name (with other instruction sets) are told apart by the signature.
    let foreign = other_machine_reason(&baseline, &current);
    if let (Some(why), false) = (&foreign, args.allow_foreign_baseline) {
        bail!(
            "baseline {} was recorded on another machine than this run ({why}): record this machine's own with `cargo xtask perf baseline --this-machine` ({}, which check then uses), or pass --allow-foreign-baseline",
            baseline_path.display(),
            store.machine_baseline(&current.environment.machine_id()).display()
        );
    }
    if foreign.is_some() {
        notes.push(
            "FOREIGN BASELINE: recorded on a different machine; changes mix code and hardware"
                .into(),
        );
    }

    let history = if args.noise_history {
        earlier_runs(
            store,
            &baseline_path,
            &baseline,
            &current,
            this_run.as_deref(),
        )
        .context("--noise-history reads this machine's earlier runs")?
    } else {
        Vec::new()
    };
    let noise = RunNoise::from_runs(&history.iter().collect::<Vec<_>>());
    let widen = |w: WorkloadName, m: &str, configured: f64| {
        configured.max(noise.threshold_pct(w, m).unwrap_or(0.0))
    };
    let mut widened = Vec::new();
    for (w, result) in &current.workloads {
        for name in result.metrics.keys() {
            let base = baseline.workloads.get(w).and_then(|r| r.metrics.get(name));
            let configured = policy.pct_for(*w, name.as_str(), base);
            if let Some(t) = noise
                .threshold_pct(*w, name.as_str())
                .filter(|t| *t > configured)
            {
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
    let mut policy = policy;
    policy.calibration = calibration_for(calibration, &current, &policy, &mut notes);
    if args.mode != Mode::Instructions {
        // Instruction counts do not move with the machine's state.
        notes.push(sessions_note(
            &baseline,
            &current,
            policy.calibration.as_ref(),
        ));
    }
    let baseline_name = baseline_path.display().to_string();
    let mut judgement = judge(&baseline, &current, &baseline_name, &policy, &widen).map_err(|e| {
        anyhow::anyhow!(
            "this run and baseline {} did not measure the same thing ({}): re-record the baseline or match its settings",
            baseline_path.display(),
            e.0
        )
    })?;
    keep_mode(&mut judgement, args.mode, use_callgrind);
    if args.mode == Mode::Instructions {
        if judgement.comparisons.is_empty() {
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

    let mut current = current;
    if let (Some(plan), false) = (&plan, args.no_rerun) {
        let suspects = judgement.regressed_workloads();
        if !suspects.is_empty() {
            let again = measure::further_processes(plan, &suspects);
            eprintln!(
                "possible regression in {}: measuring {} in {} more process(es) to rule out noise",
                WorkloadName::list(&suspects),
                WorkloadName::list(&again.workloads),
                plan.harness.processes.max(1)
            );
            let before = judgement.clone();
            // Added to the processes already measured, never in their
            // place: the verdict rests on all of them, and a second look
            // can only take a regression back, not make one.
            measure::add_samples(&mut current, measure::measure_more(sh, store, &again)?)?;
            let kept = std::mem::take(&mut judgement.notes);
            judgement = rejudge(&baseline, &current, &baseline_name, &policy, &widen)?;
            keep_mode(&mut judgement, args.mode, use_callgrind);
            judgement.notes = kept;
            for c in before.regressed() {
                let now = judgement
                    .comparisons
                    .iter()
                    .find(|r| r.workload == c.workload && r.metric == c.metric);
                let outcome = if now.is_some_and(is_regressed) {
                    "confirmed"
                } else {
                    "not confirmed"
                };
                notes.push(format!(
                    "measured {} again: {} regression {outcome}",
                    c.workload, c.metric
                ));
            }
        }
    }

    if let Some(plan) = &plan {
        // Stopped when every headline interval is narrow enough, a
        // property of the spread and not of the estimate, so stopping
        // does not bias the verdict; never stopped by a regression
        // showing, which would make false alarms likelier with each look.
        let started = std::time::Instant::now();
        let budget = std::time::Duration::from_secs(args.max_time);
        loop {
            let unsure: std::collections::BTreeSet<WorkloadName> =
                judgement.inconclusive().map(|c| c.workload).collect();
            if unsure.is_empty() || args.max_time == 0 || args.no_rerun {
                break;
            }
            if started.elapsed() >= budget {
                notes.push(format!(
                    "{} workload(s) still inconclusive after --max-time {} s",
                    unsure.len(),
                    args.max_time
                ));
                break;
            }
            if let Some(why) = baseline_bound(&judgement, &baseline) {
                notes.push(why);
                break;
            }
            let unsure: Vec<WorkloadName> = unsure.into_iter().collect();
            let mut again = measure::further_processes(plan, &unsure);
            again.harness.processes = 1;
            eprintln!(
                "inconclusive headline metrics in {}: measuring {} in one more process",
                WorkloadName::list(&unsure),
                WorkloadName::list(&again.workloads)
            );
            let more = measure::measure_more(sh, store, &again)?;
            measure::add_samples(&mut current, more)?;
            let kept = std::mem::take(&mut judgement.notes);
            judgement = rejudge(&baseline, &current, &baseline_name, &policy, &widen)?;
            keep_mode(&mut judgement, args.mode, use_callgrind);
            judgement.notes = kept;
            notes.push(format!(
                "inconclusive: measured {} in one more process",
                WorkloadName::list(&again.workloads)
            ));
        }
    }

    judgement.notes = notes;
    finish(judgement, &current, &baseline_path, args)
}

/// Prints the judgement, updates the baseline when asked and the check
/// passed, and gives the exit code.
fn finish(
    mut judgement: Judgement,
    current: &Baseline,
    baseline_path: &Path,
    args: &CheckArgs,
) -> Result<ExitCode> {
    judgement.settle();
    printer::print(
        &Document::Judgement {
            judgement: &judgement,
            title: "cargo xtask perf check",
            appendix: None,
        },
        args.format,
    )?;
    if judged(&judgement) == 0 {
        // A gate that compared nothing has not passed: say why, exit 2.
        let first = judgement
            .comparisons
            .iter()
            .find_map(|c| match c.change.as_ref().map(|ch| &ch.verdict) {
                Some(Verdict::Incomparable { reason }) => {
                    Some(format!(" (first: {}.{}: {reason})", c.workload, c.metric))
                }
                _ => None,
            })
            .unwrap_or_default();
        bail!(
            "nothing was compared: none of the {} metric(s) of this run and baseline {} could be judged{first}; re-record the baseline or match its settings",
            judgement.comparisons.len(),
            baseline_path.display()
        );
    }
    let passed = judgement.passed;
    if args.update {
        if passed {
            if let Some(moved) = replace_baseline(baseline_path, current)? {
                eprintln!("previous baseline kept as {}", moved.display());
            }
            eprintln!("baseline updated: {}", baseline_path.display());
        } else {
            eprintln!("not updating the baseline: the check failed");
        }
    }
    Ok(if !passed {
        ExitCode::from(1)
    } else if judgement.inconclusive().next().is_some() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// The judgement again once more processes were added to `current`.
fn rejudge(
    baseline: &Baseline,
    current: &Baseline,
    baseline_name: &str,
    policy: &Policy,
    widen: &dyn Fn(WorkloadName, &str, f64) -> f64,
) -> Result<Judgement> {
    judge(baseline, current, baseline_name, policy, widen)
        .map_err(|e| anyhow::anyhow!("the added samples changed what was measured ({})", e.0))
}

/// Why more processes of this run cannot make it conclusive, if so: an
/// interval across processes is no narrower than the baseline's own
/// processes and the shift between sessions allow (`floor_pct`, its
/// half-width as this run's processes grow), and for an inconclusive
/// headline metric that floor already exceeds the threshold.
fn baseline_bound(judgement: &Judgement, baseline: &Baseline) -> Option<String> {
    let bound: Vec<String> = judgement
        .inconclusive()
        .filter_map(|c| {
            let m = c.change.as_ref()?;
            let (rb, _) = m.processes?;
            let floor = m.floor_pct?;
            (floor > m.threshold_pct).then(|| {
                format!(
                    "{}.{} (±{floor:.1}% at best beside the baseline's {rb} processes, threshold ±{:.1}%)",
                    c.workload, c.metric, m.threshold_pct
                )
            })
        })
        .collect();
    // The baseline's commit, when it was recorded from a clean tree, is
    // a revision `perf compare` can build and measure beside this one.
    let env = &baseline.environment;
    let compare = match (&env.git_commit, env.git_dirty) {
        (Some(c), Some(false)) => format!("`cargo xtask perf compare {c}`"),
        _ => "`perf compare`".to_string(),
    };
    (!bound.is_empty()).then(|| {
        format!(
            "more processes of this run cannot make it conclusive: {}; a baseline in more processes (`perf baseline --processes N --update`) narrows what its processes leave, not a shift between sessions; {compare} measures both builds in every round, which cancels it (`perf check --paired` does so against this baseline's commit)",
            bound.join(", ")
        )
    })
}

/// In deterministic mode only instruction counts are judged, and only
/// those of one source: callgrind's and the hardware counter's differ
/// (callgrind runs its own CPU model).
fn keep_mode(judgement: &mut Judgement, mode: Mode, use_callgrind: bool) {
    if mode == Mode::Instructions {
        judgement.comparisons.retain(|c| match c.metric.kind() {
            MetricKind::CallgrindInstructions(_) => use_callgrind,
            MetricKind::Instructions => !use_callgrind,
            _ => false,
        });
    }
}

/// How many of the most recent comparable runs estimate between-run noise.
const RECENT_RUNS: usize = 10;

/// Earlier runs measured like `current` on the same machine, without an
/// injected delay: the saved runs and the baseline history, each once, the
/// most recent `RECENT_RUNS` of them.
fn earlier_runs(
    store: &Store,
    baseline_path: &Path,
    baseline: &Baseline,
    current: &Baseline,
    this_run: Option<&Path>,
) -> Result<Vec<Baseline>> {
    let mut paths = store.earlier_run_files(baseline_path);
    paths.retain(|p| Some(p.as_path()) != this_run);
    // A file that does not load is named, as `report` names it: skipping
    // it would change the noise estimate without a word.
    let mut loaded = Vec::new();
    for p in &paths {
        loaded.push(Baseline::load_as(p, FileRole::Run)?);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut runs: Vec<Baseline> = std::iter::once(baseline.clone())
        .chain(loaded)
        .filter(|r| r.created_at != current.created_at && seen.insert(r.created_at))
        .filter(|r| other_machine_reason(r, current).is_none())
        .filter(|r| r.plan.inject_delay.is_none() && incomparable_reason(current, r).is_none())
        .collect();
    // The machine's recent mood, not its whole past: runs made while it
    // was compiling or shared would otherwise widen thresholds for good.
    runs.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    runs.truncate(RECENT_RUNS);
    Ok(runs)
}

/// Metrics whose change was judged against a threshold (informational
/// and incomparable ones were not).
fn judged(judgement: &Judgement) -> usize {
    judgement
        .comparisons
        .iter()
        .filter(|c| {
            c.change.as_ref().is_some_and(|ch| {
                matches!(
                    ch.verdict,
                    Verdict::Regressed
                        | Verdict::Improved
                        | Verdict::NotSignificant
                        | Verdict::WithinNoise
                )
            })
        })
        .count()
}

fn describe_counting(run: &Baseline) -> &str {
    match run.context.counting.as_str() {
        "" => "not recorded",
        s => s,
    }
}
