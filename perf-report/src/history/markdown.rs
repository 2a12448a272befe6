//! The history as a pull-request comment: per headline metric of one
//! machine, the newest commit's figure, its change against the commit
//! recorded before it, and the newest change point of the series.

use std::fmt::Write;

use super::series::Series;

/// The comment for `series` (one machine's), newest commit last in each.
pub fn comment(series: &[&Series]) -> String {
    let mut out = String::new();
    let Some(first) = series.first() else {
        return "No performance history is recorded for this machine yet: `cargo xtask perf baseline --record` adds this commit.\n".into();
    };
    let _ = writeln!(
        out,
        "### Performance history on {} (`{}`)\n",
        first.machine.label, first.machine.id
    );
    out.push_str("| metric | newest commit | figure [95% interval] | vs the commit before | last change point |\n");
    out.push_str("|---|---|---|---|---|\n");
    for s in series {
        let Some(newest) = s.points.last() else {
            continue;
        };
        let unit = s.unit.symbol();
        let figure = match newest.interval {
            Some(i) => format!(
                "{} {unit} [{}, {}] (n={})",
                number(newest.median),
                number(i.low),
                number(i.high),
                newest.n
            ),
            None => format!("{} {unit} (n={})", number(newest.median), newest.n),
        };
        let before = match (&newest.step, s.points.iter().rev().nth(1)) {
            (Some(step), _) => format!(
                "{:+.1}% [{:+.1}, {:+.1}] paired, {}",
                step.change_pct, step.low_pct, step.high_pct, step.verdict
            ),
            (None, Some(prev)) => format!(
                "{:+.1}% vs `{}` (separate runs)",
                (newest.median / prev.median - 1.0) * 100.0,
                short(&prev.commit.id)
            ),
            (None, None) => "first record".into(),
        };
        let change = match s.change_points.last() {
            Some(c) => format!(
                "{} at `{}` (p={:.3}{})",
                c.label(),
                short(&s.points[c.index].commit.id),
                c.p_value,
                c.evidence_note()
            ),
            None => "none".into(),
        };
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {figure} | {before} | {change} |",
            s.metric,
            short(&newest.commit.id)
        );
    }
    out
}

pub(crate) fn short(id: &str) -> &str {
    &id[..id.len().min(10)]
}

fn number(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}
