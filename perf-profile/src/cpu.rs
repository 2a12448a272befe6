//! CPU profiling sessions over pprof-rs, and what a finished profile can
//! write: an SVG flamegraph, a gzipped pprof protobuf, a top-functions table.
//!
//! pprof-rs samples with `setitimer(ITIMER_PROF)`: the kernel sends SIGPROF
//! per slice of CPU time the *process* uses, to whichever thread is running,
//! so a profile covers every thread and an idle process collects nothing.
//! Its state is one global per process, hence one session at a time.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::Path,
    time::Duration,
};

use flate2::{write::GzEncoder, Compression};
use pprof::protos::Message;

use crate::{
    stack::{self, StackSample},
    top::{top_functions, TopReport},
    ProfileError,
};

/// Shared objects whose code is never sampled. pprof-rs's documentation
/// recommends these: unwinding with libgcc from a signal that interrupted
/// libc, libgcc or pthread can deadlock, and some distributions ship vdso
/// with wrong unwind tables. Samples landing there are dropped, not moved.
pub const BLOCKLIST: [&str; 4] = ["libc", "libgcc", "pthread", "vdso"];

/// Highest sampling rate accepted. Linux delivers CPU-time timers at the
/// scheduler tick, so rates above the kernel's HZ (usually 250 to 1000) only
/// add signal overhead, and pprof-rs's microsecond interval reaches zero
/// (timer off) past 1 MHz.
pub const MAX_FREQUENCY_HZ: i32 = 10_000;

/// Starts CPU profiling sessions.
pub struct CpuProfiler;

impl CpuProfiler {
    /// Starts sampling the whole process `frequency_hz` times per CPU second.
    /// A rate that is not a multiple of common periods (99, 997) avoids
    /// sampling in lockstep with periodic work.
    pub fn start(frequency_hz: i32) -> Result<CpuSession, ProfileError> {
        if !(1..=MAX_FREQUENCY_HZ).contains(&frequency_hz) {
            return Err(ProfileError::InvalidFrequency(frequency_hz));
        }
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(frequency_hz)
            .blocklist(&BLOCKLIST)
            .build()
            .map_err(|source| match source {
                pprof::Error::Running => ProfileError::AlreadyRunning,
                source => ProfileError::Pprof {
                    action: "start",
                    source,
                },
            })?;
        Ok(CpuSession {
            guard,
            frequency_hz,
        })
    }
}

/// A running profile; sampling stops when it is finished or dropped.
pub struct CpuSession {
    guard: pprof::ProfilerGuard<'static>,
    frequency_hz: i32,
}

impl CpuSession {
    /// Resolves the samples into a profile, then stops sampling.
    ///
    /// Symbol resolution happens here and can take a second the first time
    /// (it loads debug info); the timer still fires meanwhile, but pprof-rs
    /// holds its lock while building, so those ticks are dropped rather than
    /// charged to the profiler's own work.
    pub fn finish(self) -> Result<CpuProfile, ProfileError> {
        let report = self
            .guard
            .report()
            .frames_post_processor(stack::trim_sampler_frames)
            .build()
            .map_err(|source| ProfileError::Pprof {
                action: "build its report",
                source,
            })?;
        let proto = report.pprof().map_err(|source| ProfileError::Pprof {
            action: "encode its report",
            source,
        })?;
        // Dropping the guard stops the timer and clears pprof-rs's global
        // state, so it must outlive the report above.
        drop(self.guard);
        Ok(CpuProfile {
            samples: stack::from_report(&report),
            frequency_hz: self.frequency_hz,
            duration: report.timing.duration,
            proto,
        })
    }
}

/// A finished CPU profile: owned stack samples plus the pprof protobuf that
/// pprof-rs built from the same report (with file names and line numbers).
#[derive(Debug, Clone)]
pub struct CpuProfile {
    samples: Vec<StackSample>,
    frequency_hz: i32,
    duration: Duration,
    proto: pprof::protos::Profile,
}

impl CpuProfile {
    /// Distinct stacks, heaviest first.
    pub fn samples(&self) -> &[StackSample] {
        &self.samples
    }

    pub fn total_samples(&self) -> u64 {
        self.samples.iter().map(|s| s.count).sum()
    }

    pub fn frequency_hz(&self) -> i32 {
        self.frequency_hz
    }

    /// Wall-clock time the session ran.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The profile in pprof's protobuf schema (`perftools.profiles`).
    pub fn pprof_proto(&self) -> &pprof::protos::Profile {
        &self.proto
    }

    /// The `n` heaviest functions by self and by cumulative samples.
    pub fn top(&self, n: usize) -> TopReport {
        top_functions(&self.samples, n)
    }

    /// The protobuf, gzip-compressed as `go tool pprof` reads it.
    pub fn pprof_gzip(&self) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        // Writing into a Vec cannot fail.
        let _ = gz.write_all(&self.proto.encode_to_vec());
        gz.finish().unwrap_or_default()
    }

    /// Writes the gzipped protobuf (`profile.pb`-style) to `path`.
    pub fn write_pprof(&self, path: &Path) -> Result<(), ProfileError> {
        std::fs::write(path, self.pprof_gzip()).map_err(|source| ProfileError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes an SVG flamegraph, one tower per thread.
    pub fn write_flamegraph(&self, path: &Path) -> Result<(), ProfileError> {
        if self.samples.is_empty() {
            return Err(ProfileError::EmptyProfile);
        }
        let write_err = |source| ProfileError::Write {
            path: path.to_path_buf(),
            source,
        };
        let file = File::create(path).map_err(write_err)?;
        let mut out = BufWriter::new(file);
        let lines = self.folded_lines();
        let mut options = pprof::flamegraph::Options::default();
        options.title = format!(
            "CPU: {} samples at {} Hz",
            self.total_samples(),
            self.frequency_hz
        );
        options.count_name = "samples".into();
        pprof::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut out)
            .map_err(|e| ProfileError::Flamegraph(e.to_string()))?;
        out.flush().map_err(write_err)
    }

    /// Stacks in the folded format inferno reads: `thread;root;...;leaf N`.
    fn folded_lines(&self) -> Vec<String> {
        self.samples
            .iter()
            .map(|sample| {
                let mut line = folded_name(&sample.thread);
                for frame in sample.frames.iter().rev() {
                    line.push(';');
                    line.push_str(&folded_name(frame));
                }
                line.push(' ');
                line.push_str(&sample.count.to_string());
                line
            })
            .collect()
    }
}

/// `;` separates frames in the folded format, yet Rust names can hold one
/// (`<[u8; 4] as Trait>::f`); pprof-rs's own flamegraph splits such names.
fn folded_name(name: &str) -> String {
    name.replace(';', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequency_out_of_range_is_rejected_before_pprof_starts() {
        for hz in [0, -5, MAX_FREQUENCY_HZ + 1] {
            assert!(matches!(
                CpuProfiler::start(hz),
                Err(ProfileError::InvalidFrequency(f)) if f == hz
            ));
        }
    }

    #[test]
    fn folded_lines_run_root_to_leaf_and_escape_semicolons() {
        let profile = CpuProfile {
            samples: vec![StackSample {
                frames: vec!["<[u8; 4] as Hot>::leaf".into(), "main".into()],
                thread: "worker".into(),
                count: 7,
            }],
            frequency_hz: 99,
            duration: Duration::from_secs(1),
            proto: pprof::protos::Profile::default(),
        };
        assert_eq!(
            profile.folded_lines(),
            ["worker;main;<[u8, 4] as Hot>::leaf 7"]
        );
    }
}
