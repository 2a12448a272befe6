//! The vectors of `vector_query`'s scaling curve: the main corpus's chunk
//! vectors first, then chunks of further real documents (the toolchain's
//! reference, examples, guides and API docs by default), embedded by the
//! stack's own model through an embedding cache of their own, so only the
//! first run pays for them. Where a size exceeds every real chunk, the rest
//! are synthetic (a real vector plus Gaussian noise, renormalised), and the
//! set says how many are: the workload labels them in the baseline.

use std::{collections::HashSet, path::Path};

use crate::{
    corpus::{chunk_documents, load_documents},
    embed::{embed_with_cache, Embedder, EmbeddingCache},
    error::WorkloadError,
};

/// Per folder used: its path and the chunks it gave.
type Sources = Vec<(String, usize)>;

/// Vectors for sizes up to `len()`, the first `real` of them from real text.
pub struct ScalingSet {
    pub vectors: Vec<Vec<f32>>,
    pub real: usize,
    pub sources: Sources,
}

impl ScalingSet {
    /// How the vectors of a size were made, for the baseline's notes.
    pub fn label(&self, size: usize) -> Option<String> {
        (size > self.real).then(|| {
            format!(
                "n{size}: vectors {}..{size} are synthetic (real vectors plus Gaussian noise of sigma {SIGMA} per dimension, renormalised); the queries are real",
                self.real
            )
        })
    }
}

/// Noise of synthetic vectors: about the spread between a chunk and its
/// nearest real neighbour in MiniLM space, so they neither collapse onto
/// their source nor scatter uniformly.
const SIGMA: f32 = 0.03;

/// Chunks embedded per cache save: a long first run that is interrupted
/// keeps what it embedded.
const SAVE_EVERY: usize = 4_096;

/// Everything needed to reach `want` vectors.
pub struct ScalingInputs<'a> {
    pub main_vectors: &'a [Vec<f32>],
    pub main_texts: &'a [&'a str],
    pub folders: &'a [std::path::PathBuf],
    pub exclude: &'a [String],
    pub chunk_size: usize,
    pub chunk_overlap: usize,
    pub cache_dir: &'a Path,
    pub embedder: &'a Embedder,
}

/// The first `want` vectors of the scaling corpus; `progress(phase, done,
/// total)` follows loading and embedding; `note` gets one line per folder
/// that is missing.
pub fn scaling_vectors(
    inputs: &ScalingInputs<'_>,
    want: usize,
    progress: &mut dyn FnMut(&str, usize, usize),
    note: &mut dyn FnMut(String),
) -> Result<ScalingSet, WorkloadError> {
    let mut vectors: Vec<Vec<f32>> = inputs.main_vectors.iter().take(want).cloned().collect();
    let need = want - vectors.len();
    let (extra, mut sources) = if need == 0 {
        (Vec::new(), Vec::new())
    } else {
        extra_texts(inputs, need, progress, note)?
    };
    sources.insert(0, ("main corpus".to_string(), vectors.len()));
    if !extra.is_empty() {
        let embedder = inputs.embedder;
        let files = embedder.files();
        let mut cache = EmbeddingCache::open(
            &inputs.cache_dir.join("scaling"),
            &files.weights_sha256,
            &embedder.cache_tag(),
            embedder.max_seq_length(),
            embedder.dims(),
            note,
        );
        let total = extra.len();
        for (i, part) in extra.chunks(SAVE_EVERY).enumerate() {
            let texts: Vec<&str> = part.iter().map(String::as_str).collect();
            let (vs, _) = embed_with_cache(embedder, &mut cache, &texts, 32, &mut |done, _| {
                progress(
                    "embed scaling corpus (cached)",
                    i * SAVE_EVERY + done,
                    total,
                )
            })?;
            vectors.extend(vs);
        }
    }
    let real = vectors.len();
    if real == 0 && want > 0 {
        return Err(WorkloadError::Config(
            "the scaling curve has no real vectors to start from".into(),
        ));
    }
    fill_synthetic(&mut vectors, want);
    Ok(ScalingSet {
        vectors,
        real,
        sources,
    })
}

/// Up to `need` chunk texts of the scaling folders beyond the main
/// corpus's (the texts `scaling_vectors` embeds), for the ingest at scale.
/// `inputs.main_vectors` is not read.
pub fn scaling_texts(
    inputs: &ScalingInputs<'_>,
    need: usize,
    progress: &mut dyn FnMut(&str, usize, usize),
    note: &mut dyn FnMut(String),
) -> Result<Vec<String>, WorkloadError> {
    Ok(extra_texts(inputs, need, progress, note)?.0)
}

/// Appends synthetic vectors up to `want`: vector `i` is real vector
/// `i mod real` plus noise, renormalised.
fn fill_synthetic(vectors: &mut Vec<Vec<f32>>, want: usize) {
    let real = vectors.len();
    let mut rng = SplitMix(0x05ee_d0f5_ca1e);
    for i in real..want {
        let v: Vec<f32> = vectors[i % real]
            .iter()
            .map(|x| x + SIGMA * rng.gaussian())
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        vectors.push(v.into_iter().map(|x| x / norm).collect());
    }
}

