//! Which of a run's metrics the summary after `perf baseline` shows: the
//! figures a user waits for, one screen of them.
//!
//! The candidates are the headline metrics (`MetricKind::is_headline`, the
//! same ones a judgement must see to be conclusive). On a full run they are
//! about sixty: the scaling curve alone gives one per engine × size × k,
//! the embedding benchmark one per engine × text kind × batch size. So the
//! summary keeps one figure per *subject* of each workload (the workload
//! itself, an embedding engine, a search, a vector engine, an LLM engine),
//! the one that subject is quoted by; `--all` prints the rest.

use perf_contract::{
    metric_key::{
        EmbedEngine, EngineFigure, IngestFigure, MetricKey, MetricKind, ScaleFigure, TextKind,
        VectorEngineName,
    },
    plan::{EngineName, WorkloadName},
    schema::{Baseline, Metric},
};

/// One metric of one workload, as a row of a run's rendering.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub workload: WorkloadName,
    pub name: &'a MetricKey,
    pub metric: &'a Metric,
}

/// Every metric of the run, workload by workload, in file order.
pub fn every_row(run: &Baseline) -> Vec<Row<'_>> {
    run.workloads
        .iter()
        .flat_map(|(workload, result)| {
            result.metrics.iter().map(|(name, metric)| Row {
                workload: *workload,
                name,
                metric,
            })
        })
        .collect()
}

/// The summary's rows: per workload and subject, the headline figure that
/// ranks first (see [`pick`]), in file order.
pub fn headline_rows(run: &Baseline) -> Vec<Row<'_>> {
    let mut kept: Vec<(Row, Subject, Rank)> = Vec::new();
    for row in every_row(run) {
        let Some((subject, rank)) = pick(row.name.kind()) else {
            continue;
        };
        let rival = kept
            .iter_mut()
            .find(|(r, s, _)| r.workload == row.workload && *s == subject);
        match rival {
            Some(slot) if rank < slot.2 => *slot = (row, subject, rank),
            Some(_) => {}
            None => kept.push((row, subject, rank)),
        }
    }
    // File order (workload, then name), whichever figure won its subject.
    kept.sort_by(|a, b| (a.0.workload, a.0.name).cmp(&(b.0.workload, b.0.name)));
    kept.into_iter().map(|(row, _, _)| row).collect()
}

/// What the summary leaves out, and how to see it; nothing when it left
/// nothing out.
pub fn rest_line(shown: usize, total: usize) -> Option<String> {
    match total - shown {
        0 => None,
        _ if shown == 0 => Some(format!(
            "no headline metric among the {total} measured; --all prints every row"
        )),
        1 => Some("1 more metric measured; --all prints every row".into()),
        rest => Some(format!(
            "{rest} more metrics measured; --all prints every row"
        )),
    }
}

/// What a headline figure is about: the summary shows one row of each.
#[derive(Debug, Clone, PartialEq)]
enum Subject {
    /// The workload's own operation (`latency`).
    Workload,
    Embed(EmbedEngine),
    /// A vector engine over the corpus (`hnsw.latency`).
    Search(VectorEngineName),
    Vector(VectorEngineName),
    Llm(EngineName),
    /// A headline kind no rule below knows: shown as it is, never dropped.
    Other(String),
}

/// Lower ranks first: which figure, then the size parameters.
type Rank = (u8, u32, u32);

/// The subject and rank of a headline metric; `None` for the rest.
///
/// - An embedding engine is quoted by its ingest (chunks/s: the whole
///   corpus embedded as the stack indexes it); without one, by its largest
///   batch of chunks.
/// - A vector engine's scaling curve, by its latency at the largest size,
///   k = 10 (else the largest k): where the engines part.
/// - An LLM engine, by what a user waits for: an answer's latency
///   (`rag_answer`), else its decode rate (`inference`), else TTFT, else
///   prefill of the longest prompt.
/// - The workload's `latency` and each search's latency stand alone.
fn pick(kind: &MetricKind) -> Option<(Subject, Rank)> {
    // A batch-size figure is no headline of the gate, but stands in for
    // an engine whose run has no ingest rate (runs before it existed).
    if !kind.is_headline() && !matches!(kind, MetricKind::DocsPerSecond { .. }) {
        return None;
    }
    let largest = |n: u32| u32::MAX - n;
    Some(match kind {
        MetricKind::Latency => (Subject::Workload, (0, 0, 0)),
        MetricKind::Ingest {
            engine,
            figure: IngestFigure::ChunksPerS,
        } => (Subject::Embed(*engine), (0, 0, 0)),
        MetricKind::DocsPerSecond {
            engine,
            texts,
            batch,
        } => (
            Subject::Embed(*engine),
            (1, u32::from(*texts != TextKind::Chunks), largest(*batch)),
        ),
        MetricKind::SearchLatency(search) => (Subject::Search(*search), (0, 0, 0)),
        MetricKind::VectorScale {
            engine,
            size,
            figure: ScaleFigure::Latency { k },
        } => (
            Subject::Vector(*engine),
            (u8::from(*k != 10), largest(*size), largest(*k)),
        ),
        MetricKind::Engine { engine, figure } => {
            let rank = match figure {
                EngineFigure::Latency => 0,
                EngineFigure::DecodeTokensPerS => 1,
                _ => 2,
            };
            (Subject::Llm(*engine), (rank, 0, 0))
        }
        MetricKind::Prefill {
            engine,
            prompt_tokens,
        } => (Subject::Llm(*engine), (3, largest(*prompt_tokens), 0)),
        other => (Subject::Other(other.to_string()), (0, 0, 0)),
    })
}

