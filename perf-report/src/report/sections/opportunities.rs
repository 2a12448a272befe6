//! Section 7: the optimisation opportunities derived from the bottlenecks,
//! each with the saving the profile predicts and, for those carried out
//! (`baselines/optimisations.toml`), the saving measured afterwards.

use super::{bottlenecks::pct, heading, profile_missing};
use crate::{
    export::markdown_table::MarkdownTable,
    report::{
        opportunities::{opportunities, Opportunity, ShareSource},
        optimisations::{entry_for, Done},
        ReportInputs,
    },
    table::format_value,
};
use perf_contract::metric_key::MetricKind;

pub fn section(inputs: &ReportInputs) -> String {
    let mut out = heading(7);
    let Some(p) = &inputs.profile else {
        out.push_str(&format!("Not available: {}.\n\n", profile_missing(inputs)));
        return out;
    };
    let ops = opportunities(
        p.bottlenecks.as_deref().unwrap_or_default(),
        p.summary.as_ref(),
        &p.family_shares,
    );
    if ops.is_empty() {
        out.push_str("No bottleneck to turn into an opportunity.\n\n");
        return out;
    }
    out.push_str(
        "Each bottleneck becomes a concrete change. The gain is Amdahl's law: if the change makes a part `p` of the workload's wall time `s` times faster, the workload saves `p × (1 − 1/s)` of its time and runs `1 / (1 − p × (1 − 1/s))` times faster. `p` comes from the profile: for a change to one family of functions (matrix multiply, GELU, softmax, copies, spinning) it is that family's share of the workload's CPU samples over every stack of the profile run, each sample counted for the innermost family on its stack, so that the shares never add up past the whole (and scaled down together where one stage's add up to more than its wall share); for a change to a whole stage it is the stage's wall share. `s` is an assumption, stated and justified per kind of hotspot below. Ordered by saving per day of effort (effort: S ≤ 1 day, M ≤ 3 days, L more). A saving is of its own workload's wall time as the profile run measured it: a user of the RAG stack waits for `rag_query`, while `vector_query`'s time includes rebuilding its index. **predicted** is that saving; **measured** is the saving a `perf compare` run measured once the change was made, from `",
    );
    out.push_str(&inputs.optimisations_source);
    out.push_str("` (– where it has not been carried out).\n\n");
    if ops.iter().any(Opportunity::is_fallback) {
        out.push_str(&format!(
            "A `p` marked *(top functions)* or *(whole stage)* is a fallback: the profile run has no folded stacks for that workload (`{}`: runs older than this report's code), so `p` counts only the stage's top functions (a lower bound) or, without them, the whole stage (an upper bound). Run `cargo xtask perf profile` again for shares from every stack.\n\n",
            p.without_stacks.join("`, `")
        ));
    }
    let done = inputs.optimisations.as_deref().unwrap_or_default();
    let mut t = MarkdownTable::new(&[
        ("priority", true),
        ("opportunity", false),
        ("bottleneck", false),
        ("p (share of workload)", true),
        ("assumed s", true),
        ("predicted", true),
        ("measured", true),
        ("workload speed-up", true),
        ("effort", false),
        ("saving per day", true),
    ]);
    for (i, o) in ops.iter().enumerate() {
        let entry = entry_for(done, o);
        t.row(vec![
            (i + 1).to_string(),
            o.kind.label().to_string(),
            format!("#{} `{}` / `{}`", o.bottleneck, o.workload, o.stage),
            share(o),
            format!("{:.1}×", o.speedup),
            predicted(o, entry, inputs),
            entry.map_or_else(|| "–".to_string(), Done::measured),
            format!("{:.2}×", o.workload_speedup()),
            effort(o.effort_days),
            pct(o.gain_per_day()),
        ]);
    }
    out.push_str(&t.render());
    out.push('\n');
    out.push_str(&carried_out(inputs, &ops));
    for (i, o) in ops.iter().enumerate() {
        let book = o.kind.playbook();
        out.push_str(&format!(
            "{}. **{}** in `{}` / `{}`: {}.\n   - Why {:.1}×: {}.\n   - p: {}.\n",
            i + 1,
            o.kind.label(),
            o.workload,
            o.stage,
            book.action,
            o.speedup,
            book.why,
            o.share_basis
        ));
    }
    out.push('\n');
    out
}

