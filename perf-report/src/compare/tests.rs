//! The comparison rule on known samples: verdicts, bases, floors.

use super::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

fn metric(better: Better, samples: Vec<f64>) -> Metric {
    Metric::new(Unit::Milliseconds, better, String::new(), samples).unwrap()
}

/// `n` log-normal samples with spread `sigma`, rescaled so the median is
/// exactly `median`: the tests control the true change, the rng the noise.
fn synthetic(seed: u64, n: usize, sigma: f64, median: f64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let raw: Vec<f64> = (0..n)
        .map(|_| {
            let (u1, u2): (f64, f64) = (rng.random(), rng.random());
            let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            (sigma * z).exp()
        })
        .collect();
    let m = super::median(&sorted_finite(&raw).unwrap());
    raw.iter().map(|x| x * median / m).collect()
}

/// Baseline median 10, current median `to`, threshold 10%.
fn run(better: Better, n: usize, sigma: f64, to: f64) -> MetricChange {
    let b = metric(better, synthetic(1, n, sigma, 10.0));
    let c = metric(better, synthetic(2, n, sigma, to));
    compare_metric(&b, &c, 10.0, 42)
}

#[test]
fn five_percent_is_within_noise_even_when_significant() {
    let m = run(Better::Lower, 40, 0.02, 10.5);
    assert!((m.change_pct.unwrap() - 5.0).abs() < 1e-9);
    assert!(m.ratio_ci.unwrap().low > 1.0, "real but small: {m:?}");
    assert_eq!(m.verdict, Verdict::WithinNoise);
}

#[test]
fn twenty_percent_with_low_noise_regresses() {
    let m = run(Better::Lower, 40, 0.02, 12.0);
    let ci = m.ratio_ci.unwrap();
    assert!(ci.low > 1.15 && ci.high < 1.25, "{ci:?}");
    assert_eq!((m.basis, m.verdict), (Basis::Bootstrap, Verdict::Regressed));
    assert!(m.p_value.unwrap() < 1e-6);
}

#[test]
fn twenty_percent_with_huge_noise_is_not_significant() {
    let m = run(Better::Lower, 6, 1.0, 12.0);
    let ci = m.ratio_ci.unwrap();
    assert!(ci.low < 1.0 && ci.high > 1.0, "{ci:?}");
    assert_eq!(m.verdict, Verdict::NotSignificant);
}

/// A synthetic noisy pair of runs: the medians moved by 5%, within the
/// 10% threshold, but with 8 samples spread ±40% the interval is far
/// wider than the threshold, so a 10% slowdown could have gone unseen:
/// inconclusive, with the MDE saying how large a change it could see.
#[test]
fn within_the_threshold_but_too_noisy_to_tell_is_inconclusive() {
    let m = run(Better::Lower, 8, 0.4, 10.5);
    let mde = m.mde_pct.unwrap();
    assert!(mde > 10.0, "{m:?}");
    assert_eq!(m.verdict, Verdict::Inconclusive);
    // The same change with quiet samples is a finding.
    let quiet = run(Better::Lower, 40, 0.02, 10.5);
    assert!(quiet.mde_pct.unwrap() < 10.0);
    assert_eq!(quiet.verdict, Verdict::WithinNoise);
}

/// The same samples that regress as a plain metric cannot regress as
/// a figure of one index build: the change is stated, not called.
#[test]
fn a_one_build_figure_beyond_the_threshold_is_not_called() {
    let b = metric(Better::Lower, synthetic(1, 40, 0.02, 10.0));
    let c = metric(Better::Lower, synthetic(2, 40, 0.02, 13.0));
    let plain = MetricKey::parse("hnsw.latency");
    let one_build = MetricKey::parse("usearch.n1000.k10.latency");
    let m = compare_metric_of(&plain, &b, &c, 10.0, 42, None);
    assert_eq!(m.verdict, Verdict::Regressed);
    let m = compare_metric_of(&one_build, &b, &c, 10.0, 42, None);
    assert_eq!(
        (m.basis, m.verdict),
        (Basis::PointEstimate, Verdict::NotSignificant)
    );
    assert!((m.change_pct.unwrap() - 30.0).abs() < 1e-9);
}

#[test]
fn twenty_percent_faster_improves() {
    assert_eq!(run(Better::Lower, 40, 0.02, 8.0).verdict, Verdict::Improved);
}

#[test]
fn throughput_falling_twenty_percent_regresses() {
    let m = run(Better::Higher, 40, 0.02, 8.0);
    assert!((m.change_pct.unwrap() + 20.0).abs() < 1e-9);
    assert_eq!(m.verdict, Verdict::Regressed);
    assert_eq!(
        run(Better::Higher, 40, 0.02, 12.0).verdict,
        Verdict::Improved
    );
}

#[test]
fn neither_is_never_judged() {
    let m = run(Better::Neither, 40, 0.02, 20.0);
    assert_eq!(m.verdict, Verdict::Informational);
    assert!(m.ratio_ci.is_some(), "figures are still reported");
}

#[test]
fn few_timing_samples_cannot_regress() {
    let three = |x: f64| metric(Better::Lower, vec![x, x * 1.01, x * 0.99]);
    let m = compare_metric(&three(10.0), &three(13.0), 10.0, 0);
    assert_eq!(
        (m.basis, m.verdict),
        (Basis::PointEstimate, Verdict::NotSignificant)
    );
}

