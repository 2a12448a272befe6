//! `perf_report::report` end to end over files laid out as the other
//! commands write them: the golden markdown, determinism, missing and
//! corrupt inputs, and every headline number traced back to its JSON.
//!
//! `UPDATE_GOLDEN=1 cargo test -p perf-report --test report` rewrites the
//! golden file after an intended change; review its diff.

mod support;

use std::{fs, path::Path};

use perf_report::{
    policy::Policy,
    report::{inputs::load, render, Report},
};
use serde_json::Value;
use support::{inputs, paths, write_fixture, BASELINE, HISTORY, PROFILES};

const GOLDEN: &str = "tests/golden/performance_analysis.md";

fn full_fixture() -> (tempfile::TempDir, Report) {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), true, true);
    let report = render(&inputs(dir.path())).unwrap();
    (dir, report)
}

#[test]
fn markdown_matches_the_golden_file() {
    let (_dir, report) = full_fixture();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&golden, &report.markdown).unwrap();
    }
    let expected =
        fs::read_to_string(&golden).expect("golden file exists (UPDATE_GOLDEN=1 writes it)");
    if report.markdown != expected {
        let line = report
            .markdown
            .lines()
            .zip(expected.lines())
            .position(|(a, b)| a != b)
            .map_or("(length differs)".to_string(), |i| {
                format!("line {}", i + 1)
            });
        panic!("report differs from {GOLDEN} at {line}; if intended, rerun with UPDATE_GOLDEN=1 and review the diff\n{}", report.markdown);
    }
}

#[test]
fn same_inputs_give_identical_bytes() {
    let (dir, first) = full_fixture();
    let second = render(&inputs(dir.path())).unwrap();
    assert_eq!(first, second, "markdown and every SVG byte-identical");
    // A second, separately written copy of the same data: still identical
    // (no dependence on paths outside the root, file order or time).
    let (_other, third) = full_fixture();
    assert_eq!(first, third);
}

#[test]
fn full_inputs_give_every_section_and_chart() {
    let (_dir, report) = full_fixture();
    let md = &report.markdown;
    for n in 1..=8 {
        assert!(md.contains(&format!("\n## {n}. ")), "section {n} missing");
    }
    assert!(!md.contains("Missing inputs"), "{md}");
    let charts: Vec<&str> = report.charts.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        charts,
        [
            "charts/latency_cdf_rag_query.svg",
            "charts/latency_cdf_vector_query.svg",
            "charts/embedding_throughput_vs_batch.svg",
            "charts/rag_query_stages.svg",
            "charts/trend.svg",
        ]
    );
    for c in &report.charts {
        assert!(
            md.contains(&format!("]({})", c.path)),
            "{} not linked",
            c.path
        );
        assert!(
            c.svg.starts_with("<svg") && c.svg.contains("<text"),
            "{}",
            c.path
        );
    }
    // Links to flamegraphs go through profiles/latest, and only where one exists.
    assert!(md.contains("[rag_query/flamegraph.svg](../profiles/latest/rag_query/flamegraph.svg)"));
    assert!(md.contains("`profiles/latest` → `20260102T110000Z`"));
    // The quick-profile history file is never the one compared.
    assert!(md.contains("Previous: `baselines/history/20260101T100000Z-full.json`"));
}

#[test]
fn baseline_alone_still_renders_and_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), false, false);
    let report = render(&inputs(dir.path())).unwrap();
    let md = &report.markdown;
    assert!(md.contains("**Missing inputs**"), "{md}");
    assert!(md.contains("no profile found at `profiles/latest`: sections 6 and 7 need one; run `cargo xtask perf profile`"));
    assert!(md.contains("no earlier baseline of the full profile in `baselines/history`"));
    assert!(md.contains("## 6. Top bottlenecks\n\nNot available: no profile found"));
    assert!(md.contains("## 8. Comparison with the previous baseline\n\nNot available"));
    assert!(
        md.contains("**RAG query latency** (`rag_query.latency`"),
        "headline still there"
    );
    assert!(
        !report.charts.iter().any(|c| c.path.contains("trend")),
        "one baseline: no trend"
    );
    assert_eq!(report.charts.len(), 4);
}

