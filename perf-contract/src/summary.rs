//! Descriptive statistics over raw samples: percentiles, spread and
//! distribution-free confidence intervals for quantiles.
//!
//! Percentiles use linear interpolation between closest ranks (Hyndman & Fan
//! type 7, numpy's default), so figures match what users get from numpy or a
//! spreadsheet. Confidence intervals for the median and p95 use order
//! statistics and the binomial distribution: they assume nothing about the
//! shape of the latency distribution (which is skewed and multi-modal in
//! practice), need no random numbers, and are `None` when there are too few
//! samples to bound the quantile at the requested confidence, rather than a
//! made-up interval.

use serde::{Deserialize, Serialize};

/// Confidence level used for every interval this crate reports.
pub const CONFIDENCE: f64 = 0.95;

/// Summary of one metric's raw samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of samples every figure below rests on.
    pub count: usize,
    pub mean: f64,
    pub median: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub min: f64,
    pub max: f64,
    /// Sample standard deviation (n - 1 denominator); 0 for a single sample.
    pub stdev: f64,
    /// 95% distribution-free confidence interval of the median.
    pub median_ci: Option<Interval>,
    /// 95% distribution-free confidence interval of the 95th percentile.
    pub p95_ci: Option<Interval>,
}

/// A closed interval `[low, high]` of the sample's units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Summary {
    /// Summarises `samples`; `None` when there are none (or any is NaN), since
    /// no honest figure can be given for an empty measurement.
    pub fn from_samples(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|s| s.is_nan()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let stdev = if n > 1 {
            let var = sorted.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            var.sqrt()
        } else {
            0.0
        };
        let p50 = percentile_sorted(&sorted, 50.0);
        Some(Summary {
            count: n,
            mean,
            median: p50,
            p50,
            p95: percentile_sorted(&sorted, 95.0),
            p99: percentile_sorted(&sorted, 99.0),
            min: sorted[0],
            max: sorted[n - 1],
            stdev,
            median_ci: quantile_ci_sorted(&sorted, 0.5, CONFIDENCE),
            p95_ci: quantile_ci_sorted(&sorted, 0.95, CONFIDENCE),
        })
    }
}

/// The `pct`-th percentile (0..=100) of already sorted samples, type-7
/// linear interpolation.
///
/// # Panics
/// On an empty slice or a percentile outside 0..=100: both are caller bugs.
pub fn percentile_sorted(sorted: &[f64], pct: f64) -> f64 {
    assert!(!sorted.is_empty(), "percentile of no samples");
    assert!(
        (0.0..=100.0).contains(&pct),
        "percentile {pct} out of range"
    );
    let h = (sorted.len() - 1) as f64 * pct / 100.0;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Distribution-free confidence interval for the `q`-quantile of sorted
/// samples: the pair of order statistics `(x_(l), x_(u))` with
/// `P(x_(l) <= Q_q <= x_(u)) >= level`, chosen as close to symmetric in
/// probability as possible. `None` when even `(min, max)` does not reach the
/// level, which is how "too few samples for this percentile" shows up.
pub fn quantile_ci_sorted(sorted: &[f64], q: f64, level: f64) -> Option<Interval> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    // B ~ Binomial(n, q) counts samples below the true quantile. The interval
    // between order statistics l and u (1-based) covers it with probability
    // P(l <= B < u) = cdf(u - 1) - cdf(l - 1).
    let cdf = binomial_cdf_table(n, q);
    let coverage = |l: usize, u: usize| cdf[u - 1] - if l >= 1 { cdf[l - 1] } else { 0.0 };
    if coverage(1, n) < level {
        return None;
    }
    let tail = (1.0 - level) / 2.0;
    // Largest l with P(B < l) <= tail, smallest u with P(B >= u) <= tail.
    let mut l = 1;
    while l < n && cdf[l] <= tail {
        l += 1;
    }
    let mut u = n;
    while u > l + 1 && 1.0 - cdf[u - 2] <= tail {
        u -= 1;
    }
    // The symmetric choice can miss the level when one tail is short (high
    // quantiles with few samples); widen until it holds.
    while coverage(l, u) < level {
        if u < n {
            u += 1;
        } else if l > 1 {
            l -= 1;
        } else {
            break;
        }
    }
    Some(Interval {
        low: sorted[l - 1],
        high: sorted[u - 1],
    })
}

