//! Where model downloads are staged, and who downloads. Tests run as
//! threads of one process and as several processes at once, all
//! provisioning into one cache: each download gets a folder no other call
//! uses, and threads of one process take turns, so the second finds the
//! first one's verified file instead of fetching it again.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex, MutexGuard,
    },
};

static NEXT: AtomicUsize = AtomicUsize::new(0);
static FETCH: Mutex<()> = Mutex::new(());

/// A folder under `cache_dir` that no other call, thread or process uses.
pub fn private_dir(cache_dir: &Path, what: &str) -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    cache_dir.join(format!(".staging-{what}-{}-{n}", std::process::id()))
}

/// Held from the cache check to the rename of a fetched model.
pub fn fetch_lock() -> MutexGuard<'static, ()> {
    // A thread that panicked while holding it left no partial file behind
    // (files appear by rename only), so the lock stays usable.
    FETCH
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_gets_its_own_folder() {
        let a = private_dir(Path::new("/cache"), "m");
        let b = private_dir(Path::new("/cache"), "m");
        assert_ne!(a, b);
        assert!(a.starts_with("/cache"));
    }
}
