//! What the history keeps of a run or a compare: per metric the median,
//! its interval and the replicate estimates (one median per process), not
//! every sample; the machine as an id and a label; the commit.
//!
//! A point's interval is across processes when the run had several (the
//! process is the replicate, `crate::processes`), else the distribution-free
//! interval of one process's median, which leaves out how far processes
//! differ; `Point::processes` says which.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use perf_contract::{
    environment::Environment,
    metric_key::MetricKey,
    plan::{Plan, ProfileName, WorkloadName},
    schema::{Baseline, Better, Metric, Unit},
    summary::Interval,
};
use serde::{Deserialize, Serialize};

use crate::{
    compare::Comparison,
    export::headline::{every_row, headline_rows},
};

/// Version of the record files; a reader refuses other versions by name.
pub const RECORD_SCHEMA: u32 = 1;

/// The machine a record was measured on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Machine {
    /// `Environment::machine_id`: the folder the record lives in.
    pub id: String,
    /// `Environment::machine_label`: what charts and tables call it.
    pub label: String,
    pub fingerprint: String,
    pub cpu_signature: String,
}

impl Machine {
    pub fn of(e: &Environment) -> Machine {
        Machine {
            id: e.machine_id(),
            label: e.machine_label(),
            fingerprint: e.fingerprint(),
            cpu_signature: e.cpu_signature.clone(),
        }
    }
}

/// A commit as the history orders and names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    /// The full object id.
    pub id: String,
    /// Its first line, for tables and the dashboard.
    pub subject: String,
    /// Committer time: orders records where git cannot (a shallow clone).
    pub time: DateTime<Utc>,
}

/// One metric of one run, compactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub unit: Unit,
    pub better: Better,
    /// Samples behind `median`.
    pub n: usize,
    pub median: f64,
    /// 95% interval of the median: across `processes` when there are at
    /// least two (Student's t on their logs), else the order-statistics
    /// interval of the samples of one process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
    /// The median of each process, when more than one measured the metric:
    /// the replicates any later statistics rest on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<f64>,
    /// One of the run's headline figures (the one-screen summary after
    /// `perf baseline`): the dashboard draws these.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headline: bool,
}

impl Point {
    pub fn of(m: &Metric, headline: bool) -> Point {
        let processes = process_medians(m);
        let interval = across_processes(&processes).or(m.summary.median_ci);
        Point {
            unit: m.unit,
            better: m.better,
            n: m.summary.count,
            median: m.summary.median,
            interval,
            processes,
            headline,
        }
    }
}

/// A run of one commit on one machine (`perf baseline --record`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitRecord {
    pub schema_version: u32,
    pub machine: Machine,
    pub commit: Commit,
    pub recorded_at: DateTime<Utc>,
    pub profile: ProfileName,
    /// [`plan_id`] of the run: a series joins only records of one plan.
    pub plan_id: String,
    /// `workload.metric` → its point.
    pub metrics: BTreeMap<String, Point>,
}

/// What one sample of a run measured, as a short hash: the plan without
/// the workloads chosen (a run of one workload measures it as a run of
/// all does) and without the number of processes (replication, not work).
/// Two runs of one machine with the same id are points of one series.
pub fn plan_id(plan: &Plan) -> String {
    let mut p = plan.clone();
    p.workloads.clear();
    p.harness.processes = 0;
    let json = serde_json::to_string(&p).expect("a plan serialises");
    perf_contract::stable_hash::short_hash(json.into_bytes())
}

impl CommitRecord {
    /// The record of `run`, measured at `commit` (the caller makes sure
    /// the run was of that commit, with no uncommitted changes).
    pub fn of(run: &Baseline, commit: Commit) -> CommitRecord {
        let headline: Vec<(WorkloadName, &MetricKey)> = headline_rows(run)
            .iter()
            .map(|r| (r.workload, r.name))
            .collect();
        let metrics = every_row(run)
            .into_iter()
            .map(|r| {
                let shown = headline.contains(&(r.workload, r.name));
                (
                    format!("{}.{}", r.workload, r.name),
                    Point::of(r.metric, shown),
                )
            })
            .collect();
        CommitRecord {
            schema_version: RECORD_SCHEMA,
            machine: Machine::of(&run.environment),
            commit,
            recorded_at: run.created_at,
            profile: run.plan.profile,
            plan_id: plan_id(&run.plan),
            metrics,
        }
    }
}

