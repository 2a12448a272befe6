//! `perf history` over a history of its own (`PERF_RECORDS_DIR`): a saved
//! run of this checkout's HEAD recorded with `--record-run`, then printed,
//! exported as BMF and as a pull-request comment, and drawn as the
//! dashboard; a run of an uncommitted tree and an unknown metric refused
//! with one line each, nothing written.

mod support;

use std::{fs, path::Path, process::Command};

use perf_contract::schema::Baseline;
use support::xtask_env;

fn head() -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git runs");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The fixture quick run, as a run of `commit` (dirty or not).
fn run_of(dir: &Path, commit: &str, dirty: bool) -> (std::path::PathBuf, String) {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../perf-report/tests/fixtures/quick-run.json");
    let mut run = Baseline::load(&fixture).unwrap();
    run.environment.git_commit = Some(commit.to_string());
    run.environment.git_dirty = Some(dirty);
    let path = dir.join(if dirty { "dirty.json" } else { "run.json" });
    run.save(&path).unwrap();
    (path, run.environment.machine_id())
}

fn text(o: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_recorded_run_is_printed_exported_and_drawn() {
    let tmp = tempfile::tempdir().unwrap();
    let records = tmp.path().join("records");
    let env = [("PERF_RECORDS_DIR", Some(records.to_str().unwrap()))];
    let (run, machine) = run_of(tmp.path(), &head(), false);

    let o = xtask_env(
        &["perf", "history", "--record-run", run.to_str().unwrap()],
        &env,
    );
    assert!(o.status.success());
    let files: Vec<_> = fs::read_dir(records.join(&machine)).unwrap().collect();
    assert_eq!(files.len(), 1, "one record in the machine's folder");
    let o = xtask_env(
        &["perf", "history", "--record-run", run.to_str().unwrap()],
        &env,
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "a run is recorded once: {err}");
    assert!(err.contains("already in the history"), "{err}");
    let files: Vec<_> = fs::read_dir(records.join(&machine)).unwrap().collect();
    assert_eq!(files.len(), 1, "still one record");

    let o = xtask_env(&["perf", "history"], &env);
    let (out, _) = text(&o);
    assert!(o.status.success());
    assert!(out.contains(&format!("machine {machine}")), "{out}");
    assert!(out.contains("rag_query.latency"), "{out}");

    let o = xtask_env(
        &["perf", "history", "--format", "bmf", "--machine", &machine],
        &env,
    );
    let (out, _) = text(&o);
    assert!(o.status.success());
    let bmf: serde_json::Value = serde_json::from_str(&out).expect("BMF is JSON");
    assert!(
        bmf["rag_query.latency"]["latency"]["value"]
            .as_f64()
            .unwrap()
            > 0.0,
        "{out}"
    );

    let o = xtask_env(
        &[
            "perf",
            "history",
            "--format",
            "markdown",
            "--machine",
            &machine,
        ],
        &env,
    );
    let (out, _) = text(&o);
    assert!(o.status.success());
    assert!(out.contains("| `rag_query.latency` |"), "{out}");
    assert!(out.contains("first record"), "{out}");

    let page = tmp.path().join("dash");
    let o = xtask_env(
        &["perf", "history", "--dashboard", page.to_str().unwrap()],
        &env,
    );
    assert!(o.status.success());
    let html = fs::read_to_string(page.join("index.html")).unwrap();
    assert!(html.contains("rag_query.latency"));
}

#[test]
fn bad_history_input_is_refused_with_one_line_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let records = tmp.path().join("records");
    let env = [("PERF_RECORDS_DIR", Some(records.to_str().unwrap()))];
    let (dirty, _) = run_of(tmp.path(), &head(), true);
    let o = xtask_env(
        &["perf", "history", "--record-run", dirty.to_str().unwrap()],
        &env,
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("dirty.json") && err.contains("uncommitted"),
        "{err}"
    );
    assert!(!records.exists(), "nothing written");

    let (run, _) = run_of(tmp.path(), &"0".repeat(40), false);
    let o = xtask_env(
        &["perf", "history", "--record-run", run.to_str().unwrap()],
        &env,
    );
    assert_eq!(o.status.code(), Some(2), "a commit this repository lacks");
    assert!(!records.exists());

    let o = xtask_env(&["perf", "history", "--metric", "rag_query.nope"], &env);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("--metric rag_query.nope"), "{err}");

    fs::create_dir_all(records.join("m")).unwrap();
    fs::write(records.join("m/broken.json"), "{").unwrap();
    let o = xtask_env(&["perf", "history"], &env);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("broken.json"), "{err}");
}

#[test]
fn a_check_against_another_machines_baseline_is_refused_before_it_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../perf-report/tests/fixtures/quick-run.json");
    let mut run = Baseline::load(&fixture).unwrap();
    run.environment.cpu_model = "Some Other CPU".into();
    run.machine_fingerprint = run.environment.fingerprint();
    let foreign = tmp.path().join("foreign.json");
    run.save(&foreign).unwrap();
    let started = std::time::Instant::now();
    let o = support::xtask(&["perf", "check", "--baseline", foreign.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another machine") && err.contains("--this-machine"),
        "{err}"
    );
    assert!(err.contains("baselines/machines/"), "{err}");
    // Refused before building or measuring anything.
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    assert!(!err.contains("building"), "{err}");
}
