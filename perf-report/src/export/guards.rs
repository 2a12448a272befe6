//! The quality guards of a judgement, as a terminal table and as markdown.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use crate::{export::markdown_table::MarkdownTable, guards::GuardResult};

const HEADER: [&str; 5] = ["quality guard", "baseline", "current", "rule", "result"];

fn row(g: &GuardResult) -> [String; 5] {
    [
        g.metric.clone(),
        g.baseline.map_or("–".into(), |b| format!("{b:.4}")),
        format!("{:.4}", g.current),
        g.rule.clone(),
        if g.passed { "pass" } else { "FAIL" }.into(),
    ]
}

pub fn guards_table(guards: &[GuardResult]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_header(HEADER.to_vec());
    for g in guards {
        t.add_row(row(g).to_vec());
    }
    t
}

pub fn guards_markdown(guards: &[GuardResult]) -> String {
    let mut t = MarkdownTable::new(&[
        (HEADER[0], false),
        (HEADER[1], true),
        (HEADER[2], true),
        (HEADER[3], false),
        (HEADER[4], false),
    ]);
    for g in guards {
        t.row(row(g).to_vec());
    }
    t.render()
}
