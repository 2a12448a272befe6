//! The performance history end to end over fixture runs: records of
//! commits on two machines become one series per machine, change points
//! name the commit of a step, parent-versus-commit compares compose into
//! a relative index that agrees with a direct compare, and the BMF export
//! passes the format's documented JSON schema (fixtures/bmf.schema.json,
//! Bencher's https://bencher.dev/bmf.json). Change points are weighed
//! against the compares recorded over their commits, and the report's
//! section 8 draws them.

mod support;

use chrono::{Duration, TimeZone, Utc};
use perf_contract::{
    fixture::{baseline, normal},
    plan::{ProfileName, WorkloadName},
    schema::{Better, Unit},
};
use perf_report::history::{
    bmf,
    change_points::Options,
    load::History,
    record::{Commit, CommitRecord, Machine, Step, StepRecord, RECORD_SCHEMA},
    relative::{check_chains, compose, Compares},
    series::build,
};
use perf_report::report::{render, Recorded};
use serde_json::Value;
use support::{inputs, write_fixture};

fn commit(i: usize) -> Commit {
    Commit {
        id: format!("{i:040x}"),
        subject: format!("commit {i}"),
        time: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap() + Duration::hours(i as i64),
    }
}

/// A run of `rag_query.latency` around `ms`, 40 samples.
fn run_record(ms: f64, cpu: &str, at: usize, state: &mut u64) -> CommitRecord {
    let samples: Vec<f64> = (0..40).map(|_| ms * (1.0 + 0.02 * normal(state))).collect();
    let mut run = baseline(&[(
        WorkloadName::RagQuery,
        "latency",
        Unit::Milliseconds,
        Better::Lower,
        samples,
    )]);
    run.environment.cpu_model = cpu.into();
    let mut r = CommitRecord::of(&run, commit(at));
    r.recorded_at = commit(at).time;
    r
}

#[test]
fn two_machines_make_two_series_and_a_step_is_found_at_its_commit() {
    let mut state = 7;
    let mut history = History::default();
    for i in 0..16 {
        // The step lands at commit 9 on both machines; machine B is slower.
        let step = if i >= 9 { 1.10 } else { 1.0 };
        history.commits.push(run_record(
            2.0 * step * (1.0 + 0.01 * normal(&mut state)),
            "CPU A",
            i,
            &mut state,
        ));
        history.commits.push(run_record(
            3.5 * step * (1.0 + 0.01 * normal(&mut state)),
            "CPU B",
            i,
            &mut state,
        ));
    }
    let line: Vec<String> = (0..16).map(|i| commit(i).id).collect();
    let built = series_of(&history, &line);
    assert_eq!(built.off_line, 0);
    assert_eq!(built.series.len(), 2, "one series per machine");
    for s in &built.series {
        assert_eq!(s.points.len(), 16);
        assert!(s.points.windows(2).all(|p| p[0].position < p[1].position));
        assert_eq!(s.change_points.len(), 1, "{:?}", s.change_points);
        let c = &s.change_points[0];
        assert_eq!(s.points[c.index].commit.id, commit(9).id);
        assert!(c.low_pct < 10.0 && 10.0 < c.high_pct, "{c:?}");
    }
    let labels: Vec<&str> = built
        .series
        .iter()
        .map(|s| s.machine.label.as_str())
        .collect();
    assert!(labels[0] != labels[1]);

    // A commit the branch does not hold is left out, and counted.
    let line: Vec<String> = (0..15).map(|i| commit(i).id).collect();
    let built = series_of(&history, &line);
    assert_eq!(built.off_line, 2);
}

/// The series of `history` along `line`, quick profile, default change
/// point options, no step the machine is known to resolve.
fn series_of(history: &History, line: &[String]) -> perf_report::history::series::Built {
    build(
        history,
        line,
        ProfileName::Quick,
        &Options::default(),
        &|_, _| 0.0,
    )
}

fn machine() -> Machine {
    Machine::of(&perf_contract::fixture::environment())
}

fn step_record(base: usize, head: usize, pct: f64, half_pct: f64) -> StepRecord {
    let log_ratio = (1.0 + pct / 100.0).ln();
    let df = 4.0;
    let t = 2.7764451051977987; // t(0.975, 4)
    let se = ((1.0 + half_pct / 100.0).ln()) / t;
    StepRecord {
        schema_version: RECORD_SCHEMA,
        machine: machine(),
        base: commit(base),
        head: commit(head),
        recorded_at: commit(head).time,
        profile: ProfileName::Quick,
        metrics: [(
            "rag_query.latency".to_string(),
            Step {
                unit: Unit::Milliseconds,
                better: Better::Lower,
                log_ratio,
                se,
                df,
                verdict: "no change".into(),
            },
        )]
        .into(),
    }
}

