//! The LLM engines on the real Gemma 3 270M GGUF: the GGUF tokenizer gives
//! llama.cpp's token ids for every prompt the workloads send, and greedy
//! decoding in llama.cpp and candle starts alike on most questions.

#![cfg(feature = "llamacpp")]

mod common;

use perf_contract::plan::{CandleWeights, LlmPlan, WorkloadName};
use perf_workloads::{
    llm::{
        candle_engine::CandleEngine,
        engine::{common_prefix, Engine},
        gguf_tokenizer::GgufTokenizer,
        llamacpp_engine::LlamaCppEngine,
        prompts::{fixed_length_prompt, question_prompt, rag_prompt},
    },
    rag::RagPipeline,
    reporter::Reporter,
    workloads::prepare_with_index,
};

/// Every question, its chat prompt, and its RAG prompt with the context the
/// real retrieval path returns (at the workload's 2000 characters and at
/// rag_query's 8000), on the quick subset of the Rust book.
fn all_prompts() -> Vec<String> {
    let mut plan = common::plan(
        &common::rust_book(),
        &common::default_queries(),
        vec![WorkloadName::RagQuery],
    );
    plan.corpus.max_chunks = Some(300);
    let mut sink = Vec::new();
    let mut reporter = Reporter::new(&mut sink);
    let (p, index) = prepare_with_index(&plan, &mut reporter).unwrap();
    let index = index.unwrap();
    let mut prompts = Vec::new();
    for chars in [LlmPlan::default().rag_context_chars, 8000] {
        let pipeline = RagPipeline {
            embedder: &p.embedder,
            index: &index,
            corpus: &p.corpus,
            top_k: 5,
            max_context_chars: chars,
        };
        for q in &p.queries.questions {
            let r = pipeline.retrieve(q).unwrap();
            prompts.push(rag_prompt(&r.context, q));
        }
    }
    for q in &p.queries.questions {
        prompts.push(q.clone());
        prompts.push(question_prompt(q));
    }
    prompts
}

#[test]
fn gguf_tokenizer_matches_llama_cpp_on_every_prompt() {
    let gguf = common::real_gguf();
    let tokenizer = GgufTokenizer::load(&gguf.path).unwrap();
    let llama = LlamaCppEngine::load(&gguf, 2, 4096).unwrap();
    let mut prompts = all_prompts();
    let filler = common::questions().join(" ");
    for len in [128, 512] {
        prompts.push(fixed_length_prompt(&tokenizer, &filler, 0, len).unwrap());
    }
    let mut tokens = 0;
    for prompt in &prompts {
        for parse_special in [true, false] {
            let ours = tokenizer.encode(prompt, parse_special);
            let theirs = llama.tokenize(prompt, parse_special);
            let at = common_prefix(&ours, &theirs);
            assert_eq!(
                ours, theirs,
                "token ids differ at {at} (parse_special {parse_special}) for {prompt:?}"
            );
            tokens += ours.len();
        }
    }
    eprintln!(
        "token ids identical for {} prompts ({tokens} tokens)",
        prompts.len()
    );
}

#[test]
fn fixed_length_prompts_have_their_length() {
    let gguf = common::real_gguf();
    let tokenizer = GgufTokenizer::load(&gguf.path).unwrap();
    let filler = common::questions().join(" ");
    for (start, len) in [(0, 128), (37, 128), (111, 512)] {
        let p = fixed_length_prompt(&tokenizer, &filler, start, len).unwrap();
        assert_eq!(tokenizer.encode(&p, true).len(), len);
    }
}

/// Agreement of the first 16 greedy tokens over the 54 questions. Both
/// engines run the same weights through the same function, but not the
/// same arithmetic (llama.cpp keeps the KV cache in f16, rounds GELU through
/// an f16 table and quantizes activations with another rounding rule), so a
/// near-tie in the logits can flip and the sequences then part: identical
/// output for every question is not expected.
#[test]
fn llamacpp_and_candle_agree_on_most_questions() {
    const TOKENS: usize = 16;
    let gguf = common::real_gguf();
    let mut llama = LlamaCppEngine::load(&gguf, 0, 4096).unwrap();
    let mut candle = CandleEngine::load(
        &gguf,
        GgufTokenizer::load(&gguf.path).unwrap(),
        4096,
        CandleWeights::default(),
    )
    .unwrap();
    let questions = common::questions();
    let mut full = 0;
    let mut prefixes = Vec::new();
    for q in &questions {
        let p = question_prompt(q);
        let ga = llama.generate(&p, TOKENS, false).unwrap();
        let gb = candle.generate(&p, TOKENS, false).unwrap();
        let (a, b) = (ga.tokens, gb.tokens);
        assert_eq!((a.len(), b.len()), (TOKENS, TOKENS));
        let n = common_prefix(&a, &b);
        full += usize::from(n == TOKENS);
        prefixes.push(n);
        if n < TOKENS {
            eprintln!(
                "differ after {n} tokens: {q:?}\n  llamacpp {:?}\n  candle   {:?}",
                ga.text, gb.text
            );
        }
    }
    let rate = full as f64 / questions.len() as f64;
    let first = prefixes.iter().filter(|&&n| n >= 1).count() as f64 / prefixes.len() as f64;
    let mean = prefixes.iter().sum::<usize>() as f64 / prefixes.len() as f64;
    let min = prefixes.iter().min().copied().unwrap_or(0);
    eprintln!(
        "greedy agreement: {full}/{} questions identical over {TOKENS} tokens ({rate:.3}), first token {first:.3}, mean common prefix {mean:.1}, shortest {min}",
        questions.len()
    );
    assert!(
        rate >= AGREEMENT_THRESHOLD,
        "{full}/{} questions agree on all {TOKENS} tokens ({rate:.3} < {AGREEMENT_THRESHOLD})",
        questions.len()
    );
    assert!(
        first >= FIRST_TOKEN_THRESHOLD,
        "first-token agreement {first:.3} < {FIRST_TOKEN_THRESHOLD}"
    );
    assert!(
        mean >= MEAN_PREFIX_THRESHOLD,
        "mean common prefix {mean:.1} < {MEAN_PREFIX_THRESHOLD}"
    );
}

/// Measured on the 2-core development VM over the 54 questions, with the
/// default `q5_0_as_f32` weights: 36 questions (0.667) agree on all 16
/// tokens, the first token agrees on all 54, the common prefix averages
/// 13.8 tokens. With `quantized` weights: 35, 54, 13.3; with llama.cpp's KV
/// cache in f32 and flash attention off: 39, 54, 13.9, so the remaining
/// partings are rounding. candle-transformers' own Gemma 3 (SiLU in the
/// MLP, an unbounded decode window) scored 0, 49 and 3.7: each guard below
/// fails it. "Most questions" is read as a majority for the whole 16
/// tokens, with room for 9 more near-tie flips than measured; a wrong rope,
/// mask, norm or tokenizer would break the first token, which has agreed
/// every time.
const AGREEMENT_THRESHOLD: f64 = 0.5;
const FIRST_TOKEN_THRESHOLD: f64 = 0.95;
const MEAN_PREFIX_THRESHOLD: f64 = 10.0;
