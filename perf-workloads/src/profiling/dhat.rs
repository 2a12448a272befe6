//! dhat's heap profiler as a [`WorkloadHook`] (the `dhat-heap` build, whose
//! global allocator is dhat's): one profiler per workload, so each workload
//! gets its own `DIR/<workload>/dhat-heap.json` for DHAT's viewer.
//! Preparation (corpus, model, index) is outside every file.

use std::{fs, path::PathBuf};

use perf_contract::plan::WorkloadName;

use crate::{error::WorkloadError, hook::WorkloadHook};

pub struct DhatHook {
    dir: PathBuf,
    running: Option<dhat::Profiler>,
}

impl DhatHook {
    pub fn new(dir: PathBuf) -> DhatHook {
        DhatHook { dir, running: None }
    }
}

impl WorkloadHook for DhatHook {
    fn start(&mut self, workload: WorkloadName) -> Result<(), WorkloadError> {
        let dir = self.dir.join(workload.as_str());
        fs::create_dir_all(&dir).map_err(|e| WorkloadError::Io {
            path: dir.clone(),
            message: e.to_string(),
        })?;
        // Only one dhat profiler may run at a time: the previous workload's
        // was dropped (and its file written) in `stop`.
        self.running = Some(
            dhat::Profiler::builder()
                .file_name(dir.join("dhat-heap.json"))
                .build(),
        );
        Ok(())
    }

    fn stop(&mut self, _workload: WorkloadName) -> Result<(), WorkloadError> {
        // Dropping the profiler writes its file.
        self.running = None;
        Ok(())
    }
}
