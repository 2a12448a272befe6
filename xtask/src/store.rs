//! Where every file the tool keeps lives, and how each is named: the
//! baseline and its history, every run under `target/perf-runs/`, profile
//! runs under `profiles/`, callgrind's scratch folders, the report. No other
//! module spells one of these paths or a timestamp format.
//!
//! No file is ever replaced by accident: a run or history file that would
//! take a taken name gets a `-2`, `-3`... suffix instead ([`write_new`]),
//! and the baseline itself is replaced only through `baseline_update`,
//! which keeps the old one in `history/` first. Scratch files are per
//! process and removed once their process is gone ([`Store::clear_stale`]).

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use perf_contract::{plan::ProfileName, schema::Baseline};
use perf_report::{build_spread::BuildSpread, calibration::Calibration};

use crate::children;

/// Names the folder of calibrations instead of `target/perf-calibration/`.
pub const CALIBRATION_DIR_VAR: &str = "PERF_CALIBRATION_DIR";
/// Names the performance history's folder instead of `baselines/records/`
/// (a test records into its own).
pub const RECORDS_DIR_VAR: &str = "PERF_RECORDS_DIR";
/// Names the folder of saved runs instead of `target/perf-runs/` (a test
/// that reads the machine's earlier runs must not read the checkout's).
pub const RUNS_DIR_VAR: &str = "PERF_RUNS_DIR";

