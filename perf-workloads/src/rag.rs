//! The retrieval path of a RAG query, as the original pipeline runs it:
//! embed the question, find the top-k child chunks, map them to their parent
//! documents, and assemble the parents into one context string.

use std::rc::Rc;

use crate::{
    corpus::Corpus,
    embed::{Embedder, TokenBatch},
    error::WorkloadError,
    index::{Hit, VectorSearch},
    probe::Probe,
    stage_timer::{timed, Stage, StageTimes},
};

#[derive(Clone, Copy)]
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

/// What each retrieval stage takes as input, per question, computed once
/// by a full retrieval so each probe runs its stage alone.
struct StageInputs {
    tokens: Vec<TokenBatch>,
    vectors: Vec<Vec<f32>>,
    hits: Vec<Vec<Hit>>,
    parents: Vec<Vec<usize>>,
}

impl<'a> RagPipeline<'a> {
    /// The retrieval stages of `questions`, in execution order, each as a
    /// probe over that stage's own inputs.
    pub fn stage_probes(self, questions: &'a [String]) -> Result<Vec<Probe<'a>>, WorkloadError> {
        let mut inputs = StageInputs {
            tokens: Vec::new(),
            vectors: Vec::new(),
            hits: Vec::new(),
            parents: Vec::new(),
        };
        // Each stage's output feeds the next, once per question.
        for q in questions {
            let tokens = self.embedder.tokenize(&[q.as_str()])?;
            let vector = self
                .embedder
                .forward(&tokens)?
                .pop()
                .expect("one vector per question");
            let hits = self.index.search(&vector, self.top_k)?;
            inputs.parents.push(self.parents_of(&hits));
            inputs.tokens.push(tokens);
            inputs.vectors.push(vector);
            inputs.hits.push(hits);
        }
        let inputs = Rc::new(inputs);
        let n = questions.len();
        let [a, b, c, d] = [(); 4].map(|_| inputs.clone());
        Ok(vec![
            Probe::new(Stage::Tokenize, n, move |i| {
                self.embedder.tokenize(&[questions[i].as_str()]).map(drop)
            }),
            Probe::new(Stage::Embed, n, move |i| {
                self.embedder.forward(&a.tokens[i]).map(drop)
            }),
            Probe::new(Stage::Search, n, move |i| {
                self.index.search(&b.vectors[i], self.top_k).map(drop)
            }),
            Probe::new(Stage::FetchParents, n, move |i| {
                std::hint::black_box(self.parents_of(&c.hits[i]));
                Ok(())
            }),
            Probe::new(Stage::AssembleContext, n, move |i| {
                std::hint::black_box(self.assemble(&d.parents[i]));
                Ok(())
            }),
        ])
    }
}
