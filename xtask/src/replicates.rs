//! How many processes a measurement takes, from this machine's
//! calibration: enough for a check beside the baseline to resolve every
//! calibrated headline metric's threshold. `check` asks beside the
//! baseline it has; `baseline` asks for itself and a check of as many
//! processes, so the gate it sets can answer on this machine.

use perf_contract::{plan::Plan, plan::WorkloadName};
use perf_report::{calibration::Calibration, policy::Policy};
use xshell::Shell;

use crate::{measure, store::Store};

/// The most processes a run measures up front: beyond it, a check adds
/// them one at a time within its time budget.
pub const MOST_UP_FRONT: usize = 10;

/// What the calibration decided for a run.
#[derive(Debug, Default)]
pub struct Replicates {
    /// Why the plan's processes changed, or why no number of them helps.
    pub note: Option<String>,
    /// Headline metrics (each with why) whose threshold a run beside a
    /// baseline of another session cannot resolve on this machine: the
    /// shift between sessions alone exceeds it, or more processes than
    /// are measured up front would be needed.
    pub unresolved: Vec<String>,
}

/// Sets `plan`'s processes from `calibration` when it describes this
/// machine and profile and asks for more than the plan has; the note says
/// why. `base_processes`: the baseline's, or `None` for a baseline (the
/// check beside it measures as many).
pub fn from_calibration(
    sh: &Shell,
    store: &Store,
    calibration: &Calibration,
    plan: &mut Plan,
    base_processes: Option<usize>,
    policy: &Policy,
    threshold_for: &dyn Fn(&Policy, WorkloadName, &str) -> f64,
) -> Replicates {
    let here = crate::machine::probe(sh, store.root());
    if calibration
        .unlike_machine(&here.fingerprint(), &here, plan.profile)
        .is_some()
    {
        return Replicates::default();
    }
    // The thresholds as the judgement will apply them: no floor for a
    // calibrated metric.
    let calibrated = Policy {
        calibration: Some(calibration.clone()),
        ..policy.clone()
    };
    let replicated = measure::further_processes(plan, &[]).workloads;
    let least = plan.harness.processes as usize;
    let most = MOST_UP_FRONT.max(least);
    let beside = base_processes.map_or_else(
        || "for a check of as many".to_string(),
        |b| format!("beside the baseline's {b}"),
    );
    let threshold_for = |w: WorkloadName, m: &str| threshold_for(&calibrated, w, m);
    let need = match calibration.processes_needed(
        &replicated,
        base_processes,
        (least, most),
        &threshold_for,
    ) {
        Ok(need) => need,
        Err(why) => {
            plan.harness.processes = most as u32;
            return Replicates {
                note: Some(format!(
                    "{most} processes, the most measured up front: {why}"
                )),
                unresolved: vec![why],
            };
        }
    };
    let mut notes = Vec::new();
    if let Some(key) = &need.asked_by {
        plan.harness.processes = need.processes as u32;
        notes.push(format!(
            "{} processes, not {least}: this machine's calibration says {key} needs them {beside} to resolve its threshold",
            need.processes
        ));
    }
    if !need.session_bound.is_empty() {
        // More processes cannot help: say so rather than spend them.
        notes.push(format!(
            "no number of processes resolves {} on this machine: its calibration saw whole sessions shift that much against each other (`perf check --paired` measures the baseline's commit beside this tree in every round, and check does so unasked when that commit can be built)",
            need.session_bound.join(", ")
        ));
    }
    Replicates {
        note: (!notes.is_empty()).then(|| notes.join("; ")),
        unresolved: need.session_bound,
    }
}
