//! `perf check`'s thresholds as a user sets them: a threshold that is not
//! a percentage of 0 or more, from the flag or from the file, and a key
//! that names no metric, are refused with one line and exit 2, and a check
//! that could compare nothing exits 2 instead of passing. A saved run
//! (`--run-file`) is judged, so no workload runs.

mod support;

use std::{fs, path::Path, process::Output};

use perf_contract::{
    plan::WorkloadName,
    schema::{Baseline, Better, Unit},
};
use support::{stderr, xtask_env};

fn baseline(latency: f64) -> Baseline {
    perf_contract::fixture::baseline(&[(
        WorkloadName::RagQuery,
        "latency",
        Unit::Milliseconds,
        Better::Lower,
        vec![latency; 10],
    )])
}

/// `perf check --update` of `dir/run.json` against `dir/baseline.json`.
fn check(dir: &Path, extra: &[&str]) -> Output {
    let base = dir.join("baseline.json");
    let run = dir.join("run.json");
    let mut args = vec![
        "perf",
        "check",
        "--no-rerun",
        "--update",
        "--baseline",
        base.to_str().unwrap(),
        "--run-file",
        run.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    // `--noise-history` reads the machine's saved runs: this test's own
    // folder, not whatever the checkout's target/perf-runs holds.
    let runs = dir.join("runs");
    xtask_env(&args, &[("PERF_RUNS_DIR", runs.to_str())])
}

/// Exit 2, exactly one error line containing `needle`, baseline untouched.
fn assert_refused(o: &Output, needle: &str, dir: &Path, before: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "exactly one error line: {err}");
    assert!(lines[0].contains(needle), "`{needle}` not in: {err}");
    assert_eq!(
        fs::read_to_string(dir.join("baseline.json")).unwrap(),
        before,
        "baseline untouched"
    );
    assert!(!dir.join("history").exists(), "nothing retired");
}

fn setup(dir: &Path, base_latency: f64) -> String {
    baseline(base_latency)
        .save(&dir.join("baseline.json"))
        .unwrap();
    let mut run = baseline(base_latency);
    run.environment.git_commit = Some("run".into());
    run.save(&dir.join("run.json")).unwrap();
    fs::read_to_string(dir.join("baseline.json")).unwrap()
}

#[test]
fn thresholds_that_are_not_percentages_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let before = setup(d, 10.0);
    for bad in ["inf", "NaN", "-5"] {
        let flag = format!("--threshold={bad}");
        let o = check(d, &[&flag]);
        assert_refused(&o, "--threshold", d, &before);
    }
    let toml = d.join("perf.toml");
    for (text, needle) in [
        (
            "[check]\nthreshold_pct = -5\n",
            "[check] threshold_pct = -5",
        ),
        (
            "[check]\nthreshold_pct = inf\n",
            "[check] threshold_pct = inf",
        ),
        (
            "[check.thresholds]\n\"rag_query\" = nan\n",
            "[check.thresholds] \"rag_query\" = NaN",
        ),
        ("[check]\nmin_abs_ms = -1\n", "[check] min_abs_ms = -1"),
    ] {
        fs::write(&toml, text).unwrap();
        let o = check(d, &["--config", toml.to_str().unwrap()]);
        assert_refused(&o, needle, d, &before);
        assert!(stderr(&o).contains("perf.toml"), "names the file");
    }
}

#[test]
fn a_threshold_key_that_names_no_metric_is_refused_with_the_closest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let before = setup(d, 10.0);
    let toml = d.join("perf.toml");
    fs::write(&toml, "[check.thresholds]\n\"rag_query.latncy\" = 5\n").unwrap();
    let o = check(d, &["--config", toml.to_str().unwrap()]);
    assert_refused(&o, "closest: rag_query.latency", d, &before);
    assert!(stderr(&o).contains("\"rag_query.latncy\" matches no metric"));

    // Keys that name a workload or one of its metrics are fine.
    fs::write(
        &toml,
        "[check.thresholds]\n\"rag_query\" = 12\n\"rag_query.latency\" = 8\n",
    )
    .unwrap();
    let o = check(d, &["--config", toml.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_check_that_compared_nothing_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A zero median has no relative change: every metric is incomparable.
    let before = setup(d, 0.0);
    let o = check(d, &[]);
    assert_refused(&o, "nothing was compared", d, &before);
    assert!(stderr(&o).contains("rag_query.latency"), "names a metric");
}

#[test]
fn a_run_file_that_does_not_load_is_called_a_run_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let before = setup(d, 10.0);
    fs::write(d.join("run.json"), "{ not json").unwrap();
    let o = check(d, &[]);
    assert_refused(&o, "run file", d, &before);
    assert!(stderr(&o).contains("not valid JSON"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("--update"), "{}", stderr(&o));
    // Valid JSON of another shape is not "not valid JSON".
    fs::write(d.join("run.json"), "{}").unwrap();
    let o = check(d, &[]);
    assert_refused(&o, "run file", d, &before);
    assert!(stderr(&o).contains("not a run record"), "{}", stderr(&o));
}

#[test]
fn noise_history_names_an_earlier_run_that_does_not_load() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let before = setup(d, 10.0);
    // The baseline's history is where `--noise-history` reads earlier runs.
    let history = d.join("history");
    fs::create_dir_all(&history).unwrap();
    fs::write(history.join("2026-01-01T00-00-00Z-quick.json"), "{ cut").unwrap();
    let o = check(d, &["--noise-history"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--noise-history"), "{err}");
    assert!(err.contains("2026-01-01T00-00-00Z-quick.json"), "{err}");
    assert_eq!(fs::read_to_string(d.join("baseline.json")).unwrap(), before);
    // The tool's own set-aside copy of a corrupt baseline is not a run.
    fs::remove_file(history.join("2026-01-01T00-00-00Z-quick.json")).unwrap();
    fs::write(
        history.join("unreadable-2026-01-01T00-00-00Z.json"),
        "{ cut",
    )
    .unwrap();
    let o = check(d, &["--noise-history"]);
    assert!(o.status.success(), "{}", stderr(&o));
}
