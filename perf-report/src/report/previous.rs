//! The comparison with the previous baseline: the newest history file of
//! the same profile, judged by [`judge`] under the check's policy, so the
//! verdicts are the ones `cargo xtask perf check` gives for the same two
//! files.

use std::collections::BTreeMap;

use crate::{
    compare::{Comparison, Status, Verdict},
    judgement::{as_configured, judge, Judgement},
};

use super::{HistoryEntry, ReportInputs};

#[derive(Debug, Clone)]
pub struct PreviousComparison<'a> {
    pub previous: &'a HistoryEntry,
    /// Set when the two were recorded on different machine fingerprints.
    pub foreign: bool,
    /// `Err(reason)` when the two runs did not measure the same thing, as
    /// the check would refuse them; then nothing is judged.
    pub result: Result<Judgement, String>,
}

/// Counts of verdicts, for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub improved: usize,
    pub regressed: usize,
    pub not_significant: usize,
    pub within_noise: usize,
    pub inconclusive: usize,
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
    let result =
        judge(old, new, &previous.name, &inputs.comparison, &as_configured).map_err(|e| e.0);
    Some(PreviousComparison {
        previous,
        foreign: old.machine_fingerprint != new.machine_fingerprint
            || old.environment.other_cpu(&new.environment).is_some(),
        result,
    })
}

/// The threshold each metric of the current baseline is judged by
/// (`workload.metric` → percent), with the previous baseline's medians
/// setting the absolute floors, as in `check`.
pub fn thresholds_in_use(inputs: &ReportInputs) -> BTreeMap<String, f64> {
    let previous = same_profile_history(inputs).last().map(|h| &h.baseline);
    let mut out = BTreeMap::new();
    for (w, result) in &inputs.baseline.workloads {
        for name in result.metrics.keys() {
            let base = previous
                .and_then(|p| p.workloads.get(w))
                .and_then(|r| r.metrics.get(name));
            out.insert(
                format!("{w}.{name}"),
                inputs.comparison.pct_for(*w, name.as_str(), base),
            );
        }
    }
    out
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
                Some(Verdict::Inconclusive) => t.inconclusive += 1,
                Some(Verdict::Informational) => t.informational += 1,
                Some(Verdict::Incomparable { .. }) | None => t.other += 1,
            }
        }
        t
    }
}