#[test]
fn compares_compose_into_an_index_that_a_direct_compare_checks() {
    let mut history = History::default();
    // Ten sub-threshold steps of +1% each: no single compare flags one.
    for i in 0..10 {
        history.steps.push(step_record(i, i + 1, 1.0, 1.5));
    }
    let line: Vec<String> = (0..11).map(|i| commit(i).id).collect();
    let index = compose(&history, &line, ProfileName::Quick, "rag_query.latency");
    assert_eq!(index.chains.len(), 1);
    let last = index.chains[0].last().unwrap();
    assert_eq!(last.steps, 10);
    let expected = (1.01f64.powi(10) - 1.0) * 100.0;
    assert!((last.change_pct - expected).abs() < 1e-9, "{last:?}");
    assert!(
        last.low_pct > 0.0,
        "the drift is significant when composed: {last:?}"
    );
    // The interval grows as √10 of one step's, not 10 times it.
    let half = (last.high_pct - last.low_pct) / 2.0;
    assert!(half > 2.0 && half < 6.0, "{last:?}");

    // A direct compare of the ends agrees; one that saw no drift does not.
    history.steps.push(step_record(0, 10, 10.0, 2.0));
    let checks = check_chains(&history, &line, ProfileName::Quick);
    assert_eq!(checks.len(), 1);
    assert!(checks[0].agree, "{:?}", checks[0]);
    history.steps.pop();
    history.steps.push(step_record(0, 10, -1.0, 2.0));
    let checks = check_chains(&history, &line, ProfileName::Quick);
    assert!(!checks[0].agree, "{:?}", checks[0]);

    // A missing compare breaks the chain in two, never bridged silently.
    history
        .steps
        .retain(|s| !(s.base.id == commit(4).id && s.head.id == commit(5).id));
    let index = compose(&history, &line, ProfileName::Quick, "rag_query.latency");
    assert_eq!(index.chains.len(), 2);
}

/// Checks `value` against the subset of JSON Schema draft-07 the BMF
/// schema uses: type, properties, patternProperties (".+": any key),
/// required.
fn validate(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => value.is_object(),
            "number" => value.is_number(),
            other => return Err(format!("{at}: schema type {other} not handled")),
        };
        if !ok {
            return Err(format!("{at}: {value} is not a {t}"));
        }
    }
    let Some(object) = value.as_object() else {
        return Ok(());
    };
    for key in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = key.as_str().unwrap();
        if !object.contains_key(key) {
            return Err(format!("{at}: required `{key}` missing"));
        }
    }
    for (key, v) in object {
        let at = format!("{at}/{key}");
        if let Some(s) = schema.get("properties").and_then(|p| p.get(key)) {
            validate(s, v, &at)?;
        } else if let Some(patterns) = schema.get("patternProperties").and_then(Value::as_object) {
            let (pattern, s) = patterns.iter().next().unwrap();
            assert_eq!(pattern, ".+", "only the schema's own pattern is handled");
            if key.is_empty() {
                return Err(format!("{at}: an empty key does not match .+"));
            }
            validate(s, v, &at)?;
        }
    }
    Ok(())
}

#[test]
fn bmf_export_passes_the_documented_schema() {
    let schema: Value = serde_json::from_str(include_str!("fixtures/bmf.schema.json")).unwrap();
    let mut state = 3;
    let record = run_record(2.0, "CPU A", 1, &mut state);
    let doc = serde_json::to_value(bmf::of(&record)).unwrap();
    validate(&schema, &doc, "").unwrap();
    let latency = &doc["rag_query.latency"]["latency"];
    // Bencher's latency measure is in nanoseconds.
    let value = latency["value"].as_f64().unwrap();
    assert!((1.8e6..2.2e6).contains(&value), "{latency}");
    assert!(latency["lower_value"].as_f64().unwrap() <= value);
    assert!(latency["upper_value"].as_f64().unwrap() >= value);
    // The validator is not a yes-machine.
    let bad: Value = serde_json::json!({"b": {"latency": {"lower_value": 1.0}}});
    assert!(validate(&schema, &bad, "").is_err());
    let bad: Value = serde_json::json!({"b": {"latency": {"value": "1"}}});
    assert!(validate(&schema, &bad, "").is_err());
}

