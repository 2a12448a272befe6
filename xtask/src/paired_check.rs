//! `perf check` beside the baseline's own commit: the commit the baseline
//! was recorded at is built again and measured in lockstep rounds with
//! this tree, as `perf compare <commit>` does, and the pairs are judged.
//!
//! Why: a check against a baseline file compares two sessions of the
//! machine. On a shared VM whole sessions shift against each other (on
//! the 2-core Zen 4 VM, periods 0.5–10 s long whose query times sit 30–40%
//! apart), so a ±10% gate there can say only "inconclusive", however many
//! processes it measures: the calibration says so before anything runs.
//! Measuring the baseline's code beside this tree in every round cancels
//! the machine's state, as `compare` does; the baseline file still names
//! the commit, the plan and the machine, and how far its recorded figures
//! lie from its code measured now is reported (the machine's drift and
//! the lockstep's own context, not the change).

use std::{path::Path, time::Duration};

use anyhow::Result;
use perf_contract::{environment::Environment, plan::Plan, schema::Baseline};
use perf_report::{judgement::Judgement, policy::Policy};
use xshell::Shell;

use crate::{
    paired_rounds::{self, Budget, Deadline, Sides},
    revision,
    settings::LoadedConfig,
    store::Store,
};

/// Rounds always run before the data may stop them (`perf compare`'s
/// default): fewer would let stopping on the data bias the interval.
const ROUNDS: u32 = 5;

/// The baseline's commit when its code can be built again: recorded from
/// a clean tree; `Err` says why not.
pub fn baseline_commit(baseline: &Baseline) -> Result<String, String> {
    let env = &baseline.environment;
    match (&env.git_commit, env.git_dirty) {
        (Some(c), Some(false)) => Ok(c.clone()),
        (Some(_), _) => Err("it was recorded from a working tree with uncommitted changes".into()),
        (None, _) => Err("it names no commit".into()),
    }
}

/// Why a check measures the baseline's commit beside this tree, or `None`
/// to judge against the baseline file: `asked` (`--paired`), or unasked
/// when this machine's calibration leaves headline thresholds
/// `unresolved` across sessions and the baseline's commit can be built
/// again: recorded from a clean tree, and a commit `in_repo` knows (a
/// shallow clone may lack it; a note says when it cannot); never when
/// `refused` (`--unpaired`, or instruction counts, which do not move with
/// the machine's state).
pub fn reason(
    asked: bool,
    refused: bool,
    baseline: &Baseline,
    unresolved: &[String],
    in_repo: &dyn Fn(&str) -> bool,
    notes: &mut Vec<String>,
) -> Option<String> {
    if asked {
        return Some(
            "--paired: building the baseline's commit to measure it beside this tree".into(),
        );
    }
    if refused || unresolved.is_empty() {
        return None;
    }
    let why = format!(
        "this machine's calibration says a check beside the baseline file cannot resolve {}",
        unresolved.join(", ")
    );
    let commit = baseline_commit(baseline).and_then(|c| {
        if in_repo(&c) {
            Ok(c)
        } else {
            Err(format!("{c} is not a commit of this repository"))
        }
    });
    match commit {
        Ok(c) => Some(format!(
            "{why}: measuring the baseline's commit {} beside this tree in lockstep rounds instead (--unpaired judges the file)",
            &c[..c.len().min(12)]
        )),
        Err(e) => {
            notes.push(format!(
                "{why}, and its commit cannot be built again to pair with ({e}): judged unpaired"
            ));
            None
        }
    }
}

/// [`baseline_commit`] as the error `--paired` gives, naming the file.
pub fn buildable(baseline: &Baseline, baseline_path: &Path) -> Result<String> {
    baseline_commit(baseline).map_err(|why| {
        anyhow::anyhow!(
            "--paired: baseline {} cannot be built again: {why}; record it from a clean tree (`cargo xtask perf baseline --update` after committing)",
            baseline_path.display()
        )
    })
}

/// What the paired check measured.
pub struct PairedCheck {
    pub judgement: Judgement,
    /// This tree's record over every round (what `--update` keeps).
    pub current: Baseline,
}

/// Builds the baseline's commit and this tree, measures them in lockstep
/// rounds on `plan`, then more while a headline metric is inconclusive
/// (when `more` allows) for at most `max_time` seconds, and judges the
/// pairs.
/// `environment`: the check's own probe of this machine, not another.
#[allow(clippy::too_many_arguments)]
pub fn run(
    sh: &Shell,
    store: &Store,
    (baseline, baseline_path): (&Baseline, &Path),
    environment: &Environment,
    plan: &Plan,
    candidate_plan: &Plan,
    policy: &Policy,
    loaded: &LoadedConfig,
    (more, max_time): (bool, u64),
    notes: &mut Vec<String>,
) -> Result<PairedCheck> {
    let commit = buildable(baseline, baseline_path)?;
    let base_tree = revision::resolve(sh, store, Some(&commit)).map_err(|_| {
        anyhow::anyhow!(
            "--paired: the commit of baseline {} ({commit}) is not in this repository: fetch it, or check --unpaired",
            baseline_path.display()
        )
    })?;
    let candidate_tree = revision::resolve(sh, store, None)?;
    let (base, candidate, build_notes) =
        revision::build_sides(sh, store, &base_tree, &candidate_tree)?;
    notes.extend(build_notes);
    let mut policy = policy.clone();
    let (spread, note) = paired_rounds::between_builds(
        store,
        environment,
        plan.profile,
        base_tree.tree != candidate_tree.tree,
    )?;
    policy.between_builds = spread;
    notes.extend(note);
    let sides = Sides {
        base: (&base, &base_tree, plan),
        candidate: (&candidate, &candidate_tree, candidate_plan),
    };
    let budget = Budget {
        rounds: ROUNDS,
        until_conclusive: more && max_time > 0,
        deadline: Deadline::AfterPlanned(Duration::from_secs(max_time)),
        max_time,
        watch: None,
    };
    let paired = paired_rounds::run(
        store,
        &sides,
        environment,
        &mut policy,
        loaded,
        &budget,
        notes,
    )?;
    notes.push(format!(
        "paired with the baseline's commit: {} built and measured beside {} in {} round(s), each a fresh process pair ({} steps in lockstep); the baseline file's own figures are not judged",
        base_tree.label, candidate_tree.label, paired.rounds, paired.steps
    ));
    notes.extend(drift(baseline, &paired.base_run));
    let mut judgement = paired.judgement;
    judgement.baseline = format!("{} at {}", baseline_path.display(), base_tree.label);
    Ok(PairedCheck {
        judgement,
        current: paired.candidate_run,
    })
}

