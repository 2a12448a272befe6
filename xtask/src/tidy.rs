//! Conventions a reviewer would otherwise repeat, checked as tests: module
//! docs everywhere, no leftover markers, small files, and README commands
//! that still exist.

use std::{fs, path::PathBuf};

use clap::{error::ErrorKind, Parser};

use crate::{cli::Cli, project_root};

/// Every Rust source file of the workspace outside `target/`.
fn rust_files() -> Vec<PathBuf> {
    let root = project_root();
    let mut out: Vec<PathBuf> = workspace_paths()
        .into_iter()
        .filter(|p| p.ends_with(".rs"))
        .map(|p| root.join(p))
        .collect();
    out.sort();
    out
}

#[test]
fn every_module_has_a_doc_comment() {
    let missing: Vec<_> = rust_files()
        .into_iter()
        .filter(|p| !fs::read_to_string(p).unwrap().starts_with("//!"))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading //! doc: {missing:?}"
    );
}

#[test]
fn no_leftover_markers_or_huge_files() {
    // Built from parts so this file does not match itself.
    let markers = [
        ["TO", "DO"].concat(),
        ["FIX", "ME"].concat(),
        ["to", "do!("].concat(),
    ];
    for path in rust_files() {
        let text = fs::read_to_string(&path).unwrap();
        for m in &markers {
            assert!(
                !text.contains(m.as_str()),
                "{} contains {m}",
                path.display()
            );
        }
        let lines = text.lines().count();
        assert!(
            lines <= 600,
            "{} has {lines} lines: split it by what it holds",
            path.display()
        );
    }
}

#[test]
fn readme_commands_exist() {
    let readme = fs::read_to_string(project_root().join("README.md")).unwrap();
    let mut seen = 0;
    for line in readme.lines() {
        let Some(rest) = line.split("cargo xtask perf ").nth(1) else {
            continue;
        };
        let args: Vec<&str> = rest
            .split('#')
            .next()
            .unwrap()
            .split_whitespace()
            .take_while(|a| {
                a.starts_with('-') || a.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
            .collect();
        let sub = args.first().copied().unwrap_or_default();
        if sub.is_empty() || sub.starts_with('-') {
            continue;
        }
        seen += 1;
        let err = Cli::try_parse_from(["cargo xtask", "perf", sub, "--help"]).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::DisplayHelp,
            "README names `cargo xtask perf {sub}`, which does not exist"
        );
    }
    assert!(seen > 0, "README shows no cargo xtask perf command");
}

#[test]
fn commands_never_import_commands() {
    let dir = project_root().join("xtask/src/commands");
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == "mod.rs") {
            continue;
        }
        // A test module's `use super::*` is the file itself.
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace("use super::*", "");
        for needle in ["commands::", "super::"] {
            assert!(
                !text.contains(needle),
                "{} uses `{needle}`: what two commands share belongs in a service module",
                path.display()
            );
        }
    }
}

/// Every path of the workspace outside `target/` and dot-folders,
/// files and folders, relative to the root.
fn workspace_paths() -> Vec<String> {
    let root = project_root();
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.push(format!("{rel}/"));
                stack.push(path);
            } else {
                out.push(rel);
            }
        }
    }
    out
}

/// Backticked paths in ARCHITECTURE.md. The codemap names files by their
/// path from the root or from the folder its bullet describes, so a name
/// counts when some workspace path ends with it; a renamed or deleted file
/// fails.
#[test]
fn architecture_names_only_paths_that_exist() {
    let text = fs::read_to_string(project_root().join("ARCHITECTURE.md")).unwrap();
    let paths = workspace_paths();
    // Folders runs create, absolute system paths, extension lists.
    let generated = ["target/", "profiles/", "/", "~", "$", "http", "."];
    let mut checked = 0;
    let mut missing = Vec::new();
    for (i, span) in text.split('`').enumerate() {
        let looks_like_path = span.contains('/') || span.ends_with(".rs") || span.ends_with(".md");
        if i % 2 == 0
            || !looks_like_path
            || span.contains(|c: char| " <>*{}$…:".contains(c))
            || generated.iter().any(|g| span.starts_with(g))
            || span
                .split('/')
                .next()
                .is_some_and(|s| s.chars().all(|c| c.is_ascii_uppercase()))
        {
            continue;
        }
        checked += 1;
        let found = paths
            .iter()
            .any(|p| p == span || p.ends_with(&format!("/{span}")));
        if !found {
            missing.push(span);
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
    assert!(checked > 40, "only {checked} paths checked");
}

/// The measured binary links the contract, not the reporting side.
#[test]
fn perf_workloads_links_no_reporting_crate() {
    let manifest = fs::read_to_string(project_root().join("perf-workloads/Cargo.toml")).unwrap();
    let normal = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    for name in ["perf-report", "plotters", "comfy-table", "criterion"] {
        assert!(
            !normal.lines().any(|l| l.starts_with(name)),
            "perf-workloads depends on {name}"
        );
    }
}
