//! IEEE half precision (f16) for an HNSW graph that stores its vectors as
//! f16: the dot kernel it ranks by, and the f32 → f16 rounding of the
//! vectors and queries handed to it; and the f16 × f32 kernel of the exact
//! scan's screening pass (`screened_scan.rs`).
//!
//! Why f16 storage: a search's time goes to loading the vectors of the
//! nodes it visits (the profile put most of a search in the dot kernel,
//! waiting on loads; usearch's Rust build prefetches nothing, and a
//! patched usearch that prefetched every candidate's vector measured no
//! faster). Half the bytes per vector is half the traffic. f16 keeps 11
//! significant bits, so a MiniLM similarity moves by about 1e-4 at most:
//! the recall figures show whether that ever changes a ranking.
//!
//! Why we round the queries ourselves: usearch casts an f32 query to the
//! storage type one element at a time, which was 8% of a search at
//! ef = 16. Sums stay f32 either way.

/// A dot product of two f16 vectors given as bit patterns, summed in f32.
pub type DotF16 = fn(&[u16], &[u16]) -> f32;

/// A dot product of an f16 vector (bit patterns) with an f32 vector,
/// summed in f32: the exact scan's screening pass (`screened_scan.rs`),
/// which rounds only its stored rows, never the query.
pub type DotF16F32 = fn(&[u16], &[f32]) -> f32;

/// The fastest f16 dot product this CPU runs, chosen once: the metric
/// usearch calls for every distance then skips the feature check.
pub fn dot_f16_kernel() -> DotF16 {
    kernel::<u16>()
}

/// The fastest f16 × f32 dot product this CPU runs, chosen once.
pub fn dot_f16_f32_kernel() -> DotF16F32 {
    kernel::<f32>()
}

/// What the right-hand side of an f16 dot product may hold: f16 bit
/// patterns, converted with `vcvtph2ps` as they load, or f32. One kernel
/// body per instruction set serves both.
trait Operand: Copy {
    fn to_f32(self) -> f32;

    /// 8 elements from `p` as f32.
    /// SAFETY: `p..p + 8` is readable and the CPU has AVX and F16C.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load8(p: *const Self) -> std::arch::x86_64::__m256;

    /// 16 elements from `p` as f32.
    /// SAFETY: `p..p + 16` is readable and the CPU has AVX-512F.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load16(p: *const Self) -> std::arch::x86_64::__m512;
}

// The loads are `inline(always)` into kernels that enable the features,
// where the intrinsics then inline too.
impl Operand for u16 {
    fn to_f32(self) -> f32 {
        f16_to_f32(self)
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(p: *const u16) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        // SAFETY: as the trait says.
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast::<__m128i>())) }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load16(p: *const u16) -> std::arch::x86_64::__m512 {
        use std::arch::x86_64::*;
        // SAFETY: as the trait says.
        unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(p.cast::<__m256i>())) }
    }
}

impl Operand for f32 {
    fn to_f32(self) -> f32 {
        self
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(p: *const f32) -> std::arch::x86_64::__m256 {
        // SAFETY: as the trait says.
        unsafe { std::arch::x86_64::_mm256_loadu_ps(p) }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load16(p: *const f32) -> std::arch::x86_64::__m512 {
        // SAFETY: as the trait says.
        unsafe { std::arch::x86_64::_mm512_loadu_ps(p) }
    }
}

/// An f16 dot product with a right-hand side of `B`.
type Dot<B> = fn(&[u16], &[B]) -> f32;

fn kernel<B: Operand>() -> Dot<B> {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::cpu_dispatch::{level, Level};
        match level() {
            Level::Avx512 => return dot_avx512_checked::<B>,
            Level::Avx2 => return dot_avx2_checked::<B>,
            Level::Baseline => {}
        }
    }
    dot_scalar::<B>
}

fn dot_scalar<B: Operand>(a: &[u16], b: &[B]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f16_to_f32(x) * y.to_f32())
        .sum()
}

