//! What this machine can resolve, measured rather than assumed: `perf
//! calibrate` runs one build in several fresh processes (an A/A
//! comparison with itself) and keeps, per metric, how far one process's
//! estimate strays from another's. A comparison on the same machine and
//! profile pools that spread with its own processes' (`crate::processes`,
//! [`Prior`]), so a run of one process a side still gets an interval as
//! wide as processes differ, and the absolute floors that stood in for
//! such knowledge (`crate::policy`) are not applied to a calibrated metric.
//!
//! Measured over several sessions (runs minutes apart), it also keeps how
//! far whole sessions shift against each other beyond their processes'
//! spread: an unpaired comparison (a baseline and a check) spans two
//! sessions, and that shift is in its interval too.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use perf_contract::{
    environment::Environment,
    metric_key::MetricKey,
    plan::{ProfileName, WorkloadName},
    schema::{Baseline, Better},
};

use crate::{
    processes::{session_spread, with_sessions, SessionShift},
    student_t,
};

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
    /// Sessions (runs) those processes were measured in; a calibration
    /// of one session (all of them before sessions were kept) says nothing
    /// of the shift between sessions.
    #[serde(default = "one")]
    pub sessions: usize,
    /// Standard deviation of a whole session's shift beyond its
    /// processes' spread, in log units, with its degrees of freedom;
    /// measured with two sessions or more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_sd_log: Option<f64>,
    #[serde(default)]
    pub session_df: f64,
}

fn one() -> usize {
    1
}

impl Spread {
    /// The smallest change, in percent, that a comparison of `rb` and `rc`
    /// processes from two sessions resolves: its 95% interval's half-width.
    pub fn resolvable_pct(&self, rb: usize, rc: usize) -> f64 {
        let df = (self.process_df() + (rb + rc).saturating_sub(2)) as f64;
        let var = self.sd_log.powi(2) * (1.0 / rb as f64 + 1.0 / rc as f64);
        let (var, df) = with_sessions(var, df, self.shift());
        (student_t::quantile(0.975, df) * var.sqrt()).exp_m1() * 100.0
    }

    /// What no number of processes resolves below: the half-width the
    /// shift between two sessions leaves alone (0 when not measured).
    pub fn session_floor_pct(&self) -> f64 {
        self.shift().map_or(0.0, |s| {
            let (var, df) = with_sessions(0.0, 1.0, Some(s));
            (student_t::quantile(0.975, df) * var.sqrt()).exp_m1() * 100.0
        })
    }

    /// [`Self::processes_for`] as a table shows it, saying why when no
    /// number of processes will do.
    pub fn processes_cell(&self, threshold_pct: f64) -> String {
        let floor = self.session_floor_pct();
        if floor >= threshold_pct {
            return format!("none: sessions leave ±{floor:.1}%");
        }
        self.processes_for(threshold_pct)
            .map_or_else(|| "over 50".into(), |r| r.to_string())
    }

    /// The shift between sessions as a table shows it.
    pub fn shift_cell(&self) -> String {
        self.session_sd_log.map_or_else(
            || "not measured".into(),
            |sd| format!("{:.1}% ({} sessions)", sd.exp_m1() * 100.0, self.sessions),
        )
    }

    /// Degrees of freedom of [`Self::sd_log`]: processes less sessions.
    pub fn process_df(&self) -> usize {
        self.processes.saturating_sub(self.sessions.max(1))
    }

    /// The shift between sessions, when measured.
    pub fn shift(&self) -> Option<SessionShift> {
        self.session_sd_log.map(|sd_log| SessionShift {
            sd_log,
            df: self.session_df,
        })
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
    /// Processes the calibration run measured in (all sessions).
    pub processes: usize,
    /// Sessions (runs of the build, one after another) it measured.
    #[serde(default = "one")]
    pub sessions: usize,
    /// `workload.metric` → its spread.
    pub metrics: BTreeMap<String, Spread>,
    /// The saved runs it was computed from, one a session, oldest first
    /// (a later calibration adds its sessions to those still there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<std::path::PathBuf>,
}

impl Calibration {
    /// The spreads of `run`, a run of one build in several processes.
    pub fn from_run(run: &Baseline) -> Result<Calibration, String> {
        Self::from_sessions(std::slice::from_ref(run))
    }

    /// The spreads of `sessions`, runs of one build in several processes
    /// each, on one machine and profile, oldest first.
    pub fn from_sessions(sessions: &[Baseline]) -> Result<Calibration, String> {
        let last = sessions.last().ok_or("no run to calibrate from")?;
        if let Some(why) = sessions.iter().find_map(|r| {
            Self::unlike_run(
                &last.machine_fingerprint,
                &last.environment,
                last.plan.profile,
                r,
            )
        }) {
            return Err(why);
        }
        let mut metrics = BTreeMap::new();
        let mut most = 0;
        for (w, result) in &last.workloads {
            for (name, m) in &result.metrics {
                if m.better == Better::Neither {
                    continue;
                }
                let by: Vec<Vec<&[f64]>> = sessions
                    .iter()
                    .filter_map(|r| r.workloads.get(w)?.metrics.get(name))
                    .map(|m| m.by_process())
                    .collect();
                let spread = session_spread(&by).map_err(|e| format!("{w}.{name}: {e}"))?;
                let Some(spread) = spread else { continue };
                let processes: usize = by.iter().map(Vec::len).sum();
                most = most.max(processes);
                metrics.insert(
                    format!("{w}.{name}"),
                    Spread {
                        sd_log: spread.process_sd_log,
                        processes,
                        samples_per_process: by[0][0].len(),
                        sessions: by.len(),
                        session_sd_log: spread.session.map(|s| s.sd_log),
                        session_df: spread.session.map_or(0.0, |s| s.df),
                    },
                );
            }
        }
        if metrics.is_empty() {
            return Err("no metric was measured in three or more processes: calibrate with --processes 3 or more".into());
        }
        Ok(Calibration {
            created_at: last.created_at,
            machine_fingerprint: last.machine_fingerprint.clone(),
            environment: last.environment.clone(),
            profile: last.plan.profile,
            processes: most,
            sessions: sessions.len(),
            metrics,
            runs: Vec::new(),
        })
    }

