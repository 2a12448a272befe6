//! Paired comparison of two builds run side by side (`perf compare`).
//!
//! The runner interleaves the builds one sample at a time (ABBA), so base
//! sample `a_i` and candidate sample `b_i` saw the same input on nearly the
//! same machine. Every figure rests on the log-ratios `d_i = ln(b_i / a_i)`:
//! whatever multiplies both samples of a pair (the input's cost, drift
//! lasting longer than one sample) cancels, leaving the build's effect plus
//! sample-to-sample noise, far less than the drift an unpaired comparison
//! of two runs must absorb (`compare`).
//!
//! - Change: the Hodges-Lehmann estimate (median of the Walsh averages
//!   `(d_i + d_j) / 2`, `i <= j`) as a percent, `(e^hl - 1) * 100`: robust
//!   like a median, nearly as efficient as a mean. See [`Estimator`].
//! - Interval: the 95% Wilcoxon signed-rank interval, the Walsh averages of
//!   rank `c` and `M + 1 - c` (of `M = n(n+1)/2`), distribution-free.
//! - p-value: the two-sided Wilcoxon signed-rank test, [`signed_rank_p`].
//! - MDE: half the interval's width in percent. A true change of that size
//!   puts the interval's edge at zero, so it is seen about half the time
//!   (80% needs about 1.4 MDE): what a "no change" could have missed.
//! - Holm-Bonferroni over a run's judged metrics: tested at 5% each, thirty
//!   metrics of identical code flag one or two per run; Holm keeps one
//!   false-alarm budget ([`FAMILY_ALPHA`]) for the whole run.

use serde::{Deserialize, Serialize};

use perf_contract::{
    schema::Better,
    summary::{percentile_sorted, quantile_ci_sorted, Interval, CONFIDENCE},
};

use crate::{
    build_spread::BuildVariance,
    mann_whitney::normal_sf,
    walsh::{pct, signed_rank_cdf, walsh_estimate, MAX_EXACT_PAIRS},
};

/// Fewest pairs judged. With `n` pairs even the widest Wilcoxon interval
/// (smallest to largest Walsh average) covers with probability
/// `1 - 2 / 2^n`: 0.9375 at 5 pairs, short of 95%; 0.969 at 6.
pub const MIN_PAIRS: usize = 6;

/// Up to this many pairs, all `n(n+1)/2` Walsh averages (2 million, 16 MB,
/// 70 ms at the limit); above, see [`Estimator::MedianOfRatios`].
pub const MAX_WALSH_PAIRS: usize = 2000;

/// Family-wise false-alarm rate of one run: the chance that comparing a
/// build with itself flags any metric at all.
pub const FAMILY_ALPHA: f64 = 0.05;

/// Which estimate and interval a [`PairedChange`] carries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// Hodges-Lehmann estimate, Wilcoxon signed-rank interval.
    #[default]
    HodgesLehmann,
    /// Above [`MAX_WALSH_PAIRS`] pairs: median of the log-ratios, sign-test
    /// interval (binomial order statistics). About 20% wider under normal
    /// noise, which thousands of pairs afford, but O(n log n), not O(n^2).
    MedianOfRatios,
    /// One Hodges-Lehmann estimate per process pair (round), Student's t
    /// interval across them: the process is the replicate
    /// (`crate::rounds`).
    AcrossRounds,
}

/// Verdict on one metric from its pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairedVerdict {
    /// Beyond the threshold on the worse side, the interval wholly on that
    /// side, and significant after Holm.
    Regressed,
    /// The mirror image on the better side.
    Improved,
    /// The run could have seen a change of the threshold's size and saw
    /// none: the estimate and the MDE are both within the threshold.
    NoChange,
    /// Neither of those, and the MDE exceeds the threshold (too noisy to
    /// see a change that matters), or the estimate does, not significantly.
    Inconclusive,
    /// `Better::Neither`: figures reported, never judged.
    Informational,
    /// Fewer than [`MIN_PAIRS`] pairs, or a sample that is zero, negative
    /// or not finite (no log-ratio); [`PairedChange::unusable`] says which.
    TooFewPairs,
}

