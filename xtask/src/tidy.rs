//! Conventions a reviewer would otherwise repeat, checked as tests: module
//! docs everywhere, no leftover markers, small files, and README commands
//! that still exist.

use std::{fs, path::PathBuf};

use clap::{error::ErrorKind, Parser};

use crate::{cli::Cli, project_root};

/// Every Rust source file of the workspace outside `target/`.
fn rust_files() -> Vec<PathBuf> {
    let root = project_root();
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
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
