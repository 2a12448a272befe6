//! Shared by the xtask integration tests: running the built `xtask` binary
//! the way CI does, and a small real corpus cut from the Rust book.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::{
    fs, io,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// Runs `cargo xtask` (the built binary) with plain progress lines, as in
/// CI; its output is echoed, which the test harness shows on failure.
pub fn xtask(args: &[&str]) -> Output {
    xtask_env(args, &[])
}

/// [`xtask`] with environment variables set (`Some`) or removed (`None`).
pub fn xtask_env(args: &[&str], env: &[(&str, Option<&str>)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.args(args)
        .env("CI", "1")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("PERF_CALIBRATION_DIR", no_calibration());
    for (k, v) in env {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let o = c.output().expect("xtask runs");
    eprintln!(
        "$ cargo xtask {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The built xtask as CI starts it (plain progress lines, no step
/// summary), with the signals a test sends at their default action.
pub fn xtask_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.env("CI", "1")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("PERF_CALIBRATION_DIR", no_calibration());
    default_signals(&mut c);
    c
}

/// An empty folder of calibrations: a test's run does not depend on
/// whether this checkout's machine was calibrated (`perf calibrate` keeps
/// one under target/, which `check` and `baseline` would read).
pub fn no_calibration() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("perf-no-calibration-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp folder");
    dir
}

/// Starts the child with SIGINT, SIGTERM, SIGHUP and SIGQUIT at their
/// default action. An ignored signal is inherited across exec (a script's
/// `cmd &`, `nohup`, some CI runners start jobs so), and std resets only
/// SIGPIPE and the signal mask: without this, a test that ends xtask with
/// SIGINT depends on what the test's own parent ignores.
pub fn default_signals(command: &mut Command) {
    let reset = || -> io::Result<()> {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            // SAFETY: signal is async-signal-safe and SIG_DFL involves no
            // memory of ours, as a pre_exec hook requires.
            if unsafe { libc::signal(signal, libc::SIG_DFL) } == libc::SIG_ERR {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    };
    // SAFETY: the hook allocates nothing and touches no lock.
    unsafe {
        command.pre_exec(reset);
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn rust_book() -> PathBuf {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("share/doc/rust/html/book")
}

/// `dir/corpus`: two chapters of the book and a Markdown note.
pub fn small_corpus(dir: &Path) -> PathBuf {
    let corpus = dir.join("corpus");
    fs::create_dir_all(&corpus).unwrap();
    for page in [
        "ch04-01-what-is-ownership.html",
        "ch16-03-shared-state.html",
    ] {
        fs::copy(rust_book().join(page), corpus.join(page)).unwrap();
    }
    fs::write(
        corpus.join("notes.md"),
        "# Notes\n\nHNSW is a graph index for approximate nearest neighbours.\n",
    )
    .unwrap();
    corpus
}

/// Asserts that no file written since `since` under `dirs` or the
/// project's run folder (`target/perf-runs/`: plans, runs, `latest.json`)
/// contains `secret`.
pub fn assert_no_file_holds(secret: &str, dirs: &[&Path], since: std::time::SystemTime) {
    let runs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/perf-runs");
    let mut checked = 0;
    for dir in dirs.iter().copied().chain([runs.as_path()]) {
        for entry in walk(dir) {
            let Ok(meta) = fs::metadata(&entry) else {
                continue;
            };
            if meta.modified().is_ok_and(|m| m < since) {
                continue;
            }
            let bytes = fs::read(&entry).unwrap_or_default();
            checked += 1;
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{} holds the secret",
                entry.display()
            );
        }
    }
    assert!(checked > 0, "no file was written to check");
}

/// Every file under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// `perf baseline --quick --iterations 1 --warmup 0 --processes 1
/// --corpus CORPUS --output OUT` and `extra`: the shortest real run, which
/// most tests start from.
pub fn quick_baseline(corpus: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "perf",
        "baseline",
        "--quick",
        "--iterations",
        "1",
        "--warmup",
        "0",
        "--processes",
        "1",
        "--corpus",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(corpus.display().to_string());
    args.push("--output".into());
    args.push(out.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// [`xtask`] over owned arguments.
pub fn xtask_args(args: &[String]) -> Output {
    xtask(&args.iter().map(String::as_str).collect::<Vec<_>>())
}
