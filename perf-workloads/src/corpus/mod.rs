//! The document corpus: parent documents loaded from a folder and the child
//! chunks that are embedded and searched, each keeping its parent's id (the
//! parent-document retriever layout of the original pipeline).

mod chunk;
mod html;
mod load;
mod queries;

pub use chunk::chunk_documents;
pub use html::html_to_text;
pub use load::{load_documents, Document};
pub use queries::{load_queries, QuerySet};

/// A child chunk: the unit that is embedded and indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Position in `Corpus::chunks`; also the vector index key.
    pub id: usize,
    /// Index of the parent in `Corpus::documents`.
    pub parent: usize,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Corpus {
    pub documents: Vec<Document>,
    pub chunks: Vec<Chunk>,
    /// Bytes of the source files read.
    pub source_bytes: u64,
    /// True when `max_chunks` cut the chunk list short.
    pub subset: bool,
}

impl Corpus {
    pub fn parents_used(&self) -> usize {
        let mut seen: Vec<usize> = self.chunks.iter().map(|c| c.parent).collect();
        seen.dedup();
        seen.len()
    }
}
