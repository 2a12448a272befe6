//! A whole plan run in-process on a small real corpus with the real model,
//! and the bad inputs the workloads process must reject with one clear line.

mod common;

use std::{fs, path::Path};

use perf_contract::{
    plan::WorkloadName,
    protocol::{Message, WorkloadSamples},
};
use perf_workloads::{
    error::WorkloadError,
    workloads::{run_plan, RunOptions},
};

/// Three chapters of the book (real HTML) and a Markdown note.
fn small_corpus(dir: &Path) {
    let book = common::rust_book();
    for page in [
        "ch04-01-what-is-ownership.html",
        "ch08-01-vectors.html",
        "ch16-01-threads.html",
    ] {
        fs::copy(book.join(page), dir.join(page)).unwrap();
    }
    fs::write(
        dir.join("notes.md"),
        "# Notes\n\nA vector database stores embeddings.\n\nHNSW is a graph index for nearest neighbours.\n",
    )
    .unwrap();
}

/// The run's context message (there is exactly one per run).
fn context(messages: &[Message]) -> perf_contract::context::RunContext {
    messages
        .iter()
        .find_map(|m| match m {
            Message::Context(c) => Some((**c).clone()),
            _ => None,
        })
        .expect("a context message")
}

fn run(plan: &perf_contract::plan::Plan) -> (Result<(), WorkloadError>, Vec<Message>) {
    let mut sink = Vec::new();
    let r = run_plan(plan, &mut sink, RunOptions::default());
    (r, sink)
}

#[test]
fn retrieval_workloads_report_real_samples() {
    let dir = tempfile::tempdir().unwrap();
    small_corpus(dir.path());
    // The LLM workloads of the default set have their own test
    // (`llm_workloads_report_real_samples`); this one covers the rest.
    let retrieval = WorkloadName::defaults()
        .into_iter()
        .filter(|w| !w.uses_llm())
        .collect();
    let mut plan = common::plan(dir.path(), &common::default_queries(), retrieval);
    plan.embedding_cache_dir = dir.path().join("cache");
    // The ingest at scale: the corpus, then a scaling folder's chunks.
    let more = tempfile::tempdir().unwrap();
    std::fs::write(
        more.path().join("extra.md"),
        "# Extra\n\nA scaling folder adds chunks of its own.\n\nAn index grows with them.\n",
    )
    .unwrap();
    plan.vector.scaling_corpus = vec![more.path().to_path_buf()];
    plan.embedding.scale_ingest_chunks = 1_000;
    let (r, messages) = run(&plan);
    r.unwrap();

    let context = context(&messages);
    let corpus = context.corpus.unwrap();
    assert_eq!(corpus.files, 4);
    assert!(corpus.chunks > 20, "{} chunks", corpus.chunks);
    assert_eq!(corpus.cache_hits, 0, "cold cache");
    assert_eq!(context.models[0].weights_sha256.len(), 64);

    let results: Vec<&WorkloadSamples> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Result(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 3);
    let metric = |w: WorkloadName, name: &str| {
        results
            .iter()
            .find(|r| r.workload == w)
            .and_then(|r| r.metrics.iter().find(|m| m.name == name))
            .unwrap_or_else(|| panic!("{w}.{name} missing"))
            .samples
            .clone()
    };
    let questions = 54;
    let latency = metric(WorkloadName::RagQuery, "latency");
    assert_eq!(
        latency.len(),
        questions,
        "one measured pass: one sample per question"
    );
    assert!(latency.iter().all(|&ms| ms > 0.0));
    for stage in [
        "tokenize",
        "embed",
        "search",
        "fetch_parents",
        "assemble_context",
    ] {
        assert_eq!(
            metric(WorkloadName::RagQuery, &format!("stage.{stage}")).len(),
            questions
        );
    }
    assert!(
        metric(WorkloadName::Embedding, "native.chunks.batch_4.docs_per_s")
            .iter()
            .all(|&d| d > 0.0)
    );
    assert!(!metric(
        WorkloadName::Embedding,
        "native.sentences.batch_1.docs_per_s"
    )
    .is_empty());
    // The reference engine beside the stack's, and what indexing costs.
    assert!(!metric(WorkloadName::Embedding, "candle.chunks.batch_4.docs_per_s").is_empty());
    for engine in ["native", "candle"] {
        let ingest = metric(
            WorkloadName::Embedding,
            &format!("{engine}.ingest.chunks_per_s"),
        );
        assert!(!ingest.is_empty() && ingest.iter().all(|&c| c > 0.0));
        let parity = if engine == "native" {
            "quality.parity_cosine"
        } else {
            "quality.candle_parity_cosine"
        };
        assert!(metric(WorkloadName::Embedding, parity)
            .iter()
            .all(|&c| c >= 0.999));
    }
    // One pass of the stack's engine alone, over more than the corpus.
    let scale = results
        .iter()
        .find(|r| r.workload == WorkloadName::Embedding)
        .and_then(|r| {
            r.metrics
                .iter()
                .find(|m| m.name == "native.ingest.scale_tokens_per_s")
        })
        .expect("the ingest at scale");
    assert!(scale.samples.len() == 1 && scale.samples[0] > 0.0);
    let over = format!("({} of the corpus, the rest", corpus.chunks);
    assert!(scale.description.contains(&over), "{}", scale.description);
    let total: usize = scale
        .description
        .split(": ")
        .nth(1)
        .and_then(|s| s.split(' ').next()?.parse().ok())
        .unwrap();
    assert!(total > corpus.chunks, "{}", scale.description);
    assert!(results.iter().all(|r| r
        .metrics
        .iter()
        .all(|m| m.name != "candle.ingest.scale_tokens_per_s")));
    let recall = metric(WorkloadName::VectorQuery, "recall_at_5");
    assert_eq!(recall.len(), questions);
    assert!(recall.iter().all(|r| (0.0..=1.0).contains(r)));

    // Second run: the corpus vectors come from the cache.
    let (r, messages) = run(&plan);
    r.unwrap();
    let hits = messages.iter().find_map(|m| match m {
        Message::Context(c) => Some(c.corpus.as_ref().unwrap().cache_hits),
        _ => None,
    });
    assert_eq!(hits, Some(corpus.chunks), "warm cache serves every chunk");
}

