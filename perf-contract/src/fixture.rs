//! Builders of plans and baselines for tests (this crate's and the other
//! crates'), so each test states only the fields it is about. Not part of
//! the tool's behaviour; hidden from the docs.

use std::collections::BTreeMap;

use crate::{
    context::{CorpusStats, QuerySetInfo, RunContext},
    environment::Environment,
    metric_key::MetricKey,
    plan::{
        CorpusPlan, EmbeddingPlan, HarnessPlan, IndexPlan, ModelPlan, Plan, ProfileName, RagPlan,
        WorkloadName,
    },
    protocol::{RawMetric, WorkloadSamples},
    schema::{Baseline, Better, Unit, WorkloadResult, SCHEMA_VERSION},
};

/// A standard normal draw from the seed `state` (advanced): SplitMix64,
/// then Box-Muller. Seeded, no crate, the same numbers anywhere, for the
/// statistics' simulations.
pub fn normal(state: &mut u64) -> f64 {
    let mut uniform = || {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let (u1, u2) = (uniform(), uniform());
    (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

pub fn plan() -> Plan {
    Plan {
        profile: ProfileName::Quick,
        // The retrieval workloads: the fixtures' results cover these.
        workloads: vec![
            WorkloadName::RagQuery,
            WorkloadName::Embedding,
            WorkloadName::VectorQuery,
        ],
        corpus: CorpusPlan {
            dir: "/corpus".into(),
            exclude: vec![],
            chunk_size: 400,
            chunk_overlap: 0,
            max_chunks: Some(300),
        },
        queries: "/q.txt".into(),
        embedding_model: ModelPlan {
            path: None,
            cache_dir: "/models".into(),
        },
        threads: 0,
        embedding_cache_dir: "/cache".into(),
        index: IndexPlan {
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 64,
            storage: crate::plan::VectorStorage::F32,
        },
        rag: RagPlan {
            top_k: 5,
            max_context_chars: 8000,
        },
        harness: HarnessPlan {
            warmup_passes: 1,
            passes: 3,
            index_builds: 3,
            processes: 1,
        },
        embedding: EmbeddingPlan {
            batch_sizes: vec![1, 10, 50],
            docs_per_batch_size: 100,
            min_batches: 5,
            warmup_batches: 1,
            engines: EmbeddingPlan::default_engines(),
            kernel: Default::default(),
            scale_ingest_chunks: 0,
        },
        llm: Default::default(),
        vector: Default::default(),
        inject_delay: None,
        callgrind: false,
        max_queries: None,
    }
}

pub fn environment() -> Environment {
    Environment {
        cpu_signature: String::new(),
        timestamp: "2026-11-25T12:00:00Z".parse().unwrap(),
        hostname: "test".into(),
        cpu_model: "Test CPU".into(),
        logical_cores: 2,
        physical_cores: Some(2),
        memory_bytes: 24 << 30,
        os: "Test OS".into(),
        kernel: "6.0".into(),
        arch: "x86_64".into(),
        rustc: "rustc 1.95.0".into(),
        git_commit: Some("abc".into()),
        git_dirty: Some(false),
    }
}

/// A baseline holding `metrics` as `(workload, name, unit, better, samples)`.
pub fn baseline(metrics: &[(WorkloadName, &str, Unit, Better, Vec<f64>)]) -> Baseline {
    let environment = environment();
    let mut workloads = BTreeMap::new();
    for w in WorkloadName::ALL {
        let raw: Vec<RawMetric> = metrics
            .iter()
            .filter(|m| m.0 == w)
            .map(|(_, name, unit, better, samples)| RawMetric {
                name: MetricKey::parse(name),
                unit: *unit,
                better: *better,
                description: String::new(),
                samples: samples.clone(),
            })
            .collect();
        if !raw.is_empty() {
            let r = WorkloadResult::from_samples(WorkloadSamples {
                workload: w,
                metrics: raw,
                notes: vec![],
            })
            .unwrap();
            workloads.insert(w, r);
        }
    }
    Baseline {
        schema_version: SCHEMA_VERSION,
        created_at: environment.timestamp,
        machine_fingerprint: environment.fingerprint(),
        environment,
        plan: plan(),
        context: RunContext {
            corpus: Some(CorpusStats {
                content_sha256: String::new(),
                dir: "/corpus".into(),
                files: 3,
                parents: 3,
                chunks: 300,
                bytes: 1000,
                chunk_chars: 120_000,
                subset: true,
                cache_hits: 0,
                cache_misses: 300,
            }),
            queries: Some(QuerySetInfo {
                path: "/q.txt".into(),
                count: 54,
                sha256: "q".into(),
            }),
            ..RunContext::default()
        },
        workloads,
    }
}
