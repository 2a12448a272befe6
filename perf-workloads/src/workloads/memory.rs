//! Memory figures every measured workload reports beside its own metrics:
//! the process's peak resident set during the workload, and what each
//! operation allocated (calls and bytes, counted on its warm-up runs by the
//! meter, so the timed runs carry no counting cost).
//! Both are nearly deterministic for the same inputs, so `check` and
//! `compare` judge them on medians.

use std::collections::BTreeMap;

use perf_contract::{
    metric_key::{CountedOp, MetricKind},
    schema::{Better, Unit},
};
use perf_profile::{rss, AllocStats};

use crate::{hook::Op, reporter::MetricSet};

/// The peak-RSS mark, reset when a workload starts.
pub struct PeakRssWatch {
    /// False where the kernel cannot reset the mark: the process-lifetime
    /// peak would then say nothing about this workload, so none is reported.
    reset: bool,
}

impl PeakRssWatch {
    pub fn start() -> PeakRssWatch {
        PeakRssWatch {
            reset: rss::reset_peak_rss().is_ok(),
        }
    }

    fn peak_bytes(&self) -> Option<u64> {
        self.reset.then(|| rss::peak_rss_bytes().ok()).flatten()
    }
}

/// Adds `peak_rss` and, per operation, `<op>.alloc_bytes` and
/// `<op>.allocations` (one sample per warm-up run, in the order they ran).
pub fn push_memory_metrics(
    m: &mut MetricSet,
    watch: &PeakRssWatch,
    allocations: Vec<(Op, AllocStats)>,
) {
    let mut by_op: BTreeMap<CountedOp, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for (op, stats) in allocations {
        let (bytes, calls) = by_op.entry(op.op).or_default();
        bytes.push(stats.bytes_allocated as f64);
        calls.push(stats.allocations as f64);
    }
    for (op, (bytes, calls)) in by_op {
        m.push(
            MetricKind::AllocBytes(op),
            Unit::Bytes,
            Better::Lower,
            format!("bytes allocated by one `{op}` operation, counted on its warm-up runs (all threads, a realloc counts its new size)"),
            bytes,
        );
        m.push(
            MetricKind::Allocations(op),
            Unit::Count,
            Better::Lower,
            format!("allocator calls of one `{op}` operation, counted on its warm-up runs (all threads)"),
            calls,
        );
    }
    if let Some(peak) = watch.peak_bytes() {
        m.push(
            MetricKind::PeakRss,
            Unit::Bytes,
            Better::Lower,
            "the process's peak resident set during the workload (models and prepared data included)",
            vec![peak as f64],
        );
    }
}
