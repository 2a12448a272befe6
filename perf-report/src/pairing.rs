//! Comparisons of two builds measured in lockstep (`perf compare`): every
//! timed metric whose two sides hold the same number of samples is judged
//! from its pairs (`crate::paired`, one Holm family per run); sizes, counts
//! and fractions, and timings that cannot be paired, go through the
//! unpaired rule of `crate::compare` as in `check`. The result is the same
//! [`Comparison`] rows, so the exporters need nothing new.

use std::collections::BTreeMap;

use perf_contract::{
    plan::WorkloadName,
    schema::{Better, Metric, WorkloadResult},
    summary::Interval,
};

use crate::{
    build_spread::{BuildSpread, BuildVariance},
    compare::{
        compare_each, compare_metric_of, metric_seed, Basis, Comparison, MetricChange, Verdict,
    },
    paired::{judge_run, PairedJudgement, PairedMetric, PairedVerdict, FAMILY_ALPHA, MIN_PAIRS},
    rounds::MIN_ROUNDS,
    student_t,
};

/// Whether two sides' samples of one metric are judged pair by pair: a
/// timing with a direction and the same count on both sides (sample `i` of
/// each side measured the same input). Fewer than [`MIN_PAIRS`] pairs are
/// still judged so, as inconclusive: the unpaired rule on five samples a
/// side flagged an identical build (-8% on five batches of 50) in one of
/// ten benchmark runs.
fn pairable(base: &Metric, cand: &Metric) -> bool {
    (cand.unit.is_timing() || rounds_of(base, cand).is_some())
        && (base.unit, base.better) == (cand.unit, cand.better)
        && cand.better != Better::Neither
        && base.samples.len() == cand.samples.len()
}

/// The samples each process pair gave, when both sides came from the same
/// [`MIN_ROUNDS`] or more process pairs (`perf compare`'s rounds): then
/// any judged metric, a size or a once-per-process figure too, is judged
/// across them (`crate::rounds`).
fn rounds_of<'a>(base: &'a Metric, cand: &Metric) -> Option<&'a [u32]> {
    (base.processes.len() >= MIN_ROUNDS && base.processes == cand.processes)
        .then_some(base.processes.as_slice())
}

/// A paired metric's name, its pairs, and how many of them each process
/// pair gave.
type Paired = (String, Vec<(f64, f64)>, Vec<u32>);

/// Every metric of either side, ordered by workload then metric name, as
/// `compare::compare_results` orders them.
///
/// `between_builds`: the spread between two builds of one source, when
/// the sides are different builds and it was measured; each paired
/// metric it covers gets it in its interval.
pub fn compare_paired(
    base: &BTreeMap<WorkloadName, WorkloadResult>,
    cand: &BTreeMap<WorkloadName, WorkloadResult>,
    threshold_for: &dyn Fn(WorkloadName, &str) -> f64,
    seed: u64,
    between_builds: Option<&BuildSpread>,
) -> Vec<Comparison> {
    // The paired metrics, judged together once all are known.
    let mut paired: Vec<Paired> = Vec::new();
    let mut rows = compare_each(base, cand, &mut |workload, name, bm, cm| {
        let threshold = threshold_for(workload, name.as_str());
        if pairable(bm, cm) {
            let pairs = bm.samples.iter().copied().zip(cm.samples.iter().copied());
            let rounds = rounds_of(bm, cm).unwrap_or_default().to_vec();
            paired.push((format!("{workload}.{name}"), pairs.collect(), rounds));
            placeholder(bm, cm, threshold)
        } else {
            compare_metric_of(
                name,
                bm,
                cm,
                threshold,
                metric_seed(seed, workload, name.as_str()),
                None,
            )
        }
    });
    let row_of = |full: &str| {
        rows.iter()
            .position(|r| format!("{}.{}", r.workload, r.metric) == full)
            .expect("a paired metric has its row")
    };
    let at: Vec<usize> = paired.iter().map(|(name, _, _)| row_of(name)).collect();
    let metrics: Vec<PairedMetric<'_>> = paired
        .iter()
        .zip(&at)
        .map(|((name, pairs, rounds), &i)| PairedMetric {
            name,
            better: rows[i].better,
            threshold_pct: rows[i].change.as_ref().expect("placeholder").threshold_pct,
            pairs,
            rounds,
            between_builds: between_builds.and_then(|b| b.of(name)),
        })
        .collect();
    let judged = judge_run(&metrics, FAMILY_ALPHA);
    for ((&i, judged), m) in at.iter().zip(&judged).zip(&metrics) {
        let change = rows[i].change.as_mut().expect("placeholder");
        fill(change, judged);
        change.floor_pct = m
            .between_builds
            .filter(|b| b.var > 0.0 && b.df > 0.0)
            .map(build_floor_pct);
    }
    rows
}

