//! The history dashboard: one static HTML page with a chart per metric,
//! one line per machine over the commits, each point's median with its
//! 95% interval, the change points marked and every point's details a
//! click away.
//!
//! The page is self-contained (inline style, data and script; nothing
//! fetched), so it opens from `file://`, from a CI artifact or a static
//! host alike. Machines are never joined: a line belongs to one machine,
//! since a step from one machine to another is the hardware, not the code.
//!
//! `render` is pure: the caller picks the series and says when the page
//! was made; this module reads no clock and writes no file.

mod data;
mod figures;
mod page;
#[cfg(test)]
mod tests;

use crate::history::series::Series;

/// What the page shows.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    pub title: &'a str,
    /// When the page was made, as it shows it (the caller formats it: the
    /// module reads no clock).
    pub generated: &'a str,
    /// A commit's web page: `{commit}` is replaced by its full id; None:
    /// ids are plain text.
    pub commit_url: Option<&'a str>,
    /// One chart per metric, in this order; each holds that metric's
    /// series, one per machine.
    pub charts: Vec<Chart<'a>>,
}

/// One metric's chart.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    /// `workload.metric`, e.g. "rag_query.latency".
    pub metric: &'a str,
    /// May be empty.
    pub description: &'a str,
    /// One per machine, in legend order.
    pub series: Vec<&'a Series>,
}

/// The whole HTML document. Pure: no clock, no file system.
pub fn render(page: &Page) -> String {
    page::document(page, &data::Data::of(page))
}
