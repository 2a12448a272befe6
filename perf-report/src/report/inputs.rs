//! Loading a report's inputs from disk. The only part of the report that
//! touches the file system; every error names the file at fault and what to
//! do, in one line.
//!
//! A missing optional input (no history folder, no profile run, a profile
//! run without folded stacks, no optimisations file) is not an error: the
//! report says what is missing and which command fills it. A file that
//! exists but cannot be read or parsed is an error, since a report that
//! silently skipped it would look complete.

use std::{
    collections::BTreeMap,
    fs,
    path::{Component, Path, PathBuf},
};

use perf_profile::{Bottleneck, FamilyShares, ProfileSummary};
use serde::de::DeserializeOwned;

use super::{
    optimisations::{self, Done},
    profile_digest::ProfileDigest,
    scale_points, HistoryEntry, ProfileInputs, ReportInputs,
};
use crate::policy::Policy;
use perf_contract::schema::{Baseline, LoadError};

/// Where the inputs are, and where the report will go (for relative links).
#[derive(Debug, Clone)]
pub struct InputPaths {
    pub baseline: PathBuf,
    /// Files of scaling points to join the baseline's (`scale_points.rs`).
    pub scale_points: Vec<PathBuf>,
    /// A profile run's folder (`profiles/latest` by default).
    pub profiles: PathBuf,
    /// The committed digest of a profile run (`baselines/profile.json`),
    /// read when `profiles` holds no run; it need not exist.
    pub profile_digest: PathBuf,
    /// Folder of earlier baselines.
    pub history: PathBuf,
    /// The record of optimisations carried out
    /// (`baselines/optimisations.toml`); it need not exist.
    pub optimisations: PathBuf,
    /// The markdown file to be written.
    pub output: PathBuf,
    /// Paths inside this folder are named relative to it in the report.
    pub root: PathBuf,
}

