//! Statistical comparison of two runs: the regression gate's judgement.
//!
//! A metric regressed only when its median moved beyond its threshold in the
//! worse direction *and* a 95% percentile-bootstrap interval of the ratio of
//! medians (current / baseline) lies entirely on the worse side of 1: the
//! threshold says how much change matters, the interval whether it is more
//! than run-to-run noise. Improvements mirror the rule. Medians, because
//! latency samples are skewed and outliers would otherwise decide. Metrics
//! with fewer than [`MIN_BOOTSTRAP_SAMPLES`] on a side (index memory, build
//! time) are judged on medians alone, see [`Basis`]. The Mann-Whitney p-value
//! is reported, not used: it asks whether one whole distribution tends to be
//! larger, not whether the median moved.
//!
//! When the two sides were measured in processes enough for an interval
//! across them (`crate::processes`: four in all, e.g. a baseline of three
//! and a run of three, or an old one-process baseline and a run of three),
//! every judged metric is judged across processes instead, its samples
//! matched by input: the rule above is what runs of one process a side
//! get, and their rows say so.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use perf_contract::{
    metric_key::MetricKey,
    plan::WorkloadName,
    schema::{Better, Metric, Unit, WorkloadResult},
    summary::{percentile_sorted, Interval},
};

pub use crate::bootstrap::RESAMPLES;
use crate::{
    bootstrap::bootstrap_ratio_ci,
    processes::{across_processes, Prior},
};

/// Fewer samples than this on either side: judge by medians alone.
pub const MIN_BOOTSTRAP_SAMPLES: usize = 5;

pub use crate::mann_whitney::{mann_whitney_p, MIN_RANK_TEST_SAMPLES};

/// What a verdict rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Median change plus a bootstrap interval of the ratio of medians.
    Bootstrap,
    /// Medians alone: too few samples on a side for an interval, or a
    /// deterministic unit (size, count, fraction) that needs none.
    PointEstimate,
    /// Paired samples of two builds run in lockstep (`perf compare`): the
    /// Hodges-Lehmann change of the per-pair log-ratios, its Wilcoxon
    /// interval and a Holm-adjusted signed-rank p-value (`crate::paired`).
    Paired,
    /// Each side measured in several processes of the same plan: one
    /// estimate per process, matched by input, and Student's t across the
    /// processes (`crate::processes`).
    Processes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Beyond the threshold on the worse side, and significant.
    Regressed,
    /// Beyond the threshold on the better side, and significant.
    Improved,
    /// Beyond the threshold, but the interval still reaches 1 (or the worse
    /// side, for an apparent improvement).
    NotSignificant,
    /// The median moved no more than the threshold, and the run could have
    /// seen a change of the threshold's size (its MDE is below it).
    WithinNoise,
    /// The change is within the threshold, but so little is known that a
    /// change of the threshold's size could have gone unseen: the minimum
    /// detectable effect exceeds the threshold. Not evidence of no change.
    Inconclusive,
    /// The metric is never judged (`Better::Neither`).
    Informational,
    /// No relative change can be stated honestly.
    Incomparable { reason: String },
}

