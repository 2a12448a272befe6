//! Metric names as values. A workload reports a [`MetricKind`]; the
//! baseline file stores its dotted string form (`stage.embed`,
//! `llamacpp.prefill_tokens_per_s.len128`, `openai.c2.ttft`); readers get
//! the kind back and match on it instead of taking strings apart. This file
//! is the only place that spells a metric name or parses one.
//!
//! A name this version does not know (from an older or newer file) loads as
//! [`MetricKind::Other`]: it is still shown and compared by name, so no file
//! becomes unreadable because a workload gained or lost a metric.

use std::{fmt, str::FromStr};

use crate::names::{name_enum, EngineName, Stage};

pub use crate::names::{EmbedEngine, LoadTarget, VectorEngineName};
pub use vector::{corpus_name, OpenLoadFigure, Rate, ScaleFigure, SweepFigure};

mod key;
mod spec;
mod vector;

pub use key::MetricKey;
pub use spec::{MetricSpec, Replication};

name_enum! {
    /// Which texts an embedding batch holds.
    pub enum TextKind: "text kind" {
        /// The query set's questions: short sentences.
        Sentences => "sentences",
        /// Corpus chunks, about `chunk_size` characters.
        Chunks => "chunks",
    }
}

impl Quality {
    /// The parity guard of one embedding engine.
    pub fn parity_of(engine: EmbedEngine) -> Quality {
        match engine {
            EmbedEngine::Native => Quality::ParityCosine,
            EmbedEngine::Candle => Quality::CandleParityCosine,
        }
    }

    /// Whether this figure is an embedding engine's parity guard.
    pub fn is_parity(self) -> bool {
        matches!(self, Quality::ParityCosine | Quality::CandleParityCosine)
    }
}

name_enum! {
    /// What one embedding engine's ingest (the whole corpus embedded as
    /// the stack indexes it) is measured in.
    pub enum IngestFigure: "ingest figure" {
        ChunksPerS => "chunks_per_s",
        TokensPerS => "tokens_per_s",
        /// The same over the ingest at scale (`scale_ingest_chunks`).
        ScaleChunksPerS => "scale_chunks_per_s",
        ScaleTokensPerS => "scale_tokens_per_s",
    }
}

name_enum! {
    /// Quality figures: guarded, not timed.
    pub enum Quality: "quality figure" {
        /// Cosine of the native engine's vectors with sentence-transformers'
        /// reference vectors (candle's, in baselines from before engines
        /// were named).
        ParityCosine => "parity_cosine",
        /// The same for the candle engine.
        CandleParityCosine => "candle_parity_cosine",
        /// Share of questions whose first N greedy tokens agree (llamacpp vs candle).
        GreedyAgreement => "greedy_agreement",
        /// Share of questions whose first greedy token agrees.
        FirstTokenAgreement => "first_token_agreement",
        /// Tokens the two engines agree on before they part.
        AgreementPrefixTokens => "agreement_prefix_tokens",
    }
}

name_enum! {
    /// What one engine's `<engine>.<figure>` metric measures.
    pub enum EngineFigure: "engine figure" {
        DecodeTokensPerS => "decode_tokens_per_s",
        Ttft => "ttft",
        Itl => "itl",
        E2e => "e2e",
        /// `rag_answer`: question to the answer's last token.
        Latency => "latency",
        /// `rag_answer`: the `generate` stage.
        Generate => "stage.generate",
        AnswerTokens => "answer_tokens",
        AnswerChars => "answer_chars",
    }
}

name_enum! {
    /// What one level of an open-loop load test measures.
    pub enum LoadFigure: "load figure" {
        Ttft => "ttft",
        E2e => "e2e",
        Itl => "itl",
        Queue => "queue",
        OutputTokensPerS => "output_tokens_per_s",
        RequestsPerS => "requests_per_s",
    }
}

/// One measured operation as callgrind labels it (`<workload>/<op>`) and
/// its instruction-count metric names it (`<op>.callgrind_instructions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CountedOp {
    /// One question through the retrieval path.
    Query,
    /// One search of one engine over the corpus (`hnsw` for usearch).
    Search(VectorEngineName),
    /// One engine loaded with the corpus (`build` for usearch).
    Build(VectorEngineName),
    /// One embedding batch of one engine.
    Batch {
        engine: EmbedEngine,
        texts: TextKind,
        size: u32,
    },
    /// One engine's ingest of the whole corpus.
    Ingest(EmbedEngine),
    /// One prefill: a fixed-length prompt to its first token (`inference`).
    Prefill,
    /// One generation of an answer to a question (`inference`).
    Generate,
    /// One question answered by every engine, retrieval included (`rag_answer`).
    Answer,
}

