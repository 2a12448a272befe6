//! The `summary.json` of a profile run: per workload the profiler's
//! overhead, CPU samples, peak RSS and allocations, per stage the same
//! evidence, and the ranked bottlenecks. Written by the workloads process,
//! read by the front end and the report.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{alloc::AllocStats, bottlenecks::Bottleneck};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileSummary {
    pub frequency_hz: i32,
    pub workloads: Vec<WorkloadProfile>,
    pub bottlenecks: Vec<Bottleneck>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadProfile {
    pub workload: String,
    /// Wall time of the workload without and with the sampler and allocation
    /// accounting; their ratio is the profiler's overhead.
    pub wall_s_plain: f64,
    pub wall_s_profiled: f64,
    pub overhead_pct: f64,
    pub cpu_samples: u64,
    /// Peak resident set of the process while the workload ran (the model
    /// and corpus are already resident, so this is the process's peak).
    pub peak_rss_bytes: Option<u64>,
    pub alloc: AllocStats,
    pub files: Vec<PathBuf>,
    pub stages: Vec<StageProfile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageProfile {
    pub stage: String,
    /// Operations in one pass of the stage run in isolation (questions,
    /// batches, builds).
    pub ops: usize,
    /// Passes run (repeated until the stage had run for 300 ms); the totals
    /// below cover all of them.
    pub passes: usize,
    pub wall_ms_total: f64,
    pub wall_ms_median: f64,
    pub cpu_samples: u64,
    pub alloc: AllocStats,
    /// Functions with the most self samples in this stage.
    pub top_functions: Vec<(String, u64)>,
}