/// How one metric moved between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    /// `None` when that side has no usable samples.
    pub baseline_median: Option<f64>,
    pub current_median: Option<f64>,
    /// `(current - baseline) / baseline * 100`: positive when the value rose,
    /// whichever direction is better. `None` when incomparable.
    pub change_pct: Option<f64>,
    pub threshold_pct: f64,
    pub n_baseline: usize,
    pub n_current: usize,
    /// 95% percentile-bootstrap interval of current median / baseline median.
    pub ratio_ci: Option<Interval>,
    /// Two-sided Mann-Whitney U p-value (normal approximation, tie and
    /// continuity corrected, as scipy's default); for a paired comparison the
    /// signed-rank p-value, and across processes the t-test's, after Holm's
    /// adjustment over the run.
    pub p_value: Option<f64>,
    /// The smallest change this comparison could have detected, in percent:
    /// half the width of the 95% interval (a true change this large puts the
    /// interval's edge at no change). `None` without an interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mde_pct: Option<f64>,
    pub basis: Basis,
    pub verdict: Verdict,
    /// Process pairs (rounds) a paired interval rests on, each pair's
    /// estimate one replicate (`crate::rounds`); 0: the pairs of one
    /// process pair, whose interval leaves out how far processes differ.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rounds: usize,
    /// Processes of the baseline and of the current run an unpaired
    /// interval rests on ([`Basis::Processes`]); `None`: one process a
    /// side, whose interval leaves out how far processes differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<(usize, usize)>,
    /// The MDE no number of processes of the current run goes below: the
    /// baseline's processes and the machine's shift between sessions
    /// ([`Basis::Processes`]), or, for two builds judged on pairs, what
    /// the calibrated spread between builds alone leaves, whatever the
    /// rounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor_pct: Option<f64>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Whether a metric was in both runs or only one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Compared,
    /// In the baseline only: the current run did not report it.
    Missing,
    /// In the current run only: nothing to compare against yet.
    New,
}

/// One row of a comparison; `change` is present exactly when `status` is
/// `Compared`. `unit` and `better` come from the current run when it has
/// the metric, otherwise from the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub workload: WorkloadName,
    pub metric: MetricKey,
    pub unit: Unit,
    pub better: Better,
    pub change: Option<MetricChange>,
    pub status: Status,
}

/// Compares one metric's raw samples; deterministic for a given `seed`.
pub fn compare_metric(
    baseline: &Metric,
    current: &Metric,
    threshold_pct: f64,
    seed: u64,
) -> MetricChange {
    compare_samples(baseline, current, threshold_pct, seed, false, None)
}

/// [`compare_metric`] for the metric named `key`: a figure measured on one
/// index build per run
/// ([`MetricKind::measured_on_one_build`](perf_contract::metric_key::MetricKind::measured_on_one_build)) is judged
/// on its median alone, as a time from too few samples is. Its samples
/// differ by question, not by run, while identical quick runs moved such a
/// warm 1,000-vector search by up to 35% (where the vectors landed in
/// memory, once per process): a bootstrap over questions would call that
/// a regression.
/// `prior`: the machine's calibrated spread between processes of this
/// metric, pooled with the runs' own processes.
pub fn compare_metric_of(
    key: &MetricKey,
    baseline: &Metric,
    current: &Metric,
    threshold_pct: f64,
    seed: u64,
    prior: Option<Prior>,
) -> MetricChange {
    let one_build = key.kind().measured_on_one_build();
    compare_samples(baseline, current, threshold_pct, seed, one_build, prior)
}

