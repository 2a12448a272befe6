//! The dashboard as a browser draws it: a history of two machines over
//! two metrics, rendered to a file and opened in Debian's headless
//! Chromium, whose dumped DOM must hold every chart, one line per machine
//! and no line across machines, the change-point marker, and the detail
//! panel the address asked for; and whose screenshot must not be blank.
//!
//! String tests of the page are in `src/dashboard/tests.rs`; this one is
//! about what the script makes of it.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use chrono::{TimeDelta, TimeZone, Utc};
use perf_contract::{
    schema::{Better, Unit},
    summary::Interval,
};
use perf_report::{
    dashboard::{render, Chart, Page},
    history::{
        change_points::ChangePoint,
        record::{Commit, Machine},
        series::{Series, SeriesPoint, StepSummary},
    },
};

/// The point the address opens: chart 0, series 1 (machine B), point 3.
const OPEN: (usize, usize, usize) = (0, 1, 3);
/// A PNG of this page blank or failed to draw is a few KB.
const MIN_SCREENSHOT_BYTES: u64 = 20_000;

fn commit(i: usize) -> Commit {
    // Hash-like ids, so their short forms differ as real ones do.
    let mix = |k: u64| {
        (i as u64 + k)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29)
    };
    Commit {
        id: format!("{:016x}{:016x}{:08x}", mix(1), mix(2), mix(3) as u32),
        subject: format!("Change {i}: tune the retrieval step"),
        time: Utc.with_ymd_and_hms(2025, 4, 1, 9, 30, 0).unwrap() + TimeDelta::hours(7 * i as i64),
    }
}

fn machine(id: &str, label: &str) -> Machine {
    Machine {
        id: id.into(),
        label: label.into(),
        fingerprint: format!("fp-{id}"),
        cpu_signature: format!("cpu-{id}"),
    }
}

/// One machine's series: `positions` are the commits it recorded, `base`
/// its speed; `change`, the point from which figures are multiplied by a
/// factor (a change point, and a compare against the parent recorded as
/// regressed there).
fn series(
    m: &Machine,
    metric: &str,
    (unit, better): (Unit, Better),
    positions: &[usize],
    base: f64,
    change: Option<(usize, f64)>,
) -> Series {
    let (at, factor) = change.unwrap_or((usize::MAX, 1.0));
    let pct = (factor - 1.0) * 100.0;
    let spread = pct.abs() * 0.3;
    let points = positions
        .iter()
        .enumerate()
        .map(|(k, &pos)| {
            let wobble = 1.0 + 0.01 * ((pos * 7 % 5) as f64 - 2.0);
            let median = base * wobble * if k >= at { factor } else { 1.0 };
            let step = if k == at {
                Some((pct, pct - spread, pct + spread, "regressed"))
            } else {
                (k == 3).then_some((0.4, -1.1, 1.9, "within noise"))
            };
            SeriesPoint {
                commit: commit(pos),
                position: pos,
                median,
                interval: Some(Interval {
                    low: median * 0.97,
                    high: median * 1.025,
                }),
                runs: 3,
                n: 60,
                step: step.map(|(change_pct, low_pct, high_pct, verdict)| StepSummary {
                    change_pct,
                    low_pct,
                    high_pct,
                    verdict: verdict.into(),
                }),
            }
        })
        .collect();
    Series {
        machine: m.clone(),
        metric: metric.into(),
        unit,
        better,
        points,
        set_aside: Vec::new(),
        change_points: change
            .map(|_| ChangePoint {
                index: at,
                change_pct: pct,
                low_pct: pct - spread,
                high_pct: pct + spread,
                p_value: 0.002,
                evidence: Default::default(),
            })
            .into_iter()
            .collect(),
    }
}