#[test]
fn summary_json_alone_still_ranks_bottlenecks() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), true, true);
    fs::remove_file(dir.path().join(PROFILES).join("bottlenecks.json")).unwrap();
    let md = render(&inputs(dir.path())).unwrap().markdown;
    assert!(md.contains("| 1 | `rag_query` | `embed` |"), "{md}");
}

/// The one error line for a corrupt `file` (relative to the fixture root).
fn corrupt(file: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), true, true);
    let target = dir.path().join(file);
    fs::write(&target, "{ \"truncated\": ").unwrap();
    let err = load(&paths(dir.path()), Policy::default())
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\n'), "one line: {err}");
    assert!(
        err.contains(&target.display().to_string()),
        "names {file}: {err}"
    );
    err
}

#[test]
fn corrupt_inputs_are_one_error_naming_the_file() {
    assert!(corrupt(BASELINE).contains("not valid JSON"));
    let history = format!("{HISTORY}/20260101T100000Z-full.json");
    assert!(corrupt(&history).starts_with("history file"));
    let summary = corrupt(&format!("{PROFILES}/summary.json"));
    assert!(summary.contains("cargo xtask perf profile"), "{summary}");
    corrupt(&format!("{PROFILES}/bottlenecks.json"));
}

#[test]
fn missing_baseline_says_how_to_record_one() {
    let dir = tempfile::tempdir().unwrap();
    let err = load(&paths(dir.path()), Policy::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!("no baseline at {BASELINE}: record one with `cargo xtask perf baseline`")
    );
}

/// The number after `label` in `text`, with how many decimals it was
/// printed with.
fn number_after(text: &str, label: &str) -> (f64, i32) {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("`{label}` not in: {text}"))
        + label.len();
    let digits: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let decimals = digits.split_once('.').map_or(0, |(_, d)| d.len() as i32);
    (
        digits
            .parse()
            .unwrap_or_else(|_| panic!("no number after `{label}` in {text}")),
        decimals,
    )
}

/// `label`'s number in `line` is `expected` rounded as printed.
fn assert_printed(line: &str, label: &str, expected: f64) {
    let (shown, decimals) = number_after(line, label);
    let tolerance = 0.5 * 10f64.powi(-decimals) + 1e-9;
    assert!(
        (shown - expected).abs() <= tolerance,
        "{label}{shown} vs JSON {expected} in: {line}"
    );
}

fn summary_of<'a>(json: &'a Value, workload: &str, metric: &str) -> &'a Value {
    &json["workloads"][workload]["metrics"][metric]["summary"]
}

