//! Replacing the baseline as one step that either completes or leaves the
//! old baseline in place, one writer at a time.
//!
//! Moving the old baseline to `history/` and then writing the new one left
//! no baseline at all when xtask was interrupted in between, and two
//! concurrent `--update`s could interleave their moves and writes and lose
//! a measured baseline. So, under an exclusive lock on a file beside the
//! baseline: stale temporary files of dead writers go, the old baseline is
//! *copied* into history (it stays in place), the new one is written to a
//! temporary file and renamed over the old. The baseline is the old or the
//! new file at every instant, and every replaced one is in history.

use std::{
    fs::{self, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use perf_contract::schema::{Baseline, FileRole};

use crate::store::{self, remove_stale_temps, stamp, temp_file_owner, Store};

/// Test-only: the path of a marker file. When set, an update creates the
/// marker once the history copy and the new temporary file are written and
/// waits there, so a test can kill xtask at the one moment that used to
/// leave no baseline.
const PAUSE_HOOK: &str = "XTASK_TEST_PAUSE_BEFORE_BASELINE_RENAME";

/// `baseline` becomes the baseline at `output`; the one it replaces is
/// kept in history first (its path is returned).
pub fn replace_baseline(output: &Path, baseline: &Baseline) -> Result<Option<PathBuf>> {
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = output
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("baseline path {} has no file name", output.display()))?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let lock_path = dir.join(format!(".{name}.lock"));
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open lock file {}", lock_path.display()))?;
    // Blocks while another xtask replaces this baseline; released when
    // `lock` is dropped or this process dies.
    lock.lock()
        .with_context(|| format!("cannot lock {}", lock_path.display()))?;

    // Every writer of this baseline holds the lock: any temporary file of
    // it now is an interrupted writer's.
    for path in fs::read_dir(dir).into_iter().flatten().flatten() {
        let file_name = path.file_name();
        if temp_file_owner(&file_name.to_string_lossy()).is_some_and(|(t, _)| t == name) {
            let _ = fs::remove_file(path.path());
        }
    }
    let history = Store::history_of(output);
    remove_stale_temps(&history);

    let kept = match fs::read(output) {
        Ok(old) => Some(keep_in_history(output, &old)?),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => bail!("cannot read baseline {}: {e}", output.display()),
    };
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let write = |tmp: &Path| -> io::Result<()> {
        let mut f = fs::File::create(tmp)?;
        f.write_all(baseline.to_json().as_bytes())?;
        f.sync_all()
    };
    write(&tmp).with_context(|| format!("cannot write baseline {}", tmp.display()))?;
    pause_for_tests();
    if let Err(e) = fs::rename(&tmp, output) {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write baseline {}", output.display()));
    }
    Ok(kept)
}

/// Copies the baseline bytes `old` into `history/` beside `output`, named
/// by the time it was recorded (a file that no longer parses is kept too,
/// named by now), without replacing any history file.
fn keep_in_history(output: &Path, old: &[u8]) -> Result<PathBuf> {
    let stem = match Baseline::parse(&String::from_utf8_lossy(old), "") {
        Ok(b) => format!("{}-{}", stamp(b.created_at), b.plan.profile.as_str()),
        Err(_) => format!(
            "{}{}",
            perf_contract::schema::SET_ASIDE_PREFIX,
            stamp(Utc::now())
        ),
    };
    let history = Store::history_of(output);
    store::write_new(&history, &stem, old).with_context(|| {
        format!(
            "cannot keep the old baseline {} in {}; nothing was replaced",
            output.display(),
            history.display()
        )
    })
}

/// Removes the temporary files beside `output` whose writer is gone (an
/// update killed between writing and renaming), without taking the lock:
/// a live writer's file is never touched.
pub fn clear_stale_temps(output: &Path) {
    if let Some(dir) = output.parent() {
        remove_stale_temps(dir);
    }
}

/// The most recently kept file in the history of `output`: where the
/// previous baseline is when `output` is missing. A corrupt baseline the
/// tool set aside there is never suggested as a replacement.
pub fn previous_baseline(output: &Path) -> Option<PathBuf> {
    fs::read_dir(Store::history_of(output))
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter(|e| !perf_contract::schema::is_set_aside(&e.path()))
        .filter(|e| Baseline::load_as(&e.path(), FileRole::History).is_ok())
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, p)| p)
}

