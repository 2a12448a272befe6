//! The one printer of `check`, `compare` and `baseline`: a command builds a
//! `perf_report::export::Document` and this prints it through the exporter
//! its `--format` picks. A gate's verdict also goes, as markdown whatever
//! the format, to GitHub's job summary (`step_summary`).

use anyhow::Result;
use perf_report::export::{Document, Exporter, Json, Markdown, Terminal};

use crate::{cli::Format, step_summary};

/// The exporter of a `--format`.
pub fn exporter(format: Format) -> &'static dyn Exporter {
    match format {
        Format::Table => &Terminal,
        Format::Markdown => &Markdown,
        Format::Json => &Json,
    }
}

/// Prints `doc` on stdout in `format`; a judgement is appended to the job
/// summary too.
pub fn print(doc: &Document, format: Format) -> Result<()> {
    print!("{}", exporter(format).serialize(doc));
    if doc.is_judgement() {
        step_summary::append(&Markdown.serialize(doc))?;
    }
    Ok(())
}
