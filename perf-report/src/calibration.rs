//! What this machine can resolve, measured rather than assumed: `perf
//! calibrate` runs one build in several fresh processes (an A/A
//! comparison with itself) and keeps, per metric, how far one process's
//! estimate strays from another's. A comparison on the same machine and
//! profile pools that spread with its own processes' (`crate::processes`,
//! [`Prior`]), so a run of one process a side still gets an interval as
//! wide as processes differ, and the absolute floors that stood in for
//! such knowledge (`crate::policy`) are not applied to a calibrated metric.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use perf_contract::{
    environment::Environment,
    metric_key::MetricKey,
    plan::{ProfileName, WorkloadName},
    schema::{Baseline, Better},
};

use crate::{processes::process_spread, student_t};

pub use crate::processes::Prior;

/// One metric's spread between processes of one build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Standard deviation of one process's estimate, in log units
    /// (0.01 ≈ 1%).
    pub sd_log: f64,
    /// Processes it was measured from, and samples in each.
    pub processes: usize,
    pub samples_per_process: usize,
}

impl Spread {
    /// The smallest change, in percent, that a comparison of `rb` and `rc`
    /// processes with this spread resolves: its 95% interval's half-width.
    pub fn resolvable_pct(&self, rb: usize, rc: usize) -> f64 {
        let df = (self.processes - 1 + (rb + rc).saturating_sub(2)) as f64;
        let se = self.sd_log * (1.0 / rb as f64 + 1.0 / rc as f64).sqrt();
        (student_t::quantile(0.975, df) * se).exp_m1() * 100.0
    }

    /// Fewest processes a side for which [`Self::resolvable_pct`] is at
    /// most `threshold_pct`; `None` beyond 50.
    pub fn processes_for(&self, threshold_pct: f64) -> Option<usize> {
        (2..=50).find(|&r| self.resolvable_pct(r, r) <= threshold_pct)
    }
}

/// A machine's calibration for one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub created_at: DateTime<Utc>,
    pub machine_fingerprint: String,
    pub environment: Environment,
    pub profile: ProfileName,
    /// Processes the calibration run measured in.
    pub processes: usize,
    /// `workload.metric` → its spread.
    pub metrics: BTreeMap<String, Spread>,
}

impl Calibration {
    /// The spreads of `run`, a run of one build in several processes.
    pub fn from_run(run: &Baseline) -> Result<Calibration, String> {
        let mut metrics = BTreeMap::new();
        let mut most = 0;
        for (w, result) in &run.workloads {
            for (name, m) in &result.metrics {
                if m.better == Better::Neither {
                    continue;
                }
                let by = m.by_process();
                let spread = process_spread(&by).map_err(|e| format!("{w}.{name}: {e}"))?;
                if let Some(sd_log) = spread {
                    most = most.max(by.len());
                    metrics.insert(
                        format!("{w}.{name}"),
                        Spread {
                            sd_log,
                            processes: by.len(),
                            samples_per_process: by[0].len(),
                        },
                    );
                }
            }
        }
        if metrics.is_empty() {
            return Err("no metric was measured in three or more processes: calibrate with --processes 3 or more".into());
        }
        Ok(Calibration {
            created_at: run.created_at,
            machine_fingerprint: run.machine_fingerprint.clone(),
            environment: run.environment.clone(),
            profile: run.plan.profile,
            processes: most,
            metrics,
        })
    }

    /// The spread of one metric.
    pub fn spread(&self, workload: WorkloadName, metric: &str) -> Option<&Spread> {
        self.metrics.get(&format!("{workload}.{metric}"))
    }

    /// The spread of one metric as a comparison pools it.
    pub fn prior(&self, workload: WorkloadName, metric: &str) -> Option<Prior> {
        self.spread(workload, metric).map(|s| Prior {
            sd_log: s.sd_log,
            df: s.processes - 1,
        })
    }

    /// Why this calibration does not describe `run` (another machine or
    /// profile), or `None` when it does.
    pub fn unlike(&self, run: &Baseline) -> Option<String> {
        self.unlike_machine(&run.machine_fingerprint, &run.environment, run.plan.profile)
    }

