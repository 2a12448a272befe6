//! `vector_query`'s engines and `server_load` as a user runs them: the
//! xtask binary, a small real corpus, the release-built workloads process
//! and the real model. A server engine that cannot be had is skipped, with
//! its reason in the output and in the baseline, never silently.

#[path = "../../perf-workloads/tests/common/fake_chroma.rs"]
mod fake_chroma;
mod support;

use std::{path::Path, process::Output};

use perf_contract::{plan::WorkloadName, schema::Baseline};
use support::{small_corpus, stderr, xtask};

/// The shortest real run on `corpus` into `out`, then `extra`.
fn run(corpus: &Path, out: &Path, extra: &[&str]) -> Output {
    support::xtask_args(&support::quick_baseline(corpus, out, extra))
}

/// `vector_query` on `engines` at `sizes`, Chroma at `chroma_url`.
fn vector_args<'a>(engines: &[&'a str], sizes: &[&'a str], chroma_url: &'a str) -> Vec<&'a str> {
    let mut v = vec!["--workload", "vector_query"];
    for e in engines {
        v.extend(["--vector-engine", e]);
    }
    for n in sizes {
        v.extend(["--vector-size", n]);
    }
    v.extend(["--chroma-url", chroma_url]);
    v
}

#[test]
fn credentials_in_the_chroma_url_are_never_shown_or_written() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = small_corpus(dir.path());
    let out = dir.path().join("X.json");
    let started = std::time::SystemTime::now();
    let password = "s3cr3tPW";
    let url = format!("http://user:{password}@127.0.0.1:9/");
    let vector = vector_args(&["usearch", "chroma"], &["200"], &url);
    let mut dry = vector.clone();
    dry.push("--dry-run");
    let o = run(&corpus, &out, &dry);
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(shown.contains("http://user:***@127.0.0.1:9/"), "{shown}");
    assert!(!shown.contains(password));

    // Nobody listens on port 9: the engine is skipped, its note names the
    // server without the password, and no file of the run holds it.
    let o = run(&corpus, &out, &vector);
    let printed = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(o.status.success(), "{printed}");
    assert!(printed.contains("chroma: skipped:"), "{printed}");
    assert!(printed.contains("user:***@127.0.0.1:9"), "{printed}");
    assert!(!printed.contains(password), "{printed}");
    assert!(out.is_file());
    support::assert_no_file_holds(password, &[dir.path()], started);
}

#[test]
fn a_malformed_chroma_url_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = small_corpus(dir.path());
    let out = dir.path().join("b.json");
    for bad in ["127.0.0.1:8000", "http://host:port", "http://"] {
        let o = run(&corpus, &out, &vector_args(&["chroma"], &["200"], bad));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("--chroma-url"), "{bad}: {err}");
        assert_eq!(err.lines().count(), 1, "{bad}: {err}");
        assert!(!out.exists(), "{bad}: nothing written");
    }
}

#[test]
fn an_unreachable_chroma_is_skipped_with_its_reason_and_the_rest_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = small_corpus(dir.path());
    let out = dir.path().join("b.json");
    // Port 9 (discard) has no HTTP server on loopback.
    let o = run(
        &corpus,
        &out,
        &vector_args(&["usearch", "chroma"], &["200"], "http://127.0.0.1:9"),
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let all = format!("{}{err}", String::from_utf8_lossy(&o.stdout));
    assert!(all.contains("chroma: skipped:"), "skip not shown:\n{all}");

    let b = Baseline::load(&out).unwrap();
    let vq = &b.workloads[&WorkloadName::VectorQuery];
    let skip = vq
        .notes
        .iter()
        .find(|n| n.starts_with("chroma: skipped:"))
        .unwrap_or_else(|| panic!("no skip note in {:?}", vq.notes));
    assert!(skip.contains("127.0.0.1:9"), "{skip}");
    assert!(!skip.contains('\n'));
    // The small corpus has a few dozen chunks: the rest of the 200 are
    // real chunks of the toolchain's other docs, said so in the notes.
    assert!(
        vq.notes
            .iter()
            .any(|n| n.starts_with("scaling vectors: 200 real")),
        "{:?}",
        vq.notes
    );
    for name in [
        "usearch.n200.k10.latency",
        "usearch.n200.k5.recall",
        "usearch.n200.c2.qps",
        "usearch.n200.bytes_per_vector",
        "sweep.m16.ef64.recall_at_10",
    ] {
        assert!(vq.metrics.contains_key(name), "{name} missing");
    }
    assert!(!vq.metrics.keys().any(|k| k.as_str().starts_with("chroma.")));
    let recall = &vq.metrics["usearch.n200.k10.recall"];
    assert_eq!(recall.summary.count, 54, "one recall per question");
    assert!(recall.summary.mean > 0.9, "{}", recall.summary.mean);
}

