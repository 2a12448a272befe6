//! The settings every build of perf-workloads gets from xtask, decided once
//! per invocation and set on the shell that runs cargo:
//!
//! - **cmake** and **libclang** (llama.cpp's build and its bindgen step):
//!   the machine's own when present, else PyPI's `cmake` and `libclang`
//!   wheels through perf-provision (verified, cached in
//!   `target/perf-tools/`). A machine that can have neither is told so in
//!   one line before anything compiles.
//! - **ggml's instruction set**: llama-cpp-sys-2 builds ggml without
//!   `GGML_NATIVE`, so xtask switches on each `GGML_<ISA>` option this CPU
//!   has (what `-march=native` would pick) and off the rest. The Rust code
//!   keeps the portable baseline: callgrind (the instruction-count mode)
//!   cannot run AVX-512 code, and candle picks its wide kernels at run time.
//!   Each engine records the instruction set it ran with in the baseline.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Result};
use perf_provision::{catalog, provide, Event};
use xshell::Shell;

/// Sets the build settings on `sh` (environment for its commands).
pub fn apply(sh: &Shell, root: &Path) -> Result<()> {
    for (key, value) in settings(root)? {
        sh.set_var(key, value);
    }
    Ok(())
}

/// The variables to set, in order.
pub fn settings(root: &Path) -> Result<Vec<(String, String)>> {
    let mut vars = Vec::new();
    let tools = root.join("target/perf-tools");
    if !has_cmake() {
        let dir = fetch_tool(&catalog::CMAKE, &tools)?;
        let bin = dir.join("bin");
        // The cmake crate honours $CMAKE; PATH for anything that calls it by name.
        vars.push(("CMAKE".into(), bin.join("cmake").display().to_string()));
        let path = env::var("PATH").unwrap_or_default();
        vars.push(("PATH".into(), format!("{}:{path}", bin.display())));
    }
    if env::var_os("LIBCLANG_PATH").is_none() && system_libclang().is_none() {
        let dir = fetch_tool(&catalog::LIBCLANG, &tools)?;
        vars.push(("LIBCLANG_PATH".into(), dir.display().to_string()));
        // The wheel has the library but not clang's own headers (stddef.h,
        // stdbool.h): bindgen gets the C compiler's, which serve the same.
        if let Some(include) = compiler_include_dir() {
            let mut args = env::var("BINDGEN_EXTRA_CLANG_ARGS").unwrap_or_default();
            if !args.is_empty() {
                args.push(' ');
            }
            args.push_str(&format!("-isystem {}", include.display()));
            vars.push(("BINDGEN_EXTRA_CLANG_ARGS".into(), args));
        }
    }
    vars.extend(ggml_isa());
    Ok(vars)
}

fn has_cmake() -> bool {
    let cmake = env::var("CMAKE").unwrap_or_else(|_| "cmake".into());
    Command::new(cmake)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A libclang that clang-sys would find on its own: Debian's
/// `libclang-dev`/`libclang1-*` layouts (not `libclang-cpp`, a different library).
fn system_libclang() -> Option<PathBuf> {
    let dirs = [
        "/usr/lib",
        "/usr/lib64",
        "/usr/local/lib",
        "/usr/lib/x86_64-linux-gnu",
    ];
    let mut candidates: Vec<PathBuf> = dirs.iter().map(PathBuf::from).collect();
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        candidates.extend(
            entries
                .filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("llvm-"))
                })
                .map(|p| p.join("lib")),
        );
    }
    candidates.into_iter().find_map(|dir| {
        std::fs::read_dir(&dir).ok()?.find_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_string_lossy().into_owned();
            is_libclang_name(&name).then_some(path)
        })
    })
}

fn is_libclang_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("libclang") else {
        return false;
    };
    // libclang.so, libclang.so.18, libclang-14.so.1: a version, never "-cpp".
    rest.starts_with(".so")
        || rest
            .strip_prefix('-')
            .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
}

/// `cc -print-file-name=include`: the compiler's own header folder.
fn compiler_include_dir() -> Option<PathBuf> {
    let cc = env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(cc)
        .arg("-print-file-name=include")
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    dir.join("stddef.h").is_file().then_some(dir)
}

fn fetch_tool(artifact: &perf_provision::Artifact, cache: &Path) -> Result<PathBuf> {
    if !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64")) {
        bail!(
            "{} is needed to build llama.cpp and PyPI's wheel of it is for x86_64 Linux only: {}",
            artifact.what,
            catalog::BUILD_TOOLS_FIX
        );
    }
    let mut last_shown = 0;
    let mut on_event = |e: Event| match e {
        Event::Note(text) => eprintln!("note: {text}"),
        Event::Download { done, total } => {
            // A line per quarter: these are small (25-28 MB) and fast.
            let quarter = (done * 4).checked_div(total).unwrap_or(4);
            if quarter > last_shown {
                last_shown = quarter;
                eprintln!("[build tools] {}: {e}", artifact.what);
            }
        }
    };
    provide(artifact, cache, &mut on_event).map_err(|e| anyhow::anyhow!("{e}"))
}

/// `GGML_<option>=ON|OFF` for the x86 options llama-cpp-sys-2 forwards,
/// from what this CPU has.
fn ggml_isa() -> Vec<(String, String)> {
    #[cfg(target_arch = "x86_64")]
    {
        let on = |b: bool| if b { "ON" } else { "OFF" }.to_string();
        let avx512 = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512cd")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512bw");
        vec![
            (
                "GGML_SSE42".into(),
                on(std::arch::is_x86_feature_detected!("sse4.2")),
            ),
            (
                "GGML_AVX".into(),
                on(std::arch::is_x86_feature_detected!("avx")),
            ),
            (
                "GGML_AVX2".into(),
                on(std::arch::is_x86_feature_detected!("avx2")),
            ),
            (
                "GGML_FMA".into(),
                on(std::arch::is_x86_feature_detected!("fma")),
            ),
            (
                "GGML_F16C".into(),
                on(std::arch::is_x86_feature_detected!("f16c")),
            ),
            (
                "GGML_BMI2".into(),
                on(std::arch::is_x86_feature_detected!("bmi2")),
            ),
            (
                "GGML_AVX_VNNI".into(),
                on(std::arch::is_x86_feature_detected!("avxvnni")),
            ),
            ("GGML_AVX512".into(), on(avx512)),
            (
                "GGML_AVX512_VBMI".into(),
                on(avx512 && std::arch::is_x86_feature_detected!("avx512vbmi")),
            ),
            (
                "GGML_AVX512_VNNI".into(),
                on(avx512 && std::arch::is_x86_feature_detected!("avx512vnni")),
            ),
            (
                "GGML_AVX512_BF16".into(),
                on(avx512 && std::arch::is_x86_feature_detected!("avx512bf16")),
            ),
        ]
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libclang_names_exclude_libclang_cpp() {
        for good in [
            "libclang.so",
            "libclang.so.18",
            "libclang-14.so.1",
            "libclang-18.so",
        ] {
            assert!(is_libclang_name(good), "{good}");
        }
        for bad in ["libclang-cpp.so.14", "libclangBasic.a", "libc.so"] {
            assert!(!is_libclang_name(bad), "{bad}");
        }
    }

    #[test]
    fn isa_settings_are_all_on_or_off() {
        for (k, v) in ggml_isa() {
            assert!(k.starts_with("GGML_"), "{k}");
            assert!(v == "ON" || v == "OFF", "{k}={v}");
        }
    }
}