/// The half-width no number of rounds narrows: with the rounds' own
/// variance gone, the spread between two builds of one source alone
/// (a 95% interval on its degrees of freedom).
fn build_floor_pct(b: BuildVariance) -> f64 {
    let half = student_t::quantile(0.975, b.df) * b.var.sqrt();
    (half.exp() - (-half).exp()) * 50.0
}

/// The medians and counts of a paired metric, before its pairs are judged.
fn placeholder(base: &Metric, cand: &Metric, threshold_pct: f64) -> MetricChange {
    MetricChange {
        baseline_median: Some(base.summary.median),
        current_median: Some(cand.summary.median),
        change_pct: None,
        threshold_pct,
        n_baseline: base.samples.len(),
        n_current: cand.samples.len(),
        ratio_ci: None,
        p_value: None,
        mde_pct: None,
        basis: Basis::Paired,
        verdict: Verdict::Informational,
        rounds: 0,
        processes: None,
        floor_pct: None,
    }
}

fn fill(change: &mut MetricChange, judged: &PairedJudgement) {
    let c = &judged.change;
    change.change_pct = c.change_pct;
    // The interval as a ratio, as the unpaired rule states it.
    change.ratio_ci = c.ci_pct.map(|ci| Interval {
        low: 1.0 + ci.low / 100.0,
        high: 1.0 + ci.high / 100.0,
    });
    change.mde_pct = c.mde_pct;
    change.p_value = c.p_holm;
    change.rounds = c.rounds;
    change.verdict = match judged.verdict {
        PairedVerdict::Regressed => Verdict::Regressed,
        PairedVerdict::Improved => Verdict::Improved,
        PairedVerdict::NoChange => Verdict::WithinNoise,
        PairedVerdict::Inconclusive => Verdict::Inconclusive,
        PairedVerdict::Informational => Verdict::Informational,
        // Too few pairs to see anything: not evidence of no change.
        PairedVerdict::TooFewPairs if c.n_pairs < MIN_PAIRS => Verdict::Inconclusive,
        PairedVerdict::TooFewPairs => Verdict::Incomparable {
            reason: c
                .unusable
                .clone()
                .unwrap_or_else(|| format!("fewer than {MIN_PAIRS} usable pairs")),
        },
    };
}

#[cfg(test)]
mod tests {
    use perf_contract::{fixture::baseline, schema::Unit};

    use super::*;

    type Runs = (
        BTreeMap<WorkloadName, WorkloadResult>,
        BTreeMap<WorkloadName, WorkloadResult>,
    );

    /// Base and candidate as two runs of `n` paired latency samples: the
    /// inputs' costs vary widely (as questions do), the candidate is the
    /// base times `factor` times `noise(i)`.
    fn pairs(n: usize, factor: f64, noise: impl Fn(usize) -> f64) -> Runs {
        let cost = |i: usize| 10.0 + (i * 37 % 23) as f64;
        let a: Vec<f64> = (0..n).map(cost).collect();
        let b: Vec<f64> = (0..n).map(|i| cost(i) * factor * noise(i)).collect();
        let run = |s: Vec<f64>| {
            let m = (
                WorkloadName::RagQuery,
                "latency",
                Unit::Milliseconds,
                Better::Lower,
                s,
            );
            baseline(&[m]).workloads
        };
        (run(a), run(b))
    }

    /// [`pairs`] with a little per-sample noise (about ±0.6%).
    fn runs(n: usize, factor: f64) -> Runs {
        pairs(n, factor, |i| 1.0 + ((i * 7919 % 13) as f64 - 6.0) * 0.001)
    }

    fn verdict(rows: &[Comparison]) -> &Verdict {
        &rows[0].change.as_ref().unwrap().verdict
    }

    #[test]
    fn pairs_see_a_small_change_the_inputs_spread_would_hide() {
        let (a, b) = runs(60, 1.05);
        let rows = compare_paired(&a, &b, &|_, _| 3.0, 1, None);
        let ch = rows[0].change.as_ref().unwrap();
        assert_eq!(ch.basis, Basis::Paired);
        assert_eq!(verdict(&rows), &Verdict::Regressed, "{ch:?}");
        assert!((ch.change_pct.unwrap() - 5.0).abs() < 0.5, "{ch:?}");
        assert!(ch.mde_pct.unwrap() < 1.0, "{ch:?}");
    }

    #[test]
    fn identical_builds_show_no_change() {
        let (a, b) = runs(60, 1.0);
        let rows = compare_paired(&a, &b, &|_, _| 3.0, 1, None);
        assert_eq!(verdict(&rows), &Verdict::WithinNoise);
    }

