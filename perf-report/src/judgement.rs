//! The one judgement: a baseline run, a current run and a [`Policy`] in,
//! a [`Judgement`] out. `check`, the report's comparison with the previous
//! baseline and any other comparison of two runs call [`judge`]; `compare`,
//! whose two runs were measured in lockstep, calls [`judge_paired`]; the
//! exporters (`crate::export`) render what either returns.

use perf_contract::{
    plan::WorkloadName,
    schema::{Baseline, Better},
};
use serde::Serialize;

use crate::{
    compare::{any_regression, compare_results, Basis, Comparison, Verdict},
    guards::{embedding_runtime_changed, incomparable_reason, quality_guards, GuardResult},
    paired::{holm_adjust, FAMILY_ALPHA},
    pairing::compare_paired,
    policy::Policy,
};

/// The verdict on two runs, with everything needed to show why. Its JSON
/// form is `cargo xtask perf check --format json`'s output.
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    pub passed: bool,
    /// The baseline as the caller names it (a file path, a history entry).
    pub baseline: String,
    pub baseline_fingerprint: String,
    pub current_fingerprint: String,
    /// The two runs were recorded on different machine fingerprints.
    pub foreign_baseline: bool,
    pub comparisons: Vec<Comparison>,
    pub guards: Vec<GuardResult>,
    /// What the caller adds: re-runs, noise, skipped checks.
    pub notes: Vec<String>,
}

/// Two runs that did not measure the same thing: nothing is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomparable(pub String);

/// Judges `current` against `baseline`. Only the workloads the current run
/// measured are judged (the rest of the baseline is not "missing", just not
/// selected); `widen` may raise a metric's threshold above the policy's
/// (between-run noise) and returns the policy's value otherwise.
pub fn judge(
    baseline: &Baseline,
    current: &Baseline,
    baseline_name: &str,
    policy: &Policy,
    widen: &dyn Fn(WorkloadName, &str, f64) -> f64,
) -> Result<Judgement, Incomparable> {
    if let Some(reason) = incomparable_reason(baseline, current)
        .or_else(|| embedding_runtime_changed(baseline, current))
    {
        return Err(Incomparable(reason));
    }
    let comparisons = compare_with(baseline, current, policy, widen);
    let guards = quality_guards(baseline, current);
    let mut j = Judgement {
        passed: false,
        baseline: baseline_name.to_string(),
        baseline_fingerprint: baseline.machine_fingerprint.clone(),
        current_fingerprint: current.machine_fingerprint.clone(),
        foreign_baseline: baseline.machine_fingerprint != current.machine_fingerprint,
        comparisons,
        guards,
        notes: Vec::new(),
    };
    j.settle();
    Ok(j)
}

/// Judges a candidate build against a base build measured in lockstep with
/// it (sample `i` of each side is the same input, run moments apart):
/// timings are judged from their pairs, one false-alarm budget for the run.
pub fn judge_paired(
    base: &Baseline,
    candidate: &Baseline,
    base_name: &str,
    policy: &Policy,
) -> Result<Judgement, Incomparable> {
    if let Some(reason) = incomparable_reason(base, candidate) {
        return Err(Incomparable(reason));
    }
    let threshold_for = |w: WorkloadName, m: &str| {
        let b = base.workloads.get(&w).and_then(|r| r.metrics.get(m));
        policy.pct_for(w, m, b)
    };
    let comparisons = compare_paired(
        &base.workloads,
        &candidate.workloads,
        &threshold_for,
        policy.seed,
        policy.between_builds.as_ref(),
    );
    let mut j = Judgement {
        passed: false,
        baseline: base_name.to_string(),
        baseline_fingerprint: base.machine_fingerprint.clone(),
        current_fingerprint: candidate.machine_fingerprint.clone(),
        foreign_baseline: false,
        comparisons,
        guards: quality_guards(base, candidate),
        notes: Vec::new(),
    };
    j.settle();
    Ok(j)
}

