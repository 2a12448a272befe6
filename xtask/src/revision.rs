//! The two sides of `perf compare`: git revisions (or the working tree)
//! resolved to the source tree they hold, and each side's `perf-workloads`
//! built from it.
//!
//! Both sides are built from **one checkout path**, `target/compare/tree`
//! (a detached git worktree), into one target folder of their own,
//! `target/compare/target` (seeded with the project's compiled
//! dependencies; `compare_target` says why it is not the project's). The
//! path matters: builds of identical source from two folders put CPU
//! samples under different (inlined) function names, which a
//! function-level diff then shows as change. One path gives identical code
//! identical binaries, and because the checkout is kept, switching it to
//! the other side rewrites only the files that differ, so only the crates
//! they belong to compile again.
//!
//! The working tree, uncommitted and untracked (not ignored) files
//! included, is snapshotted as a tree through a private index; the user's
//! index and files are not touched. Binaries are kept by tree id
//! (`target/compare/bin/<tree>/`): the same source, under any commit,
//! builds once.

use std::{
    fs,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::{compare_target, runner, store::Store};

/// One side's source: how the user named it and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `HEAD (1a2b3c4d5e6f)`, `working tree (HEAD 1a2b… + uncommitted changes)`.
    pub label: String,
    /// A commit holding exactly this source (for an uncommitted working
    /// tree, an unreferenced snapshot commit on top of HEAD).
    pub commit: String,
    /// The git tree id: equal ids are the same source.
    pub tree: String,
    /// A working tree with changes against HEAD (`commit` is a snapshot).
    pub dirty: bool,
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// `name` as a commit, or the working tree when `None`.
pub fn resolve(sh: &Shell, store: &Store, name: Option<&str>) -> Result<Source> {
    let root = store.root();
    let _dir = sh.push_dir(root);
    let Some(name) = name else {
        return working_tree(sh, store);
    };
    let commit = rev_parse(sh, &format!("{name}^{{commit}}")).with_context(|| {
        format!("revision `{name}` is not a commit of this repository (try HEAD, HEAD~1, origin/main or a commit id)")
    })?;
    let tree = rev_parse(sh, &format!("{commit}^{{tree}}"))?;
    let label = if name == commit {
        short(&commit).to_string()
    } else {
        format!("{name} ({})", short(&commit))
    };
    Ok(Source {
        label,
        commit,
        tree,
        dirty: false,
    })
}

fn rev_parse(sh: &Shell, spec: &str) -> Result<String> {
    cmd!(sh, "git rev-parse --verify --quiet {spec}")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .filter(|s| !s.is_empty())
        .with_context(|| format!("git cannot resolve `{spec}`"))
}

/// The working tree as a source: HEAD when nothing differs, else a
/// snapshot of every tracked and untracked (not ignored) file.
fn working_tree(sh: &Shell, store: &Store) -> Result<Source> {
    let head = rev_parse(sh, "HEAD^{commit}")?;
    let head_tree = rev_parse(sh, "HEAD^{tree}")?;
    // A private index: the user's staging area stays as it is.
    let index = store.compare_scratch(&format!("index.{}", std::process::id()));
    if let Some(dir) = index.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tree = {
        let _env = sh.push_env("GIT_INDEX_FILE", &index);
        let snapshot = (|| -> Result<String> {
            cmd!(sh, "git read-tree HEAD").quiet().run()?;
            cmd!(sh, "git add -A").quiet().run()?;
            Ok(cmd!(sh, "git write-tree").quiet().read()?)
        })();
        let _ = fs::remove_file(&index);
        snapshot.context("cannot snapshot the working tree with git")?
    };
    if tree == head_tree {
        return Ok(Source {
            label: format!("working tree (clean, {})", short(&head)),
            commit: head,
            tree,
            dirty: false,
        });
    }
    let message = "perf compare: snapshot of the working tree";
    let commit = cmd!(sh, "git commit-tree {tree} -p {head} -m {message}")
        .quiet()
        .read()
        .context("cannot record the working tree's snapshot with git")?;
    Ok(Source {
        label: format!("working tree (HEAD {} + uncommitted changes)", short(&head)),
        commit,
        tree,
        dirty: true,
    })
}

/// One side's binary and how it came to be.
#[derive(Debug, Clone)]
pub struct Built {
    pub binary: PathBuf,
    /// `None` when a kept build was reused.
    pub build_time: Option<Duration>,
}

/// Builds `source`'s perf-workloads in the shared checkout, or reuses the
/// kept build of the same tree.
pub fn build(sh: &Shell, store: &Store, source: &Source) -> Result<Built> {
    let root = store.root();
    let kept = store.compare_binary(&source.tree);
    if kept.is_file() {
        return Ok(Built {
            binary: kept,
            build_time: None,
        });
    }
    let start = Instant::now();
    let checkout = store.compare_tree();
    check_out(sh, root, &checkout, &source.commit)?;
    let target = store.compare_target();
    compare_target::seed(sh, root, &target)?;
    runner::build_workloads_from(sh, root, &checkout, &[], Some(&target))
        .and_then(|binary| keep(&binary, &kept))
        .with_context(|| {
            format!(
                "building perf-workloads of {} (checked out in {})",
                source.label,
                checkout.display()
            )
        })?;
    Ok(Built {
        binary: kept,
        build_time: Some(start.elapsed()),
    })
}

/// Puts `commit` into the shared checkout: created once, then switched,
/// which rewrites only the files that differ.
fn check_out(sh: &Shell, root: &Path, checkout: &Path, commit: &str) -> Result<()> {
    let switched = checkout.join(".git").exists()
        && cmd!(
            sh,
            "git -C {checkout} checkout --quiet --detach --force {commit}"
        )
        .quiet()
        .ignore_stderr()
        .run()
        .is_ok()
        && cmd!(sh, "git -C {checkout} clean --quiet -fd")
            .quiet()
            .run()
            .is_ok();
    if switched {
        return Ok(());
    }
    // None yet, or one an interrupted compare left broken: start over.
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
        "git -C {root} worktree add --quiet --detach --force {checkout} {commit}"
    )
    .quiet()
    .run()
    .with_context(|| {
        format!(
            "cannot check out {} into {}",
            short(commit),
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
