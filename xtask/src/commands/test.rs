//! `cargo xtask test`: the README's test command. The suite builds
//! llama.cpp (through perf-workloads' default feature), so it needs what
//! `perf baseline` needs: the same build settings, prepared the same way.

use std::{path::Path, process::ExitCode};

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

use crate::{build_env, children};

/// `extra` goes to `cargo test` as typed: cargo's options, then after
/// `--` the test harness's (`cargo xtask test -- --include-ignored`).
pub fn run(sh: &Shell, root: &Path, extra: &[String]) -> Result<ExitCode> {
    build_env::apply(sh, root)?;
    let _dir = sh.push_dir(root);
    // cargo's own exit code is the verdict; its output is the report.
    // Under the reaper, so the compilers and test binaries die with xtask.
    let cargo: std::process::Command =
        cmd!(sh, "cargo test --workspace --release {extra...}").into();
    let status = children::reaped(&cargo)
        .status()
        .context("cannot start cargo test")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
