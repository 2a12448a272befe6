//! The relative history: recorded compares of each commit against its
//! parent (CI's `perf compare HEAD~1 HEAD --record`), on whatever machine
//! ran them, composed along the first-parent line into a cumulative index
//! per metric with a propagated interval. A compare measures both commits
//! side by side, so its ratio holds on any machine; a chain of them shows a
//! drift made of steps each too small for the gate, where absolute figures
//! from changing machines cannot.
//!
//! Composition is on log ratios: they add, and so do the variances of
//! independent compares; the degrees of freedom of the sum follow
//! Welch-Satterthwaite. Two compares of one pair (two machines) are
//! pooled by inverse variance first. A long-range compare (HEAD against an
//! older commit) checks the chain over its range.

use std::collections::BTreeMap;

use perf_contract::plan::ProfileName;
use serde::Serialize;

use super::{
    load::History,
    record::{Commit, Step},
};

/// The cumulative change of one metric from the start of a chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexPoint {
    pub commit: Commit,
    pub position: usize,
    /// Change from the chain's first commit, percent.
    pub change_pct: f64,
    pub low_pct: f64,
    pub high_pct: f64,
    /// Compares composed so far.
    pub steps: usize,
}

/// A metric's relative index along the line, chain by chain: a commit
/// whose compare against its parent was never recorded ends a chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelativeIndex {
    pub metric: String,
    pub chains: Vec<Vec<IndexPoint>>,
}

/// A long-range compare set against the chain over the same range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainCheck {
    pub metric: String,
    pub base: Commit,
    pub head: Commit,
    /// The direct compare's change and 95% interval, percent.
    pub direct: (f64, f64, f64),
    /// The composed chain's.
    pub chain: (f64, f64, f64),
    /// The difference of the two (log scale) lies within its own 95%
    /// interval.
    pub agree: bool,
}

/// A log ratio with its standard error and degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Estimate {
    log: f64,
    var: f64,
    /// Σ var² / df, for Welch-Satterthwaite.
    var2_per_df: f64,
}

impl Estimate {
    fn of(step: &Step) -> Estimate {
        let var = step.se * step.se;
        Estimate {
            log: step.log_ratio,
            var,
            var2_per_df: var * var / step.df,
        }
    }

    fn plus(self, other: Estimate) -> Estimate {
        Estimate {
            log: self.log + other.log,
            var: self.var + other.var,
            var2_per_df: self.var2_per_df + other.var2_per_df,
        }
    }

    /// Inverse-variance pooling of estimates of one quantity.
    fn pool(all: &[Estimate]) -> Option<Estimate> {
        if all.iter().any(|e| e.var <= 0.0) {
            // A count measured alike everywhere: any of them is exact.
            return all.first().copied();
        }
        let w: f64 = all.iter().map(|e| 1.0 / e.var).sum();
        let log = all.iter().map(|e| e.log / e.var).sum::<f64>() / w;
        let var = 1.0 / w;
        // The pooled estimate keeps the fewest degrees of freedom: a
        // conservative choice where the weights would need their own.
        let df = all
            .iter()
            .map(|e| e.var * e.var / e.var2_per_df)
            .fold(f64::INFINITY, f64::min);
        Some(Estimate {
            log,
            var,
            var2_per_df: var * var / df,
        })
    }

    fn df(self) -> f64 {
        if self.var2_per_df > 0.0 {
            self.var * self.var / self.var2_per_df
        } else {
            1e6
        }
    }

    /// Change and 95% interval, percent.
    fn percent(self) -> (f64, f64, f64) {
        let half = crate::student_t::quantile(0.975, self.df()) * self.var.sqrt();
        let pct = |l: f64| (l.exp() - 1.0) * 100.0;
        (pct(self.log), pct(self.log - half), pct(self.log + half))
    }
}

/// Every recorded compare of `base` → `head` for `metric`, pooled.
fn step_between(
    history: &History,
    profile: ProfileName,
    base: &str,
    head: &str,
    metric: &str,
) -> Option<(Estimate, Commit, Commit)> {
    let found: Vec<_> = history
        .steps
        .iter()
        .filter(|s| s.profile == profile && s.base.id == base && s.head.id == head)
        .filter_map(|s| Some((Estimate::of(s.metrics.get(metric)?), s)))
        .collect();
    let (_, first) = found.first()?;
    let estimates: Vec<Estimate> = found.iter().map(|(e, _)| *e).collect();
    Some((
        Estimate::pool(&estimates)?,
        first.base.clone(),
        first.head.clone(),
    ))
}

/// `metric`'s relative index along `line` (commit ids, oldest first).
pub fn compose(
    history: &History,
    line: &[String],
    profile: ProfileName,
    metric: &str,
) -> RelativeIndex {
    let mut chains = Vec::new();
    let mut chain: Vec<IndexPoint> = Vec::new();
    let mut sum: Option<Estimate> = None;
    for (i, pair) in line.windows(2).enumerate() {
        let Some((step, base, head)) = step_between(history, profile, &pair[0], &pair[1], metric)
        else {
            if !chain.is_empty() {
                chains.push(std::mem::take(&mut chain));
            }
            sum = None;
            continue;
        };
        if chain.is_empty() {
            chain.push(IndexPoint {
                commit: base,
                position: i,
                change_pct: 0.0,
                low_pct: 0.0,
                high_pct: 0.0,
                steps: 0,
            });
        }
        let total = sum.map_or(step, |s| s.plus(step));
        sum = Some(total);
        let (change_pct, low_pct, high_pct) = total.percent();
        chain.push(IndexPoint {
            commit: head,
            position: i + 1,
            change_pct,
            low_pct,
            high_pct,
            steps: chain.len(),
        });
    }
    if !chain.is_empty() {
        chains.push(chain);
    }
    RelativeIndex {
        metric: metric.to_string(),
        chains,
    }
}

/// Every recorded compare whose two commits are not neighbours on `line`,
/// set against the chain composed over its range, per metric the chain
/// covers.
pub fn check_chains(history: &History, line: &[String], profile: ProfileName) -> Vec<ChainCheck> {
    let place: BTreeMap<&str, usize> = line
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut checks = Vec::new();
    for long in history.steps.iter().filter(|s| s.profile == profile) {
        let (Some(&a), Some(&b)) = (
            place.get(long.base.id.as_str()),
            place.get(long.head.id.as_str()),
        ) else {
            continue;
        };
        if b <= a + 1 {
            continue;
        }
        for (metric, direct) in &long.metrics {
            let chain = line[a..=b]
                .windows(2)
                .map(|p| step_between(history, profile, &p[0], &p[1], metric).map(|s| s.0))
                .try_fold(None, |acc: Option<Estimate>, s| {
                    s.map(|s| Some(acc.map_or(s, |a| a.plus(s))))
                })
                .flatten();
            let Some(chain) = chain else { continue };
            let direct = Estimate::of(direct);
            let difference = Estimate {
                log: chain.log - direct.log,
                ..chain.plus(direct)
            };
            let half = crate::student_t::quantile(0.975, difference.df()) * difference.var.sqrt();
            checks.push(ChainCheck {
                metric: metric.clone(),
                base: long.base.clone(),
                head: long.head.clone(),
                direct: direct.percent(),
                chain: chain.percent(),
                agree: difference.log.abs() <= half,
            });
        }
    }
    checks
}
