//! The sentence encoder as sentence-transformers runs it: WordPiece
//! tokenisation truncated at `max_seq_length` (256 for all-MiniLM-L6-v2),
//! the transformer, mean pooling over the real tokens, L2 normalisation;
//! run by one of two engines: `native` (the stack's own, the default) or
//! `candle` (the reference).
//!
//! Tokenisation and the forward pass are separate calls so the pipeline can
//! time them as separate stages.

use std::fs;

use candle_transformers::models::bert::Config;
use perf_contract::metric_key::EmbedEngine;
use tokenizers::{Tokenizer, TruncationParams};

use crate::{
    embed::{
        candle_bert::CandleBert,
        native::{KernelPath, NativeEncoder},
        provision::ModelFiles,
    },
    error::WorkloadError,
};

enum Backend {
    Native(NativeEncoder),
    Candle(CandleBert),
}

pub struct Embedder {
    backend: Backend,
    tokenizer: Tokenizer,
    dims: usize,
    max_seq_length: usize,
    files: ModelFiles,
}

/// A tokenised batch: each text's token ids, unpadded (the candle engine
/// pads when it builds its tensors).
pub struct TokenBatch {
    ids: Vec<Vec<u32>>,
    /// Tokens in the batch (special tokens included, no padding).
    pub tokens: usize,
    pub size: usize,
}

impl Embedder {
    /// `engine` with the fastest kernels this CPU runs.
    pub fn load(files: &ModelFiles, engine: EmbedEngine) -> Result<Embedder, WorkloadError> {
        Self::load_with(files, engine, KernelPath::detect())
    }

    /// `engine`, the native one on kernel path `kernel`.
    pub fn load_with(
        files: &ModelFiles,
        engine: EmbedEngine,
        kernel: KernelPath,
    ) -> Result<Embedder, WorkloadError> {
        let corrupt = |message: String| WorkloadError::ModelCorrupt {
            path: files.dir.clone(),
            message,
        };
        let config_text = fs::read_to_string(&files.config)
            .map_err(|e| corrupt(format!("cannot read {}: {e}", files.config.display())))?;
        let config: Config = serde_json::from_str(&config_text).map_err(|e| {
            corrupt(format!(
                "{} is not a BERT config: {e}",
                files.config.display()
            ))
        })?;
        let mut tokenizer = Tokenizer::from_file(&files.tokenizer).map_err(|e| {
            corrupt(format!(
                "{} is not a tokenizer: {e}",
                files.tokenizer.display()
            ))
        })?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: files.max_seq_length,
                ..Default::default()
            }))
            .map_err(|e| corrupt(format!("truncation: {e}")))?;
        // No padding: the native engine never pads, candle pads itself.
        tokenizer.with_padding(None);
        let backend = match engine {
            EmbedEngine::Native => Backend::Native(
                NativeEncoder::load(&files.config, &files.weights, kernel).map_err(corrupt)?,
            ),
            EmbedEngine::Candle => {
                Backend::Candle(CandleBert::load(files, &config).map_err(corrupt)?)
            }
        };
        Ok(Embedder {
            backend,
            tokenizer,
            dims: config.hidden_size,
            max_seq_length: files.max_seq_length,
            files: files.clone(),
        })
    }

    pub fn engine(&self) -> EmbedEngine {
        match self.backend {
            Backend::Native(_) => EmbedEngine::Native,
            Backend::Candle(_) => EmbedEngine::Candle,
        }
    }

    /// What runs the model, kernels included: `native (bf16-avx512)`.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Native(n) => format!("native ({})", n.path().as_str()),
            Backend::Candle(_) => "candle 0.11 (cpu, f32)".into(),
        }
    }

    /// A file-name-safe tag of `describe()`: vectors cached from one
    /// engine or kernel path are never served as another's.
    pub fn cache_tag(&self) -> String {
        match &self.backend {
            Backend::Native(n) => format!("native-{}", n.path().as_str()),
            Backend::Candle(_) => "candle".into(),
        }
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    pub fn max_seq_length(&self) -> usize {
        self.max_seq_length
    }

    pub fn files(&self) -> &ModelFiles {
        &self.files
    }

    pub fn tokenize(&self, texts: &[&str]) -> Result<TokenBatch, WorkloadError> {
        if texts.is_empty() {
            return Err(WorkloadError::Inference("empty batch".into()));
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| WorkloadError::Inference(format!("tokenize: {e}")))?;
        let ids: Vec<Vec<u32>> = encodings.iter().map(|e| e.get_ids().to_vec()).collect();
        Ok(TokenBatch {
            tokens: ids.iter().map(Vec::len).sum(),
            size: ids.len(),
            ids,
        })
    }

    /// Runs the encoder and pools: one unit-length vector per input.
    pub fn forward(&self, batch: &TokenBatch) -> Result<Vec<Vec<f32>>, WorkloadError> {
        match &self.backend {
            Backend::Native(n) => {
                let seqs: Vec<&[u32]> = batch.ids.iter().map(Vec::as_slice).collect();
                Ok(n.encode(&seqs))
            }
            Backend::Candle(c) => c.forward(&batch.ids),
        }
    }

    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, WorkloadError> {
        self.forward(&self.tokenize(texts)?)
    }

    /// `texts` embedded `batch_size` at a time, longest first (as
    /// sentence-transformers' `encode()` does: a padded batch then holds
    /// texts of similar length), vectors returned in input order, with
    /// `progress(done, total)` after each batch. Memory stays in proportion
    /// to one batch, however many texts there are.
    pub fn embed_batched(
        &self,
        texts: &[&str],
        batch_size: usize,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Vec<Vec<f32>>, WorkloadError> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let mut out = vec![Vec::new(); texts.len()];
        let mut done = 0;
        for batch in order.chunks(batch_size.max(1)) {
            let batch_texts: Vec<&str> = batch.iter().map(|&i| texts[i]).collect();
            for (&i, v) in batch.iter().zip(self.embed(&batch_texts)?) {
                out[i] = v;
            }
            done += batch.len();
            progress(done, texts.len());
        }
        Ok(out)
    }
}

/// Cosine similarity of two vectors of equal length.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}
