//! Every embedding engine and kernel path on the real all-MiniLM-L6-v2
//! against the vectors Python sentence-transformers (PyTorch) produced for
//! the same sentences (`perf-workloads/data/minilm_reference.json`, from
//! the seed's fixtures): the native engine forced onto each of its kernel
//! paths (AMX tiles and AVX-512 BF16 where this CPU has them, ignored
//! where `build.rs` found it lacks them; the f32 fallback everywhere), and
//! candle.

mod common;

use perf_workloads::embed::{
    cosine,
    native::tier_runs,
    reference::{parity, reference},
    EmbedEngine, Embedder, KernelPath, MINILM_ID,
};

#[test]
#[cfg_attr(
    no_amx,
    ignore = "this CPU has no AMX-BF16: the tiers below it are tested"
)]
fn native_amx_matches_sentence_transformers_for_every_reference_sentence() {
    if tier_runs(KernelPath::AmxBf16, cfg!(no_amx)) {
        check(EmbedEngine::Native, KernelPath::AmxBf16);
    }
}

#[test]
#[cfg_attr(
    no_avx512_bf16,
    ignore = "this CPU has no AVX-512 BF16: the f32 tier is tested"
)]
fn native_bf16_matches_sentence_transformers_for_every_reference_sentence() {
    if tier_runs(KernelPath::Bf16Avx512, cfg!(no_avx512_bf16)) {
        check(EmbedEngine::Native, KernelPath::Bf16Avx512);
    }
}

#[test]
fn native_f32_fallback_matches_sentence_transformers_for_every_reference_sentence() {
    check(EmbedEngine::Native, KernelPath::F32);
}

#[test]
fn candle_matches_sentence_transformers_for_every_reference_sentence() {
    check(EmbedEngine::Candle, KernelPath::F32);
}

fn check(engine: EmbedEngine, kernel: KernelPath) {
    let reference = reference();
    assert_eq!(reference.model, MINILM_ID);
    let embedder = Embedder::load_with(&common::real_model(), engine, kernel).unwrap();
    eprintln!("engine: {}", embedder.describe());
    assert_eq!(embedder.max_seq_length(), reference.max_seq_length);

    // In one batch, so padding is exercised: the sentences run from empty to
    // past the 256-token truncation point.
    let batched = parity(&embedder, &reference).unwrap();
    let mut worst_alone = f64::INFINITY;
    for (item, cos) in reference.items.iter().zip(&batched) {
        // And alone, with no padding at all.
        let single = embedder.embed(&[item.text.as_str()]).unwrap().remove(0);
        let cos_single = f64::from(cosine(&single, &item.embedding));
        worst_alone = worst_alone.min(cos_single);
        let shown: String = item.text.chars().take(40).collect();
        eprintln!("cos batched {cos:.7} alone {cos_single:.7} {shown:?}");
        assert!(
            *cos >= 0.999,
            "batched cosine {cos} < 0.999 for {:?}",
            item.text
        );
        assert!(
            cos_single >= 0.999,
            "single cosine {cos_single} < 0.999 for {:?}",
            item.text
        );
    }
    let worst = batched.iter().copied().fold(f64::INFINITY, f64::min);
    eprintln!(
        "worst cosine similarity: {worst:.7} batched, {worst_alone:.7} alone, over {} sentences",
        batched.len()
    );
}
