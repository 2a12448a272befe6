//! `cargo xtask perf compare [BASE] [CANDIDATE]`: builds both revisions'
//! workloads (`revision`), runs them in lockstep on one plan (`lockstep`),
//! judges the pairs through `perf_report::judgement::judge_paired`, prints
//! the judgement through the same exporters as `check`, and with
//! `--explain` profiles both builds and diffs them function by function
//! (`explain`). Exit 0 / 1 (regression) / 2 (error) / 3 (inconclusive).

use std::{
    path::Path,
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use perf_contract::{plan::WorkloadName, schema::Baseline};
use perf_report::{
    export::{self, Appendix, Document},
    guards::other_machine_reason,
    judgement::{judge_paired, Judgement},
};
use xshell::Shell;

use crate::{
    cli::{CompareArgs, Format},
    explain,
    lockstep::run_lockstep,
    machine, measure, printer,
    progress::Progress,
    revision::{self, Built, Source},
    settings::{self, names, plan_for},
    store::{stamp, write_new, Store},
    thresholds,
};

pub fn run(sh: &Shell, store: &Store, args: &CompareArgs) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let root = store.root();
    let started = Instant::now();
    store.clear_stale();

    // Everything that can be wrong with the input fails before any build.
    let loaded = settings::load(args.run.config.as_deref(), &root.join("perf.toml"))?;
    thresholds::validate(&loaded.check, &loaded.name(), args.threshold)?;
    thresholds::check_key_workloads(&loaded.check, &loaded.name())?;
    let mut policy = thresholds::policy(&loaded.check, args.threshold);
    if let Some(files) = &args.runs {
        return rejudge(&cwd, files, &policy, args);
    }
    let mut run_args = args.run.clone();
    // The retrieval side (`WorkloadName::traits`); the LLM workloads are
    // named explicitly.
    run_args
        .settings
        .or_set("workload", names(&WorkloadName::compared_by_default()));
    let plan = plan_for(sh, root, &cwd, &run_args, &loaded)?;
    let mut candidate_plan = plan.clone();
    candidate_plan.inject_delay = args.inject_delay.clone();
    let base_tree = revision::resolve(sh, store, Some(&args.base))?;
    let candidate_tree = revision::resolve(sh, store, args.candidate.as_deref())?;

    let (base, candidate, build_notes) = build_sides(sh, store, &base_tree, &candidate_tree)?;
    let mut notes = build_notes;
    notes.push(format!(
        "base: {}; candidate: {}",
        base_tree.label, candidate_tree.label
    ));
    if let Some(inject) = &args.inject_delay {
        notes.push(format!(
            "TEST RUN: candidate delayed by {} µs in stage {} (--inject-delay)",
            inject.micros, inject.stage
        ));
    }

    let environment = machine::probe(sh, root);
    let deadline = started + Duration::from_secs(args.max_time);
    let mut rounds = 0;
    let mut steps = 0;
    // Both sides' records so far: each round's samples are added to them.
    let mut runs: Option<(Baseline, Baseline)> = None;
    let judgement = loop {
        let round_start = Instant::now();
        let r = run_lockstep(
            &base.binary,
            &candidate.binary,
            &plan,
            &candidate_plan,
            &store.plan_file(),
            rounds % 2 == 1,
            &mut Progress::auto(),
        )?;
        steps += r.steps;
        rounds += 1;
        // Each record names the code it measured, not the tree xtask ran in.
        let b = measure::record(side_environment(&environment, &base_tree), &plan, r.base)?;
        let c = measure::record(
            side_environment(&environment, &candidate_tree),
            &candidate_plan,
            r.candidate,
        )?;
        let (base_run, candidate_run) = match runs.take() {
            None => (b, c),
            Some((mut ab, mut ac)) => {
                measure::add_samples(&mut ab, b)?;
                measure::add_samples(&mut ac, c)?;
                (ab, ac)
            }
        };
        if rounds == 1 {
            // The metrics are known once measured: a key naming none of
            // them would leave its metric at the default threshold.
            thresholds::check_keys(
                &loaded.check,
                &loaded.name(),
                &base_run,
                Path::new("(this compare's base run)"),
            )?;
            // The rounds give the intervals; a calibration of this machine
            // only lifts the absolute floors of the metrics it covers.
            if let Some((file, c)) = store.calibration(base_run.plan.profile)? {
                if c.unlike(&candidate_run).is_none() {
                    notes.push(format!(
                        "calibration {}: no absolute floor for its {} metrics",
                        file.display(),
                        c.metrics.len()
                    ));
                    policy.calibration = Some(c);
                }
            }
        }
        let judgement = judge_paired(&base_run, &candidate_run, &base_tree.label, &policy)
            .map_err(|e| {
                anyhow::anyhow!(
                    "the two builds did not measure the same thing ({}); their preparation differs",
                    e.0
                )
            })?;
        let unsure = judgement.inconclusive().count();
        let another_fits = Instant::now() + round_start.elapsed() <= deadline;
        // The planned rounds always run: stopping on what the data show
        // before them would bias the interval.
        let planned_done = rounds >= args.rounds;
        if planned_done
            && (!args.until_conclusive || unsure == 0 || !judgement.passed || !another_fits)
        {
            if args.until_conclusive && unsure > 0 && !another_fits {
                notes.push(format!(
                    "--until-conclusive: {unsure} headline metric(s) still inconclusive when another round would pass --max-time {} s",
                    args.max_time
                ));
            }
            save_runs(store, &base_run, &candidate_run, &mut notes)?;
            break judgement;
        }
        if planned_done {
            eprintln!(
                "round {rounds}: {unsure} headline metric(s) inconclusive; running another round (a fresh process pair)"
            );
        }
        runs = Some((base_run, candidate_run));
    };
    let mut judgement = judgement;
    notes.push(format!(
        "{steps} steps in lockstep over {rounds} round(s), each a fresh process pair, ABBA order; compare took {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    notes.extend(export::stages::moved_stages(&judgement));

    let ci = std::env::var_os("CI").is_some();
    let regressed = !judgement.passed;
    let explained = if args.explain || (ci && regressed) {
        let workloads: Vec<WorkloadName> = match judgement.regressed_workloads() {
            w if w.is_empty() => plan.workloads.clone(),
            w => w,
        };
        let dir = store.compare_explain_dir(environment.timestamp);
        Some(explain::explain(
            &dir,
            (&base.binary, &candidate.binary),
            (&plan, &candidate_plan),
            &workloads,
        )?)
    } else {
        None
    };

    judgement.notes = notes;
    let title = format!(
        "cargo xtask perf compare {} → {}",
        base_tree.label, candidate_tree.label
    );
    print_judgement(&judgement, &title, explained.as_ref(), args.format)?;
    Ok(exit_code(&judgement))
}

/// `--runs BASE CANDIDATE`: the saved runs of an earlier compare, judged
/// again under this policy; two runs of different machines are refused,
/// as `check` refuses a baseline of another machine.
fn rejudge(
    cwd: &Path,
    files: &[std::path::PathBuf],
    policy: &perf_report::policy::Policy,
    args: &CompareArgs,
) -> Result<ExitCode> {
    let [base, candidate] = files else {
        anyhow::bail!("--runs takes two files: the base run and the candidate run");
    };
    let (base, candidate) = (cwd.join(base), cwd.join(candidate));
    let (b, c) = (Baseline::load(&base)?, Baseline::load(&candidate)?);
    // Pairs are judged as one machine's: two machines' timings differ by
    // the hardware as well as the code.
    if let Some(reason) = other_machine_reason(&b, &c) {
        anyhow::bail!(
            "{} and {} were recorded on different machines ({reason}): judge the base and candidate runs of one compare, or compare again on one machine",
            base.display(),
            candidate.display()
        );
    }
    let mut j = judge_paired(&b, &c, &base.display().to_string(), policy).map_err(|e| {
        anyhow::anyhow!(
            "{} and {} did not measure the same thing ({})",
            base.display(),
            candidate.display(),
            e.0
        )
    })?;
    j.notes.push(format!(
        "judged again from saved runs {} and {}",
        base.display(),
        candidate.display()
    ));
    print_judgement(&j, "cargo xtask perf compare --runs", None, args.format)?;
    Ok(exit_code(&j))
}

fn print_judgement(
    judgement: &Judgement,
    title: &str,
    explained: Option<&explain::Explained>,
    format: Format,
) -> Result<()> {
    printer::print(
        &Document::Judgement {
            judgement,
            title,
            appendix: explained.map(|e| Appendix {
                terminal: &e.terminal,
                markdown: &e.markdown,
            }),
        },
        format,
    )
}

/// The machine record with the side's commit: a working tree's snapshot
/// commit sits on HEAD, so the record says dirty.
fn side_environment(
    environment: &perf_contract::environment::Environment,
    side: &Source,
) -> perf_contract::environment::Environment {
    let mut e = environment.clone();
    e.git_dirty = Some(side.dirty);
    e.git_commit = Some(side.commit.clone());
    e
}

/// 1 for a regression or a failed guard, 3 when no regression was seen
/// but a headline metric could not have shown one, else 0.
fn exit_code(j: &Judgement) -> ExitCode {
    if !j.passed {
        ExitCode::from(1)
    } else if j.inconclusive().next().is_some() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

/// Builds the two sides (`revision::build`: one checkout path, binaries
/// kept by source tree). The same source on both sides (a clean tree
/// against its HEAD) is built once and run as both.
fn build_sides(
    sh: &Shell,
    store: &Store,
    base: &Source,
    candidate: &Source,
) -> Result<(Built, Built, Vec<String>)> {
    let mut notes = Vec::new();
    let say = |side: &str, tree: &Source, b: &Built| match b.build_time {
        Some(t) => format!("{side} {} built in {:.0} s", tree.label, t.as_secs_f64()),
        None => format!(
            "{side} {}: kept build reused ({})",
            tree.label,
            b.binary.display()
        ),
    };
    if base.tree == candidate.tree {
        eprintln!("building {} (same code on both sides)", candidate.label);
        let built = revision::build(sh, store, candidate)?;
        notes.extend(built.note.clone());
        notes.push(format!(
            "{}; base and candidate are the same code, so one build runs as both",
            say("candidate", candidate, &built)
        ));
        return Ok((built.clone(), built, notes));
    }
    eprintln!("building base {}", base.label);
    let b = revision::build(sh, store, base)?;
    eprintln!("building candidate {}", candidate.label);
    let c = revision::build(sh, store, candidate)?;
    notes.push(say("base", base, &b));
    notes.push(say("candidate", candidate, &c));
    for line in &notes {
        eprintln!("{line}");
    }
    // Already said on stderr when the build began.
    notes.extend(b.note.clone());
    notes.extend(c.note.clone());
    Ok((b, c, notes))
}

/// Both sides' run records, kept under `target/perf-runs/compare/`.
fn save_runs(
    store: &Store,
    base: &Baseline,
    candidate: &Baseline,
    notes: &mut Vec<String>,
) -> Result<()> {
    let dir = store.compare_runs_dir();
    let stem = stamp(base.created_at);
    let b = write_new(&dir, &format!("{stem}-base"), base.to_json().as_bytes())
        .with_context(|| format!("cannot write the base run into {}", dir.display()))?;
    let c = write_new(
        &dir,
        &format!("{stem}-candidate"),
        candidate.to_json().as_bytes(),
    )
    .with_context(|| format!("cannot write the candidate run into {}", dir.display()))?;
    notes.push(format!("runs: {} and {}", b.display(), c.display()));
    Ok(())
}