/// Chunk texts of the scaling folders, the main corpus's left out, up to
/// `need` of them, and per folder how many it gave. Reading and chunking
/// the API docs takes minutes, so the list is cached beside the vectors,
/// keyed by the folders' file sizes and times and the chunk settings.
fn extra_texts(
    inputs: &ScalingInputs<'_>,
    need: usize,
    progress: &mut dyn FnMut(&str, usize, usize),
    note: &mut dyn FnMut(String),
) -> Result<(Vec<String>, Sources), WorkloadError> {
    let key = texts_key(inputs, need);
    let path = inputs
        .cache_dir
        .join("scaling")
        .join(format!("texts-{}.json", &key[..16]));
    if let Ok(bytes) = std::fs::read(&path) {
        if let Ok(cached) = serde_json::from_slice::<CachedTexts>(&bytes) {
            if cached.key == key {
                return Ok((cached.texts, cached.sources));
            }
        }
    }
    // Docs repeat themselves (std's and core's pages share text): a chunk
    // is embedded and inserted once.
    let mut seen: HashSet<String> = inputs.main_texts.iter().map(|t| t.to_string()).collect();
    let mut extra: Vec<String> = Vec::new();
    let mut sources = Vec::new();
    for (i, folder) in inputs.folders.iter().enumerate() {
        if extra.len() >= need {
            break;
        }
        if !folder.is_dir() {
            note(format!(
                "scaling corpus folder {} is missing: skipped",
                folder.display()
            ));
            continue;
        }
        progress("load scaling corpus (folders)", i, inputs.folders.len());
        let loaded = load_documents(folder, inputs.exclude)?;
        if let Some(skipped) = loaded.skipped_note(folder) {
            note(skipped);
        }
        let chunks = chunk_documents(
            &loaded.documents,
            inputs.chunk_size,
            inputs.chunk_overlap,
            None,
        )?;
        let before = extra.len();
        for c in chunks {
            if extra.len() >= need {
                break;
            }
            if seen.insert(c.text.clone()) {
                extra.push(c.text);
            }
        }
        sources.push((folder.display().to_string(), extra.len() - before));
    }
    let cached = CachedTexts {
        key,
        texts: extra,
        sources,
    };
    if let Ok(json) = serde_json::to_vec(&cached) {
        // A cache that cannot be written costs the next run time, not
        // correctness.
        let _ = std::fs::create_dir_all(path.parent().unwrap_or(inputs.cache_dir));
        let _ = perf_contract::atomic::write_atomic(&path, &json);
    }
    Ok((cached.texts, cached.sources))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CachedTexts {
    key: String,
    texts: Vec<String>,
    sources: Sources,
}

/// What the text list depends on: every folder's files (path, size,
/// modification time), the exclusions, the chunk settings and the main
/// corpus (its texts are left out), and how many are wanted.
fn texts_key(inputs: &ScalingInputs<'_>, need: usize) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(format!(
        "v1 {need} {} {} {:?}\n",
        inputs.chunk_size, inputs.chunk_overlap, inputs.exclude
    ));
    for t in inputs.main_texts {
        h.update(Sha256::digest(t.as_bytes()));
    }
    for folder in inputs.folders {
        h.update(folder.display().to_string());
        for entry in walkdir::WalkDir::new(folder)
            .sort_by_file_name()
            .into_iter()
            .flatten()
        {
            if let Ok(meta) = entry.metadata() {
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs());
                h.update(format!(
                    "{} {} {mtime}\n",
                    entry.path().display(),
                    meta.len()
                ));
            }
        }
    }
    format!("{:x}", h.finalize())
}

/// A small deterministic generator: the synthetic vectors must be the
/// same in every run for their figures to compare.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f32 {
        // 24 random bits: every f32 in [0, 1) this can hold, never 0.
        ((self.next() >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }

    /// Box-Muller: one standard normal sample.
    fn gaussian(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_vectors_are_unit_near_their_source_and_labelled() {
        let mut vectors = vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]];
        fill_synthetic(&mut vectors, 6);
        assert_eq!(vectors.len(), 6);
        for (i, v) in vectors.iter().enumerate().skip(2) {
            let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5);
            let cos: f32 = v.iter().zip(&vectors[i % 2]).map(|(a, b)| a * b).sum();
            assert!(cos > 0.9 && cos < 1.0, "{cos}");
        }
        let set = ScalingSet {
            vectors,
            real: 2,
            sources: Vec::new(),
        };
        assert_eq!(set.label(2), None);
        let label = set.label(6).unwrap();
        assert!(
            label.starts_with("n6: vectors 2..6 are synthetic"),
            "{label}"
        );
        assert!(label.contains("queries are real"));
    }

    #[test]
    fn gaussian_noise_has_unit_spread_and_is_repeatable() {
        let mut a = SplitMix(1);
        let xs: Vec<f32> = (0..20_000).map(|_| a.gaussian()).collect();
        let mean = xs.iter().sum::<f32>() / xs.len() as f32;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / xs.len() as f32;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
        let mut b = SplitMix(1);
        assert_eq!(b.gaussian(), xs[0]);
    }
}
