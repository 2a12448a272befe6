//! What each kind of metric is, declared once: its unit, which way is
//! better, whether it is a headline figure (what users wait for and a run
//! must be conclusive on), how its samples replicate, and what one sample
//! is. Workloads push samples against a kind and add only what the run
//! knows (sizes, an engine's version); the exporters, the judgement and the
//! report read the spec.

use crate::units::{Better, Unit};

use super::{
    EngineFigure, IngestFigure, LoadFigure, MetricKind, OpenLoadFigure, Quality, ScaleFigure,
    SweepFigure, VectorEngineName,
};

/// How a metric's samples replicate, which decides what an interval built
/// from them can claim. Samples inside one process share its memory
/// layout, pages and core, so none of these makes the process itself the
/// replicate: that takes several processes (runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replication {
    /// One sample per measured operation (a question, a batch, a
    /// generation, a request): many per process.
    PerOperation,
    /// One sample per pass over the inputs (a rate over a pass).
    PerPass,
    /// Samples of one index build per run, varying by question: they say
    /// nothing of how far two runs' builds differ.
    OneBuild,
    /// One value per run (a peak, a size, a share over every request).
    PerRun,
}

/// A metric kind's declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    pub unit: Unit,
    pub better: Better,
    pub headline: bool,
    pub replication: Replication,
    /// What one sample is, in words; a run adds its particulars.
    pub description: String,
}

fn spec(unit: Unit, better: Better, replication: Replication, description: String) -> MetricSpec {
    MetricSpec {
        unit,
        better,
        headline: false,
        replication,
        description,
    }
}

impl MetricSpec {
    fn headline(mut self) -> MetricSpec {
        self.headline = true;
        self
    }
}

