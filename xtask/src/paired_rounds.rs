//! The rounds of a paired compare, shared by `perf compare`, `perf
//! bisect`, a paired `perf check` and `perf calibrate --builds`: each
//! round a fresh process pair of the two builds run in lockstep
//! (`lockstep`), which side starts alternating, both binaries first
//! dropped from the page cache (`page_cache`); the samples of every round
//! joined into one record per side and judged after each round
//! (`perf_report::judgement::judge_paired`), until the planned rounds are
//! done (and, when asked, until every headline metric is conclusive or the
//! time budget ends: [`Deadline`]; those further rounds run only the
//! workloads still inconclusive). Both sides' records are saved under
//! `target/perf-runs/compare/`. Two sides that are different builds get
//! this machine's spread between builds in their intervals
//! ([`between_builds`]).

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use perf_contract::{
    environment::Environment,
    plan::{Plan, ProfileName, WorkloadName},
    schema::Baseline,
};
use perf_report::{
    build_spread::BuildSpread,
    judgement::{judge_paired, Judgement},
    policy::Policy,
};

use crate::{
    lockstep::run_lockstep,
    measure,
    progress::Progress,
    revision::{Built, Source},
    settings::LoadedConfig,
    store::{stamp, write_new, Store},
    thresholds,
};

/// The two sides: build, source and plan of each.
pub struct Sides<'a> {
    pub base: (&'a Built, &'a Source, &'a Plan),
    pub candidate: (&'a Built, &'a Source, &'a Plan),
}

/// How many rounds to run.
pub struct Budget {
    /// Always run, whatever the data show: stopping on them earlier would
    /// bias the interval.
    pub rounds: u32,
    /// More rounds while a headline metric is inconclusive...
    pub until_conclusive: bool,
    /// ...if another round would end before this.
    pub deadline: Deadline,
    /// The budget in seconds, as messages name it.
    pub max_time: u64,
    /// The one metric whose conclusiveness decides (`bisect`'s, `compare
    /// --watch`'s), and the flag that named it; `None`: every headline
    /// metric.
    pub watch: Option<(perf_contract::plan::WorkloadName, String, &'static str)>,
}

/// When the last round must end.
#[derive(Debug, Clone, Copy)]
pub enum Deadline {
    /// A compare's whole budget (`compare --max-time`).
    At(Instant),
    /// This long once the planned rounds are done (`check --max-time`:
    /// what it may measure beyond them, as an unpaired check's further
    /// processes).
    AfterPlanned(Duration),
}

/// `workload.metric` as `flag` names it (`--metric`, `--watch`): the
/// workload checked by name, the metric left to the run to find.
pub fn metric_name(flag: &str, name: &str) -> Result<(perf_contract::plan::WorkloadName, String)> {
    let Some((workload, metric)) = name.split_once('.') else {
        anyhow::bail!("{flag} {name}: name it as `workload.metric`, e.g. rag_query.latency");
    };
    let workload = workload
        .parse()
        .map_err(|e| anyhow::anyhow!("{flag} {name}: {e}"))?;
    Ok((workload, metric.to_string()))
}

/// The judgement after the last round.
pub struct Paired {
    pub judgement: Judgement,
    /// Lockstep steps over all rounds.
    pub steps: usize,
    pub rounds: u32,
    /// Each side's record over every round (also saved).
    pub base_run: Baseline,
    pub candidate_run: Baseline,
}

pub fn run(
    store: &Store,
    sides: &Sides,
    environment: &Environment,
    policy: &mut Policy,
    loaded: &LoadedConfig,
    budget: &Budget,
    notes: &mut Vec<String>,
) -> Result<Paired> {
    let (base, base_tree, base_plan) = sides.base;
    let (candidate, candidate_tree, candidate_plan) = sides.candidate;
    let mut rounds = 0;
    // Which side opens round 0, and so takes the odd round out of an odd
    // number of rounds: chosen from the pair of builds, not always the
    // base. Starting first moved a side by about 1.2% (30 compares with
    // the base first in every round, 2-core Xeon, family 6 model 167), so
    // a 5-round compare that always opened with the base leaned a fifth
    // of that to one side, and compares chained along a branch summed the
    // lean in one direction; from the pair, it falls either way. Fixed
    // per pair, so a compare repeated is the same compare.
    let opener = perf_contract::stable_hash::short_hash(
        format!("{}\n{}", base.binary.display(), candidate.binary.display()).into_bytes(),
    )
    .bytes()
    .last()
    .is_some_and(|b| b % 2 == 1);
    let mut steps = 0;
    // Both files cached alike, so neither side's resident set carries how
    // its binary came to be cached (`page_cache`).
    notes.extend(crate::page_cache::refresh(&[
        &base.binary,
        &candidate.binary,
    ]));
    // Both sides' records so far: each round's samples are added to them.
    let mut runs: Option<(Baseline, Baseline)> = None;
    let mut deadline = match budget.deadline {
        Deadline::At(at) => Some(at),
        Deadline::AfterPlanned(_) => None,
    };
    // Beyond the planned rounds, a round measures only the workloads whose
    // awaited metrics are still inconclusive (both sides alike, so each
    // round's pairs stay pairs): a quick `embedding` round is a minute of
    // two engines, a `vector_query` one seconds.
    let mut narrowed: Option<(Plan, Plan)> = None;
    let mut narrowed_to: Vec<WorkloadName> = Vec::new();
    let (judgement, base_run, candidate_run) = loop {
        let round_start = Instant::now();
        let (base_plan, candidate_plan) = match &narrowed {
            Some((b, c)) => (b, c),
            None => (base_plan, candidate_plan),
        };
        let r = run_lockstep(
            &base.binary,
            &candidate.binary,
            base_plan,
            candidate_plan,
            &store.plan_file(),
            (rounds % 2 == 1) != opener,
            &mut Progress::auto(),
        )?;
        steps += r.steps;
        rounds += 1;
        // Each record names the code it measured, not the tree xtask ran in.
        let b = measure::record(side_environment(environment, base_tree), base_plan, r.base)?;
        let c = measure::record(
            side_environment(environment, candidate_tree),
            candidate_plan,
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
            if let Some((w, m, flag)) = &budget.watch {
                let known = base_run.workloads.get(w).map(|r| &r.metrics);
                if !known.is_some_and(|k| k.keys().any(|key| key.as_str() == m)) {
                    let names = known.into_iter().flat_map(|k| k.keys().map(|k| k.as_str()));
                    let near = crate::spelling::closest(m, names, 3);
                    anyhow::bail!(
                        "{flag} {w}.{m}: the {w} workload reports no such metric{}",
                        match near.first() {
                            Some(n) => format!("; closest: {w}.{n}"),
                            None => String::new(),
                        }
                    );
                }
            }
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
        let judgement =
            judge_paired(&base_run, &candidate_run, &base_tree.label, policy).map_err(|e| {
                anyhow::anyhow!(
                    "the two builds did not measure the same thing ({}); their preparation differs",
                    e.0
                )
            })?;
        let unsure: Vec<_> = judgement
            .inconclusive()
            .filter(|c| {
                budget
                    .watch
                    .as_ref()
                    .is_none_or(|(w, m, _)| c.workload == *w && c.metric.as_str() == m)
            })
            .collect();
        // What the spread between two builds alone leaves, which no
        // number of rounds narrows: beyond the threshold, more rounds
        // only spend the budget.
        let bound: Vec<String> = unsure
            .iter()
            .filter_map(|c| {
                let m = c.change.as_ref()?;
                let floor = m.floor_pct.filter(|f| *f > m.threshold_pct)?;
                Some(format!(
                    "{}.{} (±{floor:.1}% at best, threshold ±{:.1}%)",
                    c.workload, c.metric, m.threshold_pct
                ))
            })
            .collect();
        let stuck = !unsure.is_empty() && bound.len() == unsure.len();
        let mut awaited: Vec<WorkloadName> = unsure.iter().map(|c| c.workload).collect();
        awaited.dedup();
        let unsure = unsure.len();
        // A regression ends a compare (its verdict cannot improve); a
        // watched metric decides alone (a bisect's other metrics may fail).
        let stop_on_failure = !judgement.passed && budget.watch.is_none();
        // The planned rounds always run: stopping on what the data show
        // before them would bias the interval.
        let planned_done = rounds >= budget.rounds;
        if let (Deadline::AfterPlanned(extra), true) = (budget.deadline, rounds == budget.rounds) {
            deadline = Some(Instant::now() + extra);
        }
        let another_fits = deadline.is_none_or(|d| Instant::now() + round_start.elapsed() <= d);
        if planned_done
            && (!budget.until_conclusive
                || unsure == 0
                || stop_on_failure
                || !another_fits
                || stuck)
        {
            if budget.until_conclusive && stuck {
                notes.push(format!(
                    "more rounds cannot make {} conclusive: two builds of one source differ that much on this machine (`perf calibrate --builds`), whatever the rounds",
                    bound.join(", ")
                ));
            } else if budget.until_conclusive && unsure > 0 && !another_fits {
                notes.push(format!(
                    "--until-conclusive: {unsure} headline metric(s) still inconclusive when another round would pass --max-time {} s",
                    budget.max_time
                ));
            }
            if !narrowed_to.is_empty() {
                notes.push(format!(
                    "rounds {}–{rounds} measured only {} (the workloads whose headline metrics were still inconclusive), both sides alike",
                    budget.rounds + 1,
                    WorkloadName::list(&narrowed_to)
                ));
            }
            save_runs(store, &base_run, &candidate_run, notes)?;
            break (judgement, base_run, candidate_run);
        }
        if planned_done {
            let only = |plan: &Plan| {
                let mut plan = plan.clone();
                plan.workloads.retain(|w| awaited.contains(w));
                plan
            };
            narrowed = Some((only(sides.base.2), only(sides.candidate.2)));
            for w in &awaited {
                if !narrowed_to.contains(w) {
                    narrowed_to.push(*w);
                }
            }
            eprintln!(
                "round {rounds}: {unsure} headline metric(s) inconclusive; running another round of {} (a fresh process pair)",
                WorkloadName::list(&awaited)
            );
        }
        runs = Some((base_run, candidate_run));
    };
    Ok(Paired {
        judgement,
        steps,
        rounds,
        base_run,
        candidate_run,
    })
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

/// For two sides that are different builds: this machine's spread
/// between builds when `perf calibrate --builds` measured it (joined into
/// every interval), and the note that says which; else a note that the
/// intervals leave it out. Nothing for one build run as both sides.
pub fn between_builds(
    store: &Store,
    environment: &Environment,
    profile: ProfileName,
    different: bool,
) -> Result<(Option<BuildSpread>, Option<String>)> {
    if !different {
        return Ok((None, None));
    }
    let measure = "`cargo xtask perf calibrate --builds 8` measures it";
    let Some((file, spread)) = store.build_spread(profile)? else {
        return Ok((None, Some(format!(
            "two builds: each interval leaves out how far two builds of the same source differ on this machine (their layout); {measure}"
        ))));
    };
    if let Some(why) = spread.unlike(&environment.fingerprint(), environment, profile) {
        return Ok((None, Some(format!(
            "two builds: the spread between builds in {} does not apply ({why}), so each interval leaves it out; {measure} here",
            file.display()
        ))));
    }
    let widest = spread
        .metrics
        .iter()
        .max_by(|a, b| a.1.var.total_cmp(&b.1.var))
        .map(|(m, v)| format!("; widest {m} ±{:.1}%", v.pct()))
        .unwrap_or_default();
    let note = format!(
        "two builds: each interval includes the spread between builds of one source measured on this machine ({} compares of {} builds, {}{widest})",
        spread.compares,
        spread.builds,
        spread.created_at.format("%Y-%m-%d %H:%M UTC"),
    );
    Ok((Some(spread), Some(note)))
}
