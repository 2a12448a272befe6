//! The end of section 8: the change points `perf history` finds in the
//! recorded history of the baseline's machine (`baselines/records/`),
//! per headline metric, each with its commit, size, interval and p.
//! Shown only when the caller looked for records.

use crate::{
    history::markdown::short,
    report::{
        charts::{self, chart_path},
        ReportInputs,
    },
};

pub fn recorded(inputs: &ReportInputs) -> String {
    let Some(r) = &inputs.recorded else {
        return String::new();
    };
    let mut out = String::from("### Change points in the recorded history\n\n");
    if r.series.is_empty() {
        out.push_str(&format!(
            "No record of this machine ({}) in `{}` yet: `cargo xtask perf baseline --record` adds the current commit, and `cargo xtask perf history` shows the series once there are several.\n\n",
            r.machine, r.source
        ));
        return out;
    }
    let commits = r.series.iter().map(|s| s.points.len()).max().unwrap_or(0);
    out.push_str(&format!(
        "Machine {}, `{}`: up to {commits} recorded commits per metric along the branch's first-parent line{}. A change point is where E-Divisive means on the logs splits the series with a permutation p below 0.01, re-tested against its neighbours, or a step that one recorded parent-versus-commit compare shows (Holm over the series' compares at 0.01) and the compares after it keep; where compares were recorded over a step's commits they decide, since separate runs move with the machine too. Only this machine's records are used.\n\n",
        r.machine,
        r.source,
        match (r.off_line, r.other_plan) {
            (0, 0) => String::new(),
            (off, 0) => format!(" ({off} records of commits off that line left out)"),
            (0, other) => format!(" ({other} records of other settings left out)"),
            (off, other) => format!(
                " ({off} records of commits off that line and {other} of other settings left out)"
            ),
        }
    ));
    out.push_str(
        "| metric | commits | change point: step [95% interval] at commit (p) |\n|---|---|---|\n",
    );
    for s in &r.series {
        let steps: Vec<String> = s
            .change_points
            .iter()
            .map(|c| {
                let at = &s.points[c.index].commit;
                format!(
                    "{} at `{}` \"{}\" (p={:.3}{})",
                    c.label(),
                    short(&at.id),
                    at.subject.replace('|', "\\|"),
                    c.p_value,
                    c.evidence_note()
                )
            })
            .collect();
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            s.metric,
            s.points.len(),
            if steps.is_empty() {
                "none".into()
            } else {
                steps.join("<br>")
            }
        ));
    }
    out.push('\n');
    let aside: Vec<String> = r
        .series
        .iter()
        .flat_map(|s| {
            s.set_aside.iter().map(move |c| {
                format!(
                    "- `{}` {} at `{}`{}\n",
                    s.metric,
                    c.label(),
                    short(&s.points[c.index].commit.id),
                    c.evidence_note()
                )
            })
        })
        .collect();
    if !aside.is_empty() {
        out.push_str("Set aside (steps of the separate runs that the paired compares over their commits do not confirm):\n\n");
        out.extend(aside);
        out.push('\n');
    }
    if r.series.iter().any(|s| s.points.len() >= 2) {
        out.push_str(&format!(
            "The series, with the change points dashed: `{}`.\n\n",
            chart_path(charts::recorded::NAME)
        ));
    }
    out
}