/// Two machines, A on commits 0..8, B on 0..=8 but 4; two metrics.
fn history() -> Vec<Vec<Series>> {
    let a = machine("a1b2c3", "Zen 4 runner");
    let b = machine("d4e5f6", "Laptop i7");
    let on_a: Vec<usize> = (0..8).collect();
    let on_b: Vec<usize> = (0..=8).filter(|&p| p != 4).collect();
    let latency = ("rag_query.latency", (Unit::Milliseconds, Better::Lower));
    let throughput = ("ingest.throughput", (Unit::DocsPerSecond, Better::Higher));
    vec![
        vec![
            series(&a, latency.0, latency.1, &on_a, 42.0, Some((5, 1.06))),
            series(&b, latency.0, latency.1, &on_b, 61.0, None),
        ],
        vec![
            series(&a, throughput.0, throughput.1, &on_a, 900.0, None),
            series(
                &b,
                throughput.0,
                throughput.1,
                &on_b,
                610.0,
                Some((4, 0.93)),
            ),
        ],
    ]
}

fn chromium() -> PathBuf {
    let path =
        std::env::var_os("CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    assert!(
        path.is_file(),
        "no Chromium at {}: apt-get install chromium (or set CHROMIUM)",
        path.display()
    );
    path
}

/// Runs Chromium headless on `url`; its stdout. Its stderr is noise
/// (GPU, D-Bus), so only its exit status is checked.
fn headless(browser: &Path, profile: &Path, url: &str, extra: &[String]) -> String {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .args(["--hide-scrollbars", "--window-size=1200,1600"])
        .arg("--virtual-time-budget=5000")
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("cannot start chromium");
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The opening tags `<name ...>` in `html`, in order.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&open) {
        let end = at + rest[at..].find('>').expect("tag closed");
        out.push(&rest[at..=end]);
        rest = &rest[end..];
    }
    out
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    Some(&tag[start..start + tag[start..].find('"')?])
}

/// From `<name` with `marker` in its opening tag to its closing tag
/// (elements of these names do not nest here).
fn element<'a>(html: &'a str, name: &str, marker: &str) -> &'a str {
    let tag = tags(html, name)
        .into_iter()
        .find(|t| t.contains(marker))
        .unwrap_or_else(|| panic!("no <{name}> with {marker}"));
    let start = html.find(tag).unwrap();
    let close = format!("</{name}>");
    let end = start + html[start..].find(&close).expect("element closed");
    &html[start..end + close.len()]
}

/// (cx, cy) of each point of `machine` in `svg`, in drawing order.
fn centres(svg: &str, machine: &str) -> Vec<String> {
    tags(svg, "circle")
        .into_iter()
        .filter(|t| attr(t, "class").is_some_and(|c| c.split(' ').any(|c| c == "pt")))
        .filter(|t| attr(t, "data-machine") == Some(machine))
        .map(|t| format!("{},{}", attr(t, "cx").unwrap(), attr(t, "cy").unwrap()))
        .collect()
}

fn check_charts(dom: &str, history: &[Vec<Series>]) {
    for (c, chart) in history.iter().enumerate() {
        let svg = element(dom, "svg", &format!("data-chart=\"{c}\""));
        let total: usize = chart.iter().map(|s| s.points.len()).sum();
        let head = tags(svg, "svg")[0];
        assert_eq!(attr(head, "data-points"), Some(total.to_string().as_str()));
        assert!(svg.contains("<title"), "chart {c} has no title");
        let lines = tags(svg, "polyline");
        assert_eq!(lines.len(), chart.len(), "chart {c}: one line per machine");
        for (line, s) in lines.iter().zip(chart) {
            let id = s.machine.id.as_str();
            assert_eq!(attr(line, "data-machine"), Some(id));
            let vertices: Vec<String> = attr(line, "points")
                .unwrap()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            assert_eq!(vertices.len(), s.points.len(), "chart {c}, {id}");
            // The line goes through exactly this machine's points, and
            // through no other machine's.
            assert_eq!(vertices, centres(svg, id), "chart {c}, {id}");
        }
        let dots = tags(svg, "circle")
            .into_iter()
            .filter(|t| attr(t, "class").is_some_and(|c| c.split(' ').any(|c| c == "pt")))
            .count();
        assert_eq!(dots, total, "chart {c}: every point drawn, none twice");
        let section = element(dom, "section", &format!("id=\"chart-{c}\""));
        for s in chart {
            assert!(section.contains(&s.machine.label), "chart {c}'s legend");
        }
        let bars = tags(svg, "path")
            .into_iter()
            .filter(|t| attr(t, "class") == Some("err"))
            .count();
        assert_eq!(bars, total, "chart {c}: an error bar per point");
    }
    // Chart 0's change point is machine A's, before its point 5.
    let svg0 = element(dom, "svg", "data-chart=\"0\"");
    let marker = tags(svg0, "g")
        .into_iter()
        .find(|t| attr(t, "class") == Some("cp"))
        .expect("a change-point marker");
    assert_eq!(attr(marker, "data-index"), Some("5"));
    assert_eq!(attr(marker, "data-machine"), Some("a1b2c3"));
    assert!(svg0.contains("+6.0% [+4.2, +7.8]"), "the marker's label");
}

