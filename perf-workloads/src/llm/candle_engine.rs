//! The `candle` engine: candle's quantized Gemma 3 on the CPU, in-process,
//! with the tokenizer read from the same GGUF file.

use std::{fs, time::Instant};

use candle_core::Device;
use perf_contract::{
    context::LlmEngineInfo,
    plan::{CandleWeights, EngineName},
};

use crate::{
    error::WorkloadError,
    llm::{
        candle_gemma3::{Gemma3, WeightMode},
        engine::{argmax, Engine, Generation},
        gguf_check::read_content,
        gguf_provision::GgufFile,
        gguf_tokenizer::GgufTokenizer,
    },
};

pub const CANDLE_VERSION: &str = "candle-core 0.11, Gemma 3 forward pass of perf-workloads";

pub struct CandleEngine {
    model: Gemma3,
    tokenizer: GgufTokenizer,
    gguf: GgufFile,
    context_tokens: usize,
    weights: CandleWeights,
}

fn err(e: impl ToString) -> WorkloadError {
    WorkloadError::Engine {
        engine: "candle".into(),
        message: e.to_string(),
    }
}

impl CandleEngine {
    /// `tokenizer` is the one read from the same file (the run builds it
    /// once for all engines and the prompts).
    pub fn load(
        gguf: &GgufFile,
        tokenizer: GgufTokenizer,
        context_tokens: usize,
        weights: CandleWeights,
    ) -> Result<CandleEngine, WorkloadError> {
        let content = read_content(&gguf.path)?;
        let device = Device::Cpu;
        let mut file = fs::File::open(&gguf.path).map_err(|e| WorkloadError::Io {
            path: gguf.path.clone(),
            message: e.to_string(),
        })?;
        let mode = match weights {
            CandleWeights::Quantized => WeightMode::Quantized,
            CandleWeights::Q5AsF32 => WeightMode::Q5ToF32,
        };
        let model =
            Gemma3::from_gguf(&content, &mut file, context_tokens, mode, &device).map_err(|e| {
                WorkloadError::Gguf {
                    path: gguf.path.clone(),
                    message: format!(
                        "candle cannot load it as Gemma 3 ({})",
                        first_line(&e.to_string())
                    ),
                }
            })?;
        Ok(CandleEngine {
            model,
            tokenizer,
            gguf: gguf.clone(),
            context_tokens,
            weights,
        })
    }

    pub fn tokenizer(&self) -> &GgufTokenizer {
        &self.tokenizer
    }

    fn logits_at(&mut self, ids: &[u32], pos: usize) -> Result<Vec<f32>, WorkloadError> {
        self.model
            .forward(ids, pos)
            .map_err(err)?
            .to_dtype(candle_core::DType::F32)
            .and_then(|l| l.to_vec1::<f32>())
            .map_err(err)
    }
}

/// Which k-quant dot products candle picks at run time on this CPU.
fn simd_kernels() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return "avx2+fma";
        }
    }
    "generic"
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

impl Engine for CandleEngine {
    fn name(&self) -> EngineName {
        EngineName::Candle
    }

    fn info(&self) -> LlmEngineInfo {
        LlmEngineInfo {
            engine: "candle".into(),
            version: CANDLE_VERSION.into(),
            threads: candle_core::utils::get_num_threads(),
            model_sha256: self.gguf.sha256.clone(),
            model: self.gguf.path.display().to_string(),
            detail: format!(
                "cpu, weights {}, k-quant kernels: {}",
                self.weights.as_str(),
                simd_kernels()
            ),
            instruction_set: format!("compiled SIMD paths: {}", simd_kernels()),
        }
    }

    fn generate(
        &mut self,
        prompt: &str,
        max_new: usize,
        stop: bool,
    ) -> Result<Generation, WorkloadError> {
        let start = Instant::now();
        let ids = self.tokenizer.encode(prompt, true);
        if ids.len() + max_new > self.context_tokens {
            return Err(err(format!(
                "prompt of {} tokens plus {max_new} new tokens exceeds the context of {} tokens ([llm] context_tokens)",
                ids.len(),
                self.context_tokens
            )));
        }
        // A forward pass from position 0 replaces the KV cache of the last prompt.
        let mut next = argmax(&self.logits_at(&ids, 0)?);
        let mut tokens = vec![next];
        let mut token_times = vec![start.elapsed()];
        for step in 1..max_new {
            if stop && self.tokenizer.is_end_of_generation(next) {
                break;
            }
            next = argmax(&self.logits_at(&[next], ids.len() + step - 1)?);
            tokens.push(next);
            token_times.push(start.elapsed());
        }
        Ok(Generation {
            prompt_tokens: ids.len(),
            text: self.tokenizer.decode(&tokens),
            tokens,
            token_times,
        })
    }
}
