//! `embedding`: documents per second at several batch sizes, on short
//! sentences (the query set) and on corpus chunks (~`chunk_size` characters).
//! Always runs the model; the embedding cache never serves a measurement.

use perf_contract::{
    metric_key::{CountedOp, EmbedEngine, IngestFigure, MetricKind, Quality, TextKind},
    plan::WorkloadName,
};

use crate::{
    callgrind,
    embed::{
        reference::{parity, reference},
        Embedder,
    },
    error::WorkloadError,
    hook::Op,
    probe::Probe,
    reporter::{MetricSet, Reporter},
    scaling::{scaling_texts, ScalingInputs},
    stage_timer::Stage,
    workloads::{load_embedder, Cx, Needs, Workload, PREPARE_BATCH as INGEST_BATCH},
};

pub struct Embedding;

/// Corpus chunks per batch of the stage probes: the middle batch size.
const PROBE_BATCH: usize = 10;
/// Batches of the stage probes.
const PROBE_BATCHES: usize = 10;

impl Workload for Embedding {
    fn name(&self) -> WorkloadName {
        WorkloadName::Embedding
    }

    fn needs(&self) -> Needs {
        Needs::NOTHING_MORE
    }

    fn stages<'a>(&self, cx: &Cx<'a>) -> Result<Vec<Probe<'a>>, WorkloadError> {
        let p = cx.prepared;
        let texts: Vec<Vec<&'a str>> = p
            .corpus
            .chunks
            .chunks(PROBE_BATCH)
            .take(PROBE_BATCHES)
            .map(|b| b.iter().map(|c| c.text.as_str()).collect())
            .collect();
        let batches = texts
            .iter()
            .map(|t| p.embedder.tokenize(t))
            .collect::<Result<Vec<_>, _>>()?;
        let n = batches.len();
        Ok(vec![
            Probe::new(Stage::Tokenize, n, move |i| {
                p.embedder.tokenize(&texts[i]).map(drop)
            }),
            Probe::new(Stage::Embed, n, move |i| {
                p.embedder.forward(&batches[i]).map(drop)
            }),
        ])
    }

    fn run(&self, cx: &Cx<'_>, reporter: &mut Reporter<'_>) -> Result<MetricSet, WorkloadError> {
        let (plan, p) = (cx.plan, cx.prepared);
        let mut m = MetricSet::new(WorkloadName::Embedding);
        for &engine in &plan.embedding.engines {
            let loaded;
            let embedder = if engine == p.embedder.engine() {
                &p.embedder
            } else {
                loaded = load_embedder(plan, p.embedder.files(), engine)?;
                &loaded
            };
            batches(cx, embedder, &mut m, reporter)?;
            // Not under callgrind: a whole corpus at its synthetic CPU's
            // pace takes far longer than the one batch it counts.
            if !callgrind::active() {
                ingest(cx, embedder, &mut m, reporter)?;
                if engine == p.embedder.engine() && plan.embedding.scale_ingest_chunks > 0 {
                    ingest_at_scale(cx, embedder, &mut m, reporter)?;
                }
            }
            // Quality guard: a faster engine that no longer matches the
            // reference implementation is not an improvement. One sample
            // per sentence. Not under callgrind, where its 256-token
            // batches would take many minutes and the timing run of the
            // same code has checked it.
            if !callgrind::active() {
                let cosines = parity(embedder, &reference())?;
                m.push(
                    MetricKind::Quality(Quality::parity_of(engine)),
                    embedder.describe(),
                    cosines,
                );
            }
        }
        Ok(m)
    }
}

