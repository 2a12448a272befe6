//! What the performance history asks git: a commit's id, subject and time,
//! the first-parent line of a branch, and whether the working tree holds
//! uncommitted changes (a run of such a tree belongs to no commit).

use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use perf_report::history::record::Commit;
use xshell::{cmd, Shell};

/// `rev` (any revision git resolves) as the history names it.
pub fn commit(sh: &Shell, root: &Path, rev: &str) -> Result<Commit> {
    let _dir = sh.push_dir(root);
    let spec = format!("{rev}^{{commit}}");
    let line = cmd!(sh, "git log -1 --format=%H%x00%cI%x00%s {spec}")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| format!("revision `{rev}` is not a commit of this repository"))?;
    let mut parts = line.splitn(3, '\0');
    let (Some(id), Some(time), Some(subject)) = (parts.next(), parts.next(), parts.next()) else {
        anyhow::bail!("git log gave an unexpected line for `{rev}`: {line:?}");
    };
    let time = DateTime::parse_from_rfc3339(time)
        .with_context(|| format!("git gave commit {id} the time {time:?}"))?
        .with_timezone(&Utc);
    Ok(Commit {
        id: id.to_string(),
        subject: subject.to_string(),
        time,
    })
}

/// The first-parent line ending at `head`, oldest first: the order of
/// the history's x axis. A shallow clone gives the commits it has.
pub fn first_parent_line(sh: &Shell, root: &Path, head: &str) -> Result<Vec<String>> {
    first_parent(sh, root, head)
}

/// The first-parent commits after `good` up to `bad`, oldest first.
pub fn first_parent_range(sh: &Shell, root: &Path, good: &str, bad: &str) -> Result<Vec<String>> {
    first_parent(sh, root, &format!("{good}..{bad}"))
}

/// `git rev-list --first-parent --reverse SPEC`, one id per line.
fn first_parent(sh: &Shell, root: &Path, spec: &str) -> Result<Vec<String>> {
    let _dir = sh.push_dir(root);
    let out = cmd!(sh, "git rev-list --first-parent --reverse {spec}")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| format!("git cannot list the commits of `{spec}`"))?;
    Ok(out.lines().map(str::to_string).collect())
}

/// The tracked files with uncommitted changes, as `git status` names them
/// (empty: the tree is its HEAD's).
pub fn uncommitted(sh: &Shell, root: &Path) -> Result<Vec<String>> {
    let _dir = sh.push_dir(root);
    let out = cmd!(sh, "git status --porcelain --untracked-files=no")
        .quiet()
        .read()
        .context("git cannot say whether the working tree has uncommitted changes")?;
    Ok(out
        .lines()
        .map(|l| l.get(3..).unwrap_or(l).to_string())
        .collect())
}
