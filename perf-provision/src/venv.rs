//! The second kind of provisioning: a [`PythonTool`] that pip installs, with
//! its dependencies, into a virtualenv under the cache folder (a server a
//! run starts, such as ChromaDB).
//!
//! A venv cannot be staged and renamed like a wheel's files: its scripts'
//! shebangs name the folder it was created in. So it is built in place,
//! under a file lock that makes other threads and processes wait (and find
//! the finished venv), and a marker file written last says it is complete.
//! A folder without the marker (a build that was killed) is removed and
//! built again; a failed build removes its folder.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use crate::{artifact::PythonTool, fetch::python, Event, ProvisionError};

/// Written last into a finished venv; holds the requirement it was built for.
const MARKER: &str = ".perf-provision-complete";

/// Makes `tool` installed in a venv at `cache_dir/<cache_name>` and returns
/// that folder (its programs are in `bin/`). The venv is created by
/// [`python()`](crate::python), and pip honours the machine's own index
/// settings. The first install downloads the tool and its dependencies.
pub fn provide_tool(
    tool: &PythonTool,
    cache_dir: &Path,
    on_event: &mut dyn FnMut(Event),
) -> Result<PathBuf, ProvisionError> {
    provide_tool_with(&python(), tool, cache_dir, on_event)
}

fn provide_tool_with(
    python: &str,
    tool: &PythonTool,
    cache_dir: &Path,
    on_event: &mut dyn FnMut(Event),
) -> Result<PathBuf, ProvisionError> {
    fs::create_dir_all(cache_dir).map_err(io_err(cache_dir))?;
    let target = cache_dir.join(tool.cache_name);
    let _lock = lock(cache_dir, tool, &target, on_event)?;
    let why = match complete(tool, &target) {
        Ok(()) => return Ok(target),
        Err(why) => why,
    };
    if target.exists() {
        on_event(Event::Note(format!(
            "{} at {} is incomplete ({why}); building it again",
            tool.what,
            target.display()
        )));
        fs::remove_dir_all(&target).map_err(io_err(&target))?;
    }
    on_event(Event::Note(format!(
        "installing {} (pip install {}) into a venv at {}",
        tool.what,
        tool.requirement(),
        target.display()
    )));
    let built = build(python, tool, &target);
    if built.is_err() {
        let _ = fs::remove_dir_all(&target);
    }
    built.map(|()| target)
}

/// The cross-process lock of one tool's venv, held until dropped (the
/// kernel releases it if the process dies). The lock file stays: removing
/// it would let two processes lock two different files.
fn lock(
    cache_dir: &Path,
    tool: &PythonTool,
    target: &Path,
    on_event: &mut dyn FnMut(Event),
) -> Result<fs::File, ProvisionError> {
    let path = cache_dir.join(format!(".{}.lock", tool.cache_name));
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    if file.try_lock().is_err() {
        on_event(Event::Note(format!(
            "waiting for another process that is installing {} into {}",
            tool.what,
            target.display()
        )));
        file.lock().map_err(io_err(&path))?;
    }
    Ok(file)
}

/// Whether `dir` is a finished venv of `tool`; `Err` says what is missing.
fn complete(tool: &PythonTool, dir: &Path) -> Result<(), String> {
    let marker = fs::read_to_string(dir.join(MARKER))
        .map_err(|_| format!("no {MARKER} marker: its install did not finish"))?;
    if marker.trim() != tool.fingerprint() {
        return Err(format!(
            "it was built for {}, not {}",
            marker.trim(),
            tool.fingerprint()
        ));
    }
    // `bin/python` links to the interpreter it was made with: gone if that is.
    for program in ["python", tool.executable] {
        let path = dir.join("bin").join(program);
        if !path.is_file() {
            return Err(format!("{} is missing", path.display()));
        }
    }
    Ok(())
}