/// One metric's change from a base commit to a head commit, measured side
/// by side (`perf compare`'s rounds), as a log ratio and its standard
/// error: what composes over a chain of commits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub unit: Unit,
    pub better: Better,
    /// ln(head / base).
    pub log_ratio: f64,
    /// Standard error of `log_ratio`, from the compare's 95% interval.
    pub se: f64,
    /// Degrees of freedom of that interval (rounds − 1; large for an
    /// interval of the pairs of one process pair).
    pub df: f64,
    /// The compare's verdict as it printed it: "regressed", "no change"…
    pub verdict: String,
}

/// A compare of two commits on one machine (`perf compare --record`, as
/// CI runs parent against commit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub schema_version: u32,
    pub machine: Machine,
    pub base: Commit,
    pub head: Commit,
    pub recorded_at: DateTime<Utc>,
    pub profile: ProfileName,
    /// `workload.metric` → its change.
    pub metrics: BTreeMap<String, Step>,
}

impl StepRecord {
    pub fn of(
        comparisons: &[Comparison],
        environment: &Environment,
        profile: ProfileName,
        base: Commit,
        head: Commit,
        recorded_at: DateTime<Utc>,
    ) -> StepRecord {
        let metrics = comparisons
            .iter()
            .filter_map(|c| {
                let change = c.change.as_ref()?;
                let ratio = change.change_pct? / 100.0 + 1.0;
                let ci = change.ratio_ci?;
                if ratio <= 0.0 || ci.low <= 0.0 {
                    return None;
                }
                let df = if change.rounds >= 2 {
                    (change.rounds - 1) as f64
                } else {
                    // The pairs of one process pair: the interval leaves out
                    // how far processes differ (the compare says so).
                    1e6
                };
                let t = crate::student_t::quantile(0.975, df);
                Some((
                    format!("{}.{}", c.workload, c.metric),
                    Step {
                        unit: c.unit,
                        better: c.better,
                        log_ratio: ratio.ln(),
                        se: (ci.high.ln() - ci.low.ln()) / (2.0 * t),
                        df,
                        verdict: crate::export::comparisons::verdict_label(change),
                    },
                ))
            })
            .collect();
        StepRecord {
            schema_version: RECORD_SCHEMA,
            machine: Machine::of(environment),
            base,
            head,
            recorded_at,
            profile,
            metrics,
        }
    }
}

/// Each process's median of `m`, in order; empty when one process gave
/// every sample.
fn process_medians(m: &Metric) -> Vec<f64> {
    if m.processes.len() < 2 {
        return Vec::new();
    }
    let mut at = 0;
    m.processes
        .iter()
        .filter_map(|&n| {
            let part = m.samples.get(at..at + n as usize)?;
            at += n as usize;
            perf_contract::summary::Summary::from_samples(part).map(|s| s.median)
        })
        .collect()
}

/// 95% interval of a figure across replicate medians (processes, or runs
/// of one commit): Student's t on their logs, back-transformed. `None`
/// below two or with a value ≤ 0.
pub(crate) fn across_processes(medians: &[f64]) -> Option<Interval> {
    if medians.len() < 2 || medians.iter().any(|&m| m <= 0.0) {
        return None;
    }
    let logs: Vec<f64> = medians.iter().map(|m| m.ln()).collect();
    let n = logs.len() as f64;
    let mean = logs.iter().sum::<f64>() / n;
    let var = logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let half = crate::student_t::quantile(0.975, n - 1.0) * (var / n).sqrt();
    Some(Interval {
        low: (mean - half).exp(),
        high: (mean + half).exp(),
    })
}

/// A record file: a run of one commit, or a compare of two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordFile {
    Commit(CommitRecord),
    Step(StepRecord),
}

impl RecordFile {
    pub fn machine(&self) -> &Machine {
        match self {
            RecordFile::Commit(r) => &r.machine,
            RecordFile::Step(r) => &r.machine,
        }
    }

    pub fn schema_version(&self) -> u32 {
        match self {
            RecordFile::Commit(r) => r.schema_version,
            RecordFile::Step(r) => r.schema_version,
        }
    }
}

/// The median of `values` (at least one), as every summary of the tool
/// computes it.
pub(super) fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    perf_contract::summary::percentile_sorted(&v, 50.0)
}
