//! Change points in one metric's series on one machine.
//!
//! A series is one positive figure per commit (a latency median, say), in
//! commit order. A change point is a commit from which the figures sit at
//! another level: the commit a regression or an improvement came in with.
//!
//! The method is E-Divisive with means (Matteson and James, "A
//! Nonparametric Approach for Multiple Change Point Analysis of
//! Multivariate Data"), the one Apache Otava (formerly Hunter, MongoDB's
//! signal-processing-algorithms) is built on:
//!
//! * It works on the logarithms of the figures, so a step is a ratio: a 5%
//!   slowdown of a 2 ms metric weighs as much as one of a 2 s metric.
//! * For a stretch of the series and a split of it into a left part and a
//!   right part (the right part may stop before the stretch ends), the
//!   energy statistic Q̂ compares how far points of the two parts lie from
//!   each other with how far points lie from others of their own part (mean
//!   absolute differences, exponent 1), scaled by `n·m/(n+m)` for parts of
//!   `n` and `m` points. It is near zero when both parts come from one
//!   distribution and grows with a shift between them.
//! * Hierarchically: the split with the largest Q̂ over every current
//!   segment is the candidate. A permutation test decides whether it is
//!   real: shuffle the points within each segment (which destroys any
//!   order, so any step, while keeping the segments found so far), take
//!   the largest Q̂ again, and count how often chance alone does as well.
//!   The p-value is `(count + 1) / (permutations + 1)`; since the shuffled
//!   series are searched the same way as the real one, it allows for the
//!   search having picked the best of many splits. Below `alpha` the
//!   candidate is kept, its segment split in two and the search goes on;
//!   the first candidate that is not significant ends it.
//! * Then, as Otava's merge step does, the points are checked again
//!   against their final neighbours (a point found early was measured
//!   against segments that later splits cut short): Welch's t-test on the
//!   logs of the two adjacent segments. The weakest point whose two-sided
//!   p-value is not below `alpha`, else the one whose step is smallest
//!   and below `min_step_pct` (what A/A runs on the machine can resolve), is
//!   dropped and the rest are checked again, until every point holds.
//!
//! Each reported point carries the step between its adjacent segments,
//! `exp(mean log after − mean log before) − 1` in percent (a ratio of
//! geometric means), its 95% interval from the same Welch t, and the
//! permutation p-value the point was accepted with.
//!
//! The permutations are drawn from rand's `StdRng` seeded with
//! `Options::seed`, so one series always gives one answer (rand does not
//! promise `StdRng`'s stream across its versions: a rand upgrade may move a
//! borderline p-value, never a clear step). Each permutation costs O(n²)
//! for n points: about 0.3 s for a 300-commit series with two steps at the
//! defaults.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// How change points are searched for and when one is reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// A candidate is kept when its permutation p-value is below this.
    /// Since the test allows for the search, this is about the chance that
    /// a series without any step reports one. The same level is asked of
    /// Welch's t-test when the points are checked again.
    pub alpha: f64,
    /// Permutations per candidate. The smallest p-value possible is
    /// `1 / (permutations + 1)`, so this has to be well above `1 / alpha`;
    /// with none at all nothing is found.
    pub permutations: usize,
    /// Fewest points on either side of a change point (taken as 1 when 0).
    pub min_segment: usize,
    /// Seed of the permutations: the same series gives the same answer.
    pub seed: u64,
    /// Steps smaller than this (percent), what A/A runs on the machine can
    /// resolve, are not reported even when significant.
    pub min_step_pct: f64,
}

