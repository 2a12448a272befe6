//! `perf compare --explain`: why a workload got slower, down to functions.
//! Both builds are profiled on the same plan at the same sampling rate, so
//! a difference in samples is a difference in CPU time. Profiles cannot
//! take turns per operation as measurements do, so they run ABBA (base,
//! candidate, candidate, base) and each side's two profiles are summed:
//! drift that is steady over the four runs lands on both sides alike (one
//! profile each, in the first try here, put a 14% slower matmul on the side
//! that ran second, above the function that had really been slowed). For
//! each workload the two sides' folded stacks are then diffed:
//! functions ranked by their change in self samples, a differential
//! flamegraph (red grew, blue shrank) and the allocation figures side by
//! side. Files go to `target/compare/explain/<time>/`.

use std::{fs, path::Path};

use anyhow::{Context, Result};
use perf_contract::plan::{Plan, WorkloadName};
use perf_profile::{alloc_diff_rows, diff_folded, write_differential_flamegraph, ProfileSummary};

use crate::measure;

/// Functions shown per workload.
const TOP: usize = 10;
/// CPU samples per second of both profiles (prime, as in `perf profile`,
/// so sampling does not beat with a periodic task).
const HZ: i32 = 997;

/// What `--explain` found, rendered for the terminal and for markdown.
pub struct Explained {
    pub terminal: String,
    pub markdown: String,
}

/// Profiles `binaries` (base, candidate) on `plans` restricted to
/// `workloads`, into `dir`, and diffs them.
pub fn explain(
    dir: &Path,
    binaries: (&Path, &Path),
    plans: (&Plan, &Plan),
    workloads: &[WorkloadName],
) -> Result<Explained> {
    // ABBA: base, candidate, candidate, base.
    let runs = [
        ("base", binaries.0, plans.0, dir.join("base-1")),
        ("candidate", binaries.1, plans.1, dir.join("candidate-1")),
        ("candidate", binaries.1, plans.1, dir.join("candidate-2")),
        ("base", binaries.0, plans.0, dir.join("base-2")),
    ];
    for (side, binary, plan, side_dir) in &runs {
        measure::prepare_profile_dir(side_dir)?;
        let mut plan = (*plan).clone();
        plan.workloads = workloads.to_vec();
        eprintln!(
            "--explain: profiling the {side} build ({}) into {}",
            WorkloadName::list(workloads),
            side_dir.display()
        );
        measure::profile_binary(binary, &plan, side_dir, HZ)
            .with_context(|| format!("profiling the {side} build"))?;
    }
    let summaries = [
        measure::read_summary(&runs[0].3)?,
        measure::read_summary(&runs[1].3)?,
    ];
    let mut terminal = String::new();
    let mut markdown = String::from("\n### Why: base and candidate profiled on the same inputs\n");
    for &w in workloads {
        // Both profiles of a side, as one folded text (counts add up).
        let folded = |side: &str| -> Result<String> {
            let mut all = String::new();
            for (_, _, _, d) in runs.iter().filter(|r| r.0 == side) {
                let path = d.join(w.as_str()).join("stacks.folded");
                all += &fs::read_to_string(&path).with_context(|| {
                    format!(
                        "cannot read {} (a build that predates --explain writes none)",
                        path.display()
                    )
                })?;
                if !all.ends_with('\n') {
                    all.push('\n');
                }
            }
            Ok(all)
        };
        let (base, cand) = (folded("base")?, folded("candidate")?);
        let diff = diff_folded(&base, &cand);
        let svg = dir.join(format!("{w}-diff.svg"));
        write_differential_flamegraph(
            &base,
            &cand,
            &format!("{w}: candidate vs base (red grew, blue shrank)"),
            &svg,
        )?;
        let alloc = alloc_rows(&summaries[0], &summaries[1], w);
        terminal.push_str(&format!(
            "\n{w}: functions by change in CPU samples at {HZ} Hz, two profiles a side, ABBA (base {} / candidate {} samples)\n{}\n{alloc}differential flamegraph: {}\n",
            diff.base_samples,
            diff.cand_samples,
            diff.to_table(TOP),
            svg.display()
        ));
        markdown.push_str(&format!(
            "\n#### {w}\n\nCPU samples at {HZ} Hz, two profiles a side run ABBA: base {}, candidate {}. Differential flamegraph: `{}`.\n\n{}\n{alloc}",
            diff.base_samples,
            diff.cand_samples,
            svg.display(),
            diff.to_markdown(TOP)
        ));
    }
    Ok(Explained { terminal, markdown })
}

/// The workload's allocation figures of both profiles, one line each.
fn alloc_rows(base: &ProfileSummary, cand: &ProfileSummary, w: WorkloadName) -> String {
    let find = |s: &ProfileSummary| {
        s.workloads
            .iter()
            .find(|p| p.workload == w.as_str())
            .cloned()
    };
    let (Some(b), Some(c)) = (find(base), find(cand)) else {
        return String::new();
    };
    let mut out = String::from("allocations (whole workload), base → candidate:");
    for (figure, bv, cv, pct) in alloc_diff_rows(&b.alloc, &c.alloc) {
        let pct = pct.map_or_else(|| "–".to_string(), |p| format!("{p:+.1}%"));
        out.push_str(&format!(" {figure} {bv:.0} → {cv:.0} ({pct});"));
    }
    out.push('\n');
    out
}