/// `cdf[k] = P(B <= k)` for `B ~ Binomial(n, p)`, `k` in `0..=n`, computed in
/// log space so large `n` does not underflow.
fn binomial_cdf_table(n: usize, p: f64) -> Vec<f64> {
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let mut log_choose = 0.0_f64; // ln C(n, 0)
    let mut acc = 0.0;
    let mut out = Vec::with_capacity(n + 1);
    for k in 0..=n {
        if k > 0 {
            log_choose += ((n - k + 1) as f64).ln() - (k as f64).ln();
        }
        acc += (log_choose + k as f64 * lp + (n - k) as f64 * lq).exp();
        out.push(acc.min(1.0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_hand_computed_values() {
        // numpy.percentile([1..10], [50, 95, 99]) = 5.5, 9.55, 9.91
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        let s = Summary::from_samples(&xs).unwrap();
        assert_eq!(s.count, 10);
        assert!((s.p50 - 5.5).abs() < 1e-12);
        assert!((s.p95 - 9.55).abs() < 1e-12);
        assert!((s.p99 - 9.91).abs() < 1e-12);
        assert_eq!(s.median, s.p50);
        assert_eq!((s.min, s.max), (1.0, 10.0));
        assert!((s.mean - 5.5).abs() < 1e-12);
        // sample stdev of 1..=10 = sqrt(55/6)
        assert!((s.stdev - (55.0f64 / 6.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn percentiles_ignore_input_order_and_handle_one_sample() {
        let s = Summary::from_samples(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!(s.median, 2.0);
        assert!((s.p95 - 2.9).abs() < 1e-12);
        let one = Summary::from_samples(&[7.0]).unwrap();
        assert_eq!((one.p50, one.p99, one.stdev), (7.0, 7.0, 0.0));
        assert!(one.median_ci.is_none(), "one sample cannot bound a median");
    }

    #[test]
    fn empty_or_nan_samples_have_no_summary() {
        assert!(Summary::from_samples(&[]).is_none());
        assert!(Summary::from_samples(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn median_ci_uses_textbook_order_statistics() {
        // For n = 20 the classic 95% interval of the median is (x_(6), x_(15)),
        // coverage 0.9586.
        let xs: Vec<f64> = (1..=20).map(f64::from).collect();
        let ci = quantile_ci_sorted(&xs, 0.5, 0.95).unwrap();
        assert_eq!((ci.low, ci.high), (6.0, 15.0));
    }

    #[test]
    fn p95_ci_needs_enough_samples() {
        // With 20 samples P(max >= true p95) = 1 - 0.95^20 = 0.64 < 0.95.
        let xs: Vec<f64> = (1..=20).map(f64::from).collect();
        assert!(quantile_ci_sorted(&xs, 0.95, 0.95).is_none());
        let many: Vec<f64> = (1..=200).map(f64::from).collect();
        let ci = quantile_ci_sorted(&many, 0.95, 0.95).unwrap();
        assert!(ci.low <= 190.0 && ci.high >= 190.0, "{ci:?}");
    }

    /// Deterministic xorshift so the coverage check needs no crate and never flakes.
    fn xorshift(state: &mut u64) -> f64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn median_ci_contains_true_median_on_synthetic_data() {
        // Exponential(1) latencies: true median is ln 2. Over 400 independent
        // samples of size 51 a 95% interval must cover it close to 95% of the
        // time (order-statistic intervals are conservative, so >= ~93%).
        let truth = std::f64::consts::LN_2;
        let mut state = 0x9E37_79B9_7F4A_7C15;
        let trials = 400;
        let mut covered = 0;
        for _ in 0..trials {
            let mut xs: Vec<f64> = (0..51)
                .map(|_| -(1.0 - xorshift(&mut state)).ln())
                .collect();
            xs.sort_by(f64::total_cmp);
            let ci = quantile_ci_sorted(&xs, 0.5, 0.95).unwrap();
            if ci.low <= truth && truth <= ci.high {
                covered += 1;
            }
        }
        let rate = covered as f64 / trials as f64;
        assert!(rate >= 0.93, "coverage {rate}");
    }
}
