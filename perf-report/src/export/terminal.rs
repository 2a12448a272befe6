//! The terminal exporter: comfy-table tables, notes and the verdict line
//! of a judgement; a run's headline summary (one screen: at most
//! [`SUMMARY_WIDTH`] columns) or every metric.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, ContentArrangement, Table};

use crate::{
    judgement::Judgement,
    table::{format_number, format_range, format_value, summary_table},
};

use super::{
    comparisons::comparison_table,
    guards::guards_table,
    headline::{every_row, headline_rows, rest_line, Row},
    Document, Exporter, Rows,
};

/// Columns of the headline summary: it must read on a 100-column terminal
/// without a cell wrapping.
pub const SUMMARY_WIDTH: u16 = 100;

pub struct Terminal;

impl Exporter for Terminal {
    fn serialize(&self, doc: &Document) -> String {
        match doc {
            Document::Judgement {
                judgement,
                appendix,
                ..
            } => {
                let mut out = judgement_text(judgement);
                if let Some(a) = appendix {
                    out.push_str(a.terminal);
                }
                out
            }
            Document::Run {
                run,
                run_file,
                rows: Rows::All,
            } => format!("{}\nthis run: {run_file}\n", summary_table(run)),
            Document::Run {
                run,
                run_file,
                rows: Rows::Headline,
            } => {
                let rows = headline_rows(run);
                let mut out = String::new();
                if !rows.is_empty() {
                    out.push_str(&format!("{}\n", headline_table(&rows)));
                }
                if let Some(rest) = rest_line(rows.len(), every_row(run).len()) {
                    out.push_str(&format!("{rest}\n"));
                }
                out.push_str(&format!("this run: {run_file}\n"));
                out
            }
        }
    }
}

/// Tables, notes and the verdict line, as `check` prints them.
fn judgement_text(j: &Judgement) -> String {
    let mut out = format!("{}\n", comparison_table(&j.comparisons));
    if !j.guards.is_empty() {
        out.push_str(&format!("{}\n", guards_table(&j.guards)));
    }
    for n in &j.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out.push_str(&j.verdict_line());
    out.push('\n');
    out
}

/// The headline rows, grouped by workload (its name on its first row),
/// the interval and p95 without the unit the median beside them carries
/// (with it, `llamacpp.decode_tokens_per_s` wrapped in 100 columns).
fn headline_table(rows: &[Row]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(SUMMARY_WIDTH)
        .set_header(vec!["workload", "metric", "n", "median", "95% CI", "p95"]);
    let mut previous = None;
    for r in rows {
        let (s, unit) = (&r.metric.summary, r.metric.unit);
        let workload = match previous.replace(r.workload) {
            Some(w) if w == r.workload => "",
            _ => r.workload.as_str(),
        };
        table.add_row(vec![
            Cell::new(workload),
            Cell::new(r.name.as_str()),
            Cell::new(r.metric.count_label()),
            Cell::new(format_value(s.median, unit)),
            Cell::new(format_range(s.median_ci, unit)),
            Cell::new(format_number(s.p95, unit)),
        ]);
    }
    for i in 2..6 {
        if let Some(col) = table.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}
