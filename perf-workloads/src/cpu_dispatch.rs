//! Run-time choice between two compilations of one function: for AVX-512
//! when the CPU has it, and for the baseline x86-64 target otherwise.
//!
//! The workspace builds for the baseline target (no `target-cpu=native`)
//! so a binary runs on any x86-64; its hot loops are written as plain Rust
//! and compiled twice through [`avx512_or_baseline!`], which lets LLVM
//! vectorise them 16 lanes wide where the hardware allows.

/// Defines `$vis fn $name(..) [-> $ret]` that runs `$body` compiled for
/// AVX-512 when the CPU has it, and for the baseline target otherwise.
/// The check is one cached load; callers that loop should put the loop
/// inside `$body`, so the choice is made once per call, not per element.
macro_rules! avx512_or_baseline {
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
                if $crate::cpu_dispatch::avx512() {
                    // SAFETY: the CPU has the features `wide` is built for.
                    return unsafe { wide($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use avx512_or_baseline;

/// Whether the AVX-512 copies run.
pub fn avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