#[test]
fn steps_that_scatter_beyond_their_intervals_widen_the_chain_by_the_spread_between_builds() {
    // Sixteen compares of commits that change nothing: each claims ±1.6%
    // (se 0.8% on 4 degrees of freedom... as a 5-round compare does), but
    // two builds of one source differ by 1.2% more, which no round sees.
    let mut state = 11;
    let mut history = History::default();
    for i in 0..16 {
        let truth = 1.2 * normal(&mut state);
        let noise = 0.8 * normal(&mut state);
        let mut s = step_record(i, i + 1, truth + noise, 0.8 * 2.776);
        s.metrics.get_mut("rag_query.latency").unwrap().verdict = "no change".into();
        history.steps.push(s);
    }
    let line: Vec<String> = (0..17).map(|i| commit(i).id).collect();
    let index = compose(&history, &line, ProfileName::Quick, "rag_query.latency");
    assert_eq!(index.spread_from_steps, 16);
    assert!(
        (0.5..2.5).contains(&index.between_builds_pct),
        "τ = {:.2}%",
        index.between_builds_pct
    );
    let last = index.chains[0].last().unwrap();
    let half = (last.high_pct - last.low_pct) / 2.0;
    // √16 · √(0.8² + 1.2²) ≈ 5.8%, times t ≈ 2: about ±11%, where the
    // steps' own intervals alone would give about ±6.5%.
    assert!(half > 8.0, "{last:?}");

    // Fewer than five steps: no spread is estimated, and the index says so.
    history.steps.truncate(4);
    let index = compose(&history, &line, ProfileName::Quick, "rag_query.latency");
    assert_eq!(
        (index.spread_from_steps, index.between_builds_pct),
        (4, 0.0)
    );
}

#[test]
fn the_records_the_repository_keeps_load_with_this_version() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../baselines/records");
    let history = History::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !history.commits.is_empty(),
        "the repository carries at least one record of a commit"
    );
    for r in &history.commits {
        assert_eq!(r.schema_version, RECORD_SCHEMA);
        assert_eq!(r.commit.id.len(), 40, "{}", r.commit.id);
        assert!(!r.metrics.is_empty() && !r.plan_id.is_empty());
    }
}

/// A series of `rag_query.latency` on one machine from `levels` (ms per
/// commit), and compares of each commit against its parent from `steps`
/// (percent per commit from 1 on, each with a ±1.5% interval).
fn history_of(levels: &[f64], steps: &[f64]) -> (History, Vec<String>) {
    let mut state = 11;
    let mut history = History::default();
    for (i, ms) in levels.iter().enumerate() {
        history
            .commits
            .push(run_record(*ms, "CPU A", i, &mut state));
    }
    for (i, pct) in steps.iter().enumerate() {
        history.steps.push(step_record(i, i + 1, *pct, 1.5));
    }
    let line = (0..levels.len()).map(|i| commit(i).id).collect();
    (history, line)
}

/// Small scatter around 0 for compares of commits that change nothing.
fn quiet_steps(n: usize, state: &mut u64) -> Vec<f64> {
    (0..n).map(|_| 0.5 * normal(state)).collect()
}

#[test]
fn a_drift_of_the_machine_that_the_paired_compares_do_not_show_is_set_aside() {
    use perf_report::history::change_points::Evidence;
    let mut state = 3;
    // The machine quietens by 10% from commit 6 on; the code changes at
    // commit 11 (+8%), which the compares see, while they see nothing at 6.
    let levels: Vec<f64> = (0..17)
        .map(|i| {
            let machine = if i >= 6 { 0.90 } else { 1.0 };
            let code = if i >= 11 { 1.08 } else { 1.0 };
            2.0 * machine * code * (1.0 + 0.005 * normal(&mut state))
        })
        .collect();
    let mut steps = quiet_steps(16, &mut state);
    steps[10] = 8.0; // the compare of commit 11 against 10
    let (history, line) = history_of(&levels, &steps);
    let built = series_of(&history, &line);
    let s = &built.series[0];
    let at =
        |c: &perf_report::history::change_points::ChangePoint| s.points[c.index].commit.id.clone();
    assert_eq!(s.change_points.len(), 1, "{:?}", s.change_points);
    assert_eq!(at(&s.change_points[0]), commit(11).id);
    assert!(
        matches!(s.change_points[0].evidence, Evidence::Confirmed(_)),
        "{:?}",
        s.change_points[0]
    );
    assert_eq!(s.set_aside.len(), 1, "{:?}", s.set_aside);
    assert_eq!(at(&s.set_aside[0]), commit(6).id);
    assert!(matches!(s.set_aside[0].evidence, Evidence::Contradicted(_)));
    assert!(s.set_aside[0].evidence_note().contains("say no change"));
}