/// The metric comparisons alone, for a second measurement of the same
/// baseline (a re-run of a suspect workload).
pub fn compare_with(
    baseline: &Baseline,
    current: &Baseline,
    policy: &Policy,
    widen: &dyn Fn(WorkloadName, &str, f64) -> f64,
) -> Vec<Comparison> {
    let mut judged = baseline.workloads.clone();
    judged.retain(|w, _| current.workloads.contains_key(w));
    let threshold_for = |w: WorkloadName, m: &str| {
        let base = baseline.workloads.get(&w).and_then(|r| r.metrics.get(m));
        widen(w, m, policy.pct_for(w, m, base))
    };
    let prior_for = |w: WorkloadName, m: &str| {
        policy
            .calibration
            .as_ref()
            .filter(|c| c.unlike(current).is_none())
            .and_then(|c| c.prior(w, m))
    };
    let mut comparisons = compare_results(
        &judged,
        &current.workloads,
        &threshold_for,
        &prior_for,
        policy.seed,
    );
    one_budget_across_processes(&mut comparisons);
    comparisons
}

/// One false-alarm budget for the run, as `perf compare` keeps
/// (`crate::paired`): the metrics judged across processes are one Holm
/// family, their p-values adjusted over it, and a change whose adjusted
/// p-value exceeds [`FAMILY_ALPHA`] is not significant however its own
/// interval lies. Tested at 5% each, a hundred metrics of identical code
/// flag a few per run (leave-one-out A/A checks on a 2-core VM: three of
/// five exited 1, each on one secondary figure). A figure with no spread
/// (a count every process measured alike: its interval has no width) is
/// no test, so it is not in the family, where it would only cost the
/// others power; a changed one keeps its verdict. Intervals stay
/// per-metric 95%.
fn one_budget_across_processes(comparisons: &mut [Comparison]) {
    let family: Vec<usize> = (0..comparisons.len())
        .filter(|&i| {
            let c = &comparisons[i];
            c.better != Better::Neither
                && c.change.as_ref().is_some_and(|m| {
                    m.basis == Basis::Processes
                        && m.p_value.is_some()
                        && m.ratio_ci.is_some_and(|ci| ci.high > ci.low)
                })
        })
        .collect();
    let ps: Vec<f64> = family
        .iter()
        .filter_map(|&i| comparisons[i].change.as_ref()?.p_value)
        .collect();
    for (&i, adjusted) in family.iter().zip(holm_adjust(&ps)) {
        let Some(m) = comparisons[i].change.as_mut() else {
            continue;
        };
        m.p_value = Some(adjusted);
        if adjusted > FAMILY_ALPHA && matches!(m.verdict, Verdict::Regressed | Verdict::Improved) {
            m.verdict = Verdict::NotSignificant;
        }
    }
}

/// The policy's thresholds as they are: no widening.
pub fn as_configured(_: WorkloadName, _: &str, pct: f64) -> f64 {
    pct
}

impl Judgement {
    /// Recomputes `passed` after the caller changed the comparisons
    /// (filtered them to one mode, replaced one by a re-run's).
    pub fn settle(&mut self) {
        self.passed = !any_regression(&self.comparisons) && self.guards.iter().all(|g| g.passed);
    }

    pub fn regressed(&self) -> impl Iterator<Item = &Comparison> {
        self.comparisons.iter().filter(|c| is_regressed(c))
    }

    /// The workloads with a regressed metric, each once, in order.
    pub fn regressed_workloads(&self) -> Vec<WorkloadName> {
        let set: std::collections::BTreeSet<WorkloadName> =
            self.regressed().map(|c| c.workload).collect();
        set.into_iter().collect()
    }

    /// Headline metrics (`MetricKind::is_headline`) this run could not
    /// judge either way: their MDE exceeds the threshold, or their change
    /// does without being significant. A passing run with any is
    /// inconclusive, not a pass.
    pub fn inconclusive(&self) -> impl Iterator<Item = &Comparison> {
        self.comparisons.iter().filter(|c| {
            c.metric.kind().is_headline()
                && c.change.as_ref().is_some_and(|ch| {
                    matches!(ch.verdict, Verdict::Inconclusive | Verdict::NotSignificant)
                })
        })
    }

