//! Child chunks of about `chunk_size` characters, made by text-splitter
//! (semantic levels: paragraphs, then sentences, then words), with optional
//! overlap. Markdown files are split on their structure.

use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter};

use crate::{
    corpus::{Chunk, Document},
    error::WorkloadError,
};

/// Splits every document into chunks, in document order, stopping after
/// `max_chunks` when given (the quick profile's subset).
pub fn chunk_documents(
    docs: &[Document],
    chunk_size: usize,
    overlap: usize,
    max_chunks: Option<usize>,
) -> Result<Vec<Chunk>, WorkloadError> {
    let config = || {
        ChunkConfig::new(chunk_size)
            .with_overlap(overlap)
            .map_err(|e| WorkloadError::Config(format!("chunk settings: {e}")))
    };
    let text_splitter = TextSplitter::new(config()?);
    let md_splitter = MarkdownSplitter::new(config()?);
    let limit = max_chunks.unwrap_or(usize::MAX);
    let mut chunks = Vec::new();
    'docs: for (parent, doc) in docs.iter().enumerate() {
        let is_md = doc.id.ends_with(".md") || doc.id.ends_with(".markdown");
        let pieces: Box<dyn Iterator<Item = &str>> = if is_md {
            Box::new(md_splitter.chunks(&doc.text))
        } else {
            Box::new(text_splitter.chunks(&doc.text))
        };
        for piece in pieces {
            if chunks.len() >= limit {
                break 'docs;
            }
            chunks.push(Chunk {
                id: chunks.len(),
                parent,
                text: piece.to_string(),
            });
        }
    }
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, text: &str) -> Document {
        Document {
            id: id.into(),
            text: text.into(),
        }
    }

    #[test]
    fn chunks_respect_size_and_keep_parent_ids() {
        let para = "Ownership is a set of rules that govern how a Rust program manages memory. ";
        let docs = vec![doc("a.txt", &para.repeat(20)), doc("b.txt", "Short one.")];
        let chunks = chunk_documents(&docs, 400, 0, None).unwrap();
        assert!(chunks.len() > 3);
        assert!(chunks.iter().all(|c| c.text.chars().count() <= 400));
        assert_eq!(chunks.last().unwrap().parent, 1);
        assert_eq!(chunks.last().unwrap().text, "Short one.");
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.id, i);
        }
    }

    #[test]
    fn overlap_repeats_text_between_neighbours() {
        let words: String = (0..200).map(|i| format!("word{i} ")).collect();
        let docs = vec![doc("a.txt", &words)];
        let chunks = chunk_documents(&docs, 100, 30, None).unwrap();
        let first_tail: Vec<&str> = chunks[0].text.split_whitespace().rev().take(2).collect();
        assert!(chunks[1].text.contains(first_tail[0]), "{chunks:?}");
    }

    #[test]
    fn max_chunks_cuts_the_corpus() {
        let docs = vec![doc("a.txt", &"sentence here. ".repeat(200))];
        let chunks = chunk_documents(&docs, 50, 0, Some(7)).unwrap();
        assert_eq!(chunks.len(), 7);
    }

    #[test]
    fn markdown_is_split_on_structure() {
        let md = format!(
            "# One\n\n{}\n\n# Two\n\n{}",
            "alpha ".repeat(30),
            "beta ".repeat(30)
        );
        let chunks = chunk_documents(&[doc("x.md", &md)], 250, 0, None).unwrap();
        assert!(
            chunks.iter().any(|c| c.text.starts_with("# Two")),
            "{chunks:?}"
        );
    }
}
