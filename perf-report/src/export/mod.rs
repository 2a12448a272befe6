//! Exporters over one [`Judgement`](crate::judgement::Judgement): a
//! terminal rendering, markdown (a pull-request comment, the report's
//! comparison section) and JSON. Each format is built from the same rows
//! (`comparisons`, `guards`), so two renderings of one judgement cannot
//! disagree about a figure (hyperfine's `export` module keeps its formats
//! the same way).

pub mod comparisons;
pub mod guards;
pub mod markdown_table;
pub mod stages;

use crate::judgement::Judgement;

use self::{
    comparisons::{comparison_markdown, comparison_table},
    guards::{guards_markdown, guards_table},
};

/// Tables, notes and the verdict line, as `check` prints them.
pub fn terminal(j: &Judgement) -> String {
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

/// The judgement as a markdown block under `title` (a `###` heading).
pub fn markdown(j: &Judgement, title: &str) -> String {
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

/// Pretty JSON, the judgement's own fields.
pub fn json(j: &Judgement) -> String {
    serde_json::to_string_pretty(j).expect("a judgement serialises")
}

#[cfg(test)]
mod tests {
    use perf_contract::{
        fixture::baseline,
        plan::WorkloadName,
        schema::{Better, Unit},
    };

    use super::*;
    use crate::{
        judgement::{as_configured, judge},
        policy::Policy,
    };

    /// One judgement with a regression and a guard, through every exporter.
    #[test]
    fn one_judgement_renders_alike_in_every_format() {
        let run = |latency: f64| {
            baseline(&[
                (
                    WorkloadName::RagQuery,
                    "latency",
                    Unit::Milliseconds,
                    Better::Lower,
                    (0..30).map(|i| latency + i as f64 * 0.01).collect(),
                ),
                (
                    WorkloadName::VectorQuery,
                    "recall_at_5",
                    Unit::Ratio,
                    Better::Higher,
                    vec![1.0; 10],
                ),
            ])
        };
        let j = judge(
            &run(10.0),
            &run(13.0),
            "base.json",
            &Policy::default(),
            &as_configured,
        )
        .expect("comparable");
        assert!(!j.passed);
        assert_eq!(j.regressed().count(), 1);

        let text = terminal(&j);
        let md = markdown(&j, "cargo xtask perf check");
        let json = json(&j);
        for out in [&text, &md, &json] {
            assert!(out.contains("latency"), "{out}");
            assert!(out.contains("recall_at_5"), "{out}");
        }
        assert!(text.contains("regressed") && md.contains("| regressed |"));
        assert!(text.ends_with("FAIL: 1 regressed metric(s), 0 failed quality guard(s)\n"));
        assert!(md.contains("**FAIL: 1 regressed metric(s), 0 failed quality guard(s)**"));
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["passed"], false);
        assert_eq!(back["baseline"], "base.json");
        assert_eq!(back["comparisons"].as_array().unwrap().len(), 2);
    }
}
