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
//!
//! A compare's interval rests on its rounds, which share the two builds:
//! the spread between two builds of the same code (where each binary's
//! pages land, its layout) is in none of them, so recorded steps of
//! commits that changed no code scatter more than their intervals say
//! (measured on a 2-core Xeon, family 6 model 167, AVX-512/AMX: 15
//! compares of commits that changed no code, `rag_query.latency` steps
//! 1.4% apart where their intervals claimed 0.8%). Summed over sixteen
//! steps that makes a chain look certain of a drift that is not there. So
//! the history estimates that extra spread from its own steps: τ² = the
//! steps' variance about their median, less the median step variance, at
//! least 0. The variance keeps the steps' heavy tail (one build's layout
//! moved a µs-scale stage 8–12%) and leaves out only the steps a robust
//! rule calls outliers (further than 3.5 · 1.4826 · MAD from the median:
//! the commits that changed the code). τ² is added to every step composed
//! and to the long-range compare checked.
//!
//! Each step's own variance, from a handful of rounds, is first moderated
//! towards the median step variance (see `Estimate::with_spread`), so a
//! compare whose rounds agreed by chance is not taken as certain.

use std::collections::BTreeMap;

use perf_contract::plan::ProfileName;
use serde::Serialize;

use super::{
    change_points::PairedChange,
    load::History,
    record::{median, Commit, Step, StepRecord},
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
    /// The spread between builds added to every step, percent (τ).
    pub between_builds_pct: f64,
    /// Parent-versus-commit steps that spread was estimated from; below
    /// [`MIN_STEPS_FOR_SPREAD`] none is added, and the index says so.
    pub spread_from_steps: usize,
}

/// A step further than this many robust standard deviations (1.4826 ·
/// MAD) from the median step is a change of the code, not scatter
/// (Iglewicz and Hoaglin's cut-off for the modified z-score).
const OUTLIER_Z: f64 = 3.5;

