//! Pipeline stage names, defined once, and the one place stages are timed.
//!
//! Every stage timing in the baseline comes from [`timed`]; later profilers
//! attach here too, so latency, CPU and memory attribution share one set of
//! names.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Question text to token ids.
    Tokenize,
    /// Transformer forward pass, pooling and normalisation.
    Embed,
    /// Nearest child chunks from the vector index.
    Search,
    /// Child chunks to their unique parent documents.
    FetchParents,
    /// Parent documents joined into the context string.
    AssembleContext,
}

impl Stage {
    /// The retrieval path of a RAG query, in execution order.
    pub const RETRIEVAL: [Stage; 5] = [
        Stage::Tokenize,
        Stage::Embed,
        Stage::Search,
        Stage::FetchParents,
        Stage::AssembleContext,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Tokenize => "tokenize",
            Stage::Embed => "embed",
            Stage::Search => "search",
            Stage::FetchParents => "fetch_parents",
            Stage::AssembleContext => "assemble_context",
        }
    }
}

/// Durations of the stages one operation went through, in order.
#[derive(Debug, Clone, Default)]
pub struct StageTimes(pub Vec<(Stage, Duration)>);

impl StageTimes {
    pub fn get(&self, stage: Stage) -> Duration {
        self.0
            .iter()
            .filter(|(s, _)| *s == stage)
            .map(|(_, d)| *d)
            .sum()
    }
}

/// Runs `f` as `stage`, recording its wall time in `times`.
pub fn timed<T>(times: &mut StageTimes, stage: Stage, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    times.0.push((stage, start.elapsed()));
    out
}