fn build(python: &str, tool: &PythonTool, dir: &Path) -> Result<(), ProvisionError> {
    let requirement = tool.requirement();
    run(
        tool,
        Command::new(python).args(["-m", "venv"]).arg(dir),
        &format!("{python} -m venv"),
    )?;
    let venv_python = dir.join("bin/python");
    run(
        tool,
        Command::new(&venv_python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(["--disable-pip-version-check", &requirement])
            // A wheel pip built earlier with other flags would be reused
            // from its cache: a package compiled here is compiled afresh.
            .args(if tool.build_env.is_empty() {
                &[][..]
            } else {
                &["--no-cache-dir"][..]
            })
            .envs(tool.build_env.iter().copied()),
        &format!("pip install {requirement}"),
    )?;
    let probe = format!("import {m}; print({m}.__version__)", m = tool.module);
    let version = run(
        tool,
        Command::new(&venv_python).args(["-c", &probe]),
        &format!("import {}", tool.module),
    )?;
    if version.trim() != tool.version {
        return Err(ProvisionError::Corrupt {
            path: dir.to_path_buf(),
            message: format!(
                "{}.__version__ is {}, expected {}",
                tool.module,
                version.trim(),
                tool.version
            ),
        });
    }
    // Written whole, then renamed: the marker is there complete or not at all.
    let marker = dir.join(MARKER);
    let partial = dir.join(format!("{MARKER}.partial"));
    fs::write(&partial, format!("{}\n", tool.fingerprint())).map_err(io_err(&partial))?;
    fs::rename(&partial, &marker).map_err(io_err(&marker))
}

/// Runs `command` to completion (no stdin; no PYTHONPATH, so the venv sees
/// only its own packages) and returns its stdout; a failure is one line: the
/// step and the last line the command wrote to stderr.
fn run(tool: &PythonTool, command: &mut Command, step: &str) -> Result<String, ProvisionError> {
    let unavailable = |reason: String| ProvisionError::Unavailable {
        what: tool.what.into(),
        reason,
        fix: tool.fix.into(),
    };
    // A pip left behind by a killed run would go on writing into a folder
    // the next run rebuilds.
    crate::die_with_parent(command);
    let out = command
        .env_remove("PYTHONPATH")
        .output()
        .map_err(|e| unavailable(format!("cannot run `{step}` ({e})")))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output");
    Err(unavailable(format!("`{step}` failed ({last})")))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ProvisionError + '_ {
    move |e| ProvisionError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CHROMADB;

    const NO_PYTHON: &str = "/no/such/python";

    /// A folder with the files a finished venv of CHROMADB has.
    fn fake_venv(dir: &Path, marker: Option<&str>) {
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::write(dir.join("bin/python"), "").unwrap();
        fs::write(dir.join("bin/chroma"), "").unwrap();
        if let Some(m) = marker {
            fs::write(dir.join(MARKER), m).unwrap();
        }
    }

    #[test]
    fn a_complete_venv_is_used_without_running_python() {
        let cache = tempfile::tempdir().unwrap();
        let target = cache.path().join(CHROMADB.cache_name);
        fake_venv(&target, Some("chromadb==1.5.9\n"));
        let mut notes = Vec::new();
        let got = provide_tool_with(NO_PYTHON, &CHROMADB, cache.path(), &mut |e| notes.push(e));
        assert_eq!(got.unwrap(), target);
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn no_python_is_one_line_with_the_fix_and_leaves_no_folder() {
        let cache = tempfile::tempdir().unwrap();
        let err = provide_tool_with(NO_PYTHON, &CHROMADB, cache.path(), &mut |_| {}).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(
                "ChromaDB 1.5.9 is not available: cannot run `/no/such/python -m venv`"
            ),
            "{msg}"
        );
        assert!(msg.ends_with(CHROMADB.fix), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        assert!(!cache.path().join(CHROMADB.cache_name).exists());
    }

    #[test]
    fn a_venv_without_its_marker_or_of_another_version_is_rebuilt() {
        for marker in [None, Some("chromadb==1.5.8\n")] {
            let cache = tempfile::tempdir().unwrap();
            let target = cache.path().join(CHROMADB.cache_name);
            fake_venv(&target, marker);
            let mut notes = Vec::new();
            let got = provide_tool_with(NO_PYTHON, &CHROMADB, cache.path(), &mut |e| notes.push(e));
            assert!(got.is_err());
            assert!(
                matches!(&notes[0], Event::Note(n) if n.contains("is incomplete") && n.contains("building it again")),
                "{notes:?}"
            );
            // Removed, and the failed rebuild left nothing under the name.
            assert!(!target.exists());
        }
    }

    #[test]
    fn completeness_needs_the_marker_and_both_programs() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("v");
        fake_venv(&venv, None);
        assert!(complete(&CHROMADB, &venv)
            .unwrap_err()
            .contains("did not finish"));
        fs::write(venv.join(MARKER), "chromadb==1.5.9\n").unwrap();
        assert_eq!(complete(&CHROMADB, &venv), Ok(()));
        fs::remove_file(venv.join("bin/chroma")).unwrap();
        assert!(complete(&CHROMADB, &venv)
            .unwrap_err()
            .contains("bin/chroma is missing"));
    }
}