    #[test]
    fn a_noisy_pair_is_inconclusive_not_within_noise() {
        // Per-pair noise of about ±20%: no change can be told from 3%.
        let (a, b) = pairs(12, 1.0, |i| 1.0 + ((i * 7919 % 41) as f64 - 20.0) * 0.01);
        let rows = compare_paired(&a, &b, &|_, _| 3.0, 1, None);
        let ch = rows[0].change.as_ref().unwrap();
        assert!(ch.mde_pct.unwrap() > 3.0, "{ch:?}");
        assert_eq!(verdict(&rows), &Verdict::Inconclusive, "{ch:?}");
    }

    #[test]
    fn five_pairs_are_inconclusive_whatever_they_show() {
        let (a, b) = runs(5, 0.9);
        let rows = compare_paired(&a, &b, &|_, _| 3.0, 1, None);
        assert_eq!(rows[0].change.as_ref().unwrap().basis, Basis::Paired);
        assert_eq!(verdict(&rows), &Verdict::Inconclusive);
    }

    #[test]
    fn unequal_counts_fall_back_to_the_unpaired_rule() {
        let (a, _) = runs(60, 1.0);
        let (_, b) = runs(59, 1.0);
        let rows = compare_paired(&a, &b, &|_, _| 3.0, 1, None);
        assert_eq!(rows[0].change.as_ref().unwrap().basis, Basis::Bootstrap);
    }

    /// Runs whose samples came from several process pairs are judged
    /// across them: a process-level offset of ±2% that one pair's
    /// interval would call a change is no change once it varies by round,
    /// and a once-per-process size (peak RSS) is judged too, never on a
    /// point estimate.
    #[test]
    fn several_process_pairs_are_judged_across_them() {
        let (a, b) = runs(60, 1.0);
        // Round r of the candidate is off by ±2% as its process lands.
        let shift = [1.02, 0.98, 1.02, 0.98, 1.01];
        fn m(r: &mut Runs, side: usize) -> &mut Metric {
            let w = if side == 0 { &mut r.0 } else { &mut r.1 };
            w.get_mut(&WorkloadName::RagQuery)
                .unwrap()
                .metrics
                .get_mut("latency")
                .unwrap()
        }
        let mut both = (a, b);
        m(&mut both, 0).processes = vec![12; 5];
        let cand = m(&mut both, 1);
        cand.processes = vec![12; 5];
        for (i, x) in cand.samples.iter_mut().enumerate() {
            *x *= shift[i / 12];
        }
        let one_pair = {
            let mut single = both.clone();
            m(&mut single, 0).processes.clear();
            m(&mut single, 1).processes.clear();
            compare_paired(&single.0, &single.1, &|_, _| 1.0, 1, None)
        };
        let across = compare_paired(&both.0, &both.1, &|_, _| 1.0, 1, None);
        let ch = across[0].change.as_ref().unwrap();
        assert_eq!((ch.basis, ch.rounds), (Basis::Paired, 5), "{ch:?}");
        assert!(
            ch.mde_pct.unwrap() > 1.0,
            "the rounds' spread is in the interval: {ch:?}"
        );
        assert_ne!(verdict(&across), &Verdict::Regressed, "{ch:?}");
        let single = one_pair[0].change.as_ref().unwrap();
        assert!(single.mde_pct.unwrap() < ch.mde_pct.unwrap(), "{single:?}");

        let rss = |values: &[f64]| {
            let mut w = baseline(&[(
                WorkloadName::RagQuery,
                "peak_rss",
                Unit::Bytes,
                Better::Lower,
                values.to_vec(),
            )])
            .workloads;
            let m = w.get_mut(&WorkloadName::RagQuery).unwrap();
            m.metrics.get_mut("peak_rss").unwrap().processes = vec![1; values.len()];
            w
        };
        let rows = compare_paired(
            &rss(&[100.0, 101.0, 99.0, 100.0]),
            &rss(&[110.0, 111.0, 108.0, 110.5]),
            &|_, _| 3.0,
            1,
            None,
        );
        let ch = rows[0].change.as_ref().unwrap();
        assert_eq!((ch.basis, ch.rounds), (Basis::Paired, 4), "{ch:?}");
        assert_eq!(verdict(&rows), &Verdict::Regressed, "{ch:?}");
    }

    /// The floor is the interval's half-width once the rounds agree
    /// exactly: what the spread between builds alone leaves.
    #[test]
    fn the_build_floor_is_what_rounds_without_spread_leave() {
        let b = BuildVariance {
            var: 0.02f64.powi(2),
            df: 7.0,
        };
        let rounds = vec![vec![(1.0, 1.0); 10]; 200];
        let with = crate::rounds::across_rounds_with(&rounds, Some(b)).unwrap();
        let mde = (with.ci_pct.high - with.ci_pct.low) / 2.0;
        assert!(
            (build_floor_pct(b) - mde).abs() < 1e-6,
            "{} vs {mde}",
            build_floor_pct(b)
        );
        assert!((4.0..6.0).contains(&mde), "t(7) × 2%: {mde}");
    }
}
