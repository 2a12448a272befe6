//! The retrieval path of a RAG query, as the original pipeline runs it:
//! embed the question, find the top-k child chunks, map them to their parent
//! documents, and assemble the parents into one context string.

use crate::{
    corpus::Corpus,
    embed::Embedder,
    error::WorkloadError,
    index::{Hit, VectorSearch},
    stage_timer::{timed, Stage, StageTimes},
};

pub struct RagPipeline<'a> {
    pub embedder: &'a Embedder,
    pub index: &'a dyn VectorSearch,
    pub corpus: &'a Corpus,
    pub top_k: usize,
    pub max_context_chars: usize,
}

#[derive(Debug, Clone)]
pub struct Retrieval {
    pub hits: Vec<Hit>,
    /// Parent document indices, best-ranked first, without repeats.
    pub parents: Vec<usize>,
    pub context: String,
    pub stages: StageTimes,
}

impl RagPipeline<'_> {
    pub fn retrieve(&self, question: &str) -> Result<Retrieval, WorkloadError> {
        let mut stages = StageTimes::default();
        let batch = timed(&mut stages, Stage::Tokenize, || {
            self.embedder.tokenize(&[question])
        })?;
        let mut vectors = timed(&mut stages, Stage::Embed, || self.embedder.forward(&batch))?;
        let query = vectors.pop().expect("one vector per question");
        let hits = timed(&mut stages, Stage::Search, || {
            self.index.search(&query, self.top_k)
        })?;
        let parents = timed(&mut stages, Stage::FetchParents, || self.parents_of(&hits));
        let context = timed(&mut stages, Stage::AssembleContext, || {
            self.assemble(&parents)
        });
        Ok(Retrieval {
            hits,
            parents,
            context,
            stages,
        })
    }

    pub fn parents_of(&self, hits: &[Hit]) -> Vec<usize> {
        let mut parents = Vec::with_capacity(hits.len());
        for hit in hits {
            let parent = self.corpus.chunks[hit.id].parent;
            if !parents.contains(&parent) {
                parents.push(parent);
            }
        }
        parents
    }

    /// Parent texts under their ids, cut at `max_context_chars` characters.
    pub fn assemble(&self, parents: &[usize]) -> String {
        let mut context = String::new();
        for &p in parents {
            let doc = &self.corpus.documents[p];
            context.push_str("## ");
            context.push_str(&doc.id);
            context.push('\n');
            context.push_str(&doc.text);
            context.push_str("\n\n");
        }
        if let Some((cut, _)) = context.char_indices().nth(self.max_context_chars) {
            context.truncate(cut);
        }
        context
    }
}
