//! The tokenizer of a SentencePiece (`llama`-type) GGUF model, built from
//! the file's own metadata (`tokenizer.ggml.tokens`, `scores`, `token_type`,
//! BOS/EOS ids, `add_bos_token`, `add_space_prefix`), so candle needs no
//! separate tokenizer download.
//!
//! It follows llama.cpp's SPM path step by step, because token ids must
//! match llama.cpp's exactly for the engines to be compared on the same
//! input (a test checks this on the whole query set): user-defined tokens
//! (runs of spaces or newlines, HTML tags, and with `parse_special` the
//! control tokens) are cut out first, longest first; each remaining piece
//! has spaces escaped to `▁` and is merged pairwise, highest score first
//! (ties: leftmost), and characters no merge covers become byte tokens.

use std::{
    cmp::Ordering,
    collections::{BinaryHeap, HashMap},
};

use candle_core::quantized::gguf_file::{Content, Value};

use crate::error::WorkloadError;

/// `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`).
const TYPE_UNKNOWN: i32 = 2;
const TYPE_CONTROL: i32 = 3;
const TYPE_USER_DEFINED: i32 = 4;
const TYPE_BYTE: i32 = 6;

#[derive(Clone)]
pub struct GgufTokenizer {
    tokens: Vec<String>,
    scores: Vec<f32>,
    types: Vec<i32>,
    to_id: HashMap<String, u32>,
    byte_ids: Vec<Option<u32>>,
    /// Control, user-defined and unknown tokens, longest text first.
    specials: Vec<u32>,
    bos: Option<u32>,
    eos: Option<u32>,
    add_bos: bool,
    add_space_prefix: bool,
}

fn meta<'a>(ct: &'a Content, key: &str) -> Result<&'a Value, String> {
    ct.metadata
        .get(key)
        .ok_or_else(|| format!("GGUF metadata has no `{key}`"))
}

fn as_u32(v: &Value) -> Option<u32> {
    match v {
        Value::U8(x) => Some(*x as u32),
        Value::U16(x) => Some(*x as u32),
        Value::U32(x) => Some(*x),
        Value::I32(x) => u32::try_from(*x).ok(),
        Value::U64(x) => u32::try_from(*x).ok(),
        Value::I64(x) => u32::try_from(*x).ok(),
        _ => None,
    }
}

impl GgufTokenizer {
    /// The tokenizer of the GGUF file at `path`.
    pub fn load(path: &std::path::Path) -> Result<GgufTokenizer, WorkloadError> {
        let content = crate::llm::gguf_check::read_content(path)?;
        GgufTokenizer::from_gguf(&content).map_err(|message| WorkloadError::Gguf {
            path: path.to_path_buf(),
            message,
        })
    }

