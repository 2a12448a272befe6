//! The regression gate's policy from `perf.toml`'s `[check]` table and
//! `--threshold` (the policy itself, its defaults and how it applies are
//! `perf_report::policy`'s), and the checks that keep a bad setting from
//! silently changing the gate: an infinite threshold made every metric
//! incomparable (and the check passed), a negative one acted as 0%, and a
//! misspelt metric key was simply never used.

use std::path::Path;

use anyhow::{bail, Result};
use perf_contract::{plan::WorkloadName, schema::Baseline};
use perf_report::policy::{Policy, DEFAULT_MIN_ABS_MS, DEFAULT_MIN_ABS_US, DEFAULT_THRESHOLD_PCT};

use serde::Deserialize;

use crate::spelling::closest;

/// `perf.toml`'s `[check]`: the gate's thresholds. A metric's threshold is
/// the most specific of `thresholds."workload.metric"`,
/// `thresholds."workload"`, `threshold_pct`, raised to the absolute floor
/// (`min_abs_ms`, `min_abs_us`) for metrics so small that timer and
/// scheduler jitter alone exceed a percentage.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckConfig {
    pub threshold_pct: Option<f64>,
    pub min_abs_ms: Option<f64>,
    pub min_abs_us: Option<f64>,
    pub thresholds: std::collections::BTreeMap<String, f64>,
}

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

/// Refuses a threshold or floor that is not a finite number of 0 or more,
/// naming the flag or the file and key. `file` names the configuration.
pub fn validate(config: &CheckConfig, file: &str, flag: Option<f64>) -> Result<()> {
    let bad = |v: f64| !(v.is_finite() && v >= 0.0);
    if let Some(v) = flag.filter(|v| bad(*v)) {
        bail!("--threshold {v} is not a percentage of 0 or more: pass e.g. --threshold 10");
    }
    let settings = [
        ("[check] threshold_pct".to_string(), config.threshold_pct),
        ("[check] min_abs_ms".to_string(), config.min_abs_ms),
        ("[check] min_abs_us".to_string(), config.min_abs_us),
    ];
    let per_key = config
        .thresholds
        .iter()
        .map(|(k, v)| (format!("[check.thresholds] \"{k}\""), Some(*v)));
    for (key, value) in settings.into_iter().chain(per_key) {
        if let Some(v) = value.filter(|v| bad(*v)) {
            bail!("{file}: {key} = {v} is not a number of 0 or more: fix the value or remove the line");
        }
    }
    Ok(())
}

/// Refuses a `[check.thresholds]` key whose first part names no workload:
/// what a command can check before it has measured anything (`compare`
/// checks the whole key against its first round with [`check_keys`]).
pub fn check_key_workloads(config: &CheckConfig, file: &str) -> Result<()> {
    let known: Vec<&str> = WorkloadName::ALL.iter().map(|w| w.as_str()).collect();
    for key in config.thresholds.keys() {
        let workload = key.split('.').next().unwrap_or_default();
        if !known.contains(&workload) {
            let near = closest(workload, known.iter().copied(), 3);
            let hint = if near.is_empty() {
                format!("workloads are {}", known.join(", "))
            } else {
                format!("closest: {}", near.join(", "))
            };
            bail!("{file}: [check.thresholds] \"{key}\" names no workload ({hint}): fix the key or remove it");
        }
    }
    Ok(())
}

/// Refuses a `[check.thresholds]` key that names no workload and no
/// `workload.metric` of `baseline` (at `baseline_path`), with the closest
/// names it has.
pub fn check_keys(
    config: &CheckConfig,
    file: &str,
    baseline: &Baseline,
    baseline_path: &Path,
) -> Result<()> {
    let mut known: Vec<String> = Vec::new();
    for (w, result) in &baseline.workloads {
        known.push(w.as_str().to_string());
        known.extend(result.metrics.keys().map(|m| format!("{w}.{m}")));
    }
    let unknown: Vec<&String> = config
        .thresholds
        .keys()
        .filter(|k| !known.contains(k))
        .collect();
    let Some(first) = unknown.first() else {
        return Ok(());
    };
    let near = closest(first, known.iter().map(String::as_str), 3);
    let hint = if near.is_empty() {
        format!(
            "its workloads are {}",
            baseline
                .workloads
                .keys()
                .map(|w| w.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!("closest: {}", near.join(", "))
    };
    let others = match unknown.len() {
        1 => String::new(),
        n => format!(" (and {} more unknown key(s))", n - 1),
    };
    bail!(
        "{file}: [check.thresholds] \"{first}\" matches no metric of baseline {}{others}; {hint}: fix the key or remove it",
        baseline_path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_contract::{
        plan::WorkloadName,
        schema::{Better, Metric, Unit},
    };

    fn metric(unit: Unit, median: f64) -> Metric {
        Metric::new(unit, Better::Lower, String::new(), vec![median]).unwrap()
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

    #[test]
    fn thresholds_that_are_not_percentages_are_refused() {
        let ok = CheckConfig::default();
        for bad in [f64::INFINITY, f64::NAN, -5.0] {
            let err = validate(&ok, "perf.toml", Some(bad))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("--threshold "), "{err}");
            let config = CheckConfig {
                threshold_pct: Some(bad),
                ..CheckConfig::default()
            };
            let err = validate(&config, "p.toml", None).unwrap_err().to_string();
            assert!(err.starts_with("p.toml: [check] threshold_pct = "), "{err}");
            let config = CheckConfig {
                thresholds: [("rag_query".to_string(), bad)].into(),
                ..CheckConfig::default()
            };
            assert!(validate(&config, "p.toml", None).is_err());
        }
        validate(&ok, "perf.toml", Some(0.0)).unwrap();
    }

    #[test]
    fn keys_must_name_a_metric_of_the_baseline() {
        use perf_contract::{
            plan::WorkloadName,
            schema::{Better, Unit},
        };
        let baseline = perf_contract::fixture::baseline(&[(
            WorkloadName::RagQuery,
            "latency",
            Unit::Milliseconds,
            Better::Lower,
            vec![1.0],
        )]);
        let config = |k: &str| CheckConfig {
            thresholds: [(k.to_string(), 5.0)].into(),
            ..CheckConfig::default()
        };
        let b = Path::new("b.json");
        check_keys(&config("rag_query"), "perf.toml", &baseline, b).unwrap();
        check_keys(&config("rag_query.latency"), "perf.toml", &baseline, b).unwrap();
        let err = check_keys(&config("rag_query.latncy"), "perf.toml", &baseline, b)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"rag_query.latncy\" matches no metric of baseline b.json")
                && err.contains("closest: rag_query.latency"),
            "{err}"
        );
    }
}
