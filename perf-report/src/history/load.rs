//! Reading the history: every record file under a folder, each named in
//! the error that refuses it.

use std::{fs, path::Path};

use super::record::{CommitRecord, RecordFile, StepRecord, RECORD_SCHEMA};

/// Every record of a history folder.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub commits: Vec<CommitRecord>,
    pub steps: Vec<StepRecord>,
}

/// Why a history folder could not be read; names the file.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot read history file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("history file {path} is not a record ({message}): fix or delete it")]
    Shape { path: String, message: String },
    #[error("history file {path} has record version {found}, this tool reads version {RECORD_SCHEMA}: record it again or delete it")]
    Version { path: String, found: u32 },
}

impl History {
    /// Every `*.json` under `dir`, at any depth; an absent folder is an
    /// empty history.
    pub fn load(dir: &Path) -> Result<History, HistoryError> {
        let mut history = History::default();
        if !dir.exists() {
            return Ok(history);
        }
        let mut files = Vec::new();
        collect(dir, &mut files)?;
        files.sort();
        for path in files {
            let io = |source| HistoryError::Io {
                path: path.display().to_string(),
                source,
            };
            let text = fs::read_to_string(&path).map_err(io)?;
            let record: RecordFile =
                serde_json::from_str(&text).map_err(|e| HistoryError::Shape {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
            if record.schema_version() != RECORD_SCHEMA {
                return Err(HistoryError::Version {
                    path: path.display().to_string(),
                    found: record.schema_version(),
                });
            }
            match record {
                RecordFile::Commit(r) => history.commits.push(r),
                RecordFile::Step(r) => history.steps.push(r),
            }
        }
        Ok(history)
    }
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> Result<(), HistoryError> {
    let io = |source| HistoryError::Io {
        path: dir.display().to_string(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}
