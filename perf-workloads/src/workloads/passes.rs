//! The measurement loop shared by the query workloads: unmeasured warm-up
//! passes over the query set, then measured passes, with progress.

use perf_contract::plan::{HarnessPlan, WorkloadName};

use crate::{error::WorkloadError, reporter::Reporter};

/// Calls `f(item, measured)` for every item in every pass; `measured` is
/// false during warm-up. Samples are whatever `f` records when measured.
pub fn run_passes(
    reporter: &mut Reporter<'_>,
    workload: WorkloadName,
    harness: &HarnessPlan,
    items: usize,
    mut f: impl FnMut(usize, bool) -> Result<(), WorkloadError>,
) -> Result<(), WorkloadError> {
    let warmup = harness.warmup_passes as usize;
    let total_passes = warmup + harness.passes as usize;
    let total = total_passes * items;
    // About 50 progress messages per workload: enough for a smooth bar,
    // few enough to cost nothing next to a model call.
    let step = (total / 50).max(1);
    for pass in 0..total_passes {
        let measured = pass >= warmup;
        for item in 0..items {
            f(item, measured)?;
            let done = pass * items + item + 1;
            if done.is_multiple_of(step) || done == total {
                let phase = if measured { "measure" } else { "warm-up" };
                reporter.progress(workload, phase, done, total);
            }
        }
    }
    Ok(())
}
