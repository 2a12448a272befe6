//! Section 2: the machine and software the baseline was measured on, as the
//! baseline recorded them: figures are only comparable within one
//! fingerprint.

use super::heading;
use crate::export::markdown_table::MarkdownTable;
use crate::{report::ReportInputs, table::format_value};
use perf_contract::schema::Unit;

pub fn section(inputs: &ReportInputs) -> String {
    let b = &inputs.baseline;
    let e = &b.environment;
    let mut t = MarkdownTable::new(&[("item", false), ("value", false)]);
    let mut row = |k: &str, v: String| {
        t.row(vec![k.to_string(), v]);
    };
    row(
        "machine fingerprint",
        format!("`{}`", b.machine_fingerprint),
    );
    row("CPU", e.cpu_model.clone());
    row(
        "cores",
        format!(
            "{} logical, {} physical",
            e.logical_cores,
            e.physical_cores
                .map_or("unknown".to_string(), |p| p.to_string())
        ),
    );
    row("memory", format_value(e.memory_bytes as f64, Unit::Bytes));
    row("OS", format!("{} (kernel {}, {})", e.os, e.kernel, e.arch));
    row("hostname", e.hostname.clone());
    row("rustc", e.rustc.clone());
    let dirty = match e.git_dirty {
        Some(true) => " (uncommitted changes to tracked files)",
        Some(false) => " (clean tree)",
        None => "",
    };
    row(
        "git commit",
        format!("`{}`{dirty}", e.git_commit.as_deref().unwrap_or("unknown")),
    );
    let threads = match b.plan.threads {
        0 => "all logical cores".to_string(),
        n => n.to_string(),
    };
    row(
        "model threads",
        format!("{} used (planned: {threads})", b.context.threads),
    );
    if !b.context.counting.is_empty() {
        row("counting", b.context.counting.clone());
    }
    let mut out = heading(2);
    out.push_str(&t.render());
    out.push('\n');
    out
}
