//! An unpaired comparison (`check`: a baseline and a fresh run) whose unit
//! of replication is the process, with samples matched by input.
//!
//! Each side was measured in one or more processes of the same plan; a
//! process of the retrieval workloads asks the same questions, searches
//! and batches in the same order, so sample `i` of every process is the
//! same input. Each process gives one estimate: the Hodges-Lehmann
//! estimate of its log-samples minus the baseline's mean log-sample of
//! the same input, which removes the spread between inputs (a quick run's
//! latencies are a mixture of questions near 2.0 and 3.5 ms, which a
//! comparison of two bags of samples reads as noise). When the processes
//! did not measure the same inputs (unequal counts), a process's estimate
//! is its log-median. The interval is Student's t on the difference of the
//! two sides' mean estimates, with the variance pooled over both sides'
//! processes: as wide as processes of one build disagree, which is where
//! the variance between two runs lies. A figure with one sample per
//! process (peak RSS, a build time, an ingest rate) gets one estimate a
//! process and the same rule.
//!
//! A baseline and a check are also two *sessions*: every process of one
//! shares the machine's state at that time (a neighbour's load on a VM),
//! and an A/A series on a 2-core VM saw whole sessions shift by about 4%
//! against each other. No spread between one session's processes holds
//! that, so a calibration measured over several sessions
//! ([`session_spread`]) adds it to the interval: twice a session mean's
//! variance, its degrees of freedom by Welch-Satterthwaite.

use perf_contract::summary::Interval;

use crate::{
    student_t,
    walsh::{hodges_lehmann, pct},
};

/// Fewest degrees of freedom (processes of both sides, less two) an
/// interval is built from: with one, the 95% interval is 12.7 standard
/// errors wide.
pub const MIN_DF: usize = 2;

/// One metric's change with the process as the replicate.
#[derive(Debug, Clone, PartialEq)]
pub struct AcrossProcesses {
    /// Processes of the baseline and of the current run.
    pub processes: (usize, usize),
    /// Whether every process measured the same inputs in the same order
    /// (the estimates are matched by input).
    pub matched: bool,
    /// Current vs baseline in percent.
    pub change_pct: f64,
    /// 95% Student-t interval of `change_pct`.
    pub ci_pct: Interval,
    /// Two-sided two-sample t-test of the processes' estimates.
    pub p_value: f64,
    /// The half-width, in percent, no number of processes of the current
    /// run narrows the interval below: the baseline's processes and the
    /// shift between sessions.
    pub floor_pct: f64,
}

/// What an earlier calibration of this machine measured of a metric's
/// process-to-process spread (`crate::calibration`): pooled with the
/// run's own processes, so a run of few processes still gets an interval
/// across processes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    /// Standard deviation of one process's estimate, in log units.
    pub sd_log: f64,
    /// Its degrees of freedom (the calibration's processes less its
    /// sessions).
    pub df: usize,
    /// How far whole sessions of this machine shift against each other,
    /// when the calibration measured several; `None`: not measured, and
    /// the interval leaves it out.
    pub session: Option<SessionShift>,
}

/// The standard deviation of a session's shift, shared by every process
/// of one run, in log units, and its degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionShift {
    pub sd_log: f64,
    pub df: f64,
}

/// One metric's spread over several sessions of one build, each a run of
/// several processes: one-way random effects on the processes' estimates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionSpread {
    /// Standard deviation of one process's estimate within a session.
    pub process_sd_log: f64,
    /// Processes less sessions.
    pub process_df: usize,
    /// The sessions' own shift beyond what their processes explain;
    /// `None` with one session.
    pub session: Option<SessionShift>,
}

