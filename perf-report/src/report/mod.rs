//! `cargo xtask perf report`: the performance-analysis report, built from
//! files other commands wrote (the baseline, its history, the latest profile
//! run) and the committed record of optimisations carried out
//! (`baselines/optimisations.toml`), never from a fresh measurement.
//!
//! [`inputs::load`] reads and checks the files (every error names its file);
//! [`render`] is a pure function from [`ReportInputs`] to the markdown and
//! the SVG charts: no clock, no file system, no environment, and every
//! collection ordered, so the same inputs always give byte-identical output
//! and a diff of two reports shows only what changed in the data.

pub mod charts;
pub mod headline;
pub mod inputs;
pub mod load_figures;
pub mod numbers;
pub mod opportunities;
pub mod optimisations;
pub mod playbooks;
pub mod previous;
pub mod profile_digest;
pub mod scale_points;
pub mod sections;
pub mod stage_breakdown;
pub mod terminal;
pub mod vector_figures;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use perf_profile::{Bottleneck, FamilyShares, ProfileSummary};

use perf_contract::schema::Baseline;

use crate::policy::Policy;

/// Folder of the charts, relative to the markdown file.
pub const CHART_DIR: &str = "charts";

/// Everything a report is made from, already loaded and validated.
#[derive(Debug, Clone)]
pub struct ReportInputs {
    pub baseline: Baseline,
    /// The baseline file as the report names it (relative to the project
    /// root when inside it).
    pub baseline_source: String,
    /// Files whose scaling points joined the baseline's
    /// (`scale_points.rs`), as shown, with the sizes each added.
    pub scale_sources: Vec<(String, Vec<u32>)>,
    /// Earlier baselines, oldest first (by recording time, then file name).
    pub history: Vec<HistoryEntry>,
    pub history_source: String,
    /// Files of the history folder that are not history: a corrupt
    /// baseline the tool set aside when `--update` replaced it.
    pub history_set_aside: Vec<String>,
    /// `None` when the profile folder or its `summary.json` does not exist.
    pub profile: Option<ProfileInputs>,
    pub profile_source: String,
    /// `baselines/optimisations.toml`'s entries; `None` when there is no
    /// such file.
    pub optimisations: Option<Vec<optimisations::Done>>,
    pub optimisations_source: String,
    /// The policy of the comparison with the previous baseline: the one
    /// `cargo xtask perf check` applies.
    pub comparison: Policy,
    /// The performance history of the baseline's machine (`perf history`'s
    /// series and change points), when the caller looked for one.
    pub recorded: Option<Recorded>,
    /// The project folder: paths the baseline recorded inside it are shown
    /// relative to it, so a committed report names no one's home folder.
    pub root: PathBuf,
}

/// The recorded history of one machine, as section 8 shows it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The records folder as the report names it.
    pub source: String,
    /// The machine's label and id.
    pub machine: String,
    /// Its headline metrics' series along the branch, with change points.
    pub series: Vec<crate::history::series::Series>,
    /// Records of commits off the branch's first-parent line, left out.
    pub off_line: usize,
    /// Records of other settings than the machine's newest, left out.
    pub other_plan: usize,
}

impl ReportInputs {
    /// A recorded path as the report shows it: relative to the project when
    /// inside it, the Rust documentation as `<rust sysroot>/…` (its prefix
    /// is the toolchain's install folder), anything else as recorded.
    pub fn shown_path(&self, path: &Path) -> String {
        let inside = inputs::display_path(path, &self.root);
        if Path::new(&inside).is_relative() {
            return inside;
        }
        let parts: Vec<_> = path.components().collect();
        let doc = parts.windows(3).position(|w| {
            w[0].as_os_str() == "share" && w[1].as_os_str() == "doc" && w[2].as_os_str() == "rust"
        });
        match doc {
            Some(i) => {
                let rest: PathBuf = parts[i..].iter().collect();
                format!("<rust sysroot>/{}", rest.display())
            }
            None => inside,
        }
    }

    /// Free text that may embed project paths (a model's "cached at …"):
    /// the project prefix is dropped.
    pub fn shown_text(&self, text: &str) -> String {
        let prefix = format!("{}/", self.root.display());
        // Then every absolute path word as `shown_path` names it: the
        // scaling corpus's Rust docs as `<rust sysroot>/…`.
        text.replace(&prefix, "")
            .split(' ')
            .map(|word| {
                if word.starts_with('/') {
                    self.shown_path(Path::new(word))
                } else {
                    word.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One file of the baseline history.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// File name within the history folder.
    pub name: String,
    pub baseline: Baseline,
}

/// What a `cargo xtask perf profile` run left in its folder.
#[derive(Debug, Clone)]
pub struct ProfileInputs {
    /// `summary.json`: per-workload and per-stage evidence.
    pub summary: Option<ProfileSummary>,
    /// `bottlenecks.json`, or the ranking inside `summary.json` when that
    /// file is missing.
    pub bottlenecks: Option<Vec<Bottleneck>>,
    /// Whether `bottlenecks.json` itself was read (the report names only
    /// the files it read).
    pub bottlenecks_file: bool,
    /// The folder a `profiles/latest` link pointed at when the report was
    /// made, so the reader knows which run the links meant.
    pub resolved_dir: Option<String>,
    /// Path from the report's folder to the profile folder, for links.
    pub link_base: String,
    /// Workloads whose `flamegraph.svg` exists in the profile folder.
    pub flamegraphs: Vec<String>,
    /// CPU samples per function family over each workload's whole
    /// profile, from its `stacks.folded`; workloads of a profile run
    /// without one (older runs) are absent.
    pub family_shares: BTreeMap<String, FamilyShares>,
    /// Workloads of the profile run without `stacks.folded`.
    pub without_stacks: Vec<String>,
    /// Where the findings come from when they were read from a committed
    /// digest (`profile_digest`) rather than a profile folder.
    pub digest: Option<String>,
}

/// A rendered report: the markdown and the charts it links to.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub markdown: String,
    pub charts: Vec<Chart>,
}

/// One SVG chart; `path` is relative to the markdown file's folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub path: String,
    pub title: String,
    pub svg: String,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot draw chart {path}: {message}")]
pub struct ChartError {
    pub path: String,
    pub message: String,
}

/// Renders the whole report. Pure: the same inputs give the same bytes.
pub fn render(inputs: &ReportInputs) -> Result<Report, ChartError> {
    let charts = charts::all(inputs)?;
    let markdown = sections::markdown(inputs, &charts);
    Ok(Report { markdown, charts })
}

#[cfg(test)]
mod tests {
    #[test]
    fn notes_name_the_rust_docs_by_sysroot_and_project_files_relatively() {
        let mut inputs = crate::report::sections::opportunities::tests::inputs(None);
        inputs.root = "/home/ann/rag".into();
        let note = "scaling vectors: 9 real, from main corpus (4), /home/ann/.rustup/toolchains/stable/share/doc/rust/html/reference (3), /opt/rust/share/doc/rust/html/std (2); cache /home/ann/rag/target/x";
        assert_eq!(
            inputs.shown_text(note),
            "scaling vectors: 9 real, from main corpus (4), <rust sysroot>/share/doc/rust/html/reference (3), <rust sysroot>/share/doc/rust/html/std (2); cache target/x"
        );
    }
}