/// `inference` and `rag_answer` on both in-process engines with the real
/// GGUF, cut small (2 questions, a 32-token prefill, 8 new tokens): every
/// metric the README names arrives with one sample per question and pass,
/// and each engine is named with its weights' checksum.
#[cfg(feature = "llamacpp")]
#[test]
fn llm_workloads_report_real_samples() {
    use perf_contract::plan::EngineName;

    let dir = tempfile::tempdir().unwrap();
    small_corpus(dir.path());
    let mut plan = common::plan(
        dir.path(),
        &common::default_queries(),
        vec![WorkloadName::Inference, WorkloadName::RagAnswer],
    );
    plan.embedding_cache_dir = dir.path().join("cache");
    plan.harness.warmup_passes = 0;
    plan.llm.engines = vec![EngineName::Llamacpp, EngineName::Candle];
    plan.llm.questions = Some(2);
    plan.llm.prompt_lengths = vec![32];
    plan.llm.max_new_tokens = 8;
    plan.llm.agreement_tokens = 8;
    let (r, messages) = run(&plan);
    r.unwrap();

    let context = context(&messages);
    let engines: Vec<&str> = context
        .llm_engines
        .iter()
        .map(|e| e.engine.as_str())
        .collect();
    assert_eq!(engines, ["llamacpp", "candle"]);
    assert!(context
        .llm_engines
        .iter()
        .all(|e| e.model_sha256.len() == 64 && e.threads > 0));

    let samples = |w: WorkloadName, name: &str| -> Vec<f64> {
        messages
            .iter()
            .find_map(|m| match m {
                Message::Result(r) if r.workload == w => r
                    .metrics
                    .iter()
                    .find(|m| m.name == name)
                    .map(|m| m.samples.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{w}.{name} missing"))
    };
    for engine in ["llamacpp", "candle"] {
        for name in [
            "prefill_tokens_per_s.len32",
            "decode_tokens_per_s",
            "ttft",
            "e2e",
        ] {
            let s = samples(WorkloadName::Inference, &format!("{engine}.{name}"));
            assert_eq!(s.len(), 2, "{engine}.{name}: one per question");
            assert!(s.iter().all(|v| *v > 0.0), "{engine}.{name} {s:?}");
        }
        // 8 tokens: 7 gaps per question.
        assert_eq!(
            samples(WorkloadName::Inference, &format!("{engine}.itl")).len(),
            14
        );
        let ttft = samples(WorkloadName::RagAnswer, &format!("{engine}.ttft"));
        let latency = samples(WorkloadName::RagAnswer, &format!("{engine}.latency"));
        assert_eq!(ttft.len(), 2);
        assert!(ttft.iter().zip(&latency).all(|(t, l)| t <= l));
        let answered = samples(WorkloadName::RagAnswer, &format!("{engine}.answer_tokens"));
        assert!(
            answered.iter().all(|n| (1.0..=8.0).contains(n)),
            "{answered:?}"
        );
    }
    let agreement = samples(WorkloadName::Inference, "quality.greedy_agreement");
    assert_eq!(agreement.len(), 1);
    assert!((0.0..=1.0).contains(&agreement[0]));
    assert!(samples(WorkloadName::RagAnswer, "prompt_tokens")
        .iter()
        .all(|n| *n > 32.0));
}

#[test]
fn missing_and_empty_corpus_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let plan = common::plan(
        &dir.path().join("nope"),
        &common::default_queries(),
        vec![WorkloadName::RagQuery],
    );
    let err = run(&plan).0.unwrap_err().to_string();
    assert!(
        err.contains("nope") && err.contains("does not exist"),
        "{err}"
    );

    fs::write(dir.path().join("image.png"), b"\x89PNG").unwrap();
    let plan = common::plan(
        dir.path(),
        &common::default_queries(),
        vec![WorkloadName::RagQuery],
    );
    let err = run(&plan).0.unwrap_err().to_string();
    assert!(err.contains("has no .md, .txt or .html file"), "{err}");
}

#[test]
fn corrupt_model_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    small_corpus(dir.path());
    let real = common::real_model();
    let model = dir.path().join("model");
    fs::create_dir(&model).unwrap();
    fs::copy(&real.tokenizer, model.join("tokenizer.json")).unwrap();
    fs::copy(&real.config, model.join("config.json")).unwrap();
    // A truncated download: the first 1000 bytes of the real weights.
    let weights = fs::read(&real.weights).unwrap();
    fs::write(model.join("model.safetensors"), &weights[..1000]).unwrap();
    let mut plan = common::plan(
        dir.path(),
        &common::default_queries(),
        vec![WorkloadName::Embedding],
    );
    plan.embedding_model.path = Some(model.clone());
    let err = run(&plan).0.unwrap_err().to_string();
    assert!(
        err.contains("model.safetensors is not valid safetensors"),
        "{err}"
    );
    // The library names the setting; xtask turns it into `--model-dir`.
    assert!(err.contains("`embedding_model.path`"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

#[test]
fn a_large_query_file_is_embedded_in_batches_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    small_corpus(dir.path());
    let queries = dir.path().join("many.txt");
    let lines: Vec<String> = (0..100)
        .map(|i| format!("question {i}: how does ownership move a vector of {i} items?"))
        .collect();
    fs::write(&queries, lines.join("\n")).unwrap();
    let plan = common::plan(dir.path(), &queries, vec![WorkloadName::Embedding]);
    let mut sink = Vec::new();
    let prepared = perf_workloads::workloads::prepare(
        &plan,
        &mut perf_workloads::reporter::Reporter::new(&mut sink),
    )
    .unwrap();
    assert_eq!(prepared.query_vectors.len(), 100);
    let steps: Vec<(u64, u64)> = sink
        .iter()
        .filter_map(|m| match m {
            Message::Progress {
                phase, done, total, ..
            } if phase == "embed queries" => Some((*done, *total)),
            _ => None,
        })
        .collect();
    assert!(steps.len() >= 3, "progress while embedding: {steps:?}");
    assert_eq!(steps.last(), Some(&(100, 100)));
    // Batching sorts by length; the vectors still follow the file's order.
    let alone = prepared.embedder.embed(&[lines[42].as_str()]).unwrap();
    let cos = perf_workloads::embed::cosine(&alone[0], &prepared.query_vectors[42]);
    assert!(
        cos > 0.9999,
        "question 42 got another question's vector ({cos})"
    );
}

#[test]
fn zero_iterations_and_empty_queries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    small_corpus(dir.path());
    let mut plan = common::plan(
        dir.path(),
        &common::default_queries(),
        vec![WorkloadName::RagQuery],
    );
    plan.harness.passes = 0;
    let err = run(&plan).0.unwrap_err().to_string();
    assert!(err.contains("`harness.passes`"), "{err}");

    let queries = dir.path().join("q.txt");
    fs::write(&queries, "# only a comment\n\n").unwrap();
    let plan = common::plan(dir.path(), &queries, vec![WorkloadName::RagQuery]);
    let err = run(&plan).0.unwrap_err().to_string();
    assert!(err.contains("q.txt has no questions"), "{err}");
}
