//! Per-metric thresholds of the regression gate, from `perf.toml`'s
//! `[check]` table and `--threshold`.

use std::collections::BTreeMap;

use perf_report::{
    plan::WorkloadName,
    schema::{Metric, Unit},
};

use crate::config::CheckConfig;

/// The seed's acceptable variance: ±10%.
pub const DEFAULT_THRESHOLD_PCT: f64 = 10.0;
/// Below these absolute changes a timing difference is jitter, whatever
/// its percentage (a 1 µs stage moving by 0.3 µs is not a regression). The
/// µs floor was set from ten identical quick runs on a shared 2-core VM,
/// where 20-31 µs searches moved by 3.4-6.3 µs in the runs that flagged.
pub const DEFAULT_MIN_ABS_MS: f64 = 0.02;
pub const DEFAULT_MIN_ABS_US: f64 = 5.0;

#[derive(Debug, Clone)]
pub struct Thresholds {
    pub default_pct: f64,
    pub per_key: BTreeMap<String, f64>,
    pub min_abs_ms: f64,
    pub min_abs_us: f64,
}

impl Thresholds {
    /// `flag` (`--threshold`) replaces the configured default, not the
    /// per-metric entries, which are more specific.
    pub fn new(config: &CheckConfig, flag: Option<f64>) -> Thresholds {
        Thresholds {
            default_pct: flag
                .or(config.threshold_pct)
                .unwrap_or(DEFAULT_THRESHOLD_PCT),
            per_key: config.thresholds.clone(),
            min_abs_ms: config.min_abs_ms.unwrap_or(DEFAULT_MIN_ABS_MS),
            min_abs_us: config.min_abs_us.unwrap_or(DEFAULT_MIN_ABS_US),
        }
    }

    /// The threshold in percent for one metric, given its baseline.
    pub fn pct_for(&self, workload: WorkloadName, metric: &str, baseline: Option<&Metric>) -> f64 {
        let configured = self
            .per_key
            .get(&format!("{workload}.{metric}"))
            .or_else(|| self.per_key.get(workload.as_str()))
            .copied()
            .unwrap_or(self.default_pct);
        let floor = baseline
            .and_then(|m| {
                let abs = match m.unit {
                    Unit::Milliseconds => self.min_abs_ms,
                    Unit::Microseconds => self.min_abs_us,
                    _ => return None,
                };
                (m.summary.median > 0.0).then(|| abs / m.summary.median * 100.0)
            })
            .unwrap_or(0.0);
        configured.max(floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_report::{schema::Better, stats::Summary};

    fn metric(unit: Unit, median: f64) -> Metric {
        Metric {
            unit,
            better: Better::Lower,
            description: String::new(),
            summary: Summary::from_samples(&[median]).unwrap(),
            samples: vec![median],
        }
    }

    #[test]
    fn most_specific_setting_wins_and_floor_applies() {
        let config = CheckConfig {
            threshold_pct: Some(12.0),
            thresholds: [
                ("rag_query".to_string(), 15.0),
                ("rag_query.latency".to_string(), 20.0),
            ]
            .into(),
            ..CheckConfig::default()
        };
        let t = Thresholds::new(&config, None);
        let big = metric(Unit::Milliseconds, 10.0);
        assert_eq!(
            t.pct_for(WorkloadName::RagQuery, "latency", Some(&big)),
            20.0
        );
        assert_eq!(
            t.pct_for(WorkloadName::RagQuery, "stage.embed", Some(&big)),
            15.0
        );
        assert_eq!(t.pct_for(WorkloadName::Embedding, "x", None), 12.0);
        assert_eq!(
            Thresholds::new(&config, Some(5.0)).pct_for(WorkloadName::Embedding, "x", None),
            5.0
        );
        // 0.02 ms floor on a 0.001 ms stage: 2000%.
        let tiny = metric(Unit::Milliseconds, 0.001);
        assert!(
            (t.pct_for(WorkloadName::RagQuery, "stage.fetch_parents", Some(&tiny)) - 2000.0).abs()
                < 1e-6
        );
        let default = Thresholds::new(&CheckConfig::default(), None);
        assert_eq!(
            default.pct_for(
                WorkloadName::VectorQuery,
                "recall_at_5",
                Some(&metric(Unit::Ratio, 1.0))
            ),
            10.0
        );
    }
}