/// Reads the summary section's headline lines back and checks each number
/// against the baseline JSON, read independently with serde_json.
fn check_headline(markdown: &str, baseline_json: &str) {
    let json: Value = serde_json::from_str(baseline_json).unwrap();
    let section =
        &markdown[markdown.find("## 1. Summary").unwrap()..markdown.find("## 2.").unwrap()];
    let line = |start: &str| {
        section
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no `{start}` line in {section}"))
    };
    let rag = line("- **RAG query latency**");
    let s = summary_of(&json, "rag_query", "latency");
    for p in ["p50", "p95", "p99"] {
        assert_printed(rag, &format!("{p} "), s[p].as_f64().unwrap());
    }
    assert_printed(rag, "n = ", s["count"].as_f64().unwrap());

    let emb = line("- **Embedding throughput**");
    let metrics = json["workloads"]["embedding"]["metrics"]
        .as_object()
        .unwrap();
    for texts in ["chunks", "sentences"] {
        // `<engine> <texts> <figure> at batch <b>`: the first engine shown.
        let at = emb.find(&format!(" {texts} ")).unwrap();
        let engine = emb[..at].rsplit([' ', ';']).next().unwrap();
        let kind = format!("{engine} {texts}");
        let part = &emb[at - engine.len()..];
        let (b, _) = number_after(part, "at batch ");
        // Files from before engines were named hold candle's figures
        // under names without the engine.
        let legacy = engine == "candle" && !metrics.keys().any(|n| n.starts_with("candle."));
        let dotted = if legacy {
            texts.to_string()
        } else {
            format!("{engine}.{texts}")
        };
        let name = format!("{dotted}.batch_{b}.docs_per_s");
        let s = &metrics[&name]["summary"];
        assert_printed(part, &format!("{kind} "), s["median"].as_f64().unwrap());
        assert_printed(part, "n = ", s["count"].as_f64().unwrap());
        // It is the best batch size of that kind.
        let best = metrics
            .iter()
            .filter(|(n, _)| {
                n.starts_with(&format!("{dotted}.batch_")) && n.ends_with(".docs_per_s")
            })
            .map(|(_, m)| m["summary"]["median"].as_f64().unwrap())
            .fold(f64::MIN, f64::max);
        assert_eq!(
            s["median"].as_f64().unwrap(),
            best,
            "{name} is not the best batch"
        );
    }

    let vq = line("- **Vector query**");
    for (label, metric) in [("HNSW ", "hnsw.latency"), ("exact ", "exact.latency")] {
        let s = summary_of(&json, "vector_query", metric);
        let part = &vq[vq.find(label).unwrap()..];
        assert_printed(part, label, s["median"].as_f64().unwrap());
        assert_printed(part, "n = ", s["count"].as_f64().unwrap());
    }
    let recall_name = metrics_named(&json, "vector_query", "recall_at_");
    let s = summary_of(&json, "vector_query", &recall_name);
    let part = &vq[vq.find("recall@").unwrap()..];
    assert_printed(part, "mean ", s["mean"].as_f64().unwrap());
    assert_printed(part, "min ", s["min"].as_f64().unwrap());
    assert_printed(part, "n = ", s["count"].as_f64().unwrap());
}

fn metrics_named(json: &Value, workload: &str, prefix: &str) -> String {
    json["workloads"][workload]["metrics"]
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.starts_with(prefix))
        .unwrap()
        .clone()
}

#[test]
fn every_headline_number_matches_the_fixture_json() {
    let (dir, report) = full_fixture();
    let json = fs::read_to_string(dir.path().join(BASELINE)).unwrap();
    check_headline(&report.markdown, &json);
}

#[test]
fn every_headline_number_matches_the_committed_baseline() {
    // The real, full baseline of the repository: whatever it holds, the
    // summary must state its numbers.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut p = paths(dir.path());
    p.baseline = root.join(BASELINE);
    let inputs = load(&p, Policy::default()).unwrap();
    let report = render(&inputs).unwrap();
    check_headline(&report.markdown, &fs::read_to_string(&p.baseline).unwrap());
}

