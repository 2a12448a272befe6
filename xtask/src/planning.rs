//! The plan of a measuring command, resolved once: the machine's defaults
//! found (the Rust book's path from rustc), flags merged with the loaded
//! `perf.toml` ([`resolve`](crate::resolve::resolve), which is pure), and
//! the inputs checked to exist so a typo fails before a seven-minute build.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use perf_contract::plan::Plan;
use xshell::{cmd, Shell};

use crate::{cli::RunArgs, config::LoadedConfig, plan_inputs::Defaults, resolve::resolve};

/// Config file + flags → validated plan, with the inputs checked to exist so
/// a typo fails before a seven-minute build.
pub fn plan_for(
    sh: &Shell,
    root: &Path,
    cwd: &Path,
    args: &RunArgs,
    loaded: &LoadedConfig,
) -> Result<Plan> {
    let defaults = Defaults {
        root: root.to_path_buf(),
        rust_book: cmd!(sh, "rustc --print sysroot")
            .quiet()
            .read()
            .ok()
            .map(|s| PathBuf::from(s).join("share/doc/rust/html/book")),
    };
    let plan = resolve(args, loaded, &defaults, cwd)?;
    preflight(&plan, args, &defaults)?;
    Ok(plan)
}

fn preflight(plan: &Plan, args: &RunArgs, defaults: &Defaults) -> Result<()> {
    let dir = &plan.corpus.dir;
    if !dir.is_dir() {
        if Some(dir) == defaults.rust_book.as_ref() {
            bail!(
                "default corpus {} not found: install it with `rustup component add rust-docs`, or pass --corpus DIR",
                dir.display()
            );
        }
        let from = if args.corpus.is_some() {
            "--corpus"
        } else {
            "[corpus] dir"
        };
        bail!(
            "corpus folder {} ({from}) does not exist or is not a folder",
            dir.display()
        );
    }
    if !plan.queries.is_file() {
        bail!(
            "query file {} does not exist (--queries FILE)",
            plan.queries.display()
        );
    }
    if let Some(model) = &plan.embedding_model.path {
        if !model.is_dir() {
            bail!(
                "model folder {} (--model-dir) does not exist",
                model.display()
            );
        }
    }
    crate::vector_memory::check(plan, crate::vector_memory::available_bytes())?;
    if plan.workloads.iter().any(|w| w.uses_llm()) {
        if let Some(gguf) = &plan.llm.model {
            if !gguf.is_file() {
                let from = if args.llm_model.is_some() {
                    "--llm-model"
                } else {
                    "[llm] model"
                };
                bail!("GGUF model {} ({from}) does not exist", gguf.display());
            }
        }
    }
    Ok(())
}
