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

    // A watched metric the workload does not report is refused once the
    // first round has named its metrics, not waited for until --max-time.
    let typo = compare(&["--until-conclusive", "--watch", "rag_query.latncy"]);
    let err = stderr(&typo);
    assert_eq!(typo.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--watch rag_query.latncy: the rag_query workload reports no such metric; closest: rag_query.latency"),
        "{err}"
    );

    // Beyond the planned rounds, a round measures only the workload still
    // awaited: rag_query keeps its three process pairs, vector_query
    // (watched, at a threshold no round reaches) gets more. The tests run
    // uncalibrated, where an absolute floor (5 µs) would raise that
    // threshold to what a few rounds conclude on: lifted.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("perf.toml");
    fs::write(&cfg, "[check]\nmin_abs_ms = 0.0\nmin_abs_us = 0.0\n").unwrap();
    let more = compare(&[
        "--config",
        cfg.to_str().unwrap(),
        "--workload",
        "vector_query",
        "--rounds",
        "3",
        "--until-conclusive",
        "--watch",
        "vector_query.hnsw.latency",
        "--threshold",
        "0.01",
        "--max-time",
        "20",
        "--format",
        "json",
    ]);
    // Identical code; at a 0.01% threshold the run's 5% family-wise false
    // alarm may flag some metric (exit 1), never nothing-comparable.
    assert!(
        matches!(more.status.code(), Some(1 | 3)),
        "{}",
        stderr(&more)
    );
    let j: serde_json::Value = serde_json::from_slice(&more.stdout).expect("json on stdout");
    let notes: Vec<&str> = j["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("rounds 4–") && n.contains("measured only vector_query")),
        "{notes:?}"
    );
    let runs = notes
        .iter()
        .find_map(|n| n.strip_prefix("runs: "))
        .expect("the runs are named");
    let base_run = runs.split(" and ").next().unwrap();
    let base: Baseline = serde_json::from_str(&fs::read_to_string(base_run).unwrap()).unwrap();
    let processes = |w: WorkloadName, m: &str| base.workloads[&w].metrics[m].processes.len();
    assert_eq!(processes(WorkloadName::RagQuery, "latency"), 3);
    assert!(processes(WorkloadName::VectorQuery, "hnsw.latency") > 3);
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

    // The one metric --until-conclusive waits for: named as
    // workload.metric, of a workload the compare runs, before any build.
    for (watch, says) in [
        ("latency", "--watch latency: name it as `workload.metric`"),
        (
            "rag_qeury.latency",
            "--watch rag_qeury.latency: unknown workload",
        ),
        (
            "embedding.native.ingest.chunks_per_s",
            "the compare does not run embedding (add --workload embedding)",
        ),
    ] {
        let o = xtask(&[
            "perf",
            "compare",
            "--quick",
            "--workload",
            "rag_query",
            "--until-conclusive",
            "--watch",
            watch,
        ]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{watch}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    let o = xtask(&["perf", "compare", "--quick", "--watch", "rag_query.latency"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--until-conclusive"), "{}", stderr(&o));
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

/// Runs of two commits are two builds: with this machine's spread between
/// builds calibrated (`perf calibrate --builds`), their interval includes
/// it and the note says so; without, the note says the interval leaves it
/// out; one commit on both sides gets neither.
#[test]
fn two_builds_get_the_calibrated_spread_between_builds() {
    use perf_report::build_spread::BuildSpread;
    let dir = tempfile::tempdir().unwrap();
    let calibrations = dir.path().join("calibration");
    fs::create_dir_all(&calibrations).unwrap();
    // Five rounds of four pairs, the candidate 1% slower, steadily.
    let side = |slower: f64, commit: &str| {
        let mut b = run_on("Test CPU", "");
        let samples: Vec<f64> = (0..20)
            .map(|i| (10.0 + f64::from(i % 4) * 0.01) * slower * (1.0 + 0.001 * f64::from(i / 4)))
            .collect();
        let m = b
            .workloads
            .get_mut(&WorkloadName::RagQuery)
            .unwrap()
            .metrics
            .get_mut("latency")
            .unwrap();
        m.samples = samples;
        m.processes = vec![4; 5];
        b.environment.git_commit = Some(commit.into());
        b
    };
    let (base, candidate) = (side(1.0, "aaaa"), side(1.01, "bbbb"));
    let (b, c) = (
        dir.path().join("base.json"),
        dir.path().join("candidate.json"),
    );
    base.save(&b).unwrap();
    candidate.save(&c).unwrap();
    let judge = |b: &Path, c: &Path| {
        let (b, c) = (b.display().to_string(), c.display().to_string());
        let env = [("PERF_CALIBRATION_DIR", Some(calibrations.to_str().unwrap()))];
        let o = support::xtask_env(
            &["perf", "compare", "--runs", &b, &c, "--format", "json"],
            &env,
        );
        let json: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
        let row = json["comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["metric"] == "latency")
            .unwrap()
            .clone();
        let ci = &row["change"]["ratio_ci"];
        let width = ci["high"].as_f64().unwrap() - ci["low"].as_f64().unwrap();
        (width, json["notes"].to_string())
    };
    let (narrow, notes) = judge(&b, &c);
    assert!(notes.contains("leaves out how far two builds"), "{notes}");

    let spread = BuildSpread::from_compares(
        vec![[("rag_query.latency".to_string(), (0.03, 0.001))].into(); 4],
        5,
        base.environment.clone(),
        base.machine_fingerprint.clone(),
        base.plan.profile,
        base.created_at,
    );
    let file = calibrations.join(format!("{}-builds.json", base.plan.profile));
    fs::write(&file, serde_json::to_string(&spread).unwrap()).unwrap();
    let (wide, notes) = judge(&b, &c);
    assert!(
        notes.contains("includes the spread between builds"),
        "{notes}"
    );
    assert!(wide > 3.0 * narrow, "{narrow} → {wide}");

    // One commit on both sides: one build, nothing added.
    let mut same = candidate.clone();
    same.environment.git_commit = Some("aaaa".into());
    same.save(&c).unwrap();
    let (one, notes) = judge(&b, &c);
    assert!(!notes.contains("two builds"), "{notes}");
    assert!(one < 2.0 * narrow, "{narrow} vs {one}");
}