/// A baseline with LLM results: each engine gets its summary line (with
/// the ITL tail) and its build, threads and weights in the methodology.
#[test]
fn llm_engines_are_summarised_and_named() {
    use perf_contract::{
        context::LlmEngineInfo,
        plan::WorkloadName,
        protocol::WorkloadSamples,
        schema::{Baseline, Better, Unit, WorkloadResult},
    };
    use support::{metric, samples};

    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), false, false);
    let path = dir.path().join(BASELINE);
    let mut b = Baseline::load(&path).unwrap();
    let metrics = vec![
        metric(
            "llamacpp.prefill_tokens_per_s.len128",
            Unit::TokensPerSecond,
            Better::Higher,
            samples(3, 12, 500.0, 0.05),
        ),
        metric(
            "llamacpp.decode_tokens_per_s",
            Unit::TokensPerSecond,
            Better::Higher,
            samples(4, 12, 80.0, 0.05),
        ),
        metric(
            "llamacpp.itl",
            Unit::Milliseconds,
            Better::Lower,
            (1..=100).map(f64::from).collect(),
        ),
    ];
    let r = WorkloadResult::from_samples(WorkloadSamples {
        workload: WorkloadName::Inference,
        metrics,
        notes: vec![],
    })
    .unwrap();
    b.workloads.insert(WorkloadName::Inference, r);
    b.context.llm_engines.push(LlmEngineInfo {
        engine: "llamacpp".into(),
        version: "llama-cpp-2 0.1.160".into(),
        threads: 2,
        model_sha256: "ef".repeat(32),
        model: "/models/gemma.gguf".into(),
        detail: "cpu backend".into(),
        instruction_set: "CPU : AVX2 = 1".into(),
    });
    b.save(&path).unwrap();

    let md = render(&inputs(dir.path())).unwrap().markdown;
    let line = md
        .lines()
        .find(|l| l.starts_with("- **Inference, llamacpp**"))
        .unwrap_or_else(|| panic!("no llamacpp summary line\n{md}"));
    assert!(line.contains(" tok/s (n = 12) at len128"), "{line}");
    // ITL 1..=100 ms: median 50.5, p99 by the type-7 rule 99.01.
    assert!(
        line.contains("ITL 50.50 ms (p99 99.01 ms, n = 100)"),
        "{line}"
    );
    assert!(md.contains("LLM engines:"), "{md}");
    let row = md
        .lines()
        .find(|l| l.starts_with("| `llamacpp` |"))
        .unwrap_or_else(|| panic!("no engine row\n{md}"));
    assert!(
        row.contains("llama-cpp-2 0.1.160") && row.contains(&"ef".repeat(32)),
        "{row}"
    );
}

/// A history measured on two machines, alternating: the trend draws one
/// line per machine and none from one machine's point to the other's (a
/// change of host is not a step of the code), and names both machines.
#[test]
fn the_trend_draws_no_line_between_two_machines() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), true, true);
    let mut one = inputs(dir.path());
    let profile = one.baseline.plan.profile;
    let earlier = one
        .history
        .iter()
        .find(|h| h.baseline.plan.profile == profile)
        .unwrap()
        .clone();
    // Three earlier baselines and the current one, an hour apart.
    one.history.retain(|h| h.baseline.plan.profile != profile);
    for k in 0..3 {
        let mut h = earlier.clone();
        h.name = format!("{k}-{}", h.name);
        h.baseline.created_at = one.baseline.created_at - chrono::Duration::hours(3 - k);
        one.history.push(h);
    }
    let mut two = one.clone();
    // The second and fourth on another host: another model, other
    // instructions.
    let other = |b: &mut perf_contract::schema::Baseline| {
        b.machine_fingerprint = "AMD Ryzen 9 5900X / 24 cores / 64 GiB".into();
        b.environment.cpu_model = "AMD Ryzen 9 5900X".into();
        b.environment.cpu_signature = "family 25 model 33; avx2 fma".into();
    };
    let mut same_profile: Vec<_> = two
        .history
        .iter_mut()
        .filter(|h| h.baseline.plan.profile == profile)
        .collect();
    other(&mut same_profile[1].baseline);
    other(&mut two.baseline);
    let trend = |i: &perf_report::report::ReportInputs| {
        render(i)
            .unwrap()
            .charts
            .into_iter()
            .find(|c| c.path == "charts/trend.svg")
            .unwrap()
            .svg
    };
    let (svg1, svg2) = (trend(&one), trend(&two));
    let lines = |svg: &str| -> Vec<usize> {
        svg.split("<polyline")
            .skip(1)
            .map(|l| {
                let points = l
                    .split("points=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                points.split_whitespace().count()
            })
            .collect()
    };
    let (l1, l2) = (lines(&svg1), lines(&svg2));
    // One machine: each panel's line joins all four baselines.
    assert!(l1.iter().filter(|&&n| n == 4).count() >= 2, "{l1:?}");
    // Two machines: no line joins more than one machine's two baselines;
    // each panel's one line became two (the axes' own lines have two
    // points as well, in both).
    assert!(!l2.contains(&4) && !l2.contains(&3), "{l2:?}");
    let count = |l: &[usize], n: usize| l.iter().filter(|&&x| x == n).count();
    assert_eq!(
        count(&l2, 2),
        count(&l1, 2) + 2 * count(&l1, 4),
        "{l1:?} {l2:?}"
    );
    assert!(
        svg2.contains("AMD Ryzen 9 5900X, "),
        "the legend names both machines"
    );
    assert!(svg2.contains("one line per machine (2)"));
    assert!(!svg1.contains("one line per machine"));
}

