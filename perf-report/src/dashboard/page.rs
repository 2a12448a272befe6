//! The HTML around the charts: header, one section per metric with its
//! legend and a table of its points, the detail panel, and the style
//! sheet, data block and script inlined.
//!
//! Everything a reader needs is in the HTML itself: without JavaScript
//! (or on paper) the tables still hold every point, and the page loads
//! nothing, so it works from `file://` and from a CI artifact.

use std::fmt::Write;

use super::{
    data::{ChartData, Data, PointData, SeriesData},
    figures, Page,
};

const STYLE: &str = include_str!("dashboard.css");
const SCRIPT: &str = include_str!("dashboard.js");

/// The command that adds points, for the page of an empty history.
const RECORD: &str = "cargo xtask perf baseline --record";

/// Text or attribute value, escaped for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

// `write!` to a `String` cannot fail: its results are dropped with `let _`.
pub fn document(page: &Page, data: &Data) -> String {
    let mut html = String::with_capacity(64 * 1024);
    let title = escape(page.title);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n"
    );
    header(&mut html, page, data);
    html.push_str("<main>\n");
    if data.charts.is_empty() {
        empty(&mut html);
    }
    for (i, chart) in data.charts.iter().enumerate() {
        section(&mut html, i, chart);
    }
    html.push_str("</main>\n");
    // One panel, moved by the script under the chart of the chosen point.
    html.push_str(
        "<aside id=\"detail\" class=\"detail\" role=\"dialog\" aria-modal=\"false\" \
         aria-labelledby=\"detail-title\" tabindex=\"-1\" hidden></aside>\n",
    );
    let _ = write!(
        html,
        "<script type=\"application/json\" id=\"data\">{}</script>\n<script>\n{SCRIPT}</script>\n\
         </body>\n</html>\n",
        data.script_json()
    );
    html
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn header(html: &mut String, page: &Page, data: &Data) {
    let _ = write!(
        html,
        "<header class=\"page-header\">\n<h1>{}</h1>\n\
         <p class=\"meta\">Generated {} · {} · {} · {}</p>\n",
        escape(page.title),
        escape(page.generated),
        plural(data.machines, "machine", "machines"),
        plural(data.commits, "commit", "commits"),
        plural(data.charts.len(), "metric", "metrics"),
    );
    if !data.charts.is_empty() {
        html.push_str(
            "<p class=\"note\">One line per machine: points of different machines are \
             never joined, as machines differ in speed and only a step along one \
             machine's line says something about the code. A point is a commit's median \
             with its 95% interval; a dashed line marks a change point. Select a point \
             for its details.</p>\n\
             <noscript><p class=\"noscript\">The charts are drawn by JavaScript, which is \
             off: the table under each metric lists every point.</p></noscript>\n",
        );
    }
    html.push_str("</header>\n");
}

fn empty(html: &mut String) {
    let _ = write!(
        html,
        "<section class=\"empty\">\n<h2>Nothing recorded yet</h2>\n\
         <p>The history holds no records, so there is nothing to chart. Record the \
         current commit on this machine with <code>{RECORD}</code>: each record adds \
         one point per metric to this machine's line, and a commit recorded on several \
         machines gets a point on each machine's line.</p>\n</section>\n"
    );
}

fn section(html: &mut String, i: usize, chart: &ChartData) {
    let points: usize = chart.series.iter().map(|s| s.points.len()).sum();
    let _ = write!(
        html,
        "<section class=\"chart\" id=\"chart-{i}\" data-chart=\"{i}\" \
         aria-labelledby=\"chart-{i}-title\">\n<div class=\"chart-head\">\n\
         <h2 id=\"chart-{i}-title\">{}</h2>\n",
        escape(chart.metric),
    );
    let direction = direction(chart);
    if !direction.is_empty() {
        let _ = writeln!(html, "<p class=\"direction\">{direction}</p>");
    }
    html.push_str("</div>\n");
    if !chart.description.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"description\">{}</p>",
            escape(chart.description)
        );
    }
    if points == 0 {
        html.push_str("<p class=\"no-points\">No points recorded for this metric.</p>\n");
        html.push_str("</section>\n");
        return;
    }
    html.push_str("<ul class=\"legend\" aria-label=\"Machines\">\n");
    for s in &chart.series {
        let _ = writeln!(
            html,
            "<li class=\"{}\" data-machine=\"{}\" title=\"{}\"><span class=\"swatch\" \
             aria-hidden=\"true\"></span>{} <span class=\"count\">{}</span></li>",
            s.class,
            escape(&s.machine.id),
            escape(&format!("{} · {}", s.machine.id, s.machine.cpu_signature)),
            escape(&s.name),
            plural(s.points.len(), "point", "points"),
        );
    }
    html.push_str("</ul>\n");
    let _ = writeln!(
        html,
        "<div class=\"plot\" data-chart=\"{i}\"></div>\n<div class=\"detail-slot\"></div>"
    );
    table(html, chart, points);
    html.push_str("</section>\n");
}

/// "lower is better · ms"; empty for a chart without series.
fn direction(chart: &ChartData) -> String {
    let parts: Vec<&str> = [chart.better.as_str(), chart.unit]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    escape(&parts.join(" · "))
}

/// Every point of the chart, grouped by machine: the page without
/// JavaScript, on paper, or for a reader who wants the figures.
fn table(html: &mut String, chart: &ChartData, points: usize) {
    let _ = write!(
        html,
        "<details class=\"points\">\n<summary>Table of the {}</summary>\n\
         <div class=\"table-wrap\"><table>\n<thead><tr><th>Machine</th><th>#</th>\
         <th>Commit</th><th>Subject</th><th>Time</th><th>Median</th>\
         <th>95% interval</th><th>Runs</th><th>n</th><th>Against its parent</th>\
         </tr></thead>\n<tbody>\n",
        plural(points, "point", "points"),
    );
    for s in &chart.series {
        for (index, p) in s.points.iter().enumerate() {
            for c in s.change_points.iter().filter(|c| c.change.index == index) {
                let _ = writeln!(
                    html,
                    "<tr class=\"change-row\"><td colspan=\"10\">Change point on {}: \
                     {} (p = {:.3})</td></tr>",
                    escape(&s.name),
                    escape(&c.label),
                    c.change.p_value
                );
            }
            row(html, s, p);
        }
    }
    html.push_str("</tbody>\n</table></div>\n</details>\n");
}

fn row(html: &mut String, s: &SeriesData, p: &PointData) {
    let id = escape(&p.point.commit.id);
    let short = escape(p.short);
    let commit = match &p.url {
        Some(url) => format!(
            "<a href=\"{}\" title=\"{id}\"><code>{short}</code></a>",
            escape(url)
        ),
        None => format!("<code title=\"{id}\">{short}</code>"),
    };
    let _ = writeln!(
        html,
        "<tr class=\"{}\" data-commit=\"{id}\"><td><span class=\"swatch\" \
         aria-hidden=\"true\"></span>{}</td><td>{}</td><td>{commit}</td>\
         <td class=\"subject\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
        s.class,
        escape(&s.name),
        p.point.position,
        escape(&p.point.commit.subject),
        escape(&p.time_text),
        escape(&p.median_text),
        escape(p.interval_text.as_deref().unwrap_or("—")),
        p.point.runs,
        p.point.n,
        escape(
            &p.point
                .step
                .as_ref()
                .map_or_else(|| "—".into(), figures::step)
        ),
    );
}
