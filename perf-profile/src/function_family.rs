//! Recognises common families of hot functions by name, so a bottleneck's
//! reason can say "matrix multiply" instead of only a mangled-looking path.

use serde::{Deserialize, Serialize};

/// What a hot function does, as far as its name tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FunctionFamily {
    MatrixMultiply,
    Softmax,
    Tokenizer,
    VectorSearch,
    Allocation,
    MemoryCopy,
    Hashing,
}

impl FunctionFamily {
    /// A few words for a reason line.
    pub fn describe(self) -> &'static str {
        match self {
            FunctionFamily::MatrixMultiply => "matrix multiply",
            FunctionFamily::Softmax => "softmax / exp",
            FunctionFamily::Tokenizer => "tokenizer",
            FunctionFamily::VectorSearch => "vector index search",
            FunctionFamily::Allocation => "memory allocation",
            FunctionFamily::MemoryCopy => "memory copy",
            FunctionFamily::Hashing => "hashing",
        }
    }

    /// The family of a demangled function name, if it belongs to one.
    ///
    /// Checked from the most specific family down: a tokenizer's hash map
    /// lookup is tokenizer work, and usearch's distance kernels are search.
    pub fn classify(name: &str) -> Option<FunctionFamily> {
        let lower = name.to_ascii_lowercase();
        let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
        // Whole identifiers only: `exp` or `free` as substrings would match
        // `expect` or `freeze`.
        let idents: Vec<&str> = lower
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map(|ident| ident.trim_start_matches('_'))
            .filter(|ident| !ident.is_empty())
            .collect();

        if has(&["usearch", "hnsw"]) {
            Some(FunctionFamily::VectorSearch)
        } else if has(&["tokeniz", "wordpiece", "pre_token"]) {
            Some(FunctionFamily::Tokenizer)
        } else if has(&["gemm", "matmul", "mat_mul"]) {
            Some(FunctionFamily::MatrixMultiply)
        } else if has(&["softmax"])
            || idents
                .iter()
                .any(|i| *i == "exp" || i.starts_with("expf") || i.starts_with("exp_"))
        {
            Some(FunctionFamily::Softmax)
        } else if has(&["hash", "sha2", "sha256", "crc32"]) {
            Some(FunctionFamily::Hashing)
        } else if has(&[
            "memcpy",
            "memmove",
            "memset",
            "copy_from_slice",
            "copy_nonoverlapping",
        ]) {
            Some(FunctionFamily::MemoryCopy)
        } else if has(&[
            "malloc",
            "__rust_alloc",
            "__rust_dealloc",
            "__rust_realloc",
            "raw_vec",
        ]) || idents
            .iter()
            .any(|i| ["free", "cfree", "realloc", "calloc", "int_free"].contains(i))
        {
            Some(FunctionFamily::Allocation)
        } else {
            None
        }
    }
}

/// A function name short enough for a reason line: generic arguments and
/// closure segments dropped, the last two path segments kept.
pub fn short_function_name(name: &str) -> String {
    let mut segments: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut prev = '\0';
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => depth += 1,
            // `->` in a function pointer type is not a closing bracket.
            '>' if prev != '-' => depth = depth.saturating_sub(1),
            ':' if depth == 0 && chars.peek() == Some(&':') => {
                chars.next();
                segments.push(std::mem::take(&mut current));
                prev = ':';
                continue;
            }
            _ => {}
        }
        current.push(c);
        prev = c;
    }
    segments.push(current);
    let kept: Vec<String> = segments
        .into_iter()
        .enumerate()
        // Turbofish (`::<T>`) and closure (`{{closure}}`, `{closure#0}`)
        // segments say nothing about what the function does; a leading
        // `<T as Trait>` is the type the method belongs to and stays.
        .filter(|(i, s)| !(s.is_empty() || s.starts_with('{') || *i > 0 && s.starts_with('<')))
        .map(|(_, s)| s)
        .collect();
    let from = kept.len().saturating_sub(2);
    kept[from..].join("::")
}

#[cfg(test)]
mod tests {
    use super::*;
    use FunctionFamily::*;

    #[test]
    fn recognises_the_families_of_a_rag_stack() {
        let cases = [
            (
                "gemm_f32::microkernel::fma::x86_64_fma_kernel",
                Some(MatrixMultiply),
            ),
            ("candle_core::cpu_backend::MatMul::f", Some(MatrixMultiply)),
            ("candle_nn::ops::softmax_last_dim", Some(Softmax)),
            ("__expf_fma", Some(Softmax)),
            ("core::result::Result<T,E>::expect", None),
            (
                "tokenizers::tokenizer::TokenizerImpl::encode",
                Some(Tokenizer),
            ),
            (
                "tokenizers::models::wordpiece::WordPiece::tokenize",
                Some(Tokenizer),
            ),
            (
                "unum::usearch::index_gt::search_to_find_in_base",
                Some(VectorSearch),
            ),
            ("hashbrown::map::HashMap<K,V,S>::insert", Some(Hashing)),
            (
                "<std::hash::random::DefaultHasher as core::hash::Hasher>::write",
                Some(Hashing),
            ),
            ("__memcpy_avx_unaligned_erms", Some(MemoryCopy)),
            ("_int_malloc", Some(Allocation)),
            ("cfree", Some(Allocation)),
            ("alloc::raw_vec::RawVec<T,A>::grow_one", Some(Allocation)),
            ("core::sync::atomic::AtomicBool::freeze_flag", None),
            ("perf_workloads::rag::assemble_context", None),
        ];
        for (name, family) in cases {
            assert_eq!(FunctionFamily::classify(name), family, "{name}");
        }
    }

    #[test]
    fn short_names_keep_the_last_two_segments() {
        let cases = [
            ("gemm::gemm::gemm_basic_generic", "gemm::gemm_basic_generic"),
            ("main", "main"),
            (
                "std::panicking::catch_unwind::<(), core::panic::AssertUnwindSafe<F>>",
                "panicking::catch_unwind",
            ),
            ("app::stage::run::{{closure}}", "stage::run"),
            ("app::stage::run::{closure#0}", "stage::run"),
            (
                "<fn() -> u8 as core::ops::FnOnce<()>>::call_once",
                "<fn() -> u8 as core::ops::FnOnce<()>>::call_once",
            ),
        ];
        for (name, short) in cases {
            assert_eq!(short_function_name(name), short, "{name}");
        }
    }
}
