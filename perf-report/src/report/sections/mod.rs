//! The markdown report, section by section. Each section is a function of
//! the loaded inputs returning its text; this module orders them and writes
//! the header: where every input came from and which are missing.

mod bottlenecks;
mod comparison;
mod environment;
mod methodology;
pub(crate) mod opportunities;
mod recorded;
mod results;
mod server_load;
mod summary;
mod vector_engines;

use chrono::{DateTime, Utc};
use perf_contract::plan::WorkloadName;

use super::{previous, Chart, ReportInputs};

/// Section titles, numbered as the contents line lists them.
const TITLES: [&str; 8] = [
    "Summary",
    "Environment",
    "Methodology",
    "Results per workload",
    "Charts",
    "Top bottlenecks",
    "Optimisation opportunities",
    "Comparison with the previous baseline",
];

pub(crate) fn heading(number: usize) -> String {
    format!("## {number}. {}\n\n", TITLES[number - 1])
}

/// Times as the report prints them: to the second, UTC, always the same
/// width.
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The command that records a baseline of this profile.
pub(crate) fn baseline_command(inputs: &ReportInputs) -> String {
    match inputs.baseline.plan.profile.as_str() {
        "quick" => "cargo xtask perf baseline --quick --update".into(),
        _ => "cargo xtask perf baseline --update".into(),
    }
}

pub fn markdown(inputs: &ReportInputs, charts: &[Chart]) -> String {
    let mut out = String::from("# Performance analysis\n\n");
    out.push_str(&header(inputs));
    out.push_str(&summary::section(inputs));
    out.push_str(&environment::section(inputs));
    out.push_str(&methodology::section(inputs));
    out.push_str(&results::section(inputs));
    // Still section 4: the cross-workload views of its figures.
    out.push_str(&vector_engines::section(inputs, charts));
    out.push_str(&server_load::section(inputs, charts));
    out.push_str(&charts_section(charts));
    out.push_str(&bottlenecks::bottlenecks_section(inputs));
    out.push_str(&opportunities::section(inputs));
    out.push_str(&comparison::section(inputs));
    out
}

fn header(inputs: &ReportInputs) -> String {
    let b = &inputs.baseline;
    let mut out = String::from(
        "Built by `cargo xtask perf report` from the files below; no workload was run for it.\n\n",
    );
    out.push_str("| input | source |\n| --- | --- |\n");
    out.push_str(&format!(
        "| baseline | `{}` ({} profile, recorded {}) |\n",
        inputs.baseline_source,
        b.plan.profile.as_str(),
        time(b.created_at)
    ));
    for (path, sizes) in &inputs.scale_sources {
        let sizes: Vec<String> = sizes.iter().map(|s| format!("n{s}")).collect();
        let sizes = if sizes.is_empty() {
            "none: the baseline has its sizes".to_string()
        } else {
            sizes.join(", ")
        };
        out.push_str(&format!(
            "| scaling points | `{path}` (same machine and settings; sizes added: {sizes}) |\n"
        ));
    }
    let profile = match &inputs.profile {
        None => "not found".to_string(),
        Some(p) => match (&p.digest, &p.resolved_dir) {
            (Some(origin), _) => origin.clone(),
            (None, Some(dir)) => format!("`{}` → `{dir}`", inputs.profile_source),
            (None, None) => format!("`{}`", inputs.profile_source),
        },
    };
    out.push_str(&format!("| profile run | {profile} |\n"));
    let optimisations = match &inputs.optimisations {
        None => "not found".to_string(),
        Some(done) => format!(
            "`{}` ({} {})",
            inputs.optimisations_source,
            done.len(),
            if done.len() == 1 { "entry" } else { "entries" }
        ),
    };
    out.push_str(&format!(
        "| carried-out optimisations | {optimisations} |\n"
    ));
    let same = previous::same_profile_history(inputs).len();
    let set_aside = match inputs.history_set_aside.as_slice() {
        [] => String::new(),
        files => format!(
            "; not read: {} (corrupt baselines `--update` set aside)",
            files
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    out.push_str(&format!(
        "| history | `{}` ({} file(s), {same} earlier of the {} profile{set_aside}) |\n\n",
        inputs.history_source,
        inputs.history.len(),
        b.plan.profile.as_str()
    ));
    let contents: Vec<String> = TITLES
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{}. {t}", i + 1))
        .collect();
    out.push_str(&format!("Contents: {}.\n\n", contents.join(" · ")));
    let missing = missing(inputs);
    if !missing.is_empty() {
        out.push_str("**Missing inputs** (the sections they feed say so too):\n\n");
        for m in missing {
            out.push_str(&format!("- {m}\n"));
        }
        out.push('\n');
    }
    out
}

/// Every input the report could not find, with the command that makes it.
pub fn missing(inputs: &ReportInputs) -> Vec<String> {
    let mut out = Vec::new();
    match &inputs.profile {
        None => out.push(profile_missing(inputs)),
        Some(p) if p.summary.is_none() => out.push(format!(
            "no `summary.json` in `{}`: per-stage evidence is missing from sections 6 and 7; run `cargo xtask perf profile`",
            inputs.profile_source
        )),
        Some(p) if !p.without_stacks.is_empty() => out.push(format!(
            "no `stacks.folded` for `{}` in `{}`: section 7 counts only each stage's top functions there; run `cargo xtask perf profile`",
            p.without_stacks.join("`, `"),
            inputs.profile_source
        )),
        Some(_) => {}
    }
    if previous::same_profile_history(inputs).is_empty() {
        out.push(history_missing(inputs));
    }
    for w in &inputs.baseline.plan.workloads {
        if !inputs.baseline.workloads.contains_key(w) {
            out.push(format!(
                "workload `{w}` was planned but has no results in the baseline: run `{} --workload {w}`",
                baseline_command(inputs)
            ));
        }
    }
    out
}

pub(crate) fn profile_missing(inputs: &ReportInputs) -> String {
    format!(
        "no profile found at `{}`: sections 6 and 7 need one; run `cargo xtask perf profile`",
        inputs.profile_source
    )
}

pub(crate) fn history_missing(inputs: &ReportInputs) -> String {
    format!(
        "no earlier baseline of the {} profile in `{}`: section 8 and the trend chart need one; `{}` keeps the replaced baseline there",
        inputs.baseline.plan.profile.as_str(),
        inputs.history_source,
        baseline_command(inputs)
    )
}

/// A workload's notes (skipped parts, synthetic data) as the run wrote
/// them, so a reader sees what is missing or synthetic; only project paths
/// are shortened, as everywhere in the report.
pub(crate) fn run_notes(inputs: &ReportInputs, workload: WorkloadName, notes: &[String]) -> String {
    if notes.is_empty() {
        return String::new();
    }
    let mut out = format!("Notes of the run, as `{workload}` wrote them:\n\n");
    for n in notes {
        out.push_str(&format!("- {}\n", inputs.shown_text(n)));
    }
    out.push('\n');
    out
}

fn charts_section(charts: &[Chart]) -> String {
    let mut out = heading(5);
    out.push_str("SVG files beside this report, drawn from the baseline's raw samples (and the history's, for the trend).\n\n");
    for c in charts {
        out.push_str(&format!(
            "### {}\n\n![{}]({})\n\n",
            c.title, c.title, c.path
        ));
    }
    if charts.is_empty() {
        out.push_str("No chart: the baseline has no metric a chart is drawn from.\n\n");
    }
    out
}
