//! `C = A·Wᵀ + bias` on Intel AMX (`tdpbf16ps`): one instruction multiplies
//! a 16×32 bf16 tile of A by a 32×16 tile of W and adds the 16×16 f32
//! products into a tile of C, 8192 multiply-adds where `vdpbf16ps` does 32.
//!
//! Tiles: all eight are configured alike, 16 rows of 64 bytes. A tile is 16
//! activation rows × 32 inputs (bf16, straight from a row-major copy of A);
//! a B tile is 16 input pairs × 16 output columns × 2 bf16, the pair layout
//! `tdpbf16ps` reads; a C tile is 16 rows × 16 f32. The main kernel keeps a
//! 2×2 block of C tiles (32 rows × 32 columns) in tmm0-3 over the whole k
//! loop, loading two A tiles (tmm4-5) and two B tiles (tmm6-7) per 32
//! inputs: four independent accumulations hide `tdpbf16ps`'s latency, and
//! each loaded tile is used twice. A lone last row tile takes the 1×2 kernel.
//!
//! Weights are packed once, at load, so each 32-column block is one
//! contiguous run over k (the two B tiles of a k step side by side, 2 KiB),
//! 64-byte aligned so no tile row straddles two cache lines. Activations are
//! rounded to bf16 per call into a 64-byte aligned row-major copy padded
//! with zero rows to whole tiles; a C tile with padded rows is stored to a
//! buffer on the stack and only its real rows copied out. C starts as the
//! bias: a tile loaded with stride 0 repeats one 64-byte row 16 times.
//!
//! Work is split over (row group, column group) tasks on the rayon pool,
//! both cores on every call. The tile registers are no register class of
//! `asm!`, so a kernel's whole tile sequence (C from the bias, the k loop,
//! the stores) is one `asm!` block; the tile configuration is per thread
//! state and is loaded by each rayon job before its first kernel and
//! released after its last (`Tiles`).
//!
//! Linux hands out the 8 KiB tile register state only on request
//! (`arch_prctl(ARCH_REQ_XCOMP_PERM)`), per process: `supported()` asks once.
//!
//! Measured on the development VM (two vCPUs sharing one core's tile
//! unit, so the second thread hides memory stalls rather than adding
//! compute): the 2×2 kernel runs at about 60% of `tdpbf16ps`'s peak with
//! its inputs in L2; at a forward pass's 700-1000 rows the f32 stores of C
//! (megabytes, past L2) and A's rounding bring that to about 30%. Walking
//! rows before columns, padding A's rows against cache-set conflicts and
//! prefetching B ahead changed nothing measurable, so none of them is
//! here. A query of a few tokens streams all 21 MB of bf16 weights and is
//! bound by L3 bandwidth (about 38 GB/s with both threads).

use std::sync::OnceLock;

use rayon::prelude::*;

use super::shared_out::SharedOut;

/// Rows of every tile, and input pairs of a B tile (palette 1's maximum).
const TILE: usize = 16;
/// Output columns of one packed block: two B tiles side by side.
const NB: usize = 32;
/// Inputs per k step: a 64-byte A tile row is 32 bf16.
const KB: usize = 32;
/// Rows per task: 128 rows of A (96 KiB at k = 384, 384 KiB at k = 1536)
/// stay in L2 while the task walks its columns. A multiple of 32, so only
/// a group's last row tile can be a lone one.
const MC: usize = 128;
/// Columns per task: a multiple of `NB`. Two blocks keep even a one-tile
/// query at 6 tasks or more for both cores on the narrowest layer (384).
const NC: usize = 64;

/// One 64-byte line: the unit of the packed weights and of the spill
/// buffer, so their tiles start on cache-line boundaries.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u32; 16]);

/// Weights `[n × k]` (PyTorch's `out × in`) as B tiles of bf16 pairs.
pub struct PackedAmx {
    n: usize,
    k: usize,
    /// Block `q` (columns `32q..32q+32`), k step `s`, half `h` (16
    /// columns), pair `p`: line `((q·steps + s)·2 + h)·16 + p`, whose lane
    /// `j` holds `w[col][32s+2p]` (low half) and `w[col][32s+2p+1]` for
    /// `col = 32q + 16h + j`.
    lines: Vec<Line>,
}

