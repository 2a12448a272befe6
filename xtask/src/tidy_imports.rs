//! A tidy check of its own: no import circle in a crate at any level. No
//! two files import each other, directly or around a circle; and within
//! every folder, its modules (a file, or a sub-folder taken whole) do not
//! either. Modules that import each other cannot be understood, tested or
//! moved one at a time; the redesign removed the last such circles (the
//! protocol and the baseline schema; the plan and the metric names; the
//! two halves of plan resolution) and this keeps it so.
//!
//! A file imports what its `crate::…` and `super::…` paths name, in `use`
//! items and in code alike (`crate::resolve_vector::resolve_vector(..)` is
//! as much a dependency as a `use`), resolved to the file of the longest
//! module path they name; comments and string literals are not code. A
//! module's own children, named by relative paths (`mod key; pub use
//! key::MetricKey;`), are its declarations, as every module is the crate
//! root's, so edges from the crate root and from a module into its children
//! by relative path are not counted. Test modules (from `#[cfg(test)]` on)
//! are left out, as their `use super::*` is their own file.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use crate::project_root;

type Module = Vec<String>;
type Graph = BTreeMap<Module, BTreeSet<Module>>;

/// A crate's module files by module path (`["workloads", "passes"]`).
fn module_files(src: &Path) -> BTreeMap<Module, PathBuf> {
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
            let mut module: Module = rel
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

/// `text` with comments, string and character literals blanked out (so
/// a path in a doc comment or a message is not an import). Lengths and
/// line breaks are kept.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        let start = i;
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"' | '#')) && !ident_before(&chars, i) {
            // r"…", r#"…"#: ends at the quote followed by as many #.
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            i += 2 + hashes;
            while i < chars.len() {
                if chars[i] == '"' && chars[i + 1..].iter().take(hashes).all(|&h| h == '#') {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\'', '\u{..}'); a lifetime has
            // no closing quote right after its first character.
            i += if next == Some('\\') { 3 } else { 2 };
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
            continue;
        }
        let end = i.min(chars.len());
        out.extend(chars[start..end].iter().map(|&c| blank(c)));
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && is_ident_char(chars[i - 1])
}

