//! Opportunities that were carried out, with the saving the report
//! predicted for each beside the saving measured afterwards, so the
//! profile's predictions are checked against outcomes. Read from
//! `baselines/optimisations.toml` (beside the baseline file; committed).
//!
//! One `[[done]]` table per carried-out opportunity:
//!
//! ```toml
//! [[done]]
//! kind = "gelu_erf"              # a `Kind`, snake_case
//! workload = "embedding"         # the workload the opportunity was in
//! stage = "embed"                # optional: when the workload has the kind in two stages
//! predicted_pct = 12.2           # the report's predicted saving before the change
//! measured_pct = 10.4            # the saving measured afterwards
//! interval_pct = [8.9, 11.8]     # optional: its 95% interval, low end first
//! pairs = 60                     # pairs of the `perf compare` run
//! metric = "embedding.chunks.batch_10.docs_per_s"   # optional: the metric measured
//! date = 2026-12-03
//! command = "cargo xtask perf compare HEAD~1 HEAD --workload embedding"
//! ```
//!
//! Both savings are percent of the workload's time, positive when faster,
//! as the report predicts them. `perf compare` prints a metric's change
//! `c` (%): a latency saves `−c`, a rate (docs/s, tokens/s) saves
//! `100 × (1 − 1/(1 + c/100))`. Unknown keys, a kind or workload that does
//! not exist, and figures out of range are errors naming the line and the
//! field; a missing file is no error (nothing measured yet).

use perf_contract::plan::WorkloadName;
use serde::Deserialize;
use toml::{value::Datetime, Spanned};

use super::{opportunities::Opportunity, playbooks::Kind};

/// The file's name; it lives beside the baseline file.
pub const FILE_NAME: &str = "optimisations.toml";

/// One carried-out opportunity and what it measured.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Done {
    pub kind: Kind,
    pub workload: WorkloadName,
    #[serde(default)]
    pub stage: Option<String>,
    /// Percent of the workload's time the report predicted the change saves.
    pub predicted_pct: f64,
    /// Percent of the workload's time the change saved, measured.
    pub measured_pct: f64,
    /// 95% interval of `measured_pct`, low end first.
    #[serde(default)]
    pub interval_pct: Option<[f64; 2]>,
    /// Pairs of the `perf compare` run that measured it.
    pub pairs: u32,
    #[serde(default)]
    pub metric: Option<String>,
    pub date: Datetime,
    /// The command that measured it.
    pub command: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptimisationsFile {
    #[serde(default)]
    done: Vec<Spanned<Done>>,
}

/// Why the file was refused: where, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", location(*line, field.as_deref()))]
pub struct FormatError {
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

fn location(line: Option<usize>, field: Option<&str>) -> String {
    match (line, field) {
        (Some(line), Some(field)) => format!("line {line}, field `{field}`: "),
        (Some(line), None) => format!("line {line}: "),
        (None, Some(field)) => format!("field `{field}`: "),
        (None, None) => String::new(),
    }
}

/// The entries of an optimisations file, in file order.
pub fn parse(text: &str) -> Result<Vec<Done>, FormatError> {
    let file: OptimisationsFile = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    file.done
        .into_iter()
        .map(|entry| {
            let line = line_of(text, entry.span().start);
            let done = entry.into_inner();
            match done.invalid_field() {
                Some((field, message)) => Err(FormatError {
                    line: Some(line),
                    field: Some(field.to_owned()),
                    message,
                }),
                None => Ok(done),
            }
        })
        .collect()
}

impl Done {
    /// The first field whose value cannot be right, and why.
    fn invalid_field(&self) -> Option<(&'static str, String)> {
        let saving = |x: f64| x.is_finite() && x < 100.0;
        if !(saving(self.predicted_pct) && self.predicted_pct >= 0.0) {
            return Some((
                "predicted_pct",
                format!(
                    "{} is not a predicted saving (0 to under 100% of the workload's time)",
                    self.predicted_pct
                ),
            ));
        }
        if !saving(self.measured_pct) {
            return Some((
                "measured_pct",
                format!(
                    "{} is not a saving (under 100% of the workload's time; negative when slower)",
                    self.measured_pct
                ),
            ));
        }
        if let Some([low, high]) = self.interval_pct {
            if !(saving(low) && saving(high) && low <= high) {
                return Some((
                    "interval_pct",
                    format!("[{low}, {high}] is not an interval of savings, low end first"),
                ));
            }
        }
        if self.pairs == 0 {
            return Some(("pairs", "a measurement has at least one pair".into()));
        }
        if self.date.date.is_none() {
            return Some((
                "date",
                format!("{} has no date (write 2026-12-03)", self.date),
            ));
        }
        if self.command.trim().is_empty() {
            return Some(("command", "name the command that measured it".into()));
        }
        if self.stage.as_ref().is_some_and(|s| s.trim().is_empty()) {
            return Some(("stage", "leave it out or name the stage".into()));
        }
        None
    }

