//! CPU profiling sessions over pprof-rs, and what a finished profile can
//! write: an SVG flamegraph, a gzipped pprof protobuf, folded stacks (what a
//! differential flamegraph and the profile diff read), a top-functions table.
//!
//! pprof-rs samples with `setitimer(ITIMER_PROF)`: the kernel sends SIGPROF
//! per slice of CPU time the *process* uses, to whichever thread is running,
//! so a profile covers every thread and an idle process collects nothing.
//! Its state is one global per process, hence one session at a time.

use std::{io::Write, path::Path, time::Duration};

use flate2::{write::GzEncoder, Compression};
use pprof::protos::Message;

use crate::{
    atomic_write::write_atomic,
    family_shares::FamilyShares,
    folded::{self, folded_name, root_first},
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

    /// CPU samples per function family over every stack of the profile;
    /// what [`CpuProfile::write_folded`]'s file gives through
    /// [`FamilyShares::of_folded`].
    pub fn family_shares(&self) -> FamilyShares {
        FamilyShares::of_samples(&self.samples)
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
        write_atomic(path, &self.pprof_gzip())
    }

    /// The stacks as folded text (`root;caller;leaf COUNT` lines), identical
    /// call paths merged across threads; see [`CpuProfile::write_folded`].
    pub fn folded(&self) -> String {
        folded::to_folded(&self.samples)
    }

    /// Writes [`CpuProfile::folded`] to `path`: the input of
    /// [`crate::profile_diff::diff_folded`], of
    /// [`crate::profile_diff::write_differential_flamegraph`] and of
    /// inferno's or FlameGraph's own tools.
    ///
    /// Unlike [`CpuProfile::write_flamegraph`] it has no thread level, so two
    /// runs of the same code fold to comparable stacks. A profile without
    /// samples writes an empty file: a valid profile of nothing, which a
    /// diff shows as such, rather than an error.
    pub fn write_folded(&self, path: &Path) -> Result<(), ProfileError> {
        write_atomic(path, self.folded().as_bytes())
    }

    /// Writes an SVG flamegraph, one tower per thread.
    pub fn write_flamegraph(&self, path: &Path) -> Result<(), ProfileError> {
        if self.samples.is_empty() {
            return Err(ProfileError::EmptyProfile);
        }
        let lines = self.flamegraph_lines();
        let mut options = pprof::flamegraph::Options::default();
        options.title = format!(
            "CPU: {} samples at {} Hz",
            self.total_samples(),
            self.frequency_hz
        );
        options.count_name = "samples".into();
        let mut svg = Vec::new();
        pprof::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut svg)
            .map_err(|e| ProfileError::Flamegraph(e.to_string()))?;
        write_atomic(path, &svg)
    }

    /// Folded lines with the thread as the root frame
    /// (`thread;root;...;leaf N`), so the flamegraph has a tower per thread.
    fn flamegraph_lines(&self) -> Vec<String> {
        self.samples
            .iter()
            .map(|sample| {
                let thread = std::iter::once(folded_name(&sample.thread));
                let stack: Vec<String> = thread.chain(root_first(&sample.frames)).collect();
                format!("{} {}", stack.join(";"), sample.count)
            })
            .collect()
    }
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
    fn flamegraph_and_folded_lines_agree_on_frame_order() {
        let sample = |thread: &str, count| StackSample {
            frames: vec!["<[u8; 4] as Hot>::leaf".into(), "main".into()],
            thread: thread.into(),
            count,
        };
        let profile = CpuProfile {
            samples: vec![sample("worker", 7), sample("other", 2)],
            frequency_hz: 99,
            duration: Duration::from_secs(1),
            proto: pprof::protos::Profile::default(),
        };
        assert_eq!(
            profile.flamegraph_lines(),
            [
                "worker;main;<[u8, 4] as Hot>::leaf 7",
                "other;main;<[u8, 4] as Hot>::leaf 2"
            ]
        );
        assert_eq!(profile.folded(), "main;<[u8, 4] as Hot>::leaf 9\n");
    }

    #[test]
    fn write_folded_writes_the_folded_text() {
        let profile = CpuProfile {
            samples: vec![StackSample {
                frames: vec!["leaf".into(), "main".into()],
                thread: "main".into(),
                count: 3,
            }],
            frequency_hz: 99,
            duration: Duration::from_secs(1),
            proto: pprof::protos::Profile::default(),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cpu.folded");
        profile.write_folded(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "main;leaf 3\n");
    }
}
