//! The machine and software a result was measured on, and the fingerprint
//! that decides whether two results may be compared at all.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub timestamp: DateTime<Utc>,
    pub hostname: String,
    pub cpu_model: String,
    pub logical_cores: usize,
    pub physical_cores: Option<usize>,
    pub memory_bytes: u64,
    pub os: String,
    pub kernel: String,
    pub arch: String,
    pub rustc: String,
    pub git_commit: Option<String>,
    /// Uncommitted changes to tracked files when the run started.
    pub git_dirty: Option<bool>,
}

impl Environment {
    /// Identity of the hardware and OS image: results from machines with
    /// different fingerprints are not comparable without saying so. Memory is
    /// rounded to GiB because the kernel reserves a varying few MiB.
    pub fn fingerprint(&self) -> String {
        format!(
            "{} | {} logical cores | {} GiB | {} | {}",
            self.cpu_model,
            self.logical_cores,
            (self.memory_bytes as f64 / (1u64 << 30) as f64).round(),
            self.arch,
            self.os
        )
    }
}