/// Documents per second at each batch size, on short sentences (the query
/// set) and on corpus chunks.
fn batches(
    cx: &Cx<'_>,
    embedder: &Embedder,
    m: &mut MetricSet,
    reporter: &mut Reporter<'_>,
) -> Result<(), WorkloadError> {
    let (plan, p) = (cx.plan, cx.prepared);
    let engine = embedder.engine();
    let sentences: Vec<&str> = p.queries.questions.iter().map(String::as_str).collect();
    let chunks: Vec<&str> = p.corpus.chunks.iter().map(|c| c.text.as_str()).collect();
    let inputs = [
        (TextKind::Sentences, &sentences),
        (TextKind::Chunks, &chunks),
    ];
    let e = &plan.embedding;
    let batches_for = |b: usize| e.min_batches.max(e.docs_per_batch_size.div_ceil(b));
    let total: usize = inputs.len()
        * e.batch_sizes
            .iter()
            .map(|&b| (batches_for(b) + e.warmup_batches) * b)
            .sum::<usize>();
    let mut done = 0;
    for (kind, texts) in inputs {
        // Texts are taken in order, wrapping around, so every batch size
        // sees the same mix of lengths.
        let mut cursor = 0;
        let mut next_batch = |b: usize| -> Vec<&str> {
            (0..b)
                .map(|_| {
                    let t = texts[cursor % texts.len()];
                    cursor += 1;
                    t
                })
                .collect()
        };
        for &b in &e.batch_sizes {
            let mut docs_per_s = Vec::new();
            let mut tokens = 0usize;
            let measured = batches_for(b);
            let op = Op::new(
                WorkloadName::Embedding,
                CountedOp::Batch {
                    engine,
                    texts: kind,
                    size: b as u32,
                },
            );
            for i in 0..e.warmup_batches + measured {
                let batch = next_batch(b);
                let embed = || {
                    let tb = embedder.tokenize(&batch)?;
                    let vectors = embedder.forward(&tb)?;
                    Ok::<_, WorkloadError>((tb, vectors))
                };
                let is_measured = i >= e.warmup_batches;
                let (out, sample) = cx.meter.measure(op, is_measured, embed);
                let (tb, vectors) = out?;
                debug_assert_eq!(vectors.len(), b);
                if is_measured {
                    docs_per_s.push(b as f64 / sample.elapsed.as_secs_f64());
                    tokens += tb.tokens;
                }
                done += b;
                reporter.progress(
                    WorkloadName::Embedding,
                    &format!("{engine} {} batch {b}", kind.as_str()),
                    done,
                    total,
                );
            }
            let docs = measured * b;
            m.push(
                MetricKind::DocsPerSecond {
                    engine,
                    texts: kind,
                    batch: b as u32,
                },
                format!(
                    "{}: {:.0} tokens per doc on average, {docs} docs measured",
                    embedder.describe(),
                    tokens as f64 / docs as f64
                ),
                docs_per_s,
            );
        }
    }
    Ok(())
}

/// Passes of the ingest measurement: the stack's engine is measured as
/// often as the harness says (at most 3: a full corpus pass takes tens of
/// seconds), a reference engine once (candle takes minutes per pass).
fn ingest_passes(cx: &Cx<'_>, engine: EmbedEngine) -> usize {
    if engine == cx.prepared.embedder.engine() {
        (cx.plan.harness.passes as usize).clamp(1, 3)
    } else {
        1
    }
}

/// What users wait for when they index a corpus: every chunk of the
/// profile's corpus embedded the way the stack indexes it (longest first,
/// `INGEST_BATCH` at a time), in chunks and tokens per second.
fn ingest(
    cx: &Cx<'_>,
    embedder: &Embedder,
    m: &mut MetricSet,
    reporter: &mut Reporter<'_>,
) -> Result<(), WorkloadError> {
    let p = cx.prepared;
    let engine = embedder.engine();
    let chunks: Vec<&str> = p.corpus.chunks.iter().map(|c| c.text.as_str()).collect();
    let tokens = embedder.tokenize(&chunks)?.tokens;
    let passes = ingest_passes(cx, engine);
    let (mut chunks_per_s, mut tokens_per_s) = (Vec::new(), Vec::new());
    for pass in 0..passes {
        let label = format!("{engine} ingest pass {}/{passes}", pass + 1);
        let secs = ingest_pass(cx, embedder, &chunks, &label, reporter)?;
        chunks_per_s.push(chunks.len() as f64 / secs);
        tokens_per_s.push(tokens as f64 / secs);
    }
    let what = format!(
        "{}: {} chunks, {tokens} tokens, {INGEST_BATCH} at a time, longest first; {passes} pass(es)",
        embedder.describe(),
        chunks.len()
    );
    for (figure, samples) in [
        (IngestFigure::ChunksPerS, chunks_per_s),
        (IngestFigure::TokensPerS, tokens_per_s),
    ] {
        m.push(MetricKind::Ingest { engine, figure }, what.clone(), samples);
    }
    Ok(())
}