impl fmt::Display for CountedOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CountedOp::Query => f.write_str("query"),
            CountedOp::Search(e) => f.write_str(corpus_name(*e)),
            CountedOp::Build(VectorEngineName::Usearch) => f.write_str("build"),
            CountedOp::Build(e) => write!(f, "{e}.build"),
            CountedOp::Batch {
                engine,
                texts,
                size,
            } => write!(f, "{}.{}.batch_{size}", engine.as_str(), texts.as_str()),
            CountedOp::Ingest(engine) => write!(f, "{}.ingest", engine.as_str()),
            CountedOp::Prefill => f.write_str("prefill"),
            CountedOp::Generate => f.write_str("generate"),
            CountedOp::Answer => f.write_str("answer"),
        }
    }
}

impl FromStr for CountedOp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let op = match s {
            "query" => Some(CountedOp::Query),
            "build" => Some(CountedOp::Build(VectorEngineName::Usearch)),
            "prefill" => Some(CountedOp::Prefill),
            "generate" => Some(CountedOp::Generate),
            "answer" => Some(CountedOp::Answer),
            _ if s.ends_with(".ingest") => s
                .strip_suffix(".ingest")
                .and_then(EmbedEngine::from_name)
                .map(CountedOp::Ingest),
            _ if s.ends_with(".build") => s
                .strip_suffix(".build")
                .and_then(vector::other_engine)
                .map(CountedOp::Build),
            _ => vector::corpus_engine(s).map(CountedOp::Search).or_else(|| {
                let (head, size) = s.split_once(".batch_")?;
                let (engine, texts) = engine_prefix(head);
                Some(CountedOp::Batch {
                    engine,
                    texts: TextKind::from_name(texts)?,
                    size: size.parse().ok()?,
                })
            }),
        };
        op.ok_or_else(|| format!("unknown measured operation `{s}`"))
    }
}

/// `native.chunks` → (native, `chunks`); `chunks` (before engines were
/// named, when candle was the only one) → (candle, `chunks`).
fn engine_prefix(s: &str) -> (EmbedEngine, &str) {
    s.split_once('.')
        .and_then(|(head, rest)| Some((EmbedEngine::from_name(head)?, rest)))
        .unwrap_or((EmbedEngine::Candle, s))
}

/// What a metric measures, typed. `Display` gives the file form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// `latency`: one operation end to end.
    Latency,
    /// `stage.<stage>`: one stage of one operation.
    Stage(Stage),
    /// `instructions`: retired instructions (hardware counter) of one operation.
    Instructions,
    /// `context_chars`: assembled context per question.
    ContextChars,
    /// `prompt_tokens`: tokens of one answer prompt.
    PromptTokens,
    /// `<engine>.<texts>.batch_<size>.docs_per_s`.
    DocsPerSecond {
        engine: EmbedEngine,
        texts: TextKind,
        batch: u32,
    },
    /// `<engine>.ingest.<figure>`: the whole corpus embedded.
    Ingest {
        engine: EmbedEngine,
        figure: IngestFigure,
    },
    /// `<engine>.latency`: one top-k search of one engine over the corpus
    /// (`hnsw.latency` for usearch: [`corpus_name`]).
    SearchLatency(VectorEngineName),
    /// `<engine>.recall_at_<k>` (`recall_at_<k>` for usearch).
    RecallAt { engine: VectorEngineName, k: u32 },
    /// `<engine>.build_time` (`build_time` for usearch): one engine loaded
    /// with the corpus.
    BuildTime(VectorEngineName),
    /// `<engine>.index_memory` (`index_memory` for usearch): bytes the
    /// engine accounts for, holding the corpus.
    IndexMemory(VectorEngineName),
    /// `quality.<figure>`.
    Quality(Quality),
    /// `<engine>.prefill_tokens_per_s.len<prompt_tokens>`.
    Prefill {
        engine: EngineName,
        prompt_tokens: u32,
    },
    /// `<engine>.<figure>`.
    Engine {
        engine: EngineName,
        figure: EngineFigure,
    },
    /// `<engine>.c<concurrency>.<figure>`: one level of an open-loop test.
    Load {
        engine: EngineName,
        concurrency: u32,
        figure: LoadFigure,
    },
    /// `<op>.callgrind_instructions`: instructions of one operation under
    /// callgrind's synthetic CPU.
    CallgrindInstructions(CountedOp),
    /// `<op>.alloc_bytes`: bytes one operation asked the allocator for
    /// (all threads, cumulative: a realloc adds its new size).
    AllocBytes(CountedOp),
    /// `<op>.allocations`: allocator calls of one operation.
    Allocations(CountedOp),
    /// `peak_rss`: the process's resident-set high-water mark during the
    /// workload (its mark reset when the workload starts).
    PeakRss,
    /// `<engine>.n<size>.<figure>`: one vector engine holding `size`
    /// vectors (`vector_query`'s scaling curve).
    VectorScale {
        engine: VectorEngineName,
        size: u32,
        figure: ScaleFigure,
    },
    /// `sweep.m<connectivity>.ef<ef>.<figure>`: one HNSW setting of the
    /// recall/speed sweep.
    Sweep {
        connectivity: u32,
        ef: u32,
        figure: SweepFigure,
    },
    /// `load.<target>.<rate>.<figure>`: one offered rate of an open-loop run.
    OpenLoad {
        target: LoadTarget,
        rate: Rate,
        figure: OpenLoadFigure,
    },
    /// `load.<target>.max_rate`: the highest offered rate whose requests
    /// met the SLO (see `server_load`).
    MaxRate(LoadTarget),
    /// A name this version does not know; kept as it was read.
    Other(String),
}

