//! The regression gate's policy from `perf.toml`'s `[check]` table and
//! `--threshold` (the policy itself, its defaults and how it applies are
//! `perf_report::policy`'s).

use perf_report::policy::{Policy, DEFAULT_MIN_ABS_MS, DEFAULT_MIN_ABS_US, DEFAULT_THRESHOLD_PCT};

use crate::config::CheckConfig;

/// `flag` (`--threshold`) replaces the configured default, not the
/// per-metric entries, which are more specific.
pub fn policy(config: &CheckConfig, flag: Option<f64>) -> Policy {
    Policy {
        default_pct: flag
            .or(config.threshold_pct)
            .unwrap_or(DEFAULT_THRESHOLD_PCT),
        per_key: config.thresholds.clone(),
        min_abs_ms: config.min_abs_ms.unwrap_or(DEFAULT_MIN_ABS_MS),
        min_abs_us: config.min_abs_us.unwrap_or(DEFAULT_MIN_ABS_US),
        ..Policy::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_contract::{
        plan::WorkloadName,
        schema::{Better, Metric, Unit},
        summary::Summary,
    };

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
        let t = policy(&config, None);
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
            policy(&config, Some(5.0)).pct_for(WorkloadName::Embedding, "x", None),
            5.0
        );
        // 0.02 ms floor on a 0.001 ms stage: 2000%.
        let tiny = metric(Unit::Milliseconds, 0.001);
        assert!(
            (t.pct_for(WorkloadName::RagQuery, "stage.fetch_parents", Some(&tiny)) - 2000.0).abs()
                < 1e-6
        );
        let default = policy(&CheckConfig::default(), None);
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
