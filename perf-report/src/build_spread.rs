//! How far two builds of the same source differ on this machine, measured
//! by `perf calibrate --builds`: compares of builds whose source differs
//! only by an unused function: the crate's hash, and with it its symbol
//! names and where the linker may place its code, change; the work does
//! not.
//!
//! A compare's interval rests on its rounds, and every round runs the same
//! two binaries, so the interval sees how processes differ, never how
//! builds do: measured on a 2-core Xeon (family 6 model 167), compares of
//! two builds of identical code held no change in 89% of their 95%
//! intervals, `rag_query.stage.fetch_parents` 20% apart throughout (20
//! compares, 2026-12-07 01:00 UTC; the next session, on the same VM, 97%
//! over 20, and 8 compares of 9 variants found the spread about 0: it is
//! measured per machine and day, not assumed). Where
//! the two sides of a compare are different builds, judgement adds this
//! variance to each calibrated metric's (`crate::rounds::across_rounds`).
//!
//! The estimate: compares of builds P₀→P₁, P₁→P₂, … of identical source,
//! each a log ratio d with its own standard error s; with no change in
//! truth, E[d²] = s² + τ², so τ² = mean(d²) − mean(s²), at least 0, on as
//! many degrees of freedom as compares (consecutive compares share a
//! build, so fewer in truth; the compare's note says how many compares
//! it rests on).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use perf_contract::{environment::Environment, plan::ProfileName};

/// The extra variance of one compare's log ratio when its sides are two
/// builds, with its degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BuildVariance {
    /// τ², log units squared.
    pub var: f64,
    pub df: f64,
}

impl BuildVariance {
    /// τ as a percentage, as messages show it.
    pub fn pct(&self) -> f64 {
        self.var.sqrt().exp_m1() * 100.0
    }
}

/// One compare of two builds of identical source, as calibration keeps it:
/// per `workload.metric`, the log ratio and its standard error.
pub type BuildCompare = BTreeMap<String, (f64, f64)>;

/// What `perf calibrate --builds` measured, per machine and profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildSpread {
    pub created_at: DateTime<Utc>,
    pub machine_fingerprint: String,
    pub environment: Environment,
    pub profile: ProfileName,
    /// Compares measured, and the builds they ran.
    pub compares: usize,
    pub builds: usize,
    /// `workload.metric` → its spread between builds.
    pub metrics: BTreeMap<String, BuildVariance>,
    /// Each compare's figures, so a later calibration can join them.
    pub raw: Vec<BuildCompare>,
}

/// Fewest compares a metric's spread between builds is estimated from.
pub const MIN_COMPARES: usize = 3;

impl BuildSpread {
    /// τ² per metric from `raw`, the compares of builds of one source.
    pub fn from_compares(
        raw: Vec<BuildCompare>,
        builds: usize,
        environment: Environment,
        fingerprint: String,
        profile: ProfileName,
        created_at: DateTime<Utc>,
    ) -> BuildSpread {
        let mut by_metric: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
        for compare in &raw {
            for (metric, &figures) in compare {
                by_metric.entry(metric).or_default().push(figures);
            }
        }
        let metrics = by_metric
            .into_iter()
            .filter(|(_, v)| v.len() >= MIN_COMPARES)
            .map(|(metric, v)| {
                let n = v.len() as f64;
                let d2 = v.iter().map(|(d, _)| d * d).sum::<f64>() / n;
                let s2 = v.iter().map(|(_, s)| s * s).sum::<f64>() / n;
                let var = (d2 - s2).max(0.0);
                (metric.to_string(), BuildVariance { var, df: n })
            })
            .collect();
        BuildSpread {
            created_at,
            machine_fingerprint: fingerprint,
            environment,
            profile,
            compares: raw.len(),
            builds,
            metrics,
            raw,
        }
    }

    /// The spread of `metric` (`workload.metric`), when measured.
    pub fn of(&self, metric: &str) -> Option<BuildVariance> {
        self.metrics.get(metric).copied()
    }

    /// Why this calibration does not describe a compare on `environment`
    /// with `profile` (another machine or profile), or `None`.
    pub fn unlike(
        &self,
        fingerprint: &str,
        environment: &Environment,
        profile: ProfileName,
    ) -> Option<String> {
        crate::calibration::unlike(
            "measured",
            (&self.machine_fingerprint, &self.environment, self.profile),
            (fingerprint, environment, profile),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compare(d: f64, s: f64) -> BuildCompare {
        [("rag_query.latency".to_string(), (d, s))].into()
    }

    /// The spread of `raw` as calibration keeps it.
    fn spread_of(raw: Vec<BuildCompare>) -> BuildSpread {
        let builds = raw.len() + 1;
        BuildSpread::from_compares(
            raw,
            builds,
            perf_contract::fixture::environment(),
            "m".into(),
            ProfileName::Quick,
            Utc::now(),
        )
    }

    #[test]
    fn the_spread_is_what_the_compares_scatter_beyond_their_intervals() {
        // Compares of identical source scatter ±2% while claiming ±0.5%.
        let raw: Vec<BuildCompare> = [0.02, -0.02, 0.02, -0.02]
            .iter()
            .map(|&d| compare(d, 0.005))
            .collect();
        let s = spread_of(raw);
        let v = s.of("rag_query.latency").unwrap();
        assert!((v.var - (0.0004 - 0.000025)).abs() < 1e-12, "{v:?}");
        assert_eq!(v.df, 4.0);
        // Compares that scatter no more than they claim add nothing.
        let quiet: Vec<BuildCompare> = (0..4).map(|_| compare(0.001, 0.005)).collect();
        let s = spread_of(quiet);
        assert_eq!(s.of("rag_query.latency").unwrap().var, 0.0);
        // Too few compares: no estimate.
        let s = spread_of(vec![compare(0.05, 0.01); 2]);
        assert!(s.of("rag_query.latency").is_none());
    }
}
