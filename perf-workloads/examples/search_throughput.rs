//! Vector search of this project's stack (usearch HNSW through
//! `index::HnswIndex`, exact search through `index::FlatIndex`), driven from
//! outside: `benchmarks/vector_search_vs_hnswlib.py` runs it beside hnswlib
//! (and FAISS) on the same vectors, taking turns.
//!
//! ```text
//! search_throughput --export DIR [--corpus DIR] [--queries FILE]
//!     the stack's vectors: every chunk of the corpus (default: the Rust
//!     book, chunked at 400 characters, as the full profile prepares it,
//!     through the on-disk embedding cache) and every question of the query
//!     file, embedded by the stack's embedder. Writes DIR/vectors.f32 and
//!     DIR/queries.f32 (little-endian f32, row-major) and DIR/meta.json
//! search_throughput --serve DIR
//!     reads those files back, prints one JSON header line, then answers
//!     one JSON line per request line on stdin (one thread throughout):
//!     {"cmd":"build","m":M,"ef_construction":E[,"storage":"f32"|"f16"]}
//!                                                -> {"seconds","memory_bytes",...}
//!     {"cmd":"search","ef":EF,"k":K,"repeat":R}  -> {"ns":[[per query] per repeat],"ids":[[...] per query]}
//!     {"cmd":"exact","k":K,"repeat":R}           -> the same through FlatIndex
//!     {"cmd":"quit"}
//! ```
//!
//! One graph per `build`; a search's `ef` is set on it
//! (`HnswIndex::set_expansion_search`) without rebuilding.
//!
//! Not a workload and not a test: nothing here is recorded in a baseline.

mod common;

use std::{
    env, fs,
    io::{self, Write},
    path::{Path, PathBuf},
    process::ExitCode,
    time::Instant,
};

use perf_contract::plan::{IndexPlan, VectorStorage, DEFAULT_EXCLUDE};
use perf_workloads::{
    corpus::{chunk_documents, load_documents, load_queries},
    embed::{embed_with_cache, provision_minilm, EmbedEngine, Embedder, EmbeddingCache, MINILM_ID},
    index::{FlatIndex, HnswIndex, VectorSearch},
    workloads::PREPARE_BATCH,
};
use serde_json::{json, Value};

/// The full profile's corpus settings when `perf.toml` says nothing
/// ([corpus] defaults, no max_chunks).
const CHUNK_SIZE: usize = 400;
const CHUNK_OVERLAP: usize = 0;
/// `[embedding] vector_cache_dir`, `model_cache_dir` and `[corpus] queries`
/// defaults, relative to the workspace.
const VECTOR_CACHE: &str = "target/perf-cache/embeddings";
const MODEL_CACHE: &str = "target/perf-models";
const QUERIES: &str = "perf-workloads/data/queries.txt";
/// `[index] expansion_search` default: the ef of a `build` reply.
const DEFAULT_EF: usize = 64;

const USAGE: &str = "usage: search_throughput --export DIR [--corpus DIR] [--queries FILE]\n       search_throughput --serve DIR";

struct Args {
    export: Option<PathBuf>,
    serve: Option<PathBuf>,
    corpus: Option<PathBuf>,
    queries: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        export: None,
        serve: None,
        corpus: None,
        queries: None,
    };
    let mut it = env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--export" => a.export = Some(value()?.into()),
            "--serve" => a.serve = Some(value()?.into()),
            "--corpus" => a.corpus = Some(value()?.into()),
            "--queries" => a.queries = Some(value()?.into()),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.export.is_some() == a.serve.is_some() {
        return Err(format!("give exactly one of --export and --serve\n{USAGE}"));
    }
    Ok(a)
}

