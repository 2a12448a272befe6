//! Quality guards and like-for-like checks of the regression gate.
//!
//! Speed is judged relative to a threshold; quality is not: a recall drop of
//! 3 points or an embedding that no longer matches the reference model is a
//! failure however small in percent. And two runs are only compared when they
//! measured the same thing (profile, corpus, queries, model, index settings).

use serde::{Deserialize, Serialize};

use perf_contract::{metric_key::MetricKind, schema::Baseline};

/// Absolute drop in mean recall@k (in 0..=1) tolerated between runs. HNSW
/// construction is deterministic for the same vectors, so any drop larger
/// than rounding is a real change of index behaviour.
pub const RECALL_TOLERANCE: f64 = 0.01;
/// Lowest acceptable cosine similarity with the reference embedding.
pub const PARITY_FLOOR: f64 = 0.999;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardResult {
    /// `workload.metric` the guard looked at.
    pub metric: String,
    pub baseline: Option<f64>,
    pub current: f64,
    /// The rule in words, e.g. "mean >= baseline mean - 0.01".
    pub rule: String,
    pub passed: bool,
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

fn min(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Applies every quality guard whose metric the current run has, by the
/// metric's kind (recall@k, embedding parity) in whichever workload reports
/// it: recall guards first, then parity.
pub fn quality_guards(baseline: &Baseline, current: &Baseline) -> Vec<GuardResult> {
    let mut out = Vec::new();
    let with_kind = |want: fn(&MetricKind) -> bool| {
        current.workloads.iter().flat_map(move |(w, r)| {
            r.metrics
                .iter()
                .filter(move |(key, _)| want(key.kind()))
                .map(move |(key, m)| {
                    let before = baseline.workloads.get(w).and_then(|b| b.metrics.get(key));
                    (format!("{w}.{key}"), before, m)
                })
        })
    };
    for (metric, before, m) in with_kind(|k| matches!(k, MetricKind::RecallAt { .. })) {
        let before = before.map(|b| mean(&b.samples));
        let now = mean(&m.samples);
        out.push(GuardResult {
            metric,
            baseline: before,
            current: now,
            rule: format!("mean >= baseline mean - {RECALL_TOLERANCE}"),
            passed: before.is_none_or(|b| now >= b - RECALL_TOLERANCE),
        });
    }
    let parity = |k: &MetricKind| matches!(k, MetricKind::Quality(q) if q.is_parity());
    for (metric, before, m) in with_kind(parity) {
        let now = min(&m.samples);
        out.push(GuardResult {
            metric,
            baseline: before.map(|b| min(&b.samples)),
            current: now,
            rule: format!("min >= {PARITY_FLOOR}"),
            passed: now >= PARITY_FLOOR,
        });
    }
    out
}

/// Why `first` and `second` were not measured on one machine, or `None`
/// when they were: another machine fingerprint (CPU model, cores, memory,
/// architecture, OS), or one CPU model name over two processor
/// generations or extension sets (`Environment::other_cpu`), which the
/// fingerprint cannot tell apart. Two machines' timings differ by the
/// hardware as well as the code, so a gate refuses to judge such a pair.
pub fn other_machine_reason(first: &Baseline, second: &Baseline) -> Option<String> {
    let (a, b) = (&first.machine_fingerprint, &second.machine_fingerprint);
    match (a != b, first.environment.other_cpu(&second.environment)) {
        (false, None) => None,
        (true, None) => Some(format!("`{a}` vs `{b}`")),
        (true, Some(cpu)) => Some(format!("`{a}` vs `{b}`; {cpu}")),
        (false, Some(cpu)) => Some(format!("`{a}` both, but {cpu}")),
    }
}

/// Why two runs did not measure the same thing, or `None` when they did.
/// Iteration counts may differ (they change sample counts, not what one
/// sample is); anything that changes the work of one sample may not.
pub fn incomparable_reason(baseline: &Baseline, current: &Baseline) -> Option<String> {
    let (b, c) = (&baseline.plan, &current.plan);
    let differs = |what: &str, x: String, y: String| {
        (x != y).then(|| format!("{what} changed: baseline {x}, current {y}"))
    };
    let corpus_chunks = |r: &Baseline| r.context.corpus.as_ref().map(|c| c.chunks);
    let corpus_sha = |r: &Baseline| {
        r.context
            .corpus
            .as_ref()
            .map(|c| c.content_sha256.clone())
            .filter(|s| !s.is_empty())
    };
    // Baselines recorded before the fingerprint existed have none: their
    // content cannot be told apart, only their chunk counts.
    let content = match (corpus_sha(baseline), corpus_sha(current)) {
        (Some(x), Some(y)) if x != y => Some(format!(
            "corpus content changed: baseline sha256 {}…, current {}… (read from {} and {})",
            &x[..12],
            &y[..12],
            b.corpus.dir.display(),
            c.corpus.dir.display(),
        )),
        _ => None,
    };
    let query_sha = |r: &Baseline| r.context.queries.as_ref().map(|q| q.sha256.clone());
    // Models by role, for the roles both runs used: a run that adds the
    // LLM workloads (and so the GGUF) still compares its retrieval figures.
    let shared_roles: Vec<&str> = baseline
        .context
        .models
        .iter()
        .map(|m| m.role.as_str())
        .filter(|role| current.context.models.iter().any(|c| c.role == *role))
        .collect();
    let model_sha = |r: &Baseline| {
        r.context
            .models
            .iter()
            .filter(|m| shared_roles.contains(&m.role.as_str()))
            .map(|m| format!("{} {}", m.role, m.weights_sha256))
            .collect::<Vec<_>>()
    };
    [
        differs(
            "profile",
            b.profile.as_str().into(),
            c.profile.as_str().into(),
        ),
        differs(
            "chunking (size/overlap/max)",
            format!(
                "{}/{}/{:?}",
                b.corpus.chunk_size, b.corpus.chunk_overlap, b.corpus.max_chunks
            ),
            format!(
                "{}/{}/{:?}",
                c.corpus.chunk_size, c.corpus.chunk_overlap, c.corpus.max_chunks
            ),
        ),
        content,
        differs(
            "corpus chunk count",
            format!("{:?}", corpus_chunks(baseline)),
            format!("{:?}", corpus_chunks(current)),
        ),
        differs(
            "query set sha256",
            format!("{:?}", query_sha(baseline)),
            format!("{:?}", query_sha(current)),
        ),
        differs(
            "model weights sha256",
            format!("{:?}", model_sha(baseline)),
            format!("{:?}", model_sha(current)),
        ),
        differs(
            "index settings",
            format!("{:?}", b.index),
            format!("{:?}", c.index),
        ),
        differs(
            "rag settings",
            format!("{:?}", b.rag),
            format!("{:?}", c.rag),
        ),
        differs("threads", b.threads.to_string(), c.threads.to_string()),
        instruction_sets(baseline, current),
    ]
    .into_iter()
    .flatten()
    .next()
}

/// The embedding model run by another engine or kernel path (candle
/// against native, bf16 against the f32 fallback on a CPU without
/// AVX-512 BF16) is another program: a baseline is compared only with runs
/// of the same. `perf compare` does not ask this: there the engine is the
/// code under comparison, on one machine. Nor is it asked of a run of
/// instruction counts alone: callgrind's reduced plan pins the f32 path on
/// every host (valgrind runs no AVX-512), so such counts are always taken on
/// the same kernels whatever the timing run beside them used.
pub fn embedding_runtime_changed(baseline: &Baseline, current: &Baseline) -> Option<String> {
    if counts_only(current) {
        return None;
    }
    let runtime = |r: &Baseline| {
        r.context
            .models
            .iter()
            .find(|m| m.role == "embedding")
            .map(|m| m.runtime.clone())
    };
    match (runtime(baseline), runtime(current)) {
        (Some(x), Some(y)) if x != y => Some(format!(
            "the stack's embedding runtime changed: baseline `{x}`, current `{y}`"
        )),
        _ => None,
    }
}

/// Whether every metric of `run` is a callgrind instruction count.
fn counts_only(run: &Baseline) -> bool {
    let mut keys = run
        .workloads
        .values()
        .flat_map(|r| r.metrics.keys())
        .peekable();
    keys.peek().is_some() && keys.all(|k| matches!(k.kind(), MetricKind::CallgrindInstructions(_)))
}

/// An LLM engine whose kernels ran on another instruction set (llama.cpp
/// built for AVX2 against AVX-512, say) measured another program. Only
/// engines both runs recorded it for are compared.
fn instruction_sets(baseline: &Baseline, current: &Baseline) -> Option<String> {
    baseline.context.llm_engines.iter().find_map(|b| {
        let c = current
            .context
            .llm_engines
            .iter()
            .find(|c| c.engine == b.engine)?;
        let (x, y) = (&b.instruction_set, &c.instruction_set);
        (!x.is_empty() && !y.is_empty() && x != y).then(|| {
            format!(
                "{} instruction set changed: baseline `{x}`, current `{y}`",
                b.engine
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_contract::{
        fixture::baseline,
        plan::WorkloadName,
        schema::{Better, Unit},
    };

    fn with_recall(r: Vec<f64>, parity: Vec<f64>) -> Baseline {
        baseline(&[
            (
                WorkloadName::VectorQuery,
                "recall_at_5",
                Unit::Ratio,
                Better::Higher,
                r,
            ),
            (
                WorkloadName::Embedding,
                "quality.parity_cosine",
                Unit::Ratio,
                Better::Higher,
                parity,
            ),
        ])
    }

    #[test]
    fn recall_drop_beyond_tolerance_fails_even_when_small_in_percent() {
        let base = with_recall(vec![1.0; 10], vec![1.0; 3]);
        let same = quality_guards(&base, &with_recall(vec![1.0; 10], vec![1.0; 3]));
        assert!(same.iter().all(|g| g.passed), "{same:?}");
        // One question in ten loses one of five hits: mean 0.98, a 2% drop.
        let mut r = vec![1.0; 10];
        r[0] = 0.8;
        let dropped = quality_guards(&base, &with_recall(r, vec![1.0; 3]));
        let g = dropped
            .iter()
            .find(|g| g.metric == "vector_query.recall_at_5")
            .unwrap();
        assert!(!g.passed);
        assert_eq!(g.baseline, Some(1.0));
    }

    #[test]
    fn parity_below_the_floor_fails() {
        let base = with_recall(vec![1.0], vec![1.0; 3]);
        let broken = quality_guards(&base, &with_recall(vec![1.0], vec![1.0, 0.998, 1.0]));
        let g = broken
            .iter()
            .find(|g| g.metric.ends_with("parity_cosine"))
            .unwrap();
        assert!(!g.passed);
        assert_eq!(g.current, 0.998);
    }

    #[test]
    fn unlike_runs_are_named() {
        let a = with_recall(vec![1.0], vec![1.0]);
        assert_eq!(incomparable_reason(&a, &a.clone()), None);
        let mut b = a.clone();
        b.plan.profile = perf_contract::plan::ProfileName::Full;
        assert!(incomparable_reason(&a, &b)
            .unwrap()
            .starts_with("profile changed: baseline quick, current full"));
        let mut c = a.clone();
        c.plan.rag.top_k = 10;
        assert!(incomparable_reason(&a, &c)
            .unwrap()
            .starts_with("rag settings changed"));
        // Iteration counts only change sample counts: still comparable.
        let mut d = a.clone();
        d.plan.harness.passes = 10;
        assert_eq!(incomparable_reason(&a, &d), None);
    }

    #[test]
    fn another_machine_is_named_by_fingerprint_or_processor() {
        let a = with_recall(vec![1.0], vec![1.0]);
        assert_eq!(other_machine_reason(&a, &a.clone()), None);
        let mut b = a.clone();
        b.environment.cpu_model = "Other CPU".into();
        b.machine_fingerprint = b.environment.fingerprint();
        assert_eq!(
            other_machine_reason(&a, &b).unwrap(),
            format!("`{}` vs `{}`", a.machine_fingerprint, b.machine_fingerprint)
        );
        // One model name, two generations: the fingerprints agree.
        let (mut c, mut d) = (a.clone(), a.clone());
        c.environment.cpu_signature = "family 6 model 143; avx512f amx_tile".into();
        d.environment.cpu_signature = "family 6 model 85; avx512f".into();
        let reason = other_machine_reason(&c, &d).unwrap();
        assert!(
            reason.starts_with(&format!("`{}` both, but processor", a.machine_fingerprint))
                && reason.contains("only in the first: amx_tile"),
            "{reason}"
        );
        // A run recorded before the signature existed is not refused for it.
        assert_eq!(other_machine_reason(&a, &d), None);
    }

    #[test]
    fn another_embedding_kernel_path_is_named() {
        let mut a = with_recall(vec![1.0], vec![1.0]);
        let model = |runtime: &str| perf_contract::context::ModelInfo {
            role: "embedding".into(),
            id: "m".into(),
            source: String::new(),
            path: Default::default(),
            weights_sha256: "s".into(),
            runtime: runtime.into(),
            max_seq_length: 256,
            dimensions: 384,
        };
        a.context.models = vec![model("native (bf16-avx512)")];
        let mut b = a.clone();
        assert_eq!(embedding_runtime_changed(&a, &b), None);
        b.context.models = vec![model("native (f32)")];
        assert_eq!(
            embedding_runtime_changed(&a, &b).unwrap(),
            "the stack's embedding runtime changed: baseline `native (bf16-avx512)`, current `native (f32)`"
        );
        // A run of callgrind counts is taken on the f32 path whatever the
        // host: its runtime says nothing about the timing baseline's.
        let mut counted = baseline(&[(
            WorkloadName::RagQuery,
            "query.callgrind_instructions",
            Unit::Count,
            Better::Lower,
            vec![1e6],
        )]);
        counted.context.models = b.context.models.clone();
        assert_eq!(embedding_runtime_changed(&a, &counted), None);
    }

    #[test]
    fn another_corpus_with_the_same_chunk_count_is_refused() {
        let mut a = with_recall(vec![1.0], vec![1.0]);
        let sha = |c: char| c.to_string().repeat(64);
        a.context.corpus.as_mut().unwrap().content_sha256 = sha('a');
        let mut b = a.clone();
        assert_eq!(incomparable_reason(&a, &b), None);
        b.context.corpus.as_mut().unwrap().content_sha256 = sha('b');
        let reason = incomparable_reason(&a, &b).unwrap();
        assert!(
            reason.starts_with(
                "corpus content changed: baseline sha256 aaaaaaaaaaaa…, current bbbbbbbbbbbb…"
            ),
            "{reason}"
        );
        // A baseline recorded before the fingerprint existed: chunk counts only.
        a.context.corpus.as_mut().unwrap().content_sha256.clear();
        assert_eq!(incomparable_reason(&a, &b), None);
    }

    #[test]
    fn a_run_that_adds_a_model_role_still_compares_the_shared_ones() {
        let model = |role: &str, sha: &str| perf_contract::context::ModelInfo {
            role: role.into(),
            id: role.into(),
            source: String::new(),
            path: "m".into(),
            weights_sha256: sha.into(),
            runtime: String::new(),
            max_seq_length: 0,
            dimensions: 0,
        };
        let mut a = with_recall(vec![1.0], vec![1.0]);
        a.context.models = vec![model("embedding", "e1")];
        let mut b = a.clone();
        b.context.models = vec![model("embedding", "e1"), model("generation", "g1")];
        assert_eq!(incomparable_reason(&a, &b), None);
        b.context.models[0].weights_sha256 = "e2".into();
        assert!(incomparable_reason(&a, &b)
            .unwrap()
            .starts_with("model weights sha256 changed"));
    }

    #[test]
    fn an_engine_built_for_another_instruction_set_is_named() {
        let engine = |isa: &str| perf_contract::context::LlmEngineInfo {
            engine: "llamacpp".into(),
            version: "llama.cpp".into(),
            threads: 2,
            model_sha256: "ab".into(),
            model: "m.gguf".into(),
            detail: String::new(),
            instruction_set: isa.into(),
        };
        let mut a = with_recall(vec![1.0], vec![1.0]);
        a.context.llm_engines = vec![engine("AVX2 = 1")];
        let mut b = a.clone();
        b.context.llm_engines = vec![engine("AVX2 = 1 | AVX512 = 1")];
        let reason = incomparable_reason(&a, &b).unwrap();
        assert!(
            reason.starts_with("llamacpp instruction set changed"),
            "{reason}"
        );
        // A baseline from before the field existed is not refused for it.
        b.context.llm_engines = vec![engine("")];
        assert_eq!(incomparable_reason(&a, &b), None);
    }
}
