//! Resident set size of this process, from Linux's `/proc/self/status`.
//!
//! `VmRSS` is the memory resident now and `VmHWM` its high-water mark. The
//! kernel keeps the mark for the life of the process unless it is reset
//! through `/proc/self/clear_refs`, which is how one stage's peak can be told
//! apart from an earlier stage's.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::ProfileError;

const STATUS: &str = "/proc/self/status";
const CLEAR_REFS: &str = "/proc/self/clear_refs";

/// Resident memory of the process, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rss {
    /// `VmRSS`: resident now.
    pub current_bytes: u64,
    /// `VmHWM`: highest resident since start or the last [`reset_peak_rss`].
    pub peak_bytes: u64,
}

/// Reads current and peak RSS in one read of `/proc/self/status`.
pub fn read_rss() -> Result<Rss, ProfileError> {
    let path = Path::new(STATUS);
    let text = fs::read_to_string(path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            ProfileError::Unsupported {
                what: "reading RSS",
                why: format!("{STATUS} does not exist (RSS is read from Linux /proc)"),
            }
        } else {
            ProfileError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    parse_status(&text, path)
}

pub fn current_rss_bytes() -> Result<u64, ProfileError> {
    read_rss().map(|r| r.current_bytes)
}

pub fn peak_rss_bytes() -> Result<u64, ProfileError> {
    read_rss().map(|r| r.peak_bytes)
}

/// Resets the peak (`VmHWM`) to the current RSS by writing `5` to
/// `/proc/self/clear_refs`. Linux accepts `5` from 4.0 on; older kernels and
/// other systems get [`ProfileError::Unsupported`].
pub fn reset_peak_rss() -> Result<(), ProfileError> {
    let path = PathBuf::from(CLEAR_REFS);
    let unsupported = |why: String| ProfileError::Unsupported {
        what: "resetting peak RSS",
        why,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => {
                unsupported(format!("{CLEAR_REFS} does not exist (needs Linux)"))
            }
            _ => ProfileError::Write {
                path: path.clone(),
                source,
            },
        })?;
    file.write_all(b"5").map_err(|source| {
        // Kernels before 4.0 reject the value itself with EINVAL.
        if source.kind() == io::ErrorKind::InvalidInput {
            unsupported(format!(
                "{CLEAR_REFS} rejects \"5\" (peak reset needs Linux 4.0 or later)"
            ))
        } else {
            ProfileError::Write { path, source }
        }
    })
}

/// Parses the `VmRSS` and `VmHWM` lines of a status text; `path` only names
/// the source in errors.
pub fn parse_status(text: &str, path: &Path) -> Result<Rss, ProfileError> {
    let field = |key: &'static str| {
        status_kib(text, key).map(|kib| kib * 1024).ok_or_else(|| {
            ProfileError::MissingStatusField {
                path: path.to_path_buf(),
                key,
            }
        })
    };
    Ok(Rss {
        current_bytes: field("VmRSS")?,
        peak_bytes: field("VmHWM")?,
    })
}

/// The value of a `Key:   1234 kB` line, in KiB (the kernel's "kB" is 1024).
fn status_kib(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let mut words = rest.split_whitespace();
        let value = words.next()?.parse().ok()?;
        matches!(words.next(), Some("kB") | None).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Name:\tperf-workloads\n\
Umask:\t0022\n\
State:\tR (running)\n\
VmPeak:\t 2345678 kB\n\
VmSize:\t 2300000 kB\n\
VmHWM:\t  812344 kB\n\
VmRSS:\t  700100 kB\n\
RssAnon:\t  650000 kB\n\
Threads:\t3\n";

    #[test]
    fn parses_rss_and_hwm_in_bytes() {
        let rss = parse_status(SAMPLE, Path::new("sample")).unwrap();
        assert_eq!(rss.current_bytes, 700_100 * 1024);
        assert_eq!(rss.peak_bytes, 812_344 * 1024);
    }

    #[test]
    fn similar_keys_do_not_match() {
        // `VmRSS` must not be read from `RssAnon`, nor `VmHWM` from `VmPeak`.
        assert_eq!(status_kib(SAMPLE, "Rss"), None);
        assert_eq!(status_kib(SAMPLE, "VmPeak"), Some(2_345_678));
    }

    #[test]
    fn missing_field_names_file_and_key() {
        let err = parse_status("VmRSS:\t 1 kB\n", Path::new("/x/status")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/x/status has no `VmHWM` line: is this a Linux /proc status file?"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn live_process_peak_is_at_least_current() {
        let rss = read_rss().unwrap();
        assert!(rss.current_bytes > 0);
        assert!(rss.peak_bytes >= rss.current_bytes);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reset_lowers_peak_after_a_freed_spike() {
        // 64 MiB written page by page, then freed: glibc returns blocks this
        // large to the kernel at once, so RSS drops and only the mark stays.
        let spike = std::hint::black_box(vec![1u8; 64 << 20]);
        drop(spike);
        let before = read_rss().unwrap();
        match reset_peak_rss() {
            Ok(()) => {}
            Err(e @ ProfileError::Unsupported { .. }) => {
                eprintln!("skipping: {e}");
                return;
            }
            Err(e) => panic!("{e}"),
        }
        let after = read_rss().unwrap();
        // Other tests run alongside and allocate a little; 32 MiB of slack
        // still proves the 64 MiB spike left the mark.
        assert!(
            after.peak_bytes + (32 << 20) <= before.peak_bytes,
            "peak {} not reset from {}",
            after.peak_bytes,
            before.peak_bytes
        );
    }
}
