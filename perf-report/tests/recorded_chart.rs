//! The report's trend section marks the recorded history's change points:
//! section 8 lists them and names `charts/recorded.svg`, which draws the
//! series with each change point as a dashed line before its commit,
//! labelled with its size.

mod support;

use chrono::{Duration, TimeZone, Utc};
use perf_contract::{
    fixture::{baseline, normal},
    plan::{ProfileName, WorkloadName},
    schema::{Better, Unit},
};
use perf_report::{
    history::{
        change_points::Options,
        load::History,
        record::{Commit, CommitRecord},
        series::build,
    },
    report::{render, Recorded},
};
use support::{inputs, write_fixture};

fn commit(i: usize) -> Commit {
    Commit {
        id: format!("{:07x}{i:033x}", 0xabc0000 + i),
        subject: format!("commit {i}"),
        time: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap() + Duration::hours(i as i64),
    }
}

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
    assert!(report.markdown.contains("at `abc0007"));

    // Without records there is no such chart.
    let report = render(&inputs(dir.path())).unwrap();
    assert!(report
        .charts
        .iter()
        .all(|c| c.path != "charts/recorded.svg"));
}
