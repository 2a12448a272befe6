//! When requests arrive: a renewal process with gamma-distributed gaps, as
//! vLLM's serving benchmark draws them. The gaps have mean `1 / rate` and
//! shape `burstiness` (scale `1 / (rate × burstiness)`), so their
//! coefficient of variation is `1 / sqrt(burstiness)`:
//! - burstiness 1: exponential gaps, a Poisson process (independent users);
//! - below 1: clumps of requests separated by long lulls (bursty traffic);
//! - above 1: more regular than Poisson, tending to an even spacing.
//!
//! A schedule is a pure function of its plan: the generator is ChaCha8
//! (`rand_chacha`), whose output for a seed that crate keeps stable across
//! versions, unlike `rand`'s `StdRng`. The gamma sampler is `rand_distr`'s,
//! whose values may change between its minor versions, so a seed names the
//! same schedule under one `Cargo.lock`.

use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};

use crate::error::WorkloadError;

/// How requests arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArrivalPlan {
    /// Mean arrivals per second (the offered load).
    pub rate_per_s: f64,
    /// Gamma shape of the gaps: 1 is Poisson, lower is burstier.
    pub burstiness: f64,
    pub seed: u64,
}

/// The times, from the start of the run, at which `n` requests arrive, in
/// order.
///
/// The first request arrives at zero, as vLLM's benchmark sends its first
/// request at once and waits between requests: a run starts measuring
/// straight away instead of idling through a random first gap, and the
/// evenly spaced schedule ([`evenly_spaced`]) starts the same way. So `n`
/// arrivals hold `n - 1` sampled gaps.
pub fn arrival_times(plan: &ArrivalPlan, n: usize) -> Result<Vec<Duration>, WorkloadError> {
    let gaps = gap_distribution(plan)?;
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
    let mut out = Vec::with_capacity(n);
    // Summed in seconds and converted per arrival, so rounding to whole
    // nanoseconds does not accumulate over a long schedule.
    let mut t = 0.0_f64;
    for i in 0..n {
        if i > 0 {
            t += gaps.sample(&mut rng);
        }
        out.push(Duration::try_from_secs_f64(t).map_err(|_| {
            WorkloadError::Config(format!(
                "arrival {i} falls at {t} s, beyond what a duration holds: raise the arrival rate `rate_per_s` ({}) or send fewer requests",
                plan.rate_per_s
            ))
        })?);
    }
    Ok(out)
}

/// `n` arrivals `interval` apart from zero: the limit of infinite
/// burstiness, the schedule the fixed-interval load test has always used.
pub fn evenly_spaced(interval: Duration, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|i| interval.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX)))
        .collect()
}