impl PackedAmx {
    pub fn pack(w: &[f32], n: usize, k: usize) -> PackedAmx {
        assert!(
            n.is_multiple_of(NB) && k.is_multiple_of(KB),
            "tile shapes: n {n}, k {k}"
        );
        assert_eq!(w.len(), n * k);
        let steps = k / KB;
        let mut lines = vec![Line([0; 16]); n * k / 32];
        for (at, line) in lines.iter_mut().enumerate() {
            let p = at % TILE;
            let h = at / TILE % 2;
            let s = at / (2 * TILE) % steps;
            let q = at / (2 * TILE * steps);
            let input = s * KB + 2 * p;
            for (j, lane) in line.0.iter_mut().enumerate() {
                let row = &w[(q * NB + h * TILE + j) * k..];
                let lo = super::bf16_gemm::to_bf16(row[input]) as u32;
                let hi = super::bf16_gemm::to_bf16(row[input + 1]) as u32;
                *lane = lo | (hi << 16);
            }
        }
        PackedAmx { n, k, lines }
    }
}

/// Whether this process runs the AMX kernels: see `availability`.
pub fn supported() -> bool {
    availability().is_ok()
}

/// `Ok` when the CPU has AMX-TILE and AMX-BF16 (and AVX-512 BF16, which
/// rounds A to bf16; every AMX CPU has it) and Linux granted this process
/// the tile state; otherwise why not, for the user. Asked once per
/// process: the grant is the process's, for all its threads.
pub fn availability() -> Result<(), &'static str> {
    static ANSWER: OnceLock<Result<(), String>> = OnceLock::new();
    ANSWER
        .get_or_init(probe)
        .as_ref()
        .map_err(String::as_str)
        .copied()
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn probe() -> Result<(), String> {
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    const NO_CPU: &str = "this CPU has no AMX-BF16";
    if __cpuid(0).eax < 7 || !super::bf16_gemm::supported() {
        return Err(NO_CPU.into());
    }
    // CPUID.(EAX=7,ECX=0):EDX bit 22 is AMX-BF16, bit 24 AMX-TILE.
    let edx = __cpuid_count(7, 0).edx;
    if edx & (1 << 22) == 0 || edx & (1 << 24) == 0 {
        return Err(NO_CPU.into());
    }
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: arch_prctl with this request only reads its two integer
    // arguments and changes which state the kernel lets this process use.
    let granted = unsafe {
        libc::syscall(
            libc::SYS_arch_prctl,
            ARCH_REQ_XCOMP_PERM,
            XFEATURE_XTILEDATA,
        )
    };
    if granted != 0 {
        return Err(format!(
            "Linux refused this process the AMX tile state (arch_prctl ARCH_REQ_XCOMP_PERM: {})",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn probe() -> Result<(), String> {
    Err("the AMX kernels run on x86_64 Linux only".into())
}

/// `c[m × n] = a[m × k] · wᵀ + bias`, the contract of `bf16_gemm::matmul`;
/// `scratch` holds A's bf16 copy and is kept by the caller between calls.
///
/// Callers check `supported()` first.
pub fn matmul(
    a: &[f32],
    m: usize,
    w: &PackedAmx,
    bias: &[f32],
    c: &mut [f32],
    scratch: &mut Vec<u32>,
) {
    let (n, k) = (w.n, w.k);
    assert!(m >= 1);
    assert_eq!(a.len(), m * k);
    assert_eq!(c.len(), m * n);
    assert_eq!(bias.len(), n);
    assert!(supported(), "AMX kernels on a process without AMX");
    let pairs = k / 2;
    let rows = m.div_ceil(TILE) * TILE;
    // Room to start the copy on a 64-byte boundary. Not cleared: every
    // row is written below, the padding rows with zeros.
    let need = rows * pairs + 16;
    if scratch.len() < need {
        super::fit(scratch, need);
    }
    let skip = (64 - scratch.as_ptr() as usize % 64) % 64 / 4;
    let a16 = &mut scratch[skip..skip + rows * pairs];
    a16.par_chunks_mut(TILE * pairs)
        .zip(a.par_chunks(TILE * k))
        .for_each(|(dst, src)| {
            // SAFETY: supported() implies AVX-512 BF16.
            unsafe { x86::convert(src, k, dst) }
        });
    let a16 = &a16[..];
    let col_groups = n.div_ceil(NC);
    let tasks = rows.div_ceil(MC) * col_groups;
    // Each task writes its own (row group, column group) region of `c`.
    let out = SharedOut(c.as_mut_ptr());
    (0..tasks).into_par_iter().for_each_init(
        || {
            // SAFETY: supported() was checked, so the tiles are there and
            // this process may use them.
            unsafe { x86::Tiles::configure() }
        },
        |_tiles, task| {
            // Row-group-major: a thread's consecutive tasks share A's rows.
            let (g, h) = (task / col_groups, task % col_groups);
            let group = g * MC..((g + 1) * MC).min(rows);
            let cols = h * NC..((h + 1) * NC).min(n);
            // SAFETY: the tiles are configured on this thread (`_tiles`);
            // this task alone writes rows `group` (those below m) ×
            // columns `cols` of `c`, all inside it.
            unsafe { x86::block(a16, pairs, group, m, w, cols, bias, out.ptr(), n) }
        },
    );
}

// Each function here is a kernel whose whole body is raw-pointer SIMD or
// tile code: an `unsafe` block around every line would hide nothing.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_op_in_unsafe_fn)]
mod x86 {
    use std::{arch::asm, arch::x86_64::*, marker::PhantomData, ops::Range};

    use super::{Line, PackedAmx, KB, NB, TILE};

    /// Palette 1's 64-byte configuration: tmm0-7 all 16 rows × 64 bytes.
    #[repr(C, align(64))]
    struct Config {
        palette: u8,
        start_row: u8,
        reserved: [u8; 14],
        bytes_per_row: [u16; 16],
        rows: [u8; 16],
    }

    const CONFIG: Config = Config {
        palette: 1,
        start_row: 0,
        reserved: [0; 14],
        bytes_per_row: [64, 64, 64, 64, 64, 64, 64, 64, 0, 0, 0, 0, 0, 0, 0, 0],
        rows: [16, 16, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0],
    };

    /// This thread's tiles, configured for the kernels; released (back
    /// to the init state, so a context switch saves no 8 KiB of tile
    /// data) when dropped. Not `Send`: the configuration is the thread's.
    pub struct Tiles(PhantomData<*const ()>);

    impl Tiles {
        /// Only where `supported()` holds.
        pub unsafe fn configure() -> Tiles {
            asm!("ldtilecfg [{}]", in(reg) &CONFIG, options(nostack, readonly));
            Tiles(PhantomData)
        }
    }

    impl Drop for Tiles {
        fn drop(&mut self) {
            // SAFETY: a `Tiles` exists only after `configure` succeeded
            // on this thread; releasing leaves nothing for later code.
            unsafe { asm!("tilerelease", options(nostack, nomem)) }
        }
    }

    /// Up to 16 f32 rows of length `k` → 16 bf16 rows (`dst`, `k/2` pairs
    /// each), 32 values per `vcvtne2ps2bf16`; rows past `src`'s are zeros.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub unsafe fn convert(src: &[f32], k: usize, dst: &mut [u32]) {
        let pairs = k / 2;
        let real = src.len() / k;
        for (r, row) in src.chunks_exact(k).enumerate() {
            let out = dst.as_mut_ptr().add(r * pairs);
            let mut i = 0;
            while i < k {
                let lo = _mm512_loadu_ps(row.as_ptr().add(i));
                let hi = _mm512_loadu_ps(row.as_ptr().add(i + 16));
                // Low half from `lo`: the 32 inputs stay in order.
                let bf: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo));
                _mm512_storeu_si512(out.add(i / 2) as *mut _, bf);
                i += 32;
            }
        }
        dst[real * pairs..].fill(0);
    }

    /// Rows `group` (padded; a multiple of 16 long) × columns `cols` of C,
    /// over all of k. Rows at `m` and past are not written.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn block(
        a16: &[u32],
        pairs: usize,
        group: Range<usize>,
        m: usize,
        w: &PackedAmx,
        cols: Range<usize>,
        bias: &[f32],
        c: *mut f32,
        n: usize,
    ) {
        let steps = 2 * pairs / KB;
        let a_stride = 4 * pairs;
        let c_stride = 4 * n;
        // A C tile with padded rows goes here, then its real rows to `c`.
        let mut spill = [Line([0; 16]); 2 * TILE];
        let spill_ptr = spill.as_mut_ptr() as *mut f32;
        let spill_stride = 4 * NB;
        for col in cols.step_by(NB) {
            let b = w.lines.as_ptr().add(col / NB * steps * 2 * TILE) as *const u8;
            let bias = bias.as_ptr().add(col);
            let mut r = group.start;
            while r < group.end {
                let a = a16.as_ptr().add(r * pairs) as *const u8;
                let c_top = c.add(r * n + col);
                if group.end - r >= 2 * TILE {
                    // Only the lower tile can hold padding rows.
                    let real = m.saturating_sub(r + TILE).min(TILE);
                    let (c_low, low_stride) = if real == TILE {
                        (c.add((r + TILE) * n + col), c_stride)
                    } else {
                        (spill_ptr, spill_stride)
                    };
                    tiles_2x2(
                        a,
                        a.add(TILE * a_stride),
                        a_stride,
                        b,
                        steps,
                        bias,
                        c_top,
                        c_stride,
                        c_low,
                        low_stride,
                    );
                    if real < TILE {
                        copy_rows(spill_ptr, real, c.add((r + TILE) * n + col), n);
                    }
                    r += 2 * TILE;
                } else {
                    let real = (m - r).min(TILE);
                    if real == TILE {
                        tiles_1x2(a, a_stride, b, steps, bias, c_top, c_stride);
                    } else {
                        tiles_1x2(a, a_stride, b, steps, bias, spill_ptr, spill_stride);
                        copy_rows(spill_ptr, real, c_top, n);
                    }
                    r += TILE;
                }
            }
        }
    }

    /// The first `real` rows of a spilled pair of C tiles (16 × 32 f32)
    /// into C, whose rows are `n` apart.
    unsafe fn copy_rows(spill: *const f32, real: usize, c: *mut f32, n: usize) {
        for row in 0..real {
            c.add(row * n)
                .copy_from_nonoverlapping(spill.add(row * NB), NB);
        }
    }

    /// C rows 0-15 (`c_top`) and 16-31 (`c_low`) × 32 columns = bias +
    /// the A rows at `a_top` / `a_low` (bf16, `a_stride` bytes apart) ·
    /// the 32-column block at `b`, over `steps` k steps of 32.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    unsafe fn tiles_2x2(
        a_top: *const u8,
        a_low: *const u8,
        a_stride: usize,
        b: *const u8,
        steps: usize,
        bias: *const f32,
        c_top: *mut f32,
        top_stride: usize,
        c_low: *mut f32,
        low_stride: usize,
    ) {
        asm!(
            // Stride 0: each C tile starts as its 16 bias values on every row.
            "xor {t:e}, {t:e}",
            "tileloadd tmm0, [{bias} + {t}*1]",
            "tileloadd tmm1, [{bias} + {t}*1 + 64]",
            "tileloadd tmm2, [{bias} + {t}*1]",
            "tileloadd tmm3, [{bias} + {t}*1 + 64]",
            // B tiles are 16 contiguous 64-byte rows.
            "mov {t:e}, 64",
            "2:",
            "tileloadd tmm4, [{a_top} + {a_stride}*1]",
            "tileloadd tmm6, [{b} + {t}*1]",
            "tdpbf16ps tmm0, tmm4, tmm6",
            "tileloadd tmm7, [{b} + {t}*1 + 1024]",
            "tdpbf16ps tmm1, tmm4, tmm7",
            "tileloadd tmm5, [{a_low} + {a_stride}*1]",
            "tdpbf16ps tmm2, tmm5, tmm6",
            "tdpbf16ps tmm3, tmm5, tmm7",
            "add {a_top}, 64",
            "add {a_low}, 64",
            "add {b}, 2048",
            "dec {steps}",
            "jnz 2b",
            "tilestored [{c_top} + {top_stride}*1], tmm0",
            "tilestored [{c_top} + {top_stride}*1 + 64], tmm1",
            "tilestored [{c_low} + {low_stride}*1], tmm2",
            "tilestored [{c_low} + {low_stride}*1 + 64], tmm3",
            t = out(reg) _,
            bias = in(reg) bias,
            a_top = inout(reg) a_top => _,
            a_low = inout(reg) a_low => _,
            a_stride = in(reg) a_stride,
            b = inout(reg) b => _,
            steps = inout(reg) steps => _,
            c_top = in(reg) c_top,
            top_stride = in(reg) top_stride,
            c_low = in(reg) c_low,
            low_stride = in(reg) low_stride,
            options(nostack),
        );
    }

    /// `tiles_2x2` for one row tile: C rows 0-15 × 32 columns.
    #[inline]
    unsafe fn tiles_1x2(
        a: *const u8,
        a_stride: usize,
        b: *const u8,
        steps: usize,
        bias: *const f32,
        c: *mut f32,
        c_stride: usize,
    ) {
        asm!(
            "xor {t:e}, {t:e}",
            "tileloadd tmm0, [{bias} + {t}*1]",
            "tileloadd tmm1, [{bias} + {t}*1 + 64]",
            "mov {t:e}, 64",
            "2:",
            "tileloadd tmm4, [{a} + {a_stride}*1]",
            "tileloadd tmm6, [{b} + {t}*1]",
            "tdpbf16ps tmm0, tmm4, tmm6",
            "tileloadd tmm7, [{b} + {t}*1 + 1024]",
            "tdpbf16ps tmm1, tmm4, tmm7",
            "add {a}, 64",
            "add {b}, 2048",
            "dec {steps}",
            "jnz 2b",
            "tilestored [{c} + {c_stride}*1], tmm0",
            "tilestored [{c} + {c_stride}*1 + 64], tmm1",
            t = out(reg) _,
            bias = in(reg) bias,
            a = inout(reg) a => _,
            a_stride = in(reg) a_stride,
            b = inout(reg) b => _,
            steps = inout(reg) steps => _,
            c = in(reg) c,
            c_stride = in(reg) c_stride,
            options(nostack),
        );
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod x86 {
    pub struct Tiles;
    impl Tiles {
        pub unsafe fn configure() -> Tiles {
            unreachable!("AMX kernels are x86_64 only")
        }
    }
    pub unsafe fn convert(_: &[f32], _: usize, _: &mut [u32]) {
        unreachable!("AMX kernels are x86_64 only")
    }
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn block(
        _: &[u32],
        _: usize,
        _: std::ops::Range<usize>,
        _: usize,
        _: &super::PackedAmx,
        _: std::ops::Range<usize>,
        _: &[f32],
        _: *mut f32,
        _: usize,
    ) {
        unreachable!("AMX kernels are x86_64 only")
    }
}

#[cfg(test)]
mod tests {
    use super::{
        super::bf16_gemm::{reference, to_bf16},
        *,
    };
    use crate::embed::native::{tier_runs, KernelPath};

    #[test]
    #[cfg_attr(
        no_amx,
        ignore = "this CPU has no AMX-BF16: the tiers below it are tested"
    )]
    fn matches_a_bf16_rounded_reference_on_ragged_shapes() {
        if !tier_runs(KernelPath::AmxBf16, cfg!(no_amx)) {
            return;
        }
        // n: two column groups and a lone 32-column block; k: 13 steps.
        let (n, k) = (160, 416);
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 97.0)
            .collect();
        let bias: Vec<f32> = (0..n).map(|j| j as f32 / 10.0).collect();
        let packed = PackedAmx::pack(&w, n, k);
        // One scratch across calls, as the encoder keeps it.
        let mut scratch = Vec::new();
        // m: within one tile, exactly one, a tile and a row, a pair and a
        // lone tile, and past a task's rows with a ragged last tile.
        for m in [1, 15, 16, 17, 40, 48, 301] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
                .collect();
            let mut c = vec![f32::NAN; m * n];
            matmul(&a, m, &packed, &bias, &mut c, &mut scratch);
            let want = reference(&a, m, &w, n, k, &bias);
            for (at, (got, want)) in c.iter().zip(&want).enumerate() {
                assert!(
                    (got - want).abs() <= 1e-3 * want.abs().max(1.0),
                    "m {m} at {at}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn the_packed_tiles_hold_each_weight_pair_where_tdpbf16ps_reads_it() {
        let (n, k) = (64, 64);
        let w: Vec<f32> = (0..n * k).map(|i| i as f32).collect();
        let packed = PackedAmx::pack(&w, n, k);
        let steps = k / KB;
        for col in 0..n {
            for input in (0..k).step_by(2) {
                let (q, h, j) = (col / NB, col % NB / TILE, col % TILE);
                let (s, p) = (input / KB, input % KB / 2);
                let lane = packed.lines[((q * steps + s) * 2 + h) * TILE + p].0[j];
                assert_eq!(lane & 0xffff, to_bf16(w[col * k + input]) as u32);
                assert_eq!(lane >> 16, to_bf16(w[col * k + input + 1]) as u32);
            }
        }
        assert_eq!(packed.lines.as_ptr() as usize % 64, 0);
    }
}