    /// Whether this entry records `o` as carried out: same kind and
    /// workload, and the same stage when the entry names one.
    pub fn is_for(&self, o: &Opportunity) -> bool {
        self.kind == o.kind
            && self.workload.as_str() == o.workload
            && self.stage.as_ref().is_none_or(|s| *s == o.stage)
    }

    /// The measured saving with its interval: `10.4% (8.9% to 11.8%)`.
    pub fn measured(&self) -> String {
        match self.interval_pct {
            Some([low, high]) => format!("{:.1}% ({low:.1}% to {high:.1}%)", self.measured_pct),
            None => format!("{:.1}%", self.measured_pct),
        }
    }
}

/// The entry for `o`; the last one in the file when a kind was carried out
/// more than once (entries are added as changes land).
pub fn entry_for<'a>(done: &'a [Done], o: &Opportunity) -> Option<&'a Done> {
    done.iter().rev().find(|d| d.is_for(o))
}

/// One line for a toml or serde error, naming the line and the field: the
/// field from the message (`missing field `pairs``), else the key on the
/// line the error points at (a value of the wrong type).
fn toml_error(text: &str, e: &toml::de::Error) -> FormatError {
    let message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let at = e.span().map(|span| span.start);
    let field = field_in(&message).or_else(|| at.and_then(|at| key_at(text, at)));
    FormatError {
        line: at.map(|at| line_of(text, at)),
        field,
        message,
    }
}

fn field_in(message: &str) -> Option<String> {
    let rest = message.split("field `").nth(1)?;
    Some(rest.split('`').next()?.to_owned())
}

/// The key of the `key = value` line holding byte `at`.
fn key_at(text: &str, at: usize) -> Option<String> {
    let start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    let is_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    is_key.then(|| key.to_owned())
}

/// 1-based line of byte `at`.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at).map_or(0, |t| t.matches('\n').count()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::opportunities::ShareSource;

    const GOOD: &str = r#"
# carried out
[[done]]
kind = "gelu_erf"
workload = "embedding"
predicted_pct = 12.2
measured_pct = 10.4
interval_pct = [8.9, 11.8]
pairs = 60
metric = "embedding.chunks.batch_10.docs_per_s"
date = 2026-12-03
command = "cargo xtask perf compare HEAD~1 HEAD --workload embedding"

