//! The document corpus: parent documents loaded from a folder and the child
//! chunks that are embedded and searched, each keeping its parent's id (the
//! parent-document retriever layout of the original pipeline).

mod chunk;
mod html;
mod load;
mod queries;

pub use chunk::chunk_documents;
pub use html::html_to_text;
pub use load::{load_documents, Document, Loaded};
pub use queries::{load_queries, QuerySet};

use sha2::{Digest, Sha256};

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
    /// sha256 over the parents of the chunks used, in order: each one's id
    /// and text, length-prefixed so no two corpora hash alike by shifting a
    /// boundary. What the workloads search and assemble, whatever folder it
    /// was read from.
    pub fn content_sha256(&self) -> String {
        let mut h = Sha256::new();
        let mut last = None;
        for c in &self.chunks {
            if last == Some(c.parent) {
                continue;
            }
            last = Some(c.parent);
            let doc = &self.documents[c.parent];
            for part in [doc.id.as_bytes(), doc.text.as_bytes()] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part);
            }
        }
        format!("{:x}", h.finalize())
    }

    pub fn parents_used(&self) -> usize {
        let mut seen: Vec<usize> = self.chunks.iter().map(|c| c.parent).collect();
        seen.dedup();
        seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(texts: &[&str]) -> Corpus {
        let documents: Vec<Document> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| Document {
                id: format!("d{i}.md"),
                text: t.to_string(),
            })
            .collect();
        let chunks = documents
            .iter()
            .enumerate()
            .map(|(i, d)| Chunk {
                id: i,
                parent: i,
                text: d.text.clone(),
            })
            .collect();
        Corpus {
            documents,
            chunks,
            source_bytes: 0,
            subset: false,
        }
    }

    #[test]
    fn the_fingerprint_sees_content_not_counts() {
        let a = corpus(&["one two", "three"]);
        assert_eq!(
            a.content_sha256(),
            corpus(&["one two", "three"]).content_sha256()
        );
        // Same documents, same chunk count, other text.
        assert_ne!(
            a.content_sha256(),
            corpus(&["one two", "four"]).content_sha256()
        );
        // A boundary moved between documents.
        assert_ne!(
            a.content_sha256(),
            corpus(&["one", "two three"]).content_sha256()
        );
        assert_eq!(a.content_sha256().len(), 64);
    }
}