#[test]
fn few_samples_compare_medians_alone() {
    let one = |x: f64| {
        let mut m = metric(Better::Lower, vec![x]);
        m.unit = Unit::Bytes;
        m
    };
    let m = compare_metric(&one(10.0), &one(13.0), 10.0, 0);
    assert_eq!(
        (m.basis, m.verdict),
        (Basis::PointEstimate, Verdict::Regressed)
    );
    assert_eq!((m.ratio_ci, m.p_value, m.n_baseline), (None, None, 1));
    let m = compare_metric(&one(10.0), &one(10.5), 10.0, 0);
    assert_eq!(m.verdict, Verdict::WithinNoise);
    // The bootstrap starts at MIN_BOOTSTRAP_SAMPLES on both sides.
    assert_eq!(
        run(Better::Lower, 4, 0.02, 12.0).basis,
        Basis::PointEstimate
    );
    assert_eq!(run(Better::Lower, 5, 0.02, 12.0).basis, Basis::Bootstrap);
}

#[test]
fn counts_spread_by_input_are_judged_on_medians() {
    // Instruction counts of 8 different questions: a wide spread that
    // is the inputs', not noise. Every question 15% dearer is a real
    // regression, however wide a resampled interval would be; 0.7% is
    // far more than callgrind counts wobble between runs (0.02%).
    let counts = |scale: f64| {
        let q = [83.0, 83.2, 100.1, 92.2, 70.5, 110.0, 88.8, 95.3];
        let mut m = metric(Better::Lower, q.iter().map(|x| x * 1e6 * scale).collect());
        m.unit = Unit::Count;
        m
    };
    let m = compare_metric(&counts(1.0), &counts(1.15), 10.0, 0);
    assert_eq!(
        (m.basis, m.verdict),
        (Basis::PointEstimate, Verdict::Regressed)
    );
    let m = compare_metric(&counts(1.0), &counts(1.007), 10.0, 0);
    assert_eq!(m.verdict, Verdict::WithinNoise);
}

#[test]
fn same_seed_gives_same_interval() {
    let b = metric(Better::Lower, synthetic(1, 30, 0.3, 10.0));
    let c = metric(Better::Lower, synthetic(2, 30, 0.3, 11.0));
    let ci = |seed| compare_metric(&b, &c, 5.0, seed).ratio_ci.unwrap();
    assert_eq!(ci(7), ci(7));
    assert_ne!(ci(7), ci(8), "the seed does drive the resampling");
}

#[test]
fn zero_baseline_or_changed_unit_is_incomparable() {
    let zeros = metric(Better::Lower, vec![0.0; 10]);
    let some = metric(Better::Lower, vec![1.0; 10]);
    let m = compare_metric(&zeros, &some, 5.0, 0);
    assert!(matches!(m.verdict, Verdict::Incomparable { .. }) && m.change_pct.is_none());
    let mut micros = some.clone();
    micros.unit = Unit::Microseconds;
    let m = compare_metric(&some, &micros, 5.0, 0);
    assert!(matches!(m.verdict, Verdict::Incomparable { reason } if reason.contains("unit")));
}

#[test]
fn results_cover_both_runs_in_order() {
    use WorkloadName::{RagQuery, VectorQuery};
    let lat = |to| metric(Better::Lower, synthetic(to as u64, 20, 0.01, to));
    let result = |ms: &[(&str, f64)]| WorkloadResult {
        metrics: ms
            .iter()
            .map(|&(k, v)| (MetricKey::parse(k), lat(v)))
            .collect(),
        notes: vec![],
    };
    let base = BTreeMap::from([
        (VectorQuery, result(&[("latency", 10.0)])),
        (RagQuery, result(&[("latency", 10.0), ("old", 1.0)])),
    ]);
    let cur = BTreeMap::from([
        (VectorQuery, result(&[("latency", 12.0)])),
        (RagQuery, result(&[("latency", 12.0), ("new", 1.0)])),
    ]);
    // rag_query allows 30%, so only vector_query's 20% counts.
    let threshold = |w, _: &str| if w == RagQuery { 30.0 } else { 10.0 };
    let cs = compare_results(&base, &cur, &threshold, &|_, _| None, 1);
    let row = |c: &Comparison| (c.workload, c.metric.to_string(), c.status);
    let expected = [
        (RagQuery, "latency", Status::Compared),
        (RagQuery, "new", Status::New),
        (RagQuery, "old", Status::Missing),
        (VectorQuery, "latency", Status::Compared),
    ];
    let expected: Vec<_> = expected.map(|(w, m, s)| (w, m.to_string(), s)).into();
    assert_eq!(cs.iter().map(row).collect::<Vec<_>>(), expected);
    let verdict = |c: &Comparison| c.change.as_ref().map(|m| m.verdict.clone());
    let verdicts: Vec<_> = cs.iter().map(verdict).collect();
    let (within, regressed) = (Verdict::WithinNoise, Verdict::Regressed);
    assert_eq!(verdicts, [Some(within), None, None, Some(regressed)]);
    assert!(any_regression(&cs) && !any_regression(&cs[..3]));
    // serde_json may shift a float by one ulp, so compare the judgements.
    let back: Vec<Comparison> = serde_json::from_str(&serde_json::to_string(&cs).unwrap()).unwrap();
    assert_eq!(back.iter().map(verdict).collect::<Vec<_>>(), verdicts);
}
