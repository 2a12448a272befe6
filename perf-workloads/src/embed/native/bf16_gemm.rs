//! `C = A·Wᵀ + bias` with AVX-512 BF16 dot products (`vdpbf16ps`): twice
//! the multiply-adds per instruction of an f32 FMA on Zen 4 and newer
//! Intel cores, with f32 accumulation.
//!
//! Weights are packed once, at load, into panels of 32 output columns: for
//! each pair of inputs `(2p, 2p+1)` a panel holds 32 lanes of two bf16s,
//! exactly what one `vdpbf16ps` pair of registers consumes. Activations
//! are rounded to bf16 pairs per call. A 12×32 tile keeps 24 accumulators
//! in registers; the k loop runs over blocks of 192 pairs so a panel's
//! block (24 KiB) stays in L1 while the tiles of a row block stream past.
//! Work is split over (row block, panel) pairs, so both cores get columns
//! of the same rows and write disjoint parts of `C`.

use rayon::prelude::*;

use super::shared_out::SharedOut;

/// Rows per register tile.
const MR: usize = 12;
/// Columns per panel (two 16-lane registers).
pub const NR: usize = 32;
/// Input pairs per k block.
const KC: usize = 192;
/// Rows per row block (what one task covers); a multiple of `MR`.
const MC: usize = 96;

/// Round-to-nearest-even f32 → bf16 (the rounding `vcvtne2ps2bf16` does).
pub fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    ((bits + 0x7fff + ((bits >> 16) & 1)) >> 16) as u16
}

/// Weights `[n × k]` (PyTorch's `out × in`) packed into bf16 panels.
pub struct PackedBf16 {
    n: usize,
    k: usize,
    /// Panel `q`, pair `p`, lane `j` at `(q·k/2 + p)·32 + j`.
    panels: Vec<u32>,
}

impl PackedBf16 {
    pub fn pack(w: &[f32], n: usize, k: usize) -> PackedBf16 {
        assert!(
            n.is_multiple_of(NR) && k.is_multiple_of(32),
            "panel shapes: n {n}, k {k}"
        );
        assert_eq!(w.len(), n * k);
        let pairs = k / 2;
        let mut panels = vec![0u32; n * pairs];
        for q in 0..n / NR {
            for p in 0..pairs {
                for j in 0..NR {
                    let row = &w[(q * NR + j) * k..];
                    let lo = to_bf16(row[2 * p]) as u32;
                    let hi = to_bf16(row[2 * p + 1]) as u32;
                    panels[(q * pairs + p) * NR + j] = lo | (hi << 16);
                }
            }
        }
        PackedBf16 { n, k, panels }
    }
}

/// Whether this CPU runs the bf16 kernels.
pub fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `c[m × n] = a[m × k] · wᵀ + bias`; `a_tiles` is scratch kept by the
/// caller between calls.
///
/// Callers check `supported()` first.
pub fn matmul(
    a: &[f32],
    m: usize,
    w: &PackedBf16,
    bias: &[f32],
    c: &mut [f32],
    a_tiles: &mut Vec<u32>,
) {
    let (n, k) = (w.n, w.k);
    assert_eq!(a.len(), m * k);
    assert_eq!(c.len(), m * n);
    assert_eq!(bias.len(), n);
    assert!(supported());
    let pairs = k / 2;
    // A in tiles of MR rows, pair-major inside a tile: the kernel's twelve
    // broadcasts per pair then read one contiguous run instead of twelve
    // rows a row's length apart. The last tile's missing rows are never
    // read (the kernel computes a tile's real rows only), so the scratch
    // only grows and is not cleared: zeroing it cost a query 5% of its time.
    let tiles = m.div_ceil(MR);
    if a_tiles.len() < tiles * MR * pairs {
        super::fit(a_tiles, tiles * MR * pairs);
    }
    a_tiles
        .par_chunks_mut(MR * pairs)
        .zip(a.par_chunks(MR * k))
        .for_each(|(dst, src)| {
            // SAFETY: supported() was checked above.
            unsafe { x86::convert_tile(src, k, dst) }
        });
    let blocks = m.div_ceil(MC);
    let panels = n / NR;
    // Each task writes its own (row block, panel) region of `c`.
    let out = SharedOut(c.as_mut_ptr());
    let a_tiles = &a_tiles[..];
    (0..blocks * panels).into_par_iter().for_each(|task| {
        let (block, q) = (task / panels, task % panels);
        let rows = block * MC..((block + 1) * MC).min(m);
        // SAFETY: supported() was checked; this task alone writes rows
        // `rows` × columns of panel `q`, all inside `c`.
        unsafe { x86::panel(a_tiles, pairs, rows, w, q, bias, out.ptr(), n) }
    });
}