/// Why the inputs could not be used; every message names its file.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("no baseline at {path}: record one with `cargo xtask perf baseline`")]
    NoBaseline { path: String },
    #[error("baseline file {path} is unusable ({reason}): fix it, or record a new one with `cargo xtask perf baseline --update`")]
    Baseline { path: String, reason: String },
    #[error("scaling-points file {path} cannot join the report: {reason}")]
    ScalePoints { path: String, reason: String },
    #[error("history file {path} is unusable ({reason}): fix or delete it")]
    History { path: String, reason: String },
    #[error(
        "profile file {path} is not valid ({reason}): re-create it with `cargo xtask perf profile`"
    )]
    Profile { path: String, reason: String },
    #[error("optimisations file {path} is not valid ({reason}): fix it; its header comment gives the format")]
    Optimisations { path: String, reason: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub fn load(paths: &InputPaths, comparison: Policy) -> Result<ReportInputs, InputError> {
    let label = |p: &Path| display_path(p, &paths.root);
    if !paths.baseline.is_file() {
        return Err(InputError::NoBaseline {
            path: label(&paths.baseline),
        });
    }
    let mut baseline = Baseline::load(&paths.baseline).map_err(|e| InputError::Baseline {
        path: paths.baseline.display().to_string(),
        reason: reason(e),
    })?;
    let mut scale_sources = Vec::new();
    for path in &paths.scale_points {
        let shown = label(path);
        let refuse = |reason: String| InputError::ScalePoints {
            path: shown.clone(),
            reason,
        };
        let extra = Baseline::load(path).map_err(|e| refuse(reason(e)))?;
        if let Some(why) = scale_points::unlike(&baseline, &extra) {
            return Err(refuse(format!(
                "{why}; record it on this machine with the baseline's settings, or leave it out"
            )));
        }
        let added = scale_points::merge(&mut baseline, &extra, &shown);
        scale_sources.push((shown, added));
    }
    let (history, history_set_aside) = load_history(&paths.history, &paths.baseline)?;
    let report_dir = paths.output.parent().unwrap_or(Path::new("."));
    let mut profile = load_profile(&paths.profiles, report_dir)?;
    let mut profile_source = label(&paths.profiles);
    if profile.is_none() {
        let digest: Option<ProfileDigest> = read_json_if_present(&paths.profile_digest)?;
        if let Some(d) = digest {
            profile_source = label(&paths.profile_digest);
            profile = Some(d.into_inputs(&paths.profile_digest, &profile_source));
        }
    }
    let optimisations = load_optimisations(&paths.optimisations)?;
    Ok(ReportInputs {
        baseline,
        baseline_source: label(&paths.baseline),
        scale_sources,
        history,
        history_source: label(&paths.history),
        history_set_aside,
        profile,
        profile_source,
        optimisations,
        optimisations_source: label(&paths.optimisations),
        comparison,
        recorded: None,
        root: paths.root.clone(),
    })
}

/// Every `*.json` in the history folder, oldest first, and the names of
/// the files set aside there. The baseline file itself is skipped if the
/// history folder happens to hold it; so are the corrupt baselines that
/// `--update` kept (`unreadable-*`): evidence for the user, not history.
fn load_history(
    dir: &Path,
    baseline: &Path,
) -> Result<(Vec<HistoryEntry>, Vec<String>), InputError> {
    if !dir.is_dir() {
        return Ok((Vec::new(), Vec::new()));
    }
    let io = |source| InputError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()).map_err(io))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "json") && p.is_file());
    files.sort();
    let (set_aside, files): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|p| perf_contract::schema::is_set_aside(p));
    let set_aside = set_aside
        .iter()
        .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
        .collect();
    let same_file = |p: &Path| match (fs::canonicalize(p), fs::canonicalize(baseline)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let mut out = Vec::new();
    for path in files.into_iter().filter(|p| !same_file(p)) {
        let shown = path.display().to_string();
        let baseline = Baseline::load(&path).map_err(|e| InputError::History {
            path: shown.clone(),
            reason: reason(e),
        })?;
        let name = path
            .file_name()
            .map_or(shown, |n| n.to_string_lossy().into_owned());
        out.push(HistoryEntry { name, baseline });
    }
    // File names start with the recording time, but sort by the recorded
    // time itself so a renamed file cannot reorder the history.
    out.sort_by(|a, b| (a.baseline.created_at, &a.name).cmp(&(b.baseline.created_at, &b.name)));
    Ok((out, set_aside))
}

/// Why a baseline-format file failed, without `LoadError`'s advice, which
/// is written for the `baseline` command.
fn reason(e: LoadError) -> String {
    match e {
        LoadError::Io { source, .. } => source.to_string(),
        LoadError::Json {
            line,
            column,
            message,
            ..
        } => format!("not valid JSON at line {line}, column {column}: {message}"),
        LoadError::Shape { message, .. } => format!("not a run record: {message}"),
        LoadError::Version { found, .. } => format!(
            "schema version {found}, this tool reads version {}",
            perf_contract::schema::SCHEMA_VERSION
        ),
    }
}

pub fn load_profile(dir: &Path, report_dir: &Path) -> Result<Option<ProfileInputs>, InputError> {
    let summary_path = dir.join("summary.json");
    let bottlenecks_path = dir.join("bottlenecks.json");
    let summary: Option<ProfileSummary> = read_json_if_present(&summary_path)?;
    let bottlenecks: Option<Vec<Bottleneck>> = read_json_if_present(&bottlenecks_path)?;
    if summary.is_none() && bottlenecks.is_none() {
        return Ok(None);
    }
    let bottlenecks_file = bottlenecks.is_some();
    let bottlenecks = bottlenecks.or_else(|| summary.as_ref().map(|s| s.bottlenecks.clone()));
    let mut workloads: Vec<String> = summary
        .iter()
        .flat_map(|s| &s.workloads)
        .map(|w| w.workload.clone())
        .chain(bottlenecks.iter().flatten().map(|b| b.workload.clone()))
        .collect();
    workloads.sort();
    workloads.dedup();
    let flamegraphs = workloads
        .iter()
        .filter(|w| dir.join(w).join("flamegraph.svg").is_file())
        .cloned()
        .collect();
    let mut family_shares = BTreeMap::new();
    let mut without_stacks = Vec::new();
    for w in workloads {
        match read_family_shares(&dir.join(&w).join("stacks.folded"))? {
            Some(shares) => {
                family_shares.insert(w, shares);
            }
            None => without_stacks.push(w),
        }
    }
    // `profiles/latest` is a link to the newest run; name the run it meant.
    let resolved_dir = fs::read_link(dir)
        .ok()
        .map(|target| target.display().to_string());
    Ok(Some(ProfileInputs {
        summary,
        bottlenecks,
        bottlenecks_file,
        resolved_dir,
        link_base: relative_link(report_dir, dir),
        flamegraphs,
        family_shares,
        without_stacks,
        digest: None,
    }))
}