/// The change of one metric from its samples process by process
/// (`base[p]`: the samples of the baseline's process `p`), or why there
/// is none.
pub fn across_processes(
    base: &[&[f64]],
    cur: &[&[f64]],
    prior: Option<Prior>,
) -> Result<AcrossProcesses, String> {
    let (rb, rc) = (base.len(), cur.len());
    let own_df = (rb + rc).saturating_sub(2);
    let prior_df = prior.map_or(0, |p| p.df);
    if rb == 0 || rc == 0 || own_df + prior_df < MIN_DF {
        return Err(format!(
            "{rb} baseline and {rc} current process(es) and no calibration of this machine: an interval across processes needs {} processes in all",
            MIN_DF + 2
        ));
    }
    let b = logs(base, "baseline")?;
    let c = logs(cur, "current")?;
    let matched = same_inputs(b.iter().chain(&c));
    let reference = matched.then(|| mean_by_input(&b));
    let eb = estimates(&b, reference.as_deref());
    let ec = estimates(&c, reference.as_deref());
    let (mb, mc) = (mean(&eb), mean(&ec));
    let squares = |e: &[f64], m: f64| e.iter().map(|x| (x - m).powi(2)).sum::<f64>();
    let prior_squares = prior.map_or(0.0, |p| p.sd_log.powi(2) * p.df as f64);
    let df = (own_df + prior_df) as f64;
    let pooled = (squares(&eb, mb) + squares(&ec, mc) + prior_squares) / df;
    let shift = prior.and_then(|p| p.session);
    let diff = mc - mb;
    let half_width = |per_process: f64| {
        let (var, df) = with_sessions(pooled * per_process, df, shift);
        student_t::interval(diff, var.sqrt(), df)
    };
    let (half, p_value) = half_width(1.0 / rb as f64 + 1.0 / rc as f64);
    let (floor, _) = half_width(1.0 / rb as f64);
    Ok(AcrossProcesses {
        processes: (rb, rc),
        matched,
        change_pct: pct(diff),
        ci_pct: Interval {
            low: pct(diff - half),
            high: pct(diff + half),
        },
        p_value,
        floor_pct: (pct(floor) - pct(-floor)) / 2.0,
    })
}

/// The variance of a difference of two sessions' means, `process_var`
/// (with `df`) plus each session's shift, and its Welch-Satterthwaite
/// degrees of freedom.
pub(crate) fn with_sessions(process_var: f64, df: f64, shift: Option<SessionShift>) -> (f64, f64) {
    let Some(s) = shift.filter(|s| s.sd_log > 0.0 && s.df > 0.0) else {
        return (process_var, df);
    };
    let shift_var = 2.0 * s.sd_log.powi(2);
    let var = process_var + shift_var;
    let df = var.powi(2) / (process_var.powi(2) / df + shift_var.powi(2) / s.df);
    (var, df)
}

/// The spread of one metric over `sessions` of one build (`sessions[s][p]`:
/// the samples of process `p` of session `s`), matched by input as a
/// comparison is; `None` below three processes in all. The shift between
/// sessions is the one-way random-effects estimate (the between-sessions
/// mean square less the within, over the processes a session has),
/// truncated at zero, its degrees of freedom by Satterthwaite.
pub fn session_spread(sessions: &[Vec<&[f64]>]) -> Result<Option<SessionSpread>, String> {
    let all: Vec<&[f64]> = sessions.iter().flatten().copied().collect();
    let n = all.len();
    let s = sessions.iter().filter(|x| !x.is_empty()).count();
    if n < 3 || n <= s {
        return Ok(None);
    }
    let l = logs(&all, "calibration")?;
    let reference = same_inputs(l.iter()).then(|| mean_by_input(&l));
    let e = estimates(&l, reference.as_deref());
    let mut groups = Vec::new();
    let mut at = 0;
    for session in sessions.iter().filter(|x| !x.is_empty()) {
        groups.push(&e[at..at + session.len()]);
        at += session.len();
    }
    let within: f64 = groups
        .iter()
        .map(|g| {
            let m = mean(g);
            g.iter().map(|x| (x - m).powi(2)).sum::<f64>()
        })
        .sum::<f64>()
        / (n - s) as f64;
    let session = (s >= 2).then(|| {
        let grand = mean(&e);
        let between = groups
            .iter()
            .map(|g| g.len() as f64 * (mean(g) - grand).powi(2))
            .sum::<f64>()
            / (s - 1) as f64;
        let sizes = groups.iter().map(|g| (g.len() as f64).powi(2)).sum::<f64>();
        let per_session = (n as f64 - sizes / n as f64) / (s - 1) as f64;
        let var = ((between - within) / per_session).max(0.0);
        // Satterthwaite's degrees of freedom for a difference of mean
        // squares; at least one, as they fall towards zero when the shift
        // is small beside the processes' spread, where a t quantile of so
        // few explodes although the shift adds little.
        let df = if var > 0.0 {
            ((per_session * var).powi(2)
                / (between.powi(2) / (s - 1) as f64 + within.powi(2) / (n - s) as f64))
                .max(1.0)
        } else {
            (s - 1) as f64
        };
        SessionShift {
            sd_log: var.sqrt(),
            df,
        }
    });
    Ok(Some(SessionSpread {
        process_sd_log: within.sqrt(),
        process_df: n - s,
        session,
    }))
}

