//! Loading parent documents from a folder of `.md`, `.txt` and `.html` files.

use std::{
    fs,
    path::{Path, PathBuf},
};

use globset::{Glob, GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

use crate::{corpus::html::html_to_text, error::WorkloadError};

/// A parent document: one source file's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Path relative to the corpus folder, `/`-separated: the parent id.
    pub id: String,
    pub text: String,
}

const EXTENSIONS: [&str; 5] = ["md", "markdown", "txt", "html", "htm"];

/// What a corpus folder gave.
#[derive(Debug)]
pub struct Loaded {
    pub documents: Vec<Document>,
    /// Bytes of the files the documents came from.
    pub source_bytes: u64,
    /// Files that are not UTF-8 text (another encoding, binary data with a
    /// text extension), by id: left out, since a lossy decoding would index
    /// replacement characters as if they were the text.
    pub not_utf8: Vec<String>,
}

impl Loaded {
    /// The line a run records when files were left out, if any were.
    pub fn skipped_note(&self, dir: &Path) -> Option<String> {
        let first = self.not_utf8.first()?;
        Some(format!(
            "corpus {}: {} file(s) left out because they are not UTF-8 text (first: {first}); convert them to UTF-8 to include them",
            dir.display(),
            self.not_utf8.len()
        ))
    }
}

/// Reads every supported file under `dir` (sorted by path, so runs are
/// reproducible), skipping `exclude` globs, files with no text and files
/// that are not UTF-8 (named in [`Loaded::not_utf8`]).
pub fn load_documents(dir: &Path, exclude: &[String]) -> Result<Loaded, WorkloadError> {
    if !dir.is_dir() {
        return Err(WorkloadError::CorpusMissing(dir.to_path_buf()));
    }
    let excluded = build_globset(exclude)?;
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in WalkDir::new(dir).follow_links(true) {
        let entry = entry.map_err(|e| WorkloadError::Io {
            path: e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.to_path_buf()),
            message: e.to_string(),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let supported = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        let rel = path.strip_prefix(dir).unwrap_or(path);
        if supported && !excluded.is_match(rel) {
            paths.push(path.to_path_buf());
        }
    }
    paths.sort();

    let mut docs = Vec::with_capacity(paths.len());
    let mut bytes = 0;
    let mut not_utf8 = Vec::new();
    let id_of = |path: &Path| {
        path.strip_prefix(dir)
            .unwrap_or(path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    };
    for path in paths {
        let raw = fs::read(&path).map_err(|e| WorkloadError::Io {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let size = raw.len() as u64;
        let Ok(raw) = String::from_utf8(raw) else {
            not_utf8.push(id_of(&path));
            continue;
        };
        let is_html = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
        let text = if is_html {
            html_to_text(&raw)
        } else {
            raw.trim().to_string()
        };
        if text.is_empty() {
            continue;
        }
        bytes += size;
        docs.push(Document {
            id: id_of(&path),
            text,
        });
    }
    if docs.is_empty() {
        return Err(WorkloadError::CorpusEmpty(dir.to_path_buf()));
    }
    Ok(Loaded {
        documents: docs,
        source_bytes: bytes,
        not_utf8,
    })
}

fn build_globset(patterns: &[String]) -> Result<GlobSet, WorkloadError> {
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p)
            .map_err(|e| WorkloadError::Config(format!("bad exclude pattern `{p}`: {e}")))?;
        builder.add(glob);
    }
    builder
        .build()
        .map_err(|e| WorkloadError::Config(format!("bad exclude patterns: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_supported_files_in_path_order_and_honours_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir(d.join("sub")).unwrap();
        fs::write(d.join("b.md"), "# B\nbee").unwrap();
        fs::write(d.join("a.txt"), "  ay  ").unwrap();
        fs::write(d.join("sub/c.html"), "<main><p>see</p></main>").unwrap();
        fs::write(d.join("print.html"), "<main><p>everything</p></main>").unwrap();
        fs::write(d.join("image.png"), [0u8, 1, 2]).unwrap();
        fs::write(d.join("empty.md"), "   ").unwrap();
        let Loaded {
            documents: docs,
            source_bytes: bytes,
            ..
        } = load_documents(d, &["print.html".into()]).unwrap();
        let ids: Vec<_> = docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["a.txt", "b.md", "sub/c.html"]);
        assert_eq!(docs[0].text, "ay");
        assert_eq!(docs[2].text, "see");
        assert!(bytes > 0);
    }

    #[test]
    fn files_that_are_not_utf8_are_left_out_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("good.md"), "caf\u{e9} au lait").unwrap();
        // Latin-1 "café" and random bytes with a text extension.
        fs::write(d.join("latin1.txt"), b"caf\xe9 au lait").unwrap();
        fs::write(d.join("noise.md"), [0xffu8, 0xfe, 0x00, 0x81, 0x9f]).unwrap();
        let loaded = load_documents(d, &[]).unwrap();
        let ids: Vec<_> = loaded.documents.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["good.md"]);
        assert_eq!(loaded.not_utf8, ["latin1.txt", "noise.md"]);
        let note = loaded.skipped_note(d).unwrap();
        assert!(note.contains("2 file(s) left out"), "{note}");
        assert!(note.contains("latin1.txt"), "{note}");
        assert!(!loaded.documents[0].text.contains('\u{fffd}'));
    }

    #[test]
    fn missing_and_empty_corpus_are_distinct_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert!(matches!(
            load_documents(&missing, &[]),
            Err(WorkloadError::CorpusMissing(_))
        ));
        fs::write(dir.path().join("x.png"), "x").unwrap();
        assert!(matches!(
            load_documents(dir.path(), &[]),
            Err(WorkloadError::CorpusEmpty(_))
        ));
    }
}
