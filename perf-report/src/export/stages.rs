//! The stage breakdown of a judgement: for each workload with a metric
//! that regressed or improved, its stages base → candidate, so a
//! regression names where in the pipeline it happened.

use std::collections::BTreeSet;

use crate::{
    compare::Verdict, export::comparisons::verdict_label, judgement::Judgement, table::format_value,
};

/// One line per moved workload: `rag_query stages, base → candidate:
/// stage.embed 14.87 ms → 16.16 ms (+9.0%, regressed); …`.
pub fn moved_stages(j: &Judgement) -> Vec<String> {
    let moved: BTreeSet<_> = j
        .comparisons
        .iter()
        .filter(|c| {
            c.change
                .as_ref()
                .is_some_and(|m| matches!(m.verdict, Verdict::Regressed | Verdict::Improved))
        })
        .map(|c| c.workload)
        .collect();
    let mut out = Vec::new();
    for w in moved {
        let stages: Vec<String> = j
            .comparisons
            .iter()
            .filter(|c| c.workload == w && c.metric.kind().stage().is_some())
            .filter_map(|c| {
                let m = c.change.as_ref()?;
                Some(format!(
                    "{} {} → {} ({:+.1}%, {})",
                    c.metric,
                    format_value(m.baseline_median?, c.unit),
                    format_value(m.current_median?, c.unit),
                    m.change_pct?,
                    verdict_label(m)
                ))
            })
            .collect();
        if !stages.is_empty() {
            out.push(format!(
                "{w} stages, base → candidate: {}",
                stages.join("; ")
            ));
        }
    }
    out
}
