//! What the regression gate allows: the threshold per metric (from
//! `perf.toml`'s `[check]` and `--threshold`), the absolute floors under
//! which a timing change is jitter (for metrics this machine's calibration
//! does not cover), the calibration, and the bootstrap's seed. One value,
//! read by `check`, by the report's comparison with the previous baseline,
//! and by every later comparison, so they cannot apply different rules.

use std::collections::BTreeMap;

use crate::{build_spread::BuildSpread, calibration::Calibration};

use perf_contract::{
    plan::WorkloadName,
    schema::{Metric, Unit},
};

/// The original task's acceptable variance: ±10%.
pub const DEFAULT_THRESHOLD_PCT: f64 = 10.0;
/// Below these absolute changes a timing difference is jitter, whatever
/// its percentage (a 1 µs stage moving by 0.3 µs is not a regression). The
/// µs floor was set from ten identical quick runs on a shared 2-core VM,
/// where 20-31 µs searches moved by 3.4-6.3 µs in the runs that flagged.
pub const DEFAULT_MIN_ABS_MS: f64 = 0.02;
pub const DEFAULT_MIN_ABS_US: f64 = 5.0;
/// Fixed so that a comparison of the same files always gives the same
/// intervals (mixed with each metric's name in `compare`).
pub const BOOTSTRAP_SEED: u64 = 0x5EED_CAFE;

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Allowed change of a median, in percent, where nothing more specific says.
    pub default_pct: f64,
    /// `workload.metric` or `workload` → percent (the most specific wins).
    pub per_key: BTreeMap<String, f64>,
    pub min_abs_ms: f64,
    pub min_abs_us: f64,
    pub seed: u64,
    /// This machine's measured spread between processes (`perf
    /// calibrate`): a calibrated metric's interval pools it, and no floor
    /// raises its threshold.
    pub calibration: Option<Calibration>,
    /// This machine's measured spread between two builds of one source
    /// (`perf calibrate --builds`), set by `compare` when its two sides
    /// are different builds: a paired interval adds it.
    pub between_builds: Option<BuildSpread>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            default_pct: DEFAULT_THRESHOLD_PCT,
            per_key: BTreeMap::new(),
            min_abs_ms: DEFAULT_MIN_ABS_MS,
            min_abs_us: DEFAULT_MIN_ABS_US,
            seed: BOOTSTRAP_SEED,
            calibration: None,
            between_builds: None,
        }
    }
}

impl Policy {
    /// The threshold in percent for one metric, given its baseline (whose
    /// unit and median turn the absolute floor into a percentage).
    pub fn pct_for(&self, workload: WorkloadName, metric: &str, baseline: Option<&Metric>) -> f64 {
        let configured = self
            .per_key
            .get(&format!("{workload}.{metric}"))
            .or_else(|| self.per_key.get(workload.as_str()))
            .copied()
            .unwrap_or(self.default_pct);
        let calibrated = self
            .calibration
            .as_ref()
            .is_some_and(|c| c.spread(workload, metric).is_some());
        let floor = baseline
            .filter(|_| !calibrated)
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
