//! Deterministic mode end to end: a baseline with callgrind instruction
//! counts, a clean instruction check that passes with counts all but equal
//! to the baseline's, and an injected slowdown (a fixed loop in the embed
//! stage) that fails it. Small corpus and three questions: valgrind runs the
//! model some 300x slower than natively.

mod support;

use std::{fs, path::Path, process::Output};

use perf_contract::{plan::WorkloadName, schema::Baseline};
use support::{small_corpus, xtask};

fn run(cmd: &str, corpus: &Path, queries: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "perf",
        cmd,
        "--quick",
        "--workload",
        "rag_query",
        "--corpus",
        corpus.to_str().unwrap(),
        "--queries",
        queries.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    xtask(&args)
}

fn changes(report: &serde_json::Value) -> Vec<(String, f64, String)> {
    report["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["metric"].as_str().unwrap().to_string(),
                c["change"]["change_pct"].as_f64().unwrap_or(f64::NAN),
                c["change"]["verdict"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn instruction_counts_repeat_and_catch_an_injected_slowdown() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = small_corpus(dir.path());
    let queries = dir.path().join("queries.txt");
    fs::write(
        &queries,
        "How does ownership work?\nWhat is a mutex?\nHow do threads share state?\n",
    )
    .unwrap();
    let baseline = dir.path().join("baseline.json");
    let b = baseline.to_str().unwrap();

    let o = run(
        "baseline",
        &corpus,
        &queries,
        &["--instructions", "--output", b],
    );
    assert!(o.status.success());
    let recorded = Baseline::load(&baseline).unwrap();
    let counts =
        &recorded.workloads[&WorkloadName::RagQuery].metrics["query.callgrind_instructions"];
    assert_eq!(counts.samples.len(), 3, "one count per question");
    assert!(
        counts.summary.median > 1e6,
        "a question runs the model: {}",
        counts.summary.median
    );
    assert!(recorded.context.counting.contains("callgrind"));

    let check = [
        "--mode",
        "instructions",
        "--format",
        "json",
        "--baseline",
        b,
    ];
    let clean = run("check", &corpus, &queries, &check);
    assert_eq!(clean.status.code(), Some(0), "an unchanged tree passes");
    let report: serde_json::Value = serde_json::from_slice(&clean.stdout).unwrap();
    let clean_changes = changes(&report);
    assert!(!clean_changes.is_empty());
    for (metric, pct, _) in &clean_changes {
        assert!(
            metric.ends_with("callgrind_instructions"),
            "only counts are judged: {metric}"
        );
        // Allocation addresses and hash seeds move a few code paths; 10
        // clean checks on the development VM moved at most 0.02%.
        assert!(pct.abs() < 2.0, "{metric} moved {pct}% on a clean run");
    }

    // 20 ms worth of native loop per question: about 80 million extra
    // instructions on top of ~85 million.
    let mut slow_args = check.to_vec();
    slow_args.extend(["--inject-delay", "embed:20000"]);
    let slow = run("check", &corpus, &queries, &slow_args);
    assert_eq!(
        slow.status.code(),
        Some(1),
        "the injected work fails the gate"
    );
    let report: serde_json::Value = serde_json::from_slice(&slow.stdout).unwrap();
    assert!(
        changes(&report)
            .iter()
            .any(|(m, _, v)| m == "query.callgrind_instructions" && v == "regressed"),
        "{report}"
    );
}
