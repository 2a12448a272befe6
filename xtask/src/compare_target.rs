//! `perf compare`'s own cargo target folder, seeded with the project's
//! compiled third-party crates.
//!
//! Why a folder of its own: cargo names a workspace crate's artifacts by a
//! hash of its path *relative to the workspace root*, so the compare
//! checkout's `perf-contract` and the project's are the same file in a
//! shared target folder. Building another revision there silently replaced
//! the project's rlibs: the next build in the project linked the other
//! revision's code, or failed with E0460 ("found possibly newer version of
//! crate"), as a doctest did in CI.
//!
//! Why seeded: compiling every dependency again takes 11 minutes on the
//! 2-core machine. Third-party artifacts do not depend on the checkout, so
//! the first compare hard-links their rlibs (rustc replaces outputs by
//! renaming, never in place) and copies their fingerprints and build-script
//! folders (build scripts write in place, so those are real copies), with
//! their times kept, which cargo's freshness check relies on. Workspace
//! crates are never seeded: they always compile from the checkout. Seeding
//! runs under the build lock (`compare_checkout`), as every compare build
//! does, so two first compares do not seed it at once.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

/// Marks a seeded folder, so seeding happens once.
const SEEDED: &str = ".seeded-from-project";

/// The project's target folder and the crate names of its workspace.
struct Project {
    target: PathBuf,
    /// Package names (`perf-contract`) and target names (`perf_contract`).
    own: BTreeSet<String>,
}

/// Makes sure `compare_target` exists and holds the project's compiled
/// third-party crates (release profile) before the first compare build.
pub fn seed(sh: &Shell, root: &Path, compare_target: &Path) -> Result<()> {
    let release = compare_target.join("release");
    if release.join(SEEDED).exists() {
        return Ok(());
    }
    let project = project(sh, root)?;
    let from = project.target.join("release");
    fs::create_dir_all(release.join("deps"))
        .with_context(|| format!("cannot create {}", release.display()))?;
    fs::create_dir_all(release.join("build"))?;
    fs::create_dir_all(release.join(".fingerprint"))?;
    if from.join(".fingerprint").is_dir() {
        let libs = third_party(&from.join("deps"), &project.own, |name| {
            name.starts_with("lib") && [".rlib", ".rmeta", ".so"].iter().any(|e| name.ends_with(e))
        })?;
        copy_into(sh, &libs, &release.join("deps"), true)?;
        for dir in ["build", ".fingerprint"] {
            let units = third_party(&from.join(dir), &project.own, |_| true)?;
            copy_into(sh, &units, &release.join(dir), false)?;
        }
    }
    fs::write(release.join(SEEDED), b"")
        .with_context(|| format!("cannot write {}", release.join(SEEDED).display()))
}

fn project(sh: &Shell, root: &Path) -> Result<Project> {
    let _dir = sh.push_dir(root);
    let out = cmd!(sh, "cargo metadata --no-deps --format-version 1 --offline")
        .quiet()
        .ignore_stderr()
        .read()
        .context("cargo metadata failed in the project folder")?;
    let meta: serde_json::Value =
        serde_json::from_str(&out).context("cargo metadata printed something unexpected")?;
    let target = meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata names no target directory")?;
    let mut own = BTreeSet::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        if let Some(name) = package["name"].as_str() {
            own.insert(name.to_string());
            own.insert(name.replace('-', "_"));
        }
        for t in package["targets"].as_array().into_iter().flatten() {
            if let Some(name) = t["name"].as_str() {
                own.insert(name.to_string());
                own.insert(name.replace('-', "_"));
            }
        }
    }
    Ok(Project { target, own })
}

/// Entries of `dir` accepted by `keep` whose crate is not the workspace's.
fn third_party(
    dir: &Path,
    own: &BTreeSet<String>,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<PathBuf>> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if keep(&name) && !own.contains(crate_of(&name)) {
            found.push(entry.path());
        }
    }
    Ok(found)
}

/// `libperf_contract-0123abcd.rlib` and `perf-contract-0123abcd` →
/// the crate part before the hash.
fn crate_of(name: &str) -> &str {
    let name = name.strip_prefix("lib").unwrap_or(name);
    name.rsplit_once('-').map_or(name, |(krate, _hash)| krate)
}

/// `cp -a` (times kept) of `paths` into `dest`, hard-linked when asked and
/// possible (another file system falls back to copies).
fn copy_into(sh: &Shell, paths: &[PathBuf], dest: &Path, link: bool) -> Result<()> {
    for chunk in paths.chunks(500) {
        let linked = link
            && cmd!(sh, "cp -a --link {chunk...} {dest}")
                .quiet()
                .ignore_stderr()
                .run()
                .is_ok();
        if !linked {
            cmd!(sh, "cp -a {chunk...} {dest}")
                .quiet()
                .run()
                .with_context(|| format!("cannot seed {}", dest.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::crate_of;

    #[test]
    fn crate_names_are_read_off_artifact_and_unit_names() {
        assert_eq!(
            crate_of("libperf_contract-717af025ad2c595f.rlib"),
            "perf_contract"
        );
        assert_eq!(crate_of("perf-contract-717af025ad2c595f"), "perf-contract");
        assert_eq!(
            crate_of("llama-cpp-sys-2-d1dbd73adf557300"),
            "llama-cpp-sys-2"
        );
        assert_eq!(crate_of("libserde-0123.so"), "serde");
    }
}
