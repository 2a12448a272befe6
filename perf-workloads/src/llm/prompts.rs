//! The prompts the LLM workloads send: a question as one chat turn, the RAG
//! answer prompt (retrieved context, then the question), and prompts of an
//! exact token length for the prefill measurement, cut from the query set's
//! own text so that they are real language rather than random ids.

use crate::llm::gguf_tokenizer::GgufTokenizer;

/// A question as Gemma's chat template frames a user turn.
pub fn question_prompt(question: &str) -> String {
    format!("<start_of_turn>user\n{question}<end_of_turn>\n<start_of_turn>model\n")
}

/// The answer prompt of the RAG path.
pub fn rag_prompt(context: &str, question: &str) -> String {
    format!(
        "<start_of_turn>user\nAnswer the question using only the context below.\n\nContext:\n{context}\nQuestion: {question}<end_of_turn>\n<start_of_turn>model\n"
    )
}

/// Text whose tokenization (BOS included) is exactly `len` tokens, taken
/// from `filler` starting at its `start`-th token (wrapping around), so each
/// question of a pass gets a different prompt of the same length.
pub fn fixed_length_prompt(
    tokenizer: &GgufTokenizer,
    filler: &str,
    start: usize,
    len: usize,
) -> Result<String, String> {
    let ids = tokenizer.encode(filler, false);
    let body = &ids[1.min(ids.len())..];
    if body.len() < 2 {
        return Err("the query set is too short to build prompts from".into());
    }
    // Enough copies of the text to take `len` tokens from any start.
    let mut pool: Vec<u32> = Vec::with_capacity(len * 2 + body.len());
    let offset = start % body.len();
    while pool.len() < offset + len * 2 {
        pool.extend_from_slice(body);
    }
    let pool = &pool[offset..];
    // Decoding and re-encoding can merge across the cut: adjust the cut
    // until the count is exact.
    let mut take = len - 1;
    for _ in 0..64 {
        let text = tokenizer.decode(&pool[..take]);
        let n = tokenizer.encode(&text, true).len();
        match n.cmp(&len) {
            std::cmp::Ordering::Equal => return Ok(text),
            std::cmp::Ordering::Greater => take -= 1,
            std::cmp::Ordering::Less => take += 1,
        }
    }
    Err(format!(
        "cannot cut a prompt of exactly {len} tokens from the query set"
    ))
}