/// What to say about a missing baseline `output`: where the previous one
/// is, if anywhere, and how to get it back.
pub fn missing_baseline(output: &Path) -> String {
    match previous_baseline(output) {
        Some(p) => format!(
            "no baseline at {}; the previous one is {} (restore it with `cp {} {}`), or record one with `cargo xtask perf baseline`",
            output.display(),
            p.display(),
            p.display(),
            output.display()
        ),
        None => format!(
            "no baseline at {}: record one with `cargo xtask perf baseline`",
            output.display()
        ),
    }
}

fn pause_for_tests() {
    if let Some(marker) = std::env::var_os(PAUSE_HOOK) {
        let _ = fs::write(&marker, b"");
        std::thread::sleep(Duration::from_secs(120));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_old_baselines_are_kept_too() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.json");
        let new = perf_contract::fixture::baseline(&[]);
        assert_eq!(replace_baseline(&out, &new).unwrap(), None);
        fs::write(&out, "not json").unwrap();
        let moved = replace_baseline(&out, &new).unwrap().unwrap();
        assert_eq!(fs::read_to_string(&moved).unwrap(), "not json");
        assert!(moved.starts_with(dir.path().join("history")));
        assert_eq!(Baseline::load(&out).unwrap(), new);
    }

    #[test]
    fn a_corrupt_file_in_history_is_never_offered_as_the_previous_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.json");
        let good = perf_contract::fixture::baseline(&[]);
        replace_baseline(&out, &good).unwrap();
        fs::write(&out, "not json").unwrap();
        // The corrupt baseline goes to history as `unreadable-*`.
        replace_baseline(&out, &good).unwrap();
        fs::remove_file(&out).unwrap();
        assert_eq!(previous_baseline(&out), None);
        assert!(missing_baseline(&out).contains("record one"));
        // A readable earlier baseline is still found.
        replace_baseline(&out, &good).unwrap();
        replace_baseline(&out, &good).unwrap();
        fs::remove_file(&out).unwrap();
        let previous = previous_baseline(&out).unwrap();
        assert!(Baseline::load(&previous).is_ok());
    }

    #[test]
    fn baselines_of_the_same_second_all_stay_in_history() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.json");
        let runs: Vec<Baseline> = ["o", "a", "b"]
            .iter()
            .map(|h| {
                let mut b = perf_contract::fixture::baseline(&[]);
                b.environment.hostname = h.to_string();
                b
            })
            .collect();
        for b in &runs {
            replace_baseline(&out, b).unwrap();
        }
        let mut kept: Vec<String> = fs::read_dir(dir.path().join("history"))
            .unwrap()
            .map(|e| Baseline::load(&e.unwrap().path()).unwrap())
            .map(|b| b.environment.hostname)
            .collect();
        kept.sort();
        assert_eq!(kept, ["a", "o"]);
        assert_eq!(Baseline::load(&out).unwrap().environment.hostname, "b");
    }

    #[test]
    fn a_stale_temporary_file_is_removed_and_the_previous_one_named() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.json");
        let stale = dir.path().join(".b.json.tmp1");
        fs::write(&stale, "half").unwrap();
        let b = perf_contract::fixture::baseline(&[]);
        replace_baseline(&out, &b).unwrap();
        replace_baseline(&out, &b).unwrap();
        assert!(!stale.exists());
        fs::remove_file(&out).unwrap();
        let msg = missing_baseline(&out);
        let previous = previous_baseline(&out).unwrap();
        assert!(msg.contains(&previous.display().to_string()), "{msg}");
    }
}
