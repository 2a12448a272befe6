//! The kinds of hotspot the report recognises and the change it proposes
//! for each: what to do, the speed-up `s` assumed for the part it touches
//! and why, the effort, and the function family whose samples that part
//! is (none when the change applies to a whole stage).

use perf_profile::FunctionFamily;
use serde::Deserialize;

/// What kind of hotspot a bottleneck is, and so which change applies. The
/// snake_case names (`gelu_erf`) are the ones `baselines/optimisations.toml`
/// uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    MatrixMultiply,
    GeluErf,
    Softmax,
    MemoryCopy,
    SpinWait,
    IndexBuild,
    ExactSearch,
    VectorSearch,
    Tokenizer,
    StringScan,
    Allocation,
    Unclassified,
}

/// The change proposed for a kind of hotspot.
pub struct Playbook {
    pub action: &'static str,
    /// Speed-up of the part the change touches.
    pub speedup: f64,
    pub why: &'static str,
    pub effort_days: f64,
    /// The function family whose samples the change speeds up; `None` when
    /// it applies to the whole stage.
    pub family: Option<FunctionFamily>,
}

impl Kind {
    pub fn playbook(self) -> Playbook {
        match self {
            Kind::MatrixMultiply => Playbook {
                action: "run the model's linear layers (the encoder's: rows of a token-budgeted batch × 384 → 384 or 1536) through a GEMM blocked for their shapes, with bf16 inputs and f32 accumulation (AVX-512 BF16 `vdpbf16ps`) chosen at run time where the CPU has it, f32 otherwise",
                speedup: 2.0,
                why: "a `vdpbf16ps` does two multiply-adds per f32 lane where an f32 FMA does one, and bf16 halves the bytes of weights and activations; blocking for these shapes keeps both cores on full tiles; 2x on the part is the figure assumed, and the parity guard (cosine >= 0.999) must still hold (bf16 linears kept cosine above 0.9999 in a reference forward; int8 fell to 0.978, so it is not proposed)",
                effort_days: 4.0,
                family: Some(FunctionFamily::MatrixMultiply),
            },
            Kind::GeluErf => Playbook {
                action: "replace the scalar `erff` call per element in GELU with a vectorised erf (a rational approximation over 8 or 16 lanes, error near 1e-7) run over the whole tensor on both cores",
                speedup: 4.0,
                why: "libm's `erff` costs tens of scalar instructions and branches per element, one element at a time; a branch-free rational approximation evaluates 8 (AVX2) or 16 (AVX-512) elements in about as many instructions, and 4x is assumed after loads, stores and GELU's own multiplies; the exact-erf form is kept, so parity is unchanged",
                effort_days: 1.0,
                family: Some(FunctionFamily::Gelu),
            },
            Kind::Softmax => Playbook {
                action: "fuse attention per sequence and head: scores, masked softmax in one pass (max, exp, sum and scale together, as `softmax_last_dim` does) and the weighted sum of values, without materialising the intermediate tensors",
                speedup: 3.0,
                why: "the generic softmax makes a pass and a new tensor per step (max, subtract, exp, sum, divide); a fused pass reads each row of scores once while it is in cache and allocates nothing; 3x on that part is assumed",
                effort_days: 2.0,
                family: Some(FunctionFamily::Softmax),
            },
            Kind::MemoryCopy => Playbook {
                action: "stop copying tensors between operations: produce attention's per-head layout directly instead of transposing and making it contiguous, write results into buffers reused across layers",
                speedup: 2.0,
                why: "a copy does no arithmetic, only memory traffic; most of them go away when the next operation reads the layout the previous one wrote, and half of the copying time is assumed to go",
                effort_days: 1.0,
                family: Some(FunctionFamily::MemoryCopy),
            },
            Kind::SpinWait => Playbook {
                action: "keep both cores busy on useful work: split work across sequences and heads (or token-budgeted batches) instead of inside each small matrix multiply and elementwise operation, and park idle workers instead of spinning at barriers",
                speedup: 2.0,
                why: "samples in `_mm_pause` and spin loops are a core waiting at the barrier of an operation too small to split evenly, doing no work; on 2 cores recovering half of that time is the assumption",
                effort_days: 2.0,
                family: Some(FunctionFamily::Spinning),
            },
            Kind::IndexBuild => Playbook {
                action: "build the HNSW index with parallel `add` (usearch accepts concurrent adds with a thread id per caller)",
                speedup: 1.8,
                why: "graph insertion parallelises nearly linearly until memory bandwidth binds; 90% efficiency on the 2 logical cores of the measuring machine gives 1.8x",
                effort_days: 1.0,
                family: None,
            },
            Kind::ExactSearch => Playbook {
                action: "compute exact-search distances with a SIMD dot product (usearch's exact search or an explicit 8-lane f32 kernel) into a reused buffer",
                speedup: 4.0,
                why: "the hottest function is a scalar multiply; 8 f32 lanes per AVX2 instruction, halved for memory traffic and the top-k selection, gives 4x; the stage also allocates nearly all of its workload's bytes",
                effort_days: 1.0,
                family: None,
            },
            Kind::VectorSearch => Playbook {
                action: "lower HNSW `expansion_search` (64 → 32) while recall@k stays at its measured value",
                speedup: 1.5,
                why: "search cost grows roughly linearly with the candidate list; halving it saves about a third once fixed costs are counted; the recall guard decides if it is acceptable",
                effort_days: 0.5,
                family: None,
            },
            Kind::Tokenizer => Playbook {
                action: "reuse one tokenizer encoding buffer and skip the offsets and overflow the model never reads",
                speedup: 1.5,
                why: "tokenization time is mostly allocation and bookkeeping around a cheap WordPiece lookup; removing that is assumed to save a third",
                effort_days: 1.0,
                family: None,
            },
            Kind::StringScan => Playbook {
                action: "count and cut context by bytes at char boundaries instead of iterating chars",
                speedup: 3.0,
                why: "`next_code_point` decodes UTF-8 one char at a time; byte lengths with one boundary check are several times cheaper",
                effort_days: 0.5,
                family: None,
            },
            Kind::Allocation => Playbook {
                action: "reuse buffers across calls instead of allocating per operation",
                speedup: 1.2,
                why: "allocation dominates the evidence but not the wall time; freeing malloc and page-fault work is worth about a sixth of the stage",
                effort_days: 1.0,
                family: None,
            },
            Kind::Unclassified => Playbook {
                action: "profile this stage further (its flamegraph) before changing it",
                speedup: 1.0,
                why: "no known kind of hotspot matches its functions, so no gain is claimed",
                effort_days: 1.0,
                family: None,
            },
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::MatrixMultiply => "matrix multiply",
            Kind::GeluErf => "GELU (erf)",
            Kind::Softmax => "softmax / attention",
            Kind::MemoryCopy => "memory copies",
            Kind::SpinWait => "threads spinning",
            Kind::IndexBuild => "index build",
            Kind::ExactSearch => "exact search",
            Kind::VectorSearch => "HNSW search",
            Kind::Tokenizer => "tokenizer",
            Kind::StringScan => "UTF-8 scanning",
            Kind::Allocation => "allocation",
            Kind::Unclassified => "unclassified",
        }
    }
}
