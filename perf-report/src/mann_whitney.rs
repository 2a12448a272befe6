//! The Mann-Whitney U rank test: the p-value `check` reports beside each
//! bootstrap interval (informational; the verdict rests on the interval).

/// Fewer samples than this on either side: no Mann-Whitney p-value, since
/// its normal approximation is meaningless there.
pub const MIN_RANK_TEST_SAMPLES: usize = 3;

/// Two-sided Mann-Whitney U p-value of `a` against `b` (normal
/// approximation, average ranks for ties with the tie-corrected variance,
/// continuity correction); `None` below [`MIN_RANK_TEST_SAMPLES`] per side.
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> Option<f64> {
    let (n1, n2) = (a.len(), b.len());
    if n1.min(n2) < MIN_RANK_TEST_SAMPLES {
        return None;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (mut rank_sum_a, mut tie_term, mut i) = (0.0, 0.0, 0);
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_a += mean_rank * all[i..=j].iter().filter(|e| e.1).count() as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let (n1, n2) = (n1 as f64, n2 as f64);
    let n = n1 + n2;
    let u1 = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let u = u1.max(n1 * n2 - u1);
    let var = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if var <= 0.0 {
        // Every value tied: no evidence of any difference.
        return Some(1.0);
    }
    let z = (u - n1 * n2 / 2.0 - 0.5) / var.sqrt();
    Some((2.0 * normal_sf(z)).min(1.0))
}

/// Upper tail of the standard normal distribution (also the paired
/// comparison's, `paired.rs`).
pub(crate) fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Complementary error function, Chebyshev fit with relative error below
/// 1.2e-7 everywhere (Numerical Recipes `erfcc`): far finer than any
/// decision a p-value feeds, and std has no stable `erfc`.
fn erfc(x: f64) -> f64 {
    #[rustfmt::skip]
    const COEFFS: [f64; 10] = [
        -1.265_512_23, 1.000_023_68, 0.374_091_96, 0.096_784_18, -0.186_288_06,
        0.278_868_07, -1.135_203_98, 1.488_515_87, -0.822_152_23, 0.170_872_77,
    ];
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = COEFFS.iter().rev().fold(0.0, |acc, c| c + t * acc);
    let r = t * (-z * z + poly).exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mann_whitney_matches_hand_computation() {
        // U = 9, mu = 4.5, var = 9/12 * 7; z = (9 - 4.5 - 0.5) / sqrt(5.25).
        let p = mann_whitney_p(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert!((p - 0.080_855_598).abs() < 1e-6, "{p}");
        // Ties {2,2,2} and {3,3}: ranks 1, 3, 3, 5.5 for the first sample so
        // U = 13.5, var = 16/12 * (9 - 30/56).
        let p = mann_whitney_p(&[1.0, 2.0, 2.0, 3.0], &[2.0, 3.0, 4.0, 5.0]).unwrap();
        assert!((p - 0.136_658_248).abs() < 1e-6, "{p}");
        assert_eq!(mann_whitney_p(&[1.0; 4], &[1.0; 4]), Some(1.0));
        assert_eq!(mann_whitney_p(&[1.0, 2.0], &[3.0, 4.0, 5.0]), None);
    }
}
