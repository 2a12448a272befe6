//! The dashboard at the string level: escaping, the one data block and
//! script, the fallback tables, the empty history. What the browser draws
//! from them is `tests/dashboard_browser.rs`.

use chrono::{TimeZone, Utc};
use perf_contract::{
    schema::{Better, Unit},
    summary::Interval,
};

use super::{render, Chart, Page};
use crate::history::{
    change_points::ChangePoint,
    record::{Commit, Machine},
    series::{Series, SeriesPoint, StepSummary},
};

const HOSTILE: &str = "</script><script>alert(1)</script> <!-- & \"quoted\"";

fn machine(id: &str, label: &str) -> Machine {
    Machine {
        id: id.into(),
        label: label.into(),
        fingerprint: format!("fp-{id}"),
        cpu_signature: "x86_64 test".into(),
    }
}

fn commit(i: usize) -> Commit {
    Commit {
        id: format!("{i:02}{}", "ab".repeat(19)),
        subject: if i == 2 {
            HOSTILE.into()
        } else {
            format!("Commit number {i}")
        },
        time: Utc.with_ymd_and_hms(2025, 3, 1, 12, i as u32, 0).unwrap(),
    }
}

fn series(m: Machine, metric: &str, commits: usize) -> Series {
    let points = (0..commits)
        .map(|i| {
            let median = 10.0 + i as f64 * 0.1;
            SeriesPoint {
                commit: commit(i),
                position: i,
                median,
                interval: Some(Interval {
                    low: median * 0.98,
                    high: median * 1.02,
                }),
                runs: 2,
                n: 40,
                step: (i == 3).then(|| StepSummary {
                    change_pct: 5.2,
                    low_pct: 3.1,
                    high_pct: 7.4,
                    verdict: "regressed".into(),
                }),
            }
        })
        .collect();
    Series {
        machine: m,
        metric: metric.into(),
        unit: Unit::Milliseconds,
        better: Better::Lower,
        points,
        set_aside: Vec::new(),
        change_points: vec![ChangePoint {
            index: 3,
            change_pct: 5.2,
            low_pct: 3.1,
            high_pct: 7.4,
            p_value: 0.004,
            evidence: Default::default(),
        }],
    }
}

fn page<'a>(series: &'a [Series], url: Option<&'a str>) -> Page<'a> {
    Page {
        title: "History <of> rag",
        generated: "2025-03-02 10:00 UTC",
        commit_url: url,
        charts: vec![Chart {
            metric: "rag_query.latency",
            description: "End-to-end query time",
            series: series.iter().collect(),
        }],
    }
}

/// The text of the JSON data block.
fn data_block(html: &str) -> &str {
    let open = "<script type=\"application/json\" id=\"data\">";
    let start = html.find(open).expect("a data block") + open.len();
    let end = start + html[start..].find("</script>").expect("closed");
    &html[start..end]
}

#[test]
fn a_hostile_subject_stays_inside_the_json() {
    let s = [series(machine("a1", "Box A"), "rag_query.latency", 4)];
    let html = render(&page(&s, None));
    assert!(
        !html.contains("<script>alert(1)"),
        "raw subject in the page"
    );
    assert!(!html.contains("<!--"), "a comment opened");
    // The data block and the script: nothing else closes a script.
    assert_eq!(html.matches("</script>").count(), 2);
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;alert(1)"));
    assert!(html.contains("<title>History &lt;of&gt; rag</title>"));
    let json: serde_json::Value = serde_json::from_str(data_block(&html)).unwrap();
    assert_eq!(
        json["charts"][0]["series"][0]["points"][2]["commit"]["subject"], HOSTILE,
        "the escapes read back as the subject"
    );
}