/// `p`, flagged when it is a fallback estimate.
fn share(o: &Opportunity) -> String {
    match (o.is_fallback(), o.share_source) {
        (true, ShareSource::TopFunctions) => format!("{} *(top functions)*", pct(o.share)),
        (true, _) => format!("{} *(whole stage)*", pct(o.share)),
        (false, _) => pct(o.share),
    }
}

/// The predicted saving: the one recorded before the change for an
/// opportunity carried out (the current profile's figure beside it), else
/// the current one in the workload's own terms where known.
fn predicted(o: &Opportunity, entry: Option<&Done>, inputs: &ReportInputs) -> String {
    if let Some(d) = entry {
        return format!("{:.1}% (profile now: {})", d.predicted_pct, pct(o.saved));
    }
    let saved = pct(o.saved);
    let latency = inputs
        .baseline
        .workloads
        .iter()
        .find(|(w, _)| w.as_str() == o.workload)
        .and_then(|(_, r)| r.metrics.get(&MetricKind::Latency.key()));
    match latency {
        Some(m) if o.saved > 0.0 => format!(
            "{saved} (≈ {} of the {} mean `latency`)",
            format_value(o.saved * m.summary.mean, m.unit),
            format_value(m.summary.mean, m.unit)
        ),
        _ => saved,
    }
}

/// One line per carried-out opportunity: what it predicted, what it
/// measured, how.
fn carried_out(inputs: &ReportInputs, ops: &[Opportunity]) -> String {
    let done = inputs.optimisations.as_deref().unwrap_or_default();
    if done.is_empty() {
        let why = match inputs.optimisations {
            None => "does not exist",
            Some(_) => "has no entry",
        };
        return format!(
            "Carried out: none recorded yet (`{}` {why}).\n\n",
            inputs.optimisations_source
        );
    }
    let mut out = format!("Carried out (`{}`):\n\n", inputs.optimisations_source);
    for d in done {
        let stage = d
            .stage
            .as_ref()
            .map_or(String::new(), |s| format!(" / `{s}`"));
        let metric = d
            .metric
            .as_ref()
            .map_or(String::new(), |m| format!(" on `{m}`"));
        let listed = if ops.iter().any(|o| d.is_for(o)) {
            ""
        } else {
            "; not in the table: the current profile ranks no such opportunity"
        };
        out.push_str(&format!(
            "- {}: **{}** in `{}`{stage}: predicted {:.1}%, measured {}{metric}, n = {} pairs, by `{}`{listed}.\n",
            d.date,
            d.kind.label(),
            d.workload,
            d.predicted_pct,
            d.measured(),
            d.pairs,
            d.command,
        ));
    }
    out.push('\n');
    out
}

