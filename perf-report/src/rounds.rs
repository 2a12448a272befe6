//! A paired comparison whose unit of replication is the process.
//!
//! Samples inside one process share its memory layout, page placement,
//! core and frequency; a second process of the same build lands elsewhere.
//! An interval built from the pairs of one process pair therefore leaves
//! out the variance that separates two runs: comparing a build with itself
//! (`perf compare HEAD HEAD --rounds 1`, 40 runs), such intervals held zero
//! in 28% of metric-runs where 95% was promised.
//! Here each round is a fresh pair of processes; each round gives one
//! estimate (the Hodges-Lehmann estimate of its log-ratios), and the
//! interval is Student's t over those estimates, so it is as wide as the
//! rounds disagree. A metric with one sample per process (peak RSS, a rate
//! over a pass) gets one log-ratio per round and the same rule.

use perf_contract::summary::Interval;

use crate::{
    build_spread::BuildVariance,
    student_t,
    walsh::{hodges_lehmann, pct},
};

/// Fewest rounds (process pairs) an interval is built from: with two, one
/// degree of freedom makes the 95% interval 12.7 standard errors wide.
pub const MIN_ROUNDS: usize = 3;

/// One metric's change with the process pair as the replicate.
#[derive(Debug, Clone, PartialEq)]
pub struct AcrossRounds {
    /// Process pairs, and the pairs they gave in all.
    pub rounds: usize,
    pub n_pairs: usize,
    /// Candidate vs base in percent (the mean of the rounds' estimates).
    pub change_pct: f64,
    /// 95% Student-t interval of `change_pct` across the rounds.
    pub ci_pct: Interval,
    /// Two-sided one-sample t-test of the rounds' estimates against 0.
    pub p_value: f64,
    /// The estimate on the log scale, its standard error and degrees of
    /// freedom, as the interval was built from them.
    pub log_ratio: f64,
    pub se_log: f64,
    pub df: f64,
}

/// The change of one metric from its pairs, round by round (`rounds[r]`:
/// the `(base, candidate)` pairs of process pair `r`), or why there is none.
pub fn across_rounds(rounds: &[Vec<(f64, f64)>]) -> Result<AcrossRounds, String> {
    across_rounds_with(rounds, None)
}

/// [`across_rounds`] for two sides that are different builds: `builds`,
/// the spread between builds of one source (`crate::build_spread`), is
/// added to the variance of the mean, which every round shares, with
/// Welch-Satterthwaite degrees of freedom.
pub fn across_rounds_with(
    rounds: &[Vec<(f64, f64)>],
    builds: Option<BuildVariance>,
) -> Result<AcrossRounds, String> {
    if rounds.len() < MIN_ROUNDS {
        return Err(format!(
            "{} process pair(s), fewer than the {MIN_ROUNDS} an interval across processes needs",
            rounds.len()
        ));
    }
    let mut estimates = Vec::with_capacity(rounds.len());
    for (r, pairs) in rounds.iter().enumerate() {
        let mut d = Vec::with_capacity(pairs.len());
        for &(a, b) in pairs {
            if !(a.is_finite() && a > 0.0 && b.is_finite() && b > 0.0) {
                return Err(format!(
                    "round {} has the pair ({a}, {b}): only positive finite samples have a log-ratio",
                    r + 1
                ));
            }
            d.push(b.ln() - a.ln());
        }
        if d.is_empty() {
            return Err(format!("round {} has no pair", r + 1));
        }
        estimates.push(hodges_lehmann(&d));
    }
    let k = estimates.len() as f64;
    let mean = estimates.iter().sum::<f64>() / k;
    let var = estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (k - 1.0);
    let rounds_var = var / k;
    let (se, df) = match builds.filter(|b| b.var > 0.0) {
        None => (rounds_var.sqrt(), k - 1.0),
        Some(b) => {
            let total = rounds_var + b.var;
            let per_df = rounds_var * rounds_var / (k - 1.0) + b.var * b.var / b.df;
            (total.sqrt(), total * total / per_df)
        }
    };
    let (half, p_value) = student_t::interval(mean, se, df);
    Ok(AcrossRounds {
        rounds: rounds.len(),
        n_pairs: rounds.iter().map(Vec::len).sum(),
        change_pct: pct(mean),
        ci_pct: Interval {
            low: pct(mean - half),
            high: pct(mean + half),
        },
        p_value,
        log_ratio: mean,
        se_log: se,
        df,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real change is found, and its estimate is near the truth.
    #[test]
    fn a_steady_slowdown_is_seen_across_rounds() {
        let round = |k: f64| -> Vec<(f64, f64)> {
            (0..30)
                .map(|i| {
                    let a = 1.0 + f64::from(i % 7);
                    (a, a * (1.10 + k * 0.01 + 0.001 * f64::from(i % 3)))
                })
                .collect()
        };
        let c =
            across_rounds(&[round(-1.0), round(0.0), round(1.0), round(0.5), round(-0.5)]).unwrap();
        assert!(c.ci_pct.low > 8.0 && c.ci_pct.high < 12.5, "{c:?}");
        assert!(c.p_value < 0.01, "{c:?}");
        assert_eq!((c.rounds, c.n_pairs), (5, 150));
    }

    /// One sample per process (peak RSS): one log-ratio a round.
    #[test]
    fn one_sample_per_process_is_judged_across_processes_too() {
        let rounds: Vec<Vec<(f64, f64)>> = [(100.0, 103.0), (101.0, 104.0), (99.0, 102.5)]
            .iter()
            .map(|&p| vec![p])
            .collect();
        let c = across_rounds(&rounds).unwrap();
        assert!(c.ci_pct.low > 2.0, "{c:?}");
        let two = across_rounds(&rounds[..2]).unwrap_err();
        assert!(two.contains("fewer than the 3"), "{two}");
        let c = across_rounds(&vec![vec![(5.0, 5.0)]; 3]).unwrap();
        assert_eq!((c.change_pct, c.p_value), (0.0, 1.0));
        assert!(across_rounds(&vec![vec![(0.0, 5.0)]; 3]).is_err());
    }
}
