//! Embedding throughput of this project's sentence encoder, driven from
//! outside: `benchmarks/embedding_vs_pytorch.py` runs it beside
//! sentence-transformers on the same chunk texts, taking turns.
//!
//! ```text
//! embed_throughput --texts-out FILE [--count N] [--corpus DIR]
//!     writes the first N chunk texts of the corpus (default: the Rust book,
//!     chunked as the workloads chunk it) as a JSON list of strings
//! embed_throughput --serve [--texts FILE | --count N --corpus DIR] [--engine native|candle]
//!     loads the model, prints one JSON header line, then answers one JSON
//!     line per request line on stdin:
//!     {"op":"embed","batch":B}               -> {"seconds","docs","tokens"}
//!     {"op":"query","text":T,"repeat":R}     -> {"seconds":[per call]}
//!     {"op":"vectors","texts":[...]}         -> {"vectors":[[...]]}
//! ```
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

use perf_contract::plan::DEFAULT_EXCLUDE;
use perf_workloads::{
    corpus::{chunk_documents, load_documents},
    embed::{provision_minilm, EmbedEngine, Embedder, ModelFiles},
};
use serde_json::{json, Value};

/// The workloads' chunking when `perf.toml` says nothing ([corpus] defaults).
const CHUNK_SIZE: usize = 400;
const CHUNK_OVERLAP: usize = 0;

const USAGE: &str = "usage: embed_throughput --texts-out FILE [--count N] [--corpus DIR]\n       embed_throughput --serve [--texts FILE] [--count N] [--corpus DIR] [--engine native|candle]";

struct Args {
    texts_out: Option<PathBuf>,
    texts: Option<PathBuf>,
    serve: bool,
    count: usize,
    corpus: Option<PathBuf>,
    engine: String,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        texts_out: None,
        texts: None,
        serve: false,
        count: 300,
        corpus: None,
        engine: "native".into(),
    };
    let mut it = env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--texts-out" => a.texts_out = Some(value()?.into()),
            "--texts" => a.texts = Some(value()?.into()),
            "--serve" => a.serve = true,
            "--count" => {
                let v = value()?;
                a.count = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--count {v}: not a positive whole number"))?;
            }
            "--corpus" => a.corpus = Some(value()?.into()),
            "--engine" => a.engine = value()?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.serve == a.texts_out.is_some() {
        return Err(format!(
            "give exactly one of --serve and --texts-out\n{USAGE}"
        ));
    }
    Ok(a)
}

/// The first `count` chunks, loaded and chunked as the workloads do it.
fn corpus_texts(corpus: Option<&Path>, count: usize) -> Result<Vec<String>, String> {
    let dir = match corpus {
        Some(d) => d.to_path_buf(),
        None => common::rust_book()?,
    };
    let exclude: Vec<String> = DEFAULT_EXCLUDE.iter().map(|s| s.to_string()).collect();
    let loaded = load_documents(&dir, &exclude).map_err(|e| e.to_string())?;
    if let Some(skipped) = loaded.skipped_note(&dir) {
        eprintln!("{skipped}");
    }
    let docs = loaded.documents;
    let chunks = chunk_documents(&docs, CHUNK_SIZE, CHUNK_OVERLAP, Some(count))
        .map_err(|e| e.to_string())?;
    Ok(chunks.into_iter().map(|c| c.text).collect())
}

/// The one place that picks the engine ("native" or "candle").
fn load_embedder(files: &ModelFiles, name: &str) -> Result<(String, Embedder), String> {
    let engine: EmbedEngine = name.parse().map_err(|e| format!("--engine: {e}"))?;
    let embedder = Embedder::load(files, engine).map_err(|e| e.to_string())?;
    Ok((embedder.describe(), embedder))
}

fn serve(args: &Args) -> Result<(), String> {
    let texts: Vec<String> = match &args.texts {
        Some(path) => {
            let text = fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a JSON list of strings: {e}", path.display()))?
        }
        None => corpus_texts(args.corpus.as_deref(), args.count)?,
    };
    if texts.is_empty() {
        return Err("no texts to embed".into());
    }
    let files = provision_minilm(
        None,
        &common::workspace_root().join("target/perf-models"),
        &mut |e| eprintln!("note: {e}"),
    )
    .map_err(|e| e.to_string())?;
    let (describe, embedder) = load_embedder(&files, &args.engine)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    // Non-padding tokens, counted once, outside every timing: each text
    // alone, so padding never counts.
    let mut tokens = 0;
    for t in &refs {
        tokens += embedder.tokenize(&[t]).map_err(|e| e.to_string())?.tokens;
    }
    let mut out = io::stdout().lock();
    let header = json!({
        "engine": args.engine,
        "describe": describe,
        "model_dir": files.dir,
        "weights_sha256": files.weights_sha256,
        "max_seq_length": embedder.max_seq_length(),
        "threads": candle_core::utils::get_num_threads(),
        "docs": refs.len(),
        "tokens": tokens,
    });
    writeln!(out, "{header}").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;

    drop(out); // serve_requests locks stdout itself
    common::serve_requests("op", |req| answer(&embedder, &refs, tokens, req))
}

fn answer(
    embedder: &Embedder,
    texts: &[&str],
    tokens: usize,
    req: &Value,
) -> Result<Value, String> {
    let positive = |key: &str| {
        req[key]
            .as_u64()
            .filter(|&n| n > 0)
            .map(|n| n as usize)
            .ok_or_else(|| format!("\"{key}\" must be a positive whole number"))
    };
    match req["op"].as_str() {
        Some("embed") => {
            let batch = positive("batch")?;
            let start = Instant::now();
            let vectors = embedder
                .embed_batched(texts, batch, &mut |_, _| {})
                .map_err(|e| e.to_string())?;
            let seconds = start.elapsed().as_secs_f64();
            drop(vectors);
            Ok(json!({ "seconds": seconds, "docs": texts.len(), "tokens": tokens }))
        }
        Some("query") => {
            let text = req["text"].as_str().ok_or("\"text\" must be a string")?;
            let repeat = positive("repeat")?;
            let mut seconds = Vec::with_capacity(repeat);
            for _ in 0..repeat {
                let start = Instant::now();
                let v = embedder.embed(&[text]).map_err(|e| e.to_string())?;
                seconds.push(start.elapsed().as_secs_f64());
                drop(v);
            }
            Ok(json!({ "seconds": seconds }))
        }
        Some("vectors") => {
            let list: Vec<&str> = req["texts"]
                .as_array()
                .and_then(|a| a.iter().map(Value::as_str).collect())
                .filter(|l: &Vec<&str>| !l.is_empty())
                .ok_or("\"texts\" must be a non-empty list of strings")?;
            // One padded batch of mixed lengths, as encode() makes of them.
            let vectors = embedder
                .embed_batched(&list, list.len(), &mut |_, _| {})
                .map_err(|e| e.to_string())?;
            Ok(json!({ "vectors": vectors }))
        }
        Some("quit") => Ok(json!({ "bye": true })),
        _ => Err(format!(
            "unknown op in {req}: expected embed, query, vectors or quit"
        )),
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    match &args.texts_out {
        Some(path) => {
            let texts = corpus_texts(args.corpus.as_deref(), args.count)?;
            let json = serde_json::to_string(&texts).map_err(|e| e.to_string())?;
            fs::write(path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!("wrote {} chunk texts to {}", texts.len(), path.display());
            Ok(())
        }
        None => serve(&args),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("embed_throughput: {e}");
            ExitCode::FAILURE
        }
    }
}
