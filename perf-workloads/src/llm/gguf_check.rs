//! Validation of a GGUF file before any engine loads it: the magic and
//! version, a header that parses within the file, and a file long enough
//! for every tensor the header declares, so a wrong or truncated file fails
//! with one line naming it instead of deep inside an engine (llama.cpp
//! would only log and return null).

use std::{fs, io::Read, path::Path};

use candle_core::quantized::gguf_file::{Content, Value};

use crate::error::WorkloadError;

/// What the header says, for notes and the run context.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufSummary {
    /// `general.architecture`, e.g. `gemma3`.
    pub architecture: String,
    pub tensors: usize,
    /// Bytes the header implies: data offset plus the end of the last tensor.
    pub required_bytes: u64,
}

/// Reads and checks the header of `path`.
pub fn check_gguf(path: &Path) -> Result<GgufSummary, WorkloadError> {
    let bad = |message: String| WorkloadError::Gguf {
        path: path.to_path_buf(),
        message,
    };
    let mut file = fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let len = file.metadata().map_err(|e| bad(e.to_string()))?.len();
    let mut magic = [0u8; 4];
    if file.read_exact(&mut magic).is_err() || &magic != b"GGUF" {
        return Err(bad(format!(
            "not a GGUF file (the first bytes are {:?}, not \"GGUF\")",
            String::from_utf8_lossy(&magic[..magic.len().min(len as usize)])
        )));
    }
    let content = read_content(path)?;
    let mut required = content.tensor_data_offset;
    for (name, info) in &content.tensor_infos {
        let dtype = info.ggml_dtype;
        let bytes =
            (info.shape.elem_count() / dtype.block_size()) as u64 * dtype.type_size() as u64;
        let end = content
            .tensor_data_offset
            .checked_add(info.offset)
            .and_then(|o| o.checked_add(bytes))
            .ok_or_else(|| bad(format!("tensor {name} lies beyond any file size")))?;
        required = required.max(end);
    }
    if required > len {
        return Err(bad(format!(
            "truncated: its header needs {required} bytes, the file has {len}"
        )));
    }
    let architecture = match content.metadata.get("general.architecture") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(bad("header has no general.architecture".into())),
    };
    Ok(GgufSummary {
        architecture,
        tensors: content.tensor_infos.len(),
        required_bytes: required,
    })
}

/// The parsed header (metadata and tensor table) of `path`.
pub fn read_content(path: &Path) -> Result<Content, WorkloadError> {
    let bad = |message: String| WorkloadError::Gguf {
        path: path.to_path_buf(),
        message,
    };
    let mut file = fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    Content::read(&mut file).map_err(|e| {
        let msg = e.to_string();
        let first = msg.lines().next().unwrap_or("unreadable");
        bad(format!("header is malformed or truncated ({first})"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_magic_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.gguf");
        fs::write(&p, b"PK\x03\x04 not a model").unwrap();
        let err = check_gguf(&p).unwrap_err().to_string();
        assert!(err.contains("x.gguf is unusable: not a GGUF file"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn header_cut_short_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cut.gguf");
        // Magic, version 3, then counts that promise far more than follows.
        let mut bytes = b"GGUF".to_vec();
        bytes.extend(3u32.to_le_bytes());
        bytes.extend(10u64.to_le_bytes());
        bytes.extend(10u64.to_le_bytes());
        fs::write(&p, bytes).unwrap();
        let err = check_gguf(&p).unwrap_err().to_string();
        assert!(
            err.contains("cut.gguf is unusable: header is malformed or truncated"),
            "{err}"
        );
    }
}
