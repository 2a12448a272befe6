//! Measurement hooks: what the harness does around the same workload code,
//! so a workload is written once and timed, counted, sampled and
//! heap-profiled without being described again (criterion's `Profiler`
//! trait plays this part for its benchmarks).
//!
//! Two scopes:
//! - [`WorkloadHook`]: around a whole workload's run, or one stage probe's
//!   loop. The CPU sampler with allocation accounting
//!   ([`crate::profiling::sampler::Sampler`]) and dhat's heap profiler
//!   (`profiling/dhat.rs`, the `dhat-heap` build) are hooks of this kind.
//! - [`OpHook`]: around each measured operation, inside the loop, called by
//!   [`crate::meter::Meter`]. Retired-instruction counting
//!   ([`crate::counters::InstructionCounter`]) and callgrind regions
//!   ([`crate::callgrind::CallgrindRegions`]) are hooks of this kind; wall
//!   time is the meter's own and needs no hook.

use perf_contract::{metric_key::CountedOp, plan::WorkloadName};

use crate::error::WorkloadError;

/// Called around one workload's run (and around a stage probe's loop).
/// `stop` runs even when the workload failed, in reverse order of `start`.
pub trait WorkloadHook {
    fn start(&mut self, workload: WorkloadName) -> Result<(), WorkloadError>;
    fn stop(&mut self, workload: WorkloadName) -> Result<(), WorkloadError>;
}

/// One measured operation: which workload measures it and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub workload: WorkloadName,
    pub op: CountedOp,
}

impl Op {
    pub fn new(workload: WorkloadName, op: CountedOp) -> Op {
        Op { workload, op }
    }

    /// `<workload>/<op>`: how callgrind dumps and xtask name it.
    pub fn label(&self) -> String {
        format!("{}/{}", self.workload, self.op)
    }
}

/// Called around one measured operation, outside its timed span. A hook
/// that counts returns its count from `stop`.
pub trait OpHook {
    fn start(&self, op: Op);
    fn stop(&self, op: Op) -> Option<u64>;
}