// Each function here is a kernel whose whole body is raw-pointer SIMD:
// an `unsafe` block around every line would hide nothing.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_op_in_unsafe_fn)]
mod x86 {
    use std::arch::x86_64::*;

    use super::{PackedBf16, KC, MR, NR};

    /// Up to `MR` f32 rows of length `k` → one tile of bf16 pairs,
    /// pair-major (`dst[p·MR + r]`), converted 32 values at a time.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub unsafe fn convert_tile(src: &[f32], k: usize, dst: &mut [u32]) {
        let mut pairs = [0u32; 16];
        for (r, row) in src.chunks_exact(k).enumerate() {
            let mut i = 0;
            while i < k {
                let lo = _mm512_loadu_ps(row.as_ptr().add(i));
                let hi = _mm512_loadu_ps(row.as_ptr().add(i + 16));
                let packed: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo));
                _mm512_storeu_si512(pairs.as_mut_ptr() as *mut _, packed);
                for (j, pair) in pairs.iter().enumerate() {
                    *dst.get_unchecked_mut((i / 2 + j) * MR + r) = *pair;
                }
                i += 32;
            }
        }
    }

    /// One row block × one panel, over all k blocks.
    #[target_feature(enable = "avx512f,avx512bf16")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn panel(
        a: &[u32],
        pairs: usize,
        rows: std::ops::Range<usize>,
        w: &PackedBf16,
        q: usize,
        bias: &[f32],
        c: *mut f32,
        n: usize,
    ) {
        let col = q * NR;
        let b_panel = w.panels.as_ptr().add(q * pairs * NR);
        let mut p0 = 0;
        while p0 < pairs {
            let kc = KC.min(pairs - p0);
            let first = p0 == 0;
            let mut r = rows.start;
            while r < rows.end {
                // Blocks start on tile boundaries (MC is a multiple of MR).
                let mr = MR.min(rows.end - r);
                let a_tile = a.as_ptr().add(r * pairs + p0 * MR);
                let b = b_panel.add(p0 * NR);
                let c_tile = c.add(r * n + col);
                let bias = bias.as_ptr().add(col);
                // Only a tile's real rows are computed: a query of 13
                // tokens is 13 rows of work, not two full tiles' 24.
                match mr {
                    12 => tile::<12>(a_tile, b, kc, c_tile, n, first, bias),
                    11 => tile::<11>(a_tile, b, kc, c_tile, n, first, bias),
                    10 => tile::<10>(a_tile, b, kc, c_tile, n, first, bias),
                    9 => tile::<9>(a_tile, b, kc, c_tile, n, first, bias),
                    8 => tile::<8>(a_tile, b, kc, c_tile, n, first, bias),
                    7 => tile::<7>(a_tile, b, kc, c_tile, n, first, bias),
                    6 => tile::<6>(a_tile, b, kc, c_tile, n, first, bias),
                    5 => tile::<5>(a_tile, b, kc, c_tile, n, first, bias),
                    4 => tile::<4>(a_tile, b, kc, c_tile, n, first, bias),
                    3 => tile::<3>(a_tile, b, kc, c_tile, n, first, bias),
                    2 => tile::<2>(a_tile, b, kc, c_tile, n, first, bias),
                    _ => tile::<1>(a_tile, b, kc, c_tile, n, first, bias),
                }
                r += mr;
            }
            p0 += kc;
        }
    }

    /// `R`×32 outputs over `kc` pairs, the first `R` rows of an `MR`-row
    /// tile (the rest are a padded tile's zero rows, not computed):
    /// started from the bias on the first k block, from `C` after.
    #[target_feature(enable = "avx512f,avx512bf16")]
    #[inline]
    unsafe fn tile<const R: usize>(
        a: *const u32,
        b: *const u32,
        kc: usize,
        c: *mut f32,
        c_stride: usize,
        first: bool,
        bias: *const f32,
    ) {
        let mut lo = [_mm512_setzero_ps(); R];
        let mut hi = [_mm512_setzero_ps(); R];
        for r in 0..R {
            if first {
                lo[r] = _mm512_loadu_ps(bias);
                hi[r] = _mm512_loadu_ps(bias.add(16));
            } else {
                lo[r] = _mm512_loadu_ps(c.add(r * c_stride));
                hi[r] = _mm512_loadu_ps(c.add(r * c_stride + 16));
            }
        }
        for p in 0..kc {
            let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(b.add(p * NR) as *const _));
            let b1: __m512bh =
                std::mem::transmute(_mm512_loadu_si512(b.add(p * NR + 16) as *const _));
            let a = a.add(p * MR);
            for r in 0..R {
                let av: __m512bh = std::mem::transmute(_mm512_set1_epi32(*a.add(r) as i32));
                lo[r] = _mm512_dpbf16_ps(lo[r], av, b0);
                hi[r] = _mm512_dpbf16_ps(hi[r], av, b1);
            }
        }
        for r in 0..R {
            _mm512_storeu_ps(c.add(r * c_stride), lo[r]);
            _mm512_storeu_ps(c.add(r * c_stride + 16), hi[r]);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod x86 {
    pub unsafe fn convert_tile(_: &[f32], _: usize, _: &mut [u32]) {
        unreachable!("bf16 kernels are x86_64 only")
    }
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn panel(
        _: &[u32],
        _: usize,
        _: std::ops::Range<usize>,
        _: &super::PackedBf16,
        _: usize,
        _: &[f32],
        _: *mut f32,
        _: usize,
    ) {
        unreachable!("bf16 kernels are x86_64 only")
    }
}

/// What a bf16 kernel computes, for their tests: `a·wᵀ + bias` from the
/// bf16-rounded inputs, summed in f64.
#[cfg(test)]
pub(super) fn reference(
    a: &[f32],
    m: usize,
    w: &[f32],
    n: usize,
    k: usize,
    bias: &[f32],
) -> Vec<f32> {
    let r = |x: f32| f32::from_bits((to_bf16(x) as u32) << 16);
    let mut c = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let dot: f64 = (0..k)
                .map(|t| (r(a[i * k + t]) * r(w[j * k + t])) as f64)
                .sum();
            c[i * n + j] = dot as f32 + bias[j];
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::native::{tier_runs, KernelPath};

    #[test]
    #[cfg_attr(
        no_avx512_bf16,
        ignore = "this CPU has no AVX-512 BF16: the f32 tier is tested"
    )]
    fn matches_a_bf16_rounded_reference_on_ragged_shapes() {
        if !tier_runs(KernelPath::Bf16Avx512, cfg!(no_avx512_bf16)) {
            return;
        }
        // Every tile height the kernel computes (1 to 12 rows: a query is
        // a dozen), and m not a multiple of the tile or block; k spanning
        // two k blocks. One scratch for all: a larger m's leftovers must
        // not leak into a smaller one's padded tile.
        let mut scratch = Vec::new();
        for m in (1..=13).chain([101, 7]) {
            check_shape(m, &mut scratch);
        }
    }

    fn check_shape(m: usize, scratch: &mut Vec<u32>) {
        let (n, k) = (64, 416);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 97.0)
            .collect();
        let bias: Vec<f32> = (0..n).map(|j| j as f32 / 10.0).collect();
        let packed = PackedBf16::pack(&w, n, k);
        let mut c = vec![0f32; m * n];
        matmul(&a, m, &packed, &bias, &mut c, scratch);
        let want = reference(&a, m, &w, n, k, &bias);
        for (i, (got, want)) in c.iter().zip(&want).enumerate() {
            assert!(
                (got - want).abs() <= 1e-3 * want.abs().max(1.0),
                "m {m}, {i}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn rounding_is_to_nearest_even() {
        assert_eq!(to_bf16(1.0), 0x3f80);
        // 1 + 2^-8 lies halfway between two bf16s: ties go to even.
        assert_eq!(to_bf16(f32::from_bits(0x3f80_8000)), 0x3f80);
        assert_eq!(to_bf16(f32::from_bits(0x3f81_8000)), 0x3f82);
    }
}
