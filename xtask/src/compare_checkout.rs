//! `perf compare`'s one kept checkout, `target/compare/tree`: a detached
//! git worktree of this repository, switched to each compared revision,
//! and the lock that gives it to one compare at a time.
//!
//! Whose checkout: `target/` may be copied from another clone, or the
//! folder replaced by a link, and git run in a worktree acts on the
//! repository its `.git` file names: switching such a checkout moved that
//! other repository's HEAD and index. So before git runs in it, the
//! checkout must be a folder (not a link) whose `.git` file names an entry
//! under this repository's `worktrees/` that names this folder back (a
//! copy of another worktree of this repository names that one). Anything
//! else is deleted as a folder, git never run in it, and made afresh. The
//! caller's repository variables (`GIT_DIR`, which git sets for a hook)
//! are dropped from every git command here, so they cannot redirect one.
//!
//! One at a time: two compares switching the checkout under each other's
//! builds kept one revision's binary under another's tree. The build lock
//! (`target/compare/build.lock`, an flock, so it is released when its
//! process dies however it dies) is held from the check of a kept binary
//! to its stamp; a compare that finds it taken says whom it waits for.

use std::{
    fs::{self, File, OpenOptions, TryLockError},
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use xshell::{cmd, Cmd, Shell};

use crate::store::Store;

/// Variables that point git at a repository other than the one of the
/// folder it runs in (from `git rev-parse --local-env-vars`).
const REPOSITORY_VARIABLES: [&str; 6] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
];

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// `git` as the folder given with `-C` finds its repository.
fn git(c: Cmd<'_>) -> Cmd<'_> {
    REPOSITORY_VARIABLES
        .iter()
        .fold(c.quiet(), |c, var| c.env_remove(var))
}

/// The right to switch the checkout, build in `target/compare/target` and
/// keep binaries, until dropped (or the process ends).
#[derive(Debug)]
pub struct BuildLock {
    _file: File,
}

/// Takes the build lock, waiting (and saying so on stderr) while another
/// compare holds it.
pub fn lock(store: &Store) -> Result<BuildLock> {
    let path = store.compare_lock();
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = fs::read_to_string(&path)
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
                .map(|pid| format!(" (pid {pid})"))
                .unwrap_or_default();
            eprintln!(
                "waiting for another perf compare{holder} to finish building in {}",
                store.compare_tree().display()
            );
            file.lock()
                .with_context(|| format!("cannot lock {}", path.display()))?;
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
    // Whom the next compare to wait names.
    file.set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(BuildLock { _file: file })
}

/// What `target/compare/tree` is.
#[derive(Debug, PartialEq)]
enum Whose {
    Nobody,
    Ours,
    /// Not this repository's checkout at this path, and why.
    Other(String),
}

/// Puts `commit` into the shared checkout: created once, then switched,
/// which rewrites only the files that differ. Call with the build lock held.
pub fn check_out(sh: &Shell, root: &Path, checkout: &Path, commit: &str) -> Result<()> {
    match whose(sh, root, checkout)? {
        Whose::Ours => {
            let switched = git(cmd!(
                sh,
                "git -C {checkout} checkout --quiet --detach --force {commit}"
            ))
            .ignore_stderr()
            .run()
            .is_ok()
                && git(cmd!(sh, "git -C {checkout} clean --quiet -fd"))
                    .run()
                    .is_ok();
            if switched {
                return Ok(());
            }
            // One an interrupted compare left broken: start over.
            let _ = git(cmd!(sh, "git -C {root} worktree remove --force {checkout}"))
                .ignore_stderr()
                .run();
        }
        Whose::Nobody => {}
        Whose::Other(why) => eprintln!(
            "{} is not this repository's compare checkout ({why}): deleting the folder and checking out afresh",
            checkout.display()
        ),
    }
    remove(checkout)?;
    let _ = git(cmd!(sh, "git -C {root} worktree prune")).run();
    if let Some(parent) = checkout.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    git(cmd!(
        sh,
        "git -C {root} worktree add --quiet --detach --force {checkout} {commit}"
    ))
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

/// Deletes `path` as it is: a link or file is unlinked (never followed),
/// a folder removed with what it holds.
fn remove(path: &Path) -> Result<()> {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return Ok(());
    };
    let removed = if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    removed.with_context(|| format!("cannot delete {}: delete it yourself", path.display()))
}

/// Whose checkout `checkout` is, read from its `.git` file and this
/// repository's worktree entry; git runs in the project folder only.
fn whose(sh: &Shell, root: &Path, checkout: &Path) -> Result<Whose> {
    let Ok(meta) = fs::symlink_metadata(checkout) else {
        return Ok(Whose::Nobody);
    };
    if !meta.is_dir() {
        return Ok(Whose::Other("it is a link or a file, not a folder".into()));
    }
    let dot_git = checkout.join(".git");
    let Some(named) = fs::read_to_string(&dot_git).ok().and_then(|text| {
        let line = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?;
        Some(checkout.join(line.trim()))
    }) else {
        return Ok(Whose::Other("it has no .git file naming a worktree".into()));
    };
    let common = git(cmd!(
        sh,
        "git -C {root} rev-parse --path-format=absolute --git-common-dir"
    ))
    .read()
    .with_context(|| format!("git finds no repository in {}", root.display()))?;
    let worktrees = PathBuf::from(common).join("worktrees");
    let entry = fs::canonicalize(&named)
        .ok()
        .filter(|e| fs::canonicalize(&worktrees).is_ok_and(|w| e.parent() == Some(w.as_path())));
    let Some(entry) = entry else {
        return Ok(Whose::Other(format!(
            "its .git names {}, no worktree entry in {}",
            named.display(),
            worktrees.display()
        )));
    };
    // The entry's own record of where its worktree's `.git` is (relative
    // to the entry when git keeps relative paths).
    let back = fs::read_to_string(entry.join("gitdir")).unwrap_or_default();
    let back = entry.join(back.trim());
    if fs::canonicalize(&back).ok() != fs::canonicalize(&dot_git).ok() {
        return Ok(Whose::Other(format!(
            "its .git names the entry {} of the worktree at {}",
            entry.display(),
            back.display()
        )));
    }
    Ok(Whose::Ours)
}

/// `None` when the checkout holds exactly `tree`, with no file changed or
/// added; else what differs. Call with the build lock held, after
/// [`check_out`].
pub fn difference(sh: &Shell, checkout: &Path, tree: &str) -> Result<Option<String>> {
    let spec = "HEAD^{tree}";
    let holds = git(cmd!(
        sh,
        "git -C {checkout} rev-parse --verify --quiet {spec}"
    ))
    .read()
    .with_context(|| format!("git cannot read the tree of {}", checkout.display()))?;
    if holds != tree {
        return Ok(Some(format!(
            "it holds tree {}, not {}",
            short(&holds),
            short(tree)
        )));
    }
    let status = git(cmd!(
        sh,
        "git -C {checkout} status --porcelain --untracked-files=all"
    ))
    .read()
    .with_context(|| format!("git cannot read the status of {}", checkout.display()))?;
    let changed: Vec<&str> = status.lines().map(|l| l.get(3..).unwrap_or(l)).collect();
    Ok((!changed.is_empty()).then(|| {
        format!(
            "{} file(s) differ from it: {}",
            changed.len(),
            changed[..changed.len().min(3)].join(", ")
        )
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::process::Command;

    use super::*;
    use crate::store::Store;

    /// git in `dir`, with an identity of its own and none of the caller's
    /// repository variables; its trimmed stdout.
    pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=perf test", "-c", "user.email=perf@test"])
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// A repository at `dir` with one commit per entry of `contents`, each
    /// setting `file.txt` to it; the commit ids, oldest first.
    pub(crate) fn repo_with_commits(dir: &Path, contents: &[&str]) -> Vec<String> {
        fs::create_dir_all(dir).unwrap();
        git(dir, &["init", "-q"]);
        contents
            .iter()
            .map(|c| {
                fs::write(dir.join("file.txt"), c).unwrap();
                git(dir, &["add", "file.txt"]);
                git(dir, &["commit", "-q", "-m", c]);
                git(dir, &["rev-parse", "HEAD"])
            })
            .collect()
    }

    /// What compare must not change in another worktree: its HEAD, its
    /// index (by sha256) and its files.
    fn state(admin: &Path, worktree: &Path) -> (String, String, String) {
        (
            fs::read_to_string(admin.join("HEAD")).unwrap(),
            perf_provision::sha256_file(&admin.join("index")).unwrap(),
            fs::read_to_string(worktree.join("file.txt")).unwrap(),
        )
    }

    #[test]
    fn a_checkout_of_another_repository_is_replaced_never_switched() {
        let tmp = tempfile::tempdir().unwrap();
        let project = tmp.path().join("project");
        let commits = repo_with_commits(&project, &["one", "two"]);
        let path = |p: &Path| p.to_str().unwrap().to_string();
        // Another clone of the project (it has the same commits) with a
        // worktree, and a second worktree of the project itself.
        let other = tmp.path().join("other");
        git(tmp.path(), &["clone", "-q", &path(&project), &path(&other)]);
        let other_wt = tmp.path().join("other-wt");
        git(
            &other,
            &[
                "worktree",
                "add",
                "-q",
                "--detach",
                &path(&other_wt),
                &commits[0],
            ],
        );
        let side = tmp.path().join("side");
        git(
            &project,
            &[
                "worktree",
                "add",
                "-q",
                "--detach",
                &path(&side),
                &commits[0],
            ],
        );
        let store = Store::new(&project);
        let checkout = store.compare_tree();
        fs::create_dir_all(checkout.parent().unwrap()).unwrap();
        let sh = Shell::new().unwrap();
        let common = fs::canonicalize(project.join(".git")).unwrap();
        let setups: [(&str, &Path, PathBuf, bool); 3] = [
            (
                "a copy of another clone's worktree",
                &other_wt,
                other.join(".git/worktrees/other-wt"),
                false,
            ),
            (
                "a link to another clone's worktree",
                &other_wt,
                other.join(".git/worktrees/other-wt"),
                true,
            ),
            (
                "a copy of another worktree of the project",
                &side,
                project.join(".git/worktrees/side"),
                false,
            ),
        ];
        let mut moved = Vec::new();
        for (what, worktree, admin, link) in setups {
            let _ = fs::remove_file(&checkout).or_else(|_| fs::remove_dir_all(&checkout));
            if link {
                std::os::unix::fs::symlink(worktree, &checkout).unwrap();
            } else {
                let cp = Command::new("cp")
                    .args(["-a", &path(worktree), &path(&checkout)])
                    .status()
                    .unwrap();
                assert!(cp.success());
            }
            let before = state(&admin, worktree);
            check_out(&sh, &project, &checkout, &commits[1]).unwrap();
            let after = state(&admin, worktree);
            if after != before {
                moved.push(format!("{what}: {before:?} became {after:?}"));
                continue;
            }
            assert_eq!(git(&checkout, &["rev-parse", "HEAD"]), commits[1], "{what}");
            assert_eq!(
                fs::read_to_string(checkout.join("file.txt")).unwrap(),
                "two"
            );
            let theirs = git(
                &checkout,
                &["rev-parse", "--path-format=absolute", "--git-common-dir"],
            );
            assert_eq!(fs::canonicalize(theirs).unwrap(), common, "{what}");
        }
        assert!(
            moved.is_empty(),
            "another worktree's HEAD, index or files changed: {moved:#?}"
        );
    }

    #[test]
    fn the_callers_git_variables_do_not_redirect_the_checkout() {
        let tmp = tempfile::tempdir().unwrap();
        let project = tmp.path().join("project");
        let commits = repo_with_commits(&project, &["one", "two"]);
        let other = tmp.path().join("other");
        let path = |p: &Path| p.to_str().unwrap().to_string();
        git(tmp.path(), &["clone", "-q", &path(&project), &path(&other)]);
        let store = Store::new(&project);
        let checkout = store.compare_tree();
        let sh = Shell::new().unwrap();
        check_out(&sh, &project, &checkout, &commits[1]).unwrap();
        // The project's own checkout is switched in place, not made again
        // (an ignored file in it survives), and a caller's repository
        // variables (a git hook sets GIT_DIR) do not send it elsewhere.
        fs::write(project.join(".git/info/exclude"), "kept-build-state\n").unwrap();
        fs::write(checkout.join("kept-build-state"), "x").unwrap();
        let before = state(&other.join(".git"), &other);
        sh.set_var("GIT_DIR", other.join(".git"));
        sh.set_var("GIT_INDEX_FILE", other.join(".git/index"));
        check_out(&sh, &project, &checkout, &commits[0]).unwrap();
        assert_eq!(state(&other.join(".git"), &other), before);
        assert_eq!(git(&checkout, &["rev-parse", "HEAD"]), commits[0]);
        assert_eq!(
            fs::read_to_string(checkout.join("file.txt")).unwrap(),
            "one"
        );
        assert!(
            checkout.join("kept-build-state").exists(),
            "the checkout was switched, not made again"
        );
    }
}
