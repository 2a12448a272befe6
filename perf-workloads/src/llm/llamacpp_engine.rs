//! The `llamacpp` engine: llama.cpp in-process through `llama-cpp-2`, CPU
//! only, greedy decoding by arg-max over the logits (as the candle engine
//! does, so the two differ only in their kernels).
//!
//! llama.cpp's backend may be initialised once per process, and a context
//! borrows its model; both live for the rest of the process (one model per
//! GGUF path, shared by every engine made from it), which is what a
//! benchmark process needs and keeps the engine free of self-references.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    path::PathBuf,
    sync::{Mutex, OnceLock},
    time::Instant,
};

use llama_cpp_2::{
    context::{params::LlamaContextParams, LlamaContext},
    llama_backend::LlamaBackend,
    llama_batch::LlamaBatch,
    model::{params::LlamaModelParams, LlamaModel},
    token::LlamaToken,
};
use perf_contract::{context::LlmEngineInfo, plan::EngineName};

use crate::{
    error::WorkloadError,
    llm::{
        engine::{argmax, Engine, Generation},
        gguf_provision::GgufFile,
    },
};

/// The `llama-cpp-2` release in Cargo.lock (a test keeps them in step).
pub const LLAMA_CPP_2_VERSION: &str = "0.1.160";

fn err(e: impl ToString) -> WorkloadError {
    WorkloadError::Engine {
        engine: "llamacpp".into(),
        message: e.to_string(),
    }
}

fn backend() -> Result<&'static LlamaBackend, WorkloadError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut b = LlamaBackend::init().map_err(|e| e.to_string())?;
            // llama.cpp logs every load step to stderr; errors come back as values.
            b.void_logs();
            Ok(b)
        })
        .as_ref()
        .map_err(err)
}

/// The model of `path`, loaded once per process.
fn model(gguf: &GgufFile) -> Result<&'static LlamaModel, WorkloadError> {
    static MODELS: OnceLock<Mutex<HashMap<PathBuf, &'static LlamaModel>>> = OnceLock::new();
    let mut models = MODELS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(m) = models.get(&gguf.path) {
        return Ok(m);
    }
    let params = LlamaModelParams::default().with_n_gpu_layers(0);
    let m = LlamaModel::load_from_file(backend()?, &gguf.path, &params).map_err(|e| {
        WorkloadError::Gguf {
            path: gguf.path.clone(),
            message: format!("llama.cpp cannot load it ({e})"),
        }
    })?;
    let m: &'static LlamaModel = Box::leak(Box::new(m));
    models.insert(gguf.path.clone(), m);
    Ok(m)
}

pub struct LlamaCppEngine {
    model: &'static LlamaModel,
    ctx: LlamaContext<'static>,
    batch: LlamaBatch<'static>,
    gguf: GgufFile,
    threads: usize,
    context_tokens: usize,
}

impl LlamaCppEngine {
    /// `threads` = 0 means every logical core.
    pub fn load(
        gguf: &GgufFile,
        threads: usize,
        context_tokens: usize,
    ) -> Result<LlamaCppEngine, WorkloadError> {
        let model = model(gguf)?;
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        };
        let n_ctx = u32::try_from(context_tokens).map_err(err)?;
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            // The whole prompt is one batch, as llama-bench's prompt test.
            .with_n_batch(n_ctx)
            .with_n_threads(threads as i32)
            .with_n_threads_batch(threads as i32);
        let ctx = model.new_context(backend()?, params).map_err(err)?;
        Ok(LlamaCppEngine {
            model,
            ctx,
            batch: LlamaBatch::new(context_tokens, 1),
            gguf: gguf.clone(),
            threads,
            context_tokens,
        })
    }

    /// Token ids as llama.cpp's own tokenizer gives them (`add_special`:
    /// BOS as the model asks).
    pub fn tokenize(&self, text: &str, parse_special: bool) -> Vec<u32> {
        self.model
            .vocab()
            .tokenize(text.as_bytes(), true, parse_special)
            .into_iter()
            .map(|t| t.0 as u32)
            .collect()
    }

    fn decode_last(&mut self) -> Result<u32, WorkloadError> {
        self.ctx.decode(&mut self.batch).map_err(err)?;
        Ok(argmax(self.ctx.get_logits_ith(self.batch.n_tokens() - 1)))
    }
}

/// llama.cpp's own account of the kernels it was compiled with
/// ("CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | ...").
fn system_info() -> String {
    // SAFETY: llama_print_system_info returns a pointer to a static,
    // NUL-terminated buffer that stays valid for the process.
    let text = unsafe { std::ffi::CStr::from_ptr(llama_cpp_sys_2::llama_print_system_info()) };
    text.to_string_lossy()
        .trim()
        .trim_end_matches('|')
        .trim()
        .to_string()
}

impl Engine for LlamaCppEngine {
    fn name(&self) -> EngineName {
        EngineName::Llamacpp
    }

    fn info(&self) -> LlmEngineInfo {
        LlmEngineInfo {
            engine: "llamacpp".into(),
            version: format!("llama-cpp-2 {LLAMA_CPP_2_VERSION} (bundled llama.cpp)"),
            threads: self.threads,
            model_sha256: self.gguf.sha256.clone(),
            model: self.gguf.path.display().to_string(),
            detail: "cpu backend, ggml built for this machine's instruction set by xtask".into(),
            instruction_set: system_info(),
        }
    }

    fn generate(
        &mut self,
        prompt: &str,
        max_new: usize,
        stop: bool,
    ) -> Result<Generation, WorkloadError> {
        let start = Instant::now();
        let ids: Vec<LlamaToken> = self.model.vocab().tokenize(prompt.as_bytes(), true, true);
        if ids.len() + max_new > self.context_tokens {
            return Err(err(format!(
                "prompt of {} tokens plus {max_new} new tokens exceeds the context of {} tokens ([llm] context_tokens)",
                ids.len(),
                self.context_tokens
            )));
        }
        self.ctx.clear_kv_cache();
        self.batch.clear();
        self.batch.add_sequence(&ids, 0, false).map_err(err)?;
        let mut next = self.decode_last()?;
        let mut tokens = vec![next];
        let mut token_times = vec![start.elapsed()];
        for step in 1..max_new {
            if stop && self.model.vocab().is_eog(LlamaToken(next as i32)) {
                break;
            }
            self.batch.clear();
            let pos = (ids.len() + step - 1) as i32;
            self.batch
                .add(LlamaToken(next as i32), pos, &[0], true)
                .map_err(err)?;
            next = self.decode_last()?;
            tokens.push(next);
            token_times.push(start.elapsed());
        }
        let vocab = self.model.vocab();
        let mut bytes = Vec::new();
        for &t in &tokens {
            bytes.extend(vocab.token_to_piece(LlamaToken(t as i32), false, None));
        }
        Ok(Generation {
            prompt_tokens: ids.len(),
            text: String::from_utf8_lossy(&bytes).into_owned(),
            tokens,
            token_times,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constant_matches_cargo_lock() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
        let entry = format!("name = \"llama-cpp-2\"\nversion = \"{LLAMA_CPP_2_VERSION}\"");
        assert!(
            lock.contains(&entry),
            "update LLAMA_CPP_2_VERSION to Cargo.lock's llama-cpp-2"
        );
    }
}
