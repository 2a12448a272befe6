//! Atomic file replacement for what a profile writes (perf-contract's
//! write-temp-then-rename): a crash, a full disk or a failed render leaves
//! the old file or the new one, never half an SVG that a browser shows as a
//! broken image. Here only its error becomes a [`ProfileError`] naming the
//! file.

use std::path::Path;

use crate::ProfileError;

/// Replaces `path` with `contents`, creating its folder if needed.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), ProfileError> {
    perf_contract::atomic::write_atomic(path, contents).map_err(|source| ProfileError::Write {
        path: path.to_path_buf(),
        source,
    })
}
