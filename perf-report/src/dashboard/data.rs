//! The dashboard's model: each chart's series with every figure already
//! written out, the machines with their colours, and the JSON block the
//! script draws from.
//!
//! One model feeds both the fallback tables and the script, so what the
//! page prints without JavaScript and what the detail panel shows are the
//! same text.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{figures, Page};
use crate::history::{
    change_points::ChangePoint,
    record::Machine,
    series::{Series, SeriesPoint},
};

/// Everything the page shows.
#[derive(Debug, Serialize)]
pub struct Data<'a> {
    pub charts: Vec<ChartData<'a>>,
    /// Distinct machines and commits over all charts.
    pub machines: usize,
    pub commits: usize,
}

#[derive(Debug, Serialize)]
pub struct ChartData<'a> {
    pub metric: &'a str,
    pub description: &'a str,
    /// The unit's symbol, for the y axis; empty for a ratio or a count.
    pub unit: &'static str,
    /// "lower is better", "higher is better" or "informational".
    pub better: String,
    pub series: Vec<SeriesData<'a>>,
}

#[derive(Debug, Serialize)]
pub struct SeriesData<'a> {
    pub machine: &'a Machine,
    /// The label, with the id added when two machines share a label.
    pub name: String,
    /// Its colour and dash classes (`m3 d0`): the same machine looks the
    /// same in every chart. Eight colours, then the dashes tell apart
    /// machines that share one.
    pub class: String,
    pub points: Vec<PointData<'a>>,
    pub change_points: Vec<ChangeData<'a>>,
}

/// A point with its figures as the page writes them.
#[derive(Debug, Serialize)]
pub struct PointData<'a> {
    #[serde(flatten)]
    pub point: &'a SeriesPoint,
    pub short: &'a str,
    pub time_text: String,
    pub median_text: String,
    pub interval_text: Option<String>,
    /// The recorded compare against the parent, without its verdict.
    pub step_change: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ChangeData<'a> {
    #[serde(flatten)]
    pub change: &'a ChangePoint,
    pub label: String,
}

impl<'a> Data<'a> {
    pub fn of(page: &Page<'a>) -> Data<'a> {
        let all = || page.charts.iter().flat_map(|c| c.series.iter().copied());
        let machines: BTreeMap<&str, &Machine> =
            all().map(|s| (s.machine.id.as_str(), &s.machine)).collect();
        let commits: BTreeSet<&str> = all()
            .flat_map(|s| s.points.iter().map(|p| p.commit.id.as_str()))
            .collect();
        // Colours follow the machines' order, not the charts', so a page of
        // the same machines colours them alike whatever metric comes first.
        let colour: BTreeMap<&str, usize> = machines
            .keys()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        let mut labels: BTreeMap<&str, usize> = BTreeMap::new();
        for m in machines.values() {
            *labels.entry(m.label.as_str()).or_default() += 1;
        }
        let name = |m: &Machine| match labels.get(m.label.as_str()) {
            _ if m.label.is_empty() => m.id.clone(),
            Some(&n) if n > 1 => format!("{} ({})", m.label, m.id),
            _ => m.label.clone(),
        };
        let charts = page
            .charts
            .iter()
            .map(|c| ChartData {
                metric: c.metric,
                description: c.description,
                unit: c.series.first().map_or("", |s| s.unit.symbol()),
                better: c
                    .series
                    .first()
                    .map_or_else(String::new, |s| s.better.to_string()),
                series: c
                    .series
                    .iter()
                    .map(|s| SeriesData {
                        machine: &s.machine,
                        name: name(&s.machine),
                        class: style_class(colour[s.machine.id.as_str()]),
                        points: s
                            .points
                            .iter()
                            .map(|p| PointData::of(p, s, page.commit_url))
                            .collect(),
                        change_points: s
                            .change_points
                            .iter()
                            .map(|change| ChangeData {
                                change,
                                label: figures::change_point(change),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        Data {
            charts,
            machines: machines.len(),
            commits: commits.len(),
        }
    }

    /// The model as JSON to put inside `<script type="application/json">`.
    ///
    /// Only strings can hold `<`, `>` or `&` in JSON text, and there the
    /// `\u` escapes read back as the same characters: so no subject can
    /// close the script element (`</script>`) or open a comment (`<!--`).
    pub fn script_json(&self) -> String {
        serde_json::to_string(self)
            .expect("the model is plain data")
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    }
}

/// Colours in the style sheet's palette.
const COLOURS: usize = 8;
/// Dash patterns in the style sheet.
const DASHES: usize = 3;

fn style_class(machine: usize) -> String {
    format!("m{} d{}", machine % COLOURS, (machine / COLOURS) % DASHES)
}

impl<'a> PointData<'a> {
    fn of(point: &'a SeriesPoint, series: &Series, url: Option<&str>) -> PointData<'a> {
        PointData {
            point,
            short: figures::short_id(&point.commit.id),
            time_text: figures::time(&point.commit.time),
            median_text: figures::with_unit(point.median, series.unit),
            interval_text: point
                .interval
                .as_ref()
                .map(|i| figures::interval(i, series.unit)),
            step_change: point
                .step
                .as_ref()
                .map(|s| figures::change(s.change_pct, s.low_pct, s.high_pct)),
            url: figures::commit_url(url, &point.commit.id),
        }
    }
}