#[test]
fn a_server_failing_mid_run_costs_its_figures_at_that_size_only() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = small_corpus(dir.path());
    let out = dir.path().join("b.json");
    // Loads fine, then every query fails: after the load was timed.
    let (url, seen) = fake_chroma::spawn(fake_chroma::Faults {
        query_status: Some(500),
        ..Default::default()
    });
    let o = run(
        &corpus,
        &out,
        &vector_args(&["chroma", "exact"], &["100", "200"], &url),
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        seen.lock().unwrap().adds > 0,
        "the load never reached the server"
    );
    let b = Baseline::load(&out).unwrap();
    let vq = &b.workloads[&WorkloadName::VectorQuery];
    for size in [100, 200] {
        let head = format!("chroma at {size} vectors: skipped: ");
        let note = vq
            .notes
            .iter()
            .find(|n| n.starts_with(&head))
            .unwrap_or_else(|| panic!("no {head:?} in {:?}", vq.notes));
        assert!(note.contains("HTTP 500 InternalError: boom"), "{note}");
        assert!(!note.contains('\n'), "{note}");
        assert!(err.contains(&head), "not shown:\n{err}");
        assert!(vq
            .metrics
            .contains_key(format!("exact.n{size}.k10.latency").as_str()));
    }
    // Over the corpus too: its loads were timed, its searches failed.
    let corpus = "chroma over the corpus: stopped: ";
    let note = vq.notes.iter().find(|n| n.starts_with(corpus));
    assert!(
        note.is_some_and(|n| n.contains("HTTP 500")),
        "{:?}",
        vq.notes
    );
    for name in ["exact.latency", "exact.recall_at_5", "exact.build_time"] {
        assert!(vq.metrics.contains_key(name), "{name} missing");
    }
    // Its load was timed before the queries failed: no half of its figures.
    assert!(
        !vq.metrics.keys().any(|k| k.as_str().starts_with("chroma.")),
        "{:?}",
        vq.metrics.keys().collect::<Vec<_>>()
    );
}

#[test]
fn server_load_without_servers_says_what_it_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = small_corpus(dir.path());
    let out = dir.path().join("b.json");
    let o = run(
        &corpus,
        &out,
        &[
            "--workload",
            "server_load",
            "--chroma-url",
            "http://127.0.0.1:9",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let b = Baseline::load(&out).unwrap();
    let notes = &b.workloads[&WorkloadName::ServerLoad].notes;
    for target in ["chroma", "openai", "rag"] {
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with(&format!("{target}: skipped:"))),
            "{target} not skipped: {notes:?}"
        );
    }
    assert!(
        notes.iter().any(|n| n.contains("--openai-url")),
        "{notes:?}"
    );
}

#[test]
fn an_unknown_vector_engine_is_refused_by_name() {
    let o = xtask(&["perf", "baseline", "--vector-engine", "qdrant", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unknown vector engine `qdrant`"),
        "{}",
        stderr(&o)
    );
}