fn effort(days: f64) -> String {
    let size = if days <= 1.0 {
        "S"
    } else if days <= 3.0 {
        "M"
    } else {
        "L"
    };
    format!("{size} ({days} d)")
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;

    use perf_profile::{Bottleneck, FamilyShares};

    use super::*;
    use crate::{
        policy::Policy,
        report::{optimisations::parse, ProfileInputs},
    };
    use perf_contract::fixture::baseline;

    /// Report inputs with one bottleneck (`embedding` / `embed`), its
    /// folded stacks, and `optimisations` as the file's text.
    pub(crate) fn inputs(optimisations: Option<&str>) -> ReportInputs {
        let bottleneck = Bottleneck {
            rank: 1,
            workload: "embedding".into(),
            stage: "embed".into(),
            score: 1.0,
            wall_share: 1.0,
            cpu_share: 1.0,
            alloc_share: 1.0,
            functions: Vec::new(),
            reason: String::new(),
        };
        let stacks = FamilyShares::of_folded(
            "main;gemm_common::gemm::gemm_basic_generic 60\nmain;f32_vec<candle_core::op::GeluErf>;erfc2 20\nmain;other 20\n",
        );
        ReportInputs {
            baseline: baseline(&[]),
            baseline_source: "baselines/performance_baselines.json".into(),
            scale_sources: Vec::new(),
            history: Vec::new(),
            history_source: "baselines/history".into(),
            history_set_aside: Vec::new(),
            profile: Some(ProfileInputs {
                summary: None,
                bottlenecks: Some(vec![bottleneck]),
                bottlenecks_file: true,
                resolved_dir: None,
                link_base: "../profiles/latest".into(),
                flamegraphs: Vec::new(),
                family_shares: [("embedding".to_string(), stacks)].into(),
                without_stacks: Vec::new(),
                digest: None,
            }),
            profile_source: "profiles/latest".into(),
            optimisations: optimisations.map(|text| parse(text).unwrap()),
            optimisations_source: "baselines/optimisations.toml".into(),
            comparison: Policy::default(),
            recorded: None,
            root: PathBuf::from("/nonexistent"),
        }
    }

    fn table_row<'a>(md: &'a str, opportunity: &str) -> &'a str {
        md.lines()
            .find(|l| l.contains(&format!("| {opportunity} |")))
            .unwrap_or_else(|| panic!("no row for {opportunity}:\n{md}"))
    }

    #[test]
    fn carried_out_opportunities_show_predicted_beside_measured() {
        let md = section(&inputs(Some(
            r#"
[[done]]
kind = "gelu_erf"
workload = "embedding"
predicted_pct = 16.0
measured_pct = 13.1
interval_pct = [11.0, 15.2]
pairs = 60
date = 2026-12-03
command = "cargo xtask perf compare HEAD~1 HEAD --workload embedding"
"#,
        )));
        assert!(md.contains("| predicted | measured |"), "{md}");
        // GELU: p = 20%, s = 4, so the profile now predicts 15.0%.
        assert!(
            table_row(&md, "GELU (erf)")
                .contains("| 16.0% (profile now: 15.0%) | 13.1% (11.0% to 15.2%) |"),
            "{md}"
        );
        // Matrix multiply was not carried out: its prediction, no measurement.
        assert!(
            table_row(&md, "matrix multiply").contains("| 30.0% | – |"),
            "{md}"
        );
        assert!(md.contains(
            "- 2026-12-03: **GELU (erf)** in `embedding`: predicted 16.0%, measured 13.1% (11.0% to 15.2%), n = 60 pairs, by `cargo xtask perf compare HEAD~1 HEAD --workload embedding`.\n"
        ), "{md}");
        assert!(!md.contains("*(top functions)*"), "{md}");
    }

    #[test]
    fn an_entry_the_profile_no_longer_ranks_is_still_listed() {
        let md = section(&inputs(Some(
            r#"
[[done]]
kind = "index_build"
workload = "vector_query"
predicted_pct = 36.0
measured_pct = 30.2
pairs = 12
metric = "vector_query.build_time"
date = 2026-12-05
command = "cargo xtask perf compare --workload vector_query"
"#,
        )));
        assert!(
            md.contains(
                "predicted 36.0%, measured 30.2% on `vector_query.build_time`, n = 12 pairs"
            ),
            "{md}"
        );
        assert!(
            md.contains("not in the table: the current profile ranks no such opportunity"),
            "{md}"
        );
        assert!(!md.contains("profile now"), "{md}");
    }

    #[test]
    fn without_the_file_nothing_is_measured() {
        let md = section(&inputs(None));
        assert!(
            table_row(&md, "GELU (erf)").contains("| 15.0% | – |"),
            "{md}"
        );
        assert!(
            md.contains(
                "Carried out: none recorded yet (`baselines/optimisations.toml` does not exist)."
            ),
            "{md}"
        );
        let md = section(&inputs(Some("")));
        assert!(
            md.contains("`baselines/optimisations.toml` has no entry"),
            "{md}"
        );
    }

    #[test]
    fn a_profile_run_without_stacks_is_flagged_in_the_table() {
        let mut inputs = inputs(None);
        let p = inputs.profile.as_mut().unwrap();
        p.family_shares.clear();
        p.without_stacks = vec!["embedding".into()];
        let md = section(&inputs);
        assert!(
            table_row(&md, "matrix multiply").contains("100.0% *(whole stage)*"),
            "{md}"
        );
        assert!(
            md.contains("no folded stacks for that workload (`embedding`"),
            "{md}"
        );
    }
}
