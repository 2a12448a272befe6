//! `[vector]`, `[vector.chroma]`, `[vector.load]` and their flags → the
//! plan's `VectorPlan`: which engines at which sizes, over which real
//! documents, and the server-load test. Pure, like `resolve`.

use std::path::Path;

use perf_contract::{
    metric_key::VectorEngineName,
    plan::{LoadPlan, ProfileName, VectorPlan},
};

use crate::{
    cli::RunArgs,
    plan_inputs::{absolute, dedup, Defaults},
};

/// The toolchain's documentation folders the scaling curve draws on after
/// the book, in order: prose first (reference, examples, guides), then the
/// API docs, which alone hold over a hundred thousand chunks.
const SCALING_FOLDERS: [&str; 10] = [
    "reference",
    "rust-by-example",
    "nomicon",
    "cargo",
    "rustc",
    "edition-guide",
    "embedded-book",
    "std",
    "alloc",
    "core",
];

/// `[vector]` and its flags. Quick: the two in-process engines at one
/// size and a two-point sweep; full: Chroma too, three sizes a decade
/// apart and the whole sweep.
pub fn resolve_vector(
    args: &RunArgs,
    cfg: &crate::config::PerfConfig,
    cfg_dir: &Path,
    profile: ProfileName,
    defaults: &Defaults,
) -> VectorPlan {
    let c = &cfg.vector;
    let d = VectorPlan::default();
    let quick = profile == ProfileName::Quick;
    let engines = if !args.vector_engines.is_empty() {
        dedup(&args.vector_engines)
    } else if let Some(e) = &c.engines {
        e.clone()
    } else if quick {
        d.engines.clone()
    } else {
        use VectorEngineName::{Chroma, Exact, Usearch};
        vec![Usearch, Exact, Chroma]
    };
    let mut sizes = if !args.vector_sizes.is_empty() {
        dedup(&args.vector_sizes)
    } else if let Some(s) = &c.sizes {
        s.clone()
    } else if quick {
        vec![1_000]
    } else {
        vec![1_000, 10_000, 100_000]
    };
    if args.scale && !sizes.contains(&1_000_000) {
        sizes.push(1_000_000);
    }
    let scaling_corpus = match &c.scaling_corpus {
        Some(dirs) => dirs.iter().map(|p| absolute(cfg_dir, p)).collect(),
        None => defaults
            .rust_book
            .as_deref()
            .and_then(Path::parent)
            .map(|html| SCALING_FOLDERS.iter().map(|f| html.join(f)).collect())
            .unwrap_or_default(),
    };
    let mut chroma = c.chroma.clone().unwrap_or_default();
    if let Some(url) = &args.chroma_url {
        chroma.url = Some(url.as_str().into());
    }
    VectorPlan {
        engines,
        sizes,
        scaling_corpus,
        ks: c.ks.clone().unwrap_or(d.ks),
        clients: c.clients.clone().unwrap_or(d.clients),
        query_passes: c.query_passes.unwrap_or(if quick { 1 } else { 5 }),
        sweep_connectivity: c.sweep_connectivity.clone().unwrap_or_else(|| {
            if quick {
                vec![16]
            } else {
                vec![8, 16, 32]
            }
        }),
        sweep_expansion_search: c.sweep_expansion_search.clone().unwrap_or_else(|| {
            if quick {
                vec![16, 64]
            } else {
                vec![10, 16, 32, 64, 128, 256]
            }
        }),
        sweep_size: c.sweep_size.unwrap_or(if quick { 0 } else { 10_000 }),
        chroma,
        load: {
            let profile = LoadPlan {
                seconds_per_rate: if quick { 5.0 } else { 20.0 },
                ..LoadPlan::default()
            };
            match &c.load {
                Some(file) => file.over(profile),
                None => profile,
            }
        },
        tools_dir: defaults.root.join("target/perf-tools"),
        scratch_dir: defaults.root.join("target/perf-scratch"),
    }
}
