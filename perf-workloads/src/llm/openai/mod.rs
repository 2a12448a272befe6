//! The `openai` engine: any OpenAI-compatible HTTP server, measured from
//! its token stream ([`client`], [`sse`]), and the open-loop load test of
//! its concurrency levels ([`schedule`]).

pub mod client;
pub mod schedule;
pub mod serve;
pub mod sse;

use perf_contract::{
    context::LlmEngineInfo,
    plan::{EngineName, OpenAiPlan},
};

use crate::{
    error::WorkloadError,
    llm::engine::{Engine, Generation},
};

pub use client::OpenAiClient;

pub struct OpenAiEngine {
    client: OpenAiClient,
    model: String,
}

impl OpenAiEngine {
    /// `eog_ids`: the served model's end-of-generation tokens.
    pub fn new(plan: &OpenAiPlan, eog_ids: &[u32]) -> Result<OpenAiEngine, WorkloadError> {
        Ok(OpenAiEngine {
            client: OpenAiClient::new(plan, eog_ids)?,
            model: plan.model.clone(),
        })
    }

    pub fn client(&self) -> &OpenAiClient {
        &self.client
    }
}

impl Engine for OpenAiEngine {
    fn name(&self) -> EngineName {
        EngineName::Openai
    }

    fn info(&self) -> LlmEngineInfo {
        LlmEngineInfo {
            engine: "openai".into(),
            version: "OpenAI-compatible server, /v1/completions streamed".into(),
            // The server's own threads are its configuration, not ours.
            threads: 0,
            model_sha256: String::new(),
            model: self.model.clone(),
            detail: format!("base_url {}", self.client.base_url()),
            instruction_set: String::new(),
        }
    }

    fn generate(
        &mut self,
        prompt: &str,
        max_new: usize,
        stop: bool,
    ) -> Result<Generation, WorkloadError> {
        self.client.stream_completion(prompt, max_new, !stop)
    }
}
