//! A tidy check of its own: no two files of a crate import each other,
//! directly or around a circle. Files that import each other cannot be
//! understood, tested or moved one at a time; the redesign removed the last
//! such circle (the protocol and the baseline schema) and this keeps it so.
//!
//! Only `use crate::…` and `use super::…` items count, resolved to the file
//! of the longest module path they name. The crate root (`lib.rs`,
//! `main.rs`) declares and re-exports every module, so edges from it are not
//! counted; test modules (from `#[cfg(test)]` on) are left out, as their
//! `use super::*` is their own file.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use crate::project_root;

/// A crate's module files by module path (`["workloads", "passes"]`).
fn module_files(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            out.insert(module, path);
        }
    }
    out
}

/// Every path a use-tree names, flattened: `a::{b, c::{d}}` gives
/// `a::b`, `a::c::d`.
fn flatten(tree: &str) -> Vec<Vec<String>> {
    fn parse(s: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let s = s.trim();
        if let Some(open) = s.find('{') {
            let head: Vec<String> = split_path(&s[..open]);
            let inner = &s[open + 1..s.rfind('}').unwrap_or(s.len())];
            let mut base = prefix.to_vec();
            base.extend(head);
            for item in split_top_level(inner) {
                parse(item, &base, out);
            }
        } else if !s.is_empty() {
            let mut path = prefix.to_vec();
            path.extend(split_path(s.split(" as ").next().unwrap_or(s)));
            out.push(path);
        }
    }
    let mut out = Vec::new();
    parse(tree, &[], &mut out);
    out
}

fn split_path(s: &str) -> Vec<String> {
    s.split("::")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Splits at commas outside braces.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// The files `module`'s non-test code imports from its own crate.
fn imports(
    module: &[String],
    text: &str,
    files: &BTreeMap<Vec<String>, PathBuf>,
) -> BTreeSet<Vec<String>> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut out = BTreeSet::new();
    for item in code.split(';') {
        let Some(tree) = item.trim_start().strip_prefix("use ").or_else(|| {
            let pub_use = item.trim_start().strip_prefix("pub")?;
            pub_use.split_once("use ").map(|(_, t)| t)
        }) else {
            continue;
        };
        for path in flatten(tree) {
            let absolute: Vec<String> = match path.first().map(String::as_str) {
                Some("crate") => path[1..].to_vec(),
                Some("super") => {
                    let mut base = module[..module.len().saturating_sub(1)].to_vec();
                    base.extend(path[1..].iter().cloned());
                    base
                }
                _ => continue,
            };
            // The longest module path the import names is its file.
            let target = (1..=absolute.len())
                .rev()
                .map(|n| absolute[..n].to_vec())
                .find(|m| files.contains_key(m));
            if let Some(target) = target.filter(|t| t.as_slice() != module) {
                out.insert(target);
            }
        }
    }
    out
}

/// A circle of imports among `graph`'s files, if there is one.
fn find_circle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        path: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle: Vec<String> = path[at..].iter().map(|m| m.join("::")).collect();
            circle.push(node.join("::"));
            return Some(circle);
        }
        if !done.insert(node.clone()) {
            return None;
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_files_of_a_crate_import_each_other() {
    let root = project_root();
    for krate in [
        "xtask",
        "perf-contract",
        "perf-workloads",
        "perf-profile",
        "perf-report",
        "perf-provision",
    ] {
        let files = module_files(&root.join(krate).join("src"));
        let graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = files
            .iter()
            .filter(|(m, _)| !m.is_empty())
            .map(|(m, path)| {
                let text = fs::read_to_string(path).unwrap();
                (m.clone(), imports(m, &text, &files))
            })
            .collect();
        assert!(
            graph.values().any(|targets| !targets.is_empty()),
            "{krate}: no imports found at all, so the check read nothing"
        );
        if let Some(circle) = find_circle(&graph) {
            panic!(
                "{krate}: files import each other around a circle: {}",
                circle.join(" -> ")
            );
        }
    }
}

#[test]
fn a_circle_is_found() {
    let files: BTreeMap<Vec<String>, PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|m| (vec![m.to_string()], PathBuf::from(format!("{m}.rs"))))
        .collect();
    let graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = [
        ("a", "use crate::{b::X, c};"),
        ("b", "pub use super::c::Y;"),
        (
            "c",
            "use crate::a::Z;\n#[cfg(test)]\nmod tests { use crate::b::Q; }",
        ),
    ]
    .iter()
    .map(|(m, text)| {
        let m = vec![m.to_string()];
        let i = imports(&m, text, &files);
        (m, i)
    })
    .collect();
    assert_eq!(graph[&vec!["c".to_string()]].len(), 1, "test code left out");
    let circle = find_circle(&graph).expect("a -> b -> c -> a");
    assert_eq!(circle.first(), circle.last());
    assert_eq!(circle.len(), 4, "{circle:?}");
}
