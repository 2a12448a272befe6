//! The regression suite (the seed's `test_baseline_regression`, in Rust):
//! record a quick baseline on this machine, check a clean second run against
//! it through the same comparison code as `cargo xtask perf check`, and
//! prove the gate fires: the same run with a measured delay injected into
//! one stage must fail.
//!
//! The baseline is recorded here rather than taken from the repository
//! because CI machines differ from the one that recorded the committed file.
//!
//! Only `rag_query` runs: the test is about the gate's logic, and
//! `vector_query`'s microsecond searches over cold caches moved by up to
//! ±35% between identical back-to-back runs of this test on the
//! development VM (12 clean pairs of its run files; `rag_query`'s latency
//! stayed within +14%), more than any threshold that keeps the injected
//! slowdown meaningful. That between-run drift is what `perf compare`'s
//! pairing removes; an unpaired check cannot.

mod support;

use std::{path::Path, process::Output};

use perf_contract::schema::Baseline;
use support::xtask;

/// The check as CI would run it, with a 25% threshold: the machine running
/// the suite is shared and its runs drift (up to ~20% over minutes on the
/// development VM), while the injected slowdown doubles the query, so the
/// test stays about the gate's logic rather than the machine's mood.
fn check(baseline: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "perf",
        "check",
        "--format",
        "json",
        "--threshold",
        "25",
        "--baseline",
        baseline.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    xtask(&args)
}

/// Asserts the gate did not flag anything: it passed (0), or it said
/// "inconclusive" (3) because a metric's spread in one of the two runs
/// hides a change of the threshold. On a shared 2-core machine a 2.6 ms
/// query can turn bimodal for a whole run (median 2.6 ms, 95% interval
/// of the median up to 3.6 ms; once in four full test runs): that is
/// the gate telling the truth about an unpaired comparison, the case
/// `perf compare` exists for. A regression (1) or an error (2) fails.
fn not_flagged(o: &Output, what: &str) -> serde_json::Value {
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: no JSON report ({e}): {}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    // Only what the gate judged as a change: the whole list of a quick
    // run is too long for a CI log to keep.
    let verdicts: Vec<String> = report["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            !matches!(
                c["change"]["verdict"].as_str(),
                Some("within_noise" | "informational") | None
            )
        })
        .map(|c| {
            let ch = &c["change"];
            format!(
                "{}.{} {} ({:+.1}%, n {}/{})",
                c["workload"].as_str().unwrap_or("?"),
                c["metric"].as_str().unwrap_or("?"),
                ch["verdict"],
                ch["change_pct"].as_f64().unwrap_or(f64::NAN),
                ch["n_baseline"],
                ch["n_current"],
            )
        })
        .collect();
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{what}: exit {:?}, verdicts {verdicts:?}",
        o.status.code()
    );
    assert!(
        !verdicts.iter().any(|v| v.contains(" \"regressed\" ")),
        "{what}: {verdicts:?}, notes {}",
        report["notes"]
    );
    match o.status.code() {
        Some(0) => assert_eq!(report["passed"], true, "{what}"),
        _ => eprintln!("{what}: inconclusive, not flagged: {verdicts:?}"),
    }
    report
}

/// The like-for-like refusals and the deterministic mode, on saved runs
/// (`--run-file`), so no workload runs.
fn saved_run_rules(dir: &Path, baseline: &Path) {
    // A baseline from another machine is refused unless allowed, then labelled.
    let mut foreign = Baseline::load(baseline).unwrap();
    foreign.machine_fingerprint =
        "Other CPU | 64 logical cores | 256 GiB | x86_64 | Other OS".into();
    let foreign_path = dir.join("foreign.json");
    foreign.save(&foreign_path).unwrap();
    let run = ["--run-file", baseline.to_str().unwrap()];
    let o = check(&foreign_path, &run);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--allow-foreign-baseline"));
    let o = check(&foreign_path, &[run[0], run[1], "--allow-foreign-baseline"]);
    let report = not_flagged(&o, "a foreign baseline, allowed");
    assert_eq!(report["foreign_baseline"], true);

    // Unlike settings are never compared.
    let mut unlike = Baseline::load(baseline).unwrap();
    unlike.plan.rag.top_k = 10;
    let unlike_path = dir.join("unlike.json");
    unlike.save(&unlike_path).unwrap();
    let o = check(&unlike_path, &run);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("rag settings changed"));

    // Deterministic mode: compares instruction counts where the machine has
    // hardware counters, and says why not where it has none.
    let recorded = Baseline::load(baseline).unwrap();
    let o = check(baseline, &[run[0], run[1], "--mode", "instructions"]);
    if recorded.context.counting.starts_with("time only") {
        assert_eq!(o.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("hardware instruction counter unavailable")
        );
    } else {
        assert_eq!(
            o.status.code(),
            Some(0),
            "a run compared with itself passes"
        );
    }
}

