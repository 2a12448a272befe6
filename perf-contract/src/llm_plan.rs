//! The plan's LLM part: the engines by name, generation settings, how
//! candle holds the GGUF, and the OpenAI-compatible server, with the
//! checks the LLM workloads need before they load a model.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{
    names::{CandleWeights, EngineName},
    secret_url::SecretUrl,
    setting::{is_name, Flag, FlagValue::*, Setting},
};

/// The flags that set this file's fields.
pub(crate) const FLAGS: &[Flag] = &[
    Flag::new("engine", "NAME", &["llm.engines"], Name(is_name::<EngineName>),
        "LLM engine for inference/rag_answer (llamacpp, candle, openai); repeat for several [default: [llm] engines, else llamacpp and candle]").repeated(),
    Flag::new("llm-model", "FILE", &["llm.model"], Text,
        "GGUF file for the LLM engines [default: Gemma 3 270M Q4_K_M from the Hugging Face cache, else downloaded once]"),
    Flag::new("openai-url", "URL", &["llm.openai.base_url"], Text,
        "Base URL of an OpenAI-compatible server for the openai engine (overrides [llm.openai] base_url), e.g. http://127.0.0.1:8000"),
    Flag::switch("openai-serve", &["llm.openai.serve"],
        "Start llama-cpp-python's OpenAI-compatible server on the GGUF for the run (and stop it after) and use it as the openai engine and server_load's LLM server; provisioned when python3 lacks it").conflicts_with("openai-url"),
];

/// Generation settings shared by the LLM workloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmPlan {
    pub engines: Vec<EngineName>,
    /// Explicit GGUF file; when `None` Gemma 3 270M Q4_K_M is provisioned
    /// into `cache_dir`.
    pub model: Option<PathBuf>,
    pub cache_dir: PathBuf,
    /// Prompt lengths (tokens, BOS included) of the prefill measurement.
    pub prompt_lengths: Vec<usize>,
    /// Tokens generated per prompt (greedy, stop tokens ignored).
    pub max_new_tokens: usize,
    /// Questions of the query set used per pass (`None`: all of them).
    pub questions: Option<usize>,
    /// Measured passes of `inference` and `rag_answer` (`None`: the
    /// harness's `passes`). A generation takes about a second where a
    /// retrieval takes milliseconds, so the LLM workloads get fewer passes
    /// and one warm-up pass at most. Absent from older plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passes: Option<u32>,
    /// Leading generated tokens compared between llamacpp and candle.
    pub agreement_tokens: usize,
    /// Context window allocated per engine, in tokens.
    pub context_tokens: usize,
    /// Retrieved context in a `rag_answer` prompt, in characters (about a
    /// quarter as many tokens: 2000 gives prompts near the 512-token
    /// prefill length of `inference`).
    pub rag_context_chars: usize,
    /// How the `candle` engine holds the weights.
    #[serde(default)]
    pub candle_weights: CandleWeights,
    pub openai: Option<OpenAiPlan>,
}

/// The faster of the two (see `CandleWeights::Q5AsF32`).
impl Default for CandleWeights {
    fn default() -> CandleWeights {
        CandleWeights::Q5AsF32
    }
}

impl Default for LlmPlan {
    fn default() -> Self {
        LlmPlan {
            engines: vec![EngineName::Llamacpp, EngineName::Candle],
            model: None,
            cache_dir: PathBuf::from("target/perf-models"),
            prompt_lengths: vec![128, 512],
            max_new_tokens: 64,
            questions: None,
            passes: None,
            agreement_tokens: 16,
            context_tokens: 4096,
            rag_context_chars: 2000,
            candle_weights: CandleWeights::Q5AsF32,
            openai: None,
        }
    }
}

/// An OpenAI-compatible server. The API key itself is never in the plan:
/// only the name of the environment variable that holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiPlan {
    /// e.g. `http://127.0.0.1:8000` (the `/v1/...` paths are appended);
    /// its credentials, if any, are never written (`secret_url`).
    pub base_url: SecretUrl,
    pub model: String,
    /// The variable holding the API key (`OPENAI_API_KEY` unless configured).
    pub api_key_env: Option<String>,
    /// `api_key_env` is the default, not the user's choice: when the variable
    /// is unset no key is sent (a local server needs none), where a
    /// configured variable that is unset is an error.
    #[serde(default)]
    pub api_key_optional: bool,
    /// Concurrency levels of the open-loop load test.
    pub concurrency: Vec<usize>,
    /// Requests sent per concurrency level and pass.
    pub requests_per_level: usize,
    pub connect_timeout_ms: u64,
    /// Longest wait for the next byte of a response.
    pub read_timeout_ms: u64,
    /// Extra attempts after a failed connection (never after a reply began).
    pub retries: u32,
    /// The run starts llama-cpp-python's server on the GGUF itself and
    /// fills `base_url` with its address (`--openai-serve`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serve: bool,
}

impl LlmPlan {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.engines.is_empty() {
            return Err(format!(
                "no LLM engine selected: name one with {}",
                Setting::Engines
            ));
        }
        if self.prompt_lengths.is_empty() || self.prompt_lengths.iter().any(|&n| n < 2) {
            return Err(
                "[llm] prompt_lengths must be a non-empty list of lengths of at least 2 tokens"
                    .into(),
            );
        }
        if self.max_new_tokens < 2 {
            return Err(
                "[llm] max_new_tokens must be at least 2 (inter-token latency needs two tokens)"
                    .into(),
            );
        }
        if self.questions == Some(0) {
            return Err("[llm] questions must be at least 1".into());
        }
        if let Some(longest) = self.prompt_lengths.iter().max() {
            if longest + self.max_new_tokens > self.context_tokens {
                return Err(format!(
                    "[llm] context_tokens ({}) must hold the longest prompt ({longest}) plus max_new_tokens ({})",
                    self.context_tokens, self.max_new_tokens
                ));
            }
        }
        if self.engines.contains(&EngineName::Openai) {
            let Some(o) = &self.openai else {
                return Err(format!(
                    "engine openai needs a server: set {}",
                    Setting::OpenAiUrl
                ));
            };
            // A served server's address is filled in when it is up.
            let served_later = o.serve && o.base_url.expose().is_empty();
            if !served_later {
                crate::vector_plan::check_server_url(o.base_url.expose())
                    .map_err(|why| format!("{} `{}` {why}", Setting::OpenAiUrl, o.base_url))?;
            }
            if o.concurrency.is_empty() || o.concurrency.contains(&0) {
                return Err(
                    "[llm.openai] concurrency must be a non-empty list of positive levels".into(),
                );
            }
            if o.requests_per_level == 0 {
                return Err("[llm.openai] requests_per_level must be at least 1".into());
            }
        }
        Ok(())
    }
}