/// The baseline, relative to the project root.
pub const BASELINE_FILE: &str = "baselines/performance_baselines.json";
/// The analysis report, relative to the project root.
pub const REPORT_FILE: &str = "reports/performance_analysis.md";
/// Earlier baselines: this folder beside the baseline file.
const HISTORY: &str = "history";
/// The performance history: one record file per machine and commit (and
/// per compare of two commits), relative to the project root.
const RECORDS: &str = "baselines/records";
/// Baselines of other machines than the reference's, `<machine id>.json`,
/// relative to the project root: `check` on a machine uses its own.
const MACHINES: &str = "baselines/machines";
/// The dashboard `perf history --dashboard` writes, relative to the root.
const DASHBOARD: &str = "target/perf-dashboard";
/// Every run's record, relative to the project root.
const RUNS: &str = "target/perf-runs";
/// The newest run in `RUNS`.
const LATEST_RUN: &str = "latest.json";
/// Plan files handed to the workloads process, `<pid>.json`, inside `RUNS`.
const PLANS: &str = "plans";
/// Callgrind's dumps, one `<pid>` folder per process, inside `RUNS`.
const CALLGRIND: &str = "callgrind";
/// Profile runs, one folder per run, relative to the project root.
const PROFILES: &str = "profiles";
/// The link to the newest profile run inside `PROFILES`.
const LATEST_PROFILE: &str = "latest";
/// `perf compare`'s builds and checkouts, by commit id.
const COMPARE: &str = "target/compare";

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

    /// The baseline of the machine `id` (`perf baseline --this-machine`).
    pub fn machine_baseline(&self, id: &str) -> PathBuf {
        self.root.join(MACHINES).join(format!("{id}.json"))
    }

    /// The baseline a check on the machine `id` is judged against when
    /// none is named: that machine's own when the repository has one, else
    /// the reference. Says which.
    pub fn baseline_for(&self, id: &str) -> (PathBuf, bool) {
        let own = self.machine_baseline(id);
        if own.exists() {
            (own, true)
        } else {
            (self.baseline_file(), false)
        }
    }

    pub fn report_file(&self) -> PathBuf {
        self.root.join(REPORT_FILE)
    }

    /// The history folder of a baseline file: beside it.
    pub fn history_of(baseline: &Path) -> PathBuf {
        baseline.parent().unwrap_or(Path::new(".")).join(HISTORY)
    }

    /// This machine's calibration for one profile (`perf calibrate`).
    /// This machine's calibration of `profile`: under
    /// `target/perf-calibration/`, or the folder `PERF_CALIBRATION_DIR`
    /// names (one kept elsewhere, or none: the test suite's runs must not
    /// depend on whether this checkout was calibrated).
    pub fn calibration_file(&self, profile: ProfileName) -> PathBuf {
        let dir = std::env::var_os(CALIBRATION_DIR_VAR)
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join("target/perf-calibration"));
        dir.join(format!("{profile}.json"))
    }

    /// The calibration `perf calibrate` kept for `profile`, if any; one
    /// that does not load is an error naming the file.
    pub fn calibration(&self, profile: ProfileName) -> Result<Option<(PathBuf, Calibration)>> {
        let file = self.calibration_file(profile);
        let text = match fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read calibration file {}", file.display()))
            }
        };
        let c = serde_json::from_str(&text).with_context(|| {
            format!(
                "calibration file {} does not load: run `cargo xtask perf calibrate` again, or delete it",
                file.display()
            )
        })?;
        Ok(Some((file, c)))
    }

    /// This machine's spread between builds for `profile` (`perf
    /// calibrate --builds`), beside its calibration.
    pub fn build_spread_file(&self, profile: ProfileName) -> PathBuf {
        self.calibration_file(profile)
            .with_file_name(format!("{profile}-builds.json"))
    }

    /// The spread between builds `perf calibrate --builds` kept for
    /// `profile`, if any; one that does not load is an error naming it.
    pub fn build_spread(&self, profile: ProfileName) -> Result<Option<(PathBuf, BuildSpread)>> {
        let file = self.build_spread_file(profile);
        let text = match fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        };
        let b = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} does not load: run `cargo xtask perf calibrate --builds 8` again, or delete it",
                file.display()
            )
        })?;
        Ok(Some((file, b)))
    }

    /// The performance history (`baselines/records/`, or the folder
    /// `PERF_RECORDS_DIR` names).
    pub fn records_dir(&self) -> PathBuf {
        std::env::var_os(RECORDS_DIR_VAR)
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join(RECORDS))
    }

    /// Writes a history record of `machine`: `<machine>/<name>.json` for a
    /// run of one commit, `<machine>/steps/<name>.json` for a compare; a
    /// taken name gets a suffix, so records made at once never clash.
    pub fn save_record(
        &self,
        machine: &str,
        step: bool,
        name: &str,
        json: &str,
    ) -> Result<PathBuf> {
        let mut dir = self.records_dir().join(machine);
        if step {
            dir.push("steps");
        }
        write_new(&dir, name, json.as_bytes())
            .with_context(|| format!("cannot write history record {}/{name}.json", dir.display()))
    }

    /// Where `perf history --dashboard` writes its page by default.
    pub fn dashboard_dir(&self) -> PathBuf {
        self.root.join(DASHBOARD)
    }

    pub fn runs_dir(&self) -> PathBuf {
        std::env::var_os(RUNS_DIR_VAR)
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join(RUNS))
    }

    /// The plan file this process hands the workloads process: one per
    /// xtask process, so concurrent runs never run each other's plan.
    pub fn plan_file(&self) -> PathBuf {
        self.runs_dir()
            .join(PLANS)
            .join(format!("{}.json", std::process::id()))
    }

    /// `perf compare`'s run records: beside, not among, the saved runs, so
    /// a base build's runs never count as this tree's between-run noise.
    pub fn compare_runs_dir(&self) -> PathBuf {
        self.runs_dir().join("compare")
    }

    /// The kept `perf-workloads` binary built from git tree `id`.
    pub fn compare_binary(&self, id: &str) -> PathBuf {
        self.root
            .join(COMPARE)
            .join("bin")
            .join(id)
            .join("perf-workloads")
    }

    /// The stamp beside a kept binary ([`Store::compare_binary`]): the tree
    /// its checkout held after the build, and the binary's sha256.
    pub fn compare_stamp(&self, id: &str) -> PathBuf {
        self.root
            .join(COMPARE)
            .join("bin")
            .join(id)
            .join("stamp.json")
    }

    /// The lock a compare holds while it switches the checkout, builds and
    /// keeps a binary: one compare at a time.
    pub fn compare_lock(&self) -> PathBuf {
        self.root.join(COMPARE).join("build.lock")
    }

    /// The one checkout every compared revision is built from.
    pub fn compare_tree(&self) -> PathBuf {
        self.root.join(COMPARE).join("tree")
    }

    /// The cargo target folder compared revisions build into.
    pub fn compare_target(&self) -> PathBuf {
        self.root.join(COMPARE).join("target")
    }

    /// A scratch file of `perf compare` (the working tree's private index).
    pub fn compare_scratch(&self, name: &str) -> PathBuf {
        self.root.join(COMPARE).join(name)
    }

    /// `perf compare --explain`'s profiles and diffs of one comparison.
    pub fn compare_explain_dir(&self, t: DateTime<Utc>) -> PathBuf {
        self.root.join(COMPARE).join("explain").join(stamp(t))
    }

    /// Callgrind's dumps for the process `pid`: one folder per process, so
    /// concurrent checks do not read each other's dumps.
    pub fn callgrind_dir(&self, pid: u32) -> PathBuf {
        self.runs_dir().join(CALLGRIND).join(pid.to_string())
    }

    /// Removes what xtask processes that are gone left behind: their plan
    /// files, callgrind folders and half-written temporary files under
    /// `target/perf-runs/` (an xtask killed mid-run cannot clean up itself).
    /// Best effort: a file that cannot be removed costs only disk space.
    pub fn clear_stale(&self) {
        let runs = self.runs_dir();
        for (dir, suffix) in [(runs.join(PLANS), ".json"), (runs.join(CALLGRIND), "")] {
            for path in entries(&dir) {
                // `<pid>.json`, or `<pid>-base.json` of a compare.
                let owner = path.file_name().and_then(|n| {
                    let stem = n.to_str()?.strip_suffix(suffix)?;
                    stem.split('-').next()?.parse().ok()
                });
                if owner.is_some_and(|pid| !children::is_alive(pid)) {
                    let _ = fs::remove_dir_all(&path).or_else(|_| fs::remove_file(&path));
                }
            }
        }
        remove_stale_temps(&runs);
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

    /// A run saved as `target/perf-runs/<time>-<profile><suffix>.json` (or
    /// `...-2.json` when a run of the same second has that name), without
    /// becoming `latest.json` (instruction-only runs have no times to reuse).
    pub fn save_run_as(&self, baseline: &Baseline, suffix: &str) -> Result<PathBuf> {
        let stem = format!(
            "{}-{}{suffix}",
            stamp(baseline.created_at),
            baseline.plan.profile.as_str()
        );
        let dir = self.runs_dir();
        write_new(&dir, &stem, baseline.to_json().as_bytes())
            .with_context(|| format!("cannot write run file {}/{stem}.json", dir.display()))
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
            .filter(|p| !perf_contract::schema::is_set_aside(p))
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

/// Writes `contents` to `dir/<stem>.json`, or to `<stem>-2.json`,
/// `<stem>-3.json`... when the name is taken: never over another file (two
/// runs started in the same second each keep theirs). The file appears
/// whole: a temporary file is written, then hard-linked under the name,
/// which fails instead of replacing. A taken name holding exactly
/// `contents` is returned as is (an interrupted update's copy, repeated).
pub fn write_new(dir: &Path, stem: &str, contents: &[u8]) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{stem}.json.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        for n in 1u32.. {
            let name = match n {
                1 => format!("{stem}.json"),
                n => format!("{stem}-{n}.json"),
            };
            let path = dir.join(name);
            match fs::hard_link(&tmp, &path) {
                Ok(()) => return Ok(path),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if fs::read(&path).is_ok_and(|b| b == contents) {
                        return Ok(path);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("some suffix is free")
    })();
    let _ = fs::remove_file(&tmp);
    result
}

/// The file `.<name>.tmp<pid>` is a temporary of `<name>` written by `pid`
/// (`perf_contract::atomic` and [`write_new`] name them so).
pub fn temp_file_owner(file_name: &str) -> Option<(&str, u32)> {
    let (target, pid) = file_name.strip_prefix('.')?.rsplit_once(".tmp")?;
    Some((target, pid.parse().ok()?))
}

/// Removes the temporary files in `dir` whose writer is gone.
pub fn remove_stale_temps(dir: &Path) {
    for path in entries(dir) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if temp_file_owner(name).is_some_and(|(_, pid)| !children::is_alive(pid)) {
            let _ = fs::remove_file(&path);
        }
    }
}

/// The paths in `dir`, none when it cannot be read.
fn entries(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| Some(e.ok()?.path()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_uses_its_machines_own_baseline_when_the_repository_has_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert_eq!(
            store.baseline_for("3f2a9c0d1e4b"),
            (store.baseline_file(), false)
        );
        let own = store.machine_baseline("3f2a9c0d1e4b");
        fs::create_dir_all(own.parent().unwrap()).unwrap();
        fs::write(&own, "{}").unwrap();
        assert_eq!(store.baseline_for("3f2a9c0d1e4b"), (own, true));
        assert_eq!(
            store.baseline_for("another"),
            (store.baseline_file(), false),
            "another machine's own is not this one's"
        );
    }

    #[test]
    fn runs_of_the_same_second_keep_a_file_each() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut a = perf_contract::fixture::baseline(&[]);
        let mut b = a.clone();
        a.environment.hostname = "a".into();
        b.environment.hostname = "b".into();
        let pa = store.save_run(&a).unwrap();
        let pb = store.save_run(&b).unwrap();
        assert_ne!(pa, pb);
        assert_eq!(Baseline::load(&pa).unwrap().environment.hostname, "a");
        assert_eq!(Baseline::load(&pb).unwrap().environment.hostname, "b");
        // The same bytes again are the same file, not a third one.
        assert_eq!(store.save_run_as(&b, "").unwrap(), pb);
        let names: Vec<_> = entries(&store.runs_dir());
        assert_eq!(names.len(), 3, "two runs and latest.json: {names:?}");
    }

    #[test]
    fn concurrent_runs_have_their_own_plan_file() {
        let store = Store::new(Path::new("/p"));
        let plan = store.plan_file();
        assert!(plan.starts_with("/p/target/perf-runs/plans"));
        assert_eq!(
            plan.file_name().unwrap().to_str().unwrap(),
            format!("{}.json", std::process::id())
        );
    }

    #[test]
    fn leftovers_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut dead = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = dead.id();
        dead.wait().unwrap();
        let me = std::process::id();
        for pid in [dead_pid, me] {
            fs::create_dir_all(store.callgrind_dir(pid)).unwrap();
            fs::write(store.callgrind_dir(pid).join("callgrind.out.1"), "x").unwrap();
            let plan = store.runs_dir().join(PLANS).join(format!("{pid}.json"));
            fs::create_dir_all(plan.parent().unwrap()).unwrap();
            fs::write(&plan, "{}").unwrap();
            fs::write(store.runs_dir().join(format!(".latest.json.tmp{pid}")), "").unwrap();
        }
        store.clear_stale();
        assert!(!store.callgrind_dir(dead_pid).exists());
        assert!(
            store.callgrind_dir(me).exists(),
            "a live process keeps its own"
        );
        let plans = store.runs_dir().join(PLANS);
        assert!(!plans.join(format!("{dead_pid}.json")).exists());
        assert!(plans.join(format!("{me}.json")).exists());
        assert!(!store
            .runs_dir()
            .join(format!(".latest.json.tmp{dead_pid}"))
            .exists());
        assert!(store
            .runs_dir()
            .join(format!(".latest.json.tmp{me}"))
            .exists());
    }

    #[test]
    fn temp_files_name_their_writer() {
        assert_eq!(
            temp_file_owner(".performance_baselines.json.tmp4242"),
            Some(("performance_baselines.json", 4242))
        );
        assert_eq!(temp_file_owner("performance_baselines.json"), None);
        assert_eq!(temp_file_owner(".x.tmpabc"), None);
    }
}
