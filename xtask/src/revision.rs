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
//! builds once. A kept binary is reused only beside a stamp that vouches
//! for it, written under the build lock (`compare_checkout`) once git has
//! confirmed the checkout still held exactly that tree after the build:
//! the tree id and the binary's sha256. A binary without one (kept by an
//! older xtask, whose concurrent compares could keep one revision's code
//! under another's tree) or not matching it is built again, with a note.

use std::{
    fs,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use perf_contract::atomic::write_atomic;
use serde::{Deserialize, Serialize};
use xshell::{cmd, Shell};

use crate::{compare_checkout, compare_target, runner, store::Store};

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

/// The file a layout variant changes: in the crate every workload links,
/// so its symbols, their hashes and the order code is laid out in move.
const VARIANT_FILE: &str = "perf-workloads/src/rag.rs";

/// `base` with an unused function appended to [`VARIANT_FILE`], its body
/// depending on `k`: the same work, built into another layout. A commit
/// no branch names, made through a private index like the working tree's
/// snapshot; nothing in the user's tree or index changes.
pub fn layout_variant(sh: &Shell, store: &Store, base: &Source, k: usize) -> Result<Source> {
    let _dir = sh.push_dir(store.root());
    let spec = format!("{}:{VARIANT_FILE}", base.commit);
    let mut text = cmd!(sh, "git show {spec}")
        .quiet()
        .read()
        .with_context(|| format!("cannot read {VARIANT_FILE} of {}", base.label))?;
    // `read` trims the final newline.
    text.push_str(&format!(
        "\n\n/// Added by `perf calibrate --builds` (variant {k}): never called.\n#[allow(dead_code)]\n#[inline(never)]\npub fn calibration_layout_{k}(x: u64) -> u64 {{\n    x.rotate_left({}) ^ {:#x}\n}}\n",
        k % 63 + 1,
        0x5EED + k
    ));
    let index = store.compare_scratch(&format!("index.variant.{}", std::process::id()));
    if let Some(dir) = index.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let commit = base.commit.clone();
    let made = (|| -> Result<(String, String)> {
        let _env = sh.push_env("GIT_INDEX_FILE", &index);
        cmd!(sh, "git read-tree {commit}").quiet().run()?;
        let blob = cmd!(sh, "git hash-object -w --stdin")
            .stdin(text.as_bytes())
            .quiet()
            .read()?;
        let entry = format!("100644,{blob},{VARIANT_FILE}");
        cmd!(sh, "git update-index --cacheinfo {entry}")
            .quiet()
            .run()?;
        let tree = cmd!(sh, "git write-tree").quiet().read()?;
        let message = format!("perf calibrate --builds: layout variant {k}");
        let variant = cmd!(sh, "git commit-tree {tree} -p {commit} -m {message}")
            .quiet()
            .read()?;
        Ok((tree, variant))
    })();
    let _ = fs::remove_file(&index);
    let (tree, variant) = made.context("cannot make a layout variant with git")?;
    Ok(Source {
        label: format!("{} + layout variant {k}", base.label),
        commit: variant,
        tree,
        dirty: false,
    })
}

/// One side's binary and how it came to be.
#[derive(Debug, Clone)]
pub struct Built {
    pub binary: PathBuf,
    /// `None` when a kept build was reused.
    pub build_time: Option<Duration>,
    /// Why a kept build was not reused, when there was one.
    pub note: Option<String>,
}

/// Builds `source`'s perf-workloads in the shared checkout, or reuses the
/// kept build of the same tree.
pub fn build(sh: &Shell, store: &Store, source: &Source) -> Result<Built> {
    let root = store.root();
    build_with(sh, store, source, |sh, checkout, target| {
        compare_target::seed(sh, root, target)?;
        runner::build_workloads_from(sh, root, checkout, &[], Some(target))
    })
}

/// [`build`] with the build itself given: `cargo build` of the checkout
/// (`checkout`, `target` folder) returning the binary it made.
fn build_with(
    sh: &Shell,
    store: &Store,
    source: &Source,
    cargo_build: impl FnOnce(&Shell, &Path, &Path) -> Result<PathBuf>,
) -> Result<Built> {
    // Held from the kept binary's check to its stamp: the checkout, the
    // target folder and the kept binaries are shared by every compare.
    let _lock = compare_checkout::lock(store)?;
    let kept = store.compare_binary(&source.tree);
    let stamp = store.compare_stamp(&source.tree);
    let note = match vouched(&kept, &stamp, &source.tree) {
        Ok(()) => {
            return Ok(Built {
                binary: kept,
                build_time: None,
                note: None,
            })
        }
        Err(None) => None,
        Err(Some(why)) => {
            let note = format!("kept build of {} {why}: built again", source.label);
            eprintln!("{note}");
            Some(note)
        }
    };
    // From here until the new stamp, the kept binary is vouched for by none.
    match fs::remove_file(&stamp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("cannot remove {}", stamp.display()))
        }
        _ => {}
    }
    let start = Instant::now();
    let root = store.root();
    let checkout = store.compare_tree();
    compare_checkout::check_out(sh, root, &checkout, &source.commit)?;
    let target = store.compare_target();
    let binary = cargo_build(sh, &checkout, &target).with_context(|| {
        format!(
            "building perf-workloads of {} (checked out in {})",
            source.label,
            checkout.display()
        )
    })?;
    if let Some(difference) = compare_checkout::difference(sh, &checkout, &source.tree)? {
        bail!(
            "the checkout {} changed while {} was built ({difference}), so the build is not kept: run the compare again",
            checkout.display(),
            source.label
        );
    }
    keep(&binary, &kept)?;
    let sha256 = perf_provision::sha256_file(&kept)
        .with_context(|| format!("cannot read {}", kept.display()))?;
    let vouch = Stamp {
        tree: source.tree.clone(),
        commit: source.commit.clone(),
        sha256,
    };
    let json = serde_json::to_vec_pretty(&vouch).expect("a stamp serializes");
    write_atomic(&stamp, &json).with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(Built {
        binary: kept,
        build_time: Some(start.elapsed()),
        note,
    })
}

