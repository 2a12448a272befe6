//! The two sides of `perf compare`: git revisions (or the working tree)
//! resolved to commit ids, and each side's `perf-workloads` built from its
//! own tree.
//!
//! A commit is checked out as a detached worktree under `target/compare/`
//! and built into this project's target folder, so the dependencies (candle,
//! llama.cpp, usearch) compiled for the working tree serve it too and only
//! the workspace crates compile again. The binary is then kept by commit id
//! (`target/compare/bin/<id>/`) and the checkout removed: comparing against
//! the same commit again builds nothing. The working tree is built in place,
//! last, because every build of either tree writes the same
//! `target/release/perf-workloads`.

use std::{
    fs,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::{runner, store::Store};

/// What one side runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tree {
    /// The working tree as it is, uncommitted changes included.
    Working { head: String, dirty: bool },
    /// A commit, as named on the command line.
    Commit { name: String, id: String },
}

impl Tree {
    /// How reports name the side: `HEAD (1a2b3c4d5e6f)`, `working tree`.
    pub fn describe(&self) -> String {
        match self {
            Tree::Working { head, dirty: true } => {
                format!("working tree (HEAD {} + uncommitted changes)", short(head))
            }
            Tree::Working { head, dirty: false } => {
                format!("working tree (clean, {})", short(head))
            }
            Tree::Commit { name, id } if name == id => short(id).to_string(),
            Tree::Commit { name, id } => format!("{name} ({})", short(id)),
        }
    }

    /// The commit this side's code is exactly, if any: a clean working
    /// tree is its HEAD.
    pub fn exact_commit(&self) -> Option<&str> {
        match self {
            Tree::Working { head, dirty: false } => Some(head),
            Tree::Working { dirty: true, .. } => None,
            Tree::Commit { id, .. } => Some(id),
        }
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// `name` as a commit, or the working tree when `None`.
pub fn resolve(sh: &Shell, root: &Path, name: Option<&str>) -> Result<Tree> {
    let _dir = sh.push_dir(root);
    let Some(name) = name else {
        let head = rev_parse(sh, "HEAD")?;
        // Untracked files count: a new module the build reads is a change.
        let status = cmd!(sh, "git status --porcelain").quiet().read()?;
        return Ok(Tree::Working {
            head,
            dirty: !status.trim().is_empty(),
        });
    };
    Ok(Tree::Commit {
        name: name.to_string(),
        id: rev_parse(sh, name)?,
    })
}

fn rev_parse(sh: &Shell, name: &str) -> Result<String> {
    let spec = format!("{name}^{{commit}}");
    cmd!(sh, "git rev-parse --verify --quiet {spec}")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .filter(|s| !s.is_empty())
        .with_context(|| format!("revision `{name}` is not a commit of this repository (try HEAD, HEAD~1, origin/main or a commit id)"))
}

/// One side's binary and how it came to be.
#[derive(Debug, Clone)]
pub struct Built {
    pub binary: PathBuf,
    /// `None` when a kept build was reused.
    pub build_time: Option<Duration>,
}

/// Builds `tree`'s perf-workloads, or reuses the kept build of its commit.
pub fn build(sh: &Shell, store: &Store, tree: &Tree) -> Result<Built> {
    let root = store.root();
    let id = match tree {
        Tree::Working { .. } => {
            let start = Instant::now();
            let binary = runner::build_workloads(sh, root)?;
            return Ok(Built {
                binary,
                build_time: Some(start.elapsed()),
            });
        }
        Tree::Commit { id, .. } => id,
    };
    let kept = store.compare_binary(id);
    if kept.is_file() {
        return Ok(Built {
            binary: kept,
            build_time: None,
        });
    }
    let start = Instant::now();
    let checkout = store.compare_tree(id);
    checkout_commit(sh, root, &checkout, id)?;
    let built = runner::build_workloads_from(sh, root, &checkout, &[]);
    let kept_now = built.and_then(|binary| keep(&binary, &kept));
    // The checkout is only needed to build; its target is shared.
    let _ = cmd!(sh, "git -C {root} worktree remove --force {checkout}")
        .quiet()
        .ignore_stderr()
        .run();
    kept_now.with_context(|| {
        format!(
            "building perf-workloads of commit {} (checked out in {})",
            short(id),
            checkout.display()
        )
    })?;
    Ok(Built {
        binary: kept,
        build_time: Some(start.elapsed()),
    })
}

fn checkout_commit(sh: &Shell, root: &Path, checkout: &Path, id: &str) -> Result<()> {
    // A checkout left by an interrupted compare is replaced, not trusted.
    let _ = cmd!(sh, "git -C {root} worktree remove --force {checkout}")
        .quiet()
        .ignore_stderr()
        .run();
    let _ = fs::remove_dir_all(checkout);
    let _ = cmd!(sh, "git -C {root} worktree prune").quiet().run();
    if let Some(parent) = checkout.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    cmd!(
        sh,
        "git -C {root} worktree add --detach --force {checkout} {id}"
    )
    .quiet()
    .ignore_stdout()
    .run()
    .with_context(|| {
        format!(
            "cannot check out commit {} into {}",
            short(id),
            checkout.display()
        )
    })?;
    Ok(())
}

/// Copies the freshly built binary to its kept place, whole or not at all.
fn keep(binary: &Path, kept: &Path) -> Result<()> {
    let dir = kept.parent().expect("kept binaries live in a folder");
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(".perf-workloads.tmp{}", std::process::id()));
    fs::copy(binary, &tmp)
        .with_context(|| format!("cannot copy {} to {}", binary.display(), tmp.display()))?;
    fs::rename(&tmp, kept)
        .with_context(|| format!("cannot move the build to {}", kept.display()))?;
    if !kept.is_file() {
        bail!("{} vanished after it was written", kept.display());
    }
    Ok(())
}
