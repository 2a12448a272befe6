//! `embedding`: documents per second at several batch sizes, on short
//! sentences (the query set) and on corpus chunks (~`chunk_size` characters).
//! Always runs the model; the embedding cache never serves a measurement.

use perf_contract::{
    metric_key::{CountedOp, MetricKind, Quality, TextKind},
    plan::WorkloadName,
    schema::{Better, Unit},
};

use crate::{
    callgrind,
    embed::reference::{parity, reference},
    error::WorkloadError,
    hook::Op,
    probe::Probe,
    reporter::{MetricSet, Reporter},
    stage_timer::Stage,
    workloads::{Cx, Needs, Workload},
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

        let mut m = MetricSet::new(WorkloadName::Embedding);
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
                        texts: kind,
                        size: b as u32,
                    },
                );
                for i in 0..e.warmup_batches + measured {
                    let batch = next_batch(b);
                    let embed = || {
                        let tb = p.embedder.tokenize(&batch)?;
                        let vectors = p.embedder.forward(&tb)?;
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
                        &format!("{} batch {b}", kind.as_str()),
                        done,
                        total,
                    );
                }
                let docs = measured * b;
                m.push(
                    MetricKind::DocsPerSecond {
                        texts: kind,
                        batch: b as u32,
                    },
                    Unit::DocsPerSecond,
                    Better::Higher,
                    format!(
                        "one batch of {b} {} (tokenize + forward + pool), {:.0} tokens per doc on average, {docs} docs measured",
                        kind.as_str(),
                        tokens as f64 / docs as f64
                    ),
                    docs_per_s,
                );
            }
        }
        // Quality guard: a faster model that no longer matches the reference
        // implementation is not an improvement. One sample per sentence. Not
        // under callgrind, where its 256-token batches would take many
        // minutes and the timing run of the same code has checked it.
        if !callgrind::active() {
            let cosines = parity(&p.embedder, &reference())?;
            m.push(
                MetricKind::Quality(Quality::ParityCosine),
                Unit::Ratio,
                Better::Higher,
                "cosine similarity with sentence-transformers' reference vector, one sample per reference sentence (must stay >= 0.999)",
                cosines,
            );
        }
        Ok(m)
    }
}
