//! The query set: realistic questions, one per line.

use std::{fs, path::Path};

use sha2::{Digest, Sha256};

use crate::error::WorkloadError;

#[derive(Debug, Clone)]
pub struct QuerySet {
    pub questions: Vec<String>,
    pub sha256: String,
}

/// Reads questions from `path`: blank lines and lines starting with `#` are skipped.
pub fn load_queries(path: &Path) -> Result<QuerySet, WorkloadError> {
    let text = fs::read_to_string(path).map_err(|e| WorkloadError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let questions: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    if questions.is_empty() {
        return Err(WorkloadError::QueriesEmpty(path.to_path_buf()));
    }
    let sha256 = format!("{:x}", Sha256::digest(text.as_bytes()));
    Ok(QuerySet { questions, sha256 })
}
