//! The reference embedding engine: candle's `BertModel` on a batch padded
//! to its longest member, masked mean pooling, L2 normalisation. It was
//! the stack's engine before `embed::native`, and stays beside it so the
//! baseline shows both and the parity of one against the other.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

use crate::{embed::provision::ModelFiles, error::WorkloadError};

pub struct CandleBert {
    model: BertModel,
    device: Device,
}

impl CandleBert {
    pub fn load(files: &ModelFiles, config: &Config) -> Result<CandleBert, String> {
        let device = Device::Cpu;
        // SAFETY: the weights file is not modified while mapped; it lives in
        // a cache folder that only provisioning writes, before this point.
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(&[&files.weights], DType::F32, &device)
                .map_err(|e| format!("{} is not valid safetensors: {e}", files.weights.display()))?
        };
        let model = BertModel::load(vb, config)
            .map_err(|e| format!("weights do not match the BERT config: {e}"))?;
        Ok(CandleBert { model, device })
    }

    /// One unit vector per token sequence.
    pub fn forward(&self, seqs: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, WorkloadError> {
        let len = seqs.iter().map(Vec::len).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(seqs.len() * len);
        let mut mask = Vec::with_capacity(seqs.len() * len);
        for seq in seqs {
            ids.extend_from_slice(seq);
            ids.extend(std::iter::repeat_n(0u32, len - seq.len()));
            mask.extend(std::iter::repeat_n(1u32, seq.len()));
            mask.extend(std::iter::repeat_n(0u32, len - seq.len()));
        }
        let shape = (seqs.len(), len);
        let ids = Tensor::from_vec(ids, shape, &self.device)?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        let type_ids = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &type_ids, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
        let unit = mean.broadcast_div(&norm)?;
        Ok(unit.to_vec2::<f32>()?)
    }
}
