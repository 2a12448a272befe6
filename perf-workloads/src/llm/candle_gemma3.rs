//! Gemma 3's forward pass on candle's quantized CPU kernels, for one
//! sequence: a prefill from position 0, then one token at a time.
//!
//! It is ours rather than `candle_transformers::models::quantized_gemma3`
//! because that model (0.11) computes a different function than Gemma 3 and
//! llama.cpp, so greedy text drifted between the engines:
//! - its MLP gates with SiLU; Gemma 3 uses tanh-approximated GELU
//!   (candle issue #3745);
//! - its decode steps attend to the whole history on sliding-window layers,
//!   and its prefill window admits 513 keys instead of 512.
//!
//! It also drops costs that were the engine's, not the model's: one RoPE
//! table per kind sized to the context (not per-layer tables for 131072
//! positions, 2.25 GiB by their shapes), embedding rows read from the
//! quantized table (not a 671 MB f32 copy of it, by its shape),
//! masks built once per forward, and grouped-query attention by reshaping
//! the queries instead of copying the keys per head.

use candle_core::{
    quantized::{gguf_file, GgmlDType, QMatMul, QTensor},
    DType, Device, IndexOp, Module, Result, Tensor,
};
use candle_transformers::quantized_nn::RmsNorm;

/// Gemma 3's defaults where the GGUF omits a key (the 270M file does).
const DEFAULT_SLIDING_PATTERN: usize = 6;
const DEFAULT_LOCAL_ROPE_BASE: f32 = 10_000.0;
const DEFAULT_GLOBAL_ROPE_BASE: f32 = 1_000_000.0;

/// How the weights are held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightMode {
    /// Every tensor as the GGUF stores it, multiplied by candle's kernels.
    Quantized,
    /// Q5_0 tensors expanded to f32 at load: candle 0.11 has only a scalar
    /// Q5_0 dot product, and this file stores most layer weights as Q5_0.
    Q5ToF32,
}

struct Rope {
    cos: Tensor,
    sin: Tensor,
}

