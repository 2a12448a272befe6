//! `cargo xtask perf baseline` as a user runs it: the xtask binary, a small
//! real corpus, the release-built workloads process and the real model.
//! Bad inputs must fail with one line naming the culprit and leave the
//! baseline file alone.

mod support;

use std::{fs, path::Path, process::Output};

use perf_contract::{plan::WorkloadName, schema::Baseline};
use support::{small_corpus, stderr, xtask};

/// Asserts a failed run: exit code, one `error:` line containing `needle`,
/// and the sentinel baseline untouched.
fn assert_refused(o: &Output, code: i32, needle: &str, sentinel: &Path) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    let error_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(error_lines.len(), 1, "exactly one error line: {err}");
    assert!(error_lines[0].contains(needle), "`{needle}` not in: {err}");
    assert_eq!(
        fs::read_to_string(sentinel).unwrap(),
        "sentinel",
        "baseline untouched"
    );
}

#[test]
fn help_documents_every_flag() {
    let o = xtask(&["perf", "baseline", "--help"]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--quick",
        "--workload",
        "--iterations",
        "--warmup",
        "--corpus",
        "--max-chunks",
        "--queries",
        "--model-dir",
        "--threads",
        "--config",
        "--output",
        "--update",
        "--dry-run",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
}

#[test]
fn bad_inputs_fail_fast_with_one_line_and_touch_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.json");
    fs::write(&out, "sentinel").unwrap();
    let out_s = out.to_str().unwrap();
    let corpus = small_corpus(dir.path());
    let corpus_s = corpus.to_str().unwrap();

    let o = xtask(&[
        "perf",
        "baseline",
        "--update",
        "--output",
        out_s,
        "--corpus",
        "/no/such/dir",
    ]);
    assert_refused(
        &o,
        2,
        "corpus folder /no/such/dir (--corpus) does not exist",
        &out,
    );

    let o = xtask(&[
        "perf",
        "baseline",
        "--update",
        "--output",
        out_s,
        "--workload",
        "rag",
    ]);
    assert_eq!(o.status.code(), Some(2), "clap usage error");
    assert!(
        stderr(&o).contains("unknown workload `rag`"),
        "{}",
        stderr(&o)
    );

    let o = xtask(&[
        "perf",
        "baseline",
        "--update",
        "--output",
        out_s,
        "--corpus",
        corpus_s,
        "--iterations",
        "0",
    ]);
    assert_refused(&o, 2, "--iterations", &out);

    let o = xtask(&[
        "perf",
        "baseline",
        "--update",
        "--output",
        out_s,
        "--queries",
        "/no/q.txt",
    ]);
    assert_refused(&o, 2, "query file /no/q.txt", &out);

    let bad_toml = dir.path().join("bad.toml");
    fs::write(&bad_toml, "[corpus]\nchunk_size = \"big\"\n").unwrap();
    let o = xtask(&[
        "perf",
        "baseline",
        "--update",
        "--output",
        out_s,
        "--config",
        bad_toml.to_str().unwrap(),
    ]);
    assert_refused(&o, 2, "bad.toml (line 2)", &out);

    // A path that is not UTF-8 (a Latin-1 folder name) is one line, not a
    // panic in reading the command line or in writing the plan.
    use std::{ffi::OsStr, os::unix::ffi::OsStrExt};
    let o = support::xtask_command()
        .args([
            "perf", "baseline", "--update", "--output", out_s, "--corpus",
        ])
        .arg(OsStr::from_bytes(b"docs-\xff"))
        .output()
        .unwrap();
    assert_refused(&o, 2, "not UTF-8 text", &out);
}