impl Default for Options {
    /// * `alpha` 0.01. Otava defaults to 0.001, but its threshold is put to
    ///   a t-test on the split the search chose, which overstates the
    ///   evidence (the best of many splits looks significant by chance), so
    ///   it needs a small nominal level. Our permutation p-value already
    ///   allows for the search: 0.01 means about one series in a hundred
    ///   without any step reports one, while in 40 commits nearly every
    ///   5% step at 1.5% noise and 10% step at 3.5% noise is still found
    ///   (the study in `tests/change_points.rs`).
    /// * `permutations` 999: p-values down to 0.001, so a decision at 0.01
    ///   rests on up to nine exceedances, not on whether a single one
    ///   happened. A candidate that fails stops early (see
    ///   `permutation_p_value`), so the cost is paid for real steps only.
    /// * `min_segment` 3: the fewest points that give a spread to compare a
    ///   step with (two degrees of freedom for the interval, whose t
    ///   quantile is 4.3 there against 12.7 at one), and one or two
    ///   outlying records cannot form a segment of their own. A step in the
    ///   last two commits waits for a third to be reported.
    /// * `seed`: any fixed value; `min_step_pct` 0: nothing is known of the
    ///   machine until its A/A runs say.
    fn default() -> Self {
        Self {
            alpha: 0.01,
            permutations: 999,
            min_segment: 3,
            seed: 0x00c0_ffee,
            min_step_pct: 0.0,
        }
    }
}

/// A step in a series: the points from `index` on differ from those before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangePoint {
    /// The first point after the step (its commit is the first suspect;
    /// the range is (points[index - 1].commit, points[index].commit]).
    pub index: usize,
    /// Change of the segment after against the segment before, percent,
    /// positive when the value rose.
    pub change_pct: f64,
    /// 95% interval of `change_pct`.
    pub low_pct: f64,
    pub high_pct: f64,
    /// The permutation test's p-value, as the point was accepted with (its
    /// segments then may since have been cut by later points; the merge
    /// step's Welch check against the final neighbours passed at `alpha`).
    pub p_value: f64,
    /// What the recorded paired compares of the commits in the step's
    /// range say of it (`history::paired_evidence`); the series alone
    /// when none were recorded.
    #[serde(default)]
    pub evidence: Evidence,
}

/// A change point weighed against the paired compares (parent versus
/// commit, both built and run side by side) recorded over its commits. A
/// series of separate runs moves with the machine as well as with the
/// code; a compare does not, so it decides where it was recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// No compare covers every commit of the range.
    #[default]
    SeriesOnly,
    /// The compares over the range, composed, change the same way.
    Confirmed(PairedChange),
    /// The compares could not tell: their interval holds both no change
    /// and the series' step. Not reported as a change point.
    Unresolved(PairedChange),
    /// The compares show no such change: their interval holds no change
    /// and not the series' step. Not reported as a change point; the
    /// machine drifted between the runs.
    Contradicted(PairedChange),
    /// Found by one compare alone (Holm over the series' compares at the
    /// series' `alpha`), where the series' own test had no step: a step
    /// too small for the separate runs' noise, or too recent for
    /// `min_segment` points after it.
    PairedOnly(PairedChange),
}

/// The composed change of the paired compares over a range, percent, with
/// its 95% interval and the two-sided p-value of no change.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedChange {
    pub change_pct: f64,
    pub low_pct: f64,
    pub high_pct: f64,
    pub p_value: f64,
    /// Compares composed.
    pub steps: usize,
}

impl PairedChange {
    pub fn label(&self) -> String {
        step_label(self.change_pct, self.low_pct, self.high_pct)
    }
}

fn step_label(change: f64, low: f64, high: f64) -> String {
    format!("{change:+.1}% [{low:+.1}, {high:+.1}]")
}

impl ChangePoint {
    /// `+5.2% [+3.1, +7.4]`: the step and its interval, as every output
    /// names a change point.
    pub fn label(&self) -> String {
        step_label(self.change_pct, self.low_pct, self.high_pct)
    }

    /// What backs the step, as every output words it after the label:
    /// empty for the series alone.
    pub fn evidence_note(&self) -> String {
        match &self.evidence {
            Evidence::SeriesOnly => String::new(),
            Evidence::Confirmed(c) => format!(", paired compares {}", c.label()),
            Evidence::Unresolved(c) => format!(", paired compares unresolved {}", c.label()),
            Evidence::Contradicted(c) => format!(", paired compares {} say no change", c.label()),
            Evidence::PairedOnly(c) => format!(", found by its paired compare {}", c.label()),
        }
    }
}

