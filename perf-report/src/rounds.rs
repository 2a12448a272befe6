//! A paired comparison whose unit of replication is the process.
//!
//! Samples inside one process share its memory layout, page placement,
//! core and frequency; a second process of the same build lands elsewhere.
//! An interval built from the pairs of one process pair therefore leaves
//! out the variance that separates two runs: comparing a build with itself,
//! such intervals held zero in 64% of metric-runs where 95% was promised.
//! Here each round is a fresh pair of processes; each round gives one
//! estimate (the Hodges-Lehmann estimate of its log-ratios), and the
//! interval is Student's t over those estimates, so it is as wide as the
//! rounds disagree. A metric with one sample per process (peak RSS, a rate
//! over a pass) gets one log-ratio per round and the same rule.

use perf_contract::summary::Interval;

use crate::{
    paired::{hodges_lehmann, pct, Estimator, PairedChange},
    student_t,
};

/// Fewest rounds (process pairs) an interval is built from: with two, one
/// degree of freedom makes the 95% interval 12.7 standard errors wide.
pub const MIN_ROUNDS: usize = 3;

/// Figures of one metric from its pairs, round by round (`rounds[r]`: the
/// `(base, candidate)` pairs of process pair `r`).
pub fn across_rounds(rounds: &[Vec<(f64, f64)>]) -> PairedChange {
    let n_pairs = rounds.iter().map(Vec::len).sum();
    let unusable = |why: String| PairedChange {
        n_pairs,
        rounds: rounds.len(),
        estimator: Estimator::AcrossRounds,
        unusable: Some(why),
        ..PairedChange::default()
    };
    if rounds.len() < MIN_ROUNDS {
        return unusable(format!(
            "{} process pair(s), fewer than the {MIN_ROUNDS} an interval across processes needs",
            rounds.len()
        ));
    }
    let mut estimates = Vec::with_capacity(rounds.len());
    for (r, pairs) in rounds.iter().enumerate() {
        let mut d = Vec::with_capacity(pairs.len());
        for &(a, b) in pairs {
            if !(a.is_finite() && a > 0.0 && b.is_finite() && b > 0.0) {
                return unusable(format!(
                    "round {} has the pair ({a}, {b}): only positive finite samples have a log-ratio",
                    r + 1
                ));
            }
            d.push(b.ln() - a.ln());
        }
        if d.is_empty() {
            return unusable(format!("round {} has no pair", r + 1));
        }
        estimates.push(hodges_lehmann(&d));
    }
    let k = estimates.len() as f64;
    let mean = estimates.iter().sum::<f64>() / k;
    let var = estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (k - 1.0);
    let se = (var / k).sqrt();
    let df = k - 1.0;
    let half = student_t::quantile(0.975, df) * se;
    // Identical estimates in every round (a count): no spread to test.
    let p = if se == 0.0 {
        if mean == 0.0 {
            1.0
        } else {
            0.0
        }
    } else {
        2.0 * (1.0 - student_t::cdf((mean / se).abs(), df))
    };
    let (low, high) = (pct(mean - half), pct(mean + half));
    PairedChange {
        n_pairs,
        rounds: rounds.len(),
        estimator: Estimator::AcrossRounds,
        change_pct: Some(pct(mean)),
        ci_pct: Some(Interval { low, high }),
        mde_pct: Some((high - low) / 2.0),
        p_value: Some(p),
        p_holm: Some(p),
        unusable: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paired::paired_change;

    /// SplitMix64 then Box-Muller: seeded, no crate.
    fn normal(state: &mut u64) -> f64 {
        let mut uniform = || {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        let (u1, u2) = (uniform(), uniform());
        (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// `rounds` process pairs of `n` inputs: each input has its own cost,
    /// each process a random effect (sd `process`, its layout and core),
    /// each sample its noise (sd `sample`); the candidate is `change` slower.
    fn simulated(
        state: &mut u64,
        rounds: usize,
        n: usize,
        process: f64,
        sample: f64,
        change: f64,
    ) -> Vec<Vec<(f64, f64)>> {
        let costs: Vec<f64> = (0..n).map(|i| 1.0 + (i % 7) as f64).collect();
        (0..rounds)
            .map(|_| {
                let (ua, ub) = (process * normal(state), process * normal(state));
                costs
                    .iter()
                    .map(|c| {
                        let a = c * (ua + sample * normal(state)).exp();
                        let b = c * (1.0 + change) * (ub + sample * normal(state)).exp();
                        (a, b)
                    })
                    .collect()
            })
            .collect()
    }

    fn covers(c: &PairedChange, truth_pct: f64) -> bool {
        let ci = c.ci_pct.expect("an interval");
        ci.low <= truth_pct && truth_pct <= ci.high
    }

    /// With a random effect per process, the interval across rounds holds
    /// the truth about 95% of the time; one interval over all pairs pooled
    /// (as `perf compare` built it from one process pair) almost never.
    #[test]
    fn the_interval_across_processes_covers_and_the_pooled_one_does_not() {
        let mut state = 7;
        let trials = 1000;
        let (mut across, mut pooled) = (0, 0);
        for _ in 0..trials {
            let rounds = simulated(&mut state, 5, 30, 0.03, 0.02, 0.0);
            across += usize::from(covers(&across_rounds(&rounds), 0.0));
            let all: Vec<(f64, f64)> = rounds.concat();
            pooled += usize::from(covers(&paired_change(&all), 0.0));
        }
        let (across, pooled) = (across as f64 / trials as f64, pooled as f64 / trials as f64);
        eprintln!("{trials} simulated A/A comparisons, 5 rounds of 30 pairs: the 95% interval held 0 in {across} across rounds, {pooled} pooled");
        assert!((0.93..=0.97).contains(&across), "across rounds: {across}");
        assert!(pooled < 0.5, "pooled pairs: {pooled}");
    }

    /// A real change is found, and its estimate is near the truth.
    #[test]
    fn a_ten_percent_slowdown_is_seen_across_rounds() {
        let mut state = 11;
        let c = across_rounds(&simulated(&mut state, 5, 30, 0.01, 0.02, 0.10));
        let ci = c.ci_pct.unwrap();
        assert!(ci.low > 5.0 && ci.high < 15.0, "{c:?}");
        assert!(c.p_value.unwrap() < 0.01, "{c:?}");
        assert_eq!((c.rounds, c.n_pairs), (5, 150));
    }

    /// One sample per process (peak RSS): one log-ratio a round.
    #[test]
    fn one_sample_per_process_is_judged_across_processes_too() {
        let rounds: Vec<Vec<(f64, f64)>> = [(100.0, 103.0), (101.0, 104.0), (99.0, 102.5)]
            .iter()
            .map(|&p| vec![p])
            .collect();
        let c = across_rounds(&rounds);
        assert!(c.ci_pct.unwrap().low > 2.0, "{c:?}");
        let two = across_rounds(&rounds[..2]);
        assert!(
            two.unusable.unwrap().contains("fewer than the 3"),
            "two rounds"
        );
        let counts = vec![vec![(5.0, 5.0)]; 3];
        let c = across_rounds(&counts);
        assert_eq!((c.change_pct, c.p_value), (Some(0.0), Some(1.0)));
    }
}
