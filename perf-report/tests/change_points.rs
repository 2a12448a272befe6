//! How well change-point detection finds steps in series like ours: a
//! synthetic precision/recall study.
//!
//! Each series is 40 commits of a figure near 100 with multiplicative
//! log-normal noise, one step (2%, 5% or 10%, half of them up and half
//! down) at a random commit in 10..30, or none. Two noise levels (the sd of
//! each record's log): 3.5%, what this 2-core VM shows for
//! `rag_query.latency` (processes spread 4.5% over six processes, plus a 3%
//! shift between sessions), and 1.5%, a quiet machine. A reported point
//! within one commit of the true step is a hit; any other reported point is
//! a false positive. 200 series per cell (about 3 s in all at the default
//! options, 999 permutations) keep a cell's rates within a few points of
//! what the method does, so the seed does not decide the assertions.
//!
//! The assertions are what makes the tool worth running: steps of about
//! three noise sds are nearly always found, a reported point is at the
//! step's commit wherever the step can be located at all, reports far from
//! any step are rare, and a series without a step seldom reports one.

use std::time::Instant;

use perf_report::history::change_points::{detect, ChangePoint, Options};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const COMMITS: usize = 40;
const SERIES_PER_CELL: usize = 200;

/// A standard normal draw (Box–Muller), so the test needs no crate beyond
/// the library's own `rand`.
fn normal(rng: &mut StdRng) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random::<f64>();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// One series with a step of `size` (a fraction; negative is a drop) at
/// `at`, and `noise` the sd of the log of each record.
fn series(rng: &mut StdRng, size: f64, at: usize, noise: f64) -> Vec<f64> {
    (0..COMMITS)
        .map(|i| {
            let level = if i >= at { 1.0 + size } else { 1.0 };
            100.0 * level * (noise * normal(rng)).exp()
        })
        .collect()
}

/// Reported points further than this from the true step are far: not a
/// real step put at a neighbouring commit but noise taken for one.
const FAR: usize = 5;

#[derive(Default)]
struct Cell {
    series: usize,
    /// Series whose step was found (within one commit).
    hits: usize,
    /// Reported points that are not a hit.
    false_positives: usize,
    /// False positives more than `FAR` commits from the step (all of them
    /// in a series without a step).
    far: usize,
    /// Series with at least one false positive.
    series_with_false: usize,
}

impl Cell {
    fn add(&mut self, found: &[ChangePoint], step_at: Option<usize>) {
        self.series += 1;
        let near =
            |c: &ChangePoint, by: usize| step_at.is_some_and(|at| c.index.abs_diff(at) <= by);
        let hit = found.iter().any(|c| near(c, 1));
        let wrong = found.len() - usize::from(hit);
        self.hits += usize::from(hit);
        self.false_positives += wrong;
        self.far += found.iter().filter(|c| !near(c, FAR)).count();
        self.series_with_false += usize::from(wrong > 0);
    }

    fn recall(&self) -> f64 {
        self.hits as f64 / self.series as f64
    }

    /// `None` when nothing was reported.
    fn precision(&self) -> Option<f64> {
        let reported = self.hits + self.false_positives;
        (reported > 0).then(|| self.hits as f64 / reported as f64)
    }

    fn per_series(&self, count: usize) -> f64 {
        count as f64 / self.series as f64
    }
}

/// The least recall each cell must reach, by (noise, step). On this VM a
/// 5% step is 1.4 noise sds: about half of them show within 40 commits,
/// and the floor guards that power. Steps of 2% are printed, not required.
fn required_recall(noise: f64, step: f64) -> f64 {
    match (noise, step) {
        (0.015, 0.05 | 0.10) => 0.9,
        (0.035, 0.10) => 0.8,
        (0.035, 0.05) => 0.35,
        _ => 0.0,
    }
}

#[test]
fn precision_and_recall_on_synthetic_steps() {
    let started = Instant::now();
    let options = Options::default();
    let mut rng = StdRng::seed_from_u64(20_240_611);
    let mut failures = Vec::new();
    println!("noise  step  series  recall  precision  false/series  far/series");
    for noise in [0.015, 0.035] {
        for step in [0.02, 0.05, 0.10] {
            let mut cell = Cell::default();
            for k in 0..SERIES_PER_CELL {
                let at = rng.random_range(10..30);
                let signed = if k % 2 == 0 { step } else { -step };
                cell.add(
                    &detect(&series(&mut rng, signed, at, noise), &options),
                    Some(at),
                );
            }
            let precision = cell.precision();
            println!(
                "{:>4.1}%  {:>3.0}%  {:>6}  {:>6.2}  {:>9}  {:>12.2}  {:>10.2}",
                noise * 100.0,
                step * 100.0,
                cell.series,
                cell.recall(),
                precision.map_or("-".into(), |p| format!("{p:.2}")),
                cell.per_series(cell.false_positives),
                cell.per_series(cell.far),
            );
            let at = format!("step {step}, noise {noise}");
            if cell.recall() < required_recall(noise, step) {
                failures.push(format!("recall {} at {at}", cell.recall()));
            }
            // Where the step is 2.5 noise sds or more, even the best
            // locator (least squares, one step known to exist) puts 95% of
            // them within one commit. Below that no method can: at 5% in
            // 3.5% noise it is 67%, so a reported point a few commits off is
            // the real step misplaced, and only far points count against
            // the method there.
            if step >= 2.5 * noise && precision.is_some_and(|p| p < 0.9) {
                failures.push(format!("precision {precision:?} at {at}"));
            }
            // Without a step about alpha (1%) of series report a point; a
            // tenth of a point per series far from the step would be the
            // search inventing steps rather than misplacing a weak one.
            if cell.per_series(cell.far) > 0.1 {
                failures.push(format!("{} far points at {at}", cell.far));
            }
        }
        let mut flat = Cell::default();
        for _ in 0..SERIES_PER_CELL {
            flat.add(&detect(&series(&mut rng, 0.0, 0, noise), &options), None);
        }
        println!(
            "{:>4.1}%  none  {:>6}  {:>6}  {:>9}  {:>12.2}  {:>10.2}",
            noise * 100.0,
            flat.series,
            "-",
            "-",
            flat.per_series(flat.false_positives),
            flat.per_series(flat.far),
        );
        // alpha 0.01 promises about 1%; 10 in 200 leave room for chance.
        if flat.series_with_false > SERIES_PER_CELL / 20 {
            failures.push(format!(
                "{} of {} series without a step report one at noise {noise}",
                flat.series_with_false, flat.series
            ));
        }
    }
    println!("study took {:.1?}", started.elapsed());
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The permutation p-value means what it says: at a loose alpha, about
/// that share of series without a step report one (a little fewer, as
/// Welch's check and the shortest segments cost some), not several times
/// more (the search's choice not allowed for) nor almost none.
#[test]
fn alpha_is_the_false_alarm_rate() {
    let mut rng = StdRng::seed_from_u64(9);
    let options = Options {
        alpha: 0.2,
        permutations: 99,
        ..Options::default()
    };
    let runs = 500;
    let alarms = (0..runs)
        .filter(|_| !detect(&series(&mut rng, 0.0, 0, 0.03), &options).is_empty())
        .count();
    let rate = alarms as f64 / runs as f64;
    println!("series without a step reporting one at alpha 0.2: {rate:.3}");
    assert!((0.12..=0.24).contains(&rate), "{rate}");
}
