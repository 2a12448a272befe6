//! Atomic file replacement for what a profile writes: a temporary file beside
//! the target, flushed to disk, then renamed over it. A crash, a full disk or
//! a failed render leaves the old file or the new one, never half an SVG that
//! a browser shows as a broken image.
//!
//! perf-contract has the same helper, but this crate depends on no other
//! workspace crate (perf-report and the workloads attach it as a hook), so it
//! keeps its own copy of these few lines.

use std::{
    fs,
    io::{self, Write},
    path::Path,
};

use crate::ProfileError;

/// Replaces `path` with `contents`, creating its folder if needed.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), ProfileError> {
    replace(path, contents).map_err(|source| ProfileError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    // Same folder, so the rename stays on one file system and is atomic; the
    // process id keeps two processes writing the same target apart.
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/out.svg");
        write_atomic(&target, b"one").unwrap();
        write_atomic(&target, b"two").unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "two");
        assert_eq!(fs::read_dir(target.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn failure_names_the_target_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.svg");
        fs::write(&target, "old").unwrap();
        // A directory in the temp file's place makes File::create fail.
        fs::create_dir(
            dir.path()
                .join(format!(".out.svg.tmp{}", std::process::id())),
        )
        .unwrap();
        let err = write_atomic(&target, b"new").unwrap_err();
        assert!(matches!(&err, ProfileError::Write { path, .. } if path == &target));
        assert_eq!(fs::read_to_string(&target).unwrap(), "old");
    }
}
