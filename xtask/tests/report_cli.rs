//! `cargo xtask perf report` as a user runs it: the committed baseline and
//! history, a small profile folder, and the bad-input cases (one error line
//! naming the file, exit code 1, nothing written).

mod support;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Output,
};

use perf_profile::{AllocStats, Bottleneck, ProfileSummary, StageProfile, WorkloadProfile};
use support::{stderr, xtask};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A profile folder as `perf profile` writes it, with one stage and one
/// flamegraph: enough for sections 6 and 7.
fn write_profile(dir: &Path) {
    let embed = StageProfile {
        stage: "embed".into(),
        ops: 54,
        passes: 1,
        wall_ms_total: 1000.0,
        wall_ms_median: 18.0,
        cpu_samples: 150,
        alloc: AllocStats::default(),
        top_functions: vec![("gemm_common::gemm::gemm_basic_generic".into(), 100)],
    };
    let bottleneck = Bottleneck {
        rank: 1,
        workload: "rag_query".into(),
        stage: "embed".into(),
        score: 0.99,
        wall_share: 0.99,
        cpu_share: 0.99,
        alloc_share: 0.97,
        functions: vec!["gemm_common::gemm::gemm_basic_generic".into()],
        reason: "99% of rag_query wall time".into(),
    };
    let summary = ProfileSummary {
        frequency_hz: 997,
        workloads: vec![WorkloadProfile {
            workload: "rag_query".into(),
            wall_s_plain: 10.0,
            wall_s_profiled: 10.1,
            overhead_pct: 1.0,
            cpu_samples: 160,
            peak_rss_bytes: None,
            alloc: AllocStats::default(),
            files: vec![],
            stages: vec![embed],
        }],
        bottlenecks: vec![bottleneck.clone()],
    };
    fs::create_dir_all(dir.join("rag_query")).unwrap();
    fs::write(dir.join("rag_query/flamegraph.svg"), "<svg/>").unwrap();
    // Every stack of the workload: GELU's 30 samples sit below functions
    // the stage's top list never names.
    fs::write(
        dir.join("rag_query/stacks.folded"),
        "main;embed;gemm_common::gemm::gemm_basic_generic 100
\
         main;embed;f32_vec<candle_core::op::GeluErf>;erf_f32;expf 30
\
         main;search;unum::usearch::index_gt::search 30
",
    )
    .unwrap();
    fs::write(
        dir.join("summary.json"),
        serde_json::to_string(&summary).unwrap(),
    )
    .unwrap();
    fs::write(
        dir.join("bottlenecks.json"),
        serde_json::to_string(&vec![bottleneck]).unwrap(),
    )
    .unwrap();
}

struct Case {
    _tmp: tempfile::TempDir,
    baseline: PathBuf,
    history: PathBuf,
    profiles: PathBuf,
    output: PathBuf,
}

/// Copies of the committed baseline and history, and a profile folder.
fn case() -> Case {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let baseline = d.join("baseline.json");
    fs::copy(
        root().join("baselines/performance_baselines.json"),
        &baseline,
    )
    .unwrap();
    let history = d.join("history");
    fs::create_dir_all(&history).unwrap();
    for entry in fs::read_dir(root().join("baselines/history")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, history.join(path.file_name().unwrap())).unwrap();
    }
    let profiles = d.join("profile");
    write_profile(&profiles);
    let output = d.join("out/performance_analysis.md");
    Case {
        _tmp: tmp,
        baseline,
        history,
        profiles,
        output,
    }
}

fn report(c: &Case) -> Output {
    report_with(c, &[])
}