impl MetricKind {
    /// This kind's declaration: a table, one kind a line.
    #[rustfmt::skip]
    pub fn spec(&self) -> MetricSpec {
        use Better::{Higher, Lower, Neither};
        use Replication::{OneBuild, PerOperation, PerPass, PerRun};
        use Unit::{Bytes, Count, Microseconds, Milliseconds, PerSecond, Ratio};
        let s = |unit, better, replication, text: &str| spec(unit, better, replication, text.into());
        match self {
            MetricKind::Latency => s(Milliseconds, Lower, PerOperation, "one question end to end: embed, HNSW search, parents, context").headline(),
            MetricKind::Stage(stage) => spec(Milliseconds, Lower, PerOperation, format!("the {} stage of one question", stage.as_str())),
            MetricKind::Instructions => s(Count, Lower, PerOperation, "instructions retired (user space, all threads) by one question end to end: the deterministic twin of latency"),
            MetricKind::ContextChars => s(Count, Neither, PerOperation, "characters of assembled context per question (a size, not a speed)"),
            MetricKind::PromptTokens => s(Count, Neither, PerOperation, "tokens of one answer prompt"),
            // A sweep over batch sizes, as the HNSW sweep is over M and
            // ef: judged, not headline. What a user waits for is the ingest.
            MetricKind::DocsPerSecond { batch, texts, .. } => spec(Unit::DocsPerSecond, Higher, PerOperation, format!("one batch of {batch} {} (tokenize + forward + pool), in documents per second", texts.as_str())),
            MetricKind::Ingest { figure, .. } => {
                let (unit, per, corpus) = match figure {
                    IngestFigure::ChunksPerS => (Unit::DocsPerSecond, "chunks", "the whole corpus"),
                    IngestFigure::TokensPerS => (Unit::TokensPerSecond, "tokens", "the whole corpus"),
                    IngestFigure::ScaleChunksPerS => (Unit::DocsPerSecond, "chunks", "the ingest at scale (the corpus, then the scaling corpus's chunks)"),
                    IngestFigure::ScaleTokensPerS => (Unit::TokensPerSecond, "tokens", "the ingest at scale (the corpus, then the scaling corpus's chunks)"),
                };
                let ingest = spec(unit, Higher, PerPass, format!("{corpus} embedded as the stack indexes it, {per} per second, one sample per pass"));
                // At scale: one pass in the first process only (minutes), so
                // informative, never a gate's headline.
                if *figure == IngestFigure::ChunksPerS { ingest.headline() } else { ingest }
            }
            MetricKind::SearchLatency(engine) => spec(Microseconds, Lower, PerOperation, format!("one top-k {engine} search over the corpus, searches rotating over the index builds")).headline(),
            MetricKind::RecallAt { engine, k } => spec(Ratio, Higher, PerOperation, format!("share of the exact top-{k} that {engine} returned, one sample per question")),
            MetricKind::BuildTime(engine) => spec(Milliseconds, Lower, PerOperation, format!("loading the corpus vectors into a fresh {engine} index until searchable")),
            MetricKind::IndexMemory(VectorEngineName::Usearch) => s(Bytes, Lower, PerOperation, "memory reserved by the HNSW index (graph + vectors), usearch memory_usage(); it grows in arena steps, so small indexes show the arena size"),
            MetricKind::IndexMemory(engine) => spec(Bytes, Lower, PerOperation, format!("bytes the {engine} index accounts for in this process, holding the corpus")),
            MetricKind::Quality(q) => match q {
                Quality::ParityCosine | Quality::CandleParityCosine => s(Ratio, Higher, PerOperation, "cosine similarity with sentence-transformers' reference vector, one sample per reference sentence (must stay >= 0.999)"),
                Quality::GreedyAgreement => s(Ratio, Higher, PerRun, "share of questions whose first greedy tokens are identical in llamacpp and candle (one sample per run)"),
                Quality::FirstTokenAgreement => s(Ratio, Higher, PerRun, "share of questions whose first greedy token is the same in llamacpp and candle (one sample per run)"),
                Quality::AgreementPrefixTokens => s(Count, Neither, PerOperation, "tokens llamacpp and candle agree on before their first difference, per question"),
            },
            MetricKind::Prefill { prompt_tokens, .. } => spec(Unit::TokensPerSecond, Higher, PerOperation, format!("a {prompt_tokens}-token prompt (BOS included) over the time to its first token: tokenize, prefill, first greedy pick")).headline(),
            MetricKind::Engine { figure, .. } => match figure {
                EngineFigure::DecodeTokensPerS => s(Unit::TokensPerSecond, Higher, PerOperation, "one question's greedy generation: tokens after the first over the time from first to last token").headline(),
                EngineFigure::Ttft => s(Milliseconds, Lower, PerOperation, "time to first token of one question").headline(),
                EngineFigure::Itl => s(Milliseconds, Lower, PerOperation, "one gap between consecutive generated tokens (inter-token latency)"),
                EngineFigure::E2e => s(Milliseconds, Lower, PerOperation, "one question, prompt to last generated token"),
                EngineFigure::Latency => s(Milliseconds, Lower, PerOperation, "one question end to end: retrieval, prompt, the whole answer").headline(),
                EngineFigure::Generate => s(Milliseconds, Lower, PerOperation, "the generate stage: answer prompt to the answer's last token"),
                EngineFigure::AnswerTokens => s(Count, Neither, PerOperation, "tokens of one answer (stops at end of turn)"),
                EngineFigure::AnswerChars => s(Count, Neither, PerOperation, "characters of one answer"),
            },
            MetricKind::Load { figure, .. } => match figure {
                LoadFigure::Ttft => s(Milliseconds, Lower, PerOperation, "time to first token of one request from when it was due"),
                LoadFigure::E2e => s(Milliseconds, Lower, PerOperation, "one request from when it was due to its last token"),
                LoadFigure::Itl => s(Milliseconds, Lower, PerOperation, "one gap between streamed tokens"),
                LoadFigure::Queue => s(Milliseconds, Lower, PerOperation, "wait for a free slot after a request was due"),
                LoadFigure::OutputTokensPerS => s(Unit::TokensPerSecond, Higher, PerPass, "tokens streamed over one pass of requests"),
                // Count, as every baseline has recorded it: a new unit
                // would make this figure incomparable with them.
                LoadFigure::RequestsPerS => s(Count, Higher, PerPass, "requests completed per second over one pass"),
            },
            MetricKind::CallgrindInstructions(op) => spec(Count, Lower, PerOperation, format!("instructions executed by one `{op}` operation, counted by callgrind on one thread (deterministic: the same code and inputs give the same count)")),
            MetricKind::AllocBytes(op) => spec(Bytes, Lower, PerOperation, format!("bytes allocated by one `{op}` operation, counted on its warm-up runs (all threads, a realloc counts its new size)")),
            MetricKind::Allocations(op) => spec(Count, Lower, PerOperation, format!("allocator calls of one `{op}` operation, counted on its warm-up runs (all threads)")),
            MetricKind::PeakRss => s(Bytes, Lower, PerRun, "the process's peak resident set during the workload (models and prepared data included)"),
            MetricKind::VectorScale { size, figure, .. } => match figure {
                ScaleFigure::BuildTime => spec(Milliseconds, Lower, OneBuild, format!("loading {size} vectors until searchable")),
                ScaleFigure::InsertsPerS => spec(PerSecond, Higher, OneBuild, format!("vectors loaded per second, {size} in all")),
                ScaleFigure::BytesPerVector => s(Bytes, Lower, OneBuild, "bytes the engine accounts for (in process) or its data folder grew by (a server), over the vector count"),
                // Shown, not judged: page-granular and shared with the
                // process's other threads, so a small load's figure moves
                // between identical runs; `bytes_per_vector` is gated.
                ScaleFigure::RssPerVector => s(Bytes, Neither, OneBuild, "growth of this process's resident set while loading, over the vector count (freed memory handed back first, so earlier engines' pages are not reused unseen)"),
                ScaleFigure::Latency { k } => spec(Microseconds, Lower, OneBuild, format!("one top-{k} query over {size} vectors, one client, index warm")).headline(),
                ScaleFigure::Recall { k } => spec(Ratio, Higher, OneBuild, format!("share of exact search's top-{k} returned, one sample per question")),
                ScaleFigure::Qps { clients } => spec(PerSecond, Higher, OneBuild, format!("queries per second with {clients} client(s) each sending every question back to back; one sample per pass")),
            },
            MetricKind::Sweep { connectivity, ef, figure } => match figure {
                SweepFigure::Recall => spec(Ratio, Higher, OneBuild, format!("recall@10 against exact search at M={connectivity}, ef_search={ef}, one sample per question")),
                SweepFigure::Qps => spec(PerSecond, Higher, OneBuild, format!("top-10 queries per second at M={connectivity}, ef_search={ef}, one client, one sample per pass")),
            },
            MetricKind::OpenLoad { figure, .. } => match figure {
                OpenLoadFigure::E2e => s(Milliseconds, Lower, PerOperation, "scheduled arrival to the last byte of the reply, per completed request"),
                OpenLoadFigure::Ttft => s(Milliseconds, Lower, PerOperation, "scheduled arrival to the first token, per completed request"),
                OpenLoadFigure::Itl => s(Milliseconds, Lower, PerOperation, "gap between consecutive tokens"),
                OpenLoadFigure::AchievedRps => s(PerSecond, Higher, PerRun, "completed requests over the span from the first arrival to the last reply"),
                OpenLoadFigure::GoodputRps => s(PerSecond, Higher, PerRun, "requests meeting the SLO per second"),
                OpenLoadFigure::SloShare => s(Ratio, Higher, PerRun, "share of requests meeting the SLO"),
            },
            MetricKind::MaxRate(_) => s(PerSecond, Higher, PerRun, "highest offered rate (requests/s) at which the SLO's share of requests met it, rates tried from the lowest up"),
            // Its file carries what it was; nothing here knows.
            MetricKind::Other(_) => s(Count, Neither, PerRun, "a metric this version does not know"),
        }
    }
}