const CALLGRIND_SUFFIX: &str = ".callgrind_instructions";
const ALLOC_BYTES_SUFFIX: &str = ".alloc_bytes";
const ALLOCATIONS_SUFFIX: &str = ".allocations";

impl MetricKind {
    /// This kind as a map key.
    pub fn key(self) -> MetricKey {
        MetricKey::from(self)
    }

    /// The stage this metric times, when it times one.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            MetricKind::Stage(s) => Some(*s),
            _ => None,
        }
    }

    /// Whether the metric is one of its workload's headline figures (the
    /// time or rate users quote, not a stage, size or guard): a run is
    /// conclusive when these are.
    pub fn is_headline(&self) -> bool {
        self.spec().headline
    }

    /// Whether the metric is measured on a single index build per run (the
    /// scaling curve's and the sweep's figures): its samples vary by
    /// question, not by run, so they say nothing of how far two runs differ.
    pub fn measured_on_one_build(&self) -> bool {
        self.spec().replication == Replication::OneBuild
    }

    /// Whether the metric counts instructions (hardware or callgrind): the
    /// deterministic twins of times.
    pub fn is_instruction_count(&self) -> bool {
        matches!(
            self,
            MetricKind::Instructions | MetricKind::CallgrindInstructions(_)
        )
    }

    fn parse(s: &str) -> MetricKind {
        let known = match s {
            "latency" => Some(MetricKind::Latency),
            "instructions" => Some(MetricKind::Instructions),
            "context_chars" => Some(MetricKind::ContextChars),
            "prompt_tokens" => Some(MetricKind::PromptTokens),
            "build_time" => Some(MetricKind::BuildTime(VectorEngineName::Usearch)),
            "index_memory" => Some(MetricKind::IndexMemory(VectorEngineName::Usearch)),
            "peak_rss" => Some(MetricKind::PeakRss),
            _ => None,
        };
        known
            .or_else(|| Self::parse_dotted(s))
            .unwrap_or_else(|| MetricKind::Other(s.to_string()))
    }

    fn parse_dotted(s: &str) -> Option<MetricKind> {
        if let Some(op) = s.strip_suffix(CALLGRIND_SUFFIX) {
            return op.parse().ok().map(MetricKind::CallgrindInstructions);
        }
        if let Some(op) = s.strip_suffix(ALLOC_BYTES_SUFFIX) {
            return op.parse().ok().map(MetricKind::AllocBytes);
        }
        if let Some(op) = s.strip_suffix(ALLOCATIONS_SUFFIX) {
            return op.parse().ok().map(MetricKind::Allocations);
        }
        if let Some(k) = s.strip_prefix("recall_at_") {
            let engine = VectorEngineName::Usearch;
            return k.parse().ok().map(|k| MetricKind::RecallAt { engine, k });
        }
        let (head, rest) = s.split_once('.')?;
        match head {
            "stage" => return rest.parse().ok().map(MetricKind::Stage),
            "quality" => return Quality::from_name(rest).map(MetricKind::Quality),
            "sweep" => return Self::parse_sweep(rest),
            "load" => return Self::parse_load(rest),
            _ => {}
        }
        if let Some(engine) = VectorEngineName::from_name(head) {
            if let Some((size, figure)) = rest.split_once('.') {
                if let Some(size) = size.strip_prefix('n').and_then(|n| n.parse().ok()) {
                    return Some(MetricKind::VectorScale {
                        engine,
                        size,
                        figure: ScaleFigure::parse(figure)?,
                    });
                }
            }
        }
        if let Some(docs) = s.strip_suffix(".docs_per_s") {
            let (head, batch) = docs.split_once(".batch_")?;
            let (engine, texts) = engine_prefix(head);
            if let Some(texts) = TextKind::from_name(texts) {
                return Some(MetricKind::DocsPerSecond {
                    engine,
                    texts,
                    batch: batch.parse().ok()?,
                });
            }
        }
        if let (Some(engine), Some(figure)) = (
            EmbedEngine::from_name(head),
            rest.strip_prefix("ingest.")
                .and_then(IngestFigure::from_name),
        ) {
            return Some(MetricKind::Ingest { engine, figure });
        }
        if let Some(kind) = vector::parse_corpus_figure(head, rest) {
            return Some(kind);
        }
        let engine: EngineName = head.parse().ok()?;
        if let Some(len) = rest.strip_prefix("prefill_tokens_per_s.len") {
            return Some(MetricKind::Prefill {
                engine,
                prompt_tokens: len.parse().ok()?,
            });
        }
        if let Some(figure) = EngineFigure::from_name(rest) {
            return Some(MetricKind::Engine { engine, figure });
        }
        let (level, figure) = rest.split_once('.')?;
        Some(MetricKind::Load {
            engine,
            concurrency: level.strip_prefix('c')?.parse().ok()?,
            figure: LoadFigure::from_name(figure)?,
        })
    }
}