/// Each process's samples as logs, or why a sample has none.
fn logs(side: &[&[f64]], name: &str) -> Result<Vec<Vec<f64>>, String> {
    side.iter()
        .enumerate()
        .map(|(p, s)| {
            if s.is_empty() {
                return Err(format!("{name} process {} has no sample", p + 1));
            }
            s.iter()
                .map(|&x| {
                    (x.is_finite() && x > 0.0).then(|| x.ln()).ok_or_else(|| {
                        format!("{name} process {} has the sample {x}: only positive finite samples have a log-ratio", p + 1)
                    })
                })
                .collect()
        })
        .collect()
}

/// Whether every process measured as many samples (the same inputs).
fn same_inputs<'a>(mut processes: impl Iterator<Item = &'a Vec<f64>>) -> bool {
    let Some(first) = processes.next() else {
        return false;
    };
    processes.all(|p| p.len() == first.len())
}

/// The mean log-sample of each input over `processes`.
fn mean_by_input(processes: &[Vec<f64>]) -> Vec<f64> {
    (0..processes[0].len())
        .map(|i| processes.iter().map(|p| p[i]).sum::<f64>() / processes.len() as f64)
        .collect()
}

/// One estimate per process: the Hodges-Lehmann estimate of its
/// log-samples less the reference of the same input, or (inputs not
/// matched) of its log-samples; not the median, which of a mixture of
/// inputs jumps between modes.
fn estimates(processes: &[Vec<f64>], reference: Option<&[f64]>) -> Vec<f64> {
    processes
        .iter()
        .map(|p| match reference {
            Some(r) => hodges_lehmann(&p.iter().zip(r).map(|(x, r)| x - r).collect::<Vec<_>>()),
            None => hodges_lehmann(p),
        })
        .collect()
}

