//! Run-time choice between compilations of one function: for AVX-512 when
//! the CPU has it, for AVX2 with FMA (x86-64-v3: Haswell, Zen 1–3) when it
//! has that, and for the baseline x86-64 target otherwise.
//!
//! The workspace builds for the baseline target (no `target-cpu=native`)
//! so a binary runs on any x86-64; its hot loops are written as plain Rust
//! and compiled three times through [`simd_dispatch!`], which lets
//! LLVM vectorise them 16 lanes wide, 8 lanes wide with FMA, or 4 lanes
//! wide as the hardware allows. The middle copy exists because the
//! development VM moved from a Zen 4 host to a Zen 3 one: without it the
//! exact scan and the encoder's element-wise loops fell back to SSE2.

/// Defines `$vis fn $name(..) [-> $ret]` that runs `$body` compiled for
/// the widest [`Level`] the CPU has. The check is a few cached loads; callers
/// that loop should put the loop inside `$body`, so the choice is made once
/// per call, not per element.
macro_rules! simd_dispatch {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,fma")]
                unsafe fn wide($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                match $crate::cpu_dispatch::level() {
                    // SAFETY: the CPU has the features each copy is built for.
                    $crate::cpu_dispatch::Level::Avx512 => return unsafe { wide($($arg),*) },
                    $crate::cpu_dispatch::Level::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::cpu_dispatch::Level::Baseline => {}
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use simd_dispatch;

/// The widest compilation this CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// AVX-512 F, BW, DQ, VL with FMA.
    Avx512,
    /// AVX2 with FMA (and F16C, which every such CPU has, for f16 loads).
    Avx2,
    /// SSE2, what every x86-64 has.
    Baseline,
}

impl Level {
    /// How reports name it (`hardware_acceleration`, the engines' notes).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Avx512 => "avx512",
            Level::Avx2 => "avx2+fma",
            Level::Baseline => "baseline x86-64",
        }
    }
}

/// The level the dispatched copies run at on this CPU.
pub fn level() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        // `is_x86_feature_detected!` caches the CPUID answers itself.
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("fma")
        {
            return Level::Avx512;
        }
        if is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
        {
            return Level::Avx2;
        }
    }
    Level::Baseline
}

/// Whether the AVX-512 copies run.
pub fn avx512() -> bool {
    level() == Level::Avx512
}

#[cfg(test)]
mod tests {
    use super::*;

    simd_dispatch! {
        fn sum_of_squares(x: &[f32]) -> f32 {
            x.iter().map(|v| v * v).sum()
        }
    }

    #[test]
    fn every_level_computes_the_same() {
        let x: Vec<f32> = (0..100).map(|i| i as f32 * 0.5).collect();
        let want: f32 = x.iter().map(|v| v * v).sum();
        // Whatever level this CPU picks, the copy agrees with plain Rust
        // (the sum of these squares is exact in f32, so order does not matter).
        assert_eq!(sum_of_squares(&x), want, "at {:?}", level());
        assert!(!level().as_str().is_empty());
    }
}
