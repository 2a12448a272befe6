//! Which functions got slower: a function-level diff of two CPU profiles of
//! the same work (a base and a candidate build on identical inputs), read
//! from folded stacks ([`crate::CpuProfile::write_folded`]), plus the
//! differential flamegraph of the same two files.
//!
//! Both sides sample at the same frequency and run the same operations, so
//! sample counts compare raw: a function's extra samples are its extra CPU
//! time. Nothing is normalised to the other side's total, since a larger
//! total is the regression being explained, not noise to scale away.

use std::{collections::HashMap, path::Path};

use serde::{Deserialize, Serialize};

use crate::{
    atomic_write::write_atomic, brief_name::brief_function_name, folded::parse_folded,
    top::top_functions, ProfileError,
};

/// One function's samples on both sides, keyed on its full name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionChange {
    pub function: String,
    /// Samples with the function as the leaf: its own code was running.
    pub base_self: u64,
    pub cand_self: u64,
    /// Samples with the function anywhere on the stack, once per stack even
    /// when it recursed: time spent in it and under its calls.
    pub base_total: u64,
    pub cand_total: u64,
}

impl FunctionChange {
    /// Candidate minus base self samples; positive means slower.
    pub fn self_delta(&self) -> i64 {
        signed_delta(self.base_self, self.cand_self)
    }

    /// Candidate minus base total samples.
    pub fn total_delta(&self) -> i64 {
        signed_delta(self.base_total, self.cand_total)
    }
}

/// Two profiles compared function by function.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProfileDiff {
    pub base_samples: u64,
    pub cand_samples: u64,
    /// Every function seen on either side, in name order.
    pub functions: Vec<FunctionChange>,
}

/// Diffs two profiles given as folded text (`root;caller;leaf COUNT`
/// lines). Lines that are not folded stacks are skipped, as inferno skips
/// them; an empty side is a profile of nothing, so every function of the
/// other side counts as new or gone (two empty sides give an empty diff).
pub fn diff_folded(base: &str, cand: &str) -> ProfileDiff {
    let (base_samples, base) = function_samples(base);
    let (cand_samples, mut cand) = function_samples(cand);
    let mut functions: Vec<FunctionChange> = base
        .into_iter()
        .map(|(function, (base_self, base_total))| {
            let (cand_self, cand_total) = cand.remove(&function).unwrap_or_default();
            FunctionChange {
                function,
                base_self,
                cand_self,
                base_total,
                cand_total,
            }
        })
        .collect();
    functions.extend(
        cand.into_iter()
            .map(|(function, (cand_self, cand_total))| FunctionChange {
                function,
                base_self: 0,
                cand_self,
                base_total: 0,
                cand_total,
            }),
    );
    functions.sort_by(|a, b| a.function.cmp(&b.function));
    ProfileDiff {
        base_samples,
        cand_samples,
        functions,
    }
}

/// Whether a frame is a helper that rustc inlined into the function that
/// owns the work: a closure, an iterator adapter or an intrinsic
/// instantiated for someone else's closure. Profiles name inlined frames
/// by their bare name (`fold<…, renormalise::{closure_env#0}>`, `mul`,
/// `{closure#0}`), which says nothing on its own.
fn is_helper(frame: &str) -> bool {
    frame.starts_with('{') || frame.starts_with("_mm") || frame.contains("{closure_env")
}

/// The function a sample's own time belongs to: its leaf, or, when the
/// leaf is a helper, the nearest caller that is not one.
fn owner(frames: &[String]) -> Option<&String> {
    frames
        .iter()
        .find(|f| !is_helper(f))
        .or_else(|| frames.first())
}

/// Total samples and `(self, total)` per function of one side, counted by
/// the same code as the top-functions report so the two cannot disagree
/// (a recursive function counts once per stack there too).
///
/// Self samples are the function's own code *with the helpers inlined into
/// it* ([`owner`]): the extra pass a change added shows as one function,
/// not as a dozen iterator frames.
fn function_samples(folded: &str) -> (u64, HashMap<String, (u64, u64)>) {
    let stacks = parse_folded(folded);
    let mut own: HashMap<&str, u64> = HashMap::new();
    for s in &stacks {
        if let Some(o) = owner(&s.frames) {
            *own.entry(o.as_str()).or_default() += s.count;
        }
    }
    let top = top_functions(&stacks, usize::MAX);
    let functions = top
        .by_cumulative
        .into_iter()
        .map(|f| {
            let own = own.get(f.function.as_str()).copied().unwrap_or(0);
            (f.function, (own, f.cumulative_samples))
        })
        .collect();
    (top.total_samples, functions)
}