impl Rope {
    fn new(head_dim: usize, base: f32, positions: usize, device: &Device) -> Result<Rope> {
        let inv_freq: Vec<f32> = (0..head_dim / 2)
            .map(|i| 1.0 / base.powf(2.0 * i as f32 / head_dim as f32))
            .collect();
        let inv_freq = Tensor::from_vec(inv_freq, (1, head_dim / 2), device)?;
        let pos = Tensor::arange(0u32, positions as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((positions, 1))?;
        let angles = pos.matmul(&inv_freq)?;
        Ok(Rope {
            cos: angles.cos()?,
            sin: angles.sin()?,
        })
    }

    /// Rotates `x` of shape (1, heads, seq, head_dim) starting at `pos`.
    fn apply(&self, x: &Tensor, pos: usize) -> Result<Tensor> {
        let seq = x.dim(2)?;
        let cos = self.cos.narrow(0, pos, seq)?;
        let sin = self.sin.narrow(0, pos, seq)?;
        candle_nn::rotary_emb::rope(&x.contiguous()?, &cos, &sin)
    }
}

struct Layer {
    q: QMatMul,
    k: QMatMul,
    v: QMatMul,
    o: QMatMul,
    q_norm: RmsNorm,
    k_norm: RmsNorm,
    attn_norm: RmsNorm,
    post_attn_norm: RmsNorm,
    ffn_norm: RmsNorm,
    post_ffn_norm: RmsNorm,
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
    sliding: bool,
    cache: Option<(Tensor, Tensor)>,
}

pub struct Gemma3 {
    embed: QTensor,
    embed_scale: f64,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: QMatMul,
    local_rope: Rope,
    global_rope: Rope,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    window: usize,
    positions: usize,
    /// Positions held in the KV cache (the next token's position).
    filled: usize,
}

impl Gemma3 {
    /// Loads the model with room for `positions` tokens of context.
    pub fn from_gguf<R: std::io::Read + std::io::Seek>(
        content: &gguf_file::Content,
        reader: &mut R,
        positions: usize,
        mode: WeightMode,
        device: &Device,
    ) -> Result<Gemma3> {
        let md = |key: &str| {
            content
                .metadata
                .get(&format!("gemma3.{key}"))
                .ok_or_else(|| candle_core::Error::Msg(format!("no gemma3.{key} in the metadata")))
        };
        let usize_of = |key: &str| -> Result<usize> { Ok(md(key)?.to_u32()? as usize) };
        let heads = usize_of("attention.head_count")?;
        let kv_heads = usize_of("attention.head_count_kv")?;
        let blocks = usize_of("block_count")?;
        let width = usize_of("embedding_length")?;
        let head_dim = usize_of("attention.key_length")?;
        let eps = md("attention.layer_norm_rms_epsilon")?.to_f32()? as f64;
        let window = usize_of("attention.sliding_window")?;
        let pattern = usize_of("attention.sliding_window_type").unwrap_or(DEFAULT_SLIDING_PATTERN);
        let global_base = md("rope.freq_base")
            .and_then(|v| v.to_f32())
            .unwrap_or(DEFAULT_GLOBAL_ROPE_BASE);
        let local_base = md("rope.local_freq_base")
            .and_then(|v| v.to_f32())
            .unwrap_or(DEFAULT_LOCAL_ROPE_BASE);
        if heads % kv_heads != 0 {
            candle_core::bail!("{heads} query heads do not group over {kv_heads} key/value heads");
        }

        let mut tensor = |name: &str| content.tensor(reader, name, device);
        let embed = tensor("token_embd.weight")?;
        // Gemma ties the output head to the embedding table unless the file
        // carries its own.
        let output = match tensor("output.weight") {
            Ok(t) => t,
            Err(_) => tensor("token_embd.weight")?,
        };
        let norm = RmsNorm::from_qtensor(tensor("output_norm.weight")?, eps)?;
        let mut layers = Vec::with_capacity(blocks);
        for i in 0..blocks {
            let mut t = |name: &str| tensor(&format!("blk.{i}.{name}.weight"));
            let mut mat = |name: &str| matmul(t(name)?, mode);
            let (q, k, v, o) = (
                mat("attn_q")?,
                mat("attn_k")?,
                mat("attn_v")?,
                mat("attn_output")?,
            );
            let (gate, up, down) = (mat("ffn_gate")?, mat("ffn_up")?, mat("ffn_down")?);
            let mut t = |name: &str| tensor(&format!("blk.{i}.{name}.weight"));
            let mut rms = |name: &str| RmsNorm::from_qtensor(t(name)?, eps);
            layers.push(Layer {
                q,
                k,
                v,
                o,
                q_norm: rms("attn_q_norm")?,
                k_norm: rms("attn_k_norm")?,
                attn_norm: rms("attn_norm")?,
                post_attn_norm: rms("post_attention_norm")?,
                ffn_norm: rms("ffn_norm")?,
                post_ffn_norm: rms("post_ffw_norm")?,
                gate,
                up,
                down,
                // Every `pattern`-th layer is global; the others slide.
                sliding: (i + 1) % pattern != 0,
                cache: None,
            });
        }
        Ok(Gemma3 {
            embed,
            embed_scale: (width as f64).sqrt(),
            layers,
            norm,
            output: QMatMul::from_qtensor(output)?,
            local_rope: Rope::new(head_dim, local_base, positions, device)?,
            global_rope: Rope::new(head_dim, global_base, positions, device)?,
            heads,
            kv_heads,
            head_dim,
            window,
            positions,
            filled: 0,
        })
    }

    /// Runs `ids` at position `pos` and returns the last position's logits.
    /// `pos` 0 starts a new sequence; any other `pos` must be the next
    /// position of the current one, one token at a time.
    pub fn forward(&mut self, ids: &[u32], pos: usize) -> Result<Tensor> {
        let seq = ids.len();
        if seq == 0 {
            candle_core::bail!("no tokens to run");
        }
        if pos != 0 && (seq != 1 || pos != self.filled) {
            candle_core::bail!(
                "only a prefill at 0 or one token at position {} is supported, not {seq} at {pos}",
                self.filled
            );
        }
        if pos + seq > self.positions {
            candle_core::bail!(
                "position {} is past the context of {}",
                pos + seq,
                self.positions
            );
        }
        let device = self.embed.device();
        let ids_t = Tensor::new(ids, &device)?;
        let mut x = (self.embed.embedding(&ids_t)?.unsqueeze(0)? * self.embed_scale)?;
        let masks = if seq > 1 {
            Some((
                causal_mask(seq, None, &device)?,
                causal_mask(seq, Some(self.window), &device)?,
            ))
        } else {
            None
        };
        for i in 0..self.layers.len() {
            let sliding = self.layers[i].sliding;
            let mask = masks.as_ref().map(|(g, l)| if sliding { l } else { g });
            let layer = &self.layers[i];
            let h = layer.attn_norm.forward(&x)?;
            let h = self.attention(i, &h, pos, mask)?;
            let layer = &self.layers[i];
            x = (layer.post_attn_norm.forward(&h)? + x)?;
            let h = layer.ffn_norm.forward(&x)?;
            // GEGLU: tanh-approximated GELU on the gate, as Gemma 3 defines it.
            let h = (layer.gate.forward(&h)?.gelu()? * layer.up.forward(&h)?)?;
            let h = layer.down.forward(&h)?;
            x = (layer.post_ffn_norm.forward(&h)? + x)?;
        }
        self.filled = pos + seq;
        let last = x.i((.., seq - 1, ..))?;
        self.output.forward(&self.norm.forward(&last)?)?.squeeze(0)
    }

