//! On-disk cache of chunk embeddings, so a second run does not re-embed an
//! unchanged corpus. It serves only preparation (index building); the
//! `embedding` workload always runs the model.
//!
//! One file per model and sequence length, keyed inside by sha256 of the
//! chunk text. Layout: magic, dims, count, then `count` records of
//! (32-byte key, `dims` little-endian f32), then a sha256 of everything
//! before it. A file that fails any check is reported and rebuilt, never
//! half-trusted. Saves are atomic (temp file + rename).

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
};

use perf_contract::atomic::write_atomic;
use sha2::{Digest, Sha256};

use crate::{embed::Embedder, error::WorkloadError};

const MAGIC: &[u8; 8] = b"PERFEMB1";
type Key = [u8; 32];

pub struct EmbeddingCache {
    path: PathBuf,
    dims: usize,
    entries: HashMap<Key, Vec<f32>>,
    dirty: bool,
}

fn key_of(text: &str) -> Key {
    Sha256::digest(text.as_bytes()).into()
}

impl EmbeddingCache {
    /// Opens the cache for one model. A corrupt file yields an empty cache
    /// and a note saying it will be rebuilt.
    pub fn open(
        dir: &Path,
        weights_sha256: &str,
        engine_tag: &str,
        max_seq_length: usize,
        dims: usize,
        note: &mut dyn FnMut(String),
    ) -> EmbeddingCache {
        let short = &weights_sha256[..weights_sha256.len().min(16)];
        let path = dir.join(format!(
            "{short}-{engine_tag}-seq{max_seq_length}-d{dims}.bin"
        ));
        let entries = match fs::read(&path) {
            Ok(bytes) => match decode(&bytes, dims) {
                Ok(entries) => entries,
                Err(why) => {
                    note(format!(
                        "embedding cache {} is corrupt ({why}); rebuilding it",
                        path.display()
                    ));
                    HashMap::new()
                }
            },
            Err(_) => HashMap::new(),
        };
        EmbeddingCache {
            path,
            dims,
            entries,
            dirty: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, text: &str) -> Option<&[f32]> {
        self.entries.get(&key_of(text)).map(Vec::as_slice)
    }

    pub fn insert(&mut self, text: &str, vector: Vec<f32>) {
        assert_eq!(
            vector.len(),
            self.dims,
            "vector of the wrong size for this cache"
        );
        self.entries.insert(key_of(text), vector);
        self.dirty = true;
    }

    /// Writes the cache if anything changed.
    pub fn save(&mut self) -> Result<(), WorkloadError> {
        if !self.dirty {
            return Ok(());
        }
        write_atomic(&self.path, &encode(&self.entries, self.dims)).map_err(|e| {
            WorkloadError::Io {
                path: self.path.clone(),
                message: e.to_string(),
            }
        })?;
        self.dirty = false;
        Ok(())
    }
}

fn encode(entries: &HashMap<Key, Vec<f32>>, dims: usize) -> Vec<u8> {
    let mut keys: Vec<&Key> = entries.keys().collect();
    keys.sort(); // stable bytes for identical contents
    let mut out = Vec::with_capacity(24 + keys.len() * (32 + 4 * dims) + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(dims as u32).to_le_bytes());
    out.extend_from_slice(&(keys.len() as u64).to_le_bytes());
    for k in keys {
        out.extend_from_slice(k);
        for x in &entries[k] {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

fn decode(bytes: &[u8], dims: usize) -> Result<HashMap<Key, Vec<f32>>, String> {
    if bytes.len() < 20 + 32 || &bytes[..8] != MAGIC {
        return Err("not an embedding cache file".into());
    }
    let (body, digest) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != digest {
        return Err("checksum mismatch".into());
    }
    let file_dims = u32::from_le_bytes(body[8..12].try_into().unwrap()) as usize;
    let count = u64::from_le_bytes(body[12..20].try_into().unwrap()) as usize;
    if file_dims != dims {
        return Err(format!(
            "vectors have {file_dims} dimensions, model has {dims}"
        ));
    }
    let record = 32 + 4 * dims;
    if body.len() != 20 + count * record {
        return Err("length does not match its record count".into());
    }
    let mut entries = HashMap::with_capacity(count);
    for rec in body[20..].chunks_exact(record) {
        let key: Key = rec[..32].try_into().unwrap();
        let v = rec[32..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        entries.insert(key, v);
    }
    Ok(entries)
}

/// Embeddings for `texts`, served from the cache where present and computed
/// in batches of `batch_size` otherwise; `progress(done, total)` follows the
/// model work. Returns the vectors (in order) and the count of cache hits.
pub fn embed_with_cache(
    embedder: &Embedder,
    cache: &mut EmbeddingCache,
    texts: &[&str],
    batch_size: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<Vec<f32>>, usize), WorkloadError> {
    let mut missing: Vec<&str> = {
        let mut seen = std::collections::HashSet::new();
        texts
            .iter()
            .copied()
            .filter(|t| cache.get(t).is_none() && seen.insert(*t))
            .collect()
    };
    // Longest first, as sentence-transformers' encode() does: a batch is
    // padded to its longest member, so batching similar lengths together
    // wastes far fewer padded positions. Vectors are identical either way.
    missing.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let hits = texts.iter().filter(|t| cache.get(t).is_some()).count();
    for (i, batch) in missing.chunks(batch_size.max(1)).enumerate() {
        let vectors = embedder.embed(batch)?;
        for (t, v) in batch.iter().zip(vectors) {
            cache.insert(t, v);
        }
        progress(
            (i * batch_size + batch.len()).min(missing.len()),
            missing.len(),
        );
    }
    cache.save()?;
    let vectors = texts
        .iter()
        .map(|t| cache.get(t).expect("every text embedded above").to_vec())
        .collect();
    Ok((vectors, hits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let mut notes = Vec::new();
        let mut cache =
            EmbeddingCache::open(dir.path(), "abcdef", "native-f32", 256, 3, &mut |n| {
                notes.push(n)
            });
        cache.insert("hello", vec![1.0, 2.0, 3.0]);
        cache.insert("world", vec![-1.0, 0.5, 0.25]);
        cache.save().unwrap();

        let reopened = EmbeddingCache::open(dir.path(), "abcdef", "native-f32", 256, 3, &mut |n| {
            notes.push(n)
        });
        assert_eq!(reopened.len(), 2);
        assert_eq!(reopened.get("world").unwrap(), &[-1.0, 0.5, 0.25]);
        assert!(notes.is_empty());

        // Flip one byte of a vector: the checksum must catch it.
        let mut bytes = fs::read(reopened.path()).unwrap();
        bytes[60] ^= 0xff;
        fs::write(reopened.path(), &bytes).unwrap();
        let broken = EmbeddingCache::open(dir.path(), "abcdef", "native-f32", 256, 3, &mut |n| {
            notes.push(n)
        });
        assert!(broken.is_empty());
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("is corrupt (checksum mismatch); rebuilding"),
            "{}",
            notes[0]
        );
    }

    #[test]
    fn truncated_file_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = EmbeddingCache::open(dir.path(), "k", "native-f32", 256, 2, &mut |_| {});
        cache.insert("a", vec![1.0, 0.0]);
        cache.save().unwrap();
        let bytes = fs::read(cache.path()).unwrap();
        fs::write(cache.path(), &bytes[..bytes.len() - 5]).unwrap();
        let mut notes = Vec::new();
        let again = EmbeddingCache::open(dir.path(), "k", "native-f32", 256, 2, &mut |n| {
            notes.push(n)
        });
        assert!(again.is_empty() && notes.len() == 1);
    }
}
