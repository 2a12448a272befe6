//! Errors of the profiling library. Each message is one line that names what
//! failed and, where there is one, what to do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cpu sampling frequency {0} Hz is out of range: use 1 to 10000 Hz (99 or 997 avoids lockstep with periodic work)")]
    InvalidFrequency(i32),
    #[error("a cpu profiling session is already running in this process: finish it before starting another")]
    AlreadyRunning,
    #[error("cpu profiler failed to {action}: {source}")]
    Pprof {
        action: &'static str,
        #[source]
        source: pprof::Error,
    },
    #[error("cpu profile has no samples: profile a longer region or raise the sampling frequency")]
    EmptyProfile,
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} has no `{key}` line: is this a Linux /proc status file?")]
    MissingStatusField { path: PathBuf, key: &'static str },
    #[error("{what} is not supported here: {why}")]
    Unsupported { what: &'static str, why: String },
    #[error("flamegraph rendering failed: {0}")]
    Flamegraph(String),
}
