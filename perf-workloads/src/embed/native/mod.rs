//! The stack's own sentence encoder for all-MiniLM-L6-v2 (BERT): no
//! padding anywhere (the sequences of a batch are concatenated token rows;
//! attention runs per sequence), fused Q/K/V, fused attention per sequence
//! and head, vectorised GELU and layer norm, buffers reused across layers,
//! and the linears on bf16 dot-product kernels when the CPU has AVX-512
//! BF16, f32 GEMM otherwise. Both cores work on every step.
//!
//! It replaces candle's `BertModel` as the default engine; candle stays as
//! the reference engine beside it (see `embed::model`).

mod attention;
mod bf16_gemm;
mod linear;
mod shared_out;
mod simd;
mod weights;

use std::path::Path;

use perf_contract::plan::Kernel;

use rayon::prelude::*;

use self::weights::{Shape, Weights};

/// Which kernels run the linear layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelPath {
    /// Weights and activations rounded to bf16, products summed in f32
    /// (`vdpbf16ps`).
    Bf16Avx512,
    /// f32 throughout (the `gemm` crate's kernels).
    F32,
}

impl KernelPath {
    /// The fastest path this CPU runs.
    pub fn detect() -> KernelPath {
        if bf16_gemm::supported() {
            KernelPath::Bf16Avx512
        } else {
            KernelPath::F32
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KernelPath::Bf16Avx512 => "bf16-avx512",
            KernelPath::F32 => "f32",
        }
    }

    /// The path the plan's kernel names on this CPU: `auto` is the
    /// fastest it runs; bf16 on a CPU without it is an error.
    pub fn of(kernel: Kernel) -> Result<KernelPath, String> {
        match kernel {
            Kernel::Auto => Ok(KernelPath::detect()),
            Kernel::F32 => Ok(KernelPath::F32),
            Kernel::Bf16Avx512 if bf16_gemm::supported() => Ok(KernelPath::Bf16Avx512),
            Kernel::Bf16Avx512 => Err("this CPU has no AVX-512 BF16 (use `auto` or `f32`)".into()),
        }
    }
}

/// Tokens per forward pass: sequences are grouped up to this many, so the
/// activations (about 10 KiB a token) stay within the caches.
const TOKEN_BUDGET: usize = 1024;

pub struct NativeEncoder {
    shape: Shape,
    weights: Weights,
    path: KernelPath,
}

/// Buffers one forward pass reuses across its layers.
#[derive(Default)]
struct Workspace {
    x: Vec<f32>,
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    tmp: Vec<f32>,
    up: Vec<f32>,
    pairs: Vec<u32>,
}

impl NativeEncoder {
    /// Reads `config.json` (a BERT config) and the safetensors weights.
    pub fn load(config: &Path, weights: &Path, path: KernelPath) -> Result<NativeEncoder, String> {
        let text = std::fs::read_to_string(config)
            .map_err(|e| format!("cannot read {}: {e}", config.display()))?;
        let c: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", config.display()))?;
        let field = |name: &str| {
            c[name]
                .as_u64()
                .map(|v| v as usize)
                .ok_or_else(|| format!("{} has no `{name}`", config.display()))
        };
        if c["hidden_act"].as_str() != Some("gelu") {
            return Err(format!(
                "{}: only BERT's erf GELU is implemented",
                config.display()
            ));
        }
        let shape = Shape {
            vocab: field("vocab_size")?,
            hidden: field("hidden_size")?,
            layers: field("num_hidden_layers")?,
            heads: field("num_attention_heads")?,
            intermediate: field("intermediate_size")?,
            max_positions: field("max_position_embeddings")?,
            eps: c["layer_norm_eps"].as_f64().unwrap_or(1e-12) as f32,
        };
        if shape.hidden != shape.heads * attention::HEAD
            || !shape.hidden.is_multiple_of(bf16_gemm::NR)
        {
            return Err(format!(
                "{}: hidden size {} with {} heads is not a shape these kernels handle",
                config.display(),
                shape.hidden,
                shape.heads
            ));
        }
        let weights = weights::load(weights, &shape, path)?;
        Ok(NativeEncoder {
            shape,
            weights,
            path,
        })
    }

    pub fn path(&self) -> KernelPath {
        self.path
    }

