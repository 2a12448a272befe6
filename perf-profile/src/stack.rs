//! Sampled call stacks in an owned, plain form, converted from pprof-rs's
//! report so callers can attribute samples without touching pprof types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One distinct call stack and how many times the sampler caught it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackSample {
    /// Demangled function names, leaf (where the CPU was) first. Functions
    /// the compiler inlined appear as their own entries, innermost first,
    /// so an inlined hot loop is still named.
    pub frames: Vec<String>,
    /// The thread's name, or its numeric id when it has none. Linux cuts
    /// names to 15 bytes.
    pub thread: String,
    pub count: u64,
}

impl StackSample {
    /// The function the CPU was executing, if the stack resolved at all.
    pub fn leaf(&self) -> Option<&str> {
        self.frames.first().map(String::as_str)
    }

    /// Whether any frame's name contains `needle`: the way to attribute a
    /// sample to a stage by the function that runs it.
    pub fn contains_frame(&self, needle: &str) -> bool {
        self.frames.iter().any(|f| f.contains(needle))
    }
}

/// Frames the sampler itself contributes at the leaf end. pprof-rs drops its
/// signal handler and the kernel trampoline after it; depending on inlining
/// and the unwinder, frames of the unwinding code above the handler can
/// still lead the stack, and they are cost of measuring, not of the program.
fn is_sampler_frame(name: &str) -> bool {
    name.starts_with("backtrace::")
        || name.starts_with("pprof::")
        || name.starts_with("<pprof::")
        || name.starts_with("_Unwind_")
        || name.contains("perf_signal_handler")
        || name == "__restore_rt"
}

/// Turns pprof-rs's report (built with [`trim_sampler_frames`]) into stack
/// samples: identical stacks merged (pprof keys stacks by address and timestamp, so
/// one call path can arrive as several entries), heaviest first with ties in
/// name order so output is stable.
pub(crate) fn from_report(report: &pprof::Report) -> Vec<StackSample> {
    let mut merged: BTreeMap<(Vec<String>, String), u64> = BTreeMap::new();
    for (frames, &count) in &report.data {
        if count <= 0 {
            continue;
        }
        let names: Vec<String> = frames
            .frames
            .iter()
            .flat_map(|frame| frame.iter().map(|symbol| symbol.name()))
            .collect();
        *merged
            .entry((names, frames.thread_name_or_id()))
            .or_default() += count as u64;
    }
    let mut samples: Vec<StackSample> = merged
        .into_iter()
        .map(|((frames, thread), count)| StackSample {
            frames,
            thread,
            count,
        })
        .collect();
    samples.sort_by_key(|s| std::cmp::Reverse(s.count));
    samples
}

/// Drops the sampler's own frames from the leaf end of every stack before
/// pprof-rs builds its flamegraph and protobuf, so all three outputs agree.
pub(crate) fn trim_sampler_frames(frames: &mut pprof::Frames) {
    let keep_from = frames
        .frames
        .iter()
        .position(|frame| !frame.iter().any(|s| is_sampler_frame(&s.name())))
        .unwrap_or(frames.frames.len());
    frames.frames.drain(..keep_from);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_frame_matches_substrings() {
        let s = StackSample {
            frames: vec!["gemm::gemm::gemm".into(), "app::embed::run".into()],
            thread: "main".into(),
            count: 3,
        };
        assert_eq!(s.leaf(), Some("gemm::gemm::gemm"));
        assert!(s.contains_frame("embed::run"));
        assert!(!s.contains_frame("search"));
    }

    #[test]
    fn sampler_frames_are_recognised() {
        assert!(is_sampler_frame("backtrace::backtrace::libunwind::trace"));
        assert!(is_sampler_frame("perf_signal_handler"));
        assert!(!is_sampler_frame("app::backtrace_free_function"));
    }
}
