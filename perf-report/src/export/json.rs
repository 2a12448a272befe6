//! The JSON exporter: a judgement's own fields; a run's rows with their
//! figures as numbers (the run file itself holds every sample).

use perf_contract::{plan::WorkloadName, schema::Unit, summary::Interval};
use serde::Serialize;

use super::{headline::every_row, Document, Exporter};

pub struct Json;

impl Exporter for Json {
    fn serialize(&self, doc: &Document) -> String {
        let text = match doc {
            Document::Judgement { judgement, .. } => serde_json::to_string_pretty(judgement),
            Document::Run {
                run,
                run_file,
                rows,
            } => {
                let shown = rows.of(run);
                serde_json::to_string_pretty(&RunJson {
                    run_file,
                    more_metrics: every_row(run).len() - shown.len(),
                    rows: shown
                        .iter()
                        .map(|r| RowJson {
                            workload: r.workload,
                            metric: r.name.as_str(),
                            unit: r.metric.unit,
                            n: r.metric.summary.count,
                            median: r.metric.summary.median,
                            median_ci: r.metric.summary.median_ci,
                            p95: r.metric.summary.p95,
                        })
                        .collect(),
                })
            }
        };
        format!("{}\n", text.expect("plain data serialises"))
    }
}

#[derive(Serialize)]
struct RunJson<'a> {
    run_file: &'a str,
    rows: Vec<RowJson<'a>>,
    /// Metrics of the run that `rows` leaves out.
    more_metrics: usize,
}

#[derive(Serialize)]
struct RowJson<'a> {
    workload: WorkloadName,
    metric: &'a str,
    unit: Unit,
    n: usize,
    median: f64,
    median_ci: Option<Interval>,
    p95: f64,
}