/// `perf report` on the case's files, then `extra`.
fn report_with(c: &Case, extra: &[&str]) -> Output {
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let mut args = vec![
        "perf".to_string(),
        "report".into(),
        "--baseline".into(),
        s(&c.baseline),
        "--history".into(),
        s(&c.history),
        "--profiles".into(),
        s(&c.profiles),
        "--output".into(),
        s(&c.output),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    xtask(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn help_documents_every_flag() {
    let o = xtask(&["perf", "report", "--help"]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--baseline",
        "--profiles",
        "--history",
        "--output",
        "--run",
        "--quick",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
}

#[test]
fn writes_the_report_and_its_charts() {
    let c = case();
    let o = report(&c);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = fs::read_to_string(&c.output).unwrap();
    for n in 1..=8 {
        assert!(md.contains(&format!("\n## {n}. ")), "section {n} missing");
    }
    assert!(
        md.contains("](../profile/rag_query/flamegraph.svg)"),
        "relative flamegraph link"
    );
    assert!(
        md.contains("| 2 | matrix multiply | #1 `rag_query` / `embed` | 62.5% |"),
        "an opportunity from the bottleneck: {md}"
    );
    // Shares from every stack: GELU is 30 of 160 samples, none of them
    // among the stage's top functions; nothing carried out yet.
    assert!(
        md.contains("| 1 | GELU (erf) | #1 `rag_query` / `embed` | 18.8% |"),
        "{md}"
    );
    assert!(md.contains("| – |"), "measured column: {md}");
    assert!(
        md.contains("Carried out: none recorded yet"),
        "no optimisations file beside the baseline: {md}"
    );
    let charts = c.output.parent().unwrap().join("charts");
    for chart in [
        "latency_cdf_rag_query",
        "embedding_throughput_vs_batch",
        "rag_query_stages",
        "trend",
    ] {
        let svg = fs::read_to_string(charts.join(format!("{chart}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{chart}");
    }
    // The terminal shows the same figures.
    assert!(
        stdout.contains("headline:") && stdout.contains("RAG query latency p50"),
        "{stdout}"
    );
    assert!(stdout.contains("report written:"), "{stdout}");
    // Atomic writes leave no temporary files behind.
    let leftovers: Vec<_> = fs::read_dir(c.output.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn baseline_alone_renders_and_says_what_is_missing() {
    let c = case();
    fs::remove_dir_all(&c.profiles).unwrap();
    fs::remove_dir_all(&c.history).unwrap();
    let o = report(&c);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = fs::read_to_string(&c.output).unwrap();
    assert!(md.contains("run `cargo xtask perf profile`"), "{md}");
    assert!(
        md.contains("no earlier baseline of the full profile"),
        "{md}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("missing: no profile found at"), "{stdout}");
}

/// Corrupts `file`, runs the report, and checks the refusal.
fn assert_refused(c: &Case, file: &Path) {
    assert_refused_with(c, file, "{ \"not\": json");
}

/// Writes `text` to `file`, runs the report, and checks the refusal: one
/// error line naming the file, exit 2, nothing written. Returns the line.
fn assert_refused_with(c: &Case, file: &Path, text: &str) -> String {
    fs::write(file, text).unwrap();
    let o = report(c);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(
        lines[0].contains(&file.display().to_string()),
        "names {}: {err}",
        file.display()
    );
    assert!(!c.output.exists(), "no report written");
    assert!(!c.output.parent().unwrap().exists(), "no charts written");
    lines[0].to_string()
}

#[test]
fn corrupt_baseline_is_refused() {
    let c = case();
    let file = c.baseline.clone();
    assert_refused(&c, &file);
}

#[test]
fn corrupt_history_file_is_refused() {
    let c = case();
    let file = fs::read_dir(&c.history)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_refused(&c, &file);
}

#[test]
fn corrupt_profile_files_are_refused() {
    for name in ["summary.json", "bottlenecks.json"] {
        let c = case();
        let file = c.profiles.join(name);
        assert_refused(&c, &file);
    }
}

#[test]
fn missing_baseline_is_refused() {
    let c = case();
    fs::remove_file(&c.baseline).unwrap();
    let o = report(&c);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("record one with `cargo xtask perf baseline`"));
    assert!(!c.output.exists());
}

/// `optimisations.toml` beside the baseline, as `baselines/` holds it.
fn optimisations_file(c: &Case) -> PathBuf {
    c.baseline.with_file_name("optimisations.toml")
}

const GELU_DONE: &str = r#"
[[done]]
kind = "gelu_erf"
workload = "rag_query"
predicted_pct = 2.2
measured_pct = 9.6
interval_pct = [7.0, 12.1]
pairs = 54
date = 2026-12-03
command = "cargo xtask perf compare HEAD~1 HEAD --workload rag_query"
"#;

#[test]
fn carried_out_optimisations_show_their_measured_saving() {
    let c = case();
    fs::write(optimisations_file(&c), GELU_DONE).unwrap();
    let o = report(&c);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = fs::read_to_string(&c.output).unwrap();
    assert!(
        md.contains("| 2.2% (profile now: 14.1%) | 9.6% (7.0% to 12.1%) |"),
        "{md}"
    );
    assert!(
        md.contains("n = 54 pairs, by `cargo xtask perf compare HEAD~1 HEAD --workload rag_query`"),
        "{md}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("9.6% (7.0% to 12.1%)"), "{stdout}");
}

#[test]
fn malformed_optimisations_file_is_refused_naming_the_field() {
    let c = case();
    let file = optimisations_file(&c);
    let bad = GELU_DONE.replace("measured_pct = 9.6", "measured_pct = \"9.6%\"");
    let line = assert_refused_with(&c, &file, &bad);
    assert!(line.contains("field `measured_pct`"), "{line}");
    assert!(line.contains("line 6"), "{line}");
    let unknown = GELU_DONE.replace("gelu_erf", "gelu");
    let line = assert_refused_with(&c, &file, &unknown);
    assert!(line.contains("field `kind`"), "{line}");
}

#[test]
fn a_corrupt_baseline_set_aside_in_history_is_named_not_read() {
    let c = case();
    // What `perf baseline --update` keeps when the baseline it replaces no
    // longer parses.
    fs::write(
        c.history.join("unreadable-2026-12-01T00-00-00Z.json"),
        "{ cut off",
    )
    .unwrap();
    let o = report(&c);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = fs::read_to_string(&c.output).unwrap();
    assert!(
        text.contains("not read: `unreadable-2026-12-01T00-00-00Z.json`"),
        "the methodology table names it"
    );
}

#[test]
fn the_report_names_only_the_profile_files_it_read() {
    let c = case();
    fs::remove_file(c.profiles.join("bottlenecks.json")).unwrap();
    let o = report(&c);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = fs::read_to_string(&c.output).unwrap();
    let source = text
        .lines()
        .find(|l| l.starts_with("Ranked by `cargo xtask perf profile`"))
        .expect("section 6 says where its ranking came from");
    assert!(source.contains("summary.json"), "{source}");
    assert!(!source.contains("bottlenecks.json"), "{source}");
}

#[test]
fn a_misspelt_threshold_key_is_refused_by_report_as_by_check() {
    let c = case();
    let cfg = c.baseline.with_file_name("perf.toml");
    fs::write(&cfg, "[check.thresholds]\n\"rag_query.latncy\" = 5.0\n").unwrap();
    let o = report_with(&c, &["--config", cfg.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("\"rag_query.latncy\""), "{err}");
    assert!(err.contains("rag_query.latency"), "the closest key: {err}");
    assert!(!c.output.exists());
}