    /// [`Self::unlike`] for a run about to be measured on `environment`.
    pub fn unlike_machine(
        &self,
        fingerprint: &str,
        environment: &Environment,
        profile: ProfileName,
    ) -> Option<String> {
        if self.machine_fingerprint != fingerprint {
            return Some(format!(
                "calibrated on `{}`, not this machine",
                self.machine_fingerprint
            ));
        }
        if let Some(cpu) = self.environment.other_cpu(environment) {
            return Some(format!("calibrated on another processor: {cpu}"));
        }
        (self.profile != profile).then(|| {
            format!(
                "calibrated with the {} profile, this run is {profile}",
                self.profile
            )
        })
    }

    /// Fewest processes (from `least` up to `most`) a run needs beside a
    /// baseline of `base_processes` (`None`: as many as the run) for every
    /// calibrated headline metric of `workloads` to resolve its threshold,
    /// and the metric that asks the most; an error when even `most` do not.
    pub fn processes_needed(
        &self,
        workloads: &[WorkloadName],
        base_processes: Option<usize>,
        (least, most): (usize, usize),
        threshold_for: &dyn Fn(WorkloadName, &str) -> f64,
    ) -> Result<(usize, Option<String>), String> {
        let mut need = (least, None);
        for (key, spread) in &self.metrics {
            let Some((w, m)) = key.split_once('.') else {
                continue;
            };
            let Ok(w) = w.parse::<WorkloadName>() else {
                continue;
            };
            if !workloads.contains(&w) || !MetricKey::parse(m).kind().is_headline() {
                continue;
            }
            let threshold = threshold_for(w, m);
            let base = |r| base_processes.unwrap_or(r);
            let Some(r) = (least..=most).find(|&r| spread.resolvable_pct(base(r), r) <= threshold)
            else {
                return Err(format!(
                    "{key}: {most} processes beside {} resolve ±{:.1}%, its threshold is ±{threshold:.1}%",
                    base_processes.map_or_else(|| format!("{most}"), |b| format!("the baseline's {b}")),
                    spread.resolvable_pct(base(most), most)
                ));
            };
            if r > need.0 {
                need = (r, Some(key.clone()));
            }
        }
        Ok(need)
    }
}

#[cfg(test)]
mod tests {
    use perf_contract::{fixture::baseline, schema::Unit};

    use super::*;

    #[test]
    fn a_run_of_several_processes_gives_each_metrics_spread() {
        let mut run = baseline(&[
            (
                WorkloadName::RagQuery,
                "latency",
                Unit::Milliseconds,
                Better::Lower,
                vec![2.0, 3.0, 2.04, 3.06, 1.96, 2.94, 2.0, 3.0],
            ),
            (
                WorkloadName::RagQuery,
                "context_chars",
                Unit::Count,
                Better::Neither,
                vec![1.0; 8],
            ),
        ]);
        let m = run.workloads.get_mut(&WorkloadName::RagQuery).unwrap();
        m.metrics.get_mut("latency").unwrap().processes = vec![2; 4];
        let c = Calibration::from_run(&run).unwrap();
        assert_eq!(c.metrics.len(), 1, "informational figures are not judged");
        let s = c.spread(WorkloadName::RagQuery, "latency").unwrap();
        assert_eq!((s.processes, s.samples_per_process), (4, 2));
        // Processes at 0%, +2%, -2%, 0%: sd about 1.6%.
        assert!((s.sd_log - 0.0163).abs() < 0.001, "{s:?}");
        assert!(s.resolvable_pct(3, 3) > s.resolvable_pct(6, 6));
        assert!(s.processes_for(10.0).unwrap() <= 3, "{s:?}");
        assert_eq!(c.unlike(&run), None);
        // About 1.6% between processes: 3 beside 3 resolve ±10%, not ±2%.
        let w = [WorkloadName::RagQuery];
        assert_eq!(
            c.processes_needed(&w, Some(3), (3, 10), &|_, _| 10.0),
            Ok((3, None))
        );
        let (r, why) = c
            .processes_needed(&w, Some(3), (3, 10), &|_, _| 3.0)
            .unwrap();
        assert!(
            r > 3 && why.as_deref() == Some("rag_query.latency"),
            "{r} {why:?}"
        );
        assert!(c
            .processes_needed(&w, Some(3), (3, 10), &|_, _| 1.0)
            .is_err());
        assert_eq!(
            c.processes_needed(&[WorkloadName::Embedding], Some(3), (3, 10), &|_, _| 1.0),
            Ok((3, None)),
            "only the run's workloads count"
        );
        let mut other = run.clone();
        other.machine_fingerprint = "another".into();
        assert!(c.unlike(&other).unwrap().contains("not this machine"));
        run.workloads.clear();
        assert!(Calibration::from_run(&run).is_err());
    }
}