    pub fn from_gguf(ct: &Content) -> Result<GgufTokenizer, String> {
        let model = meta(ct, "tokenizer.ggml.model")?
            .to_string()
            .map_err(|e| e.to_string())?;
        if model != "llama" {
            return Err(format!(
                "tokenizer.ggml.model `{model}` is not supported (only SentencePiece `llama` vocabularies)"
            ));
        }
        let array = |key: &str| -> Result<&Vec<Value>, String> {
            meta(ct, key)?.to_vec().map_err(|e| format!("{key}: {e}"))
        };
        let tokens: Vec<String> = array("tokenizer.ggml.tokens")?
            .iter()
            .map(|v| v.to_string().cloned().map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let n = tokens.len();
        let scores: Vec<f32> = match ct.metadata.get("tokenizer.ggml.scores") {
            Some(v) => v
                .to_vec()
                .map_err(|e| e.to_string())?
                .iter()
                .map(|s| s.to_f32().unwrap_or(0.0))
                .collect(),
            None => vec![0.0; n],
        };
        let types: Vec<i32> = match ct.metadata.get("tokenizer.ggml.token_type") {
            Some(v) => v
                .to_vec()
                .map_err(|e| e.to_string())?
                .iter()
                .map(|t| t.to_i32().unwrap_or(1))
                .collect(),
            None => vec![1; n],
        };
        if scores.len() != n || types.len() != n {
            return Err(
                "tokenizer.ggml.scores/token_type do not match tokenizer.ggml.tokens in length"
                    .into(),
            );
        }
        // As llama.cpp's token_to_id map: a repeated text maps to its last id.
        let mut to_id = HashMap::with_capacity(n);
        for (id, t) in tokens.iter().enumerate() {
            to_id.insert(t.clone(), id as u32);
        }
        let byte_ids = (0..=255u8)
            .map(|b| to_id.get(&format!("<0x{b:02X}>")).copied())
            .collect();
        let mut specials: Vec<u32> = (0..n as u32)
            .filter(|&id| {
                let t = types[id as usize];
                (t == TYPE_CONTROL || t == TYPE_USER_DEFINED || t == TYPE_UNKNOWN)
                    && !tokens[id as usize].is_empty()
            })
            .collect();
        // Equal lengths never overlap in Gemma's vocabulary, so the order
        // among them (unspecified in llama.cpp's sort) does not matter.
        specials.sort_by(|a, b| tokens[*b as usize].len().cmp(&tokens[*a as usize].len()));
        let flag = |key: &str, default: bool| {
            ct.metadata
                .get(key)
                .and_then(|v| v.to_bool().ok())
                .unwrap_or(default)
        };
        let id = |key: &str| ct.metadata.get(key).and_then(as_u32);
        Ok(GgufTokenizer {
            bos: id("tokenizer.ggml.bos_token_id"),
            eos: id("tokenizer.ggml.eos_token_id"),
            add_bos: flag("tokenizer.ggml.add_bos_token", true),
            add_space_prefix: flag("tokenizer.ggml.add_space_prefix", true),
            tokens,
            scores,
            types,
            to_id,
            byte_ids,
            specials,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// EOS, or Gemma's `<end_of_turn>` (llama.cpp's end-of-generation set
    /// for this vocabulary).
    pub fn is_end_of_generation(&self, id: u32) -> bool {
        self.end_of_generation_ids().contains(&id)
    }

    pub fn end_of_generation_ids(&self) -> Vec<u32> {
        self.eos
            .into_iter()
            .chain(self.to_id.get("<end_of_turn>").copied())
            .collect()
    }

    /// Token ids of `text`, BOS first when the model asks for it (llama.cpp's
    /// `tokenize(text, add_special = true, parse_special)`).
    pub fn encode(&self, text: &str, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if self.add_bos {
            out.extend(self.bos);
        }
        let mut prev_special = true;
        for fragment in self.partition(text, parse_special) {
            match fragment {
                Fragment::Text(piece) => {
                    let mut s = String::with_capacity(piece.len() + 3);
                    if self.add_space_prefix && prev_special {
                        s.push(' ');
                    }
                    s.push_str(piece);
                    let escaped = s.replace(' ', "\u{2581}");
                    self.spm(&escaped, &mut out);
                    prev_special = false;
                }
                Fragment::Token(id) => {
                    out.push(id);
                    prev_special = true;
                }
            }
        }
        out
    }

    /// Text of generated ids: `▁` back to spaces, byte tokens to bytes,
    /// control tokens dropped (as llama.cpp renders them without `special`).
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            let Some(text) = self.tokens.get(id as usize) else {
                continue;
            };
            match self.types[id as usize] {
                TYPE_CONTROL => {}
                TYPE_BYTE => {
                    let hex = text.trim_start_matches("<0x").trim_end_matches('>');
                    bytes.extend(u8::from_str_radix(hex, 16).ok());
                }
                _ => bytes.extend(text.replace('\u{2581}', " ").as_bytes()),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Cuts special tokens out of `text`, longest first, left to right.
    fn partition<'t>(&self, text: &'t str, parse_special: bool) -> Vec<Fragment<'t>> {
        let mut fragments = vec![Fragment::Text(text)];
        if text.is_empty() {
            return Vec::new();
        }
        for &id in &self.specials {
            let t = self.types[id as usize];
            if !parse_special && (t == TYPE_CONTROL || t == TYPE_UNKNOWN) {
                continue;
            }
            let needle = self.tokens[id as usize].as_str();
            let mut next = Vec::with_capacity(fragments.len());
            for f in fragments {
                let Fragment::Text(mut rest) = f else {
                    next.push(f);
                    continue;
                };
                while let Some(at) = rest.find(needle) {
                    if at > 0 {
                        next.push(Fragment::Text(&rest[..at]));
                    }
                    next.push(Fragment::Token(id));
                    rest = &rest[at + needle.len()..];
                }
                if !rest.is_empty() {
                    next.push(Fragment::Text(rest));
                }
            }
            fragments = next;
        }
        fragments
    }

    /// llama.cpp's `llm_tokenizer_spm_session::tokenize` on escaped text.
    fn spm(&self, text: &str, out: &mut Vec<u32>) {
        if text.is_empty() {
            return;
        }
        let mut symbols: Vec<Symbol> = Vec::new();
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        for (i, &(start, c)) in chars.iter().enumerate() {
            let n = c.len_utf8();
            symbols.push(Symbol {
                start,
                n,
                prev: i as isize - 1,
                next: if start + n == text.len() {
                    -1
                } else {
                    i as isize + 1
                },
            });
        }
        let mut queue = BinaryHeap::new();
        let mut rev_merge: HashMap<String, (usize, usize)> = HashMap::new();
        for i in 1..symbols.len() {
            self.try_bigram(
                text,
                &symbols,
                i as isize - 1,
                i as isize,
                &mut queue,
                &mut rev_merge,
            );
        }
        while let Some(b) = queue.pop() {
            let (l, r) = (b.left, b.right);
            if symbols[l].n == 0 || symbols[r].n == 0 || symbols[l].n + symbols[r].n != b.size {
                continue;
            }
            symbols[l].n += symbols[r].n;
            symbols[r].n = 0;
            symbols[l].next = symbols[r].next;
            let after = symbols[r].next;
            if after >= 0 {
                symbols[after as usize].prev = l as isize;
            }
            let (prev, next) = (symbols[l].prev, symbols[l].next);
            self.try_bigram(text, &symbols, prev, l as isize, &mut queue, &mut rev_merge);
            self.try_bigram(text, &symbols, l as isize, next, &mut queue, &mut rev_merge);
        }
        let mut i: isize = 0;
        while i != -1 {
            self.resegment(text, &symbols, i as usize, &rev_merge, out);
            i = symbols[i as usize].next;
        }
    }

    fn try_bigram(
        &self,
        text: &str,
        symbols: &[Symbol],
        left: isize,
        right: isize,
        queue: &mut BinaryHeap<Bigram>,
        rev_merge: &mut HashMap<String, (usize, usize)>,
    ) {
        if left < 0 || right < 0 {
            return;
        }
        let (l, r) = (left as usize, right as usize);
        let s = symbols[l].start;
        let piece = &text[s..s + symbols[l].n + symbols[r].n];
        let Some(&id) = self.to_id.get(piece) else {
            return;
        };
        queue.push(Bigram {
            score: self.scores[id as usize],
            left: l,
            right: r,
            size: piece.len(),
        });
        rev_merge.insert(piece.to_string(), (l, r));
    }

    fn resegment(
        &self,
        text: &str,
        symbols: &[Symbol],
        i: usize,
        rev_merge: &HashMap<String, (usize, usize)>,
        out: &mut Vec<u32>,
    ) {
        let sym = &symbols[i];
        let piece = &text[sym.start..sym.start + sym.n];
        if let Some(&id) = self.to_id.get(piece) {
            out.push(id);
            return;
        }
        match rev_merge.get(piece) {
            Some(&(l, r)) => {
                self.resegment(text, symbols, l, rev_merge, out);
                self.resegment(text, symbols, r, rev_merge, out);
            }
            None => {
                for b in piece.bytes() {
                    // A vocabulary without byte tokens has nothing better.
                    out.extend(self.byte_ids[b as usize]);
                }
            }
        }
    }
}

enum Fragment<'t> {
    Text(&'t str),
    Token(u32),
}

struct Symbol {
    start: usize,
    n: usize,
    prev: isize,
    next: isize,
}

/// A candidate merge; the heap pops the highest score, ties leftmost first.
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    size: usize,
}

impl Ord for Bigram {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .partial_cmp(&other.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| other.left.cmp(&self.left))
    }
}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny vocabulary built in the test: merges follow scores, unknown
    /// characters fall back to bytes, user-defined tokens are cut out first.
    fn tiny() -> GgufTokenizer {
        let mut tokens: Vec<(String, f32, i32)> = vec![
            ("<pad>".into(), 0.0, TYPE_CONTROL),
            ("<eos>".into(), 0.0, TYPE_CONTROL),
            ("<bos>".into(), 0.0, TYPE_CONTROL),
            ("\n".into(), 0.0, TYPE_USER_DEFINED),
            ("\u{2581}".into(), -1.0, 1),
            ("a".into(), -2.0, 1),
            ("b".into(), -3.0, 1),
            ("ab".into(), -4.0, 1),
            ("\u{2581}ab".into(), -5.0, 1),
        ];
        for b in 0..=255u8 {
            tokens.push((format!("<0x{b:02X}>"), 0.0, TYPE_BYTE));
        }
        let to_id = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.0.clone(), i as u32))
            .collect::<HashMap<_, _>>();
        let byte_ids = (0..=255u8)
            .map(|b| to_id.get(&format!("<0x{b:02X}>")).copied())
            .collect();
        GgufTokenizer {
            specials: vec![0, 1, 2, 3],
            scores: tokens.iter().map(|t| t.1).collect(),
            types: tokens.iter().map(|t| t.2).collect(),
            tokens: tokens.into_iter().map(|t| t.0).collect(),
            to_id,
            byte_ids,
            bos: Some(2),
            eos: Some(1),
            add_bos: true,
            add_space_prefix: false,
        }
    }

    #[test]
    fn merges_user_tokens_and_byte_fallback() {
        let t = tiny();
        // "ab ab\nz": ab | ▁ab | \n | z as a byte token.
        let ids = t.encode("ab ab\nz", false);
        let z = t.to_id["<0x7A>"];
        assert_eq!(ids, vec![2, 7, 8, 3, z]);
        assert_eq!(t.decode(&ids), "ab ab\nz");
    }

    #[test]
    fn control_tokens_need_parse_special() {
        let t = tiny();
        assert_eq!(t.encode("<eos>", true), vec![2, 1]);
        assert_ne!(t.encode("<eos>", false), vec![2, 1]);
    }
}
