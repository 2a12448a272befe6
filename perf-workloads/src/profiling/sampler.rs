//! The CPU sampler with allocation accounting, as a [`WorkloadHook`]: a
//! pprof-rs session and a counting-allocator region around one workload's
//! run or one stage probe's loop. The sampler starts first and stops last,
//! so its own buffers (tens of MiB) are not counted as the workload's
//! allocations.

use std::time::Instant;

use perf_contract::plan::WorkloadName;
use perf_profile::{AllocStats, CountingAllocator, CpuProfile, CpuProfiler, CpuSession, Region};

use crate::{error::WorkloadError, hook::WorkloadHook};

/// What one sampled span left behind.
pub struct Sampled {
    pub cpu: CpuProfile,
    pub alloc: AllocStats,
    pub wall_s: f64,
}

pub struct Sampler<'a> {
    alloc: &'a CountingAllocator,
    frequency_hz: i32,
    running: Option<(CpuSession, Region<'a>, Instant)>,
    done: Option<Sampled>,
}

pub(crate) fn profile_err(e: perf_profile::ProfileError) -> WorkloadError {
    WorkloadError::Config(format!("profiler: {e}"))
}

impl<'a> Sampler<'a> {
    pub fn new(alloc: &'a CountingAllocator, frequency_hz: i32) -> Sampler<'a> {
        Sampler {
            alloc,
            frequency_hz,
            running: None,
            done: None,
        }
    }

    /// The evidence of the last span that stopped.
    pub fn take(&mut self) -> Option<Sampled> {
        self.done.take()
    }
}

impl WorkloadHook for Sampler<'_> {
    fn start(&mut self, _workload: WorkloadName) -> Result<(), WorkloadError> {
        let session = CpuProfiler::start(self.frequency_hz).map_err(profile_err)?;
        self.alloc.enable();
        let region = Region::start(self.alloc);
        self.running = Some((session, region, Instant::now()));
        Ok(())
    }

    fn stop(&mut self, _workload: WorkloadName) -> Result<(), WorkloadError> {
        let Some((session, region, start)) = self.running.take() else {
            return Ok(());
        };
        let wall_s = start.elapsed().as_secs_f64();
        let alloc = region.finish();
        self.alloc.disable();
        let cpu = session.finish().map_err(profile_err)?;
        self.done = Some(Sampled { cpu, alloc, wall_s });
        Ok(())
    }
}