/// A workload's function-family shares from its folded stacks, when the
/// profile run wrote them (runs before they were written did not). The
/// format has no invalid file, only lines it skips, as inferno does.
fn read_family_shares(path: &Path) -> Result<Option<FamilyShares>, InputError> {
    Ok(read_if_present(path)?.map(|text| FamilyShares::of_folded(&text)))
}

/// The text of `path`, `None` when there is no such file; a file that
/// exists but cannot be read is an error naming it.
fn read_if_present(path: &Path) -> Result<Option<String>, InputError> {
    if !path.is_file() {
        return Ok(None);
    }
    fs::read_to_string(path)
        .map(Some)
        .map_err(|source| InputError::Io {
            path: path.display().to_string(),
            source,
        })
}

/// The carried-out optimisations, `None` when the file does not exist.
fn load_optimisations(path: &Path) -> Result<Option<Vec<Done>>, InputError> {
    let Some(text) = read_if_present(path)? else {
        return Ok(None);
    };
    optimisations::parse(&text)
        .map(Some)
        .map_err(|e| InputError::Optimisations {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
}

/// Parses `path` when it exists; a file that exists but does not parse is
/// an error naming it.
fn read_json_if_present<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, InputError> {
    let Some(text) = read_if_present(path)? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| InputError::Profile {
            path: path.display().to_string(),
            reason: format!("line {}, column {}: {e}", e.line(), e.column()),
        })
}

/// `path` relative to `root` when it lies inside it, else as given.
pub fn display_path(path: &Path, root: &Path) -> String {
    match absolute(path).strip_prefix(absolute(root)) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.display().to_string(),
    }
}

/// Lexically absolute and normalised (`.` and `..` folded), without
/// resolving links: `profiles/latest` must stay `latest` in a link.
fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The relative path from folder `from` to `to`, with `/` separators, as a
/// markdown link needs.
pub fn relative_link(from: &Path, to: &Path) -> String {
    let (from, to) = (absolute(from), absolute(to));
    let (f, t): (Vec<_>, Vec<_>) = (from.components().collect(), to.components().collect());
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let ups = std::iter::repeat_n("..".to_string(), f.len() - common);
    let downs = t[common..]
        .iter()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let parts: Vec<String> = ups.chain(downs).collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_relative_to_the_report_folder() {
        let l = |a: &str, b: &str| relative_link(Path::new(a), Path::new(b));
        assert_eq!(l("/p/reports", "/p/profiles/latest"), "../profiles/latest");
        assert_eq!(l("/p/reports", "/p/reports/x"), "x");
        assert_eq!(l("/p/reports", "/p/reports"), ".");
        assert_eq!(l("/a/b/reports", "/c/profiles"), "../../../c/profiles");
    }

    #[test]
    fn paths_inside_the_root_are_shown_relative() {
        let root = Path::new("/p");
        assert_eq!(
            display_path(Path::new("/p/baselines/b.json"), root),
            "baselines/b.json"
        );
        assert_eq!(display_path(Path::new("/q/b.json"), root), "/q/b.json");
    }
}
