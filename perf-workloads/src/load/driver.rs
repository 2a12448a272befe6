//! Runs requests on an arrival schedule, open loop: request `i` starts at
//! its scheduled time if fewer than `max_in_flight` requests are running,
//! else as soon as one finishes, and its latency runs from the scheduled
//! time, so that wait counts (see the [module docs](super)).
//!
//! `max_in_flight` worker threads take the next request index in order,
//! sleep until it is due, run it, and come back for another; a request that
//! finds every worker busy is picked up by the first one to free. This is
//! the client-side cap vLLM's benchmark calls `--max-concurrency`: without
//! it an overloaded server would need unbounded client threads.
//!
//! Failures: a failed request is recorded with its error and the run goes
//! on, because under load some requests failing is a result (it counts
//! against goodput), not a broken measurement. Only when the start of the
//! run is mostly failures (more than half of the first
//! [`EARLY_WINDOW`] requests, or of all of them in a shorter run) does the
//! run stop, returning the first of those errors: a server that is down or
//! misconfigured fails everything, and waiting out the rest of the schedule
//! would only delay the message that says so.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Mutex, PoisonError,
    },
    thread,
    time::{Duration, Instant},
};

use crate::error::WorkloadError;

/// How many leading requests decide whether the run is failing as a whole.
pub const EARLY_WINDOW: usize = 10;

/// One request's times, from the start of the run, and result.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<T> {
    /// When the schedule said it arrives.
    pub scheduled: Duration,
    /// When a free slot let it start (never before `scheduled`).
    pub started: Duration,
    pub finished: Duration,
    /// The reply, or the error's message.
    pub result: Result<T, String>,
}

impl<T> Outcome<T> {
    /// What the user waited: from arrival to completion, queueing included.
    pub fn latency(&self) -> Duration {
        self.finished.saturating_sub(self.scheduled)
    }

    /// How long it waited for a free slot after it was due.
    pub fn queue_delay(&self) -> Duration {
        self.started.saturating_sub(self.scheduled)
    }
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenLoopRun<T> {
    /// One per arrival, in schedule order.
    pub outcomes: Vec<Outcome<T>>,
    /// From the first scheduled time to the last completion: the span over
    /// which throughput is counted.
    pub wall: Duration,
}

/// The leading failures seen so far, and the earliest one's error.
struct EarlyFailures {
    count: usize,
    first: Option<(usize, WorkloadError)>,
}

/// Runs `request(i)` for every arrival `i` on the schedule `arrivals`
/// (offsets from the start, non-decreasing), at most `max_in_flight` at a
/// time. See the module docs for when a failure stops the run.
pub fn run_open_loop<T: Send>(
    arrivals: &[Duration],
    max_in_flight: usize,
    request: impl Fn(usize) -> Result<T, WorkloadError> + Sync,
) -> Result<OpenLoopRun<T>, WorkloadError> {
    if max_in_flight == 0 {
        return Err(WorkloadError::Config(
            "open loop: `max_in_flight` must be at least 1".to_owned(),
        ));
    }
    // Workers take indices in order; a later arrival due earlier would wait
    // behind its predecessor's due time and be timed as queued.
    if let Some(i) = arrivals.windows(2).position(|w| w[1] < w[0]) {
        return Err(WorkloadError::Config(format!(
            "open loop: arrival {} at {:?} comes before arrival {i} at {:?}: sort the arrival times",
            i + 1,
            arrivals[i + 1],
            arrivals[i]
        )));
    }
    let n = arrivals.len();
    let early_window = n.min(EARLY_WINDOW);
    let next = AtomicUsize::new(0);
    let aborted = AtomicBool::new(false);
    let slots: Mutex<Vec<Option<Outcome<T>>>> = Mutex::new((0..n).map(|_| None).collect());
    let early = Mutex::new(EarlyFailures {
        count: 0,
        first: None,
    });
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..max_in_flight.min(n) {
            s.spawn(|| loop {
                if aborted.load(Ordering::SeqCst) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    return;
                }
                let scheduled = arrivals[i];
                let now = start.elapsed();
                if now < scheduled {
                    thread::sleep(scheduled - now);
                }
                let started = start.elapsed();
                let result = request(i);
                let finished = start.elapsed();
                let result = result.map_err(|e| {
                    let message = e.to_string();
                    if i < early_window {
                        let mut early = early.lock().unwrap_or_else(PoisonError::into_inner);
                        early.count += 1;
                        if early.first.as_ref().is_none_or(|(j, _)| i < *j) {
                            early.first = Some((i, e));
                        }
                        if early.count > early_window / 2 {
                            aborted.store(true, Ordering::SeqCst);
                        }
                    }
                    message
                });
                slots.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(Outcome {
                    scheduled,
                    started,
                    finished,
                    result,
                });
            });
        }
    });
    if aborted.into_inner() {
        let early = early.into_inner().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, e)) = early.first {
            return Err(e);
        }
    }
    let outcomes: Vec<Outcome<T>> = slots
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        // Without an abort every index below `n` was taken and recorded.
        .map(|o| o.expect("every scheduled request ran"))
        .collect();
    let wall = match (arrivals.first(), outcomes.iter().map(|o| o.finished).max()) {
        (Some(&first), Some(last)) => last.saturating_sub(first),
        _ => Duration::ZERO,
    };
    Ok(OpenLoopRun { outcomes, wall })
}