#[cfg(test)]
mod tests {
    use perf_contract::schema::{Better, Unit};

    use super::*;

    fn names(run: &Baseline) -> Vec<String> {
        headline_rows(run)
            .iter()
            .map(|r| format!("{}.{}", r.workload, r.name))
            .collect()
    }

    fn run(metrics: &[(WorkloadName, &str)]) -> Baseline {
        let rows: Vec<_> = metrics
            .iter()
            .map(|(w, m)| (*w, *m, Unit::Milliseconds, Better::Lower, vec![1.0, 2.0]))
            .collect();
        perf_contract::fixture::baseline(&rows)
    }

    /// One row per engine of the scaling curve: the largest size, k = 10,
    /// whatever the order of the names.
    #[test]
    fn the_scaling_curve_keeps_the_largest_size_at_k10() {
        let w = WorkloadName::VectorQuery;
        let b = run(&[
            (w, "usearch.n1000.k10.latency"),
            (w, "usearch.n100000.k5.latency"),
            (w, "usearch.n100000.k10.latency"),
            (w, "usearch.n10000.k10.latency"),
            (w, "usearch.n100000.k10.recall"),
            (w, "exact.n1000.k5.latency"),
            (w, "exact.n1000.k20.latency"),
            (w, "hnsw.latency"),
        ]);
        assert_eq!(
            names(&b),
            [
                "vector_query.exact.n1000.k20.latency",
                "vector_query.hnsw.latency",
                "vector_query.usearch.n100000.k10.latency",
            ]
        );
    }

    /// An LLM engine is quoted once per workload; an embedding engine by
    /// its ingest, or its largest chunk batch without one.
    #[test]
    fn engines_are_quoted_once_per_workload() {
        let b = run(&[
            (WorkloadName::Inference, "llamacpp.ttft"),
            (WorkloadName::Inference, "llamacpp.decode_tokens_per_s"),
            (
                WorkloadName::Inference,
                "llamacpp.prefill_tokens_per_s.len512",
            ),
            (
                WorkloadName::Inference,
                "candle.prefill_tokens_per_s.len128",
            ),
            (
                WorkloadName::Inference,
                "candle.prefill_tokens_per_s.len512",
            ),
            (WorkloadName::RagAnswer, "llamacpp.ttft"),
            (WorkloadName::RagAnswer, "llamacpp.latency"),
            (WorkloadName::RagAnswer, "stage.embed"),
            (WorkloadName::Embedding, "native.ingest.chunks_per_s"),
            (WorkloadName::Embedding, "native.chunks.batch_50.docs_per_s"),
            (
                WorkloadName::Embedding,
                "candle.sentences.batch_50.docs_per_s",
            ),
            (WorkloadName::Embedding, "candle.chunks.batch_10.docs_per_s"),
            (WorkloadName::Embedding, "candle.chunks.batch_32.docs_per_s"),
        ]);
        assert_eq!(
            names(&b),
            [
                "embedding.candle.chunks.batch_32.docs_per_s",
                "embedding.native.ingest.chunks_per_s",
                "inference.candle.prefill_tokens_per_s.len512",
                "inference.llamacpp.decode_tokens_per_s",
                "rag_answer.llamacpp.latency",
            ]
        );
    }

    /// Neither a stage nor a name this version does not know is a headline.
    #[test]
    fn only_headline_metrics_are_candidates() {
        let w = WorkloadName::RagQuery;
        let b = run(&[(w, "stage.embed"), (w, "latency"), (w, "someday.figure")]);
        assert_eq!(names(&b), ["rag_query.latency"]);
    }

    /// The line under the summary counts what it left out, and says how
    /// to see it, also when nothing was a headline (`server_load` alone).
    #[test]
    fn the_rest_is_counted() {
        assert_eq!(rest_line(3, 3), None);
        assert_eq!(
            rest_line(3, 4).unwrap(),
            "1 more metric measured; --all prints every row"
        );
        assert_eq!(
            rest_line(11, 125).unwrap(),
            "114 more metrics measured; --all prints every row"
        );
        assert_eq!(
            rest_line(0, 63).unwrap(),
            "no headline metric among the 63 measured; --all prints every row"
        );
    }
}
