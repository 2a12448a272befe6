//! Metric names: every name the project writes parses to its kind and
//! back, and names from older files keep their meaning.
use super::*;

/// Every name the workloads write, as the committed baseline and the
/// callgrind and openai runs spell them.
const NAMES: &[&str] = &[
    "latency",
    "stage.embed",
    "stage.assemble_context",
    "instructions",
    "context_chars",
    "prompt_tokens",
    "native.sentences.batch_1.docs_per_s",
    "candle.chunks.batch_50.docs_per_s",
    "hnsw.latency",
    "chroma.latency",
    "exact.recall_at_5",
    "exact.build_time",
    "chroma.index_memory",
    "exact.build.allocations",
    "chroma.callgrind_instructions",
    "exact.latency",
    "recall_at_5",
    "build_time",
    "index_memory",
    "quality.parity_cosine",
    "quality.greedy_agreement",
    "quality.first_token_agreement",
    "quality.agreement_prefix_tokens",
    "llamacpp.prefill_tokens_per_s.len128",
    "candle.decode_tokens_per_s",
    "candle.ttft",
    "llamacpp.itl",
    "openai.e2e",
    "llamacpp.latency",
    "candle.stage.generate",
    "llamacpp.answer_tokens",
    "candle.answer_chars",
    "openai.c2.ttft",
    "openai.c1.requests_per_s",
    "openai.c4.output_tokens_per_s",
    "query.callgrind_instructions",
    "hnsw.callgrind_instructions",
    "build.callgrind_instructions",
    "native.chunks.batch_1.callgrind_instructions",
    "query.alloc_bytes",
    "candle.sentences.batch_10.allocations",
    "native.ingest.alloc_bytes",
    "native.ingest.chunks_per_s",
    "hnsw.alloc_bytes",
    "prefill.allocations",
    "answer.alloc_bytes",
    "peak_rss",
    "usearch.n10000.k10.latency",
    "exact.n1000.k5.recall",
    "chroma.n100000.build_time",
    "chroma.n1000.inserts_per_s",
    "usearch.n4613.bytes_per_vector",
    "exact.n1000.rss_per_vector",
    "usearch.n1000.c2.qps",
    "sweep.m16.ef64.recall_at_10",
    "sweep.m8.ef16.qps",
    "load.chroma.r20.goodput_rps",
    "load.openai.r0p5.ttft",
    "load.rag.r1p25.e2e",
    "load.openai.r2.slo_share",
    "load.chroma.max_rate",
];

#[test]
fn rates_spell_without_a_point_and_round_trip() {
    assert_eq!(Rate::from_per_s(0.5).to_string(), "r0p5");
    assert_eq!(Rate::from_per_s(12.0).to_string(), "r12");
    assert_eq!(Rate::from_per_s(1.125).to_string(), "r1p125");
    for bad in [
        "load.chroma.r0p50.e2e",
        "load.chroma.rp5.e2e",
        "load.chroma.r1p2345.e2e",
    ] {
        assert!(
            matches!(MetricKey::parse(bad).kind(), MetricKind::Other(_)),
            "{bad}"
        );
    }
    // The older `exact.latency` keeps its meaning beside the scaling names.
    assert_eq!(
        MetricKey::parse("exact.latency").kind(),
        &MetricKind::SearchLatency(VectorEngineName::Exact)
    );
    // usearch's corpus figures are spelled as before engines were generic,
    // and only so.
    assert_eq!(
        MetricKey::parse("hnsw.latency").kind(),
        &MetricKind::SearchLatency(VectorEngineName::Usearch)
    );
    assert_eq!(
        MetricKey::parse("recall_at_10").kind(),
        &MetricKind::RecallAt {
            engine: VectorEngineName::Usearch,
            k: 10
        }
    );
    for unknown in [
        "usearch.latency",
        "usearch.build_time",
        "usearch.build.allocations",
    ] {
        assert!(
            matches!(MetricKey::parse(unknown).kind(), MetricKind::Other(_)),
            "{unknown}"
        );
    }
}

#[test]
fn every_written_name_is_typed_and_round_trips() {
    for name in NAMES {
        let key = MetricKey::parse(name);
        assert!(
            !matches!(key.kind(), MetricKind::Other(_)),
            "{name} parsed as unknown"
        );
        assert_eq!(key.kind().to_string(), *name);
        assert_eq!(MetricKey::from(key.kind().clone()), key);
    }
}

#[test]
fn parts_come_back_typed() {
    assert_eq!(
        MetricKey::parse("openai.c2.queue").kind(),
        &MetricKind::Load {
            engine: EngineName::Openai,
            concurrency: 2,
            figure: LoadFigure::Queue
        }
    );
    assert_eq!(
        MetricKey::parse("sentences.batch_10.callgrind_instructions").kind(),
        &MetricKind::CallgrindInstructions(CountedOp::Batch {
            engine: EmbedEngine::Candle,
            texts: TextKind::Sentences,
            size: 10
        })
    );
    // Before engines were named, candle was the only one.
    assert_eq!(
        MetricKey::parse("chunks.batch_10.docs_per_s").to_string(),
        "candle.chunks.batch_10.docs_per_s"
    );
    for key in [
        "native.chunks.batch_32.docs_per_s",
        "candle.ingest.tokens_per_s",
        "native.sentences.batch_1.alloc_bytes",
        "native.ingest.allocations",
    ] {
        let parsed = MetricKey::parse(key);
        assert!(!matches!(parsed.kind(), MetricKind::Other(_)), "{key}");
        assert_eq!(parsed.to_string(), key);
    }
    assert_eq!(
        MetricKey::parse("stage.fetch_parents").kind().stage(),
        Some(Stage::FetchParents)
    );
    assert!(MetricKey::parse("exact.callgrind_instructions")
        .kind()
        .is_instruction_count());
}

#[test]
fn unknown_names_are_kept_as_read() {
    for name in [
        "x",
        "stage.warp",
        "recall_at_",
        "recall_at_05",
        "llamacpp.c.ttft",
        "gpu.ttft",
    ] {
        let key = MetricKey::parse(name);
        assert_eq!(key.kind(), &MetricKind::Other(name.to_string()), "{name}");
        assert_eq!(key.to_string(), name);
    }
}

#[test]
fn keys_order_and_look_up_by_their_file_form() {
    let mut map = std::collections::BTreeMap::new();
    for name in ["stage.embed", "latency", "context_chars"] {
        map.insert(MetricKey::parse(name), ());
    }
    let order: Vec<&str> = map.keys().map(MetricKey::as_str).collect();
    assert_eq!(order, ["context_chars", "latency", "stage.embed"]);
    assert!(map.contains_key("latency"));
    let json = serde_json::to_string(&map).unwrap();
    assert_eq!(
        json,
        r#"{"context_chars":null,"latency":null,"stage.embed":null}"#
    );
}