/// How one metric moved from base to candidate, from its pairs.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedChange {
    /// Pairs given, usable or not.
    pub n_pairs: usize,
    /// Process pairs (rounds) the pairs came from; 0 when the figures
    /// rest on the pairs alone (one process pair).
    #[serde(default)]
    pub rounds: usize,
    pub estimator: Estimator,
    /// Candidate vs base in percent: positive when the value rose, whichever
    /// direction is better. `None` when unusable, as are all figures.
    pub change_pct: Option<f64>,
    /// 95% interval of `change_pct` (`e^x - 1` of one of log-ratios).
    pub ci_pct: Option<Interval>,
    /// Minimum detectable effect: half the width of `ci_pct`, in percent.
    pub mde_pct: Option<f64>,
    /// Two-sided Wilcoxon signed-rank p-value, see [`signed_rank_p`].
    pub p_value: Option<f64>,
    /// Holm-adjusted p-value within its run ([`judge_run`]): `p_value` for
    /// a metric judged alone, `None` for `Better::Neither`.
    pub p_holm: Option<f64>,
    /// Why there are no figures.
    pub unusable: Option<String>,
}

/// One metric of a run, as [`judge_run`] takes it.
#[derive(Debug, Clone, Copy)]
pub struct PairedMetric<'a> {
    pub name: &'a str,
    pub better: Better,
    /// Allowed change in percent, as `policy::Policy::pct_for` gives it.
    pub threshold_pct: f64,
    /// `(base, candidate)` samples, one pair per input.
    pub pairs: &'a [(f64, f64)],
    /// How many of `pairs` each process pair (round) gave, in order; empty
    /// or fewer than `rounds::MIN_ROUNDS`: judged on the pairs alone.
    pub rounds: &'a [u32],
    /// The spread between two builds of one source, when the two sides
    /// are different builds and it was measured (`perf calibrate
    /// --builds`): added to the variance across rounds.
    pub between_builds: Option<BuildVariance>,
}

/// One metric's figures and verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedJudgement {
    pub name: String,
    pub better: Better,
    pub threshold_pct: f64,
    pub change: PairedChange,
    pub verdict: PairedVerdict,
}

/// Figures of one metric from its `(base, candidate)` pairs, as a family of
/// one (`p_holm == p_value`).
pub fn paired_change(pairs: &[(f64, f64)]) -> PairedChange {
    let n_pairs = pairs.len();
    let estimator = if n_pairs <= MAX_WALSH_PAIRS {
        Estimator::HodgesLehmann
    } else {
        Estimator::MedianOfRatios
    };
    let unusable = |why| PairedChange {
        n_pairs,
        estimator,
        unusable: Some(why),
        ..PairedChange::default()
    };
    let d = match log_ratios(pairs) {
        Ok(d) => d,
        Err(why) => return unusable(why),
    };
    let (estimate, ci) = if estimator == Estimator::HodgesLehmann {
        walsh_estimate(&d)
    } else {
        let mut sorted = d.clone();
        sorted.sort_by(f64::total_cmp);
        let ci = quantile_ci_sorted(&sorted, 0.5, CONFIDENCE);
        (percentile_sorted(&sorted, 50.0), ci)
    };
    let Some(ci) = ci else {
        return unusable(format!("{n_pairs} pairs give no {CONFIDENCE} interval"));
    };
    let (low, high) = (pct(ci.low), pct(ci.high));
    let p = signed_rank_p(&d);
    PairedChange {
        n_pairs,
        rounds: 0,
        estimator,
        change_pct: Some(pct(estimate)),
        ci_pct: Some(Interval { low, high }),
        mde_pct: Some((high - low) / 2.0),
        p_value: Some(p),
        p_holm: Some(p),
        unusable: None,
    }
}

/// The rule, on figures already computed: a regression or improvement
/// needs `p_holm <= alpha` as well as the threshold and the interval.
///
/// # Panics
/// On a negative or NaN threshold: a caller bug.
pub fn verdict(c: &PairedChange, better: Better, threshold: f64, alpha: f64) -> PairedVerdict {
    assert!(threshold >= 0.0, "threshold {threshold}% is not >= 0");
    let (Some(change), Some(ci), Some(mde)) = (c.change_pct, c.ci_pct, c.mde_pct) else {
        return PairedVerdict::TooFewPairs;
    };
    // "Positive is worse" for both directions, as in `compare`.
    let worse_sign = match better {
        Better::Lower => 1.0,
        Better::Higher => -1.0,
        Better::Neither => return PairedVerdict::Informational,
    };
    let worse = worse_sign * change;
    let (a, b) = (worse_sign * ci.low, worse_sign * ci.high);
    let significant = c.p_holm.is_some_and(|p| p <= alpha);
    if significant && worse > threshold && a.min(b) > 0.0 {
        PairedVerdict::Regressed
    } else if significant && -worse > threshold && a.max(b) < 0.0 {
        PairedVerdict::Improved
    } else if mde > threshold || worse.abs() > threshold {
        // An estimate beyond the threshold that is not significant is no
        // evidence of no change either.
        PairedVerdict::Inconclusive
    } else {
        PairedVerdict::NoChange
    }
}

