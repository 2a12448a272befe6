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
    explain, git_history, history_record, machine,
    paired_rounds::{self, Budget, Deadline, Sides},
    printer, revision,
    settings::{self, names, plan_for},
    store::Store,
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
        return rejudge(store, &cwd, files, &policy, args);
    }
    let mut run_args = args.run.clone();
    // The retrieval side (`WorkloadName::traits`); the LLM workloads are
    // named explicitly.
    run_args
        .settings
        .or_set("workload", names(&WorkloadName::compared_by_default()));
    let plan = plan_for(sh, root, &cwd, &run_args, &loaded)?.without_ingest_at_scale();
    let watch = match &args.watch {
        Some(name) => {
            let (workload, metric) = paired_rounds::metric_name("--watch", name)?;
            if !plan.workloads.contains(&workload) {
                anyhow::bail!("--watch {name}: the compare does not run {workload} (add --workload {workload})");
            }
            Some((workload, metric, "--watch"))
        }
        None => None,
    };
    let mut candidate_plan = plan.clone();
    candidate_plan.inject_delay = args.inject_delay.clone();
    let base_tree = revision::resolve(sh, store, Some(&args.base))?;
    let candidate_tree = revision::resolve(sh, store, args.candidate.as_deref())?;

    if args.record && candidate_tree.dirty {
        anyhow::bail!(
            "--record: the candidate is the working tree with uncommitted changes: a step of the history is between two commits; commit first, or drop --record"
        );
    }
    let (base, candidate, build_notes) =
        revision::build_sides(sh, store, &base_tree, &candidate_tree)?;
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
    let different = base_tree.tree != candidate_tree.tree;
    let (spread, note) =
        paired_rounds::between_builds(store, &environment, plan.profile, different)?;
    policy.between_builds = spread;
    notes.extend(note);
    let sides = Sides {
        base: (&base, &base_tree, &plan),
        candidate: (&candidate, &candidate_tree, &candidate_plan),
    };
    let budget = Budget {
        rounds: args.rounds,
        until_conclusive: args.until_conclusive,
        deadline: Deadline::At(started + Duration::from_secs(args.max_time)),
        max_time: args.max_time,
        watch,
    };
    let paired = paired_rounds::run(
        store,
        &sides,
        &environment,
        &mut policy,
        &loaded,
        &budget,
        &mut notes,
    )?;
    let (judgement, steps, rounds) = (paired.judgement, paired.steps, paired.rounds);
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

    if args.record {
        let step = perf_report::history::record::StepRecord::of(
            &judgement.comparisons,
            &environment,
            plan.profile,
            git_history::commit(sh, root, &base_tree.commit)?,
            git_history::commit(sh, root, &candidate_tree.commit)?,
            environment.timestamp,
        );
        let file = history_record::record_step(store, step)?;
        notes.push(format!("recorded in the history: {}", file.display()));
    }
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
    store: &Store,
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
    // Runs of two commits are two builds: the spread between builds this
    // machine measured is theirs too.
    let mut policy = policy.clone();
    let different = b.environment.git_commit != c.environment.git_commit;
    let (spread, note) =
        paired_rounds::between_builds(store, &c.environment, c.plan.profile, different)?;
    policy.between_builds = spread;
    let mut j = judge_paired(&b, &c, &base.display().to_string(), &policy).map_err(|e| {
        anyhow::anyhow!(
            "{} and {} did not measure the same thing ({})",
            base.display(),
            candidate.display(),
            e.0
        )
    })?;
    j.notes.extend(note);
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