/// What a user indexing a large folder waits on: the corpus, then the
/// scaling corpus's chunks, up to `scale_ingest_chunks`, embedded once the
/// way the stack indexes (as `ingest`). One pass, in the first process of
/// a run only (`measure::further_processes` in xtask): at a few hundred
/// chunks a second, 100k chunks take minutes; the stack's engine only.
fn ingest_at_scale(
    cx: &Cx<'_>,
    embedder: &Embedder,
    m: &mut MetricSet,
    reporter: &mut Reporter<'_>,
) -> Result<(), WorkloadError> {
    let (plan, p) = (cx.plan, cx.prepared);
    let want = plan.embedding.scale_ingest_chunks;
    let main: Vec<&str> = p.corpus.chunks.iter().map(|c| c.text.as_str()).collect();
    let mut notes = Vec::new();
    let extra = if want > main.len() {
        let inputs = ScalingInputs {
            main_vectors: &[],
            main_texts: &main,
            folders: &plan.vector.scaling_corpus,
            exclude: &plan.corpus.exclude,
            chunk_size: plan.corpus.chunk_size,
            chunk_overlap: plan.corpus.chunk_overlap,
            cache_dir: &plan.embedding_cache_dir,
            embedder,
        };
        scaling_texts(
            &inputs,
            want - main.len(),
            &mut |phase, done, total| {
                reporter.progress(WorkloadName::Embedding, phase, done, total)
            },
            &mut |n| notes.push(n),
        )?
    } else {
        Vec::new()
    };
    for n in notes {
        reporter.note(n);
    }
    let chunks: Vec<&str> = main
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
        .take(want)
        .collect();
    let tokens = embedder.tokenize(&chunks)?.tokens;
    let engine = embedder.engine();
    let label = format!("{engine} ingest at scale");
    let secs = ingest_pass(cx, embedder, &chunks, &label, reporter)?;
    let what = format!(
        "{}: {} chunks ({} of the corpus, the rest of the scaling corpus), {tokens} tokens, {INGEST_BATCH} at a time, longest first; one pass",
        embedder.describe(),
        chunks.len(),
        main.len().min(chunks.len())
    );
    for (figure, value) in [
        (IngestFigure::ScaleChunksPerS, chunks.len() as f64 / secs),
        (IngestFigure::ScaleTokensPerS, tokens as f64 / secs),
    ] {
        m.push(
            MetricKind::Ingest { engine, figure },
            what.clone(),
            vec![value],
        );
    }
    Ok(())
}

/// Seconds to embed `chunks` once the way the stack indexes them
/// (`INGEST_BATCH` at a time, longest first), progress under `label`.
fn ingest_pass(
    cx: &Cx<'_>,
    embedder: &Embedder,
    chunks: &[&str],
    label: &str,
    reporter: &mut Reporter<'_>,
) -> Result<f64, WorkloadError> {
    let op = Op::new(
        WorkloadName::Embedding,
        CountedOp::Ingest(embedder.engine()),
    );
    let (out, sample) = cx.meter.measure(op, true, || {
        embedder.embed_batched(chunks, INGEST_BATCH, &mut |done, total| {
            reporter.progress(WorkloadName::Embedding, label, done, total)
        })
    });
    out?;
    Ok(sample.elapsed.as_secs_f64())
}
