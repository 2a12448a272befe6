//! GitHub's job summary: a gate's markdown is appended to the file
//! `GITHUB_STEP_SUMMARY` names, when it names one (`printer`, for the
//! verdicts of `check` and `compare`).

use std::{fs::OpenOptions, io::Write, path::Path};

use anyhow::{Context, Result};

/// Appends `markdown` to `$GITHUB_STEP_SUMMARY`; nothing when it is unset.
pub fn append(markdown: &str) -> Result<()> {
    let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return Ok(());
    };
    let path = Path::new(&summary);
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot append to GITHUB_STEP_SUMMARY ({})", path.display()))?;
    f.write_all(markdown.as_bytes())
        .with_context(|| format!("writing GITHUB_STEP_SUMMARY ({})", path.display()))
}