/// The change points of `values` (positive figures, one per commit, in
/// commit order), in order of `index`.
///
/// Empty when the series is shorter than two segments of
/// `options.min_segment` points, or when any value is zero, negative or not
/// finite: a figure that cannot be a duration or a rate means the series is
/// broken, and a step measured across it would mean nothing.
pub fn detect(values: &[f64], options: &Options) -> Vec<ChangePoint> {
    let min_segment = options.min_segment.max(1);
    if values.len() < 2 * min_segment || values.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return Vec::new();
    }
    let logs: Vec<f64> = values.iter().map(|v| v.ln()).collect();
    let found = divide(&logs, min_segment, options);
    merge(&logs, found, options)
}

/// The hierarchical search: the points the permutation test accepts, as
/// (index, p-value), in order of index.
fn divide(logs: &[f64], min_segment: usize, options: &Options) -> Vec<(usize, f64)> {
    let mut rng = StdRng::seed_from_u64(options.seed);
    // Segment boundaries, sorted: segment k is logs[bounds[k]..bounds[k + 1]].
    let mut bounds = vec![0, logs.len()];
    let mut found = Vec::new();
    while let Some((index, q)) = best_over_segments(logs, &bounds, min_segment) {
        let p = permutation_p_value(logs, &bounds, min_segment, q, options, &mut rng);
        if p >= options.alpha {
            break;
        }
        found.push((index, p));
        let at = bounds.partition_point(|&b| b < index);
        bounds.insert(at, index);
    }
    found.sort_by_key(|&(index, _)| index);
    found
}

/// The best split over all segments: (index in `z`, Q̂). The first of equal
/// ones wins, so ties resolve the same way every time.
fn best_over_segments(z: &[f64], bounds: &[usize], min_segment: usize) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for w in bounds.windows(2) {
        if let Some((tau, q)) = best_split(&z[w[0]..w[1]], min_segment) {
            if best.is_none_or(|(_, b)| q > b) {
                best = Some((w[0] + tau, q));
            }
        }
    }
    best
}

/// The split of `z` with the largest energy statistic: (τ, Q̂) where the
/// left part is `z[..τ]` and the right part `z[τ..κ]` for the best κ, both
/// of at least `min_segment` points. `None` when `z` is too short.
///
/// Q̂ = 2·B/(n+m) − 2·m·W_L/((n+m)(n−1)) − 2·n·W_R/((n+m)(m−1)) for parts
/// of n and m points, B the sum of distances across the parts, W_L and W_R
/// those within each (a one-point part has none). Every (τ, κ) is visited
/// once with running sums, O(len²) in all, which a permutation test
/// repeating it hundreds of times needs.
fn best_split(z: &[f64], min_segment: usize) -> Option<(usize, f64)> {
    let n = z.len();
    if n < 2 * min_segment {
        return None;
    }
    // prefix[j]: distances from z[j] to every point before it.
    let prefix: Vec<f64> = (0..n)
        .map(|j| z[..j].iter().map(|x| (x - z[j]).abs()).sum())
        .collect();
    // to_left[j]: distances from z[j] to the current left part z[..τ].
    let mut to_left = vec![0.0; n];
    let mut within_left = 0.0;
    let mut best: Option<(usize, f64)> = None;
    for t in 0..n - min_segment {
        // z[t] joins the left part.
        within_left += to_left[t];
        for j in t + 1..n {
            to_left[j] += (z[t] - z[j]).abs();
        }
        let tau = t + 1;
        if tau < min_segment {
            continue;
        }
        let left = tau as f64;
        let (mut between, mut within_right) = (0.0, 0.0);
        for j in tau..n {
            // z[j] joins the right part z[τ..j + 1].
            between += to_left[j];
            within_right += prefix[j] - to_left[j];
            let right_n = j + 1 - tau;
            if right_n < min_segment {
                continue;
            }
            let right = right_n as f64;
            let total = left + right;
            let mut q = 2.0 * between / total;
            if tau > 1 {
                q -= 2.0 * right * within_left / (total * (left - 1.0));
            }
            if right_n > 1 {
                q -= 2.0 * left * within_right / (total * (right - 1.0));
            }
            if best.is_none_or(|(_, b)| q > b) {
                best = Some((tau, q));
            }
        }
    }
    best
}

