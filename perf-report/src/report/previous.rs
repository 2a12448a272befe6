//! The comparison with the previous baseline: the newest history file of
//! the same profile, judged by `compare::compare_results` with the check's
//! seed and thresholds, so the verdicts are the ones `cargo xtask perf
//! check` gives for the same two files.

use crate::{
    compare::{compare_results, Comparison, Status, Verdict},
    guards::{incomparable_reason, quality_guards, GuardResult},
    schema::Baseline,
};

use super::{HistoryEntry, ReportInputs};

#[derive(Debug, Clone)]
pub struct PreviousComparison<'a> {
    pub previous: &'a HistoryEntry,
    /// Set when the two were recorded on different machine fingerprints.
    pub foreign: bool,
    /// `Err(reason)` when the two runs did not measure the same thing, as
    /// the check would refuse them; then nothing is judged.
    pub result: Result<Judged, String>,
}

#[derive(Debug, Clone)]
pub struct Judged {
    pub comparisons: Vec<Comparison>,
    pub guards: Vec<GuardResult>,
}

/// Counts of verdicts, for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub improved: usize,
    pub regressed: usize,
    pub not_significant: usize,
    pub within_noise: usize,
    pub informational: usize,
    pub other: usize,
}

/// History entries of the current baseline's profile recorded before it,
/// oldest first (the trend's points, without the current baseline).
pub fn same_profile_history(inputs: &ReportInputs) -> Vec<&HistoryEntry> {
    let current = &inputs.baseline;
    inputs
        .history
        .iter()
        .filter(|h| h.baseline.plan.profile == current.plan.profile)
        .filter(|h| h.baseline.created_at < current.created_at)
        .collect()
}

/// The newest earlier baseline of the same profile, compared with the
/// current one; `None` when the history holds none.
pub fn compare_with_previous(inputs: &ReportInputs) -> Option<PreviousComparison<'_>> {
    let previous = *same_profile_history(inputs).last()?;
    let (old, new) = (&previous.baseline, &inputs.baseline);
    let foreign = old.machine_fingerprint != new.machine_fingerprint;
    let result = match incomparable_reason(old, new) {
        Some(reason) => Err(reason),
        None => Ok(judge(old, new, inputs)),
    };
    Some(PreviousComparison {
        previous,
        foreign,
        result,
    })
}

fn judge(old: &Baseline, new: &Baseline, inputs: &ReportInputs) -> Judged {
    let threshold_for =
        |w: crate::plan::WorkloadName, m: &str| inputs.comparison.pct_for(w.as_str(), m);
    // As in `check`: only workloads the newer run measured are judged; the
    // rest of the older one is not "missing", just not selected.
    let mut judged = old.workloads.clone();
    judged.retain(|w, _| new.workloads.contains_key(w));
    Judged {
        comparisons: compare_results(
            &judged,
            &new.workloads,
            &threshold_for,
            inputs.comparison.seed,
        ),
        guards: quality_guards(old, new),
    }
}

impl Tally {
    pub fn of(comparisons: &[Comparison]) -> Tally {
        let mut t = Tally::default();
        for c in comparisons.iter().filter(|c| c.status == Status::Compared) {
            match c.change.as_ref().map(|m| &m.verdict) {
                Some(Verdict::Improved) => t.improved += 1,
                Some(Verdict::Regressed) => t.regressed += 1,
                Some(Verdict::NotSignificant) => t.not_significant += 1,
                Some(Verdict::WithinNoise) => t.within_noise += 1,
                Some(Verdict::Informational) => t.informational += 1,
                Some(Verdict::Incomparable { .. }) | None => t.other += 1,
            }
        }
        t
    }
}
