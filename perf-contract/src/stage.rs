//! Pipeline stage names, defined once for both processes: the workloads
//! time stages under these names, and the baseline, the profiler's
//! attribution and the report read them back. The names themselves
//! (spelling, parsing, `ALL`) are in `names`; what the pipeline knows of
//! its stages is here.

pub use crate::names::Stage;

impl Stage {
    /// The retrieval path of a RAG query, in execution order.
    pub const RETRIEVAL: [Stage; 5] = [
        Stage::Tokenize,
        Stage::Embed,
        Stage::Search,
        Stage::FetchParents,
        Stage::AssembleContext,
    ];
}