/// The permutation p-value of a best split with statistic `observed`.
///
/// Each permutation shuffles every segment on its own and searches the
/// shuffled series exactly as the real one. Once so many permutations have
/// done as well that the p-value cannot end below `alpha`, the rest cannot
/// change the decision and are skipped: the value returned is then a lower
/// bound, at least `alpha`, and the candidate is never reported.
fn permutation_p_value(
    logs: &[f64],
    bounds: &[usize],
    min_segment: usize,
    observed: f64,
    options: &Options,
    rng: &mut StdRng,
) -> f64 {
    let total = options.permutations as f64 + 1.0;
    // Rounding in a different summation order must not make a tie (a
    // constant series, all zeros) look less extreme than the real split.
    let floor = observed - 1e-12 * observed.abs();
    let mut shuffled = logs.to_vec();
    let mut exceed = 0usize;
    for _ in 0..options.permutations {
        for w in bounds.windows(2) {
            shuffled[w[0]..w[1]].shuffle(rng);
        }
        let q =
            best_over_segments(&shuffled, bounds, min_segment).map_or(f64::NEG_INFINITY, |b| b.1);
        if q >= floor {
            exceed += 1;
            if (exceed + 1) as f64 >= options.alpha * total {
                break;
            }
        }
    }
    ((exceed + 1) as f64 / total).min(1.0)
}

/// Welch's comparison of two segments' logs: the difference of their means
/// (after minus before), its 95% half-width and two-sided p-value.
struct Welch {
    diff: f64,
    half: f64,
    p_value: f64,
}

fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = if x.len() > 1 {
        x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var)
}

/// `None` when neither segment has two points: no spread to judge by.
///
/// A one-point segment has no spread of its own: it is taken to have the
/// other segment's (the noise of one machine does not change with one
/// commit), with that segment's degrees of freedom.
fn welch(before: &[f64], after: &[f64]) -> Option<Welch> {
    let (n1, n2) = (before.len(), after.len());
    if n1 < 2 && n2 < 2 {
        return None;
    }
    let (m1, mut v1) = mean_var(before);
    let (m2, mut v2) = mean_var(after);
    let diff = m2 - m1;
    let mut df = None;
    if n1 == 1 {
        v1 = v2;
        df = Some((n2 - 1) as f64);
    } else if n2 == 1 {
        v2 = v1;
        df = Some((n1 - 1) as f64);
    }
    let (a, b) = (v1 / n1 as f64, v2 / n2 as f64);
    let se = (a + b).sqrt();
    if se == 0.0 {
        // No noise at all: any difference is certain.
        let p_value = if diff == 0.0 { 1.0 } else { 0.0 };
        return Some(Welch {
            diff,
            half: 0.0,
            p_value,
        });
    }
    let df =
        df.unwrap_or_else(|| (a + b).powi(2) / (a * a / (n1 - 1) as f64 + b * b / (n2 - 1) as f64));
    let t = diff.abs() / se;
    Some(Welch {
        diff,
        half: crate::student_t::quantile(0.975, df) * se,
        p_value: 2.0 * (1.0 - crate::student_t::cdf(t, df)),
    })
}

/// A found point against its current neighbours: what would be reported,
/// and Welch's p-value (infinite without any spread to judge by).
fn describe(logs: &[f64], found: &[(usize, f64)], k: usize) -> (Option<ChangePoint>, f64) {
    let start = if k == 0 { 0 } else { found[k - 1].0 };
    let end = found.get(k + 1).map_or(logs.len(), |f| f.0);
    let (index, p_value) = found[k];
    let Some(w) = welch(&logs[start..index], &logs[index..end]) else {
        return (None, f64::INFINITY);
    };
    let pct = |x: f64| x.exp_m1() * 100.0;
    let point = ChangePoint {
        index,
        change_pct: pct(w.diff),
        low_pct: pct(w.diff - w.half),
        high_pct: pct(w.diff + w.half),
        p_value,
        evidence: Evidence::SeriesOnly,
    };
    (Some(point), w.p_value)
}

