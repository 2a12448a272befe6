//! A metric's series on one machine: the records of each commit combined
//! into one point, in first-parent order, with the compare of each commit
//! against its parent where one was recorded, and the change points.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use perf_contract::{
    plan::ProfileName,
    schema::{Better, Unit},
    summary::Interval,
};
use serde::Serialize;

use super::{
    change_points::{detect, ChangePoint, Options},
    load::History,
    paired_evidence,
    record::{self, Commit, CommitRecord, Machine, Point},
    relative::Compares,
};

/// One commit's figure on one machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    pub commit: Commit,
    /// Place of the commit on the first-parent line, oldest 0: the x axis.
    pub position: usize,
    pub median: f64,
    /// 95% interval of `median`.
    pub interval: Option<Interval>,
    /// Runs recorded for this commit on this machine (combined by median).
    pub runs: usize,
    /// Samples behind `median`, over those runs.
    pub n: usize,
    /// The compare of this commit against its parent on this machine,
    /// when one was recorded.
    pub step: Option<StepSummary>,
}

/// A recorded parent-versus-commit compare, as a point shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepSummary {
    pub change_pct: f64,
    pub low_pct: f64,
    pub high_pct: f64,
    /// `Verdict` as the compare printed it: "regressed", "within noise"...
    pub verdict: String,
}

/// One metric on one machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub machine: Machine,
    /// `workload.metric`.
    pub metric: String,
    pub unit: Unit,
    pub better: Better,
    pub points: Vec<SeriesPoint>,
    /// Indexes into `points`.
    pub change_points: Vec<ChangePoint>,
    /// Steps of the series that the paired compares over their commits
    /// contradict (the machine drifted): not reported as change points.
    pub set_aside: Vec<ChangePoint>,
}

/// Every series of `history` for `profile`, ordered along `line` (commit
/// ids, oldest first: the first-parent line of the branch), with change
/// points found by `options` and `min_step_pct(machine, metric)`, the step
/// the machine resolves.
pub fn build(
    history: &History,
    line: &[String],
    profile: ProfileName,
    options: &Options,
    min_step_pct: &dyn Fn(&Machine, &str) -> f64,
) -> Built {
    let place: BTreeMap<&str, usize> = line
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    // (machine, metric) → position → the records' points there.
    type Cell<'a> = (&'a Commit, Vec<&'a Point>);
    let mut cells: BTreeMap<(&Machine, &str), BTreeMap<usize, Cell>> = BTreeMap::new();
    let mut off_line = 0;
    let mut other_plan = 0;
    let on_line: Vec<(usize, &CommitRecord)> = history
        .commits
        .iter()
        .filter(|r| r.profile == profile)
        .filter_map(|r| match place.get(r.commit.id.as_str()) {
            Some(&at) => Some((at, r)),
            None => {
                off_line += 1;
                None
            }
        })
        .collect();
    // Each machine's series follows the plan of its newest record: a run
    // with other settings (more passes, another model) is another series,
    // left out and counted rather than joined.
    let mut newest_plan: BTreeMap<&str, (usize, DateTime<Utc>, &str)> = BTreeMap::new();
    for (at, r) in &on_line {
        let key = (*at, r.recorded_at, r.plan_id.as_str());
        newest_plan
            .entry(r.machine.id.as_str())
            .and_modify(|k| *k = (*k).max(key))
            .or_insert(key);
    }
    for (at, record) in on_line {
        if newest_plan[record.machine.id.as_str()].2 != record.plan_id {
            other_plan += 1;
            continue;
        }
        for (metric, point) in &record.metrics {
            cells
                .entry((&record.machine, metric.as_str()))
                .or_default()
                .entry(at)
                .or_insert_with(|| (&record.commit, Vec::new()))
                .1
                .push(point);
        }
    }
    let series = cells
        .into_iter()
        .map(|((machine, metric), at)| {
            let first = at.values().next().expect("a cell has a point").1[0];
            let points: Vec<SeriesPoint> = at
                .into_iter()
                .map(|(position, (commit, points))| SeriesPoint {
                    commit: commit.clone(),
                    position,
                    median: record::median(points.iter().map(|p| p.median)),
                    interval: combined_interval(&points),
                    runs: points.len(),
                    n: points.iter().map(|p| p.n).sum(),
                    step: parent_step(history, line, machine, metric, position, profile),
                })
                .collect();
            let values: Vec<f64> = points.iter().map(|p| p.median).collect();
            let positions: Vec<usize> = points.iter().map(|p| p.position).collect();
            let options = Options {
                min_step_pct: min_step_pct(machine, metric).max(options.min_step_pct),
                ..options.clone()
            };
            let compares = Compares::of(history, line, profile, metric);
            let (change_points, set_aside) =
                paired_evidence::weigh(detect(&values, &options), &positions, &compares, &options);
            Series {
                machine: machine.clone(),
                metric: metric.to_string(),
                unit: first.unit,
                better: first.better,
                change_points,
                set_aside,
                points,
            }
        })
        .collect();
    Built {
        series,
        off_line,
        other_plan,
    }
}

/// The series of a history, and what could not be placed.
#[derive(Debug, Clone)]
pub struct Built {
    pub series: Vec<Series>,
    /// Records of commits not on the line (another branch, or a commit the
    /// clone does not have): left out, and said.
    pub off_line: usize,
    /// Records of another plan than their machine's newest: left out.
    pub other_plan: usize,
}

/// One record: its own interval. Several (runs of one commit in separate
/// sessions, each one replicate): Student's t across their medians' logs,
/// which holds the shift between sessions that each record's own interval
/// leaves out.
fn combined_interval(points: &[&Point]) -> Option<Interval> {
    if let [one] = points {
        return one.interval;
    }
    let medians: Vec<f64> = points.iter().map(|p| p.median).collect();
    record::across_processes(&medians)
}

/// The newest recorded compare of the commit at `position` against the
/// one before it on the line, on `machine`.
fn parent_step(
    history: &History,
    line: &[String],
    machine: &Machine,
    metric: &str,
    position: usize,
    profile: ProfileName,
) -> Option<StepSummary> {
    let parent = line.get(position.checked_sub(1)?)?;
    let head = &line[position];
    let step = history
        .steps
        .iter()
        .filter(|s| {
            s.profile == profile
                && s.machine.id == machine.id
                && &s.base.id == parent
                && &s.head.id == head
        })
        .filter_map(|s| Some((s.metrics.get(metric)?, s.recorded_at)))
        .max_by_key(|(_, at)| *at)?
        .0;
    let half = crate::student_t::quantile(0.975, step.df) * step.se;
    let (low, high) = (step.log_ratio - half, step.log_ratio + half);
    let pct = |l: f64| (l.exp() - 1.0) * 100.0;
    Some(StepSummary {
        change_pct: pct(step.log_ratio),
        low_pct: pct(low),
        high_pct: pct(high),
        verdict: step.verdict.clone(),
    })
}
