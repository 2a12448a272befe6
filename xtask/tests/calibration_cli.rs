//! `perf calibrate` and what reads it: a baseline recorded on a calibrated
//! machine measures as many processes as the calibration says a check of
//! as many needs to resolve its thresholds, and none more where the shift
//! between sessions leaves the threshold out of reach; a second
//! calibration joins the first one's sessions; a calibration of builds
//! that cannot estimate a spread is refused before building.

mod support;

use std::fs;

use perf_contract::plan::Plan;
use support::{small_corpus, stderr, xtask_env};

#[test]
fn a_baseline_takes_its_processes_from_this_machines_calibration() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = small_corpus(dir.path());
    let corpus = corpus.to_str().unwrap();
    let calibrations = dir.path().join("calibrations");
    let runs = dir.path().join("runs");
    let env = [
        ("PERF_CALIBRATION_DIR", calibrations.to_str()),
        ("PERF_RUNS_DIR", runs.to_str()),
    ];
    let run = ["--quick", "--workload", "rag_query", "--corpus", corpus];
    let calibrate = [
        &[
            "perf",
            "calibrate",
            "--sessions",
            "1",
            "--processes",
            "3",
            "--iterations",
            "1",
            "--warmup",
            "0",
        ][..],
        &run,
    ]
    .concat();
    let o = xtask_env(&calibrate, &env);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(calibrations.join("quick.json").is_file());

    // A threshold no spread between processes can meet asks for the most a
    // run measures up front, and says why.
    let strict = dir.path().join("strict.toml");
    fs::write(&strict, "[check]\nthreshold_pct = 0.01\n").unwrap();
    let strict = strict.to_str().unwrap();
    let dry = [
        &["perf", "baseline", "--dry-run", "--config", strict][..],
        &run,
    ]
    .concat();
    let o = xtask_env(&dry, &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan: Plan = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan.harness.processes, 10);
    let err = stderr(&o);
    assert!(
        err.contains("10 processes, the most measured up front: rag_query."),
        "{err}"
    );
    assert!(err.contains("--processes N to choose"), "{err}");

    // The flag decides; without a calibration, the profile does.
    let o = xtask_env(&[&dry[..], &["--processes", "2"]].concat(), &env);
    let plan: Plan = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan.harness.processes, 2);
    let o = xtask_env(
        &dry,
        &[("PERF_CALIBRATION_DIR", dir.path().join("none").to_str())],
    );
    let plan: Plan = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan.harness.processes, 3);

    // A second calibration joins the first's session.
    let o = xtask_env(&calibrate, &env);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("joining 1 earlier session(s)"),
        "{}",
        stderr(&o)
    );
    let file = calibrations.join("quick.json");
    let mut c: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(c["sessions"], 2);
    assert_eq!(c["runs"].as_array().unwrap().len(), 2);

    // Sessions that shift 5% against each other leave ±10% out of reach
    // of any number of processes: none are added, and the note says why.
    for spread in c["metrics"].as_object_mut().unwrap().values_mut() {
        spread["session_sd_log"] = 0.05.into();
        spread["session_df"] = 7.0.into();
    }
    fs::write(&file, c.to_string()).unwrap();
    let dry = [&["perf", "baseline", "--dry-run"][..], &run].concat();
    let o = xtask_env(&dry, &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan: Plan = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan.harness.processes, 3);
    let err = stderr(&o);
    assert!(
        err.contains("no number of processes resolves rag_query.latency (sessions alone leave ±"),
        "{err}"
    );
}

/// `--builds` asks for at least 3 compares and measures on its own: mixed
/// with saved runs or sessions it is refused in one line before anything
/// is built.
#[test]
fn a_calibration_of_builds_is_refused_when_it_cannot_estimate_a_spread() {
    for args in [
        &["perf", "calibrate", "--builds", "2"][..],
        &["perf", "calibrate", "--builds", "3", "--sessions", "2"],
        &["perf", "calibrate", "--builds", "3", "--from-run", "x.json"],
    ] {
        let o = xtask_env(args, &[]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        let line = err.lines().find(|l| l.starts_with("error")).unwrap_or("");
        assert!(line.contains("--builds"), "{args:?}: {err}");
    }
}