fn mean(e: &[f64]) -> f64 {
    e.iter().sum::<f64>() / e.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `processes` processes of `inputs` inputs whose costs differ 3:1, each
    /// process off by `offset(p)` (its layout, its core), each sample by a
    /// little jitter, all times `factor`.
    fn side(processes: usize, factor: f64, offset: impl Fn(usize) -> f64) -> Vec<Vec<f64>> {
        (0..processes)
            .map(|p| {
                (0..54)
                    .map(|i| {
                        let cost = if i % 2 == 0 { 2.0 } else { 3.5 };
                        let jitter = 1.0 + ((i * 7919 + p * 31) % 11) as f64 * 0.002;
                        cost * factor * offset(p) * jitter
                    })
                    .collect()
            })
            .collect()
    }

    fn slices(v: &[Vec<f64>]) -> Vec<&[f64]> {
        v.iter().map(Vec::as_slice).collect()
    }

    #[test]
    fn inputs_matched_across_processes_see_a_small_change() {
        let spread = |p: usize| [1.0, 1.004, 0.997, 1.002][p % 4];
        let b = side(3, 1.0, spread);
        let c = side(3, 1.04, |p| spread(p + 1));
        let x = across_processes(&slices(&b), &slices(&c), None).unwrap();
        assert!(x.matched);
        assert!((x.change_pct - 4.0).abs() < 0.6, "{x:?}");
        assert!(x.ci_pct.low > 2.0 && x.ci_pct.high < 6.0, "{x:?}");
        assert!(x.p_value < 0.01, "{x:?}");
    }

    /// Processes that differ by ±3% make the interval that wide: no
    /// verdict rests on the samples of one process.
    #[test]
    fn the_spread_between_processes_widens_the_interval() {
        let b = side(3, 1.0, |p| [1.03, 0.97, 1.0][p]);
        let c = side(3, 1.0, |p| [0.97, 1.03, 1.01][p]);
        let x = across_processes(&slices(&b), &slices(&c), None).unwrap();
        assert!(x.ci_pct.low < -3.0 && x.ci_pct.high > 3.0, "{x:?}");
        assert!(x.ci_pct.low < 0.0 && x.ci_pct.high > 0.0, "{x:?}");
    }

    /// An old baseline of one process against three: the spread comes
    /// from the three, the interval is wider for the one.
    #[test]
    fn one_baseline_process_is_judged_with_the_current_runs_spread() {
        let b = side(1, 1.0, |_| 1.0);
        let c = side(3, 1.10, |p| [1.0, 1.01, 0.99][p]);
        let x = across_processes(&slices(&b), &slices(&c), None).unwrap();
        assert_eq!(x.processes, (1, 3));
        assert!(x.ci_pct.low > 5.0, "{x:?}");
        let one_each = across_processes(&slices(&b), &slices(&c[..1]), None).unwrap_err();
        assert!(one_each.contains("needs 4"), "{one_each}");
    }

    #[test]
    fn unequal_counts_compare_the_processes_locations() {
        let b = side(3, 1.0, |_| 1.0);
        let mut c = side(3, 1.2, |_| 1.0);
        c[1].pop();
        let x = across_processes(&slices(&b), &slices(&c), None).unwrap();
        assert!(!x.matched);
        assert!(x.change_pct > 15.0, "{x:?}");
    }

    /// Counts are the same in every process: no spread, a sure answer.
    #[test]
    fn a_deterministic_figure_has_no_spread() {
        let same = vec![vec![7.0, 9.0]; 3];
        let x = across_processes(&slices(&same), &slices(&same), None).unwrap();
        assert_eq!((x.change_pct, x.p_value), (0.0, 1.0));
        let more = vec![vec![7.7, 9.9]; 3];
        let x = across_processes(&slices(&same), &slices(&more), None).unwrap();
        assert_eq!(x.p_value, 0.0);
        assert!((x.change_pct - 10.0).abs() < 1e-9);
        let zero = vec![vec![0.0, 9.0]; 3];
        assert!(across_processes(&slices(&zero), &slices(&same), None).is_err());
    }

    /// Three sessions whose processes agree within each but whose means
    /// sit 5% apart: the shift is measured, and a comparison that includes
    /// it is wider than one that does not, and cannot be narrowed below
    /// its floor by more processes.
    #[test]
    fn sessions_that_shift_widen_an_unpaired_interval() {
        let spread = |p: usize| [1.0, 1.004, 0.997][p % 3];
        let sessions: Vec<Vec<Vec<f64>>> = [1.0, 1.05, 0.95]
            .iter()
            .map(|&shift| side(3, shift, spread))
            .collect();
        let by: Vec<Vec<&[f64]>> = sessions.iter().map(|s| slices(s)).collect();
        let s = session_spread(&by).unwrap().unwrap();
        let shift = s.session.unwrap();
        assert!((shift.sd_log - 0.05).abs() < 0.01, "{s:?}");
        assert_eq!(s.process_df, 6);
        assert!(s.process_sd_log < 0.01, "{s:?}");
        assert_eq!(session_spread(&by[..1]).unwrap().unwrap().session, None);

        let b = side(3, 1.0, spread);
        let c = side(3, 1.0, |p| spread(p + 1));
        let prior = Prior {
            sd_log: s.process_sd_log,
            df: s.process_df,
            session: None,
        };
        let without = across_processes(&slices(&b), &slices(&c), Some(prior)).unwrap();
        let with = across_processes(
            &slices(&b),
            &slices(&c),
            Some(Prior {
                session: Some(shift),
                ..prior
            }),
        )
        .unwrap();
        let half = |x: &AcrossProcesses| (x.ci_pct.high - x.ci_pct.low) / 2.0;
        assert!(half(&without) < 2.0, "{without:?}");
        assert!(half(&with) > 10.0, "{with:?}");
        assert!(with.floor_pct > 10.0, "{with:?}");
    }
}
