//! The one interface every LLM engine implements, and what a generation
//! returns: the tokens and the time at which each one was available, from
//! which time to first token, inter-token latency and decode rate follow
//! (the definitions of llama-bench and vLLM's serving benchmark).

use std::time::Duration;

use perf_contract::{context::LlmEngineInfo, plan::EngineName};

use crate::error::WorkloadError;

pub trait Engine {
    fn name(&self) -> EngineName;

    /// Library or server, version, threads and weights, for the baseline.
    fn info(&self) -> LlmEngineInfo;

    /// Greedy generation of `max_new` tokens after `prompt`, each timed from
    /// the call. With `stop` false, end-of-generation tokens are ignored and
    /// exactly `max_new` tokens come back (the benchmark's fixed count);
    /// with `stop` true generation ends at the first one (a real answer). The engine tokenizes the
    /// prompt itself (BOS as the model asks, special tokens such as
    /// `<start_of_turn>` parsed), so the time to the first token includes
    /// tokenization and prefill, as a server's would.
    fn generate(
        &mut self,
        prompt: &str,
        max_new: usize,
        stop: bool,
    ) -> Result<Generation, WorkloadError>;
}

#[derive(Debug, Clone, Default)]
pub struct Generation {
    /// Prompt length in tokens, as the engine counted it (0 if unknown).
    pub prompt_tokens: usize,
    /// Generated ids (empty for a server, which streams text).
    pub tokens: Vec<u32>,
    pub text: String,
    /// When each generated token was available, measured from the call.
    pub token_times: Vec<Duration>,
}

impl Generation {
    pub fn ttft(&self) -> Option<Duration> {
        self.token_times.first().copied()
    }

    /// Completion of the last token: end-to-end latency.
    pub fn e2e(&self) -> Option<Duration> {
        self.token_times.last().copied()
    }

    /// Whether the tokens arrived in too few deliveries to time them one
    /// by one: a server that sends its whole answer (or most of it) in one
    /// write gives arrival gaps of zero, which would read as a decode rate
    /// of millions of tokens a second. In-process engines time each token.
    pub fn batched_delivery(&self) -> bool {
        let mut times = self.token_times.clone();
        times.dedup();
        self.token_times.len() >= 2 && times.len() * 2 < self.token_times.len()
    }

    /// Gaps between consecutive tokens; none when the delivery was batched.
    pub fn itl(&self) -> Vec<Duration> {
        if self.batched_delivery() {
            return Vec::new();
        }
        self.token_times
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]))
            .collect()
    }

    /// Tokens after the first per second of decoding (llama-bench's `tg`
    /// rate; the first token belongs to prefill); none when the delivery
    /// was batched.
    pub fn decode_tokens_per_s(&self) -> Option<f64> {
        if self.batched_delivery() {
            return None;
        }
        let (first, last) = (self.ttft()?, self.e2e()?);
        let span = last.saturating_sub(first).as_secs_f64();
        (self.token_times.len() >= 2 && span > 0.0)
            .then(|| (self.token_times.len() - 1) as f64 / span)
    }
}

/// Index of the largest logit, the first one on ties (greedy decoding).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in logits.iter().enumerate() {
        if x > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// Length of the common prefix of two token sequences.
pub fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_follow_the_definitions() {
        let ms = Duration::from_millis;
        let g = Generation {
            token_times: vec![ms(100), ms(110), ms(130)],
            ..Generation::default()
        };
        assert_eq!(g.ttft(), Some(ms(100)));
        assert_eq!(g.e2e(), Some(ms(130)));
        assert_eq!(g.itl(), vec![ms(10), ms(20)]);
        assert!((g.decode_tokens_per_s().unwrap() - 2.0 / 0.030).abs() < 1e-6);
    }

    #[test]
    fn a_stream_delivered_in_one_write_has_no_decode_rate() {
        let at = Duration::from_millis(250);
        let g = Generation {
            token_times: vec![at; 64],
            ..Generation::default()
        };
        assert!(g.batched_delivery());
        assert_eq!(g.decode_tokens_per_s(), None);
        assert!(g.itl().is_empty());
        assert_eq!(g.e2e(), Some(at));
        // Two writes of 32 tokens: still not a token-by-token stream.
        let mut two = vec![Duration::from_millis(100); 32];
        two.extend(vec![Duration::from_millis(101); 32]);
        let g = Generation {
            token_times: two,
            ..Generation::default()
        };
        assert_eq!(g.decode_tokens_per_s(), None);
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[0.0, 2.0, 2.0, -1.0]), 1);
        assert_eq!(common_prefix(&[1, 2, 3], &[1, 2, 4, 5]), 2);
    }
}