    fn attention(
        &mut self,
        i: usize,
        x: &Tensor,
        pos: usize,
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let (heads, kv_heads, d) = (self.heads, self.kv_heads, self.head_dim);
        let rope = if self.layers[i].sliding {
            &self.local_rope
        } else {
            &self.global_rope
        };
        let layer = &self.layers[i];
        let seq = x.dim(1)?;
        let split = |t: Tensor, n: usize| t.reshape((1, seq, n, d))?.transpose(1, 2)?.contiguous();
        let q = layer.q_norm.forward(&split(layer.q.forward(x)?, heads)?)?;
        let k = layer
            .k_norm
            .forward(&split(layer.k.forward(x)?, kv_heads)?)?;
        let v = split(layer.v.forward(x)?, kv_heads)?;
        let q = rope.apply(&q, pos)?;
        let k = rope.apply(&k, pos)?;
        let (k, v) = match (&layer.cache, pos) {
            (Some((kc, vc)), p) if p > 0 => {
                (Tensor::cat(&[kc, &k], 2)?, Tensor::cat(&[vc, &v], 2)?)
            }
            _ => (k, v),
        };
        // A decode step on a sliding layer sees the last `window` keys, its
        // own included (llama.cpp masks once p - p0 >= window).
        let (k, v) = if seq == 1 && layer.sliding && k.dim(2)? > self.window {
            let n = k.dim(2)?;
            (
                k.narrow(2, n - self.window, self.window)?,
                v.narrow(2, n - self.window, self.window)?,
            )
        } else {
            (k, v)
        };
        let keys = k.dim(2)?;
        // Query heads sharing a key/value head are stacked along the
        // sequence axis, so one matmul per group serves them all.
        let group = heads / kv_heads;
        let qg = q.reshape((1, kv_heads, group * seq, d))?;
        let scores = (qg.matmul(&k.t()?.contiguous()?)? / (d as f64).sqrt())?;
        let scores = scores.reshape((1, heads, seq, keys))?;
        let scores = match mask {
            Some(m) => scores.broadcast_add(m)?,
            None => scores,
        };
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = weights
            .reshape((1, kv_heads, group * seq, keys))?
            .matmul(&v)?
            .reshape((1, heads, seq, d))?
            .transpose(1, 2)?
            .reshape((1, seq, heads * d))?;
        let out = layer.o.forward(&out)?;
        // Sliding layers never look further back than `window` keys, so the
        // cache keeps only those.
        let keep = if layer.sliding {
            keys.min(self.window)
        } else {
            keys
        };
        let cache = (
            k.narrow(2, keys - keep, keep)?,
            v.narrow(2, keys - keep, keep)?,
        );
        self.layers[i].cache = Some(cache);
        Ok(out)
    }
}

fn matmul(t: QTensor, mode: WeightMode) -> Result<QMatMul> {
    if mode == WeightMode::Q5ToF32 && t.dtype() == GgmlDType::Q5_0 {
        return Ok(QMatMul::Tensor(t.dequantize(&t.device())?));
    }
    QMatMul::from_qtensor(t)
}

/// Additive mask for a prefill of `seq` tokens: query `i` sees keys `j <= i`,
/// and with a window only those with `i - j < window`.
fn causal_mask(seq: usize, window: Option<usize>, device: &Device) -> Result<Tensor> {
    let w = window.unwrap_or(usize::MAX);
    let values: Vec<f32> = (0..seq)
        .flat_map(|i| {
            (0..seq).map(move |j| {
                if j > i || i - j >= w {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
        })
        .collect();
    Tensor::from_vec(values, (seq, seq), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mask and, per query row, how many keys it admits.
    fn mask(seq: usize, window: Option<usize>) -> (Vec<Vec<f32>>, Vec<usize>) {
        let m = causal_mask(seq, window, &Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let seen = m
            .iter()
            .map(|r| r.iter().filter(|v| **v == 0.0).count())
            .collect();
        (m, seen)
    }

    #[test]
    fn sliding_mask_admits_exactly_window_keys() {
        let (m, seen) = mask(6, Some(3));
        assert_eq!(seen, vec![1, 2, 3, 3, 3, 3]);
        assert_eq!(m[5][2], f32::NEG_INFINITY);
        assert_eq!(m[5][3], 0.0);
        assert_eq!(m[1][2], f32::NEG_INFINITY);
    }

    #[test]
    fn global_mask_is_causal() {
        let (_, seen) = mask(4, None);
        assert_eq!(seen, vec![1, 2, 3, 4]);
    }
}
