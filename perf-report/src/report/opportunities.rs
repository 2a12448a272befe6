//! From bottlenecks to optimisation opportunities with an estimated gain.
//!
//! Each bottleneck is classified by its stage and its hottest functions into
//! a kind of hotspot, and each kind carries one concrete change with a
//! stated speed-up `s` of the part it touches and the reason for that
//! figure. The part it touches, `p`, is a share of the workload's wall time
//! from the profile: the stage's wall share, narrowed to the share of the
//! stage's CPU samples in the functions the change replaces when the
//! profile names them. Amdahl's law then gives the whole workload's saving,
//! `p × (1 − 1/s)`, and the list is ordered by saving per day of effort.

use perf_profile::{Bottleneck, ProfileSummary, StageProfile};

/// What kind of hotspot a bottleneck is, and so which change applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    MatrixMultiply,
    GeluErf,
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
    /// Substrings of function names whose samples the change removes; empty
    /// when it applies to the whole stage.
    pub functions: &'static [&'static str],
}

impl Kind {
    pub fn playbook(self) -> Playbook {
        match self {
            Kind::MatrixMultiply => Playbook {
                action: "run the model's linear layers with int8-quantised weights (candle `QMatMul`, q8_0) or bf16 kernels instead of f32 GEMM",
                speedup: 2.0,
                why: "an int8 dot-product instruction does 4x the multiply-adds of an f32 FMA and the weights shrink 4x; quantised CPU GEMMs reach about 2x over f32 in practice, the figure assumed; the parity guard (cosine >= 0.999) must still hold",
                effort_days: 3.0,
                functions: &["gemm", "matmul", "fmadd_ps", "pack_generic", "microkernel"],
            },
            Kind::GeluErf => Playbook {
                action: "switch GELU from the exact erf form to the tanh approximation (candle `HiddenAct::GeluApproximate`)",
                speedup: 3.0,
                why: "the tanh form is a few multiply-adds and one tanh per element against a polynomial erf evaluation; about 3x on that part, with a numerical change well inside the parity guard",
                effort_days: 0.5,
                functions: &["^erf", "gelu"],
            },
            Kind::SpinWait => Playbook {
                action: "stop worker threads spinning: parallelise across the batch instead of inside each small matrix multiply, or cap the GEMM thread pool",
                speedup: 2.0,
                why: "samples in `_mm_pause` are threads waiting for work, not computing; on 2 cores recovering half of that time is the assumption",
                effort_days: 2.0,
                functions: &["_mm_pause", "spin", "futex", "sched_yield"],
            },
            Kind::IndexBuild => Playbook {
                action: "build the HNSW index with parallel `add` (usearch accepts concurrent adds with a thread id per caller)",
                speedup: 1.8,
                why: "graph insertion parallelises nearly linearly until memory bandwidth binds; 90% efficiency on the 2 logical cores of the measuring machine gives 1.8x",
                effort_days: 1.0,
                functions: &[],
            },
            Kind::ExactSearch => Playbook {
                action: "compute exact-search distances with a SIMD dot product (usearch's exact search or an explicit 8-lane f32 kernel) into a reused buffer",
                speedup: 4.0,
                why: "the hottest function is a scalar multiply; 8 f32 lanes per AVX2 instruction, halved for memory traffic and the top-k selection, gives 4x; the stage also allocates nearly all of its workload's bytes",
                effort_days: 1.0,
                functions: &[],
            },
            Kind::VectorSearch => Playbook {
                action: "lower HNSW `expansion_search` (64 → 32) while recall@k stays at its measured value",
                speedup: 1.5,
                why: "search cost grows roughly linearly with the candidate list; halving it saves about a third once fixed costs are counted; the recall guard decides if it is acceptable",
                effort_days: 0.5,
                functions: &[],
            },
            Kind::Tokenizer => Playbook {
                action: "reuse one tokenizer encoding buffer and skip the offsets and overflow the model never reads",
                speedup: 1.5,
                why: "tokenization time is mostly allocation and bookkeeping around a cheap WordPiece lookup; removing that is assumed to save a third",
                effort_days: 1.0,
                functions: &[],
            },
            Kind::StringScan => Playbook {
                action: "count and cut context by bytes at char boundaries instead of iterating chars",
                speedup: 3.0,
                why: "`next_code_point` decodes UTF-8 one char at a time; byte lengths with one boundary check are several times cheaper",
                effort_days: 0.5,
                functions: &[],
            },
            Kind::Allocation => Playbook {
                action: "reuse buffers across calls instead of allocating per operation",
                speedup: 1.2,
                why: "allocation dominates the evidence but not the wall time; freeing malloc and page-fault work is worth about a sixth of the stage",
                effort_days: 1.0,
                functions: &[],
            },
            Kind::Unclassified => Playbook {
                action: "profile this stage further (its flamegraph) before changing it",
                speedup: 1.0,
                why: "no known kind of hotspot matches its functions, so no gain is claimed",
                effort_days: 1.0,
                functions: &[],
            },
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::MatrixMultiply => "matrix multiply",
            Kind::GeluErf => "GELU (erf)",
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

#[derive(Debug, Clone, PartialEq)]
pub struct Opportunity {
    /// Rank of the bottleneck it came from.
    pub bottleneck: usize,
    pub workload: String,
    pub stage: String,
    pub kind: Kind,
    /// Share of the workload's wall time the change touches (Amdahl's p).
    pub share: f64,
    /// How `share` was obtained.
    pub share_basis: String,
    pub speedup: f64,
    pub effort_days: f64,
    /// `share × (1 − 1/speedup)`: fraction of the workload's time saved.
    pub saved: f64,
}

impl Opportunity {
    /// Whole-workload speed-up, `1 / (1 − saved)`.
    pub fn workload_speedup(&self) -> f64 {
        1.0 / (1.0 - self.saved).max(1e-9)
    }

    pub fn gain_per_day(&self) -> f64 {
        self.saved / self.effort_days
    }
}

/// A needle matches anywhere in the name, or with a leading `^` only at the
/// start of its last path segment (`^erf` is `erfc2`, not `perf_event`).
fn matches(function: &str, needle: &str) -> bool {
    let f = function.to_ascii_lowercase();
    match needle.strip_prefix('^') {
        Some(prefix) => f.rsplit("::").next().unwrap_or(&f).starts_with(prefix),
        None => f.contains(needle),
    }
}

fn has(functions: &[String], needles: &[&str]) -> bool {
    functions
        .iter()
        .any(|f| needles.iter().any(|n| matches(f, n)))
}

/// The main kind of a bottleneck, from its stage name and functions.
pub fn classify(b: &Bottleneck) -> Kind {
    let stage = b.stage.as_str();
    let f = &b.functions;
    if stage == "build_index" || stage.contains("build") {
        Kind::IndexBuild
    } else if stage == "exact_search" {
        Kind::ExactSearch
    } else if stage == "search" || has(f, &["usearch", "hnsw"]) {
        Kind::VectorSearch
    } else if stage.contains("tokeniz") {
        Kind::Tokenizer
    } else if ["embed", "forward", "prefill", "decode"].contains(&stage)
        || has(f, Kind::MatrixMultiply.playbook().functions)
    {
        Kind::MatrixMultiply
    } else if has(f, &["next_code_point", "chars", "utf8"]) {
        Kind::StringScan
    } else if b.alloc_share > b.wall_share.max(b.cpu_share) {
        Kind::Allocation
    } else {
        Kind::Unclassified
    }
}

/// Opportunities of every bottleneck (a forward pass also yields its GELU
/// and spinning parts when the profile shows them), best gain per day first.
pub fn opportunities(
    bottlenecks: &[Bottleneck],
    summary: Option<&ProfileSummary>,
) -> Vec<Opportunity> {
    let mut out = Vec::new();
    for b in bottlenecks {
        let stage = summary.and_then(|s| stage_of(s, &b.workload, &b.stage));
        let main = classify(b);
        let mut kinds = vec![main];
        if main == Kind::MatrixMultiply {
            kinds.extend([Kind::GeluErf, Kind::SpinWait].into_iter().filter(|k| {
                has(&b.functions, k.playbook().functions)
                    || stage.is_some_and(|s| samples_in(s, k.playbook().functions) > 0)
            }));
        }
        for kind in kinds {
            let book = kind.playbook();
            let (share, share_basis) = share_of(b, stage, &book);
            out.push(Opportunity {
                bottleneck: b.rank,
                workload: b.workload.clone(),
                stage: b.stage.clone(),
                kind,
                share,
                share_basis,
                speedup: book.speedup,
                effort_days: book.effort_days,
                saved: share * (1.0 - 1.0 / book.speedup),
            });
        }
    }
    out.sort_by(|a, b| {
        b.gain_per_day()
            .total_cmp(&a.gain_per_day())
            .then_with(|| a.bottleneck.cmp(&b.bottleneck))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    out
}

fn stage_of<'a>(s: &'a ProfileSummary, workload: &str, stage: &str) -> Option<&'a StageProfile> {
    s.workloads
        .iter()
        .find(|w| w.workload == workload)
        .and_then(|w| w.stages.iter().find(|st| st.stage == stage))
}

fn samples_in(stage: &StageProfile, needles: &[&str]) -> u64 {
    stage
        .top_functions
        .iter()
        .filter(|(f, _)| needles.iter().any(|n| matches(f, n)))
        .map(|(_, n)| n)
        .sum()
}

/// Amdahl's p for one change, and how it was obtained.
fn share_of(b: &Bottleneck, stage: Option<&StageProfile>, book: &Playbook) -> (f64, String) {
    let wall = b.wall_share.clamp(0.0, 1.0);
    let whole = || (wall, format!("{:.1}% stage wall share", wall * 100.0));
    if book.functions.is_empty() {
        return whole();
    }
    match stage {
        Some(st) if st.cpu_samples > 0 => {
            let n = samples_in(st, book.functions);
            let fraction = n as f64 / st.cpu_samples as f64;
            let p = wall * fraction;
            (
                p,
                format!(
                    "{:.1}% wall share × {n}/{} of the stage's CPU samples in those functions (a lower bound: the profile lists each stage's top functions only)",
                    wall * 100.0,
                    st.cpu_samples
                ),
            )
        }
        // Without per-function evidence the whole stage is the upper bound.
        _ => {
            let (p, basis) = whole();
            (
                p,
                format!("{basis} (an upper bound: no per-function samples in the profile)"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bottleneck(
        rank: usize,
        workload: &str,
        stage: &str,
        wall: f64,
        functions: &[&str],
    ) -> Bottleneck {
        Bottleneck {
            rank,
            workload: workload.into(),
            stage: stage.into(),
            score: wall,
            wall_share: wall,
            cpu_share: wall,
            alloc_share: 0.0,
            functions: functions.iter().map(|f| f.to_string()).collect(),
            reason: String::new(),
        }
    }

    #[test]
    fn stages_and_functions_pick_the_kind() {
        let k = |stage, f: &[&str]| classify(&bottleneck(1, "w", stage, 0.5, f));
        assert_eq!(
            k("embed", &["pack_generic_inner_loop<f32, 8, 16>"]),
            Kind::MatrixMultiply
        );
        assert_eq!(k("build_index", &["_mm256_loadu_ps"]), Kind::IndexBuild);
        assert_eq!(k("exact_search", &["mul"]), Kind::ExactSearch);
        assert_eq!(k("search", &["_mm512_cvtps_pd"]), Kind::VectorSearch);
        assert_eq!(
            k("assemble_context", &["next_code_point<I>"]),
            Kind::StringScan
        );
        assert_eq!(k("mystery", &["foo"]), Kind::Unclassified);
    }

    #[test]
    fn gain_is_amdahl_and_order_is_gain_per_day() {
        let bs = [
            bottleneck(1, "rag_query", "embed", 0.9, &["_mm256_fmadd_ps", "erfc2"]),
            bottleneck(2, "vector_query", "build_index", 0.8, &["x"]),
        ];
        let ops = opportunities(&bs, None);
        let kinds: Vec<_> = ops.iter().map(|o| o.kind).collect();
        // GELU: 0.9 × (1 − 1/3) / 0.5 d = 1.2/d; index: 0.8 × (1 − 1/1.8) / 1 d
        // = 0.356/d; matmul: 0.9 × 0.5 / 3 d = 0.15/d.
        assert_eq!(
            kinds,
            [Kind::GeluErf, Kind::IndexBuild, Kind::MatrixMultiply]
        );
        let mm = &ops[2];
        assert!((mm.saved - 0.45).abs() < 1e-12);
        assert!((mm.workload_speedup() - 1.0 / 0.55).abs() < 1e-9);
        assert!(mm.share_basis.contains("upper bound"));
    }
}
