//! Section 8: the previous baseline against the current one: the check's
//! judgement (`judgement::judge`) through the check's exporters, then
//! the change points of the recorded history (`recorded`).

use super::{heading, history_missing, summary::short_commit, time};
use crate::{
    export::{comparisons::comparison_markdown, guards::guards_markdown},
    report::{previous::compare_with_previous, ReportInputs},
};

pub fn section(inputs: &ReportInputs) -> String {
    let mut out = previous(inputs);
    out.push_str(&super::recorded::recorded(inputs));
    out
}

fn previous(inputs: &ReportInputs) -> String {
    let mut out = heading(8);
    let Some(p) = compare_with_previous(inputs) else {
        out.push_str(&format!("Not available: {}.\n\n", history_missing(inputs)));
        return out;
    };
    let (old, new) = (&p.previous.baseline, &inputs.baseline);
    out.push_str(&format!(
        "Previous: `{}/{}`, recorded {}, commit `{}`. Current: `{}`, recorded {}, commit `{}`. The newest earlier baseline of the {} profile is the one compared.\n\n",
        inputs.history_source,
        p.previous.name,
        time(old.created_at),
        short_commit(old.environment.git_commit.as_deref()),
        inputs.baseline_source,
        time(new.created_at),
        short_commit(new.environment.git_commit.as_deref()),
        new.plan.profile.as_str(),
    ));
    if p.foreign {
        out.push_str(&format!(
            "**Recorded on different machines** (`{}` then `{}`): changes mix code and hardware; `check` refuses this pair without `--allow-foreign-baseline`.\n\n",
            old.machine_fingerprint, new.machine_fingerprint
        ));
    }
    let judged = match &p.result {
        Err(reason) => {
            out.push_str(&format!(
                "The two did not measure the same thing ({reason}), so `check` would refuse to compare them and no verdict is given.\n\n"
            ));
            return out;
        }
        Ok(j) => j,
    };
    out.push_str(
        "Change is (current − previous) / previous of the medians; verdicts by `perf_report::compare` with the check's thresholds and seed (section 3). \"medians only\" marks metrics with too few samples for an interval; \"one process a side\" a metric measured in one process on each side with no calibration of this machine for it (`perf calibrate`): its interval sees only the spread within each process, narrower than the spread between processes, so read its verdict as a lead to confirm (`perf compare`, rounds of fresh processes), not as a finding.\n\n",
    );
    out.push_str(&comparison_markdown(&judged.comparisons));
    out.push('\n');
    if !judged.guards.is_empty() {
        out.push_str(&guards_markdown(&judged.guards));
        out.push('\n');
    }
    out
}