/// A report regenerated where no profile folder exists keeps its top
/// bottlenecks and opportunities from the digest committed beside the
/// baseline, and says whose findings they are.
#[test]
fn the_committed_digest_stands_in_for_a_missing_profile_folder() {
    use perf_report::report::profile_digest::ProfileDigest;
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), true, true);
    let with_folder = render(&inputs(dir.path())).unwrap().markdown;
    let profile = inputs(dir.path()).profile.unwrap();
    let mut env = inputs(dir.path()).baseline.environment;
    env.cpu_model = "Intel(R) Xeon(R) Processor".into();
    env.logical_cores = 2;
    env.git_commit = Some("0123456789abcdef0123".into());
    env.git_dirty = Some(false);
    let when = "2026-12-06T23:00:00Z".parse().unwrap();
    let full = perf_contract::plan::ProfileName::Full;
    let digest = ProfileDigest::of(&profile, "xeon", &env, (full, when)).unwrap();
    fs::write(
        dir.path().join(support::PROFILE_DIGEST),
        serde_json::to_string(&digest).unwrap(),
    )
    .unwrap();
    fs::remove_file(dir.path().join(PROFILES)).unwrap();
    let md = render(&inputs(dir.path())).unwrap().markdown;
    let section = |md: &str, n: usize| {
        let start = md.find(&format!("\n## {n}. ")).unwrap();
        let end = md[start + 1..]
            .find("\n## ")
            .map_or(md.len(), |e| start + 1 + e);
        md[start..end].to_string()
    };
    assert!(!md.contains("no profile found"), "{md}");
    let origin = "the digest `baselines/profile.json` of a full profile run on Intel(R) Xeon(R) Processor (2 logical cores), commit 0123456789ab, 2026-12-06 23:00 UTC";
    assert!(section(&md, 6).contains(origin), "{}", section(&md, 6));
    assert!(md.contains(&format!("| profile run | {origin} |")), "{md}");
    // The same bottlenecks and opportunities as from the folder; only
    // the flamegraph links are gone.
    let rows = |s: String| -> Vec<String> {
        s.lines()
            .filter(|l| l.starts_with("| ") && !l.contains("flamegraph"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(rows(section(&md, 7)), rows(section(&with_folder, 7)));
    assert!(section(&md, 6).contains("| 1 |"), "{}", section(&md, 6));
    assert!(
        !section(&md, 6).contains("](../profiles"),
        "no links to a folder that is not there"
    );
}

/// The digest the repository keeps beside the baseline loads with this
/// version, as the kept run records do (perf-contract/tests/baseline_files.rs).
#[test]
fn the_committed_profile_digest_loads() {
    use perf_report::report::profile_digest::{ProfileDigest, FILE_NAME};
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../baselines")
        .join(FILE_NAME);
    let text = fs::read_to_string(&path).unwrap();
    let d: ProfileDigest = serde_json::from_str(&text).unwrap();
    assert_eq!(d.summary.bottlenecks.len(), 5, "{}", path.display());
    assert!(d.environment.git_commit.is_some());
}
