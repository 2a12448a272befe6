//! Every run record the repository keeps (`baselines/**/*.json`: the
//! baseline, its history, the scale points, the machines' own baselines;
//! not the profile digest, `baselines/profile.json`, nor the performance
//! history under `baselines/records/`, which `perf-report` reads and its
//! tests load) loads with this version and
//! is written back as it was read: names are typed in memory and spelled
//! in files, and the spelling must not drift.

use std::{
    fs,
    path::{Path, PathBuf},
};

use perf_contract::schema::Baseline;
use serde_json::Value;

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.ends_with("baselines/records") {
            continue;
        }
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json")
            && !path.ends_with("baselines/profile.json")
        {
            out.push(path);
        }
    }
}

/// Where `written` differs from `read` in a value `read` holds. Keys only
/// `written` has are defaults of fields added since; a metric named before
/// embedding engines were named is written under candle's name, the one
/// rename `MetricKey::parse` makes (`chunks.batch_1.docs_per_s` →
/// `candle.chunks.batch_1.docs_per_s`).
fn changed(read: &Value, written: &Value, at: &str, out: &mut Vec<String>) {
    match (read, written) {
        (Value::Object(r), Value::Object(w)) => {
            for (k, v) in r {
                let renamed = format!("candle.{k}");
                match w.get(k).or_else(|| w.get(&renamed)) {
                    Some(wv) => changed(v, wv, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}.{k} dropped")),
                }
            }
        }
        (Value::Array(r), Value::Array(w)) if r.len() == w.len() => {
            for (i, (rv, wv)) in r.iter().zip(w).enumerate() {
                changed(rv, wv, &format!("{at}[{i}]"), out);
            }
        }
        (r, w) if r == w => {}
        // Numbers: the same f64, whatever its digits in the file.
        (Value::Number(r), Value::Number(w)) if r.as_f64() == w.as_f64() => {}
        (r, w) => out.push(format!("{at}: {r} became {w}")),
    }
}

#[test]
fn every_kept_run_loads_and_is_written_back_as_read() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../baselines");
    let mut files = Vec::new();
    json_files(&root, &mut files);
    files.sort();
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("performance_baselines.json"))
            && files.iter().any(|f| f.starts_with(root.join("history"))),
        "the baseline and its history must be there to be checked: {files:?}"
    );
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        let baseline =
            Baseline::parse(&text, &path.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
        let written = baseline.to_json();
        let mut diffs = Vec::new();
        changed(
            &serde_json::from_str(&text).unwrap(),
            &serde_json::from_str(&written).unwrap(),
            "",
            &mut diffs,
        );
        assert!(
            diffs.is_empty(),
            "{} changes when written back: {diffs:?}",
            path.display()
        );
        // And what is written reads back as the same record, unchanged.
        let again = Baseline::parse(&written, "rewritten").unwrap();
        assert_eq!(again, baseline, "{}", path.display());
        assert_eq!(again.to_json(), written, "{}", path.display());
    }
}

/// Each metric kind's spec (`MetricKind::spec`) declares the unit and
/// direction every kept run recorded for it, so a run pushed through the
/// spec compares with them (a changed unit or direction would make a
/// metric incomparable), and every headline figure is one the files hold.
#[test]
fn every_kept_metric_has_the_unit_and_direction_its_spec_declares() {
    use perf_contract::metric_key::MetricKind;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../baselines");
    let mut files = Vec::new();
    json_files(&root, &mut files);
    let (mut checked, mut headline) = (0, 0);
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        let baseline = Baseline::parse(&text, &path.display().to_string()).unwrap();
        for (workload, result) in &baseline.workloads {
            for (key, m) in &result.metrics {
                let kind = key.kind();
                assert!(
                    !matches!(kind, MetricKind::Other(_)),
                    "{}: {workload}.{key} is a name this version does not know",
                    path.display()
                );
                let spec = kind.spec();
                assert_eq!(
                    (spec.unit, spec.better),
                    (m.unit, m.better),
                    "{}: {workload}.{key}",
                    path.display()
                );
                checked += 1;
                headline += usize::from(spec.headline);
            }
        }
    }
    assert!(
        checked > 500 && headline > 50,
        "{checked} metrics, {headline} headline"
    );
}
