//! `cargo xtask perf profile` end to end on a small real corpus: the files
//! per workload, a `.pb` that `go tool pprof` accepts (when Go is
//! installed), the ranked bottlenecks, and the bad-input cases.

mod support;

use std::{fs, process::Command};

use perf_profile::{Bottleneck, ProfileSummary};
use support::{small_corpus, xtask};

#[test]
fn profiles_workloads_and_ranks_bottlenecks() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = small_corpus(dir.path());
    let out = dir.path().join("profile");
    let o = xtask(&[
        "perf",
        "profile",
        "rag_query",
        "vector_query",
        "--quick",
        "--iterations",
        "1",
        "--warmup",
        "0",
        "--corpus",
        corpus.to_str().unwrap(),
        "--output-dir",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("bottlenecks") && stdout.contains("flamegraph.svg"),
        "{stdout}"
    );

    for workload in ["rag_query", "vector_query"] {
        let svg = fs::read_to_string(out.join(workload).join("flamegraph.svg")).unwrap();
        assert!(svg.contains("<svg"), "{workload}: not an SVG");
        let top = fs::read_to_string(out.join(workload).join("top.txt")).unwrap();
        assert!(top.contains("flat%") && top.contains("cum%"), "{top}");
        assert!(out.join(workload).join("profile.pb").is_file());
    }
    let summary: ProfileSummary =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    // The digest `perf report` reads where no profile folder exists, in
    // the run's folder (a run into a folder of its own commits nothing).
    let digest: perf_report::report::profile_digest::ProfileDigest =
        serde_json::from_str(&fs::read_to_string(out.join("profile.json")).unwrap()).unwrap();
    assert_eq!(digest.summary.bottlenecks.len(), summary.bottlenecks.len());
    assert!(digest.family_shares.contains_key("rag_query"), "{digest:?}");
    let rag = summary
        .workloads
        .iter()
        .find(|w| w.workload == "rag_query")
        .unwrap();
    let stages: Vec<&str> = rag.stages.iter().map(|s| s.stage.as_str()).collect();
    assert_eq!(
        stages,
        [
            "tokenize",
            "embed",
            "search",
            "fetch_parents",
            "assemble_context"
        ]
    );
    let embed = &rag.stages[1];
    assert!(
        embed.cpu_samples > 0 && embed.alloc.allocations > 0,
        "{embed:?}"
    );

    let bottlenecks: Vec<Bottleneck> =
        serde_json::from_str(&fs::read_to_string(out.join("bottlenecks.json")).unwrap()).unwrap();
    assert!((1..=5).contains(&bottlenecks.len()));
    assert_eq!(bottlenecks[0].rank, 1);
    assert!(bottlenecks.windows(2).all(|w| w[0].score >= w[1].score));
    // The model's forward pass is where a RAG query spends its time.
    assert!(
        bottlenecks
            .iter()
            .any(|b| b.workload == "rag_query" && b.stage == "embed"),
        "{bottlenecks:?}"
    );

    // The protobuf is what pprof's own tools read.
    if Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let pb = out.join("rag_query/profile.pb");
        let o = Command::new("go")
            .args(["tool", "pprof", "-top"])
            .arg(&pb)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "go tool pprof rejected {}: {}",
            pb.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    } else {
        // CI installs go: there a missing go is a failure, not a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "go is not installed, and CI must run `go tool pprof -top`"
        );
        eprintln!("go is not installed: skipping `go tool pprof -top` (the .ci/run script installs golang-go)");
    }
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let o = xtask(&["perf", "profile", "rag"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown workload `rag`"));

    let o = xtask(&[
        "perf",
        "profile",
        "--output-dir",
        "/proc/no-such-place/profile",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("cannot create profile folder /proc/no-such-place/profile"),
        "{err}"
    );
}