    /// Why `run` is not of the machine and profile given, if so.
    fn unlike_run(
        fingerprint: &str,
        environment: &Environment,
        profile: ProfileName,
        run: &Baseline,
    ) -> Option<String> {
        let when = run.created_at.format("%Y-%m-%d %H:%M UTC");
        if run.machine_fingerprint != fingerprint {
            return Some(format!(
                "the run of {when} was measured on `{}`, the others on `{fingerprint}`",
                run.machine_fingerprint
            ));
        }
        if let Some(cpu) = environment.other_cpu(&run.environment) {
            return Some(format!(
                "the run of {when} was measured on another processor: {cpu}"
            ));
        }
        (run.plan.profile != profile).then(|| {
            format!(
                "the run of {when} used the {} profile, the others {profile}",
                run.plan.profile
            )
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
            df: s.process_df(),
            session: s.shift(),
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
        unlike(
            "calibrated",
            (&self.machine_fingerprint, &self.environment, self.profile),
            (fingerprint, environment, profile),
        )
    }

    /// Fewest processes (from `least` up to `most`) a run needs beside a
    /// baseline of `base_processes` (`None`: as many as the run) for every
    /// calibrated headline metric of `workloads` to resolve its threshold;
    /// an error when even `most` do not. Metrics whose threshold is below
    /// what the shift between sessions leaves ([`Spread::session_floor_pct`])
    /// ask for nothing: no process resolves them.
    pub fn processes_needed(
        &self,
        workloads: &[WorkloadName],
        base_processes: Option<usize>,
        (least, most): (usize, usize),
        threshold_for: &dyn Fn(WorkloadName, &str) -> f64,
    ) -> Result<Need, String> {
        let mut need = Need {
            processes: least,
            asked_by: None,
            session_bound: Vec::new(),
        };
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
            let floor = spread.session_floor_pct();
            if floor >= threshold {
                need.session_bound.push(format!(
                    "{key} (sessions alone leave ±{floor:.1}%, threshold ±{threshold:.1}%)"
                ));
                continue;
            }
            let base = |r| base_processes.unwrap_or(r);
            let Some(r) = (least..=most).find(|&r| spread.resolvable_pct(base(r), r) <= threshold)
            else {
                return Err(format!(
                    "{key}: {most} processes beside {} resolve ±{:.1}%, its threshold is ±{threshold:.1}%",
                    base_processes.map_or_else(|| format!("{most}"), |b| format!("the baseline's {b}")),
                    spread.resolvable_pct(base(most), most)
                ));
            };
            if r > need.processes {
                need.processes = r;
                need.asked_by = Some(key.clone());
            }
        }
        Ok(need)
    }
}

/// What [`Calibration::processes_needed`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    pub processes: usize,
    /// The metric that asked for the most, when more than the least.
    pub asked_by: Option<String>,
    /// Headline metrics no number of processes resolves on this machine,
    /// each with why.
    pub session_bound: Vec<String>,
}

/// Why something `done` ("calibrated", "measured") on the machine and
/// profile `kept` does not describe a run on `here`, or `None` when it
/// does: another fingerprint, another processor, another profile.
pub(crate) fn unlike(
    done: &str,
    kept: (&str, &Environment, ProfileName),
    here: (&str, &Environment, ProfileName),
) -> Option<String> {
    if kept.0 != here.0 {
        return Some(format!("{done} on `{}`, not this machine", kept.0));
    }
    if let Some(cpu) = kept.1.other_cpu(here.1) {
        return Some(format!("{done} on another processor: {cpu}"));
    }
    (kept.2 != here.2)
        .then(|| format!("{done} with the {} profile, this run is {}", kept.2, here.2))
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
        let need = |t: f64| c.processes_needed(&w, Some(3), (3, 10), &|_, _| t);
        assert_eq!(need(10.0).unwrap().processes, 3);
        let n = need(3.0).unwrap();
        let (r, why) = (n.processes, n.asked_by);
        assert!(
            r > 3 && why.as_deref() == Some("rag_query.latency"),
            "{r} {why:?}"
        );
        assert!(need(1.0).is_err());
        assert_eq!(
            c.processes_needed(&[WorkloadName::Embedding], Some(3), (3, 10), &|_, _| 1.0)
                .map(|n| (n.processes, n.asked_by)),
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
