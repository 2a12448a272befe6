//! The "top functions" view of a CPU profile: self and cumulative samples
//! per function, as `go tool pprof -top` and cProfile print them.

use std::{
    collections::{HashMap, HashSet},
    fmt::Write,
};

use serde::{Deserialize, Serialize};

use crate::StackSample;

/// Samples of one function. Self samples caught the CPU in the function
/// itself; cumulative samples had it anywhere on the stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSamples {
    pub function: String,
    pub self_samples: u64,
    /// Percent (0 to 100) of all samples in the report.
    pub self_percent: f64,
    pub cumulative_samples: u64,
    pub cumulative_percent: f64,
}

/// The `n` heaviest functions of a set of samples, ranked two ways.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopReport {
    pub total_samples: u64,
    /// Heaviest self samples first: where the CPU time is spent.
    pub by_self: Vec<FunctionSamples>,
    /// Heaviest cumulative samples first: which calls the time is spent under.
    pub by_cumulative: Vec<FunctionSamples>,
}

/// Ranks functions over any subset of samples, so a caller can build the top
/// list of one stage by filtering stacks first. Ties go by name so the report
/// is the same for the same profile.
pub fn top_functions<'a>(
    samples: impl IntoIterator<Item = &'a StackSample>,
    n: usize,
) -> TopReport {
    let mut self_counts: HashMap<&str, u64> = HashMap::new();
    let mut cumulative: HashMap<&str, u64> = HashMap::new();
    let mut total = 0u64;
    let mut seen = HashSet::new();
    for sample in samples {
        total += sample.count;
        if let Some(leaf) = sample.leaf() {
            *self_counts.entry(leaf).or_default() += sample.count;
        }
        // A recursive function is on the stack several times but the sample
        // spent its time under it once; counting it twice would push
        // cumulative shares past 100%.
        seen.clear();
        for frame in &sample.frames {
            if seen.insert(frame.as_str()) {
                *cumulative.entry(frame).or_default() += sample.count;
            }
        }
    }
    let percent = |count: u64| {
        if total == 0 {
            0.0
        } else {
            100.0 * count as f64 / total as f64
        }
    };
    let entry = |function: &str| FunctionSamples {
        function: function.to_owned(),
        self_samples: self_counts.get(function).copied().unwrap_or(0),
        self_percent: percent(self_counts.get(function).copied().unwrap_or(0)),
        cumulative_samples: cumulative[function],
        cumulative_percent: percent(cumulative[function]),
    };
    let ranked = |key: &HashMap<&str, u64>| {
        let mut names: Vec<(&str, u64)> = key.iter().map(|(k, v)| (*k, *v)).collect();
        names.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        names
            .into_iter()
            .take(n)
            .map(|(name, _)| entry(name))
            .collect::<Vec<_>>()
    };
    TopReport {
        total_samples: total,
        by_self: ranked(&self_counts),
        by_cumulative: ranked(&cumulative),
    }
}

impl TopReport {
    /// A text table in `go tool pprof -top` columns: flat (self) samples,
    /// their percent, the running sum of flat percent, cumulative samples and
    /// percent, then the function.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} samples in total", self.total_samples);
        for (title, rows) in [
            ("self samples", &self.by_self),
            ("cumulative samples", &self.by_cumulative),
        ] {
            let _ = writeln!(out, "\nTop {} functions by {title}", rows.len());
            let _ = writeln!(
                out,
                "{:>8} {:>7} {:>7} {:>8} {:>7}  function",
                "flat", "flat%", "sum%", "cum", "cum%"
            );
            let mut running = 0.0;
            for row in rows.iter() {
                running += row.self_percent;
                let _ = writeln!(
                    out,
                    "{:>8} {:>6.2}% {:>6.2}% {:>8} {:>6.2}%  {}",
                    row.self_samples,
                    row.self_percent,
                    running,
                    row.cumulative_samples,
                    row.cumulative_percent,
                    row.function
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(frames: &[&str], count: u64) -> StackSample {
        StackSample {
            frames: frames.iter().map(|f| f.to_string()).collect(),
            thread: "main".into(),
            count,
        }
    }

    fn samples() -> Vec<StackSample> {
        vec![
            stack(&["gemm", "embed", "main"], 6),
            stack(&["exp", "softmax", "embed", "main"], 2),
            stack(&["search", "main"], 1),
            // Recursion: `walk` is on the stack twice, counted once.
            stack(&["walk", "walk", "main"], 1),
        ]
    }

    #[test]
    fn self_and_cumulative_counts_and_percents() {
        let top = top_functions(&samples(), 10);
        assert_eq!(top.total_samples, 10);
        let first = &top.by_self[0];
        assert_eq!((first.function.as_str(), first.self_samples), ("gemm", 6));
        assert_eq!(first.self_percent, 60.0);
        let cum: Vec<(&str, u64)> = top
            .by_cumulative
            .iter()
            .map(|f| (f.function.as_str(), f.cumulative_samples))
            .collect();
        assert_eq!(
            cum,
            [
                ("main", 10),
                ("embed", 8),
                ("gemm", 6),
                ("exp", 2),
                ("softmax", 2),
                ("search", 1),
                ("walk", 1)
            ]
        );
        let embed = &top.by_cumulative[1];
        assert_eq!((embed.self_samples, embed.cumulative_percent), (0, 80.0));
    }

    #[test]
    fn n_cuts_both_lists_and_ties_go_by_name() {
        let top = top_functions(&samples(), 2);
        assert_eq!(top.by_self.len(), 2);
        assert_eq!(top.by_cumulative.len(), 2);
        // Below gemm, exp has 2 self samples; search and walk tie at 1 and
        // are ordered by name.
        assert_eq!(top.by_self[1].function, "exp");
        let top = top_functions(&samples(), 4);
        assert_eq!(top.by_self[2].function, "search");
        assert_eq!(top.by_self[3].function, "walk");
    }

    #[test]
    fn filtering_stacks_gives_a_stage_view() {
        let all = samples();
        let top = top_functions(all.iter().filter(|s| s.contains_frame("embed")), 1);
        assert_eq!(top.total_samples, 8);
        assert_eq!(top.by_self[0].self_percent, 75.0);
    }

    #[test]
    fn empty_input_gives_empty_report() {
        let top = top_functions(&[], 5);
        assert_eq!(top.total_samples, 0);
        assert!(top.by_self.is_empty() && top.by_cumulative.is_empty());
    }

    #[test]
    fn text_has_pprof_columns_and_running_sum() {
        let text = top_functions(&samples(), 2).to_text();
        assert!(text.starts_with("10 samples in total\n"));
        assert!(text.contains("    flat   flat%    sum%      cum    cum%  function"));
        assert!(text.contains("       6  60.00%  60.00%        6  60.00%  gemm"));
        assert!(text.contains("       2  20.00%  80.00%        2  20.00%  exp"));
        assert!(text.contains("Top 2 functions by cumulative samples"));
    }
}
