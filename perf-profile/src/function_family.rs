//! Recognises common families of hot functions by name, so a bottleneck's
//! reason can say "matrix multiply" instead of only a mangled-looking path,
//! and so [`crate::family_shares`] can add up a profile by what its code
//! does.

use serde::{Deserialize, Serialize};

/// What a hot function does, as far as its name tells. The order is the
/// order tables list families in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FunctionFamily {
    MatrixMultiply,
    Gelu,
    Softmax,
    LayerNorm,
    MemoryCopy,
    Allocation,
    Spinning,
    Tokenizer,
    VectorSearch,
    Hashing,
}

/// How a frame's name ties it to its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The frame is the operation itself (`gemm_basic_generic`,
    /// `softmax_last_dim`, `erff`, `_mm_pause`).
    Operation,
    /// An instruction or math routine any operation may use (`expf`,
    /// `_mm256_fmadd_ps`, `copy_nonoverlapping`): libm's `erff` calls
    /// `expf`, a GELU kernel may use FMA, gemm stores its tiles through
    /// `copy_nonoverlapping`. It stands for its own family only when no
    /// operation is above it on the stack.
    BuildingBlock,
}

impl FunctionFamily {
    /// Every family, in table order.
    pub const ALL: [FunctionFamily; 10] = [
        FunctionFamily::MatrixMultiply,
        FunctionFamily::Gelu,
        FunctionFamily::Softmax,
        FunctionFamily::LayerNorm,
        FunctionFamily::MemoryCopy,
        FunctionFamily::Allocation,
        FunctionFamily::Spinning,
        FunctionFamily::Tokenizer,
        FunctionFamily::VectorSearch,
        FunctionFamily::Hashing,
    ];

    /// A few words for a reason line.
    pub fn describe(self) -> &'static str {
        match self {
            FunctionFamily::MatrixMultiply => "matrix multiply",
            FunctionFamily::Gelu => "GELU / erf",
            FunctionFamily::Softmax => "softmax / exp",
            FunctionFamily::LayerNorm => "layer norm",
            FunctionFamily::MemoryCopy => "memory copy",
            FunctionFamily::Allocation => "memory allocation",
            FunctionFamily::Spinning => "spinning / waiting",
            FunctionFamily::Tokenizer => "tokenizer",
            FunctionFamily::VectorSearch => "vector index search",
            FunctionFamily::Hashing => "hashing",
        }
    }

    /// The family of a demangled function name, if it belongs to one.
    pub fn classify(name: &str) -> Option<FunctionFamily> {
        Self::classify_frame(name).map(|(family, _)| family)
    }

    /// The family of one stack frame's name and the [`Role`] it plays there.
    ///
    /// Checked from the most specific family down: a tokenizer's hash map
    /// lookup is tokenizer work, usearch's distance kernels are search, and
    /// a spin inside a thread pool's barrier is waiting whatever the pool
    /// runs. Generic arguments count (`f32_vec<candle_core::op::GeluErf>`
    /// is GELU), except for allocation: `alloc::vec::Vec<f32>` appears in
    /// the arguments of nearly every frame.
    pub fn classify_frame(name: &str) -> Option<(FunctionFamily, Role)> {
        use FunctionFamily::*;
        let lower = name.to_ascii_lowercase();
        let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
        // Whole identifiers only: `exp` or `free` as substrings would match
        // `expect` or `freeze`, `erf` would match `perf_workloads`.
        let idents: Vec<&str> = lower
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map(|ident| ident.trim_start_matches('_'))
            .filter(|ident| !ident.is_empty())
            .collect();
        let ident = |pred: &dyn Fn(&str) -> bool| idents.iter().any(|i| pred(i));
        let operation = |family| Some((family, Role::Operation));

        if has(&["usearch", "hnsw"]) {
            operation(VectorSearch)
        } else if has(&["tokeniz", "wordpiece", "pre_token"]) {
            operation(Tokenizer)
        } else if has(&["_mm_pause", "futex", "backoff"])
            // Waiting itself, never rayon's `wait_until`: its loop also runs
            // the jobs the thread steals, so everything a worker computes is
            // under it.
            || ident(&|i| {
                ["spin", "spin_loop", "snooze", "sched_yield", "yield_now", "no_work_found"]
                    .contains(&i)
            })
        {
            operation(Spinning)
        } else if has(&[
            "gemm",
            "matmul",
            "mat_mul",
            "mul_mat",
            "microkernel",
            // gemm's packing of operands into tiles.
            "pack_generic",
            "pack_operands",
        ]) {
            operation(MatrixMultiply)
        } else if has(&["gelu"]) || ident(&|i| i.starts_with("erf")) {
            operation(Gelu)
        } else if has(&["softmax"]) {
            operation(Softmax)
        } else if has(&["layer_norm", "layernorm", "rms_norm", "rmsnorm"]) {
            operation(LayerNorm)
        } else if has(&["hash", "sha2", "sha256", "crc32"]) {
            operation(Hashing)
        } else if has(&[
            "memcpy",
            "memmove",
            "memset",
            "copy_from_slice",
            "copy_strided",
            "copy2d",
        ]) {
            operation(MemoryCopy)
        } else if is_allocation(without_generics(&lower).as_str()) {
            operation(Allocation)
        } else if ident(&|i| i == "exp" || i.starts_with("expf") || i.starts_with("exp_")) {
            Some((Softmax, Role::BuildingBlock))
        } else if has(&["fmadd"]) {
            Some((MatrixMultiply, Role::BuildingBlock))
        } else if has(&["copy_nonoverlapping"]) {
            Some((MemoryCopy, Role::BuildingBlock))
        } else {
            None
        }
    }
}

