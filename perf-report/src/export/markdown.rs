//! The markdown exporter: a judgement as a `###` section (a pull-request
//! comment, the job summary, the report's comparison); a run's rows as a
//! GitHub table.

use crate::{
    judgement::Judgement,
    table::{format_range, format_value},
};

use super::{
    comparisons::comparison_markdown,
    guards::guards_markdown,
    headline::{every_row, rest_line},
    markdown_table::MarkdownTable,
    Document, Exporter,
};

pub struct Markdown;

impl Exporter for Markdown {
    fn serialize(&self, doc: &Document) -> String {
        match doc {
            Document::Judgement {
                judgement,
                title,
                appendix,
            } => {
                let mut out = judgement_markdown(judgement, title);
                if let Some(a) = appendix {
                    out.push_str(a.markdown);
                }
                out
            }
            Document::Run {
                run,
                run_file,
                rows,
            } => {
                let shown = rows.of(run);
                let mut table = MarkdownTable::new(&[
                    ("workload", false),
                    ("metric", false),
                    ("n", true),
                    ("median", true),
                    ("95% CI", true),
                    ("p95", true),
                ]);
                for r in &shown {
                    let (s, unit) = (&r.metric.summary, r.metric.unit);
                    table.row(vec![
                        r.workload.to_string(),
                        r.name.to_string(),
                        r.metric.count_label(),
                        format_value(s.median, unit),
                        format_range(s.median_ci, unit),
                        format_value(s.p95, unit),
                    ]);
                }
                let mut out = table.render();
                if let Some(rest) = rest_line(shown.len(), every_row(run).len()) {
                    out.push_str(&format!("\n{rest}\n"));
                }
                out.push_str(&format!("\nthis run: `{run_file}`\n"));
                out
            }
        }
    }
}

/// The judgement as a markdown block under `title` (a `###` heading).
fn judgement_markdown(j: &Judgement, title: &str) -> String {
    let mut out = format!("### {title}\n\n");
    if j.foreign_baseline {
        out.push_str("> **Foreign baseline**: recorded on a different machine.\n\n");
    }
    out.push_str(&comparison_markdown(&j.comparisons));
    if !j.guards.is_empty() {
        out.push('\n');
        out.push_str(&guards_markdown(&j.guards));
    }
    for n in &j.notes {
        out.push_str(&format!("\n- {n}"));
    }
    out.push_str(&format!("\n\n**{}**\n", j.verdict_line()));
    out
}