/// How far the baseline's code measured now lies from the baseline file's
/// figures, headline metrics only: the machine's state between the two
/// sessions (the same code on both), which the paired verdict cancels.
fn drift(recorded: &Baseline, now: &Baseline) -> Option<String> {
    let mut moved: Vec<(f64, String)> = Vec::new();
    for (w, result) in &now.workloads {
        for (key, m) in &result.metrics {
            if !key.kind().is_headline() {
                continue;
            }
            let Some(old) = recorded.workloads.get(w).and_then(|r| r.metrics.get(key)) else {
                continue;
            };
            let (a, b) = (old.summary.median, m.summary.median);
            if a > 0.0 && b.is_finite() {
                let pct = (b / a - 1.0) * 100.0;
                moved.push((pct, format!("{w}.{key} {pct:+.1}%")));
            }
        }
    }
    moved.sort_by(|x, y| y.0.abs().total_cmp(&x.0.abs()));
    (!moved.is_empty()).then(|| {
        format!(
            "the baseline's code now against its recorded medians (the same code: the machine's state between sessions, and lockstep beside another process against alone; not the change): {}",
            moved
                .iter()
                .take(4)
                .map(|(_, s)| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use perf_contract::{
        fixture,
        plan::WorkloadName::RagQuery,
        units::{Better::Lower, Unit::Milliseconds},
    };

    use super::*;

    #[test]
    fn only_a_clean_recorded_commit_can_be_built_again() {
        let mut b = fixture::baseline(&[]);
        b.environment.git_commit = Some("abc".into());
        b.environment.git_dirty = Some(false);
        assert_eq!(baseline_commit(&b), Ok("abc".into()));
        b.environment.git_dirty = Some(true);
        assert!(baseline_commit(&b).unwrap_err().contains("uncommitted"));
        b.environment.git_commit = None;
        assert!(baseline_commit(&b).unwrap_err().contains("no commit"));
    }

    /// The drift names headline metrics only, largest first.
    #[test]
    fn drift_is_the_baseline_code_now_against_its_file() {
        let run = |latency: f64, embed: f64| {
            fixture::baseline(&[
                (RagQuery, "latency", Milliseconds, Lower, vec![latency; 5]),
                (RagQuery, "stage.embed", Milliseconds, Lower, vec![embed; 5]),
            ])
        };
        let note = drift(&run(1.0, 1.0), &run(1.25, 2.0)).unwrap();
        assert!(note.ends_with(": rag_query.latency +25.0%"), "{note}");
        assert_eq!(drift(&run(1.0, 1.0), &fixture::baseline(&[])), None);
    }

    /// Pairs when asked, or unasked when the calibration says the file
    /// cannot resolve a headline threshold and the commit can be built;
    /// never when refused; says so when the commit cannot be built.
    #[test]
    fn a_check_pairs_when_the_sessions_leave_it_no_answer() {
        let mut clean = fixture::baseline(&[]);
        clean.environment.git_commit = Some("0123456789abcdef".into());
        clean.environment.git_dirty = Some(false);
        let mut dirty = clean.clone();
        dirty.environment.git_dirty = Some(true);
        let bound =
            ["rag_query.latency (sessions alone leave ±23.0%, threshold ±10.0%)".to_string()];
        let mut notes = Vec::new();
        let known = |_: &str| true;
        let why = reason(false, false, &clean, &bound, &known, &mut notes).unwrap();
        assert!(
            why.contains("measuring the baseline's commit 0123456789ab beside this tree"),
            "{why}"
        );
        assert!(reason(false, false, &clean, &[], &known, &mut notes).is_none());
        assert!(reason(false, true, &clean, &bound, &known, &mut notes).is_none());
        assert!(reason(true, false, &dirty, &[], &known, &mut notes).is_some());
        assert!(notes.is_empty(), "{notes:?}");
        assert!(reason(false, false, &dirty, &bound, &known, &mut notes).is_none());
        assert!(
            notes[0].ends_with("uncommitted changes): judged unpaired"),
            "{notes:?}"
        );
        // A shallow clone without the commit judges the file, unasked.
        let shallow = |_: &str| false;
        assert!(reason(false, false, &clean, &bound, &shallow, &mut notes).is_none());
        assert!(
            notes[1].ends_with(
                "(0123456789abcdef is not a commit of this repository): judged unpaired"
            ),
            "{notes:?}"
        );
    }
}