/// Figures and verdicts of a run, in input order. Holm's family is the
/// metrics that can be judged (a direction, usable pairs), so identical code
/// flags any with probability at most `alpha` ([`FAMILY_ALPHA`] by default).
/// Intervals stay per-metric 95%: they say how large, the p-value whether.
///
/// # Panics
/// On `alpha` outside (0, 1), or a threshold [`verdict`] refuses.
pub fn judge_run(metrics: &[PairedMetric<'_>], alpha: f64) -> Vec<PairedJudgement> {
    assert!(alpha > 0.0 && alpha < 1.0, "alpha {alpha} is not in (0, 1)");
    let mut changes: Vec<PairedChange> = metrics.iter().map(change_of).collect();
    let family: Vec<(usize, f64)> = (0..metrics.len())
        .filter(|&i| metrics[i].better != Better::Neither)
        .filter_map(|i| changes[i].p_value.map(|p| (i, p)))
        .collect();
    let ps: Vec<f64> = family.iter().map(|&(_, p)| p).collect();
    changes.iter_mut().for_each(|c| c.p_holm = None);
    for (&(i, _), adjusted) in family.iter().zip(holm_adjust(&ps)) {
        changes[i].p_holm = Some(adjusted);
    }
    let judge = |(m, change): (&PairedMetric, PairedChange)| PairedJudgement {
        name: m.name.to_string(),
        better: m.better,
        threshold_pct: m.threshold_pct,
        verdict: verdict(&change, m.better, m.threshold_pct, alpha),
        change,
    };
    metrics.iter().zip(changes).map(judge).collect()
}

/// One metric's figures: across its rounds when it has enough of them,
/// else from its pairs alone.
fn change_of(m: &PairedMetric<'_>) -> PairedChange {
    if m.rounds.len() < crate::rounds::MIN_ROUNDS {
        return paired_change(m.pairs);
    }
    let mut rest = m.pairs;
    let rounds: Vec<Vec<(f64, f64)>> = m
        .rounds
        .iter()
        .map(|&n| {
            let (head, tail) = rest.split_at((n as usize).min(rest.len()));
            rest = tail;
            head.to_vec()
        })
        .collect();
    let n_pairs = m.pairs.len();
    match crate::rounds::across_rounds_with(&rounds, m.between_builds) {
        Ok(r) => PairedChange {
            n_pairs,
            rounds: r.rounds,
            estimator: Estimator::AcrossRounds,
            change_pct: Some(r.change_pct),
            ci_pct: Some(r.ci_pct),
            mde_pct: Some((r.ci_pct.high - r.ci_pct.low) / 2.0),
            p_value: Some(r.p_value),
            p_holm: Some(r.p_value),
            unusable: None,
        },
        Err(why) => PairedChange {
            n_pairs,
            rounds: m.rounds.len(),
            estimator: Estimator::AcrossRounds,
            unusable: Some(why),
            ..PairedChange::default()
        },
    }
}

/// Holm-Bonferroni adjusted p-values, in input order: the `k`-th smallest
/// (from 0) times `m - k`, capped at 1 and kept monotone, so that an
/// adjusted value `<= alpha` is a rejection by Holm's step-down test.
pub fn holm_adjust(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let (mut adjusted, mut running) = (vec![1.0; m], 0.0_f64);
    for (k, &i) in order.iter().enumerate() {
        running = running.max(((m - k) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// Two-sided Wilcoxon signed-rank p-value of log-ratios `d` against zero.
/// Zeros are dropped (Wilcoxon's rule, R's and scipy's default; none left
/// gives 1), tied `|d|` get average ranks. Exact up to [`MAX_EXACT_PAIRS`]
/// nonzero untied differences, as small runs need (6 pairs all one way:
/// 2/64). Otherwise normal, tie-corrected and continuity-corrected as R's
/// `wilcox.test`: approximate for a small run with ties (equal ratios).
pub fn signed_rank_p(d: &[f64]) -> f64 {
    let mut nonzero: Vec<f64> = d.iter().copied().filter(|&x| x != 0.0).collect();
    let n = nonzero.len(); // 0 falls through to the exact path's p = 1
    nonzero.sort_by(|x, y| x.abs().total_cmp(&y.abs()));
    let (mut t_plus, mut tie_term, mut i) = (0.0, 0.0, 0);
    while i < n {
        let mut j = i;
        while j + 1 < n && nonzero[j + 1].abs() == nonzero[i].abs() {
            j += 1;
        }
        let positive = nonzero[i..=j].iter().filter(|&&x| x > 0.0).count();
        t_plus += ((i + j) as f64 / 2.0 + 1.0) * positive as f64;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let m = n * (n + 1) / 2;
    if n <= MAX_EXACT_PAIRS && tie_term == 0.0 {
        // Whole ranks, so `t_plus` is an integer; P(T >= t) = P(T <= m - t).
        let (cdf, t) = (signed_rank_cdf(n), t_plus.round() as usize);
        return (2.0 * cdf[t].min(cdf[m - t])).min(1.0);
    }
    let nf = n as f64;
    // Positive even when all `n` tie: n(n+1)(3n+3)/48.
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term / 48.0;
    let z = ((t_plus - m as f64 / 2.0).abs() - 0.5).max(0.0) / var.sqrt();
    (2.0 * normal_sf(z)).min(1.0)
}

/// `ln(b / a)` of each pair, or why the pairs cannot be judged.
fn log_ratios(pairs: &[(f64, f64)]) -> Result<Vec<f64>, String> {
    let n = pairs.len();
    if n < MIN_PAIRS {
        return Err(format!("{n} pairs, fewer than the {MIN_PAIRS} needed"));
    }
    let log_ratio = |(i, &(a, b)): (usize, &(f64, f64))| {
        for (side, x) in [("base", a), ("candidate", b)] {
            if !(x.is_finite() && x > 0.0) {
                let why = "only positive finite samples have a log-ratio";
                return Err(format!("pair {i} has {side} sample {x}: {why}"));
            }
        }
        // A difference of logs: `b / a` could overflow where this cannot.
        Ok(b.ln() - a.ln())
    };
    pairs.iter().enumerate().map(log_ratio).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::compare_metric;
    use perf_contract::{fixture::normal, schema::Metric, schema::Unit};
    use PairedVerdict::{Improved, Inconclusive, NoChange, Regressed, TooFewPairs};

    type Pairs = Vec<(f64, f64)>;

    /// `n` pairs of 10 ms, the candidate `1 + change` times the base, each
    /// sample with noise `e^(noise z)`, both of pair `i` times `drift(i)`.
    fn drifting(seed: u64, n: usize, noise: f64, change: f64, drift: fn(usize) -> f64) -> Pairs {
        let mut state = seed;
        let mut sample = |i| 10.0 * drift(i) * (noise * normal(&mut state)).exp();
        let pair = |i| (sample(i), sample(i) * (1.0 + change));
        (0..n).map(pair).collect()
    }

    fn pairs(seed: u64, n: usize, noise: f64, change: f64) -> Pairs {
        drifting(seed, n, noise, change, |_| 1.0)
    }

    /// One metric judged alone (a family of one).
    fn judge(p: &[(f64, f64)], better: Better, threshold: f64) -> (PairedChange, PairedVerdict) {
        let c = paired_change(p);
        (c.clone(), verdict(&c, better, threshold, FAMILY_ALPHA))
    }

    #[test]
    fn identical_code_with_noise_is_no_change() {
        let (c, v) = judge(&pairs(1, 54, 0.02, 0.0), Better::Lower, 3.0);
        let ci = c.ci_pct.unwrap();
        assert!(ci.low < 0.0 && ci.high > 0.0, "{c:?}");
        assert!(c.mde_pct.unwrap() < 1.5, "{c:?}");
        assert_eq!((v, c.estimator), (NoChange, Estimator::HodgesLehmann));
    }

    #[test]
    fn consistent_five_percent_regresses() {
        let (c, v) = judge(&pairs(2, 54, 0.02, 0.05), Better::Lower, 3.0);
        assert_eq!(v, Regressed, "{c:?}");
        assert!(c.ci_pct.unwrap().low > 0.0, "{c:?}");
        assert!((c.change_pct.unwrap() - 5.0).abs() < 1.0, "{c:?}");
    }

    #[test]
    fn drift_cancels_in_pairs_but_not_unpaired() {
        // Both builds slow by up to 20% over the run (thermal, a neighbour's
        // load); the two samples of a pair share their moment.
        let ramp = |i: usize| 0.8 + 0.4 * i as f64 / 53.0;
        let metric = |samples: Vec<f64>| {
            Metric::new(Unit::Milliseconds, Better::Lower, String::new(), samples).unwrap()
        };
        for (seed, change, expected) in [(2, 0.05, Regressed), (1, 0.0, NoChange)] {
            let (steady, _) = judge(&pairs(seed, 54, 0.02, change), Better::Lower, 3.0);
            let drifted = drifting(seed, 54, 0.02, change, ramp);
            let (c, v) = judge(&drifted, Better::Lower, 3.0);
            assert_eq!(v, expected, "{c:?}");
            let moved = c.change_pct.unwrap() - steady.change_pct.unwrap();
            assert!(moved.abs() < 1e-9, "{moved}");
            // The same samples unpaired: two runs' medians, bootstrapped.
            let base = metric(drifted.iter().map(|p| p.0).collect());
            let cand = metric(drifted.iter().map(|p| p.1).collect());
            let ci = compare_metric(&base, &cand, 3.0, 7).ratio_ci.unwrap();
            let (unpaired, paired) = ((ci.high - ci.low) * 50.0, c.mde_pct.unwrap());
            assert!(unpaired > 3.0, "unpaired MDE {unpaired}");
            assert!(unpaired > 4.0 * paired, "{unpaired} vs {paired}");
        }
    }

    #[test]
    fn very_noisy_pairs_are_inconclusive() {
        let (c, v) = judge(&pairs(3, 54, 0.3, 0.0), Better::Lower, 3.0);
        assert_eq!(v, Inconclusive);
        assert!(c.mde_pct.unwrap() > 3.0, "{c:?}");
    }

    #[test]
    fn higher_is_better_flips_the_verdict() {
        let (up, down) = (pairs(2, 54, 0.02, 0.05), pairs(2, 54, 0.02, -0.05));
        let judged = |p: &Pairs, better| judge(p, better, 3.0).1;
        assert_eq!(judged(&up, Better::Higher), Improved);
        assert_eq!(judged(&down, Better::Higher), Regressed);
        assert_eq!(judged(&down, Better::Lower), Improved);
        let (c, v) = judge(&up, Better::Neither, 3.0);
        assert_eq!(v, PairedVerdict::Informational);
        assert!(c.change_pct.is_some(), "figures are still reported");
    }

    /// Thirty metrics of identical code, 54 pairs with 5% noise each, at
    /// threshold 0 so that only significance decides: (metrics flagged when
    /// each is judged alone at 5%, metrics flagged when judged as a run).
    fn null_run(seed: u64) -> (usize, usize) {
        let noise = |k| pairs(seed * 1000 + k, 54, 0.05, 0.0);
        let run: Vec<Pairs> = (0..30).map(noise).collect();
        let (name, better, threshold_pct) = ("noise", Better::Lower, 0.0);
        let metric = |pairs| PairedMetric {
            name,
            better,
            threshold_pct,
            pairs,
            rounds: &[],
            between_builds: None,
        };
        let metrics: Vec<PairedMetric> = run.iter().map(|p| metric(p)).collect();
        let flagged = |js: Vec<PairedJudgement>| {
            let flag = |j: &&PairedJudgement| matches!(j.verdict, Regressed | Improved);
            js.iter().filter(flag).count()
        };
        let alone = |m: &PairedMetric| flagged(judge_run(&[*m], FAMILY_ALPHA));
        let together = flagged(judge_run(&metrics, FAMILY_ALPHA));
        (metrics.iter().map(alone).sum(), together)
    }

    #[test]
    fn holm_keeps_one_false_alarm_budget_per_run() {
        // Seed 3: judged one at a time, two metrics of pure noise would be
        // flagged; judged as a run, none.
        assert_eq!(null_run(3), (2, 0));
        // Over 100 runs, per-metric testing flags 1.5 metrics a run and Holm
        // about one run in twenty or fewer (1000 runs: 1450 metrics; 29 runs).
        let runs: Vec<(usize, usize)> = (100..200).map(null_run).collect();
        let alone: usize = runs.iter().map(|r| r.0).sum();
        let runs_flagged = runs.iter().filter(|r| r.1 > 0).count();
        assert!((100..=200).contains(&alone), "{alone} flagged alone");
        assert!(runs_flagged <= 10, "{runs_flagged} runs flagged by Holm");
        // Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, kept monotone.
        let adjusted = holm_adjust(&[0.01, 0.04, 0.03, 0.005]);
        let expected = [0.03, 0.06, 0.06, 0.02];
        let error = |(a, e): (&f64, f64)| (a - e).abs();
        assert!(adjusted.iter().zip(expected).map(error).sum::<f64>() < 1e-12);
    }

    #[test]
    fn hodges_lehmann_and_wilcoxon_interval_match_hand_values() {
        // d = ln(b/a) = [-3, 1, 2, 4, 5, 7, 8, 11, 14, 20] / 100. Of the 55
        // Walsh averages the 28th smallest is 6.5 (median 6, mean 6.9). For
        // n = 10, P(T <= 8) = 25/1024 <= 0.025 < P(T <= 9) = 33/1024 (the
        // tabled critical value 8), so c = 9 and the interval is the 9th and
        // 47th smallest: 2 and 12. |-3| has rank 3, so T+ = 52 and
        // p = 2 P(T <= 3) = 2 * 5/1024.
        let d = [-3.0, 1.0, 2.0, 4.0, 5.0, 7.0, 8.0, 11.0, 14.0, 20.0];
        let pair = |x: &f64| (2.0, 2.0 * (x / 100.0).exp());
        let c = paired_change(&d.iter().map(pair).collect::<Pairs>());
        let close = |got: f64, log: f64| (got - pct(log / 100.0)).abs() < 1e-9;
        assert!(close(c.change_pct.unwrap(), 6.5), "{c:?}");
        let ci = c.ci_pct.unwrap();
        assert!(close(ci.low, 2.0) && close(ci.high, 12.0), "{ci:?}");
        assert!(close(ci.low + 2.0 * c.mde_pct.unwrap(), 12.0));
        assert!((c.p_value.unwrap() - 10.0 / 1024.0).abs() < 1e-12);
    }

    #[test]
    fn exact_and_normal_p_values_agree_where_they_meet() {
        // Ranks 1..=50, 1..=26 and 49 negative: T+ = 1275 - 400 = 875,
        // z = (875 - 637.5 - 0.5) / 103.6 = 2.29.
        let sign = |k: i32| if k <= 26 || k == 49 { -1.0 } else { 1.0 };
        let d: Vec<f64> = (1..=50).map(|k| sign(k) * f64::from(k)).collect();
        let mut tied = d.clone();
        tied[0] = -2.0; // ranks 1.5 and 1.5 for the normal path, same T+
        let (exact, normal) = (signed_rank_p(&d), signed_rank_p(&tied));
        assert!((normal - 0.0220).abs() < 1e-3, "{normal}");
        assert!((normal / exact - 1.0).abs() < 0.05, "{exact} vs {normal}");
        let six = signed_rank_p(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert!((six - 2.0 / 64.0).abs() < 1e-12, "{six}");
        // Counts, say: every pair equal, every difference zero.
        let (c, v) = judge(&[(7.0, 7.0); 12], Better::Lower, 1.0);
        let figures = (c.change_pct, c.mde_pct, c.p_value);
        assert_eq!((figures, v), ((Some(0.0), Some(0.0), Some(1.0)), NoChange));
    }

    #[test]
    fn too_few_or_unusable_pairs_are_not_judged() {
        let good = pairs(4, 6, 0.02, 0.5);
        assert_eq!(judge(&good, Better::Lower, 3.0).1, Regressed);
        let (c, v) = judge(&good[..5], Better::Lower, 3.0);
        assert_eq!((v, c.change_pct, c.n_pairs), (TooFewPairs, None, 5));
        assert!(c.unusable.unwrap().contains("fewer than the 6"));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut p = good.clone();
            p[3].1 = bad;
            let (c, v) = judge(&p, Better::Neither, 3.0);
            let why = c.unusable.unwrap();
            assert!(v == TooFewPairs && why.starts_with("pair 3 has candidate"));
        }
    }

    #[test]
    fn large_runs_use_the_median_of_ratios() {
        let (c, v) = judge(&pairs(5, 2500, 0.02, 0.05), Better::Lower, 3.0);
        assert_eq!((c.estimator, v), (Estimator::MedianOfRatios, Regressed));
        let (change, mde) = (c.change_pct.unwrap(), c.mde_pct.unwrap());
        assert!((change - 5.0).abs() < 0.5 && mde < 0.3, "{c:?}");
    }
}
