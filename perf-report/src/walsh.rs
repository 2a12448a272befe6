//! The Hodges-Lehmann estimate of log-ratios and the Wilcoxon signed-rank
//! interval around it, over the Walsh averages `(d_i + d_j) / 2`: the
//! estimator of one process pair's pairs (`paired`) and of each round's
//! estimate when the rounds are the replicates (`rounds`).

use perf_contract::summary::{Interval, CONFIDENCE};

/// Up to this many pairs (nonzero differences, for the p-value) the null
/// distribution is exact, about where R and scipy switch; above, normal.
pub const MAX_EXACT_PAIRS: usize = 50;

/// The Hodges-Lehmann estimate of `d` (one value: itself).
pub fn hodges_lehmann(d: &[f64]) -> f64 {
    walsh_estimate(d).0
}

/// Hodges-Lehmann estimate and Wilcoxon interval of `d`, in log space.
pub(crate) fn walsh_estimate(d: &[f64]) -> (f64, Option<Interval>) {
    let n = d.len();
    let mut walsh = Vec::with_capacity(n * (n + 1) / 2);
    for (i, x) in d.iter().enumerate() {
        walsh.extend(d[i..].iter().map(|y| 0.5 * (x + y)));
    }
    let m = walsh.len();
    // The k-th smallest (from 0) in O(m): four selections beat one sort.
    let mut nth = |k: usize| *walsh.select_nth_unstable_by(k, f64::total_cmp).1;
    let hl = 0.5 * (nth((m - 1) / 2) + nth(m / 2)); // one element when m is odd
    let ci = critical_rank(n).map(|c| Interval {
        low: nth(c - 1),
        high: nth(m - c),
    });
    (hl, ci)
}

/// The 1-based rank `c` of the Wilcoxon interval `[W_(c), W_(M+1-c)]`: one
/// more than the largest `k` with `P(T <= k) <= tail` for the signed-rank
/// statistic `T` under no change; `None` below six pairs.
fn critical_rank(n: usize) -> Option<usize> {
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let c = if n <= MAX_EXACT_PAIRS {
        let cdf = signed_rank_cdf(n);
        cdf.iter().take_while(|&&p| p <= tail).count()
    } else {
        normal_critical_rank(n)
    };
    (c >= 1).then_some(c)
}

/// [`critical_rank`] from `P(T <= k) ~ Phi((k + 0.5 - mean) / sd)`.
fn normal_critical_rank(n: usize) -> usize {
    let nf = n as f64;
    let mean = nf * (nf + 1.0) / 4.0;
    let sd = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
    (mean - Z_CONFIDENCE * sd + 0.5).floor().max(0.0) as usize
}

/// `cdf[k] = P(T <= k)` for `n` untied nonzero differences under no change:
/// each rank counts with probability 1/2, a random subset sum of `1..=n`.
pub(crate) fn signed_rank_cdf(n: usize) -> Vec<f64> {
    let m = n * (n + 1) / 2;
    let mut pmf = vec![0.0; m + 1];
    pmf[0] = 1.0;
    for r in 1..=n {
        for k in (0..=m).rev() {
            let with_r = if k >= r { pmf[k - r] } else { 0.0 };
            pmf[k] = 0.5 * (pmf[k] + with_r);
        }
    }
    for k in 1..=m {
        pmf[k] += pmf[k - 1];
    }
    pmf // now the cdf
}

/// A log-ratio as a percent change.
pub fn pct(log_ratio: f64) -> f64 {
    log_ratio.exp_m1() * 100.0
}

/// The normal quantile at `(1 + CONFIDENCE) / 2`, checked by a test.
const Z_CONFIDENCE: f64 = 1.959_963_984_540_054;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mann_whitney::normal_sf;

    #[test]
    fn critical_ranks_match_the_tables() {
        // n = 20: tabled critical value 52, c = 53; 6 pairs: the widest.
        let ranks = (critical_rank(20), critical_rank(6), critical_rank(5));
        assert_eq!(ranks, (Some(53), Some(1), None));
        // Where the normal approximation takes over it is within a rank.
        let (exact, normal) = (critical_rank(50).unwrap(), normal_critical_rank(50));
        assert!(exact.abs_diff(normal) <= 1, "{exact} vs {normal}");
        let tail = normal_sf(Z_CONFIDENCE) - (1.0 - CONFIDENCE) / 2.0;
        assert!(tail.abs() < 1e-8, "Z_CONFIDENCE does not match CONFIDENCE");
        assert_eq!(hodges_lehmann(&[0.3]), 0.3);
    }
}
