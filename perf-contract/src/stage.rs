//! Pipeline stage names, defined once for both processes: the workloads
//! time stages under these names, and the baseline, the profiler's
//! attribution and the report read them back.

use std::str::FromStr;

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
    /// Brute-force search, the ground truth of `vector_query`.
    ExactSearch,
    /// Building the HNSW graph from the corpus vectors.
    BuildIndex,
    /// Question and context into the LLM prompt (`rag_answer`).
    BuildPrompt,
    /// The LLM's answer, prompt to last token (`rag_answer`).
    Generate,
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

    /// Every stage any workload times.
    pub const ALL: [Stage; 9] = [
        Stage::Tokenize,
        Stage::Embed,
        Stage::Search,
        Stage::FetchParents,
        Stage::AssembleContext,
        Stage::ExactSearch,
        Stage::BuildIndex,
        Stage::BuildPrompt,
        Stage::Generate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Tokenize => "tokenize",
            Stage::Embed => "embed",
            Stage::Search => "search",
            Stage::FetchParents => "fetch_parents",
            Stage::AssembleContext => "assemble_context",
            Stage::ExactSearch => "exact_search",
            Stage::BuildIndex => "build_index",
            Stage::BuildPrompt => "build_prompt",
            Stage::Generate => "generate",
        }
    }
}

impl FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Stage::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown stage `{s}` (known: {})", known.join(", "))
            })
    }
}
