//! What a check beside a baseline file says about the two sessions it
//! compares: whether this machine's calibration describes the run (else
//! absolute floors stand in) and what the intervals hold of the shift of
//! the whole machine between the baseline's session and this one.

use std::path::PathBuf;

use perf_contract::{plan::ProfileName, schema::Baseline};
use perf_report::{calibration::Calibration, policy::Policy};

/// Fewer sessions than this estimate their shift roughly: in simulation
/// (perf-report/tests/process_replicates.rs) three hold 0 in about 86% of
/// A/A checks, eight in 94%.
const ROUGH_BELOW_SESSIONS: usize = 8;

/// What the intervals hold of the two sessions a check compares. An A/A
/// series on a noisy VM saw every figure of a check move together against
/// a baseline of minutes before: a shift of the whole machine, which no
/// spread between one session's processes holds; a calibration over
/// several sessions measures it, and the interval includes it.
pub fn sessions_note(baseline: &Baseline, current: &Baseline, c: Option<&Calibration>) -> String {
    let when = |r: &Baseline| r.created_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let times = format!(
        "the baseline was measured at {} and this run at {}",
        when(baseline),
        when(current)
    );
    match c.filter(|c| c.sessions > 1) {
        Some(c) => format!(
            "unpaired: {times}; the intervals include this machine's shift between sessions, calibrated over {} sessions{}",
            c.sessions,
            if c.sessions < ROUGH_BELOW_SESSIONS {
                " (a rough estimate of a variance: each `perf calibrate` adds sessions)"
            } else {
                ""
            }
        ),
        None => format!(
            "unpaired: {times}; the intervals hold the spread between processes within a session, not a shift of the whole machine between sessions (`perf calibrate` measures it over several; `perf check --paired` measures the baseline's commit beside this tree in every round)"
        ),
    }
}

/// This machine's calibration for the run's profile when it describes the
/// run, with a note either way: without one, absolute floors stand in.
pub fn calibration_for(
    calibration: Option<(PathBuf, Calibration)>,
    current: &Baseline,
    policy: &Policy,
    notes: &mut Vec<String>,
) -> Option<Calibration> {
    let profile = current.plan.profile;
    let Some((file, c)) = calibration else {
        notes.push(format!(
            "no calibration of this machine for the {profile} profile: absolute floors ({} µs, {} ms) raise the thresholds of short timings; `cargo xtask perf calibrate{}` measures what this machine resolves",
            policy.min_abs_us,
            policy.min_abs_ms,
            if profile == ProfileName::Quick { " --quick" } else { "" }
        ));
        return None;
    };
    if let Some(why) = c.unlike(current) {
        notes.push(format!("calibration {} not used: {why}", file.display()));
        return None;
    }
    notes.push(format!(
        "calibration of this machine ({}, {} processes in {} session(s), {} metrics): its spread between processes is pooled with this run's, and no absolute floor applies to those metrics",
        c.created_at.format("%Y-%m-%d %H:%M UTC"),
        c.processes,
        c.sessions,
        c.metrics.len()
    ));
    Some(c)
}
