//! Exporters: what `check`, `compare` and `baseline` print, as a terminal
//! rendering, markdown (a pull-request comment, the job summary) or JSON.
//! A command builds one [`Document`] and hands it to the exporter its
//! `--format` picks; no command renders anything itself (hyperfine's
//! `export` module: one trait, one implementation per format).
//!
//! Each format is built from the same rows (`comparisons`, `guards`,
//! `headline`), so two renderings of one document cannot disagree about a
//! figure. Pure functions of their input: no clock, no environment.

pub mod comparisons;
pub mod guards;
pub mod headline;
mod json;
mod markdown;
pub mod markdown_table;
pub mod stages;
mod terminal;

use perf_contract::schema::Baseline;

use crate::judgement::Judgement;

pub use self::{json::Json, markdown::Markdown, terminal::Terminal};

/// One way of writing a document down.
pub trait Exporter {
    /// The whole document, ending in a newline.
    fn serialize(&self, doc: &Document) -> String;
}

/// What a command prints.
pub enum Document<'a> {
    /// `check`'s or `compare`'s verdict.
    Judgement {
        judgement: &'a Judgement,
        /// The markdown heading (`cargo xtask perf check`).
        title: &'a str,
        /// Found beside the verdict (`compare --explain`), rendered by the
        /// command for the terminal and markdown; JSON holds the judgement
        /// alone.
        appendix: Option<Appendix<'a>>,
    },
    /// `baseline`'s run: its metrics and where it was saved.
    Run {
        run: &'a Baseline,
        run_file: &'a str,
        rows: Rows,
    },
}

/// Text a command appends to a judgement, per text format.
#[derive(Debug, Clone, Copy)]
pub struct Appendix<'a> {
    pub terminal: &'a str,
    pub markdown: &'a str,
}

/// Which of a run's metrics a rendering holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// The headline summary: one screen (`export::headline`).
    Headline,
    /// Every metric (`--all`).
    All,
}

impl Rows {
    /// The rows of `run` this choice shows.
    pub fn of(self, run: &perf_contract::schema::Baseline) -> Vec<headline::Row<'_>> {
        match self {
            Rows::Headline => headline::headline_rows(run),
            Rows::All => headline::every_row(run),
        }
    }
}

impl Document<'_> {
    /// A gate's verdict, which CI also wants in its job summary.
    pub fn is_judgement(&self) -> bool {
        matches!(self, Document::Judgement { .. })
    }
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

        let doc = Document::Judgement {
            judgement: &j,
            title: "cargo xtask perf check",
            appendix: None,
        };
        let text = Terminal.serialize(&doc);
        let md = Markdown.serialize(&doc);
        let json = Json.serialize(&doc);
        for out in [&text, &md, &json] {
            assert!(out.contains("latency"), "{out}");
            assert!(out.contains("recall_at_5"), "{out}");
        }
        assert!(text.contains("regressed") && md.contains("| regressed (one process a side) |"));
        assert!(text.ends_with("FAIL: 1 regressed metric(s), 0 failed quality guard(s)\n"));
        assert!(md.contains("**FAIL: 1 regressed metric(s), 0 failed quality guard(s)**"));
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["passed"], false);
        assert_eq!(back["baseline"], "base.json");
        assert_eq!(back["comparisons"].as_array().unwrap().len(), 2);
    }

    /// An appendix follows the judgement in the text formats; JSON stays
    /// the judgement alone, so it still parses.
    #[test]
    fn an_appendix_follows_the_text_formats_only() {
        let run = baseline(&[(
            WorkloadName::RagQuery,
            "latency",
            Unit::Milliseconds,
            Better::Lower,
            (0..30).map(|i| 10.0 + i as f64 * 0.01).collect(),
        )]);
        let j = judge(&run, &run, "base.json", &Policy::default(), &as_configured).unwrap();
        let plain = |appendix| Document::Judgement {
            judgement: &j,
            title: "t",
            appendix,
        };
        let extra = Appendix {
            terminal: "TERMINAL EXTRA\n",
            markdown: "MARKDOWN EXTRA\n",
        };
        for (exporter, added) in [
            (&Terminal as &dyn Exporter, "TERMINAL EXTRA\n"),
            (&Markdown, "MARKDOWN EXTRA\n"),
            (&Json, ""),
        ] {
            let without = exporter.serialize(&plain(None));
            let with = exporter.serialize(&plain(Some(extra)));
            assert_eq!(with, format!("{without}{added}"));
        }
        let back: serde_json::Value =
            serde_json::from_str(&Json.serialize(&plain(Some(extra)))).unwrap();
        assert_eq!(back["passed"], true);
    }

    /// A run's headline rows and the line that counts the rest, in every
    /// format; `Rows::All` holds every metric and no such line.
    #[test]
    fn a_run_renders_alike_in_every_format() {
        let samples: Vec<f64> = (0..30).map(|i| 10.0 + i as f64).collect();
        let run = baseline(&[
            (
                WorkloadName::RagQuery,
                "latency",
                Unit::Milliseconds,
                Better::Lower,
                samples.clone(),
            ),
            (
                WorkloadName::RagQuery,
                "stage.embed",
                Unit::Milliseconds,
                Better::Lower,
                samples.clone(),
            ),
            (
                WorkloadName::RagQuery,
                "stage.search",
                Unit::Milliseconds,
                Better::Lower,
                samples,
            ),
        ]);
        let doc = |rows| Document::Run {
            run: &run,
            run_file: "target/perf-runs/x.json",
            rows,
        };
        let text = Terminal.serialize(&doc(Rows::Headline));
        let md = Markdown.serialize(&doc(Rows::Headline));
        for out in [&text, &md] {
            assert!(out.contains("latency"), "{out}");
            assert!(!out.contains("stage.embed"), "{out}");
            assert!(
                out.contains("2 more metrics measured; --all prints every row"),
                "{out}"
            );
        }
        assert!(
            text.ends_with("\nthis run: target/perf-runs/x.json\n"),
            "{text}"
        );
        assert!(
            md.contains("| rag_query | latency | 30 | 24.50 ms |"),
            "{md}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&Json.serialize(&doc(Rows::Headline))).unwrap();
        assert_eq!(json["rows"].as_array().unwrap().len(), 1);
        assert_eq!(json["rows"][0]["metric"], "latency");
        assert_eq!(json["more_metrics"], 2);

        let all = Terminal.serialize(&doc(Rows::All));
        assert!(all.contains("stage.embed") && all.contains("stage.search"));
        assert!(!all.contains("more metric"), "{all}");
        let json: serde_json::Value =
            serde_json::from_str(&Json.serialize(&doc(Rows::All))).unwrap();
        assert_eq!(json["rows"].as_array().unwrap().len(), 3);
        assert_eq!(json["more_metrics"], 0);
    }
}
