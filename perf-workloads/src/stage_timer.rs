//! The one place stages are timed. Every stage timing in the baseline
//! comes from [`timed`]; profilers attach here too, so latency, CPU and
//! memory attribution share the contract's stage names.

use std::{
    sync::OnceLock,
    time::{Duration, Instant},
};

pub use perf_contract::stage::Stage;

/// How an injected slowdown is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slowdown {
    /// Busy-wait until the delay has passed: exact in wall time.
    Wait,
    /// A fixed loop of about one nanosecond per iteration natively: the same
    /// instructions every time, for callgrind runs, where wall time is
    /// meaningless and a wait would add a load-dependent count.
    Work,
}

/// The test-only slowdown of one stage, set once per process from the plan.
static INJECTED: OnceLock<(Stage, Duration, Slowdown)> = OnceLock::new();

/// Makes every later [`timed`] call of `stage` spend `delay` inside its
/// timed region (busy, not asleep, so it shows up as CPU, like a real
/// slowdown would). Only the first call counts.
pub fn inject_delay(stage: Stage, delay: Duration, how: Slowdown) {
    let _ = INJECTED.set((stage, delay, how));
}

/// Durations of the stages one operation went through, in order.
#[derive(Debug, Clone, Default)]
pub struct StageTimes(pub Vec<(Stage, Duration)>);

impl StageTimes {
    pub fn get(&self, stage: Stage) -> Duration {
        self.0
            .iter()
            .filter(|(s, _)| *s == stage)
            .map(|(_, d)| *d)
            .sum()
    }
}

/// Runs `f` as `stage`, recording its wall time in `times`.
pub fn timed<T>(times: &mut StageTimes, stage: Stage, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    match INJECTED.get() {
        Some(&(slow, delay, Slowdown::Wait)) if slow == stage => {
            let until = start.elapsed() + delay;
            while start.elapsed() < until {
                std::hint::spin_loop();
            }
        }
        Some(&(slow, delay, Slowdown::Work)) if slow == stage => {
            let mut x = 0u64;
            for i in 0..delay.as_nanos() as u64 {
                x = x.wrapping_add(std::hint::black_box(i));
            }
            std::hint::black_box(x);
        }
        _ => {}
    }
    times.0.push((stage, start.elapsed()));
    out
}
