//! Which kernel tiers the building machine runs, as cfgs the tests read:
//! `no_amx` and `no_avx512_bf16` mark a tier missing, and that tier's
//! tests are then `#[ignore]`d with the reason, so the test summary shows
//! them as ignored rather than passed. The tests build where they run
//! (`cargo test`); a test of a tier found here checks at run time that the
//! CPU still has it, and fails asking for a rebuild if not.
//!
//! Nothing but tests reads these cfgs: the program picks its kernels at
//! run time (`embed::native::KernelPath::detect`).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(no_amx)");
    println!("cargo::rustc-check-cfg=cfg(no_avx512_bf16)");
    let (avx512_bf16, amx) = tiers();
    if !avx512_bf16 {
        println!("cargo::rustc-cfg=no_avx512_bf16");
    }
    if !amx {
        println!("cargo::rustc-cfg=no_amx");
    }
}

/// (AVX-512 BF16, AMX-BF16 with Linux's grant of the tile state) on this
/// machine; neither when building for another target, whose CPU cannot
/// be known here.
fn tiers() -> (bool, bool) {
    let same = std::env::var("HOST").ok() == std::env::var("TARGET").ok();
    if !same {
        return (false, false);
    }
    host_tiers()
}

#[cfg(target_arch = "x86_64")]
fn host_tiers() -> (bool, bool) {
    let avx512_bf16 = is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bf16");
    (avx512_bf16, avx512_bf16 && amx())
}

#[cfg(not(target_arch = "x86_64"))]
fn host_tiers() -> (bool, bool) {
    (false, false)
}

/// The same questions as `amx_gemm::supported`: CPUID.(7,0):EDX bits 22
/// (AMX-BF16) and 24 (AMX-TILE), then Linux's permission for the tile
/// data (granted to this build script's process only).
#[cfg(target_arch = "x86_64")]
fn amx() -> bool {
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    if __cpuid(0).eax < 7 {
        return false;
    }
    let edx = __cpuid_count(7, 0).edx;
    if edx & (1 << 22) == 0 || edx & (1 << 24) == 0 {
        return false;
    }
    linux_grants_tiles()
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn linux_grants_tiles() -> bool {
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: arch_prctl with this request only reads its two integer
    // arguments and changes which state the kernel lets this process use.
    unsafe {
        libc::syscall(
            libc::SYS_arch_prctl,
            ARCH_REQ_XCOMP_PERM,
            XFEATURE_XTILEDATA,
        ) == 0
    }
}

#[cfg(all(target_arch = "x86_64", not(target_os = "linux")))]
fn linux_grants_tiles() -> bool {
    false
}