fn compare_samples(
    baseline: &Metric,
    current: &Metric,
    threshold_pct: f64,
    seed: u64,
    one_build: bool,
    prior: Option<Prior>,
) -> MetricChange {
    let (n_baseline, n_current) = (baseline.samples.len(), current.samples.len());
    let base = sorted_finite(&baseline.samples);
    let cur = sorted_finite(&current.samples);
    let mut change = MetricChange {
        rounds: 0,
        processes: None,
        floor_pct: None,
        baseline_median: base.as_deref().ok().map(median),
        current_median: cur.as_deref().ok().map(median),
        change_pct: None,
        threshold_pct,
        n_baseline,
        n_current,
        ratio_ci: None,
        p_value: None,
        mde_pct: None,
        // Sizes, counts and fractions do not vary with the machine's load:
        // their samples differ by input (one question vs another), not by
        // noise, so a resampled interval would only measure the inputs'
        // spread. Their change is judged as is.
        basis: if n_baseline.min(n_current) < MIN_BOOTSTRAP_SAMPLES
            || !current.unit.is_timing()
            || one_build
        {
            Basis::PointEstimate
        } else {
            Basis::Bootstrap
        },
        verdict: Verdict::Informational,
    };
    let incomparable = |mut change: MetricChange, reason: String| {
        change.verdict = Verdict::Incomparable { reason };
        change
    };
    let (base, cur) = match (base, cur) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(why), _) => return incomparable(change, format!("baseline {why}")),
        (_, Err(why)) => return incomparable(change, format!("current run {why}")),
    };
    // A metric whose definition changed is a different metric.
    if (baseline.unit, baseline.better) != (current.unit, current.better) {
        let reason = format!(
            "unit or direction changed from {:?}, {} to {:?}, {}",
            baseline.unit, baseline.better, current.unit, current.better
        );
        return incomparable(change, reason);
    }
    if !(threshold_pct.is_finite() && threshold_pct >= 0.0) {
        let reason = format!("threshold {threshold_pct}% is not a non-negative percentage");
        return incomparable(change, reason);
    }
    let (bm, cm) = (median(&base), median(&cur));
    // A ratio to a zero or negative median has no meaning as a change (every
    // metric here is a time, rate, size or fraction, so this is an empty or
    // broken measurement, not a real value to compare against).
    if !(bm.is_finite() && bm > 0.0 && cm.is_finite()) {
        let reason = format!("baseline median {bm} is not positive, so no relative change");
        return incomparable(change, reason);
    }
    if current.better != Better::Neither {
        if let Ok(x) = across_processes(&baseline.by_process(), &current.by_process(), prior) {
            // The processes' spread is the run-to-run variance: judged
            // across them, whatever the unit (a size moves with the
            // process's layout too; a count has no spread and is sure).
            change.basis = Basis::Processes;
            change.processes = Some(x.processes);
            change.change_pct = Some(x.change_pct);
            change.p_value = Some(x.p_value);
            change.ratio_ci = Some(Interval {
                low: 1.0 + x.ci_pct.low / 100.0,
                high: 1.0 + x.ci_pct.high / 100.0,
            });
            change.mde_pct = Some((x.ci_pct.high - x.ci_pct.low) / 2.0);
            change.floor_pct = Some(x.floor_pct);
            change.verdict = judge(current.better, current.unit, x.change_pct, &change);
            return change;
        }
    }
    let change_pct = (cm - bm) / bm * 100.0;
    change.change_pct = Some(change_pct);
    change.p_value = mann_whitney_p(&base, &cur);
    if change.basis == Basis::Bootstrap {
        change.ratio_ci = bootstrap_ratio_ci(&base, &cur, seed);
        change.mde_pct = change.ratio_ci.map(|ci| (ci.high - ci.low) / 2.0 * 100.0);
    }
    change.verdict = judge(current.better, current.unit, change_pct, &change);
    change
}

/// The rule itself, on figures already computed.
fn judge(better: Better, unit: Unit, change_pct: f64, figures: &MetricChange) -> Verdict {
    // Turn every quantity into "positive is worse" so one rule serves both
    // directions.
    let worse_sign = match better {
        Better::Lower => 1.0,
        Better::Higher => -1.0,
        Better::Neither => return Verdict::Informational,
    };
    let worse_pct = worse_sign * change_pct;
    if worse_pct.abs() <= figures.threshold_pct {
        // "No change" is only a finding when a change of the threshold's
        // size would have shown.
        return match figures.mde_pct {
            Some(mde) if mde > figures.threshold_pct => Verdict::Inconclusive,
            _ => Verdict::WithinNoise,
        };
    }
    let significant = match figures.basis {
        // A size, count or fraction is a deterministic figure: its change
        // is real. A handful of timings is
        // not enough to tell a change from the machine's mood (measured here:
        // 3-sample build times moved 11-21% between identical runs).
        Basis::PointEstimate => !unit.is_timing(),
        // No interval although there were enough samples: a resample hit a
        // zero median. Not knowing is not evidence, so do not judge.
        Basis::Bootstrap | Basis::Paired | Basis::Processes => figures.ratio_ci.is_some_and(|ci| {
            let (a, b) = (worse_sign * (ci.low - 1.0), worse_sign * (ci.high - 1.0));
            if worse_pct > 0.0 {
                a.min(b) > 0.0
            } else {
                a.max(b) < 0.0
            }
        }),
    };
    match (significant, worse_pct > 0.0) {
        (false, _) => Verdict::NotSignificant,
        (true, true) => Verdict::Regressed,
        (true, false) => Verdict::Improved,
    }
}

