//! The plan's LLM part: the engines by name, generation settings, how
//! candle holds the GGUF, and the OpenAI-compatible server, with the
//! checks the LLM workloads need before they load a model.

use std::{fmt, path::PathBuf, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{secret_url::SecretUrl, setting::Setting};

/// The LLM engines, by the name users type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineName {
    /// llama.cpp in-process (llama-cpp-2).
    Llamacpp,
    /// candle's quantized Gemma 3 in-process.
    Candle,
    /// Any OpenAI-compatible HTTP server, streamed.
    Openai,
}

impl EngineName {
    pub const ALL: [EngineName; 3] = [EngineName::Llamacpp, EngineName::Candle, EngineName::Openai];

    pub fn as_str(self) -> &'static str {
        match self {
            EngineName::Llamacpp => "llamacpp",
            EngineName::Candle => "candle",
            EngineName::Openai => "openai",
        }
    }
}

impl fmt::Display for EngineName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EngineName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EngineName::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = EngineName::ALL.iter().map(|e| e.as_str()).collect();
                format!("unknown engine `{s}` (known: {})", known.join(", "))
            })
    }
}

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

/// How the `candle` engine holds the GGUF's weights. candle 0.11 multiplies
/// Q5_0 blocks with a scalar loop (no SIMD kernel), and Gemma 3 270M's
/// "Q4_K_M" file stores most layer weights as Q5_0 (its 640-wide rows do
/// not fit K-quant blocks), so the choice decides candle's speed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CandleWeights {
    /// As the file stores them, through candle's quantized kernels.
    #[serde(rename = "quantized")]
    Quantized,
    /// Q5_0 tensors expanded to f32 at load (measured for the 270M model:
    /// 623 MiB of RSS after loading against 420 MiB), multiplied by
    /// candle's f32 GEMM; the other types stay quantized. The default: about 10x the prefill rate of `Quantized`
    /// on the development VM, with the same agreement with llama.cpp.
    #[default]
    #[serde(rename = "q5_0_as_f32")]
    Q5AsF32,
}

impl CandleWeights {
    pub fn as_str(self) -> &'static str {
        match self {
            CandleWeights::Quantized => "quantized",
            CandleWeights::Q5AsF32 => "q5_0_as_f32",
        }
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
