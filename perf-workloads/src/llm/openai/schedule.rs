//! The open-loop load test of an OpenAI-compatible server, as vLLM's
//! serving benchmark runs it: each request arrives on a schedule fixed
//! beforehand, whatever the replies are doing, at most a set number are in
//! flight, and every latency is measured from the time the request was due,
//! so the wait for a free slot (queueing delay) counts, as a user would feel
//! it. A closed loop, which sends the next request only after a reply, would
//! hide exactly that. The schedule runs on the generic [`crate::load`]
//! driver; this module supplies the request (one streamed completion) and
//! the token-level view of the replies.

use std::time::Duration;

use crate::{
    error::WorkloadError,
    llm::{engine::Generation, openai::client::OpenAiClient},
    load::{arrivals::evenly_spaced, driver},
};

/// What one level produced.
#[derive(Debug, Clone, Default)]
pub struct LevelResult {
    /// Per answered request, token times measured from when it was due.
    pub requests: Vec<Generation>,
    /// Per answered request, how long it waited for a free slot after it
    /// was due.
    pub queue_delays: Vec<Duration>,
    /// Requests that failed, by index in the schedule, with the error. They
    /// are not in `requests`: figures over `requests` describe the answered
    /// ones only, so a report should say how many failed.
    pub failures: Vec<(usize, String)>,
    /// From the first due time to the last reply of the level.
    pub wall: Duration,
}

impl LevelResult {
    pub fn output_tokens(&self) -> usize {
        self.requests.iter().map(|g| g.token_times.len()).sum()
    }
}

/// Sends `prompts` (one request each), request `i` due at `i × interval`,
/// `concurrency` at a time.
pub fn run_open_loop(
    client: &OpenAiClient,
    prompts: &[String],
    max_tokens: usize,
    concurrency: usize,
    interval: Duration,
) -> Result<LevelResult, WorkloadError> {
    let arrivals = evenly_spaced(interval, prompts.len());
    run_arrivals(client, prompts, max_tokens, concurrency.max(1), &arrivals)
}

/// Sends `prompts[i]` at `arrivals[i]` (offsets from the start, one per
/// prompt, non-decreasing), at most `max_in_flight` at a time. A failed
/// request is recorded in [`LevelResult::failures`]; the level is an error
/// only when its start mostly fails (see [`driver`]).
pub fn run_arrivals(
    client: &OpenAiClient,
    prompts: &[String],
    max_tokens: usize,
    max_in_flight: usize,
    arrivals: &[Duration],
) -> Result<LevelResult, WorkloadError> {
    if arrivals.len() != prompts.len() {
        return Err(WorkloadError::Config(format!(
            "open loop: {} arrival times for {} prompts: give one arrival per prompt",
            arrivals.len(),
            prompts.len()
        )));
    }
    let run = driver::run_open_loop(arrivals, max_in_flight, |i| {
        client.stream_completion(&prompts[i], max_tokens, true)
    })?;
    let mut out = LevelResult {
        wall: run.wall,
        ..LevelResult::default()
    };
    for (i, o) in run.outcomes.into_iter().enumerate() {
        let queued = o.queue_delay();
        match o.result {
            Ok(mut g) => {
                // The client times tokens from its call; the user waited
                // from the due time.
                for t in &mut g.token_times {
                    *t += queued;
                }
                out.requests.push(g);
                out.queue_delays.push(queued);
            }
            Err(e) => out.failures.push((i, e)),
        }
    }
    Ok(out)
}