/// What a kept binary is, written beside it after its build: the tree the
/// checkout held, verified after the build under the lock, and the
/// binary's sha256 as kept.
#[derive(Debug, Serialize, Deserialize)]
struct Stamp {
    tree: String,
    /// For a reader: the commit built (equal trees, any commit).
    commit: String,
    sha256: String,
}

/// `Ok` when the binary `kept` is vouched for by its `stamp` as built from
/// `tree`; `Err(None)` when there is none, `Err(Some(why))` when there is
/// one the stamp does not vouch for (kept by an older xtask, a build
/// interrupted before its stamp, a binary replaced since).
fn vouched(kept: &Path, stamp: &Path, tree: &str) -> Result<(), Option<String>> {
    if !kept.is_file() {
        return Err(None);
    }
    let Ok(text) = fs::read(stamp) else {
        return Err(Some(
            "has no stamp (kept by an older xtask, or its build was interrupted)".into(),
        ));
    };
    let Ok(vouch) = serde_json::from_slice::<Stamp>(&text) else {
        return Err(Some(format!("has an unreadable stamp {}", stamp.display())));
    };
    if vouch.tree != tree {
        return Err(Some(format!(
            "has the stamp of another tree ({})",
            short(&vouch.tree)
        )));
    }
    match perf_provision::sha256_file(kept) {
        Ok(sha) if sha == vouch.sha256 => Ok(()),
        Ok(sha) => Err(Some(format!(
            "is not the binary its stamp names (sha256 {}…, stamp {}…)",
            short(&sha),
            short(&vouch.sha256)
        ))),
        Err(e) => Err(Some(format!("cannot be read ({e})"))),
    }
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

/// Builds the two sides (`revision::build`: one checkout path, binaries
/// kept by source tree). The same source on both sides (a clean tree
/// against its HEAD) is built once and run as both.
pub fn build_sides(
    sh: &Shell,
    store: &Store,
    base: &Source,
    candidate: &Source,
) -> Result<(Built, Built, Vec<String>)> {
    let mut notes = Vec::new();
    let say = |side: &str, tree: &Source, b: &Built| match b.build_time {
        Some(t) => format!("{side} {} built in {:.0} s", tree.label, t.as_secs_f64()),
        None => format!(
            "{side} {}: kept build reused ({})",
            tree.label,
            b.binary.display()
        ),
    };
    if base.tree == candidate.tree {
        eprintln!("building {} (same code on both sides)", candidate.label);
        let built = build(sh, store, candidate)?;
        notes.extend(built.note.clone());
        notes.push(format!(
            "{}; base and candidate are the same code, so one build runs as both",
            say("candidate", candidate, &built)
        ));
        return Ok((built.clone(), built, notes));
    }
    eprintln!("building base {}", base.label);
    let b = build(sh, store, base)?;
    eprintln!("building candidate {}", candidate.label);
    let c = build(sh, store, candidate)?;
    notes.push(say("base", base, &b));
    notes.push(say("candidate", candidate, &c));
    for line in &notes {
        eprintln!("{line}");
    }
    // Already said on stderr when the build began.
    notes.extend(b.note.clone());
    notes.extend(c.note.clone());
    Ok((b, c, notes))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::compare_checkout::tests::{git, repo_with_commits};

    /// cargo's stand-in: the "binary" is a copy of the checkout's file.txt,
    /// so it says which revision it was built from.
    fn copy_build(builds: &Cell<u32>) -> impl FnOnce(&Shell, &Path, &Path) -> Result<PathBuf> + '_ {
        move |_, checkout, target| {
            builds.set(builds.get() + 1);
            fs::create_dir_all(target)?;
            let binary = target.join("perf-workloads");
            fs::copy(checkout.join("file.txt"), &binary)?;
            Ok(binary)
        }
    }

    /// A project with commits `one` and `two`, and their sources.
    fn project(dir: &Path) -> (Store, Source, Source) {
        let root = dir.join("project");
        repo_with_commits(&root, &["one", "two"]);
        let store = Store::new(&root);
        let sh = Shell::new().unwrap();
        let one = resolve(&sh, &store, Some("HEAD~1")).unwrap();
        let two = resolve(&sh, &store, Some("HEAD")).unwrap();
        (store, one, two)
    }

    #[test]
    fn a_kept_binary_is_reused_only_when_its_stamp_vouches_for_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, one, two) = project(tmp.path());
        let sh = Shell::new().unwrap();
        let builds = Cell::new(0);
        let build = |s: &Source| build_with(&sh, &store, s, copy_build(&builds)).unwrap();
        let holds = |b: &Built| fs::read_to_string(&b.binary).unwrap();

        let first = build(&one);
        assert_eq!((holds(&first).as_str(), builds.get()), ("one", 1));
        let again = build(&one);
        assert_eq!(again.build_time, None, "a kept build is reused");
        assert_eq!(
            (again.binary.as_path(), builds.get()),
            (first.binary.as_path(), 1)
        );

        // What two compares at once left behind: the other revision's
        // binary kept under this revision's tree.
        let other = build(&two);
        fs::copy(&other.binary, &first.binary).unwrap();
        let rebuilt = build(&one);
        assert_eq!((holds(&rebuilt).as_str(), builds.get()), ("one", 3));
        let note = rebuilt.note.unwrap_or_default();
        assert!(note.contains("sha256"), "{note}");

        // A binary kept by an older xtask: no stamp beside it.
        let dir = first.binary.parent().unwrap();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path != first.binary {
                fs::remove_file(path).unwrap();
            }
        }
        fs::write(&first.binary, "two").unwrap();
        let rebuilt = build(&one);
        assert_eq!((holds(&rebuilt).as_str(), builds.get()), ("one", 4));
        let note = rebuilt.note.unwrap_or_default();
        assert!(note.contains("no stamp"), "{note}");
    }

    #[test]
    fn a_build_whose_checkout_changed_meanwhile_is_not_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, one, two) = project(tmp.path());
        let sh = Shell::new().unwrap();
        let builds = Cell::new(0);
        // Another compare switches the checkout while this one compiles,
        // or a file in it changes.
        let switched = build_with(&sh, &store, &one, |sh, checkout, target| {
            let binary = copy_build(&builds)(sh, checkout, target)?;
            git(checkout, &["checkout", "-q", "--detach", &two.commit]);
            Ok(binary)
        });
        let err = format!("{:#}", switched.unwrap_err());
        assert!(err.contains("changed while"), "{err}");
        let edited = build_with(&sh, &store, &one, |sh, checkout, target| {
            let binary = copy_build(&builds)(sh, checkout, target)?;
            fs::write(checkout.join("file.txt"), "edited").unwrap();
            Ok(binary)
        });
        let err = format!("{:#}", edited.unwrap_err());
        assert!(err.contains("changed while"), "{err}");
        // Nothing was kept: the next compare builds `one` again.
        let next = build_with(&sh, &store, &one, copy_build(&builds)).unwrap();
        assert!(next.build_time.is_some());
        assert_eq!(fs::read_to_string(&next.binary).unwrap(), "one");
    }
}
