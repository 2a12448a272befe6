//! The percentile bootstrap of a ratio of medians: how `check` puts an
//! interval on "current median / baseline median" from two runs' raw
//! samples, each side resampled independently with replacement.

use rand::{rngs::StdRng, Rng, SeedableRng};

use perf_contract::summary::{percentile_sorted, Interval, CONFIDENCE};

/// Bootstrap resamples per metric: enough that the 2.5th and 97.5th
/// percentiles of the ratio are stable to well under a percent, while a
/// metric with thousands of samples still compares in milliseconds.
pub const RESAMPLES: usize = 2000;

/// 95% percentile-bootstrap interval of median(current) / median(baseline),
/// each side resampled independently with replacement.
pub(crate) fn bootstrap_ratio_ci(base: &[f64], cur: &[f64], seed: u64) -> Option<Interval> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut counts = Vec::new();
    let mut ratios: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let b = resampled_median(base, &mut rng, &mut counts);
            resampled_median(cur, &mut rng, &mut counts) / b
        })
        .collect();
    // Dropping resamples whose baseline median is 0 would bias the interval;
    // better to have none and leave the metric unjudged.
    if ratios.iter().any(|r| !r.is_finite()) {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0 * 100.0;
    Some(Interval {
        low: percentile_sorted(&ratios, tail),
        high: percentile_sorted(&ratios, 100.0 - tail),
    })
}

/// Median of one resample with replacement of `sorted`, in O(n) rather than
/// a sort per resample: as `sorted` is ordered, the k-th smallest resampled
/// value is `sorted[i]` for the k-th smallest drawn index, which a count of
/// draws per index finds directly.
fn resampled_median(sorted: &[f64], rng: &mut StdRng, counts: &mut Vec<usize>) -> f64 {
    let n = sorted.len();
    counts.clear();
    counts.resize(n, 0);
    for _ in 0..n {
        counts[rng.random_range(0..n)] += 1;
    }
    let value_at_rank = |k: usize| {
        let mut seen = 0;
        for (i, &c) in counts.iter().enumerate() {
            seen += c;
            if seen > k {
                return sorted[i];
            }
        }
        sorted[n - 1]
    };
    // Same interpolation as `percentile_sorted` at 50%.
    let (lo, hi) = (value_at_rank((n - 1) / 2), value_at_rank(n / 2));
    lo + 0.5 * (hi - lo)
}