#[test]
fn one_data_block_and_one_drawing_script() {
    let s = [
        series(machine("a1", "Box A"), "rag_query.latency", 5),
        series(machine("b2", "Box B"), "rag_query.latency", 3),
    ];
    let html = render(&page(&s, None));
    assert_eq!(html.matches("id=\"data\"").count(), 1);
    assert_eq!(html.matches("<script>").count(), 1);
    assert!(html.contains("createElementNS"), "the script draws SVG");
    assert!(html.contains("<style>") && !html.contains("<link"));
    assert!(!html.contains(" src="), "the page loads nothing");
    let json: serde_json::Value = serde_json::from_str(data_block(&html)).unwrap();
    let series = json["charts"][0]["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[1]["machine"]["id"], "b2");
    assert_eq!(series[1]["points"].as_array().unwrap().len(), 3);
    assert_eq!(series[0]["points"][0]["median_text"], "10.00 ms");
    assert_eq!(series[0]["change_points"][0]["label"], "+5.2% [+3.1, +7.4]");
    assert_eq!(json["machines"], 2);
    assert_eq!(json["commits"], 5);
    assert!(html.contains("2 machines · 5 commits · 1 metric"));
    assert!(html.contains("never joined"));
    assert!(html.contains("lower is better · ms"));
}

#[test]
fn the_fallback_table_lists_every_point() {
    let s = [
        series(machine("a1", "Box A"), "rag_query.latency", 6),
        series(machine("b2", "Box B"), "rag_query.latency", 4),
    ];
    let html = render(&page(&s, None));
    assert!(html.contains("<noscript>"));
    assert!(html.contains("Table of the 10 points"));
    assert_eq!(html.matches("<tr class=\"m").count(), 10);
    for p in s.iter().flat_map(|s| &s.points) {
        assert!(html.contains(&format!("data-commit=\"{}\"", p.commit.id)));
    }
    assert!(html.contains("Commit number 5"));
    assert!(html.contains("+5.2% [+3.1, +7.4], regressed"));
    assert_eq!(
        html.matches("<tr class=\"change-row\">").count(),
        2,
        "one row per machine's change point"
    );
    assert!(html.contains("[9.800, 10.20] ms"));
}

#[test]
fn ids_link_to_the_commit_page_when_asked() {
    let s = [series(machine("a1", "Box A"), "rag_query.latency", 2)];
    let url = "https://github.com/org/repo/commit/{commit}";
    let html = render(&page(&s, Some(url)));
    let id = &s[0].points[1].commit.id;
    let link = format!("https://github.com/org/repo/commit/{id}");
    assert!(html.contains(&format!("<a href=\"{link}\"")));
    let json: serde_json::Value = serde_json::from_str(data_block(&html)).unwrap();
    assert_eq!(json["charts"][0]["series"][0]["points"][1]["url"], link);
    let plain = render(&page(&s, None));
    assert!(!plain.contains("<a href"));
}

#[test]
fn a_machine_keeps_its_colour_and_shared_labels_get_ids() {
    let a = series(machine("a1", "Same"), "w.x", 2);
    let b = series(machine("b2", "Same"), "w.x", 2);
    let b_y = series(machine("b2", "Same"), "w.y", 2);
    let html = render(&Page {
        title: "t",
        generated: "now",
        commit_url: None,
        charts: vec![
            Chart {
                metric: "w.y",
                description: "",
                series: vec![&b_y],
            },
            Chart {
                metric: "w.x",
                description: "",
                series: vec![&a, &b],
            },
        ],
    });
    let json: serde_json::Value = serde_json::from_str(data_block(&html)).unwrap();
    assert_eq!(json["charts"][0]["series"][0]["class"], "m1 d0");
    assert_eq!(json["charts"][1]["series"][1]["class"], "m1 d0");
    assert_eq!(json["charts"][1]["series"][0]["class"], "m0 d0");
    assert_eq!(json["charts"][1]["series"][0]["name"], "Same (a1)");
}

#[test]
fn an_empty_history_says_how_to_record() {
    let html = render(&Page {
        title: "Performance history",
        generated: "2025-03-02",
        commit_url: None,
        charts: Vec::new(),
    });
    assert!(html.contains("Nothing recorded yet"));
    assert!(html.contains("cargo xtask perf baseline --record"));
    assert!(!html.contains("<section class=\"chart\""));
    assert!(html.contains("0 machines · 0 commits · 0 metrics"));
    let json: serde_json::Value = serde_json::from_str(data_block(&html)).unwrap();
    assert_eq!(json["charts"].as_array().unwrap().len(), 0);
}
