//! The stack's own sentence encoder for all-MiniLM-L6-v2 (BERT): no
//! padding anywhere (the sequences of a batch are concatenated token rows;
//! attention runs per sequence), fused Q/K/V, fused attention per sequence
//! and head, vectorised GELU and layer norm, buffers reused across layers,
//! and the linears on the fastest kernels the CPU runs: bf16 on AMX tiles,
//! else bf16 AVX-512 dot products, else f32 GEMM (`KernelPath`). Both cores
//! work on every step.
//!
//! It replaces candle's `BertModel` as the default engine; candle stays as
//! the reference engine beside it (see `embed::model`).

mod amx_gemm;
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

/// Which kernels run the linear layers, fastest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelPath {
    /// Weights and activations rounded to bf16, products summed in f32 on
    /// the AMX tiles (`tdpbf16ps`); needs AMX-BF16 and Linux's grant of
    /// the tile state.
    AmxBf16,
    /// Weights and activations rounded to bf16, products summed in f32
    /// (`vdpbf16ps`).
    Bf16Avx512,
    /// f32 throughout (the `gemm` crate's kernels).
    F32,
}

impl KernelPath {
    /// Every path, fastest first: `detect` takes the first this CPU runs.
    pub const TIERS: [KernelPath; 3] =
        [KernelPath::AmxBf16, KernelPath::Bf16Avx512, KernelPath::F32];

    /// The fastest path this CPU runs.
    pub fn detect() -> KernelPath {
        KernelPath::TIERS
            .into_iter()
            .find(|path| path.runs())
            .unwrap_or(KernelPath::F32)
    }

    /// Whether this CPU (and, for AMX, Linux) runs the path.
    fn runs(self) -> bool {
        match self {
            KernelPath::AmxBf16 => amx_gemm::supported(),
            KernelPath::Bf16Avx512 => bf16_gemm::supported(),
            KernelPath::F32 => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.kernel().as_str()
    }

    /// The plan's name of this path.
    pub fn kernel(self) -> Kernel {
        match self {
            KernelPath::AmxBf16 => Kernel::AmxBf16,
            KernelPath::Bf16Avx512 => Kernel::Bf16Avx512,
            KernelPath::F32 => Kernel::F32,
        }
    }

    /// The path the plan's kernel names on this CPU: `auto` is the
    /// fastest it runs; a path it cannot run is an error saying which
    /// ones it can.
    pub fn of(kernel: Kernel) -> Result<KernelPath, String> {
        let instead = if bf16_gemm::supported() {
            "use `auto`, `bf16-avx512` or `f32`"
        } else {
            "use `auto` or `f32`"
        };
        match kernel {
            Kernel::Auto => Ok(KernelPath::detect()),
            Kernel::F32 => Ok(KernelPath::F32),
            Kernel::Bf16Avx512 if bf16_gemm::supported() => Ok(KernelPath::Bf16Avx512),
            Kernel::Bf16Avx512 => Err(format!("this CPU has no AVX-512 BF16: {instead}")),
            Kernel::AmxBf16 => match amx_gemm::availability() {
                Ok(()) => Ok(KernelPath::AmxBf16),
                Err(why) => Err(format!("{why}: {instead}")),
            },
        }
    }
}

/// Tokens per forward pass: sequences are grouped up to this many, so the
/// activations (about 10 KiB a token) stay within the caches.
const TOKEN_BUDGET: usize = 1024;

/// Elements per GELU task. GELU is element-wise, so it splits by elements,
/// not rows: a query of a dozen tokens (18k values) still gives both
/// workers a share. Split by 32 rows it ran on one thread, and the GEMM
/// after it took over twice as long (on the 2-vCPU VM with AMX: 6 layers'
/// `down` 0.54 ms instead of 0.23-0.29, a query's forward 1.5 ms instead
/// of 1.0-1.1).
const GELU_CHUNK: usize = 4096;

pub struct NativeEncoder {
    shape: Shape,
    weights: Weights,
    path: KernelPath,
    kept: std::sync::Mutex<Workspace>,
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
            kept: Default::default(),
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
        // The encoder's buffers are reused from one call to the next
        // (fresh ones were zeroed and faulted in again on every query);
        // kept by the encoder, not per thread, so which worker serves a
        // call changes nothing. A call while another holds them (encodes
        // from several threads at once) works in buffers of its own.
        match self.kept.try_lock() {
            Ok(mut ws) => self.encode_with(seqs, &mut ws),
            Err(_) => self.encode_with(seqs, &mut Workspace::default()),
        }
    }