fn gap_distribution(plan: &ArrivalPlan) -> Result<Gamma<f64>, WorkloadError> {
    let ArrivalPlan {
        rate_per_s,
        burstiness,
        ..
    } = *plan;
    // `!(x > 0.0)` also rejects NaN.
    if !(rate_per_s > 0.0 && rate_per_s.is_finite()) {
        return Err(WorkloadError::Config(format!(
            "arrival rate `rate_per_s` must be a positive, finite number of requests per second, got {rate_per_s}"
        )));
    }
    if !(burstiness > 0.0 && burstiness.is_finite()) {
        return Err(WorkloadError::Config(format!(
            "arrival `burstiness` must be a positive, finite gamma shape (1 for Poisson arrivals, below 1 for bursts), got {burstiness}"
        )));
    }
    Gamma::new(burstiness, 1.0 / (rate_per_s * burstiness)).map_err(|e| {
        WorkloadError::Config(format!(
            "arrival rate `rate_per_s` {rate_per_s} with `burstiness` {burstiness} gives no usable gap distribution: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: usize = 20_000;

    fn plan(rate_per_s: f64, burstiness: f64, seed: u64) -> ArrivalPlan {
        ArrivalPlan {
            rate_per_s,
            burstiness,
            seed,
        }
    }

    fn gaps(times: &[Duration]) -> Vec<f64> {
        times
            .windows(2)
            .map(|w| (w[1] - w[0]).as_secs_f64())
            .collect()
    }

    fn mean(xs: &[f64]) -> f64 {
        xs.iter().sum::<f64>() / xs.len() as f64
    }

    /// Sample standard deviation over mean.
    fn cv(xs: &[f64]) -> f64 {
        let m = mean(xs);
        let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
        var.sqrt() / m
    }

    fn within(value: f64, expected: f64, relative: f64) -> bool {
        (value - expected).abs() <= relative * expected
    }

    #[test]
    fn poisson_gaps_have_the_rate_as_mean_and_unit_cv() {
        let g = gaps(&arrival_times(&plan(10.0, 1.0, 7), N).unwrap());
        assert!(within(mean(&g), 0.1, 0.02), "mean gap {}", mean(&g));
        assert!(within(cv(&g), 1.0, 0.03), "cv {}", cv(&g));
    }

    #[test]
    fn poisson_counts_per_second_have_unit_index_of_dispersion() {
        let times = arrival_times(&plan(10.0, 1.0, 11), N).unwrap();
        // Whole one-second windows only: the last, partial one would
        // count short.
        let windows = times.last().unwrap().as_secs() as usize;
        let mut counts = vec![0.0_f64; windows];
        for t in &times {
            if let Some(c) = counts.get_mut(t.as_secs() as usize) {
                *c += 1.0;
            }
        }
        let m = mean(&counts);
        let var = counts.iter().map(|c| (c - m).powi(2)).sum::<f64>() / (counts.len() - 1) as f64;
        assert!(within(m, 10.0, 0.02), "mean count {m}");
        assert!(
            within(var / m, 1.0, 0.10),
            "index of dispersion {}",
            var / m
        );
    }

    #[test]
    fn poisson_gaps_pass_kolmogorov_smirnov_against_the_exponential() {
        let rate = 10.0;
        let mut g = gaps(&arrival_times(&plan(rate, 1.0, 13), N).unwrap());
        g.sort_by(f64::total_cmp);
        let m = g.len() as f64;
        let d = g
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let cdf = 1.0 - (-rate * x).exp();
                ((i + 1) as f64 / m - cdf).max(cdf - i as f64 / m)
            })
            .fold(0.0, f64::max);
        let critical = 1.63 / m.sqrt();
        assert!(
            d < critical,
            "KS distance {d} >= 1% critical value {critical}"
        );
    }

    #[test]
    fn burstiness_sets_the_coefficient_of_variation() {
        for (burstiness, expected) in [(0.25, 2.0), (4.0, 0.5)] {
            let g = gaps(&arrival_times(&plan(10.0, burstiness, 17), N).unwrap());
            assert!(
                within(mean(&g), 0.1, 0.05),
                "burstiness {burstiness}: mean gap {}",
                mean(&g)
            );
            assert!(
                within(cv(&g), expected, 0.05),
                "burstiness {burstiness}: cv {} instead of {expected}",
                cv(&g)
            );
        }
    }

    #[test]
    fn a_seed_names_one_schedule() {
        let a = arrival_times(&plan(5.0, 0.5, 42), 1000).unwrap();
        assert_eq!(a, arrival_times(&plan(5.0, 0.5, 42), 1000).unwrap());
        assert_ne!(a, arrival_times(&plan(5.0, 0.5, 43), 1000).unwrap());
    }

    #[test]
    fn schedules_start_at_zero_and_never_go_back() {
        let a = arrival_times(&plan(100.0, 0.25, 1), 1000).unwrap();
        assert_eq!(a[0], Duration::ZERO);
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
        assert!(arrival_times(&plan(1.0, 1.0, 1), 0).unwrap().is_empty());
        assert_eq!(
            evenly_spaced(Duration::from_millis(10), 3),
            [0, 10, 20].map(Duration::from_millis)
        );
    }

    #[test]
    fn bad_settings_are_rejected_by_name() {
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = arrival_times(&plan(rate, 1.0, 0), 10).unwrap_err();
            assert!(
                matches!(&e, WorkloadError::Config(m) if m.contains("`rate_per_s`")),
                "{e}"
            );
        }
        for burstiness in [0.0, -0.5, f64::NAN, f64::INFINITY] {
            let e = arrival_times(&plan(1.0, burstiness, 0), 10).unwrap_err();
            assert!(
                matches!(&e, WorkloadError::Config(m) if m.contains("`burstiness`")),
                "{e}"
            );
        }
    }
}
