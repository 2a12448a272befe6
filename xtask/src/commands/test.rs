//! `cargo xtask test`: the README's test command. The suite builds
//! llama.cpp (through perf-workloads' default feature), so it needs what
//! `perf baseline` needs: the same build settings, prepared the same way.

use std::{path::Path, process::ExitCode};

use anyhow::Result;
use xshell::{cmd, Shell};

use crate::build_env;

/// `extra` goes to `cargo test` as typed: cargo's options, then after
/// `--` the test harness's (`cargo xtask test -- --include-ignored`).
pub fn run(sh: &Shell, root: &Path, extra: &[String]) -> Result<ExitCode> {
    build_env::apply(sh, root)?;
    let _dir = sh.push_dir(root);
    // cargo's own exit code is the verdict; its output is the report.
    match cmd!(sh, "cargo test --workspace --release {extra...}").run() {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(_) => Ok(ExitCode::FAILURE),
    }
}
