//! The body of one Chroma `add`: ids as decimal strings and the
//! embeddings, either as JSON numbers or, where the server takes it, as
//! base64 of each vector's little-endian f32 bytes (what Chroma's Python
//! client sends: under half the bytes of f32-digit JSON, 11.3 against
//! 25.7 MB for a full batch of 5,461 real vectors, and no float parsing on
//! the server).

use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde::Serialize;

#[derive(Serialize)]
struct AddBody<'a> {
    ids: Vec<String>,
    embeddings: Embeddings<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Embeddings<'a> {
    /// Serialized as f32 (shortest round-trip digits), never through
    /// `serde_json::Value`, whose f64 numbers would print ~17 digits and
    /// nearly double the body.
    Numbers(&'a [Vec<f32>]),
    Base64(Vec<String>),
}

/// The JSON body adding `batch` under ids `first, first + 1, ...`.
pub(super) fn add_body(first: usize, batch: &[Vec<f32>], base64: bool) -> String {
    let embeddings = if base64 {
        Embeddings::Base64(batch.iter().map(|v| encode(v)).collect())
    } else {
        Embeddings::Numbers(batch)
    };
    let body = AddBody {
        ids: (first..first + batch.len())
            .map(|id| id.to_string())
            .collect(),
        embeddings,
    };
    // Non-finite f32 print as null (the server then refuses the batch).
    serde_json::to_string(&body).expect("strings and numbers always serialize")
}

fn encode(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn base64_embeddings_decode_to_the_same_f32_bits() {
        let batch = vec![
            vec![0.1f32, -2.5e-7, 1.0],
            vec![f32::MIN_POSITIVE, 0.0, -0.0],
        ];
        let body: Value = serde_json::from_str(&add_body(7, &batch, true)).unwrap();
        assert_eq!(body["ids"], serde_json::json!(["7", "8"]));
        for (encoded, vector) in body["embeddings"].as_array().unwrap().iter().zip(&batch) {
            let bytes = STANDARD.decode(encoded.as_str().unwrap()).unwrap();
            let decoded: Vec<u32> = bytes
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            let want: Vec<u32> = vector.iter().map(|x| x.to_bits()).collect();
            assert_eq!(decoded, want);
        }
    }

    #[test]
    fn json_embeddings_use_f32_digits_and_round_trip() {
        let batch = vec![vec![0.1f32, 0.012345679, -0.3]];
        let text = add_body(0, &batch, false);
        // f32 shortest digits, not the f64 widening's 0.10000000149011612.
        assert!(text.contains("[0.1,0.012345679,-0.3]"), "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        let back: Vec<f32> = body["embeddings"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(back, batch[0]);
    }

    #[test]
    fn base64_is_under_half_the_json_numbers() {
        let batch: Vec<Vec<f32>> = (0..50)
            .map(|i| {
                (0..384)
                    .map(|j| ((i * 384 + j) as f32 * 0.618).sin() * 0.07)
                    .collect()
            })
            .collect();
        let (b64, json) = (add_body(0, &batch, true), add_body(0, &batch, false));
        assert!(
            b64.len() * 2 < json.len(),
            "{} vs {}",
            b64.len(),
            json.len()
        );
    }
}