    fn encode_with(&self, seqs: &[&[u32]], ws: &mut Workspace) -> Vec<Vec<f32>> {
        let mut out = Vec::with_capacity(seqs.len());
        let mut start = 0;
        while start < seqs.len() {
            let mut end = start + 1;
            let mut tokens = seqs[start].len();
            while end < seqs.len() && tokens + seqs[end].len() <= TOKEN_BUDGET {
                tokens += seqs[end].len();
                end += 1;
            }
            out.extend(self.forward(&seqs[start..end], ws));
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
        ws.x.reserve_exact(t * h);
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
            fit(&mut ws.qkv, t * 3 * h);
            layer.qkv.forward(&ws.x, t, &mut ws.qkv, &mut ws.pairs);
            fit(&mut ws.ctx, t * h);
            attention::attention(&ws.qkv, &spans, h, &mut ws.ctx);
            fit(&mut ws.tmp, t * h);
            layer
                .attn_out
                .forward(&ws.ctx, t, &mut ws.tmp, &mut ws.pairs);
            let (g, b) = &layer.attn_norm;
            ws.x.par_chunks_mut(rows)
                .zip(ws.tmp.par_chunks(rows))
                .for_each(|(x, r)| simd::add_layer_norm(x, r, g, b, s.eps));
            let i = layer.up.out_features();
            fit(&mut ws.up, t * i);
            layer.up.forward(&ws.x, t, &mut ws.up, &mut ws.pairs);
            ws.up.par_chunks_mut(GELU_CHUNK).for_each(simd::gelu);
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

/// `v` at length `len`, its allocation grown to exactly that when short:
/// kept buffers grow once per larger batch, and `resize`'s doubling
/// allocated up to twice what the batch needs (a batch of 50 sentences
/// after one of 32: +32% bytes allocated).
fn fit<T: Clone + Default>(v: &mut Vec<T>, len: usize) {
    if v.capacity() < len {
        v.reserve_exact(len - v.len());
    }
    v.resize(len, T::default());
}

/// For the tiers' tests (the kernels' own and `tests/parity.rs`): whether
/// this CPU runs `path`; `built_without` is the tier's cfg that `build.rs`
/// sets where the machine that built the tests lacks it (`no_amx`,
/// `no_avx512_bf16`), and those tests are then ignored, which the summary
/// shows. Run anyway (`--include-ignored`) on such a CPU, this checks what
/// a user meets instead (the plan's kernel refused, saying what to use;
/// `auto` on the next tier down), says so, and returns false. A build that
/// found the tier, running where it is missing, fails: the tests were
/// built on another machine.
pub fn tier_runs(path: KernelPath, built_without: bool) -> bool {
    match KernelPath::of(path.kernel()) {
        Ok(got) => {
            assert_eq!(got, path);
            if built_without {
                eprintln!(
                    "note: build.rs found no `{}` where these tests were built, but this CPU runs it: testing it",
                    path.as_str()
                );
            }
            true
        }
        Err(why) => {
            assert!(
                built_without,
                "these tests were built where `{}` runs, but here: {why}; rebuild them on this machine",
                path.as_str()
            );
            assert!(why.contains(": use `auto`"), "{why}");
            let below = KernelPath::TIERS
                .into_iter()
                .skip_while(|&p| p != path)
                .skip(1)
                .find(|p| p.runs())
                .expect("f32 always runs");
            assert_eq!(KernelPath::detect(), below);
            eprintln!(
                "checked instead: kernel `{}` is refused ({why}) and `auto` runs {}",
                path.as_str(),
                below.as_str()
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan's kernel names a path; a path the CPU lacks is refused
    /// saying what to use instead, never run as another unsaid.
    #[test]
    fn the_plans_kernel_names_a_path_this_cpu_runs() {
        assert_eq!(KernelPath::of(Kernel::F32), Ok(KernelPath::F32));
        assert_eq!(KernelPath::of(Kernel::Auto), Ok(KernelPath::detect()));
        for path in KernelPath::TIERS {
            assert_eq!(path.as_str(), path.kernel().as_str());
            match KernelPath::of(path.kernel()) {
                Ok(got) => {
                    assert!(path.runs());
                    assert_eq!(got, path);
                }
                Err(why) => {
                    assert!(!path.runs());
                    assert!(why.contains("use `auto`"), "{why}");
                    assert!(why.contains("`f32`"), "{why}");
                    assert!(!why.contains(path.as_str()), "{why}");
                }
            }
        }
        // `auto` is the first tier that runs, so nothing faster is left.
        let auto = KernelPath::detect();
        assert!(auto.runs());
        for path in KernelPath::TIERS.into_iter().take_while(|&p| p != auto) {
            assert!(!path.runs(), "{path:?} runs but auto is {auto:?}");
        }
        // AMX's tiles take bf16 from the AVX-512 conversion.
        assert!(!amx_gemm::supported() || bf16_gemm::supported());
    }
}
