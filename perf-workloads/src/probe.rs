//! Stage probes: one stage of a workload run on its own over prepared
//! inputs, so CPU samples (the model's worker threads included) and
//! allocations belong to exactly one stage. Each workload lists its own
//! (`Workload::stages`); profile mode runs whatever it is given.

use crate::{error::WorkloadError, stage_timer::Stage};

/// One stage, as `ops` separate operations (`run(i)` performs the i-th).
pub struct Probe<'a> {
    pub stage: Stage,
    pub ops: usize,
    pub run: Box<dyn FnMut(usize) -> Result<(), WorkloadError> + 'a>,
}

impl<'a> Probe<'a> {
    pub fn new(
        stage: Stage,
        ops: usize,
        run: impl FnMut(usize) -> Result<(), WorkloadError> + 'a,
    ) -> Probe<'a> {
        Probe {
            stage,
            ops,
            run: Box::new(run),
        }
    }
}