/// Only ever handed out by [`kernel`] after the CPU check.
#[cfg(target_arch = "x86_64")]
fn dot_avx512_checked<B: Operand>(a: &[u16], b: &[B]) -> f32 {
    // SAFETY: reachable only through `kernel`, which returns it when the
    // CPU has AVX-512F.
    unsafe { dot_avx512(a, b) }
}

/// 64 elements a step in four independent 16-lane chains.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn dot_avx512<B: Operand>(a: &[u16], b: &[B]) -> f32 {
    use std::arch::x86_64::*;
    const STEP: usize = 64;
    let n = a.len().min(b.len());
    let split = n - n % STEP;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm512_setzero_ps(); 4];
    let mut i = 0;
    while i < split {
        for (j, sum) in acc.iter_mut().enumerate() {
            let off = i + 16 * j;
            // SAFETY: off + 16 <= split <= n for both slices; AVX-512F is on.
            let (x, y) = unsafe { (u16::load16(pa.add(off)), B::load16(pb.add(off))) };
            *sum = _mm512_fmadd_ps(x, y, *sum);
        }
        i += STEP;
    }
    let total = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
    let mut sum = _mm512_reduce_add_ps(total);
    for k in split..n {
        sum += f16_to_f32(a[k]) * b[k].to_f32();
    }
    sum
}

/// Only ever handed out by [`kernel`] after the CPU check.
#[cfg(target_arch = "x86_64")]
fn dot_avx2_checked<B: Operand>(a: &[u16], b: &[B]) -> f32 {
    // SAFETY: reachable only through `kernel`, which returns it when the
    // CPU has AVX2, FMA and F16C.
    unsafe { dot_avx2(a, b) }
}

/// The same in 8-lane registers (x86-64-v3: Haswell, Zen 1-3): 32
/// elements a step in four chains, `vcvtph2ps` from F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_avx2<B: Operand>(a: &[u16], b: &[B]) -> f32 {
    use std::arch::x86_64::*;
    const STEP: usize = 32;
    let n = a.len().min(b.len());
    let split = n - n % STEP;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i < split {
        for (j, sum) in acc.iter_mut().enumerate() {
            let off = i + 8 * j;
            // SAFETY: off + 8 <= split <= n for both slices; AVX and F16C are on.
            let (x, y) = unsafe { (u16::load8(pa.add(off)), B::load8(pb.add(off))) };
            *sum = _mm256_fmadd_ps(x, y, *sum);
        }
        i += STEP;
    }
    let total = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let half = _mm_add_ps(
        _mm256_castps256_ps128(total),
        _mm256_extractf128_ps::<1>(total),
    );
    let pairs = _mm_add_ps(half, _mm_movehl_ps(half, half));
    let mut sum = _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps::<1>(pairs, pairs)));
    for k in split..n {
        sum += f16_to_f32(a[k]) * b[k].to_f32();
    }
    sum
}

/// `src` rounded to f16 (to nearest, ties to even), as bit patterns.
pub fn to_f16_bits(src: &[f32]) -> Vec<u16> {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::cpu_dispatch::{level, Level};
        match level() {
            // SAFETY: the CPU has AVX-512F.
            Level::Avx512 => return unsafe { to_f16_avx512(src) },
            // SAFETY: the CPU has F16C (part of the Avx2 level).
            Level::Avx2 => return unsafe { to_f16_f16c(src) },
            Level::Baseline => {}
        }
    }
    src.iter().map(|&x| f32_to_f16(x)).collect()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
