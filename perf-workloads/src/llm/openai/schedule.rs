//! The open-loop load test of one concurrency level, as vLLM's serving
//! benchmark runs it: request *i* is due at `i × interval` whatever the
//! replies are doing, at most `concurrency` requests are in flight, and every
//! latency is measured from the time the request was due, so the wait for a
//! free slot (queueing delay) counts, as a user would feel it. A closed loop,
//! which sends the next request only after a reply, would hide exactly that.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use crate::{
    error::WorkloadError,
    llm::{engine::Generation, openai::client::OpenAiClient},
};

/// What one level produced.
#[derive(Debug, Clone, Default)]
pub struct LevelResult {
    /// Per request, token times measured from when the request was due.
    pub requests: Vec<Generation>,
    /// Per request, how long it waited for a free slot after it was due.
    pub queue_delays: Vec<Duration>,
    /// From the first due time to the last token of the level.
    pub wall: Duration,
}

impl LevelResult {
    pub fn output_tokens(&self) -> usize {
        self.requests.iter().map(|g| g.token_times.len()).sum()
    }
}

/// Sends `prompts` (one request each) on the schedule, `concurrency` at a time.
pub fn run_open_loop(
    client: &OpenAiClient,
    prompts: &[String],
    max_tokens: usize,
    concurrency: usize,
    interval: Duration,
) -> Result<LevelResult, WorkloadError> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<(Generation, Duration)>>> = Mutex::new(vec![None; prompts.len()]);
    let first_error: Mutex<Option<WorkloadError>> = Mutex::new(None);
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..concurrency.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= prompts.len()
                    || first_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .is_some()
                {
                    return;
                }
                let due = interval * i as u32;
                let now = start.elapsed();
                if now < due {
                    thread::sleep(due - now);
                }
                let queued = start.elapsed().saturating_sub(due);
                match client.stream_completion(&prompts[i], max_tokens, true) {
                    Ok(mut g) => {
                        for t in &mut g.token_times {
                            *t += queued;
                        }
                        results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some((g, queued));
                    }
                    Err(e) => {
                        let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                        slot.get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let wall = start.elapsed();
    let mut out = LevelResult {
        wall,
        ..LevelResult::default()
    };
    for (g, q) in results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
    {
        out.requests.push(g);
        out.queue_delays.push(q);
    }
    Ok(out)
}