impl MetricKind {
    fn parse_sweep(rest: &str) -> Option<MetricKind> {
        let (m, rest) = rest.split_once('.')?;
        let (ef, figure) = rest.split_once('.')?;
        Some(MetricKind::Sweep {
            connectivity: m.strip_prefix('m')?.parse().ok()?,
            ef: ef.strip_prefix("ef")?.parse().ok()?,
            figure: SweepFigure::from_name(figure)?,
        })
    }

    fn parse_load(rest: &str) -> Option<MetricKind> {
        let (target, rest) = rest.split_once('.')?;
        let target = LoadTarget::from_name(target)?;
        if rest == "max_rate" {
            return Some(MetricKind::MaxRate(target));
        }
        let (rate, figure) = rest.split_once('.')?;
        Some(MetricKind::OpenLoad {
            target,
            rate: Rate::parse(rate)?,
            figure: OpenLoadFigure::from_name(figure)?,
        })
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricKind::Latency => f.write_str("latency"),
            MetricKind::Stage(s) => write!(f, "stage.{}", s.as_str()),
            MetricKind::Instructions => f.write_str("instructions"),
            MetricKind::ContextChars => f.write_str("context_chars"),
            MetricKind::PromptTokens => f.write_str("prompt_tokens"),
            MetricKind::DocsPerSecond {
                engine,
                texts,
                batch,
            } => write!(
                f,
                "{}.{}.batch_{batch}.docs_per_s",
                engine.as_str(),
                texts.as_str()
            ),
            MetricKind::Ingest { engine, figure } => {
                write!(f, "{}.ingest.{}", engine.as_str(), figure.as_str())
            }
            MetricKind::SearchLatency(e) => write!(f, "{}.latency", corpus_name(*e)),
            MetricKind::RecallAt {
                engine: VectorEngineName::Usearch,
                k,
            } => write!(f, "recall_at_{k}"),
            MetricKind::RecallAt { engine, k } => write!(f, "{engine}.recall_at_{k}"),
            MetricKind::BuildTime(VectorEngineName::Usearch) => f.write_str("build_time"),
            MetricKind::BuildTime(e) => write!(f, "{e}.build_time"),
            MetricKind::IndexMemory(VectorEngineName::Usearch) => f.write_str("index_memory"),
            MetricKind::IndexMemory(e) => write!(f, "{e}.index_memory"),
            MetricKind::Quality(q) => write!(f, "quality.{}", q.as_str()),
            MetricKind::Prefill {
                engine,
                prompt_tokens,
            } => write!(f, "{engine}.prefill_tokens_per_s.len{prompt_tokens}"),
            MetricKind::Engine { engine, figure } => write!(f, "{engine}.{}", figure.as_str()),
            MetricKind::Load {
                engine,
                concurrency,
                figure,
            } => write!(f, "{engine}.c{concurrency}.{}", figure.as_str()),
            MetricKind::CallgrindInstructions(op) => write!(f, "{op}{CALLGRIND_SUFFIX}"),
            MetricKind::AllocBytes(op) => write!(f, "{op}{ALLOC_BYTES_SUFFIX}"),
            MetricKind::Allocations(op) => write!(f, "{op}{ALLOCATIONS_SUFFIX}"),
            MetricKind::PeakRss => f.write_str("peak_rss"),
            MetricKind::VectorScale {
                engine,
                size,
                figure,
            } => write!(f, "{engine}.n{size}.{figure}"),
            MetricKind::Sweep {
                connectivity,
                ef,
                figure,
            } => write!(f, "sweep.m{connectivity}.ef{ef}.{}", figure.as_str()),
            MetricKind::OpenLoad {
                target,
                rate,
                figure,
            } => write!(f, "load.{target}.{rate}.{}", figure.as_str()),
            MetricKind::MaxRate(target) => write!(f, "load.{target}.max_rate"),
            MetricKind::Other(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests;