unsafe fn to_f16_f16c(src: &[f32]) -> Vec<u16> {
    use std::arch::x86_64::*;
    let mut out = vec![0u16; src.len()];
    let split = src.len() - src.len() % 8;
    for i in (0..split).step_by(8) {
        // SAFETY: i + 8 <= split <= len of both; unaligned load and store.
        unsafe {
            let v = _mm256_loadu_ps(src.as_ptr().add(i));
            let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
            _mm_storeu_si128(out.as_mut_ptr().add(i).cast::<__m128i>(), h);
        }
    }
    for i in split..src.len() {
        out[i] = f32_to_f16(src[i]);
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn to_f16_avx512(src: &[f32]) -> Vec<u16> {
    use std::arch::x86_64::*;
    let mut out = vec![0u16; src.len()];
    let split = src.len() - src.len() % 16;
    for i in (0..split).step_by(16) {
        // SAFETY: i + 16 <= split <= len of both; unaligned load and store.
        unsafe {
            let v = _mm512_loadu_ps(src.as_ptr().add(i));
            let h = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
            _mm256_storeu_si256(out.as_mut_ptr().add(i).cast::<__m256i>(), h);
        }
    }
    for i in split..src.len() {
        out[i] = f32_to_f16(src[i]);
    }
    out
}

/// One f32 rounded to f16 (to nearest, ties to even; too large becomes
/// infinity, too small a subnormal or zero), as its bit pattern.
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let mant = bits & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if mant != 0 { 0x200 } else { 0 };
    }
    // Rounds `value >> shift` to nearest, ties to even.
    let round = |value: u32, shift: u32| {
        let kept = value >> shift;
        let rest = value & ((1 << shift) - 1);
        let halfway = 1 << (shift - 1);
        kept + u32::from(rest > halfway || (rest == halfway && kept & 1 == 1))
    };
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        // A subnormal f16 holds value * 2^24; the f32's implicit 1 joins.
        return sign | round(mant | 0x80_0000, (14 - e) as u32) as u16;
    }
    // A carry out of the mantissa bumps the exponent, up to infinity.
    sign | round(((e as u32) << 23) | mant, 13) as u16
}