#[test]
fn dry_run_prints_the_resolved_plan() {
    let o = xtask(&[
        "perf",
        "baseline",
        "--quick",
        "--dry-run",
        "--workload",
        "embedding",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan: perf_contract::plan::Plan = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan.workloads, vec![WorkloadName::Embedding]);
    assert_eq!(plan.corpus.max_chunks, Some(300));
}

#[test]
fn records_a_baseline_and_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = small_corpus(dir.path());
    let out = dir.path().join("baselines/b.json");
    let args = |extra: &[&str]| support::quick_baseline(&corpus, &out, extra);
    let run = |extra: &[&str]| {
        let a = args(extra);
        xtask(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = Baseline::load(&out).unwrap();
    assert_eq!(first.workloads.len(), WorkloadName::defaults().len());
    let rag = &first.workloads[&WorkloadName::RagQuery].metrics["latency"];
    assert_eq!(
        rag.summary.count, 54,
        "one pass over the 54 default questions"
    );
    assert!(rag.summary.median > 0.0);
    assert_eq!(first.context.corpus.as_ref().unwrap().files, 3);
    assert!(first.environment.logical_cores >= 1);
    assert!(first.environment.rustc.starts_with("rustc "));
    assert_eq!(first.context.models[0].weights_sha256.len(), 64);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("rag_query") && stdout.contains("median"),
        "summary table printed:\n{stdout}"
    );

    // Without --update the existing baseline stays as it was.
    let before = fs::read_to_string(&out).unwrap();
    let o = run(&["--workload", "vector_query"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&out).unwrap(), before);
    assert!(String::from_utf8_lossy(&o.stdout).contains("kept the existing baseline"));

    // With --update it is replaced and the old one moves to history/.
    let o = run(&["--workload", "vector_query", "--update"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let now = Baseline::load(&out).unwrap();
    assert_eq!(
        now.workloads.keys().copied().collect::<Vec<_>>(),
        vec![WorkloadName::VectorQuery]
    );
    let history: Vec<_> = fs::read_dir(dir.path().join("baselines/history"))
        .unwrap()
        .collect();
    assert_eq!(history.len(), 1);
    let old = history[0].as_ref().unwrap().path();
    assert_eq!(fs::read_to_string(old).unwrap(), before);
}

#[test]
fn failures_inside_the_workloads_process_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.json");
    fs::write(&out, "sentinel").unwrap();
    let out_s = out.to_str().unwrap();

    // A folder with no documents in it.
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    fs::write(empty.join("logo.png"), b"\x89PNG").unwrap();
    let o = xtask(&[
        "perf",
        "baseline",
        "--update",
        "--output",
        out_s,
        "--corpus",
        empty.to_str().unwrap(),
    ]);
    assert_refused(&o, 2, "has no .md, .txt or .html file", &out);

    // A model folder whose weights are not safetensors.
    let corpus = small_corpus(dir.path());
    let model = dir.path().join("model");
    fs::create_dir(&model).unwrap();
    fs::write(model.join("model.safetensors"), b"not a model").unwrap();
    fs::write(model.join("tokenizer.json"), b"{}").unwrap();
    fs::write(model.join("config.json"), b"{}").unwrap();
    let o = xtask(&[
        "perf",
        "baseline",
        "--update",
        "--output",
        out_s,
        "--corpus",
        corpus.to_str().unwrap(),
        "--model-dir",
        model.to_str().unwrap(),
    ]);
    assert_refused(&o, 2, "embedding model at", &out);
}

/// `perf baseline --update --output OUT --corpus CORPUS EXTRA...`.
fn refused_run(out: &Path, corpus: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "perf",
        "baseline",
        "--quick",
        "--update",
        "--output",
        out.to_str().unwrap(),
        "--corpus",
        corpus.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    xtask(&args)
}

/// Inputs the second bad-input matrix found accepted: each is refused
/// before anything is built or measured, naming the flag as typed.
#[test]
fn impossible_settings_are_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.json");
    fs::write(&out, "sentinel").unwrap();
    let corpus = small_corpus(dir.path());
    let cases: [(&[&str], &str); 6] = [
        (&["--threads", "100000"], "--threads"),
        (
            &["--workload", "vector_query", "--vector-size", "50000000"],
            "--vector-size",
        ),
        (
            &["--workload", "vector_query", "--vector-size", "0"],
            "--vector-size",
        ),
        (&["--max-chunks", "0"], "--max-chunks"),
        (
            &["--instructions", "--workload", "server_load"],
            "--instructions counts the retrieval workloads",
        ),
        (
            &[
                "--workload",
                "vector_query",
                "--chroma-url",
                "localhost:8000",
            ],
            "--chroma-url",
        ),
    ];
    for (extra, needle) in cases {
        let start = std::time::Instant::now();
        let o = refused_run(&out, &corpus, extra);
        assert_refused(&o, 2, needle, &out);
        // Refused up front: no build, no embedding, no server.
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{extra:?} took {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn an_output_folder_is_refused_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = small_corpus(dir.path());
    let folder = dir.path().join("out");
    fs::create_dir(&folder).unwrap();
    for update in [false, true] {
        let mut extra = vec!["--workload", "vector_query"];
        if !update {
            extra.push("--iterations");
            extra.push("1");
        }
        let o = refused_run(&folder, &corpus, &extra);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("is a folder"), "{err}");
        assert!(!err.contains("measur"), "refused before measuring: {err}");
        assert_eq!(fs::read_dir(&folder).unwrap().count(), 0);
    }
}

#[test]
fn an_unreadable_baseline_that_is_kept_is_called_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.json");
    fs::write(&out, "{ not a baseline").unwrap();
    let corpus = small_corpus(dir.path());
    let o = support::xtask_args(&support::quick_baseline(
        &corpus,
        &out,
        &["--workload", "vector_query"],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    let kept = said
        .lines()
        .find(|l| l.starts_with("kept the existing baseline"))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(kept.contains("unreadable"), "{kept}");
    assert_eq!(fs::read_to_string(&out).unwrap(), "{ not a baseline");
}