fn write_f32(path: &Path, rows: &[Vec<f32>]) -> Result<(), String> {
    let mut bytes = Vec::with_capacity(rows.len() * rows.first().map_or(0, Vec::len) * 4);
    for x in rows.iter().flatten() {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn read_f32(path: &Path, dims: usize) -> Result<Vec<Vec<f32>>, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if dims == 0 || bytes.len() % (4 * dims) != 0 {
        return Err(format!(
            "{}: {} bytes is not a whole number of {dims}-dimensional f32 rows",
            path.display(),
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(4 * dims)
        .map(|row| {
            row.chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect()
        })
        .collect())
}

/// The stack's vectors, prepared as `workloads::prepare` prepares them for
/// the full profile: every chunk through the embedding cache (only the
/// first run embeds), the questions in batches of `PREPARE_BATCH`.
fn export(dir: &Path, args: &Args) -> Result<(), String> {
    let root = common::workspace_root();
    let corpus_dir = match &args.corpus {
        Some(d) => d.clone(),
        None => common::rust_book()?,
    };
    let queries_path = args.queries.clone().unwrap_or_else(|| root.join(QUERIES));
    let exclude: Vec<String> = DEFAULT_EXCLUDE.iter().map(|s| s.to_string()).collect();
    let loaded = load_documents(&corpus_dir, &exclude).map_err(|e| e.to_string())?;
    if let Some(skipped) = loaded.skipped_note(&corpus_dir) {
        eprintln!("{skipped}");
    }
    let docs = loaded.documents;
    let chunks =
        chunk_documents(&docs, CHUNK_SIZE, CHUNK_OVERLAP, None).map_err(|e| e.to_string())?;
    let queries = load_queries(&queries_path).map_err(|e| e.to_string())?;

    let files = provision_minilm(None, &root.join(MODEL_CACHE), &mut |e| {
        eprintln!("note: {e}")
    })
    .map_err(|e| e.to_string())?;
    // The stack's embedder: `[embedding] engines` starts with native, on
    // kernel path `auto`.
    let embedder = Embedder::load(&files, EmbedEngine::Native).map_err(|e| e.to_string())?;
    let mut cache = EmbeddingCache::open(
        &root.join(VECTOR_CACHE),
        &files.weights_sha256,
        &embedder.cache_tag(),
        embedder.max_seq_length(),
        embedder.dims(),
        &mut |n| eprintln!("note: {n}"),
    );
    let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
    let (vectors, hits) = embed_with_cache(
        &embedder,
        &mut cache,
        &texts,
        PREPARE_BATCH,
        &mut |done, total| eprint!("\rembedding the corpus (cache misses): {done}/{total}"),
    )
    .map_err(|e| e.to_string())?;
    if hits < texts.len() {
        eprintln!();
    }
    let question_refs: Vec<&str> = queries.questions.iter().map(String::as_str).collect();
    let query_vectors = embedder
        .embed_batched(&question_refs, PREPARE_BATCH, &mut |_, _| {})
        .map_err(|e| e.to_string())?;

    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    write_f32(&dir.join("vectors.f32"), &vectors)?;
    write_f32(&dir.join("queries.f32"), &query_vectors)?;
    let meta = json!({
        "n": vectors.len(),
        "dims": embedder.dims(),
        "nq": query_vectors.len(),
        "model": MINILM_ID,
        "model_dir": files.dir,
        "weights_sha256": files.weights_sha256,
        "engine": embedder.describe(),
        "max_seq_length": embedder.max_seq_length(),
        "corpus": corpus_dir,
        "chunk_size": CHUNK_SIZE,
        "chunk_overlap": CHUNK_OVERLAP,
        "documents": docs.len(),
        "queries": queries_path,
        "queries_sha256": queries.sha256,
        "questions": queries.questions,
        "vector_cache": cache.path(),
        "cache_hits": hits,
    });
    let meta_path = dir.join("meta.json");
    fs::write(&meta_path, format!("{meta:#}\n"))
        .map_err(|e| format!("cannot write {}: {e}", meta_path.display()))?;
    eprintln!(
        "wrote {} chunk vectors ({hits} from the cache) and {} query vectors of {} dimensions to {}",
        vectors.len(),
        query_vectors.len(),
        embedder.dims(),
        dir.display()
    );
    Ok(())
}

struct Server {
    vectors: Vec<Vec<f32>>,
    queries: Vec<Vec<f32>>,
    /// The last `build`'s index.
    hnsw: Option<HnswIndex>,
    flat: FlatIndex,
}

impl Server {
    fn answer(&mut self, req: &Value) -> Result<Value, String> {
        let positive = |key: &str| {
            req[key]
                .as_u64()
                .filter(|&n| n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| format!("\"{key}\" must be a positive whole number"))
        };
        let repeat = || match req.get("repeat") {
            None => Ok(1),
            Some(_) => positive("repeat"),
        };
        match req["cmd"].as_str() {
            Some("build") => {
                let storage = match req.get("storage") {
                    None => VectorStorage::default(),
                    Some(v) => v.as_str().unwrap_or("?").parse::<VectorStorage>()?,
                };
                let plan = IndexPlan {
                    connectivity: positive("m")?,
                    expansion_add: positive("ef_construction")?,
                    expansion_search: DEFAULT_EF,
                    storage,
                };
                self.hnsw = None;
                let start = Instant::now();
                let index = HnswIndex::build(&self.vectors, &plan).map_err(|e| e.to_string())?;
                let seconds = start.elapsed().as_secs_f64();
                let reply = json!({
                    "seconds": seconds,
                    "memory_bytes": index.memory_bytes(),
                    "info": index.info(),
                });
                self.hnsw = Some(index);
                Ok(reply)
            }
            Some("search") => {
                let (ef, k, repeat) = (positive("ef")?, positive("k")?, repeat()?);
                let index = self.hnsw.as_mut().ok_or("no index: send a build first")?;
                index.set_expansion_search(ef);
                let (ns, ids) = timed(index, &self.queries, k, repeat)?;
                Ok(json!({ "ns": ns, "ids": ids }))
            }
            Some("exact") => {
                let (k, repeat) = (positive("k")?, repeat()?);
                let (ns, ids) = timed(&self.flat, &self.queries, k, repeat)?;
                Ok(json!({ "ns": ns, "ids": ids }))
            }
            Some("quit") => Ok(json!({ "bye": true })),
            _ => Err(format!(
                "unknown cmd in {req}: expected build, search, exact or quit"
            )),
        }
    }
}

/// Nanoseconds of each call, one list per repeat over the query set.
type Times = Vec<Vec<u64>>;
/// The ids found, one list per query.
type Ids = Vec<Vec<usize>>;

/// Every query searched alone, `repeat` times over the set: the time of
/// each call and the ids of the last repeat.
fn timed(
    index: &dyn VectorSearch,
    queries: &[Vec<f32>],
    k: usize,
    repeat: usize,
) -> Result<(Times, Ids), String> {
    let mut ns = Vec::with_capacity(repeat);
    let mut ids = Vec::new();
    for r in 0..repeat {
        let mut round = Vec::with_capacity(queries.len());
        for q in queries {
            let start = Instant::now();
            let hits = index.search(q, k).map_err(|e| e.to_string())?;
            round.push(start.elapsed().as_nanos() as u64);
            if r + 1 == repeat {
                ids.push(hits.iter().map(|h| h.id).collect());
            }
        }
        ns.push(round);
    }
    Ok((ns, ids))
}

fn serve(dir: &Path) -> Result<(), String> {
    let meta_path = dir.join("meta.json");
    let meta: Value = serde_json::from_str(
        &fs::read_to_string(&meta_path)
            .map_err(|e| format!("cannot read {}: {e}", meta_path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", meta_path.display()))?;
    let dims = meta["dims"].as_u64().ok_or("meta.json has no dims")? as usize;
    let vectors = read_f32(&dir.join("vectors.f32"), dims)?;
    let queries = read_f32(&dir.join("queries.f32"), dims)?;
    if vectors.is_empty() || queries.is_empty() {
        return Err(format!("{}: no vectors or no queries", dir.display()));
    }
    let mut server = Server {
        flat: FlatIndex::build(&vectors).map_err(|e| e.to_string())?,
        vectors,
        queries,
        hnsw: None,
    };
    let mut out = io::stdout().lock();
    let header = json!({
        "n": server.vectors.len(),
        "dims": dims,
        "nq": server.queries.len(),
        "usearch": usearch::version(),
        "avx512": perf_workloads::cpu_dispatch::avx512(),
    });
    writeln!(out, "{header}").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;

    drop(out); // serve_requests locks stdout itself
    common::serve_requests("cmd", |req| server.answer(req))
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    match (&args.export, &args.serve) {
        (Some(dir), _) => export(dir, &args),
        (None, Some(dir)) => serve(dir),
        (None, None) => unreachable!("parse_args demands one"),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("search_throughput: {e}");
            ExitCode::FAILURE
        }
    }
}