impl ProfileDiff {
    /// Up to `n` functions whose self samples grew, most first, followed by
    /// up to `n` whose self samples shrank, most first; ties go by the total
    /// delta the same way, then by name.
    ///
    /// Self samples (own code, inlined helpers included) rank because they
    /// point at the code that got slower; a caller's total grows with any
    /// callee, so totals only break ties.
    /// Shrinkers are kept beside growers because work that moved (a function
    /// inlined into its caller in one build and not the other) shows as a
    /// pair, one up and one down. Functions whose self samples did not change
    /// are left out: callers whose cost moved are explained by the callees
    /// that rank. All of them stay in [`ProfileDiff::functions`].
    pub fn ranked(&self, n: usize) -> Vec<&FunctionChange> {
        let by_key = |key: fn(&FunctionChange) -> (i64, i64)| {
            move |a: &&FunctionChange, b: &&FunctionChange| {
                key(a)
                    .cmp(&key(b))
                    .then_with(|| a.function.cmp(&b.function))
            }
        };
        let mut grew: Vec<&FunctionChange> = self
            .functions
            .iter()
            .filter(|f| f.self_delta() > 0)
            .collect();
        grew.sort_by(by_key(|f| (-f.self_delta(), -f.total_delta())));
        grew.truncate(n);
        let mut shrank: Vec<&FunctionChange> = self
            .functions
            .iter()
            .filter(|f| f.self_delta() < 0)
            .collect();
        shrank.sort_by(by_key(|f| (f.self_delta(), f.total_delta())));
        shrank.truncate(n);
        grew.extend(shrank);
        grew
    }