/// The merge step: drops the weakest failing point, then looks again
/// (dropping a point joins two segments, which changes its neighbours'
/// steps and p-values), until none fails. Failing is Welch's p-value not
/// below alpha, dropped largest first, else a step below `min_step_pct`,
/// dropped smallest first.
fn merge(logs: &[f64], mut found: Vec<(usize, f64)>, options: &Options) -> Vec<ChangePoint> {
    loop {
        let described: Vec<_> = (0..found.len())
            .map(|k| describe(logs, &found, k))
            .collect();
        let least_significant = described
            .iter()
            .enumerate()
            .filter(|(_, (_, p))| *p >= options.alpha)
            .max_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
            .map(|(k, _)| k);
        let smallest = || {
            described
                .iter()
                .enumerate()
                .filter_map(|(k, (c, _))| Some((k, c.as_ref()?.change_pct.abs())))
                .filter(|&(_, step)| step < options.min_step_pct)
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(k, _)| k)
        };
        match least_significant.or_else(smallest) {
            Some(k) => {
                found.remove(k);
            }
            None => return described.into_iter().filter_map(|(c, _)| c).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// 100 × a step of `steps[k].1` from `steps[k].0` on, in log-normal
    /// noise of sd `noise`.
    fn noisy(n: usize, steps: &[(usize, f64)], noise: f64, seed: u64) -> Vec<f64> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                let (u, v) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
                let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
                let level: f64 = steps
                    .iter()
                    .filter(|s| i >= s.0)
                    .map(|s| 1.0 + s.1)
                    .product();
                100.0 * level * (noise * z).exp()
            })
            .collect()
    }

    #[test]
    fn finds_a_ten_percent_step() {
        let found = detect(&noisy(40, &[(22, 0.10)], 0.02, 1), &Options::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let c = &found[0];
        assert_eq!(c.index, 22);
        assert!(
            c.change_pct > 0.0 && c.low_pct < 10.0 && 10.0 < c.high_pct,
            "{c:?}"
        );
        assert!(c.p_value < 0.01);
        let down = detect(&noisy(40, &[(15, -0.10)], 0.02, 2), &Options::default());
        assert!(
            matches!(down[..], [ChangePoint { index: 15, change_pct, .. }] if change_pct < 0.0)
        );
    }

    #[test]
    fn flat_noise_gives_none() {
        for seed in 0..5 {
            assert_eq!(detect(&noisy(60, &[], 0.03, seed), &Options::default()), []);
        }
    }

    #[test]
    fn finds_two_steps() {
        let found = detect(
            &noisy(60, &[(20, 0.08), (40, -0.12)], 0.02, 3),
            &Options::default(),
        );
        let at: Vec<usize> = found.iter().map(|c| c.index).collect();
        assert_eq!(at, [20, 40], "{found:?}");
        assert!(found[0].change_pct > 0.0 && found[1].change_pct < 0.0);
    }

    #[test]
    fn min_step_pct_drops_an_unresolvable_step() {
        let values = noisy(40, &[(20, 0.04)], 0.005, 4);
        let found = detect(&values, &Options::default());
        assert!(
            matches!(found[..], [ChangePoint { index: 20, .. }]),
            "{found:?}"
        );
        let coarse = Options {
            min_step_pct: 6.0,
            ..Options::default()
        };
        assert_eq!(detect(&values, &coarse), []);
    }

    #[test]
    fn same_seed_same_answer() {
        // A borderline step, whose p-value the permutations decide.
        let values = noisy(50, &[(25, 0.04)], 0.03, 5);
        let options = Options {
            alpha: 0.5,
            permutations: 99,
            ..Options::default()
        };
        let first = detect(&values, &options);
        assert!(first.len() == 1 && first[0].p_value > 0.05, "{first:?}");
        assert_eq!(first, detect(&values, &options));
        let other = detect(&values, &Options { seed: 2, ..options });
        assert_ne!(first[0].p_value, other[0].p_value);
    }

    #[test]
    fn degenerate_series_give_none() {
        let options = Options::default();
        assert_eq!(detect(&[1.0, 2.0, 3.0, 4.0, 5.0], &options), []);
        assert_eq!(detect(&[5.0; 30], &options), []);
        let mut broken = noisy(40, &[(20, 0.5)], 0.01, 6);
        broken[3] = f64::NAN;
        assert_eq!(detect(&broken, &options), []);
        broken[3] = 0.0;
        assert_eq!(detect(&broken, &options), []);
    }
}
