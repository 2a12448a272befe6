//! `embedding`: documents per second at several batch sizes, on short
//! sentences (the query set) and on corpus chunks (~`chunk_size` characters).
//! Always runs the model; the embedding cache never serves a measurement.

use std::time::Instant;

use perf_contract::{
    plan::{Plan, WorkloadName},
    protocol::Message,
    schema::{Better, Unit},
};

use crate::{
    callgrind,
    embed::reference::{parity, reference},
    error::WorkloadError,
    reporter::{MetricSet, Reporter},
    workloads::Prepared,
};

pub fn run(
    plan: &Plan,
    p: &Prepared,
    reporter: &mut Reporter<'_>,
) -> Result<Message, WorkloadError> {
    let sentences: Vec<&str> = p.queries.questions.iter().map(String::as_str).collect();
    let chunks: Vec<&str> = p.corpus.chunks.iter().map(|c| c.text.as_str()).collect();
    let inputs = [("sentences", &sentences), ("chunks", &chunks)];
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
        // Texts are taken in order, wrapping around, so every batch size sees
        // the same mix of lengths.
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
            for i in 0..e.warmup_batches + measured {
                let batch = next_batch(b);
                let embed = || {
                    let tb = p.embedder.tokenize(&batch)?;
                    let vectors = p.embedder.forward(&tb)?;
                    Ok::<_, WorkloadError>((tb, vectors))
                };
                // Formatted outside the timed region.
                let label = (i >= e.warmup_batches).then(|| format!("embedding/{kind}.batch_{b}"));
                let start = Instant::now();
                let (tb, vectors) = callgrind::region(label.as_deref(), embed)?;
                let secs = start.elapsed().as_secs_f64();
                debug_assert_eq!(vectors.len(), b);
                if i >= e.warmup_batches {
                    docs_per_s.push(b as f64 / secs);
                    tokens += tb.tokens;
                }
                done += b;
                reporter.progress(
                    WorkloadName::Embedding,
                    &format!("{kind} batch {b}"),
                    done,
                    total,
                );
            }
            let docs = measured * b;
            m.push(
                format!("{kind}.batch_{b}.docs_per_s"),
                Unit::DocsPerSecond,
                Better::Higher,
                format!(
                    "one batch of {b} {kind} (tokenize + forward + pool), {:.0} tokens per doc on average, {docs} docs measured",
                    tokens as f64 / docs as f64
                ),
                docs_per_s,
            );
        }
    }
    // Quality guard: a faster model that no longer matches the reference
    // implementation is not an improvement. One sample per sentence. Not
    // under callgrind, where its 256-token batches would take many minutes
    // and the timing run of the same code has checked it.
    if !callgrind::active() {
        let cosines = parity(&p.embedder, &reference())?;
        m.push(
            "quality.parity_cosine",
            Unit::Ratio,
            Better::Higher,
            "cosine similarity with sentence-transformers' reference vector, one sample per reference sentence (must stay >= 0.999)",
            cosines,
        );
    }
    Ok(m.finish())
}