    /// [`ProfileDiff::ranked`] as an aligned text table under a one-line
    /// summary, for the terminal.
    ///
    /// Plain text rather than comfy-table: the measured binary links this
    /// crate, and it links no table crate (perf-report draws the tables).
    pub fn to_table(&self, n: usize) -> String {
        let rows = self.rows(n);
        let mut out = self.summary() + "\n";
        if rows.is_empty() {
            return out;
        }
        let widths: Vec<usize> = (0..COLUMNS.len())
            .map(|i| {
                rows.iter()
                    .map(|row| row[i].chars().count())
                    .chain([COLUMNS[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let cells: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, &width))| match i {
                    0 => format!("{cell:<width$}"),
                    _ => format!("{cell:>width$}"),
                })
                .collect();
            cells.join("  ").trim_end().to_owned() + "\n"
        };
        out.push('\n');
        out += &line(&COLUMNS.map(str::to_owned));
        for row in &rows {
            out += &line(row);
        }
        out
    }

    /// [`ProfileDiff::ranked`] as a markdown table under a one-line summary.
    pub fn to_markdown(&self, n: usize) -> String {
        let rows = self.rows(n);
        let mut out = self.summary() + "\n";
        if rows.is_empty() {
            return out;
        }
        out += &format!("\n| {} |\n", COLUMNS.join(" | "));
        out += "| --- |";
        out += &" --: |".repeat(COLUMNS.len() - 1);
        out.push('\n');
        for [function, rest @ ..] in rows {
            let function = format!("`{}`", function.replace('`', "'"));
            let cells: Vec<String> = [function]
                .into_iter()
                .chain(rest)
                .map(|c| c.replace('|', "\\|"))
                .collect();
            out += &format!("| {} |\n", cells.join(" | "));
        }
        out
    }

    /// The sample totals of both sides and their change, or why there is
    /// nothing to rank.
    fn summary(&self) -> String {
        if self.base_samples == 0 && self.cand_samples == 0 {
            return "neither profile has samples: nothing to compare".to_owned();
        }
        let change = signed_delta(self.base_samples, self.cand_samples);
        let percent = match self.base_samples {
            0 => String::new(),
            base => format!(", {:+.1}%", 100.0 * change as f64 / base as f64),
        };
        let mut out = format!(
            "base {} samples, candidate {} samples ({change:+}{percent})",
            self.base_samples, self.cand_samples
        );
        if self.functions.iter().all(|f| f.self_delta() == 0) {
            out += "; no function's self samples changed";
        }
        out
    }

    /// The cells of each ranked function, in [`COLUMNS`] order.
    fn rows(&self, n: usize) -> Vec<[String; 7]> {
        let share = |count: u64, of: u64| match of {
            0 => count.to_string(),
            of => format!("{count} ({:.1}%)", 100.0 * count as f64 / of as f64),
        };
        self.ranked(n)
            .into_iter()
            .map(|f| {
                [
                    brief_function_name(&f.function),
                    share(f.base_self, self.base_samples),
                    share(f.cand_self, self.cand_samples),
                    format!("{:+}", f.self_delta()),
                    share(f.base_total, self.base_samples),
                    share(f.cand_total, self.cand_samples),
                    format!("{:+}", f.total_delta()),
                ]
            })
            .collect()
    }
}

/// Table columns. Each side's percent is of its own total samples.
const COLUMNS: [&str; 7] = [
    "function",
    "base self",
    "cand self",
    "Δ self",
    "base total",
    "cand total",
    "Δ total",
];

/// Draws the differential flamegraph of two folded profiles to `out` (SVG):
/// frames are as wide as the candidate's samples and coloured by candidate
/// minus base, red where they grew and blue where they shrank.
///
/// A function the candidate no longer runs has no width and so does not
/// show; [`ProfileDiff::ranked`] lists it. A candidate without samples is an
/// error ([`ProfileError::EmptyProfile`]): there would be nothing to draw.
pub fn write_differential_flamegraph(
    base: &str,
    cand: &str,
    title: &str,
    out: &Path,
) -> Result<(), ProfileError> {
    if parse_folded(cand).iter().all(|s| s.count == 0) {
        return Err(ProfileError::EmptyProfile);
    }
    let rendering = |e: &dyn std::fmt::Display| ProfileError::Flamegraph(e.to_string());
    // Not normalised: see the module documentation.
    let options = inferno::differential::Options::default();
    let mut two_columns = Vec::new();
    inferno::differential::from_readers(
        options,
        base.as_bytes(),
        cand.as_bytes(),
        &mut two_columns,
    )
    .map_err(|e| rendering(&e))?;
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_owned();
    options.subtitle =
        Some("red grew, blue shrank (candidate minus base); widths: candidate".into());
    options.count_name = "samples".into();
    let mut svg = Vec::new();
    inferno::flamegraph::from_reader(&mut options, two_columns.as_slice(), &mut svg)
        .map_err(|e| rendering(&e))?;
    write_atomic(out, &svg)
}

/// `cand - base`, saturating: sample counts never come near `i64::MAX`, but
/// a wrapped cast would turn a regression into an improvement.
fn signed_delta(base: u64, cand: u64) -> i64 {
    let signed = |x: u64| i64::try_from(x).unwrap_or(i64::MAX);
    signed(cand).saturating_sub(signed(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 samples: `parse` is the hot leaf; `walk` recurses.
    const BASE: &str = "\
main;load;parse 4
main;load;read 2
main;walk;walk;visit 3
main;walk 1
";

    /// The same work, but `parse` doubled and `read` got faster.
    const CAND: &str = "\
main;load;parse 8
main;load;read 1
main;walk;walk;visit 3
main;walk 1
";

    fn change<'a>(diff: &'a ProfileDiff, function: &str) -> &'a FunctionChange {
        diff.functions
            .iter()
            .find(|f| f.function == function)
            .unwrap_or_else(|| panic!("{function} missing from {diff:#?}"))
    }

    #[test]
    fn self_is_the_leaf_and_total_counts_recursion_once() {
        let diff = diff_folded(BASE, CAND);
        assert_eq!((diff.base_samples, diff.cand_samples), (10, 13));
        let walk = change(&diff, "walk");
        // Leaf of one stack (1 sample); on the stack of two, twice in one.
        assert_eq!((walk.base_self, walk.base_total), (1, 4));
        let load = change(&diff, "load");
        assert_eq!((load.base_self, load.base_total), (0, 6));
        assert_eq!((load.cand_self, load.cand_total), (0, 9));
        assert_eq!(load.total_delta(), 3);
        let main = change(&diff, "main");
        assert_eq!((main.base_total, main.cand_total), (10, 13));
        let names: Vec<&str> = diff.functions.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(names, ["load", "main", "parse", "read", "visit", "walk"]);
    }

    #[test]
    fn the_function_that_grew_ranks_first_and_shrinkers_follow() {
        let diff = diff_folded(BASE, CAND);
        let ranked: Vec<(&str, i64)> = diff
            .ranked(5)
            .iter()
            .map(|f| (f.function.as_str(), f.self_delta()))
            .collect();
        // Unchanged functions (`visit`, `walk`) and pure callers (`load`,
        // `main`) are left out.
        assert_eq!(ranked, [("parse", 4), ("read", -1)]);
    }

    #[test]
    fn ranking_takes_n_of_each_direction_with_ties_by_total_then_name() {
        let base = "a;x 1\nb;y 1\ne 1\nc 5\nd 5\n";
        // x, y and e grow by 2 self samples each; y's new callee z makes its
        // total grow more, so y leads; x and e tie on total too and go by
        // name. c and d shrink, c the most.
        let cand = "a;x 3\nb;y 3\nb;y;z 1\ne 3\nc 1\nd 2\n";
        let diff = diff_folded(base, cand);
        let names =
            |n| -> Vec<String> { diff.ranked(n).iter().map(|f| f.function.clone()).collect() };
        assert_eq!(names(1), ["y", "c"]);
        assert_eq!(names(4), ["y", "e", "x", "z", "c", "d"]);
        assert!(names(0).is_empty());
    }

    #[test]
    fn new_and_vanished_functions_are_kept() {
        let diff = diff_folded("main;old 2\n", "main;new 3\n");
        assert_eq!(change(&diff, "old").cand_total, 0);
        assert_eq!(change(&diff, "new").base_self, 0);
        let ranked: Vec<&str> = diff.ranked(5).iter().map(|f| f.function.as_str()).collect();
        assert_eq!(ranked, ["new", "old"]);
    }

    #[test]
    fn empty_inputs_give_an_empty_diff_that_says_so() {
        let diff = diff_folded("", "\n# nothing\n");
        assert_eq!(diff, ProfileDiff::default());
        assert!(diff.ranked(10).is_empty());
        assert_eq!(
            diff.to_table(10),
            "neither profile has samples: nothing to compare\n"
        );
        assert_eq!(diff.to_markdown(10), diff.to_table(10));
        // One side empty: everything on the other is new.
        let diff = diff_folded("", "main;f 2\n");
        assert_eq!(diff.ranked(10)[0].function, "f");
        assert!(diff
            .to_table(10)
            .starts_with("base 0 samples, candidate 2 samples (+2)\n"));
    }

    #[test]
    fn table_and_markdown_show_counts_shares_and_deltas() {
        let diff = diff_folded(BASE, CAND);
        let table = diff.to_table(5);
        assert!(table.starts_with("base 10 samples, candidate 13 samples (+3, +30.0%)\n"));
        let parse = table.lines().find(|l| l.starts_with("parse")).unwrap();
        let cells: Vec<&str> = parse.split("  ").filter(|c| !c.is_empty()).collect();
        let cells: Vec<&str> = cells.iter().map(|c| c.trim()).collect();
        assert_eq!(
            cells,
            [
                "parse",
                "4 (40.0%)",
                "8 (61.5%)",
                "+4",
                "4 (40.0%)",
                "8 (61.5%)",
                "+4"
            ]
        );
        let markdown = diff.to_markdown(5);
        assert!(markdown.contains("| function | base self | cand self | Δ self |"));
        assert!(
            markdown.contains("| `read` | 2 (20.0%) | 1 (7.7%) | -1 | 2 (20.0%) | 1 (7.7%) | -1 |")
        );
    }

    /// Helpers inlined into a function (closures, adapters instantiated for
    /// its closure, intrinsics) count as that function's own time.
    #[test]
    fn inlined_helpers_count_as_the_function_that_owns_them() {
        let cand = "main;renormalise;sum<Map<Iter<f32>, app::renormalise::{closure_env#0}>>;{closure#0} 5\n\
                    main;renormalise;_mm256_div_ps 3\n\
                    main;renormalise 1\n";
        let diff = diff_folded("main;other 9\n", cand);
        let r = change(&diff, "renormalise");
        assert_eq!((r.base_self, r.cand_self, r.cand_total), (0, 9, 9));
        assert_eq!(diff.ranked(1)[0].function, "renormalise");
        assert_eq!(change(&diff, "{closure#0}").cand_self, 0);
    }

    #[test]
    fn display_names_are_brief_but_keys_are_full() {
        let long = "float unum::usearch::metric_punned_t::invoke_numkong<double, false>(unsigned long, unsigned long) const";
        let diff = diff_folded(&format!("main;{long} 1\n"), &format!("main;{long} 3\n"));
        assert_eq!(diff.ranked(1)[0].function, long);
        let markdown = diff.to_markdown(1);
        assert!(markdown.contains("| `metric_punned_t::invoke_numkong<double, false>` |"));
    }

    #[test]
    fn differential_flamegraph_is_an_svg_with_the_title() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("diff/flamegraph-diff.svg");
        write_differential_flamegraph(BASE, CAND, "rag_query base vs candidate", &out).unwrap();
        let svg = std::fs::read_to_string(&out).unwrap();
        assert!(
            svg.starts_with("<?xml") || svg.starts_with("<svg"),
            "{}",
            &svg[..80]
        );
        assert!(svg.contains("rag_query base vs candidate"));
        assert!(svg.trim_end().ends_with("</svg>"));
        // inferno's differential tooltips carry the change: parse grew by 4
        // of the candidate's 13 samples.
        assert!(svg.contains("parse (8 samples, 61.54%; +30.77%)"), "{svg}");
    }

    #[test]
    fn differential_flamegraph_of_an_empty_candidate_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("flamegraph-diff.svg");
        let err = write_differential_flamegraph(BASE, "", "t", &out).unwrap_err();
        assert!(matches!(err, ProfileError::EmptyProfile));
        assert!(!out.exists());
        // An empty base is fine: everything the candidate ran is new.
        write_differential_flamegraph("", CAND, "t", &out).unwrap();
        assert!(out.exists());
    }
}
