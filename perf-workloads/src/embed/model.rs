//! BERT sentence encoder as sentence-transformers runs it: WordPiece
//! tokenisation truncated at `max_seq_length` (256 for all-MiniLM-L6-v2),
//! the transformer, attention-masked mean pooling, then L2 normalisation.
//!
//! Tokenisation and the forward pass are separate calls so the pipeline can
//! time them as separate stages.

use std::fs;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::{embed::provision::ModelFiles, error::WorkloadError};

pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dims: usize,
    max_seq_length: usize,
    files: ModelFiles,
}

/// A tokenised batch, padded to its longest member.
pub struct TokenBatch {
    ids: Tensor,
    type_ids: Tensor,
    mask: Tensor,
    /// Non-padding tokens in the batch.
    pub tokens: usize,
    pub size: usize,
}

impl Embedder {
    pub fn load(files: &ModelFiles) -> Result<Embedder, WorkloadError> {
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
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        let device = Device::Cpu;
        // SAFETY: the weights file is not modified while mapped; it lives in a
        // cache folder that only provisioning writes, before this point.
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(&[&files.weights], DType::F32, &device).map_err(
                |e| {
                    corrupt(format!(
                        "{} is not valid safetensors: {e}",
                        files.weights.display()
                    ))
                },
            )?
        };
        let model = BertModel::load(vb, &config)
            .map_err(|e| corrupt(format!("weights do not match the BERT config: {e}")))?;
        Ok(Embedder {
            model,
            tokenizer,
            device,
            dims: config.hidden_size,
            max_seq_length: files.max_seq_length,
            files: files.clone(),
        })
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
        let len = encodings[0].get_ids().len();
        let mut ids = Vec::with_capacity(texts.len() * len);
        let mut mask = Vec::with_capacity(texts.len() * len);
        for enc in &encodings {
            ids.extend_from_slice(enc.get_ids());
            mask.extend_from_slice(enc.get_attention_mask());
        }
        let tokens = mask.iter().filter(|&&m| m == 1).count();
        let shape = (texts.len(), len);
        let ids = Tensor::from_vec(ids, shape, &self.device)?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        let type_ids = ids.zeros_like()?;
        Ok(TokenBatch {
            ids,
            type_ids,
            mask,
            tokens,
            size: texts.len(),
        })
    }

    /// Runs the encoder and pools: one unit-length vector per input.
    pub fn forward(&self, batch: &TokenBatch) -> Result<Vec<Vec<f32>>, WorkloadError> {
        let hidden = self
            .model
            .forward(&batch.ids, &batch.type_ids, Some(&batch.mask))?;
        let mask = batch.mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
        let unit = mean.broadcast_div(&norm)?;
        Ok(unit.to_vec2::<f32>()?)
    }

    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, WorkloadError> {
        self.forward(&self.tokenize(texts)?)
    }

    /// `texts` embedded `batch_size` at a time, longest first (a batch is
    /// padded to its longest member), vectors returned in input order, with
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