/// Fewest recorded steps of a metric to estimate the spread between
/// builds from.
pub const MIN_STEPS_FOR_SPREAD: usize = 5;

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

    /// With the spread between builds added: τ² estimated from `steps`
    /// steps, its own degrees of freedom `steps - 1`. First the step's own
    /// variance is moderated towards the metric's typical one (the median
    /// over its steps, as if from a typical compare's degrees of freedom),
    /// as limma's moderated t does: a compare of five rounds that happen
    /// to agree closely claims a tiny variance on four degrees of freedom,
    /// and alone would make a 1% step of peak RSS look certain.
    fn with_spread(self, spread: Spread) -> Estimate {
        let own_df = self.df();
        let moderated = if spread.typical_var > 0.0 && self.var > 0.0 && own_df < 1e5 {
            let (d0, d) = (spread.typical_df, own_df);
            let var = (d0 * spread.typical_var + d * self.var) / (d0 + d);
            Estimate {
                log: self.log,
                var,
                var2_per_df: var * var / (d0 + d),
            }
        } else {
            self
        };
        if spread.tau2 <= 0.0 {
            return moderated;
        }
        Estimate {
            log: moderated.log,
            var: moderated.var + spread.tau2,
            var2_per_df: moderated.var2_per_df
                + spread.tau2 * spread.tau2 / (spread.steps as f64 - 1.0),
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

/// The spread between builds of one metric (τ², on log ratios), and the
/// typical step variance and degrees of freedom each step's own is
/// moderated towards.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Spread {
    tau2: f64,
    steps: usize,
    typical_var: f64,
    typical_df: f64,
}

/// τ² from every recorded parent-versus-commit step of `metric` on
/// `line` (each compare on its own, not pooled).
fn spread(history: &History, line: &[String], profile: ProfileName, metric: &str) -> Spread {
    let adjacent: std::collections::BTreeSet<(&str, &str)> = line
        .windows(2)
        .map(|p| (p[0].as_str(), p[1].as_str()))
        .collect();
    let steps: Vec<&Step> = history
        .steps
        .iter()
        .filter(|s| {
            s.profile == profile && adjacent.contains(&(s.base.id.as_str(), s.head.id.as_str()))
        })
        .filter_map(|s| s.metrics.get(metric))
        .collect();
    if steps.len() < MIN_STEPS_FOR_SPREAD {
        return Spread {
            steps: steps.len(),
            ..Spread::default()
        };
    }
    let logs: Vec<f64> = steps.iter().map(|s| s.log_ratio).collect();
    let centre = median(logs.iter().copied());
    let robust_sd = 1.4826 * median(logs.iter().map(|l| (l - centre).abs()));
    // The steps' scatter as it is, heavy tail and all (one build's layout
    // moves a µs-scale stage by 10%), less only the steps a robust rule
    // calls outliers (modified z above 3.5): the commits that changed the
    // code.
    let kept: Vec<f64> = logs
        .iter()
        .filter(|l| (*l - centre).abs() <= OUTLIER_Z * robust_sd)
        .map(|l| (l - centre).powi(2))
        .collect();
    let scatter = kept.iter().sum::<f64>() / (kept.len().max(2) - 1) as f64;
    let claimed = median(steps.iter().map(|s| s.se * s.se));
    Spread {
        tau2: (scatter - claimed).max(0.0),
        steps: steps.len(),
        typical_var: claimed,
        typical_df: median(steps.iter().map(|s| s.df)),
    }
}

/// The recorded parent-versus-commit compares of one metric along a line,
/// each widened by the spread between builds, found once: any range of
/// the line composed from them.
pub struct Compares {
    /// The compares of `line[i]` → `line[i + 1]`, pooled, at `i`.
    adjacent: Vec<Option<(Estimate, Commit, Commit)>>,
    spread: Spread,
}

impl Compares {
    pub fn of(history: &History, line: &[String], profile: ProfileName, metric: &str) -> Compares {
        let spread = spread(history, line, profile, metric);
        let place: BTreeMap<(&str, &str), usize> = line
            .windows(2)
            .enumerate()
            .map(|(i, p)| ((p[0].as_str(), p[1].as_str()), i))
            .collect();
        let mut found: Vec<Vec<(Estimate, &StepRecord)>> =
            vec![Vec::new(); line.len().saturating_sub(1)];
        for s in history.steps.iter().filter(|s| s.profile == profile) {
            let at = place.get(&(s.base.id.as_str(), s.head.id.as_str()));
            if let (Some(&i), Some(step)) = (at, s.metrics.get(metric)) {
                found[i].push((Estimate::of(step).with_spread(spread), s));
            }
        }
        let adjacent = found
            .into_iter()
            .map(|f| {
                let first = f.first()?.1;
                let estimates: Vec<Estimate> = f.iter().map(|(e, _)| *e).collect();
                Some((
                    Estimate::pool(&estimates)?,
                    first.base.clone(),
                    first.head.clone(),
                ))
            })
            .collect();
        Compares { adjacent, spread }
    }

    /// `line[a]` → `line[b]` (a < b), from every compare between; `None`
    /// when one of them was never recorded.
    pub fn over(&self, a: usize, b: usize) -> Option<PairedChange> {
        let total = self.estimate(a, b)?;
        let (change_pct, low_pct, high_pct) = total.percent();
        let p_value = crate::student_t::interval(total.log, total.var.sqrt(), total.df()).1;
        Some(PairedChange {
            change_pct,
            low_pct,
            high_pct,
            p_value,
            steps: b - a,
        })
    }

    fn estimate(&self, a: usize, b: usize) -> Option<Estimate> {
        if a >= b {
            return None;
        }
        self.adjacent
            .get(a..b)?
            .iter()
            .try_fold(None, |acc: Option<Estimate>, s| {
                let (s, ..) = s.as_ref()?;
                Some(Some(acc.map_or(*s, |a| a.plus(*s))))
            })
            .flatten()
    }
}

/// `metric`'s relative index along `line` (commit ids, oldest first).
pub fn compose(
    history: &History,
    line: &[String],
    profile: ProfileName,
    metric: &str,
) -> RelativeIndex {
    let compares = Compares::of(history, line, profile, metric);
    let spread = compares.spread;
    let mut chains = Vec::new();
    let mut chain: Vec<IndexPoint> = Vec::new();
    let mut sum: Option<Estimate> = None;
    for (i, found) in compares.adjacent.iter().enumerate() {
        let Some((step, base, head)) = found.clone() else {
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
        between_builds_pct: (spread.tau2.sqrt().exp() - 1.0) * 100.0,
        spread_from_steps: spread.steps,
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
            let compares = Compares::of(history, line, profile, metric);
            let Some(chain) = compares.estimate(a, b) else {
                continue;
            };
            // The long compare has two builds of its own.
            let direct = Estimate::of(direct).with_spread(compares.spread);
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
