//! Memory figures every measured workload reports beside its own metrics:
//! the process's peak resident set during the workload, and what each
//! operation allocated (calls and bytes, counted on its warm-up runs by the
//! meter, so the timed runs carry no counting cost).
//! Both are nearly deterministic for the same inputs, so `check` and
//! `compare` judge them on medians. [`settled_rss_bytes`] is the resident
//! set a load's growth is measured from.

use std::collections::BTreeMap;

use perf_contract::metric_key::{CountedOp, MetricKind};
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
        m.push(MetricKind::AllocBytes(op), "", bytes);
        m.push(MetricKind::Allocations(op), "", calls);
    }
    if let Some(peak) = watch.peak_bytes() {
        m.push(MetricKind::PeakRss, "", vec![peak as f64]);
    }
}

/// This process's resident set once the allocator has handed back the
/// free memory it holds: what was freed earlier (an engine measured before)
/// is then no longer resident, so a load's growth measured between two
/// calls is what the load keeps, not the share of it that reused freed
/// pages. `None` where RSS cannot be read.
pub fn settled_rss_bytes() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
    rss::current_rss_bytes().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn settled_rss_counts_what_is_held_and_not_what_was_freed() {
        // black_box: an allocation nobody reads may be optimised away.
        let touched = |bytes: u64| std::hint::black_box(vec![1u8; bytes as usize]);
        let start = settled_rss_bytes().unwrap();
        // Allocated and freed: the next measurement must not see it.
        drop(touched(64 * MIB));
        let after_free = settled_rss_bytes().unwrap();
        let held = touched(64 * MIB);
        let holding = settled_rss_bytes().unwrap();
        drop(std::hint::black_box(held));
        // Other tests of this binary run beside this one, so the bounds
        // leave them half the figure either way.
        assert!(after_free < start + 32 * MIB, "{start} -> {after_free}");
        assert!(holding > after_free + 32 * MIB, "{after_free} -> {holding}");
    }
}
