//! all-MiniLM-L6-v2's tensors read from its safetensors file into the
//! encoder's layout: Q, K and V fused into one `[3·hidden × hidden]` layer
//! (one GEMM instead of three), every linear packed for its kernel path.

use std::{fs, path::Path};

use safetensors::{Dtype, SafeTensors};

use super::{linear::Linear, KernelPath};

/// The shape the encoder needs from `config.json`.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub vocab: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub max_positions: usize,
    pub eps: f32,
}

pub struct Layer {
    pub qkv: Linear,
    pub attn_out: Linear,
    pub attn_norm: (Vec<f32>, Vec<f32>),
    pub up: Linear,
    pub down: Linear,
    pub out_norm: (Vec<f32>, Vec<f32>),
}

pub struct Weights {
    pub words: Vec<f32>,
    pub positions: Vec<f32>,
    /// Token type 0's row: sentence encoders feed one segment.
    pub segment: Vec<f32>,
    pub embed_norm: (Vec<f32>, Vec<f32>),
    pub layers: Vec<Layer>,
}

pub fn load(file: &Path, shape: &Shape, path: KernelPath) -> Result<Weights, String> {
    let bytes = fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| format!("{} is not valid safetensors: {e}", file.display()))?;
    let get = |name: &str, want: &[usize]| -> Result<Vec<f32>, String> {
        let t = st
            .tensor(name)
            .or_else(|_| st.tensor(&format!("bert.{name}")))
            .map_err(|_| format!("{} has no tensor {name}", file.display()))?;
        if t.dtype() != Dtype::F32 || t.shape() != want {
            return Err(format!(
                "{name} is {:?} {:?}, expected F32 {want:?}",
                t.dtype(),
                t.shape()
            ));
        }
        Ok(t.data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    };
    let (h, i) = (shape.hidden, shape.intermediate);
    let norm = |prefix: &str| -> Result<(Vec<f32>, Vec<f32>), String> {
        Ok((
            get(&format!("{prefix}.LayerNorm.weight"), &[h])?,
            get(&format!("{prefix}.LayerNorm.bias"), &[h])?,
        ))
    };
    let linear = |name: &str, n: usize, k: usize| -> Result<Linear, String> {
        Ok(Linear::new(
            path,
            get(&format!("{name}.weight"), &[n, k])?,
            get(&format!("{name}.bias"), &[n])?,
            n,
            k,
        ))
    };
    let mut layers = Vec::with_capacity(shape.layers);
    for l in 0..shape.layers {
        let p = format!("encoder.layer.{l}");
        let mut w = Vec::with_capacity(3 * h * h);
        let mut b = Vec::with_capacity(3 * h);
        for part in ["query", "key", "value"] {
            w.extend(get(&format!("{p}.attention.self.{part}.weight"), &[h, h])?);
            b.extend(get(&format!("{p}.attention.self.{part}.bias"), &[h])?);
        }
        layers.push(Layer {
            qkv: Linear::new(path, w, b, 3 * h, h),
            attn_out: linear(&format!("{p}.attention.output.dense"), h, h)?,
            attn_norm: norm(&format!("{p}.attention.output"))?,
            up: linear(&format!("{p}.intermediate.dense"), i, h)?,
            down: linear(&format!("{p}.output.dense"), h, i)?,
            out_norm: norm(&format!("{p}.output"))?,
        });
    }
    let types = get("embeddings.token_type_embeddings.weight", &[2, h])?;
    Ok(Weights {
        words: get("embeddings.word_embeddings.weight", &[shape.vocab, h])?,
        positions: get(
            "embeddings.position_embeddings.weight",
            &[shape.max_positions, h],
        )?,
        segment: types[..h].to_vec(),
        embed_norm: norm("embeddings")?,
        layers,
    })
}
