//! The binaries a comparison runs, held alike in the page cache.
//!
//! A process's resident set counts the pages of its executable it maps,
//! and how many a fault maps at once depends on how the page cache holds
//! the file: written by the linker or a copy, or read back after eviction.
//! Two byte-identical binaries, one kept for hours and one just copied,
//! gave `peak_rss` 0.3–0.4 MB (0.35%) apart in every round of every
//! compare of a `perf check` series (session 11, Zen 4 VM), which the
//! pairs judged a real difference. Each file's pages are written back and
//! dropped before the rounds, so the first process of each side faults
//! them in the same way. (Reading both back instead cost 6.4 s for two
//! 229 MB binaries, most of it debug info no process maps.) A baseline and
//! an unpaired check (and each calibration session) drop their one binary
//! before their first process too (`measure::measure`; a check's added
//! processes do not: `measure::measure_more`), so a check faults it in as
//! the baseline it is judged against did.

use std::{fs::File, io, os::fd::AsRawFd, path::Path};

/// Writes back and drops each file's cached pages; a file that cannot be
/// is named in the returned note (the rounds still run).
pub fn refresh(files: &[&Path]) -> Option<String> {
    let mut failed = Vec::new();
    for (i, path) in files.iter().enumerate() {
        if files[..i].contains(path) {
            continue;
        }
        if let Err(e) = refresh_one(path) {
            failed.push(format!("{} ({e})", path.display()));
        }
    }
    (!failed.is_empty()).then(|| {
        format!(
            "could not refresh the page cache of {}: a side's peak_rss may differ by how its file is cached",
            failed.join(", ")
        )
    })
}

fn refresh_one(path: &Path) -> io::Result<()> {
    let file = File::open(path)?;
    // Dirty pages (a binary just copied) are not dropped: written first.
    file.sync_data()?;
    // SAFETY: `file` is open for the call; the advice changes no memory of
    // ours. Pages a running process maps stay; the rest are dropped.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_named_and_a_present_one_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().join("bin");
        std::fs::write(&here, vec![7u8; 1 << 20]).unwrap();
        assert_eq!(refresh(&[&here, &here]), None);
        let gone = dir.path().join("gone");
        let note = refresh(&[&here, &gone]).expect("a note");
        assert!(note.contains("gone") && !note.contains("bin ("), "{note}");
    }
}
