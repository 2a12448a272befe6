//! What `perf baseline`, `check` and `compare` print, through their one
//! printer: a real quick run ends with the headline summary (one screen)
//! and `--all` prints every metric of the run; a gate's verdict reaches
//! the job summary as markdown whatever `--format` says.

mod support;

use std::{fs, path::Path};

use perf_contract::schema::{Baseline, FileRole};
use support::{quick_baseline, small_corpus, stderr, xtask_args, xtask_env};

/// The run file the last line names.
fn run_file(stdout: &str) -> Baseline {
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix("this run: "))
        .unwrap_or_else(|| panic!("no run file named:\n{stdout}"));
    Baseline::load_as(Path::new(path), FileRole::Run).unwrap()
}

#[test]
fn a_baseline_ends_with_the_headline_summary_and_all_prints_every_metric() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = small_corpus(dir.path());
    let out = dir.path().join("baseline.json");
    let args = |extra: &[&str]| {
        let mut a = vec!["--workload", "vector_query"];
        a.extend_from_slice(extra);
        quick_baseline(&corpus, &out, &a)
    };

    let o = xtask_args(&args(&[]));
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let run = run_file(&stdout);
    let metrics = &run.workloads[&perf_contract::plan::WorkloadName::VectorQuery].metrics;
    assert!(metrics.len() > 20, "a quick vector_query run: {metrics:?}");
    // The summary, then what the command says about the baseline file.
    let summary: Vec<&str> = stdout
        .lines()
        .take_while(|l| !l.starts_with("this run: "))
        .collect();
    assert!(summary.len() <= 30, "one screen:\n{stdout}");
    assert!(summary.iter().all(|l| l.chars().count() <= 100), "{stdout}");
    assert!(
        stdout.contains("│ vector_query ┆ exact.latency "),
        "headline rows:\n{stdout}"
    );
    assert!(
        !stdout.contains("recall_at_5"),
        "a guard is no headline:\n{stdout}"
    );
    let shown = summary.iter().filter(|l| l.contains(" ┆ ")).count() - 1;
    assert!(
        stdout.contains(&format!(
            "{} more metrics measured; --all prints every row\n",
            metrics.len() - shown
        )),
        "{stdout}"
    );

    let o = xtask_args(&args(&["--all"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let run = run_file(&stdout);
    let metrics = &run.workloads[&perf_contract::plan::WorkloadName::VectorQuery].metrics;
    for name in metrics.keys() {
        assert!(
            stdout.contains(&format!(" {name} ")),
            "{name} not printed:\n{stdout}"
        );
    }
    assert!(!stdout.contains("more metrics measured"), "{stdout}");
    assert!(stdout.contains("kept the existing baseline"), "{stdout}");
}

/// `check` over saved files (nothing measured): the markdown on stdout is
/// what the job summary gets, and with `--format json` the summary still
/// gets markdown while stdout is JSON.
#[test]
fn a_verdict_reaches_the_job_summary_as_markdown_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let baseline =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../baselines/performance_baselines.json");
    let baseline = baseline.to_str().unwrap();
    let check = |format: &str| {
        let summary = dir.path().join(format!("summary-{format}.md"));
        let o = xtask_env(
            &[
                "perf",
                "check",
                "--baseline",
                baseline,
                "--run-file",
                baseline,
                "--format",
                format,
            ],
            &[("GITHUB_STEP_SUMMARY", Some(summary.to_str().unwrap()))],
        );
        // The same file on both sides: nothing regressed (0, or 3 for
        // the one-build figures' inconclusive headline metrics).
        assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
        (
            String::from_utf8(o.stdout).unwrap(),
            fs::read_to_string(&summary).expect("the job summary written"),
        )
    };
    let (stdout, summary) = check("markdown");
    assert!(
        stdout.starts_with("### cargo xtask perf check\n"),
        "{stdout}"
    );
    assert_eq!(stdout, summary);

    let (stdout, json_summary) = check("json");
    let verdict: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert_eq!(verdict["passed"], true);
    assert_eq!(json_summary, summary);
}
