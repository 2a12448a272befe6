//! `cargo xtask perf bisect GOOD BAD --metric M`: binary search over the
//! first-parent commits from GOOD to BAD, each step a paired compare
//! (`paired_rounds`, the builds kept by source tree as `perf compare`
//! keeps them). Exit 0 when a commit is named, 3 when GOOD against BAD
//! shows no change to search for, 2 on an error.

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use perf_contract::plan::WorkloadName;
use perf_report::{
    compare::{Comparison, Verdict},
    export::Document,
    judgement::Judgement,
};
use xshell::Shell;

use crate::{
    cli::{BisectArgs, Format},
    git_history, machine,
    paired_rounds::{self, Budget, Deadline, Sides},
    printer,
    revision::{self, Source},
    settings::{self, names, plan_for},
    store::Store,
    thresholds,
};

pub fn run(sh: &Shell, store: &Store, args: &BisectArgs) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let root = store.root();
    let started = Instant::now();
    store.clear_stale();
    let (workload, metric) = paired_rounds::metric_name("--metric", &args.metric)?;
    let metric = metric.as_str();
    if !(args.threshold > 0.0 && args.threshold.is_finite()) {
        bail!("--threshold {}: give a percentage above 0", args.threshold);
    }
    let loaded = settings::load(args.run.config.as_deref(), &root.join("perf.toml"))?;
    let mut run_args = args.run.clone();
    run_args.settings.or_set("workload", names(&[workload]));
    let plan = plan_for(sh, root, &cwd, &run_args, &loaded)?.without_ingest_at_scale();
    let good = revision::resolve(sh, store, Some(&args.good))?;
    let bad = revision::resolve(sh, store, Some(&args.bad))?;
    let mut line = vec![good.commit.clone()];
    line.extend(git_history::first_parent_range(
        sh,
        root,
        &good.commit,
        &bad.commit,
    )?);
    if line.len() < 2 {
        bail!(
            "{} and {} are the same commit, or {} comes after {}: nothing to search between them",
            args.good,
            args.bad,
            args.good,
            args.bad
        );
    }
    if line.last() != Some(&bad.commit) {
        bail!(
            "{} is not on the first-parent line after {}: bisect follows one line of history",
            args.bad,
            args.good
        );
    }
    let environment = machine::probe(sh, root);
    let mut skipped: Vec<String> = Vec::new();
    let mut compares = 0;

    // The change to search for: GOOD against BAD.
    eprintln!(
        "bisect: {} commits from {} to {}; comparing the two ends first",
        line.len() - 1,
        good.label,
        bad.label
    );
    // The threshold is the bisect's own: a per-metric one in perf.toml is
    // the gate's, not what this search looks for.
    let mut policy = thresholds::policy(&loaded.check, Some(args.threshold));
    policy.per_key.clear();
    // Every step compares two builds.
    let (spread, note) = paired_rounds::between_builds(store, &environment, plan.profile, true)?;
    policy.between_builds = spread;
    eprintln!("{}", note.expect("two builds always have a note"));
    let search = Search {
        sh,
        store,
        plan: &plan,
        environment: &environment,
        loaded: &loaded,
        args,
        workload,
        metric,
    };
    let (whole, j) = match search.step(&line[0], line.last().unwrap(), policy.clone())? {
        Step::Judged(b) => *b,
        Step::Skip(why) => bail!("the two ends cannot be compared: {why}"),
    };
    compares += 1;
    let change = whole.change.as_ref().and_then(|c| c.change_pct);
    eprintln!(
        "bisect: the ends, {} → {}: {} {}",
        good.label,
        bad.label,
        args.metric,
        whole.change.as_ref().map_or("not measured".into(), |c| {
            match (c.change_pct, c.ratio_ci) {
                (Some(p), Some(i)) => format!(
                    "{p:+.1}% [{:+.1}, {:+.1}]",
                    (i.low - 1.0) * 100.0,
                    (i.high - 1.0) * 100.0
                ),
                (Some(p), None) => format!("{p:+.1}%"),
                _ => "not measured".into(),
            }
        })
    );
    let verdict = whole.change.as_ref().map(|c| &c.verdict);
    if !matches!(verdict, Some(Verdict::Regressed | Verdict::Improved)) {
        print(&j, "cargo xtask perf bisect: the two ends")?;
        let seen = change.map_or("not measured".into(), |c| format!("{c:+.1}%"));
        match (verdict, whole.change.as_ref().and_then(|c| c.mde_pct)) {
            (Some(Verdict::Inconclusive), Some(mde)) => println!(
                "{} from {} to {}: {seen}, but this machine resolved only ±{mde:.1}% in {} compare(s) of the ends (threshold ±{}%): nothing to search for yet; more --rounds or a longer --max-time, or a quieter machine",
                args.metric, good.label, bad.label, compares, args.threshold
            ),
            _ => println!(
                "no change of {} beyond ±{}% from {} to {} ({seen}): nothing to search for",
                args.metric, args.threshold, good.label, bad.label
            ),
        }
        return Ok(ExitCode::from(3));
    }
    let whole_pct = change.expect("a verdict has a change");
    // A step counts when it shows at least half of the whole change, in its
    // direction: the rest of the range may hold smaller steps of its own.
    let half = whole_pct.abs() / 2.0;
    policy.default_pct = half;

    let (mut lo, mut hi) = (0usize, line.len() - 1);
    let mut deciding = j;
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        let left = (hi - lo) as f64;
        eprintln!(
            "bisect: {} commit(s) left between {} and {} (about {:.0} more compares); testing {}",
            hi - lo - 1,
            short(&line[lo]),
            short(&line[hi]),
            left.log2().ceil(),
            short(&line[mid])
        );
        match search.step(&line[lo], &line[mid], policy.clone())? {
            Step::Skip(why) => {
                eprintln!("bisect: skipping {}: {why}", short(&line[mid]));
                skipped.push(format!("{} ({why})", short(&line[mid])));
                line.remove(mid);
                hi -= 1;
            }
            Step::Judged(b) => {
                let (c, j) = *b;
                compares += 1;
                let moved = c.change.as_ref().is_some_and(|ch| {
                    matches!(ch.verdict, Verdict::Regressed | Verdict::Improved)
                        && ch
                            .change_pct
                            .is_some_and(|p| p.signum() == whole_pct.signum())
                });
                eprintln!(
                    "bisect: {} → {}: {} {}",
                    short(&line[lo]),
                    short(&line[mid]),
                    args.metric,
                    c.change
                        .as_ref()
                        .and_then(|ch| ch.change_pct)
                        .map_or("not measured".into(), |p| format!("{p:+.1}%"))
                );
                if moved {
                    hi = mid;
                    deciding = j;
                } else {
                    lo = mid;
                }
            }
        }
    }
    let found = git_history::commit(sh, root, &line[hi])?;
    print(
        &deciding,
        "cargo xtask perf bisect: the compare that named the commit",
    )?;
    println!(
        "first commit that changed {} ({:+.1}% from {} to {}): {} \"{}\"",
        args.metric, whole_pct, good.label, bad.label, found.id, found.subject
    );
    println!(
        "{compares} compares in {:.0} s{}",
        started.elapsed().as_secs_f64(),
        if skipped.is_empty() {
            String::new()
        } else {
            format!("; skipped: {}", skipped.join(", "))
        }
    );
    Ok(ExitCode::SUCCESS)
}

