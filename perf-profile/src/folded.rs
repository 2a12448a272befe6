//! The folded (collapsed) stack format that inferno and Brendan Gregg's
//! FlameGraph scripts read: one line per distinct stack, frames root first
//! joined by `;`, a space, then the sample count (`main;run;gemm 12`).
//!
//! One place writes frames in that order, so the flamegraph, the folded file
//! and the profile diff cannot disagree about which end is the root.

use std::collections::BTreeMap;

use crate::stack::StackSample;

/// Stands in for a stack with no resolved frame, so its samples still count
/// (perf's name for the same thing).
const NO_FRAMES: &str = "[unknown]";

/// A stack's frame names root first, each made safe for the format.
pub(crate) fn root_first(frames: &[String]) -> impl Iterator<Item = String> + '_ {
    frames.iter().rev().map(|frame| folded_name(frame))
}

/// Samples as folded text, one line per distinct call path, in name order.
///
/// Threads are left out and their samples merged: which pool worker ran a
/// piece of work is scheduling luck, and unnamed threads are named by id, so
/// with thread roots two runs of the same code would not share a single
/// stack and a diff of them would be all noise.
pub(crate) fn to_folded<'a>(samples: impl IntoIterator<Item = &'a StackSample>) -> String {
    let mut merged: BTreeMap<String, u64> = BTreeMap::new();
    for sample in samples {
        let mut stack = root_first(&sample.frames).collect::<Vec<_>>().join(";");
        if stack.is_empty() {
            stack = NO_FRAMES.to_owned();
        }
        *merged.entry(stack).or_default() += sample.count;
    }
    merged
        .into_iter()
        .map(|(stack, count)| format!("{stack} {count}\n"))
        .collect()
}

/// Reads folded text back into samples (frames leaf first, as
/// [`StackSample`] keeps them; no thread). Blank lines, `# ` comments and
/// lines without a whole sample count are skipped, as inferno skips them.
pub(crate) fn parse_folded(text: &str) -> Vec<StackSample> {
    text.lines()
        .filter_map(|line| {
            let (stack, count) = line.trim().rsplit_once(char::is_whitespace)?;
            let count = count.parse::<u64>().ok()?;
            let stack = stack.trim_end();
            if stack.is_empty() || stack.starts_with('#') {
                return None;
            }
            Some(StackSample {
                frames: stack.split(';').rev().map(str::to_owned).collect(),
                thread: String::new(),
                count,
            })
        })
        .collect()
}

/// `;` separates frames in the folded format, yet Rust names can hold one
/// (`<[u8; 4] as Trait>::f`); pprof-rs's own flamegraph splits such names.
pub(crate) fn folded_name(name: &str) -> String {
    name.replace(';', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(frames: &[&str], thread: &str, count: u64) -> StackSample {
        StackSample {
            frames: frames.iter().map(|f| f.to_string()).collect(),
            thread: thread.into(),
            count,
        }
    }

    #[test]
    fn lines_run_root_to_leaf_and_merge_threads() {
        let samples = [
            sample(&["<[u8; 4] as Hot>::leaf", "main"], "worker-1", 7),
            sample(&["<[u8; 4] as Hot>::leaf", "main"], "worker-2", 3),
            sample(&["idle", "main"], "worker-1", 1),
            sample(&[], "worker-1", 2),
        ];
        assert_eq!(
            to_folded(&samples),
            "[unknown] 2\nmain;<[u8, 4] as Hot>::leaf 10\nmain;idle 1\n"
        );
    }

    #[test]
    fn parsing_reverses_writing() {
        let samples = [
            sample(&["leaf", "mid", "main"], "t", 4),
            sample(&["main"], "t", 1),
        ];
        let parsed = parse_folded(&to_folded(&samples));
        assert_eq!(
            parsed,
            [
                sample(&["main"], "", 1),
                sample(&["leaf", "mid", "main"], "", 4)
            ]
        );
    }

    #[test]
    fn unreadable_lines_are_skipped() {
        let parsed = parse_folded("# comment 3\n\nno_count\nmain;f 2.5\n  main;g\t6  \n 7\n");
        assert_eq!(parsed, [sample(&["g", "main"], "", 6)]);
    }
}
