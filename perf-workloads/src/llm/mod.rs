//! LLM inference: one [`Engine`] trait with three implementations —
//! llama.cpp in-process ([`llamacpp_engine`]), candle's quantized Gemma 3
//! ([`candle_engine`]) and any OpenAI-compatible server ([`openai`]) — the
//! GGUF model they share ([`gguf_provision`], [`gguf_check`]), the
//! tokenizer read from it ([`gguf_tokenizer`]) and the prompts
//! ([`prompts`]).

pub mod candle_engine;
pub mod candle_gemma3;
pub mod engine;
pub mod gguf_check;
pub mod gguf_provision;
pub mod gguf_tokenizer;
#[cfg(feature = "llamacpp")]
pub mod llamacpp_engine;
pub mod openai;
pub mod prompts;

use perf_contract::plan::{EngineName, LlmPlan};

pub use engine::{Engine, Generation};
pub use gguf_provision::{provision_gguf, GgufFile};

use crate::error::WorkloadError;

/// The model, its tokenizer and the engines of one run.
pub struct LlmSet {
    pub gguf: GgufFile,
    /// The GGUF's tokenizer, to build prompts of exact token lengths.
    pub tokenizer: gguf_tokenizer::GgufTokenizer,
    pub engines: Vec<Box<dyn Engine>>,
}

/// Provisions the model and opens every engine `plan` names, in its order.
pub fn open_engines(
    plan: &LlmPlan,
    threads: usize,
    on_event: &mut dyn FnMut(perf_provision::Event),
) -> Result<LlmSet, WorkloadError> {
    let gguf = provision_gguf(plan.model.as_deref(), &plan.cache_dir, on_event)?;
    let tokenizer = gguf_tokenizer::GgufTokenizer::load(&gguf.path)?;
    let mut engines: Vec<Box<dyn Engine>> = Vec::new();
    for &name in &plan.engines {
        engines.push(open_engine(name, plan, &gguf, &tokenizer, threads)?);
    }
    Ok(LlmSet {
        gguf,
        tokenizer,
        engines,
    })
}

pub fn open_engine(
    name: EngineName,
    plan: &LlmPlan,
    gguf: &GgufFile,
    tokenizer: &gguf_tokenizer::GgufTokenizer,
    threads: usize,
) -> Result<Box<dyn Engine>, WorkloadError> {
    Ok(match name {
        EngineName::Candle => Box::new(candle_engine::CandleEngine::load(
            gguf,
            tokenizer.clone(),
            plan.context_tokens,
            plan.candle_weights,
        )?),
        #[cfg(feature = "llamacpp")]
        EngineName::Llamacpp => Box::new(llamacpp_engine::LlamaCppEngine::load(
            gguf,
            threads,
            plan.context_tokens,
        )?),
        #[cfg(not(feature = "llamacpp"))]
        EngineName::Llamacpp => {
            let _ = threads;
            return Err(WorkloadError::Engine {
                engine: "llamacpp".into(),
                message: "this build has no llama.cpp (perf-workloads was built without its `llamacpp` feature)".into(),
            });
        }
        EngineName::Openai => {
            let openai = plan.openai.as_ref().ok_or_else(|| {
                WorkloadError::Config(format!(
                    "engine openai needs a server: set {}",
                    perf_contract::setting::Setting::OpenAiUrl
                ))
            })?;
            Box::new(openai::OpenAiEngine::new(
                openai,
                &tokenizer.end_of_generation_ids(),
            )?)
        }
    })
}
