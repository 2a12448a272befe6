//! The candle embedding of the real all-MiniLM-L6-v2 against the vectors
//! Python sentence-transformers (PyTorch) produced for the same sentences.

mod common;

use perf_workloads::embed::{cosine, Embedder};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    model: String,
    max_seq_length: usize,
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    text: String,
    embedding: Vec<f32>,
}

#[test]
fn matches_sentence_transformers_for_every_reference_sentence() {
    let text = include_str!("data/minilm_reference.json");
    let reference: Reference = serde_json::from_str(text).unwrap();
    assert_eq!(reference.model, perf_workloads::embed::MINILM_ID);

    let embedder = Embedder::load(&common::real_model()).unwrap();
    assert_eq!(embedder.max_seq_length(), reference.max_seq_length);
    let texts: Vec<&str> = reference.items.iter().map(|i| i.text.as_str()).collect();
    // One batch, so padding is exercised: the sentences differ in length from
    // empty to past the 256-token truncation point.
    let batched = embedder.embed(&texts).unwrap();
    let mut worst = f32::INFINITY;
    for (item, got) in reference.items.iter().zip(&batched) {
        let single = embedder.embed(&[item.text.as_str()]).unwrap().remove(0);
        let cos = cosine(got, &item.embedding);
        let cos_single = cosine(&single, &item.embedding);
        eprintln!(
            "cos {cos:.6} (alone {cos_single:.6}) {:?}",
            &item.text.chars().take(40).collect::<String>()
        );
        assert!(
            cos >= 0.999,
            "batched cosine {cos} < 0.999 for {:?}",
            item.text
        );
        assert!(
            cos_single >= 0.999,
            "single cosine {cos_single} < 0.999 for {:?}",
            item.text
        );
        worst = worst.min(cos).min(cos_single);
    }
    eprintln!(
        "worst cosine similarity: {worst:.6} over {} sentences",
        reference.items.len()
    );
}
