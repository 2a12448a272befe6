//! A linear layer `y = x·Wᵀ + b` on the kernel path chosen at load: bf16
//! tiles (AMX), bf16 panels (AVX-512 BF16) or f32 through the `gemm` crate.

use super::{
    amx_gemm::{self, PackedAmx},
    bf16_gemm::{self, PackedBf16},
    KernelPath,
};

enum Weights {
    Amx(PackedAmx),
    Bf16(PackedBf16),
    /// `[n × k]`, PyTorch's `out × in`.
    F32(Vec<f32>),
}

pub struct Linear {
    weights: Weights,
    bias: Vec<f32>,
    n: usize,
    k: usize,
}

impl Linear {
    /// `w` is `[n × k]`.
    pub fn new(path: KernelPath, w: Vec<f32>, bias: Vec<f32>, n: usize, k: usize) -> Linear {
        assert_eq!(w.len(), n * k);
        assert_eq!(bias.len(), n);
        let weights = match path {
            KernelPath::AmxBf16 => Weights::Amx(PackedAmx::pack(&w, n, k)),
            KernelPath::Bf16Avx512 => Weights::Bf16(PackedBf16::pack(&w, n, k)),
            KernelPath::F32 => Weights::F32(w),
        };
        Linear {
            weights,
            bias,
            n,
            k,
        }
    }

    pub fn out_features(&self) -> usize {
        self.n
    }

    /// `y[m × n] = x[m × k]·Wᵀ + b`; `scratch` holds bf16 inputs between calls.
    pub fn forward(&self, x: &[f32], m: usize, y: &mut [f32], scratch: &mut Vec<u32>) {
        let (n, k) = (self.n, self.k);
        assert_eq!(x.len(), m * k);
        assert_eq!(y.len(), m * n);
        match &self.weights {
            Weights::Amx(packed) => amx_gemm::matmul(x, m, packed, &self.bias, y, scratch),
            Weights::Bf16(packed) => bf16_gemm::matmul(x, m, packed, &self.bias, y, scratch),
            Weights::F32(w) => {
                for row in y.chunks_exact_mut(n) {
                    row.copy_from_slice(&self.bias);
                }
                // SAFETY: the shapes and strides describe `x` (m×k, row
                // major), Wᵀ (k×n: element (k, n) at w[n·K + k]) and `y`
                // (m×n, row major), all checked above.
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        y.as_mut_ptr(),
                        1,
                        n as isize,
                        true,
                        x.as_ptr(),
                        1,
                        k as isize,
                        w.as_ptr(),
                        k as isize,
                        1,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::Rayon(rayon::current_num_threads()),
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path this CPU runs computes the f32 layer: m below one tile,
    /// one tile and a row, several tiles with a ragged last one, and
    /// past a task's rows; n spanning a partial column group.
    #[test]
    fn both_paths_compute_the_same_layer() {
        let (n, k) = (96, 128);
        let paths: Vec<KernelPath> = KernelPath::TIERS.into_iter().filter(|p| p.runs()).collect();
        eprintln!("paths: {paths:?}");
        for m in [1, 7, 17, 40, 150] {
            let x: Vec<f32> = (0..m * k)
                .map(|i| ((i * 13 % 17) as f32 - 8.0) / 8.0)
                .collect();
            let w: Vec<f32> = (0..n * k)
                .map(|i| ((i * 7 % 23) as f32 - 11.0) / 23.0)
                .collect();
            let b: Vec<f32> = (0..n).map(|j| j as f32).collect();
            let want: Vec<f32> = (0..m * n)
                .map(|at| {
                    let (i, j) = (at / n, at % n);
                    b[j] + (0..k).map(|t| x[i * k + t] * w[j * k + t]).sum::<f32>()
                })
                .collect();
            for &path in &paths {
                let layer = Linear::new(path, w.clone(), b.clone(), n, k);
                // NaN first, so a row the kernel fails to write shows.
                let mut y = vec![f32::NAN; m * n];
                // Scratch as a larger earlier call left it: used uncleared.
                let mut scratch = vec![u32::MAX; 3 * k * 64];
                layer.forward(&x, m, &mut y, &mut scratch);
                let tol = if path == KernelPath::F32 { 1e-4 } else { 5e-2 };
                for (at, (got, want)) in y.iter().zip(&want).enumerate() {
                    assert!(
                        (got - want).abs() <= tol * want.abs().max(1.0),
                        "{path:?} m {m} at {at}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
