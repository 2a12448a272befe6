//! Where every file the tool keeps lives, and how each is named: the
//! baseline and its history, every run under `target/perf-runs/`, profile
//! runs under `profiles/`, callgrind's scratch folders, the report. No other
//! module spells one of these paths or a timestamp format.
//!
//! Replacing a file never loses the old one: a baseline moves into
//! `history/` beside it before the new one is written (atomically, through
//! `perf_contract::atomic`), and every run is saved whatever happens to the
//! baseline.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use perf_contract::schema::Baseline;

/// The baseline, relative to the project root.
pub const BASELINE_FILE: &str = "baselines/performance_baselines.json";
/// The analysis report, relative to the project root.
pub const REPORT_FILE: &str = "reports/performance_analysis.md";
/// Earlier baselines: this folder beside the baseline file.
const HISTORY: &str = "history";
/// Every run's record, relative to the project root.
const RUNS: &str = "target/perf-runs";
/// The newest run in `RUNS`.
const LATEST_RUN: &str = "latest.json";
/// Profile runs, one folder per run, relative to the project root.
const PROFILES: &str = "profiles";
/// The link to the newest profile run inside `PROFILES`.
const LATEST_PROFILE: &str = "latest";

/// The project's files, rooted at the workspace.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// A moment as it appears in file names: `20261202T151742Z`.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

impl Store {
    pub fn new(root: &Path) -> Store {
        Store {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn baseline_file(&self) -> PathBuf {
        self.root.join(BASELINE_FILE)
    }

    pub fn report_file(&self) -> PathBuf {
        self.root.join(REPORT_FILE)
    }

    /// The history folder of a baseline file: beside it.
    pub fn history_of(baseline: &Path) -> PathBuf {
        baseline.parent().unwrap_or(Path::new(".")).join(HISTORY)
    }

    pub fn runs_dir(&self) -> PathBuf {
        self.root.join(RUNS)
    }

    /// The plan file a measuring run hands the workloads process.
    pub fn plan_file(&self) -> PathBuf {
        self.runs_dir().join("plan.json")
    }

    /// Callgrind's dumps for the process `pid`: one folder per process, so
    /// concurrent checks do not read each other's dumps.
    pub fn callgrind_dir(&self, pid: u32) -> PathBuf {
        self.runs_dir().join("callgrind").join(pid.to_string())
    }

    pub fn profiles_dir(&self) -> PathBuf {
        self.root.join(PROFILES)
    }

    /// `profiles/latest`: what the report reads by default.
    pub fn latest_profile(&self) -> PathBuf {
        self.profiles_dir().join(LATEST_PROFILE)
    }

    /// The folder of a profile run started at `t`.
    pub fn new_profile_dir(&self, t: DateTime<Utc>) -> PathBuf {
        self.profiles_dir().join(stamp(t))
    }

    /// Every run is kept under `target/perf-runs/`, whatever happens to the
    /// baseline, so a measurement is never thrown away; it also becomes
    /// `latest.json`.
    pub fn save_run(&self, baseline: &Baseline) -> Result<PathBuf> {
        let path = self.save_run_as(baseline, "")?;
        let latest = self.runs_dir().join(LATEST_RUN);
        baseline
            .save(&latest)
            .with_context(|| format!("cannot write {}", latest.display()))?;
        Ok(path)
    }

    /// A run saved as `target/perf-runs/<time>-<profile><suffix>.json`,
    /// without becoming `latest.json` (instruction-only runs have no times
    /// to reuse).
    pub fn save_run_as(&self, baseline: &Baseline, suffix: &str) -> Result<PathBuf> {
        let name = format!(
            "{}-{}{suffix}.json",
            stamp(baseline.created_at),
            baseline.plan.profile.as_str()
        );
        let path = self.runs_dir().join(name);
        baseline
            .save(&path)
            .with_context(|| format!("cannot write run file {}", path.display()))?;
        Ok(path)
    }

    /// Earlier run records: the saved runs and the baseline history of
    /// `baseline`, oldest name first (`latest.json` is a copy, left out).
    pub fn earlier_run_files(&self, baseline: &Path) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = [self.runs_dir(), Store::history_of(baseline)]
            .iter()
            .filter_map(|d| fs::read_dir(d).ok())
            .flatten()
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.ends_with(LATEST_RUN))
            .collect();
        paths.sort();
        paths
    }

    /// `profiles/latest` → `dir`, replaced atomically (a new link renamed
    /// over the old one) so readers never see it missing.
    pub fn point_latest_profile(&self, dir: &Path) {
        #[cfg(unix)]
        {
            let profiles = self.profiles_dir();
            let tmp = profiles.join(".latest.tmp");
            let _ = fs::remove_file(&tmp);
            let target = dir
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| dir.to_path_buf());
            if std::os::unix::fs::symlink(&target, &tmp).is_ok() {
                let _ = fs::rename(&tmp, profiles.join(LATEST_PROFILE));
            }
        }
    }
}

/// Moves an existing baseline into `history/` beside it, named by the time it
/// was recorded. A file that no longer parses is kept too, named by now.
pub fn retire(output: &Path) -> Result<Option<PathBuf>> {
    if !output.exists() {
        return Ok(None);
    }
    let history = Store::history_of(output);
    fs::create_dir_all(&history).with_context(|| format!("cannot create {}", history.display()))?;
    let name = match Baseline::load(output) {
        Ok(old) => format!(
            "{}-{}.json",
            stamp(old.created_at),
            old.plan.profile.as_str()
        ),
        Err(_) => format!("unreadable-{}.json", stamp(Utc::now())),
    };
    let target = history.join(name);
    fs::rename(output, &target)
        .with_context(|| format!("cannot move {} to {}", output.display(), target.display()))?;
    Ok(Some(target))
}

/// `baseline` becomes the baseline at `output`; the one it replaces moves
/// to history first (its new path is returned).
pub fn replace_baseline(output: &Path, baseline: &Baseline) -> Result<Option<PathBuf>> {
    let moved = retire(output)?;
    baseline
        .save(output)
        .with_context(|| format!("cannot write baseline {}", output.display()))?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retire_moves_unreadable_files_too() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.json");
        assert_eq!(retire(&out).unwrap(), None);
        fs::write(&out, "not json").unwrap();
        let moved = retire(&out).unwrap().unwrap();
        assert!(!out.exists());
        assert_eq!(fs::read_to_string(&moved).unwrap(), "not json");
        assert!(moved.starts_with(dir.path().join("history")));
    }
}