[[done]]
kind = "matrix_multiply"
workload = "rag_query"
stage = "embed"
predicted_pct = 37.6
measured_pct = -1.5
pairs = 54
date = 2026-12-04
command = "cargo xtask perf compare"
"#;

    fn opportunity(kind: Kind, workload: &str, stage: &str) -> Opportunity {
        Opportunity {
            bottleneck: 1,
            workload: workload.into(),
            stage: stage.into(),
            kind,
            share: 0.5,
            share_source: ShareSource::Stacks,
            share_basis: String::new(),
            speedup: 2.0,
            effort_days: 1.0,
            saved: 0.25,
        }
    }

    #[test]
    fn a_good_file_parses_in_order() {
        let done = parse(GOOD).unwrap();
        assert_eq!(done.len(), 2);
        let gelu = &done[0];
        assert_eq!(
            (gelu.kind, gelu.workload, gelu.pairs),
            (Kind::GeluErf, WorkloadName::Embedding, 60)
        );
        assert_eq!(gelu.interval_pct, Some([8.9, 11.8]));
        assert_eq!(gelu.date.to_string(), "2026-12-03");
        assert_eq!(gelu.measured(), "10.4% (8.9% to 11.8%)");
        assert_eq!(done[1].measured(), "-1.5%");
        assert_eq!(done[1].stage.as_deref(), Some("embed"));
    }

    #[test]
    fn header_only_and_empty_files_have_no_entries() {
        assert_eq!(parse("").unwrap(), []);
        // The committed file parses, whatever entries it holds by now.
        let committed = include_str!("../../../baselines/optimisations.toml");
        assert!(parse(committed).is_ok());
    }

    #[test]
    fn the_committed_header_example_parses() {
        // The example in the file's header, uncommented, is a valid entry.
        let committed = include_str!("../../../baselines/optimisations.toml");
        let example: String = committed
            .lines()
            .filter_map(|l| l.strip_prefix("#   "))
            .filter(|l| !l.starts_with(' '))
            .map(|l| format!("{l}\n"))
            .collect();
        let done = parse(&example).unwrap();
        assert_eq!(done.len(), 1, "{example}");
    }

    #[test]
    fn entries_match_opportunities_by_kind_workload_and_stage() {
        let done = parse(GOOD).unwrap();
        let gelu = opportunity(Kind::GeluErf, "embedding", "embed");
        assert_eq!(entry_for(&done, &gelu), Some(&done[0]));
        // No stage in the entry: any stage of that workload.
        let other_stage = opportunity(Kind::GeluErf, "embedding", "forward");
        assert!(done[0].is_for(&other_stage));
        let mm = opportunity(Kind::MatrixMultiply, "rag_query", "embed");
        assert_eq!(entry_for(&done, &mm), Some(&done[1]));
        let mm_elsewhere = opportunity(Kind::MatrixMultiply, "rag_query", "search");
        assert_eq!(entry_for(&done, &mm_elsewhere), None);
        let not_done = opportunity(Kind::SpinWait, "embedding", "embed");
        assert_eq!(entry_for(&done, &not_done), None);
    }

    /// The error for `GOOD` with `from` replaced by `to`, as one line.
    fn error(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from), "{from}");
        let e = parse(&GOOD.replacen(from, to, 1)).unwrap_err().to_string();
        assert!(!e.contains('\n'), "one line: {e}");
        e
    }

    #[test]
    fn bad_values_name_the_line_and_the_field() {
        let e = error("measured_pct = 10.4", "measured_pct = \"ten\"");
        assert!(e.starts_with("line 7, field `measured_pct`: "), "{e}");
        let e = error("kind = \"gelu_erf\"", "kind = \"gelu\"");
        assert!(e.starts_with("line 4, field `kind`: "), "{e}");
        assert!(e.contains("gelu_erf"), "lists the kinds: {e}");
        let e = error("workload = \"embedding\"", "workload = \"embeddings\"");
        assert!(e.starts_with("line 5, field `workload`: "), "{e}");
        let e = error("pairs = 60\n", "");
        assert!(e.contains("field `pairs`"), "{e}");
        assert!(e.contains("missing"), "{e}");
        let e = error("pairs = 60", "pairs = 60\nn = 60");
        assert!(e.contains("field `n`"), "{e}");
        let e = error("date = 2026-12-03", "date = \"soon\"");
        assert!(e.contains("field `date`"), "{e}");
    }

    #[test]
    fn out_of_range_figures_name_the_entry_line_and_the_field() {
        let e = error("interval_pct = [8.9, 11.8]", "interval_pct = [11.8, 8.9]");
        assert_eq!(
            e,
            "line 3, field `interval_pct`: [11.8, 8.9] is not an interval of savings, low end first"
        );
        let e = error("predicted_pct = 12.2", "predicted_pct = -3.0");
        assert!(e.starts_with("line 3, field `predicted_pct`: "), "{e}");
        let e = error("measured_pct = -1.5", "measured_pct = 150.0");
        assert!(e.starts_with("line 14, field `measured_pct`: "), "{e}");
        let e = error("pairs = 54", "pairs = 0");
        assert!(e.starts_with("line 14, field `pairs`: "), "{e}");
        let e = error("command = \"cargo xtask perf compare\"", "command = \" \"");
        assert!(e.contains("field `command`"), "{e}");
    }

    #[test]
    fn broken_toml_names_the_line() {
        let e = error("pairs = 60", "pairs = = 60");
        assert!(e.starts_with("line 9"), "{e}");
    }
}
