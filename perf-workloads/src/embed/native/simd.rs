//! Element-wise kernels written as plain loops and compiled once per
//! `cpu_dispatch::Level` (AVX-512, AVX2+FMA, baseline), chosen at run time.
//!
//! The loops avoid library calls (`expf`, `erff`), so LLVM vectorises them
//! 16 lanes wide inside the AVX-512 copy; candle's GELU called scalar
//! `erff` per element, 12.8% of the embedding profile.

pub(crate) use crate::cpu_dispatch::simd_dispatch;

/// `eˣ`, relative error below 2e-7 on the range softmax and erf use:
/// `x = k·ln2 + r`, a degree-6 polynomial for `eʳ`, `2ᵏ` put in the
/// exponent bits. No branches, so it vectorises.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    let k = (x * LOG2E + 0.5).floor();
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // 2ᵏ from float arithmetic alone: adding 2²³ + 127 leaves k + 127 in
    // the low mantissa bits, which the shift moves into the exponent (the
    // bits above it fall off). `k as i32` is Rust's saturating conversion,
    // which LLVM compiled lane by lane: GELU ran 3× slower with it (2.0 ns
    // a value against 0.66 on a 2-core Xeon, family 6 model 167).
    p * f32::from_bits((k + (127.0 + 8_388_608.0)).to_bits() << 23)
}

/// `erf(x)`, absolute error below 2e-7 (Abramowitz and Stegun 7.1.26).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

simd_dispatch! {
    /// BERT's GELU, `x·(1 + erf(x/√2))/2`, in place.
    pub fn gelu(xs: &mut [f32]) {
        for x in xs.iter_mut() {
            *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
        }
    }
}

simd_dispatch! {
    /// `x = layer_norm(x + residual)` row by row (rows of `gamma.len()`).
    pub fn add_layer_norm(x: &mut [f32], residual: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
        let d = gamma.len();
        for (row, res) in x.chunks_exact_mut(d).zip(residual.chunks_exact(d)) {
            for (v, r) in row.iter_mut().zip(res) {
                *v += *r;
            }
            norm_row(row, gamma, beta, eps);
        }
    }
}

simd_dispatch! {
    /// `x = layer_norm(x)` row by row.
    pub fn layer_norm(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
        for row in x.chunks_exact_mut(gamma.len()) {
            norm_row(row, gamma, beta, eps);
        }
    }
}

#[inline(always)]
fn norm_row(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let d = row.len() as f32;
    let mean = lane_sum(row, |v| v) / d;
    let var = lane_sum(row, |v| (v - mean) * (v - mean)) / d;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

/// `Σ f(x)` over 16 running lanes: a sum in one running total is a chain
/// LLVM may not reorder, so it would not vectorise.
#[inline(always)]
pub fn lane_sum(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0f32; 16];
    let mut chunks = xs.chunks_exact(16);
    for chunk in &mut chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane += f(*x);
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|x| f(*x)).sum();
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_erf_match_the_standard_library() {
        for i in -2000..=2000 {
            let x = i as f32 / 100.0;
            let (got, want) = (exp(x), x.exp());
            assert!(
                (got - want).abs() <= 3e-7 * want,
                "exp({x}): {got} vs {want}"
            );
        }
        // erf from its own series, to f64 precision, at a few points.
        let erf64 = |x: f64| {
            let mut sum = 0.0;
            let mut term = x;
            for n in 0..60 {
                sum += term / (2 * n + 1) as f64;
                term *= -x * x / (n + 1) as f64;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        };
        for i in -300..=300 {
            let x = i as f32 / 100.0;
            let want = erf64(x as f64) as f32;
            assert!(
                (erf(x) - want).abs() < 5e-7,
                "erf({x}): {} vs {want}",
                erf(x)
            );
        }
    }

    #[test]
    fn layer_norm_centres_and_scales() {
        let mut x = vec![1.0, 2.0, 3.0, 4.0];
        let res = vec![0.0; 4];
        add_layer_norm(&mut x, &res, &[1.0; 4], &[0.5; 4], 1e-12);
        let mean: f32 = x.iter().sum::<f32>() / 4.0;
        assert!((mean - 0.5).abs() < 1e-6, "{x:?}");
        let var: f32 = x.iter().map(|v| (v - 0.5).powi(2)).sum::<f32>() / 4.0;
        assert!((var - 1.0).abs() < 1e-5, "{x:?}");
    }
}