#[test]
fn a_step_only_the_paired_compares_resolve_is_found_and_one_builds_layout_is_not() {
    use perf_report::history::change_points::Evidence;
    let mut state = 5;
    // Separate runs scatter 6%: the series' own test finds nothing.
    let levels: Vec<f64> = (0..17)
        .map(|i| {
            let code = if i >= 9 { 1.06 } else { 1.0 };
            2.0 * code * (1.0 + 0.06 * normal(&mut state))
        })
        .collect();
    let mut steps = quiet_steps(16, &mut state);
    steps[8] = 6.0; // commit 9: a real step, every later build keeps it
    steps[0] = -10.0; // commit 1 against a base build that was slow by its layout
    steps[3] = 8.0; // commit 4's build is slow by its layout, commit 5's is not
    steps[4] = -8.0;
    // A compare whose five rounds agreed by chance: a tiny interval.
    let mut history_steps = steps.clone();
    history_steps[12] = 1.0;
    let (mut history, line) = history_of(&levels, &history_steps);
    history.steps[12]
        .metrics
        .get_mut("rag_query.latency")
        .unwrap()
        .se = 1e-4;
    let built = series_of(&history, &line);
    let s = &built.series[0];
    let found: Vec<String> = s
        .change_points
        .iter()
        .map(|c| s.points[c.index].commit.id.clone())
        .collect();
    assert_eq!(found, [commit(9).id], "{:?}", s.change_points);
    assert!(matches!(
        s.change_points[0].evidence,
        Evidence::PairedOnly(_)
    ));
    // That compare alone is no certainty: its variance is moderated
    // towards the others' before it is tested.
    let compares = Compares::of(&history, &line, ProfileName::Quick, "rag_query.latency");
    let lucky = compares.over(12, 13).unwrap();
    assert!(lucky.p_value > Options::default().alpha, "{lucky:?}");
    // Below the step the machine resolves, nothing is reported.
    let built = build(
        &history,
        &line,
        ProfileName::Quick,
        &Options::default(),
        &|_, _| 7.0,
    );
    assert!(built.series[0].change_points.is_empty());
}

/// The report's trend section marks the recorded history's change points:
/// section 8 lists them and names `charts/recorded.svg`, which draws the
/// series with each change point as a dashed line before its commit,
/// labelled with its size.
#[test]
fn the_recorded_history_chart_marks_its_change_points() {
    let mut state = 9;
    let mut history = History::default();
    for i in 0..12 {
        // +12% from commit 7 on.
        let level = if i >= 7 { 2.24 } else { 2.0 };
        let samples = (0..40)
            .map(|_| level * (1.0 + 0.01 * normal(&mut state)))
            .collect();
        let run = baseline(&[(
            WorkloadName::RagQuery,
            "latency",
            Unit::Milliseconds,
            Better::Lower,
            samples,
        )]);
        history.commits.push(CommitRecord::of(&run, commit(i)));
    }
    let line: Vec<String> = (0..12).map(|i| commit(i).id).collect();
    let built = build(
        &history,
        &line,
        ProfileName::Quick,
        &Options::default(),
        &|_, _| 0.0,
    );
    assert_eq!(built.series[0].change_points.len(), 1);
    let step = format!("{:+.1}%", built.series[0].change_points[0].change_pct);

    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), true, true);
    let mut with = inputs(dir.path());
    with.recorded = Some(Recorded {
        source: "baselines/records".into(),
        machine: "the fixture machine".into(),
        series: built.series,
        off_line: 0,
        other_plan: 0,
    });
    let report = render(&with).unwrap();
    let chart = report
        .charts
        .iter()
        .find(|c| c.path == "charts/recorded.svg")
        .expect("the recorded history is charted");
    assert!(
        chart.title.contains("1 change point dashed"),
        "{}",
        chart.title
    );
    if let Ok(dump) = std::env::var("DUMP_RECORDED_SVG") {
        std::fs::write(dump, &chart.svg).unwrap();
    }
    assert!(chart.svg.contains(&step), "the step's size labels its line");
    // The dashed line sits between commit 6 and 7 (x = 6.5 of 0..11): in
    // the drawing, between those two points' circles.
    let circles: Vec<f64> = chart
        .svg
        .split("<circle")
        .skip(1)
        .filter(|c| c.contains("fill=\"#0072B2\""))
        .map(|c| {
            c.split("cx=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(circles.len(), 12);
    let label_x: f64 = chart
        .svg
        .split("<text")
        .find(|t| t.contains(&step))
        .and_then(|t| t.split("x=\"").nth(1))
        .and_then(|x| x.split('"').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        circles[6] < label_x && label_x < circles[7],
        "{circles:?} {label_x}"
    );
    assert!(report.markdown.contains("`charts/recorded.svg`"));
    assert!(report
        .markdown
        .contains(&format!("at `{}", &commit(7).id[..10])));

    // Without records there is no such chart.
    let report = render(&inputs(dir.path())).unwrap();
    assert!(report
        .charts
        .iter()
        .all(|c| c.path != "charts/recorded.svg"));
}