fn check_detail(dom: &str, history: &[Vec<Series>]) {
    let (c, s, p) = OPEN;
    let point = &history[c][s].points[p];
    let panel = element(dom, "aside", "id=\"detail\"");
    let head = tags(panel, "aside")[0];
    assert!(!head.contains(" hidden"), "the panel is open: {head}");
    assert_eq!(attr(head, "data-point"), Some("0/1/3"));
    for text in [
        point.commit.id.as_str(),
        &point.commit.id[..7],
        point.commit.subject.as_str(),
        "Laptop i7",
        "within noise",
        "+0.4% [-1.1, +1.9]",
        " ms",
        "n = 60",
    ] {
        assert!(panel.contains(text), "the panel lacks {text:?}: {panel}");
    }
    // Under its own chart: after chart 0's plot, before chart 1.
    let at = dom.find("id=\"detail\"").unwrap();
    assert!(dom.find("id=\"chart-0\"").unwrap() < at && at < dom.find("id=\"chart-1\"").unwrap());
    let link = format!(
        "href=\"https://github.com/org/repo/commit/{}\"",
        point.commit.id
    );
    assert!(panel.contains(&link), "the id links to its commit page");
    let dot = tags(dom, "circle")
        .into_iter()
        .find(|t| attr(t, "class").is_some_and(|c| c.contains("selected")))
        .expect("the chosen point is marked");
    assert_eq!(attr(dot, "data-commit"), Some(point.commit.id.as_str()));
}

#[test]
#[ignore = "runs Debian's chromium headless; CI runs ignored tests (cargo xtask test -- --include-ignored)"]
fn chromium_draws_two_machines_apart_and_opens_the_addressed_point() {
    let browser = chromium();
    let history = history();
    let page = Page {
        title: "Performance history",
        generated: "2025-04-10 08:00 UTC",
        commit_url: Some("https://github.com/org/repo/commit/{commit}"),
        charts: history
            .iter()
            .map(|series| Chart {
                metric: &series[0].metric,
                description: "Median per commit over the recorded runs",
                series: series.iter().collect(),
            })
            .collect(),
    };
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index.html");
    std::fs::write(&index, render(&page)).unwrap();
    let (c, s, p) = OPEN;
    let url = format!("file://{}#point={c}/{s}/{p}", index.display());

    let dom = headless(
        &browser,
        &dir.path().join("profile-dom"),
        &url,
        &["--dump-dom".into()],
    );
    let body = tags(&dom, "body").into_iter().next().expect("a body");
    assert_eq!(attr(body, "data-rendered"), Some("2"), "{body}");
    check_charts(&dom, &history);
    check_detail(&dom, &history);

    let png = dir.path().join("dashboard.png");
    headless(
        &browser,
        &dir.path().join("profile-shot"),
        &url,
        &[format!("--screenshot={}", png.display())],
    );
    let bytes = std::fs::read(&png).expect("a screenshot");
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    assert!(
        bytes.len() as u64 > MIN_SCREENSHOT_BYTES,
        "the screenshot is {} bytes: blank?",
        bytes.len()
    );
    println!("dashboard screenshot: {} bytes", bytes.len());
}