/// Allocator entry points and the growth paths of Rust's collections.
fn is_allocation(name: &str) -> bool {
    let has = |needles: &[&str]| needles.iter().any(|n| name.contains(n));
    has(&[
        "malloc",
        "__rust_alloc",
        "__rust_dealloc",
        "__rust_realloc",
        "__rdl_",
        "alloc::alloc::",
        "raw_vec",
        "finish_grow",
        "grow_one",
        "grow_amortized",
        "do_reserve_and_handle",
    ]) || name
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map(|ident| ident.trim_start_matches('_'))
        .any(|i| {
            [
                "free",
                "cfree",
                "realloc",
                "calloc",
                "int_free",
                "allocate",
                "deallocate",
            ]
            .contains(&i)
        })
}

/// `name` with every `<…>` dropped (`->` is not a bracket).
pub(crate) fn without_generics(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0usize;
    let mut prev = '\0';
    for c in name.chars() {
        match c {
            '<' => depth += 1,
            '>' if prev != '-' && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
        prev = c;
    }
    out
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
            ("libm::math::erff::erff", Some(Gelu)),
            ("erfc2", Some(Gelu)),
            ("f32_vec<candle_core::op::GeluErf>", Some(Gelu)),
            ("_mm_pause", Some(Spinning)),
            ("core::hint::spin_loop", Some(Spinning)),
            (
                "<std::sys::sync::mutex::futex::Mutex>::lock_contended",
                Some(Spinning),
            ),
            ("crossbeam_utils::backoff::Backoff::snooze", Some(Spinning)),
            // A worker's loop runs stolen jobs too: not waiting as such.
            ("wait_until<rayon_core::latch::OnceLatch>", None),
            ("candle_nn::ops::layer_norm", Some(LayerNorm)),
            (
                "apply_op3_no_bwd<candle_nn::ops::LayerNorm>",
                Some(LayerNorm),
            ),
            (
                "perf_workloads::embed::native::gemm_f32_avx512",
                Some(MatrixMultiply),
            ),
            (
                "perf_workloads::embed::native::matmul_bf16",
                Some(MatrixMultiply),
            ),
            ("ggml_compute_forward_mul_mat", Some(MatrixMultiply)),
            ("pack_generic_inner_loop<f32, 8, 16>", Some(MatrixMultiply)),
            (
                "candle_core::cpu_backend::copy_strided_src",
                Some(MemoryCopy),
            ),
            ("finish_grow<alloc::alloc::Global>", Some(Allocation)),
            (
                "<alloc::alloc::Global as core::alloc::Allocator>::allocate",
                Some(Allocation),
            ),
            // Collections in generic arguments are not allocation.
            (
                "fold<core::slice::iter::Iter<f32>, alloc::vec::Vec<f32, alloc::alloc::Global>>",
                None,
            ),
        ];
        for (name, family) in cases {
            assert_eq!(FunctionFamily::classify(name), family, "{name}");
        }
    }

    #[test]
    fn instructions_and_math_are_building_blocks() {
        let role = |name| FunctionFamily::classify_frame(name).map(|(_, role)| role);
        for name in [
            "expf",
            "__expf_fma",
            "_mm256_fmadd_ps",
            "copy_nonoverlapping<u8>",
        ] {
            assert_eq!(role(name), Some(Role::BuildingBlock), "{name}");
        }
        for name in ["erfc2", "candle_nn::ops::softmax_last_dim", "_mm_pause"] {
            assert_eq!(role(name), Some(Role::Operation), "{name}");
        }
        assert_eq!(
            FunctionFamily::classify("_mm256_fmadd_ps"),
            Some(MatrixMultiply)
        );
        assert_eq!(
            FunctionFamily::classify("{closure#0}<candle_core::op::Exp>"),
            Some(Softmax)
        );
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