    /// One unit-length, mean-pooled vector per token sequence (already
    /// truncated to the model's limit, special tokens included).
    pub fn encode(&self, seqs: &[&[u32]]) -> Vec<Vec<f32>> {
        // On a pool thread, the many parallel steps of a forward pass are
        // joins between the two workers; from outside the pool each would
        // be a hand-over to it and back (about 60 per pass).
        if rayon::current_thread_index().is_none() {
            return rayon::scope(|_| self.encode(seqs));
        }
        let mut out = Vec::with_capacity(seqs.len());
        let mut ws = Workspace::default();
        let mut start = 0;
        while start < seqs.len() {
            let mut end = start + 1;
            let mut tokens = seqs[start].len();
            while end < seqs.len() && tokens + seqs[end].len() <= TOKEN_BUDGET {
                tokens += seqs[end].len();
                end += 1;
            }
            out.extend(self.forward(&seqs[start..end], &mut ws));
            start = end;
        }
        out
    }

    fn forward(&self, seqs: &[&[u32]], ws: &mut Workspace) -> Vec<Vec<f32>> {
        let s = &self.shape;
        let (h, w) = (s.hidden, &self.weights);
        let mut spans = Vec::with_capacity(seqs.len());
        let mut t = 0;
        for seq in seqs {
            assert!(seq.len() <= s.max_positions && !seq.is_empty());
            spans.push((t, seq.len()));
            t += seq.len();
        }
        ws.x.clear();
        ws.x.reserve(t * h);
        for seq in seqs {
            for (pos, &id) in seq.iter().enumerate() {
                let id = (id as usize).min(s.vocab - 1);
                let word = &w.words[id * h..(id + 1) * h];
                let place = &w.positions[pos * h..(pos + 1) * h];
                ws.x.extend(
                    word.iter()
                        .zip(place)
                        .zip(&w.segment)
                        .map(|((a, b), c)| a + b + c),
                );
            }
        }
        let rows = 32 * h;
        let (g, b) = &w.embed_norm;
        ws.x.par_chunks_mut(rows)
            .for_each(|x| simd::layer_norm(x, g, b, s.eps));
        for layer in &w.layers {
            ws.qkv.resize(t * 3 * h, 0.0);
            layer.qkv.forward(&ws.x, t, &mut ws.qkv, &mut ws.pairs);
            ws.ctx.resize(t * h, 0.0);
            attention::attention(&ws.qkv, &spans, h, &mut ws.ctx);
            ws.tmp.resize(t * h, 0.0);
            layer
                .attn_out
                .forward(&ws.ctx, t, &mut ws.tmp, &mut ws.pairs);
            let (g, b) = &layer.attn_norm;
            ws.x.par_chunks_mut(rows)
                .zip(ws.tmp.par_chunks(rows))
                .for_each(|(x, r)| simd::add_layer_norm(x, r, g, b, s.eps));
            let i = layer.up.out_features();
            ws.up.resize(t * i, 0.0);
            layer.up.forward(&ws.x, t, &mut ws.up, &mut ws.pairs);
            ws.up.par_chunks_mut(32 * i).for_each(simd::gelu);
            layer.down.forward(&ws.up, t, &mut ws.tmp, &mut ws.pairs);
            let (g, b) = &layer.out_norm;
            ws.x.par_chunks_mut(rows)
                .zip(ws.tmp.par_chunks(rows))
                .for_each(|(x, r)| simd::add_layer_norm(x, r, g, b, s.eps));
        }
        spans
            .iter()
            .map(|&(start, len)| {
                let mut mean = vec![0f32; h];
                for row in ws.x[start * h..(start + len) * h].chunks_exact(h) {
                    for (m, v) in mean.iter_mut().zip(row) {
                        *m += v;
                    }
                }
                let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
                // The mean's 1/len cancels in the normalisation.
                mean.iter_mut()
                    .for_each(|v| *v /= norm.max(f32::MIN_POSITIVE));
                mean
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan's kernel names a path; bf16 where the CPU has none is
    /// refused saying what to use instead, never run as f32 unsaid.
    #[test]
    fn the_plans_kernel_names_a_path_this_cpu_runs() {
        assert_eq!(KernelPath::of(Kernel::F32), Ok(KernelPath::F32));
        assert_eq!(KernelPath::of(Kernel::Auto), Ok(KernelPath::detect()));
        match KernelPath::of(Kernel::Bf16Avx512) {
            Ok(path) => {
                assert!(bf16_gemm::supported());
                assert_eq!(path, KernelPath::Bf16Avx512);
            }
            Err(why) => {
                assert!(!bf16_gemm::supported());
                assert!(why.contains("use `auto` or `f32`"), "{why}");
            }
        }
    }
}