/// Compares every metric of every workload in either run, ordered by
/// workload then metric name. `threshold_for` gives the allowed change in
/// percent for a metric; each metric gets its own seed derived from `seed`
/// and its name, so metrics do not share resampling patterns and adding one
/// does not change another's interval.
pub fn compare_results(
    baseline: &BTreeMap<WorkloadName, WorkloadResult>,
    current: &BTreeMap<WorkloadName, WorkloadResult>,
    threshold_for: &dyn Fn(WorkloadName, &str) -> f64,
    prior_for: &dyn Fn(WorkloadName, &str) -> Option<Prior>,
    seed: u64,
) -> Vec<Comparison> {
    compare_each(baseline, current, &mut |workload, name, b, c| {
        let threshold = threshold_for(workload, name.as_str());
        let seed = metric_seed(seed, workload, name.as_str());
        let prior = prior_for(workload, name.as_str());
        compare_metric_of(name, b, c, threshold, seed, prior)
    })
}

/// Every metric of either run, ordered by workload then metric name, with
/// `judge` giving the change of each metric both runs have (the unpaired
/// rule here, the paired one in `crate::pairing`).
pub(crate) fn compare_each(
    baseline: &BTreeMap<WorkloadName, WorkloadResult>,
    current: &BTreeMap<WorkloadName, WorkloadResult>,
    judge: &mut dyn FnMut(WorkloadName, &MetricKey, &Metric, &Metric) -> MetricChange,
) -> Vec<Comparison> {
    let workloads: BTreeSet<WorkloadName> =
        baseline.keys().chain(current.keys()).copied().collect();
    let mut out = Vec::new();
    for workload in workloads {
        let no_metrics = BTreeMap::new();
        let base = baseline.get(&workload).map_or(&no_metrics, |r| &r.metrics);
        let cur = current.get(&workload).map_or(&no_metrics, |r| &r.metrics);
        let names: BTreeSet<&MetricKey> = base.keys().chain(cur.keys()).collect();
        for name in names {
            let (shown, change, status) = match (base.get(name), cur.get(name)) {
                (Some(b), Some(c)) => (c, Some(judge(workload, name, b, c)), Status::Compared),
                (Some(b), None) => (b, None, Status::Missing),
                (None, Some(c)) => (c, None, Status::New),
                (None, None) => unreachable!("{name} came from one of the two maps"),
            };
            out.push(Comparison {
                workload,
                metric: (*name).clone(),
                unit: shown.unit,
                better: shown.better,
                change,
                status,
            });
        }
    }
    out
}

/// True when any compared metric regressed: the gate's exit condition.
pub fn any_regression(comparisons: &[Comparison]) -> bool {
    comparisons
        .iter()
        .filter_map(|c| c.change.as_ref())
        .any(|m| m.verdict == Verdict::Regressed)
}

/// Sorted copy of the samples, or why they cannot be compared.
fn sorted_finite(samples: &[f64]) -> Result<Vec<f64>, &'static str> {
    if samples.is_empty() {
        return Err("has no samples");
    }
    if samples.iter().any(|s| !s.is_finite()) {
        return Err("has a non-finite sample");
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    Ok(sorted)
}

fn median(sorted: &[f64]) -> f64 {
    percentile_sorted(sorted, 50.0)
}

/// A per-metric seed: FNV-1a of `workload/metric` mixed into `seed`, since
/// std's hashers are not promised to be stable across releases.
pub(crate) fn metric_seed(seed: u64, workload: WorkloadName, metric: &str) -> u64 {
    let bytes = workload
        .as_str()
        .bytes()
        .chain([b'/'])
        .chain(metric.bytes());
    let hash = bytes.fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    seed ^ hash
}

#[cfg(test)]
mod tests;
