//! Shared set-up of the integration tests: the workspace's model cache (the
//! same one `cargo xtask perf` uses, so the real model is fetched at most
//! once per checkout), the default corpus, and a plan builder.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use perf_contract::plan::{Plan, WorkloadName, DEFAULT_EXCLUDE};
use perf_workloads::embed::{provision_minilm, ModelFiles};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn model_cache_dir() -> PathBuf {
    workspace_root().join("target/perf-models")
}

/// The real all-MiniLM-L6-v2, provisioned as the tool does it.
pub fn real_model() -> ModelFiles {
    provision_minilm(None, &model_cache_dir(), &mut |n| eprintln!("note: {n}"))
        .unwrap_or_else(|e| panic!("the real embedding model is needed for this test: {e}"))
}

/// The Rust book from rust-docs, the default corpus.
pub fn rust_book() -> PathBuf {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc runs");
    let sysroot = String::from_utf8(out.stdout).unwrap();
    let book = PathBuf::from(sysroot.trim()).join("share/doc/rust/html/book");
    assert!(
        book.is_dir(),
        "default corpus {} missing: run `rustup component add rust-docs`",
        book.display()
    );
    book
}

pub fn default_queries() -> PathBuf {
    workspace_root().join("perf-workloads/data/queries.txt")
}

/// A small, fast plan over `corpus`; tests adjust what they need.
pub fn plan(corpus: &Path, queries: &Path, workloads: Vec<WorkloadName>) -> Plan {
    let mut p = perf_contract::fixture::plan();
    p.workloads = workloads;
    p.corpus.dir = corpus.to_path_buf();
    p.corpus.exclude = DEFAULT_EXCLUDE.iter().map(|s| s.to_string()).collect();
    p.corpus.max_chunks = None;
    p.queries = queries.to_path_buf();
    p.embedding_model.cache_dir = model_cache_dir();
    p.embedding_cache_dir = workspace_root().join("target/perf-cache/embeddings");
    p.harness.passes = 1;
    p.harness.index_builds = 1;
    p.embedding.batch_sizes = vec![1, 4];
    p.embedding.docs_per_batch_size = 4;
    p.embedding.min_batches = 1;
    p.embedding.warmup_batches = 0;
    p.llm.cache_dir = model_cache_dir();
    p
}

/// The real Gemma 3 270M Q4_K_M, provisioned as the tool does it.
pub fn real_gguf() -> perf_workloads::llm::GgufFile {
    perf_workloads::llm::provision_gguf(None, &model_cache_dir(), &mut |n| eprintln!("note: {n}"))
        .unwrap_or_else(|e| panic!("the real GGUF model is needed for this test: {e}"))
}

/// The questions of the default query set.
pub fn questions() -> Vec<String> {
    perf_workloads::corpus::load_queries(&default_queries())
        .unwrap()
        .questions
}
