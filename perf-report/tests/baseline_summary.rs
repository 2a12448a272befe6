//! The summary `perf baseline` ends with, over real runs: the committed
//! baseline (a full-profile run with three vector sizes, three LLM engines
//! and every workload) and `tests/fixtures/quick-run.json` (a quick-profile
//! run of the default workloads, recorded once by the xtask tests' quick
//! baseline on a three-file corpus): each fits one screen, and the quick
//! one matches its golden file.
//!
//! `UPDATE_GOLDEN=1 cargo test -p perf-report --test baseline_summary`
//! rewrites the golden file after an intended change; review its diff.

use std::{fs, path::Path};

use perf_contract::schema::{Baseline, FileRole};
use perf_report::export::{
    headline::{every_row, headline_rows},
    Document, Exporter, Rows, Terminal,
};

const GOLDEN: &str = "tests/golden/baseline_summary.txt";

/// One screen: lines and columns of a small terminal window.
const MAX_LINES: usize = 30;
const MAX_COLUMNS: usize = 100;

fn load(relative: &str) -> Baseline {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    Baseline::load_as(&path, FileRole::Run).expect("the run loads")
}

fn summary(run: &Baseline) -> String {
    Terminal.serialize(&Document::Run {
        run,
        run_file: "target/perf-runs/20261206T101519Z-quick.json",
        rows: Rows::Headline,
    })
}

/// At most `MAX_LINES` lines of at most `MAX_COLUMNS` characters, no cell
/// wrapped (the table is its rows, a header and three rules), and the
/// rest counted.
fn assert_fits_one_screen(run: &Baseline, name: &str) {
    let text = summary(run);
    eprintln!("{name}:\n{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() <= MAX_LINES,
        "{name}: {} lines\n{text}",
        lines.len()
    );
    for line in &lines {
        assert!(
            line.chars().count() <= MAX_COLUMNS,
            "{name}: a line of {} columns: {line}\n{text}",
            line.chars().count()
        );
    }
    let shown = headline_rows(run).len();
    let total = every_row(run).len();
    assert!((8..=16).contains(&shown), "{name}: {shown} rows\n{text}");
    let table = lines.iter().filter(|l| !l.is_empty()).count() - 2;
    assert_eq!(table, shown + 4, "{name}: a cell wrapped\n{text}");
    assert!(
        text.contains(&format!(
            "{} more metrics measured; --all prints every row\n",
            total - shown
        )),
        "{name}: {text}"
    );
    assert!(text.ends_with("this run: target/perf-runs/20261206T101519Z-quick.json\n"));
}

#[test]
fn the_committed_full_baseline_fits_one_screen() {
    let run = load("../baselines/performance_baselines.json");
    // A run of every workload, so that one screen is asked of the
    // largest table there is (about 260 rows without the OpenAI server).
    for w in perf_contract::plan::WorkloadName::ALL {
        assert!(run.workloads.contains_key(&w), "{w} missing");
    }
    assert!(
        every_row(&run).len() > 250,
        "{} rows",
        every_row(&run).len()
    );
    assert_fits_one_screen(&run, "performance_baselines.json");
    // One row per vector engine of the scaling curve: its largest size, k = 10.
    let text = summary(&run);
    for engine in ["usearch", "exact", "chroma"] {
        assert!(
            text.contains(&format!(" {engine}.n100000.k10.latency ")),
            "{text}"
        );
        assert_eq!(text.matches(&format!(" {engine}.n")).count(), 1, "{text}");
    }
}

#[test]
fn a_quick_run_fits_one_screen_and_matches_the_golden_file() {
    let run = load("tests/fixtures/quick-run.json");
    assert_fits_one_screen(&run, "quick-run.json");
    let text = summary(&run);
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&golden, &text).unwrap();
    }
    let expected =
        fs::read_to_string(&golden).expect("golden file exists (UPDATE_GOLDEN=1 writes it)");
    assert_eq!(
        text, expected,
        "summary differs from {GOLDEN}; if intended, rerun with UPDATE_GOLDEN=1 and review the diff"
    );
}