/// Every path a use-tree names, flattened: `a::{b, c::{d}}` gives
/// `a::b`, `a::c::d`.
fn flatten(tree: &str) -> Vec<Module> {
    fn parse(s: &str, prefix: &[String], out: &mut Vec<Module>) {
        let s = s.trim();
        if let Some(open) = s.find('{') {
            let head: Module = split_path(&s[..open]);
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

fn split_path(s: &str) -> Module {
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

/// The `use` trees of `code` (wherever a `use` item stands) and the
/// code without them.
fn split_uses(code: &str) -> (Vec<String>, String) {
    let chars: Vec<char> = code.chars().collect();
    let (mut trees, mut rest) = (Vec::new(), String::new());
    let mut i = 0;
    while i < chars.len() {
        let is_use = !ident_before(&chars, i)
            && chars[i..].starts_with(&['u', 's', 'e'])
            && chars.get(i + 3).is_some_and(|c| c.is_whitespace());
        if !is_use {
            rest.push(chars[i]);
            i += 1;
            continue;
        }
        let end = chars[i..]
            .iter()
            .position(|&c| c == ';')
            .map_or(chars.len(), |n| i + n);
        trees.push(chars[i + 3..end].iter().collect());
        i = end + 1;
    }
    (trees, rest)
}

/// The paths in code (outside `use` items) that start at `crate` or
/// `super`: `crate::plan::Plan::default()` gives `crate::plan::Plan::default`.
fn paths_in_code(code: &str) -> Vec<Module> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        // Not inside a longer path or name (`a::crate`, `$crate`, `xsuper`).
        let inside = i > 0 && (is_ident_char(chars[i - 1]) || matches!(chars[i - 1], '$' | ':'));
        let starts_here = !inside
            && ["crate::", "super::"]
                .iter()
                .any(|p| chars[i..].iter().take(p.len()).copied().eq(p.chars()));
        if !starts_here {
            i += 1;
            continue;
        }
        let mut path = Vec::new();
        loop {
            let ident: String = chars[i..]
                .iter()
                .take_while(|&&c| is_ident_char(c))
                .collect();
            if ident.is_empty() {
                break;
            }
            i += ident.chars().count();
            path.push(ident);
            if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
                i += 2;
            } else {
                break;
            }
        }
        out.push(path);
    }
    out
}

/// The files `module`'s non-test code imports from its own crate.
fn imports(module: &[String], text: &str, files: &BTreeMap<Module, PathBuf>) -> BTreeSet<Module> {
    let code = code_only(text);
    let code = code.split("#[cfg(test)]").next().unwrap_or(&code);
    let (trees, rest) = split_uses(code);
    let paths = trees
        .iter()
        .flat_map(|t| flatten(t))
        .chain(paths_in_code(&rest));
    let mut out = BTreeSet::new();
    for path in paths {
        let absolute: Module = match path.first().map(String::as_str) {
            Some("crate") => path[1..].to_vec(),
            Some("super") => {
                let ups = path.iter().take_while(|p| *p == "super").count();
                let mut base = module[..module.len().saturating_sub(ups)].to_vec();
                base.extend(path[ups..].iter().cloned());
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
    out
}

/// The graph among the modules directly inside `folder` (a module path):
/// each child file, or child folder with everything under it, is one node;
/// the folder's own file (`mod.rs`) is none of them.
fn within(folder: &[String], files: &Graph) -> Graph {
    let child = |m: &Module| -> Option<Module> {
        (m.len() > folder.len() && m.starts_with(folder)).then(|| m[..=folder.len()].to_vec())
    };
    let mut out = Graph::new();
    for (from, targets) in files {
        let Some(a) = child(from) else { continue };
        let edges = out.entry(a.clone()).or_default();
        for b in targets.iter().filter_map(child).filter(|b| *b != a) {
            edges.insert(b);
        }
    }
    out
}

/// Every module that has modules under it (the crate root included).
fn folders(files: &Graph) -> BTreeSet<Module> {
    files
        .keys()
        .flat_map(|m| (0..m.len()).map(|n| m[..n].to_vec()))
        .collect()
}

/// A circle of imports among `graph`'s nodes, if there is one.
fn find_circle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &Module,
        graph: &Graph,
        path: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
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

/// Every circle of one crate's source folder, at every level, as messages.
fn circles(src: &Path) -> Vec<String> {
    let files = module_files(src);
    let graph: Graph = files
        .iter()
        .filter(|(m, _)| !m.is_empty())
        .map(|(m, path)| {
            let text = fs::read_to_string(path).unwrap();
            (m.clone(), imports(m, &text, &files))
        })
        .collect();
    assert!(
        graph.values().any(|targets| !targets.is_empty()),
        "{}: no imports found at all, so the check read nothing",
        src.display()
    );
    let mut found = Vec::new();
    if let Some(circle) = find_circle(&graph) {
        found.push(format!("files import each other: {}", circle.join(" -> ")));
    }
    for folder in folders(&graph) {
        if let Some(circle) = find_circle(&within(&folder, &graph)) {
            let place = match folder.is_empty() {
                true => "the crate root".to_string(),
                false => format!("`{}`", folder.join("::")),
            };
            found.push(format!(
                "modules in {place} import each other: {}",
                circle.join(" -> ")
            ));
        }
    }
    found
}

#[test]
fn no_import_circle_in_any_crate_at_any_level() {
    let root = project_root();
    let mut found = Vec::new();
    for krate in [
        "xtask",
        "perf-contract",
        "perf-workloads",
        "perf-profile",
        "perf-report",
        "perf-provision",
    ] {
        for circle in circles(&root.join(krate).join("src")) {
            found.push(format!("{krate}: {circle}"));
        }
    }
    assert!(
        found.is_empty(),
        "import circles (move what both sides need into a module of its own):\n{}",
        found.join("\n")
    );
}

/// A throwaway crate folder with these files (path, text).
fn scratch_crate(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn a_circle_of_files_is_found() {
    let files: BTreeMap<Module, PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|m| (vec![m.to_string()], PathBuf::from(format!("{m}.rs"))))
        .collect();
    let graph: Graph = [
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

/// The two circles the check missed when it read `use` items only: a
/// path in code (`plan.rs` named `crate::metric_key::EmbedEngine` in a
/// function, `resolve.rs` called `crate::resolve_vector::resolve_vector`).
#[test]
fn a_path_in_code_is_an_import_and_comments_and_strings_are_not() {
    let dir = scratch_crate(&[
        ("lib.rs", "//! root\nmod plan;\nmod metric_key;\n"),
        (
            "plan.rs",
            "//! Uses [`crate::other`] in a comment.\n\
             fn f() -> Result<(), String> {\n\
                 let _ = \"crate::other::X\";\n\
                 let _ = r#\"super::other\"#;\n\
                 let _: char = '\"';\n\
                 x.parse::<crate::metric_key::EmbedEngine>()\n\
             }\n",
        ),
        ("metric_key/mod.rs", "use crate::plan::EngineName;\n"),
        ("other.rs", "/* crate::plan */ fn g<'a>(s: &'a str) {}\n"),
    ]);
    let files = module_files(dir.path());
    let plan = vec!["plan".to_string()];
    let text = fs::read_to_string(dir.path().join("plan.rs")).unwrap();
    assert_eq!(
        imports(&plan, &text, &files),
        BTreeSet::from([vec!["metric_key".to_string()]])
    );
    let found = circles(dir.path());
    assert!(
        found
            .iter()
            .any(|c| c.contains("plan -> metric_key -> plan")
                || c.contains("metric_key -> plan -> metric_key")),
        "{found:?}"
    );
}

/// Files in two folders can form a circle no two files do: `a/x.rs` →
/// `b/y.rs` and `b/z.rs` → `a/w.rs`. Inside one folder, its modules are
/// checked too (`a/x.rs` → `a/w.rs` → `a/x.rs` through `super::`); a
/// child's `super::` to its own folder's `mod.rs`, and the `mod.rs`
/// re-exporting its children, are no circle.
#[test]
fn circles_between_folders_and_within_one_are_found() {
    let dir = scratch_crate(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a/mod.rs", "mod x;\nmod w;\npub use x::X;\npub struct A;\n"),
        ("a/x.rs", "use crate::b::y::Y;\nuse super::A;\n"),
        ("a/w.rs", "pub struct W;\n"),
        ("b/mod.rs", "pub mod y;\npub mod z;\n"),
        ("b/y.rs", "pub struct Y;\n"),
        ("b/z.rs", "fn f() { crate::a::w::W; }\n"),
    ]);
    let found = circles(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("the crate root") && found[0].contains("a -> b -> a"),
        "{found:?}"
    );

    let dir = scratch_crate(&[
        ("lib.rs", "mod a;\n"),
        ("a/mod.rs", "mod x;\nmod w;\n"),
        ("a/x.rs", "use super::w::W;\npub struct X;\n"),
        (
            "a/w.rs",
            "pub struct W;\nfn f() { super::super::a::x::X; }\n",
        ),
    ]);
    let found = circles(dir.path());
    assert!(
        found.iter().any(|c| c.starts_with("modules in `a`")
            && (c.contains("a::w -> a::x -> a::w") || c.contains("a::x -> a::w -> a::x"))),
        "{found:?}"
    );
}
