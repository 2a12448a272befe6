//! A blocking client for an OpenAI-compatible `/v1/completions` endpoint
//! with `stream: true`, timing every streamed token as it arrives.
//!
//! Connect and read timeouts are bounded (a silent server fails the run
//! instead of hanging it), and only failures to connect are retried, a few
//! times with a short back-off: once a request reached the server, repeating
//! it would measure something else. The API key is read from the
//! environment variable the configuration names and goes only into the
//! `Authorization` header, never into any output.

use std::{
    io::BufReader,
    thread,
    time::{Duration, Instant},
};

use perf_contract::{plan::OpenAiPlan, secret_url::SecretUrl};

use crate::{
    error::WorkloadError,
    llm::{
        engine::Generation,
        openai::sse::{next_event, SseError, SseEvent},
    },
};

pub struct OpenAiClient {
    agent: ureq::Agent,
    /// Shown and stored without its credentials (`SecretUrl`).
    base_url: SecretUrl,
    model: String,
    api_key: Option<String>,
    retries: u32,
    read_timeout: Duration,
    /// End-of-generation ids of the served model: biased away when stop
    /// tokens are to be ignored, for servers without `ignore_eos`
    /// (llama-cpp-python), as llama.cpp implements `ignore_eos` itself.
    eog_ids: Vec<u32>,
}