enum Step {
    /// The metric's row and the whole judgement.
    Judged(Box<(Comparison, Judgement)>),
    /// A side that did not build or could not be driven.
    Skip(String),
}

/// What every compare of one bisect shares.
struct Search<'a> {
    sh: &'a Shell,
    store: &'a Store,
    plan: &'a perf_contract::plan::Plan,
    environment: &'a perf_contract::environment::Environment,
    loaded: &'a settings::LoadedConfig,
    args: &'a BisectArgs,
    workload: WorkloadName,
    metric: &'a str,
}

impl Search<'_> {
    /// `base` against `candidate`, paired, judged under `policy`.
    fn step(
        &self,
        base: &str,
        candidate: &str,
        mut policy: perf_report::policy::Policy,
    ) -> Result<Step> {
        let Search {
            sh,
            store,
            plan,
            environment,
            loaded,
            args,
            workload,
            metric,
        } = *self;
        let sources: Vec<Source> = [base, candidate]
            .iter()
            .map(|c| revision::resolve(sh, store, Some(c)))
            .collect::<Result<_>>()?;
        let mut built = Vec::new();
        for s in &sources {
            match revision::build(sh, store, s) {
                Ok(b) => built.push(b),
                Err(e) => return Ok(Step::Skip(format!("{} does not build: {e:#}", s.label))),
            }
        }
        let sides = Sides {
            base: (&built[0], &sources[0], plan),
            candidate: (&built[1], &sources[1], plan),
        };
        // More rounds while the metric's interval is too wide to tell, within
        // the budget: an undecided step sent the wrong way loses the commit.
        let budget = Budget {
            rounds: args.rounds,
            until_conclusive: true,
            deadline: Deadline::At(Instant::now() + Duration::from_secs(args.max_time)),
            max_time: args.max_time,
            watch: Some((workload, metric.to_string(), "--metric")),
        };
        let mut notes = Vec::new();
        let paired = match paired_rounds::run(
            store,
            &sides,
            environment,
            &mut policy,
            loaded,
            &budget,
            &mut notes,
        ) {
            Ok(p) => p,
            Err(e) => return Ok(Step::Skip(format!("cannot be driven in lockstep: {e:#}"))),
        };
        let mut j = paired.judgement;
        j.notes = notes;
        let row = j
            .comparisons
            .iter()
            .find(|c| c.workload == workload && c.metric.as_str() == metric)
            .cloned();
        match row {
            Some(c) => Ok(Step::Judged(Box::new((c, j)))),
            None => bail!(
                "--metric {}.{metric}: the {workload} workload reports no such metric",
                workload
            ),
        }
    }
}

fn print(j: &Judgement, title: &str) -> Result<()> {
    printer::print(
        &Document::Judgement {
            judgement: j,
            title,
            appendix: None,
        },
        Format::Table,
    )
}

fn short(id: &str) -> &str {
    &id[..id.len().min(10)]
}