/// One f16 bit pattern as f32 (normal, subnormal, zero, infinity, NaN).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let mant = (h & 0x03ff) as u32;
    let bits = match (exp, mant) {
        (0, 0) => sign,
        // Subnormal: mant * 2^-24, exactly representable in f32.
        (0, m) => {
            let v = m as f32 * f32::powi(2.0, -24);
            return if sign == 0 { v } else { -v };
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel this CPU can run for right-hand sides of `B`, not only
    /// the one it would pick, so an AVX-512 machine also tests the AVX2 one.
    fn kernels<B: Operand>() -> Vec<(&'static str, Dot<B>)> {
        let mut all: Vec<(&'static str, Dot<B>)> = vec![("scalar", dot_scalar::<B>)];
        #[cfg(target_arch = "x86_64")]
        {
            if ["avx2", "fma", "f16c"].iter().all(|f| detected(f)) {
                all.push(("avx2", dot_avx2_checked::<B>));
            }
            if crate::cpu_dispatch::avx512() {
                all.push(("avx512", dot_avx512_checked::<B>));
            }
        }
        all.push(("dispatched", kernel::<B>()));
        all
    }

    fn dot_kernels() -> Vec<(&'static str, DotF16)> {
        kernels::<u16>()
    }

    fn mixed_kernels() -> Vec<(&'static str, DotF16F32)> {
        kernels::<f32>()
    }

    type Rounding = fn(&[f32]) -> Vec<u16>;

    /// Every f32 -> f16 rounding this CPU can run.
    fn roundings() -> Vec<(&'static str, Rounding)> {
        let mut all: Vec<(&'static str, Rounding)> =
            vec![("scalar", |s| s.iter().map(|&x| f32_to_f16(x)).collect())];
        #[cfg(target_arch = "x86_64")]
        {
            if detected("f16c") {
                // SAFETY: the CPU has F16C (and AVX, which F16C implies).
                all.push(("f16c", |s| unsafe { to_f16_f16c(s) }));
            }
            if crate::cpu_dispatch::avx512() {
                // SAFETY: the CPU has AVX-512F.
                all.push(("avx512", |s| unsafe { to_f16_avx512(s) }));
            }
        }
        all.push(("dispatched", to_f16_bits));
        all
    }

    #[cfg(target_arch = "x86_64")]
    fn detected(feature: &str) -> bool {
        match feature {
            "avx2" => is_x86_feature_detected!("avx2"),
            "fma" => is_x86_feature_detected!("fma"),
            "f16c" => is_x86_feature_detected!("f16c"),
            _ => false,
        }
    }

    #[test]
    fn converts_every_kind_of_value() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0000), 0.0);
        assert!(f16_to_f32(0x8000).is_sign_negative());
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(-2.0), 0xc000);
        assert_eq!(f32_to_f16(1.0 / 3.0), 0x3555);
        assert_eq!(f32_to_f16(2f32.powi(-24)), 0x0001);
        assert_eq!(f32_to_f16(2f32.powi(-26)), 0x0000);
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00, "rounds up to infinity");
        assert_eq!(f32_to_f16(1e9), 0x7c00);
        assert!(f16_to_f32(f32_to_f16(f32::NAN)).is_nan());
        // Ties go to the even mantissa: 1 + 2^-11 sits between 1 and
        // 1 + 2^-10.
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
    }

    #[test]
    fn rounding_is_the_nearest_f16_and_every_path_agrees() {
        let values: Vec<f32> = (0..4000)
            .map(|i| (i as f32 * 0.7371).sin() * 10f32.powi(i % 9 - 6))
            .chain([0.0, -0.0, 6.1e-5, 6.0e-8, -3.0e-6, 70000.0])
            .collect();
        let want: Vec<u16> = values.iter().map(|&x| f32_to_f16(x)).collect();
        for (name, round) in roundings() {
            assert_eq!(round(&values), want, "{name}");
        }
        for (&x, &h) in values.iter().zip(&want) {
            let back = f16_to_f32(h) as f64;
            // Within half an f16 step of x: relative 2^-11 for normals,
            // 2^-25 absolute below them.
            let err = (back - x as f64).abs();
            if x.abs() <= 65504.0 {
                assert!(
                    err <= (x.abs() as f64 * 2f64.powi(-11)).max(2f64.powi(-25)),
                    "{x} -> {back}"
                );
            }
        }
    }

    #[test]
    fn dot_matches_the_converted_values_for_any_length() {
        for n in [0, 1, 15, 63, 64, 65, 130, 384] {
            let a = to_f16_bits(
                &(0..n)
                    .map(|i| 0.1 + (i as f32 * 0.37).sin())
                    .collect::<Vec<_>>(),
            );
            let b = to_f16_bits(
                &(0..n)
                    .map(|i| 0.2 + (i as f32 * 0.11).cos())
                    .collect::<Vec<_>>(),
            );
            let want: f64 = a
                .iter()
                .zip(&b)
                .map(|(&x, &y)| f16_to_f32(x) as f64 * f16_to_f32(y) as f64)
                .sum();
            for (name, dot) in dot_kernels() {
                assert!((dot(&a, &b) as f64 - want).abs() < 1e-3, "{name}, n = {n}");
            }
            assert!((dot_f16_kernel()(&a, &b) as f64 - want).abs() < 1e-3);
        }
    }

    #[test]
    fn mixed_dot_matches_the_converted_values_for_any_length() {
        for n in [0, 1, 15, 31, 32, 33, 63, 64, 65, 130, 384] {
            let a = to_f16_bits(
                &(0..n)
                    .map(|i| 0.1 + (i as f32 * 0.37).sin())
                    .collect::<Vec<_>>(),
            );
            let b: Vec<f32> = (0..n).map(|i| 0.2 + (i as f32 * 0.11).cos()).collect();
            let want: f64 = a
                .iter()
                .zip(&b)
                .map(|(&x, &y)| f16_to_f32(x) as f64 * y as f64)
                .sum();
            for (name, dot) in mixed_kernels() {
                assert!((dot(&a, &b) as f64 - want).abs() < 1e-4, "{name}, n = {n}");
            }
        }
    }
}
