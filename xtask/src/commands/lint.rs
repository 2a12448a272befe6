//! `cargo xtask lint`: `cargo fmt --check`, then clippy over every target
//! of the workspace with warnings as errors. Clippy compiles llama.cpp's
//! bindings like a build does, so it needs the same build settings
//! (`build_env`): a bare `cargo clippy` on a machine without libclang
//! failed in llama-cpp-sys's build script, and one with other settings
//! would compile llama.cpp a second time.

use std::{path::Path, process::ExitCode};

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

use crate::{build_env, children};

pub fn run(sh: &Shell, root: &Path) -> Result<ExitCode> {
    build_env::apply(sh, root)?;
    let _dir = sh.push_dir(root);
    let steps: [std::process::Command; 2] = [
        cmd!(sh, "cargo fmt --all --check").into(),
        cmd!(
            sh,
            "cargo clippy --workspace --all-targets --release -- -D warnings"
        )
        .into(),
    ];
    for step in steps {
        let status = children::reaped(&step)
            .status()
            .with_context(|| format!("cannot start {:?}", step.get_program()))?;
        if !status.success() {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}