impl OpenAiClient {
    pub fn new(plan: &OpenAiPlan, eog_ids: &[u32]) -> Result<OpenAiClient, WorkloadError> {
        let base_url = SecretUrl::new(plan.base_url.expose().trim_end_matches('/'));
        let api_key = match &plan.api_key_env {
            Some(var) => match std::env::var(var) {
                Ok(key) => Some(key),
                // The default variable, unset: a server that needs no key.
                Err(_) if plan.api_key_optional => None,
                Err(_) => {
                    return Err(WorkloadError::Server {
                        what: "openai",
                        url: base_url.redacted(),
                        message: format!(
                        "environment variable {var} (named by [llm.openai] api_key_env) is not set"
                    ),
                    })
                }
            },
            None => None,
        };
        let read_timeout = Duration::from_millis(plan.read_timeout_ms);
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_millis(plan.connect_timeout_ms)))
            .timeout_recv_response(Some(read_timeout))
            .timeout_per_read(Some(read_timeout))
            .build();
        Ok(OpenAiClient {
            agent: config.into(),
            base_url,
            model: plan.model.clone(),
            api_key,
            retries: plan.retries,
            read_timeout,
            eog_ids: eog_ids.to_vec(),
        })
    }

    /// The address as shown (credentials masked).
    pub fn base_url(&self) -> String {
        self.base_url.redacted()
    }

    fn fail(&self, message: String) -> WorkloadError {
        WorkloadError::Server {
            what: "openai",
            url: self.base_url.redacted(),
            message,
        }
    }

    fn describe(&self, path: &str, e: &ureq::Error) -> String {
        match e {
            ureq::Error::Timeout(t) => format!(
                "timed out ({t:?}) on {path}: no answer within {} ms ([llm.openai] read_timeout_ms / connect_timeout_ms)",
                self.read_timeout.as_millis()
            ),
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => format!(
                "unreachable ({e}) on {path}; start the server or fix --openai-url / [llm.openai] base_url"
            ),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => format!(
                "unreachable (connection refused) on {path}; start the server or fix --openai-url / [llm.openai] base_url"
            ),
            other => format!("request to {path} failed: {other}"),
        }
    }

    fn is_connect_failure(e: &ureq::Error) -> bool {
        match e {
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => true,
            ureq::Error::Timeout(ureq::Timeout::Connect) => true,
            ureq::Error::Io(io) => matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
            ),
            _ => false,
        }
    }

    /// `POST path` with a JSON body, retrying only connection failures.
    fn post(
        &self,
        path: &str,
        body: &str,
    ) -> Result<ureq::http::Response<ureq::Body>, WorkloadError> {
        let url = format!("{}{path}", self.base_url.expose());
        let mut attempt = 0;
        loop {
            let mut req = self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .header("Accept", "text/event-stream");
            if let Some(key) = &self.api_key {
                req = req.header("Authorization", format!("Bearer {key}"));
            }
            match req.send(body) {
                Ok(resp) => return Ok(resp),
                Err(e) if Self::is_connect_failure(&e) && attempt < self.retries => {
                    attempt += 1;
                    thread::sleep(Duration::from_millis(200 * attempt as u64));
                }
                Err(e) => {
                    let mut msg = self.describe(path, &e);
                    if attempt > 0 {
                        msg.push_str(&format!(" (after {} attempts)", attempt + 1));
                    }
                    return Err(self.fail(msg));
                }
            }
        }
    }

    /// One streamed greedy completion of at most `max_tokens` tokens, timed
    /// from the call; `ignore_eos` asks the server to ignore stop tokens
    /// (vLLM and llama.cpp's server honour it, others may stop early).
    pub fn stream_completion(
        &self,
        prompt: &str,
        max_tokens: usize,
        ignore_eos: bool,
    ) -> Result<Generation, WorkloadError> {
        const PATH: &str = "/v1/completions";
        let mut body = serde_json::json!({
            "model": self.model,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "top_k": 1,
            "stream": true,
            "ignore_eos": ignore_eos,
        });
        if ignore_eos && !self.eog_ids.is_empty() {
            let bias: serde_json::Map<String, serde_json::Value> = self
                .eog_ids
                .iter()
                .map(|id| (id.to_string(), serde_json::json!(-100)))
                .collect();
            body["logit_bias"] = serde_json::Value::Object(bias);
        }
        let body = body.to_string();
        let start = Instant::now();
        let resp = self.post(PATH, &body)?;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        if status != 200 {
            let text = body.read_to_string().unwrap_or_default();
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(160)
                .collect::<String>();
            return Err(self.fail(format!("{PATH} answered HTTP {status}: {first}")));
        }
        // Each token is timed when the bytes that carry it arrived, not
        // when it was parsed out of a buffer: a server that writes many
        // tokens at once then shows as one delivery (see
        // `Generation::batched_delivery`), not as microsecond gaps.
        let mut reader = BufReader::new(Arrivals {
            inner: body.into_reader(),
            last: start,
        });
        let mut g = Generation::default();
        // Whether the server said the generation ended (a finish reason or
        // `[DONE]`): a stream that merely stops was cut off, and its few
        // tokens over a short time would read as a huge decode rate.
        let mut complete = false;
        loop {
            match next_event(&mut reader) {
                Ok(Some(SseEvent::Chunk { text, finished })) => {
                    // A closing chunk without text carries no token.
                    if !(finished && text.is_empty()) {
                        g.token_times.push(reader.get_ref().last - start);
                    }
                    g.text.push_str(&text);
                    complete |= finished;
                }
                Ok(Some(SseEvent::Done)) => {
                    complete = true;
                    break;
                }
                Ok(None) => break,
                Err(SseError::Io(e)) => {
                    let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                        || e.to_string().to_lowercase().contains("timeout");
                    return Err(self.fail(if timed_out {
                        format!(
                            "timed out on {PATH}: the stream stalled for {} ms ([llm.openai] read_timeout_ms)",
                            self.read_timeout.as_millis()
                        )
                    } else {
                        format!("stream from {PATH} broke off: {e}")
                    }));
                }
                Err(SseError::Malformed(m)) => {
                    return Err(self.fail(format!("malformed stream from {PATH}: {m}")))
                }
            }
        }
        if g.token_times.is_empty() {
            return Err(self.fail(format!(
                "malformed stream from {PATH}: it ended without a single token"
            )));
        }
        if !complete {
            return Err(self.fail(format!(
                "stream from {PATH} was cut off after {} of {max_tokens} tokens (no finish reason, no [DONE]): the request failed and is not turned into a rate; check the server's log",
                g.token_times.len()
            )));
        }
        Ok(g)
    }
}

/// A reader that remembers when its last non-empty read returned.
struct Arrivals<R> {
    inner: R,
    last: Instant,
}

impl<R: std::io::Read> std::io::Read for Arrivals<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.last = Instant::now();
        }
        Ok(n)
    }
}
