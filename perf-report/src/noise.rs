//! Between-run noise: how far a metric's median moves between identical
//! runs on this machine, estimated from earlier comparable runs.
//!
//! The bootstrap interval of the regression check only sees the spread
//! *within* a run. On a shared machine whole runs drift: identical quick
//! runs on a 2-core VM put the median query latency anywhere from 11.9 to
//! 16 ms within half an hour, while each run's own 95% interval was about
//! ±0.3 ms. Like rustc-perf's significance
//! thresholds from history, the check widens a metric's threshold to
//! `NOISE_K` robust standard deviations of its past medians, once there are
//! enough past runs to estimate one; below that it keeps the configured
//! threshold and says so.

use std::collections::BTreeMap;

use perf_contract::{plan::WorkloadName, schema::Baseline};

/// Runs needed before a spread is trusted.
pub const MIN_RUNS: usize = 5;
/// Standard deviations a change must exceed: 3σ keeps a single metric's
/// false-alarm rate near 0.3% if run medians were normal.
pub const NOISE_K: f64 = 3.0;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunNoise {
    pub runs: usize,
    /// Robust relative standard deviation of run medians, per metric.
    sigma: BTreeMap<(WorkloadName, String), f64>,
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

impl RunNoise {
    /// Estimates from `runs` (all comparable with each other): σ = 1.4826 ×
    /// the median absolute deviation of the log medians, which one
    /// outlier run cannot inflate.
    pub fn from_runs(runs: &[&Baseline]) -> RunNoise {
        let mut medians: BTreeMap<(WorkloadName, String), Vec<f64>> = BTreeMap::new();
        for run in runs {
            for (w, result) in &run.workloads {
                for (name, m) in &result.metrics {
                    if m.summary.median > 0.0 {
                        medians
                            .entry((*w, name.to_string()))
                            .or_default()
                            .push(m.summary.median.ln());
                    }
                }
            }
        }
        let sigma = medians
            .into_iter()
            .filter(|(_, v)| v.len() >= MIN_RUNS)
            .map(|(k, mut v)| {
                let mid = median(&mut v);
                let mut dev: Vec<f64> = v.iter().map(|x| (x - mid).abs()).collect();
                (k, 1.4826 * median(&mut dev))
            })
            .collect();
        RunNoise {
            runs: runs.len(),
            sigma,
        }
    }

    /// The threshold in percent that the between-run noise alone calls
    /// for, when it could be estimated.
    pub fn threshold_pct(&self, workload: WorkloadName, metric: &str) -> Option<f64> {
        let s = self.sigma.get(&(workload, metric.to_string()))?;
        // exp(kσ) - 1: the ratio of medians that kσ of log-noise allows.
        Some(((NOISE_K * s).exp() - 1.0) * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_contract::{
        fixture::baseline,
        schema::{Better, Unit},
    };

    fn run(latency_ms: f64) -> Baseline {
        baseline(&[(
            WorkloadName::RagQuery,
            "latency",
            Unit::Milliseconds,
            Better::Lower,
            vec![latency_ms; 3],
        )])
    }

    #[test]
    fn needs_enough_runs() {
        let runs: Vec<Baseline> = [10.0, 11.0, 12.0, 10.5].map(run).into();
        let refs: Vec<&Baseline> = runs.iter().collect();
        assert_eq!(
            RunNoise::from_runs(&refs).threshold_pct(WorkloadName::RagQuery, "latency"),
            None
        );
    }

    #[test]
    fn spread_of_run_medians_sets_the_threshold() {
        // Medians 10 ± ~10%: log-MAD ≈ 0.095, 3σ ≈ 0.42 → about +52%.
        let runs: Vec<Baseline> = [9.0, 10.0, 11.0, 10.0, 9.0, 11.0, 10.0].map(run).into();
        let refs: Vec<&Baseline> = runs.iter().collect();
        let t = RunNoise::from_runs(&refs)
            .threshold_pct(WorkloadName::RagQuery, "latency")
            .unwrap();
        assert!((40.0..60.0).contains(&t), "{t}");
        // Identical runs: no noise, no widening beyond the configured figure.
        let same: Vec<Baseline> = [10.0; 6].map(run).into();
        let refs: Vec<&Baseline> = same.iter().collect();
        assert_eq!(
            RunNoise::from_runs(&refs).threshold_pct(WorkloadName::RagQuery, "latency"),
            Some(0.0)
        );
    }
}
