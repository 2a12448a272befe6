//! Bencher Metric Format (BMF) JSON, for teams that send results to a
//! Bencher server: `{benchmark: {measure: {value, lower_value,
//! upper_value}}}`, one document per machine and commit (Bencher names the
//! machine a testbed and the commit a hash on its own command line).
//!
//! Times go to Bencher's built-in `latency` measure, which is in
//! nanoseconds, and rates to `throughput` (operations per second), so its
//! charts show them in the units it expects; sizes, fractions and counts
//! get measures of their own (`bytes`, `ratio`, `count`), which Bencher
//! creates by name.

use std::collections::BTreeMap;

use perf_contract::schema::Unit;
use serde::Serialize;

use super::record::CommitRecord;

/// One value of a BMF document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BmfMetric {
    pub value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper_value: Option<f64>,
}

/// Benchmark (`workload.metric`) → measure slug → value.
pub type Bmf = BTreeMap<String, BTreeMap<&'static str, BmfMetric>>;

/// The measure a unit goes to, and the factor into that measure's unit.
fn measure(unit: Unit) -> (&'static str, f64) {
    match unit {
        Unit::Seconds => ("latency", 1e9),
        Unit::Milliseconds => ("latency", 1e6),
        Unit::Microseconds => ("latency", 1e3),
        Unit::DocsPerSecond | Unit::TokensPerSecond | Unit::PerSecond => ("throughput", 1.0),
        Unit::Bytes => ("bytes", 1.0),
        Unit::Ratio => ("ratio", 1.0),
        Unit::Count => ("count", 1.0),
    }
}

/// `record` as a BMF document: the median as the value, its 95% interval
/// as the bounds.
pub fn of(record: &CommitRecord) -> Bmf {
    record
        .metrics
        .iter()
        .map(|(name, p)| {
            let (slug, factor) = measure(p.unit);
            let value = BmfMetric {
                value: p.median * factor,
                lower_value: p.interval.map(|i| i.low * factor),
                upper_value: p.interval.map(|i| i.high * factor),
            };
            (name.clone(), BTreeMap::from([(slug, value)]))
        })
        .collect()
}