/// A quick baseline of `rag_query` recorded in `dir`: the check's tests
/// start from one of this machine.
fn quick_rag_baseline(dir: &Path) -> std::path::PathBuf {
    let baseline = dir.join("baseline.json");
    let o = xtask(&[
        "perf",
        "baseline",
        "--quick",
        "--workload",
        "rag_query",
        "--output",
        baseline.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    baseline
}

#[test]
fn clean_run_passes_and_injected_slowdown_fails() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = quick_rag_baseline(dir.path());
    let recorded = Baseline::load(&baseline).unwrap();
    let embed_ms = recorded.workloads[&perf_contract::plan::WorkloadName::RagQuery].metrics
        ["stage.embed"]
        .summary
        .median;

    saved_run_rules(dir.path(), &baseline);

    let clean = check(&baseline, &[]);
    let report = not_flagged(&clean, "an unchanged tree");
    // A fresh run beside a stored baseline says what its intervals omit.
    let unpaired = report["notes"].as_array().unwrap().iter().any(|n| {
        n.as_str()
            .unwrap()
            .starts_with("unpaired: the baseline was measured at ")
    });
    assert!(unpaired, "the session caveat: {}", report["notes"]);

    // The embed stage's median again as busy time: the query doubles, well
    // beyond 10% and beyond the between-run noise this machine's earlier
    // runs may have widened the threshold to.
    let delay_us = (embed_ms * 1000.0).max(5000.0) as u64;
    let inject = format!("embed:{delay_us}");
    let slow = check(&baseline, &["--inject-delay", &inject]);
    assert_eq!(
        slow.status.code(),
        Some(1),
        "an injected {delay_us} µs slowdown must fail the gate: {}",
        String::from_utf8_lossy(&slow.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&slow.stdout).unwrap();
    let regressed: Vec<String> = report["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"]["verdict"] == "regressed")
        .map(|c| {
            format!(
                "{}.{}",
                c["workload"].as_str().unwrap(),
                c["metric"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        regressed.contains(&"rag_query.stage.embed".to_string()),
        "{regressed:?}"
    );
    assert!(
        regressed.contains(&"rag_query.latency".to_string()),
        "{regressed:?}"
    );
    // Other metrics may also move on a busy machine; the gate's job here is
    // to catch the injected one, which the assertions above pin down.
    eprintln!("regressed with the injected delay: {regressed:?}");
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("regression confirmed")),
        "the suspect was re-run before calling it: {notes:?}"
    );
}

/// `check --paired`: the baseline's commit is built again and measured
/// beside this tree in lockstep rounds, so the verdict rests on pairs, as
/// `perf compare`'s; a baseline recorded from uncommitted changes names
/// no code to build and is refused in one line.
#[test]
fn a_paired_check_measures_the_baseline_commit_beside_this_tree() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = quick_rag_baseline(dir.path());
    // Recorded at HEAD from a clean tree, whatever state this checkout is
    // in: the test is about pairing, not about the tree it runs in.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&root)
        .output()
        .unwrap();
    let mut at_head = Baseline::load(&baseline).unwrap();
    at_head.environment.git_commit = Some(String::from_utf8(head.stdout).unwrap().trim().into());
    at_head.environment.git_dirty = Some(false);
    at_head.save(&baseline).unwrap();

    let paired = check(&baseline, &["--paired", "--quick"]);
    let report = not_flagged(&paired, "a paired check of this tree");
    let latency = report["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["workload"] == "rag_query" && c["metric"] == "latency")
        .expect("latency judged");
    assert_eq!(latency["change"]["basis"], "paired", "{latency}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("paired with the baseline's commit"),
        "{notes}"
    );

    let slow = check(
        &baseline,
        &["--paired", "--quick", "--inject-delay", "embed:5000"],
    );
    assert_eq!(
        slow.status.code(),
        Some(1),
        "a 5 ms slowdown fails a paired check: {}",
        String::from_utf8_lossy(&slow.stdout)
    );

    let mut dirty = Baseline::load(&baseline).unwrap();
    dirty.environment.git_dirty = Some(true);
    let dirty_path = dir.path().join("dirty.json");
    dirty.save(&dirty_path).unwrap();
    let o = check(&dirty_path, &["--paired", "--quick"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "cannot be built again: it was recorded from a working tree with uncommitted changes"
        ),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}
