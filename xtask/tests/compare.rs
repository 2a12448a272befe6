//! The regression suite through `perf compare`: two builds of the same code,
//! run in lockstep and judged pair by pair, pass; the same with a slowdown
//! injected into the candidate fails, names the stage that moved and, as
//! in CI, explains itself with a function-level diff of both builds'
//! profiles. Bad input is refused in one line before anything is built;
//! saved runs of two machines are not judged against each other; two
//! compares at once take turns at the one checkout.

mod support;

use std::{
    fs::{self, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, Output, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use perf_contract::{
    plan::WorkloadName,
    schema::{Baseline, Better, Unit},
};
use support::{stderr, xtask};

fn compare(extra: &[&str]) -> Output {
    let mut args = vec![
        "perf",
        "compare",
        "HEAD",
        "HEAD",
        "--quick",
        "--workload",
        "rag_query",
    ];
    args.extend_from_slice(extra);
    xtask(&args)
}

fn verdicts(o: &Output) -> Vec<(String, String, String)> {
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json on stdout");
    j["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!(
                    "{}.{}",
                    c["workload"].as_str().unwrap(),
                    c["metric"].as_str().unwrap()
                ),
                c["change"]["verdict"].as_str().unwrap_or("").to_string(),
                c["change"]["basis"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The project's own compiled workspace crates and their modification
/// times: a compare build must never replace them (it once did, sharing the
/// target folder, and the next build failed with E0460).
fn own_rlibs() -> Vec<(std::path::PathBuf, std::time::SystemTime)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let mut found: Vec<_> = std::fs::read_dir(target.join("release").join("deps"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("libperf_") && name.ends_with(".rlib")
        })
        .map(|e| (e.path(), e.metadata().unwrap().modified().unwrap()))
        .collect();
    found.sort();
    found
}

#[test]
fn identical_builds_pass_and_an_injected_slowdown_fails_and_explains_itself() {
    let own_before = own_rlibs();
    assert!(!own_before.is_empty(), "the tests' own build left rlibs");
    // The same commit on both sides: one build, run twice in lockstep.
    let same = compare(&["--format", "json"]);
    assert_eq!(
        own_rlibs(),
        own_before,
        "building a compared revision must leave the project's artifacts alone"
    );
    assert!(
        matches!(same.status.code(), Some(0 | 3)),
        "identical code must not fail: {}",
        stderr(&same)
    );
    let rows = verdicts(&same);
    let latency = rows
        .iter()
        .find(|(m, ..)| m == "rag_query.latency")
        .expect("latency compared");
    assert_eq!(latency.2, "paired", "latency is judged from pairs");
    assert!(
        rows.iter().all(|(_, v, _)| v != "regressed"),
        "nothing regresses between identical builds: {rows:?}"
    );
    assert!(
        rows.iter()
            .any(|(m, ..)| m == "rag_query.query.allocations"),
        "allocations per query are reported and judged: {rows:?}"
    );

    // 5 ms of busy time in the candidate's embed stage (about a third of a
    // quick query): far beyond the default 10% threshold.
    let slow = compare(&["--format", "markdown", "--inject-delay", "embed:5000"]);
    assert_eq!(slow.status.code(), Some(1), "{}", stderr(&slow));
    let out = String::from_utf8_lossy(&slow.stdout);
    let regressed_row = |metric: &str| {
        out.lines().any(|l| {
            l.starts_with(&format!("| rag_query | {metric} |")) && l.contains("| regressed |")
        })
    };
    assert!(regressed_row("latency"), "{out}");
    assert!(regressed_row("stage.embed"), "{out}");
    assert!(
        out.contains("rag_query stages, base → candidate:") && out.contains("stage.embed"),
        "the stage breakdown names the stage that moved: {out}"
    );
    // CI (the harness sets CI=1) explains a regression: both builds
    // profiled, the functions ranked, a differential flamegraph written.
    assert!(out.contains("### Why"), "{out}");
    let svg = out
        .split('`')
        .find(|s| s.ends_with("rag_query-diff.svg"))
        .unwrap_or_else(|| panic!("no differential flamegraph named: {out}"));
    let text = std::fs::read_to_string(svg).unwrap();
    assert!(text.contains("<svg"), "{svg} is an SVG");
}

#[test]
fn bad_revisions_and_thresholds_are_refused_in_one_line() {
    let o = xtask(&["perf", "compare", "no-such-revision", "--quick"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("revision `no-such-revision` is not a commit"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let o = xtask(&["perf", "compare", "--quick", "--threshold=-5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--threshold"), "{}", stderr(&o));

    // A misspelt workload in a threshold key, refused before any build
    // (it used to be ignored: the metric kept the default threshold).
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("perf.toml");
    std::fs::write(&cfg, "[check.thresholds]\n\"rag_qeury.latency\" = 5.0\n").unwrap();
    let o = xtask(&[
        "perf",
        "compare",
        "--quick",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("\"rag_qeury.latency\" names no workload"),
        "{err}"
    );
    assert!(err.contains("closest: rag_query"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// A saved run recorded on a CPU named `cpu_model` with processor
/// signature `signature`.
fn run_on(cpu_model: &str, signature: &str) -> Baseline {
    let mut b = perf_contract::fixture::baseline(&[(
        WorkloadName::RagQuery,
        "latency",
        Unit::Milliseconds,
        Better::Lower,
        (0..20).map(|i| 10.0 + f64::from(i % 3) * 0.01).collect(),
    )]);
    b.environment.cpu_model = cpu_model.into();
    b.environment.cpu_signature = signature.into();
    b.machine_fingerprint = b.environment.fingerprint();
    b
}

/// `perf compare --runs` of `base` and `candidate`, saved in `dir`.
fn rejudge(dir: &Path, base: &Baseline, candidate: &Baseline) -> (Output, String, String) {
    let (b, c) = (dir.join("a-base.json"), dir.join("a-candidate.json"));
    base.save(&b).unwrap();
    candidate.save(&c).unwrap();
    let (b, c) = (b.display().to_string(), c.display().to_string());
    (xtask(&["perf", "compare", "--runs", &b, &c]), b, c)
}

#[test]
fn saved_runs_of_two_machines_are_not_judged() {
    let dir = tempfile::tempdir().unwrap();
    let here = run_on("Test CPU", "");
    let there = run_on("Other CPU", "");
    let (o, b, c) = rejudge(dir.path(), &here, &there);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "one error line: {err}");
    for needle in [
        &b,
        &c,
        &here.machine_fingerprint,
        &there.machine_fingerprint,
    ] {
        assert!(
            lines[0].contains(needle.as_str()),
            "`{needle}` not in: {err}"
        );
    }

    // One model name, two processor generations: another machine too.
    let (o, ..) = rejudge(
        dir.path(),
        &run_on("Test CPU", "family 6 model 143; avx512f amx_tile"),
        &run_on("Test CPU", "family 6 model 85; avx512f"),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("processor") && err.contains("amx_tile"),
        "{err}"
    );

    // Two runs of one machine are judged.
    let (o, ..) = rejudge(dir.path(), &here, &here.clone());
    assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
}

/// Two compares at once take turns at the one checkout: while one holds
/// the build lock (held here as a building compare holds it), another says
/// whom it is waiting for, and waits.
#[test]
fn a_second_compare_waits_for_the_one_building() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lock_path = root.join("target/compare/build.lock");
    fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let mut lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .unwrap();
    lock.lock().unwrap();
    lock.set_len(0).unwrap();
    writeln!(lock, "{}", std::process::id()).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["perf", "compare", "HEAD", "HEAD", "--quick"])
        .args(["--workload", "rag_query"])
        .env("CI", "1")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("PERF_CALIBRATION_DIR", support::no_calibration())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let waiting = format!(
        "waiting for another perf compare (pid {}) to finish building",
        std::process::id()
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(&waiting) => break true,
            Ok(line) => seen.push(line),
            Err(_) => break false,
        }
    };
    std::thread::sleep(Duration::from_secs(2));
    let still_waiting = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(found, "no `{waiting}` line; stderr: {seen:#?}");
    assert!(still_waiting, "it waits while the lock is held");
}
