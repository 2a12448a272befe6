//! What both halves of plan resolution (`resolve` and `resolve_vector`)
//! read their inputs with: the machine's defaults, paths made absolute
//! against where they were given, and repeated flags taken once. A module
//! of its own so that `resolve` can call `resolve_vector` without the two
//! importing each other.

use std::path::{Path, PathBuf};

/// Where the defaults live on this machine.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub root: PathBuf,
    /// The Rust book from the `rust-docs` component, when rustc reports a sysroot.
    pub rust_book: Option<PathBuf>,
}

/// `p` as given, or relative to `base` (the working directory for a flag,
/// the file's folder for a `perf.toml` key).
pub fn absolute(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// `w` without repeats, in the order first given.
pub fn dedup<T: Copy + PartialEq>(w: &[T]) -> Vec<T> {
    let mut out = Vec::new();
    for &x in w {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}