    /// One line: PASS, INCONCLUSIVE or FAIL and why.
    pub fn verdict_line(&self) -> String {
        let failed_guards = self.guards.iter().filter(|g| !g.passed).count();
        let unsure: Vec<String> = self
            .inconclusive()
            .map(|c| format!("{}.{}", c.workload, c.metric))
            .collect();
        if self.passed && !unsure.is_empty() {
            format!(
                "INCONCLUSIVE: no regression seen, but {} headline metric(s) could not have shown a change of their threshold: {}",
                unsure.len(),
                unsure.join(", ")
            )
        } else if self.passed {
            "PASS: no confirmed regression, quality guards hold".into()
        } else {
            format!(
                "FAIL: {} regressed metric(s), {failed_guards} failed quality guard(s)",
                self.regressed().count()
            )
        }
    }
}

pub fn is_regressed(c: &Comparison) -> bool {
    c.change
        .as_ref()
        .is_some_and(|ch| ch.verdict == Verdict::Regressed)
}

#[cfg(test)]
mod tests {
    use perf_contract::{metric_key::MetricKey, schema::Unit};

    use super::*;
    use crate::compare::{MetricChange, Status};

    /// A metric judged across processes, regressed on its own interval
    /// with two-sided p-value `p`.
    fn regressed(name: &str, p: f64) -> Comparison {
        Comparison {
            workload: WorkloadName::RagQuery,
            metric: MetricKey::parse(name),
            unit: Unit::Milliseconds,
            better: Better::Lower,
            change: Some(MetricChange {
                baseline_median: Some(1.0),
                current_median: Some(1.12),
                change_pct: Some(12.0),
                threshold_pct: 10.0,
                n_baseline: 6,
                n_current: 6,
                ratio_ci: Some(perf_contract::summary::Interval {
                    low: 1.01,
                    high: 1.2,
                }),
                p_value: Some(p),
                mde_pct: Some(9.0),
                basis: Basis::Processes,
                verdict: Verdict::Regressed,
                rounds: 0,
                processes: Some((6, 6)),
                floor_pct: None,
            }),
            status: Status::Compared,
        }
    }

    /// Among a hundred metrics of identical code, one at p = 0.01 is the
    /// false alarm a run of a hundred 5% tests expects: not significant
    /// once the run is one family. A changed count (p = 0) stays regressed.
    #[test]
    fn one_false_alarm_budget_for_a_run_judged_across_processes() {
        let mut cs: Vec<Comparison> = (0..99)
            .map(|i| {
                let mut c = regressed(&format!("stage.s{i}"), 0.5);
                c.change.as_mut().unwrap().verdict = Verdict::WithinNoise;
                c
            })
            .collect();
        cs.push(regressed("latency", 0.01));
        // A count that changed in every process alike: no width, no test.
        let mut count = regressed("query.allocations", 0.0);
        count.change.as_mut().unwrap().ratio_ci = Some(perf_contract::summary::Interval {
            low: 1.12,
            high: 1.12,
        });
        cs.push(count);
        one_budget_across_processes(&mut cs);
        let verdict = |name: &str| {
            let c = cs
                .iter()
                .find(|c| c.metric == MetricKey::parse(name))
                .unwrap();
            c.change.as_ref().unwrap().verdict.clone()
        };
        assert_eq!(verdict("latency"), Verdict::NotSignificant);
        assert_eq!(verdict("query.allocations"), Verdict::Regressed);
        assert_eq!(verdict("stage.s3"), Verdict::WithinNoise);
        // Alone, the same p-value is significant.
        let mut alone = vec![regressed("latency", 0.01)];
        one_budget_across_processes(&mut alone);
        assert_eq!(
            alone[0].change.as_ref().unwrap().verdict,
            Verdict::Regressed
        );
    }
}
