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

/// Reads every supported file under `dir` (sorted by path, so runs are
/// reproducible), skipping `exclude` globs and files with no text.
/// Returns the documents and the bytes of the files they came from.
pub fn load_documents(
    dir: &Path,
    exclude: &[String],
) -> Result<(Vec<Document>, u64), WorkloadError> {
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
    for path in paths {
        let raw = fs::read(&path).map_err(|e| WorkloadError::Io {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let size = raw.len() as u64;
        let raw = String::from_utf8_lossy(&raw);
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
        let id = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        docs.push(Document { id, text });
    }
    if docs.is_empty() {
        return Err(WorkloadError::CorpusEmpty(dir.to_path_buf()));
    }
    Ok((docs, bytes))
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
        let (docs, bytes) = load_documents(d, &["print.html".into()]).unwrap();
        let ids: Vec<_> = docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["a.txt", "b.md", "sub/c.html"]);
        assert_eq!(docs[0].text, "ay");
        assert_eq!(docs[2].text, "see");
        assert!(bytes > 0);
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