#[cfg(test)]
mod tests {
    //! Sleep-based fake requests. The machine is shared, so no test bounds a
    //! time from above tightly: the assertions follow from sleeps never
    //! being shorter than asked, plus one generous bound for "on time".

    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::load::arrivals::evenly_spaced;

    fn ms(x: u64) -> Duration {
        Duration::from_millis(x)
    }

    fn sleep_for(d: Duration) -> impl Fn(usize) -> Result<usize, WorkloadError> + Sync {
        move |i| {
            thread::sleep(d);
            Ok(i)
        }
    }

    #[test]
    fn one_slot_and_slow_requests_queue_and_latency_grows() {
        // Due every 10 ms, each takes at least 30 ms, one at a time: request
        // i cannot start before 30·i ms, so it waits at least 20·i ms.
        let arrivals = evenly_spaced(ms(10), 6);
        let run = run_open_loop(&arrivals, 1, sleep_for(ms(30))).unwrap();
        assert_eq!(run.outcomes.len(), 6);
        for (i, o) in run.outcomes.iter().enumerate() {
            assert_eq!(o.scheduled, arrivals[i]);
            assert_eq!(o.result, Ok(i));
            assert!(o.started >= o.scheduled && o.finished >= o.started + ms(30));
            assert!(o.queue_delay() >= ms(20) * i as u32, "{i}: {o:?}");
        }
        for w in run.outcomes.windows(2) {
            assert!(w[1].started >= w[0].finished, "one slot: no overlap");
            assert!(
                w[1].latency() > w[0].latency(),
                "latency grows with the queue"
            );
        }
        assert!(run.wall >= ms(180));
    }

    #[test]
    fn with_enough_slots_requests_start_on_time() {
        let arrivals = evenly_spaced(ms(20), 8);
        let run = run_open_loop(&arrivals, 8, sleep_for(ms(30))).unwrap();
        for o in &run.outcomes {
            assert!(o.started >= o.scheduled);
            assert!(o.queue_delay() < ms(50), "late start: {o:?}");
        }
        // The last is due at 140 ms and takes 30.
        assert!(run.wall >= ms(170));
    }

    #[test]
    fn never_more_in_flight_than_allowed() {
        let (running, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let arrivals = vec![Duration::ZERO; 12];
        let run = run_open_loop(&arrivals, 3, |i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            thread::sleep(ms(5));
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(i)
        })
        .unwrap();
        assert_eq!(run.outcomes.len(), 12);
        let peak = peak.into_inner();
        assert!((1..=3).contains(&peak), "peak {peak}");
    }

    #[test]
    fn failures_are_recorded_and_the_run_goes_on() {
        let arrivals = vec![Duration::ZERO; 20];
        let run = run_open_loop(&arrivals, 4, |i| {
            if i % 4 == 0 {
                Err(WorkloadError::Inference(format!("request {i} refused")))
            } else {
                Ok(i)
            }
        })
        .unwrap();
        assert_eq!(run.outcomes.len(), 20);
        for (i, o) in run.outcomes.iter().enumerate() {
            if i % 4 == 0 {
                assert_eq!(
                    o.result,
                    Err(format!("model inference failed: request {i} refused"))
                );
            } else {
                assert_eq!(o.result, Ok(i));
            }
        }
    }

    #[test]
    fn a_mostly_failing_start_stops_the_run_with_the_first_error() {
        let calls = AtomicUsize::new(0);
        let arrivals = vec![Duration::ZERO; 100];
        let e = run_open_loop(&arrivals, 2, |i| -> Result<(), _> {
            calls.fetch_add(1, Ordering::SeqCst);
            thread::sleep(ms(1));
            Err(WorkloadError::Inference(format!(
                "request {i}: connection refused"
            )))
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "model inference failed: request 0: connection refused"
        );
        // Six failures decide it; a worker may have taken one more each.
        assert!(calls.into_inner() <= 6 + 2);

        // A short run: more than half of its requests.
        let fail_first_two = |i: usize| {
            if i < 2 {
                Err(WorkloadError::Inference("down".into()))
            } else {
                Ok(())
            }
        };
        assert!(run_open_loop(&[Duration::ZERO; 3], 1, fail_first_two).is_err());
        assert!(run_open_loop(&[Duration::ZERO; 4], 1, fail_first_two).is_ok());
    }

    #[test]
    fn bad_schedules_and_empty_runs() {
        assert!(matches!(
            run_open_loop(&[ms(0)], 0, sleep_for(ms(0))),
            Err(WorkloadError::Config(m)) if m.contains("`max_in_flight`")
        ));
        assert!(matches!(
            run_open_loop(&[ms(0), ms(20), ms(10)], 1, sleep_for(ms(0))),
            Err(WorkloadError::Config(m)) if m.contains("arrival 2")
        ));
        let run = run_open_loop(&[], 4, sleep_for(ms(0))).unwrap();
        assert!(run.outcomes.is_empty());
        assert_eq!(run.wall, Duration::ZERO);
    }
}
