//! From bottlenecks to optimisation opportunities with an estimated gain.
//!
//! Each bottleneck is classified by its stage and its hottest functions into
//! a kind of hotspot, and each kind carries one concrete change with a
//! stated speed-up `s` of the part it touches and the reason for that
//! figure. The part it touches, `p`, is a share of the workload's time from
//! the profile. For a change aimed at one function family (matrix multiply,
//! GELU, softmax, copies, spinning) it is the family's share of the
//! workload's CPU samples over every stack of the profile run
//! (`<workload>/stacks.folded`), each sample counted for its innermost
//! family only, so the shares of several changes never add up past the
//! whole workload; when those of one stage's changes add up to more than
//! the stage's wall share, they are scaled down together to fit it. A
//! profile run without folded stacks falls back to the stage's top
//! functions (a lower bound) and says so. A change to a whole stage takes
//! the stage's wall share. Amdahl's law then gives the whole workload's
//! saving, `p × (1 − 1/s)`, and the list is ordered by saving per day of
//! effort. The kinds and their changes are in [`super::playbooks`].

use std::collections::BTreeMap;

use perf_profile::{Bottleneck, FamilyShares, FunctionFamily, ProfileSummary, StageProfile};

use super::playbooks::Kind;

/// A forward pass's part (GELU, softmax, ...) under this share of the
/// samples gets no row: its saving would be below what `perf compare` can
/// measure (query latency's MDE was 1.9% at best on the development VM).
const MIN_PART_SHARE: f64 = 0.01;

/// Kinds a forward pass (a matrix-multiply stage) yields besides its
/// matrix multiply, when the profile has samples in their families.
const FORWARD_PASS_PARTS: [Kind; 4] = [
    Kind::GeluErf,
    Kind::Softmax,
    Kind::MemoryCopy,
    Kind::SpinWait,
];

/// Where an opportunity's `p` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareSource {
    /// The family's innermost samples over every stack of the workload's
    /// profile (`stacks.folded`).
    Stacks,
    /// The stage's top functions only, from a profile run without folded
    /// stacks: a lower bound.
    TopFunctions,
    /// The stage's wall share: the change applies to the whole stage, or
    /// (an upper bound) the profile named no functions of the stage.
    Stage,
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
    pub share_source: ShareSource,
    /// How `share` was obtained, in words.
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

    /// Whether `p` is a fallback estimate the table should flag.
    pub fn is_fallback(&self) -> bool {
        self.kind.playbook().family.is_some() && self.share_source != ShareSource::Stacks
    }
}

fn has_family(functions: &[String], family: FunctionFamily) -> bool {
    functions
        .iter()
        .any(|f| FunctionFamily::classify(f) == Some(family))
}

/// Whether any function's name contains a needle.
fn has_name(functions: &[String], needles: &[&str]) -> bool {
    functions.iter().any(|f| {
        let f = f.to_ascii_lowercase();
        needles.iter().any(|n| f.contains(n))
    })
}

/// The main kind of a bottleneck, from its stage name and functions.
pub fn classify(b: &Bottleneck) -> Kind {
    let stage = b.stage.as_str();
    let f = &b.functions;
    if stage == "build_index" || stage.contains("build") {
        Kind::IndexBuild
    } else if stage == "exact_search" {
        Kind::ExactSearch
    } else if stage == "search" || has_family(f, FunctionFamily::VectorSearch) {
        Kind::VectorSearch
    } else if stage.contains("tokeniz") {
        Kind::Tokenizer
    } else if ["embed", "forward", "prefill", "decode"].contains(&stage)
        || has_family(f, FunctionFamily::MatrixMultiply)
    {
        Kind::MatrixMultiply
    } else if has_name(f, &["next_code_point", "chars", "utf8"]) {
        Kind::StringScan
    } else if b.alloc_share > b.wall_share.max(b.cpu_share) {
        Kind::Allocation
    } else {
        Kind::Unclassified
    }
}

/// Opportunities of every bottleneck, best gain per day first. A forward
/// pass also yields its GELU, softmax, copying and spinning parts when the
/// profile shows them. `families` holds each workload's family shares
/// over its whole profile, where the profile run wrote folded stacks.
pub fn opportunities(
    bottlenecks: &[Bottleneck],
    summary: Option<&ProfileSummary>,
    families: &BTreeMap<String, FamilyShares>,
) -> Vec<Opportunity> {
    let mut out = Vec::new();
    for b in bottlenecks {
        let evidence = Evidence {
            b,
            stage: summary.and_then(|s| stage_of(s, &b.workload, &b.stage)),
            stacks: families.get(&b.workload).filter(|s| s.total_samples > 0),
        };
        let main = classify(b);
        let mut kinds = vec![main];
        if main == Kind::MatrixMultiply {
            kinds.extend(FORWARD_PASS_PARTS.into_iter().filter(|k| {
                k.playbook()
                    .family
                    .is_some_and(|family| evidence.shows(family))
            }));
        }
        let mut parts: Vec<(Kind, (f64, ShareSource, String))> = kinds
            .into_iter()
            .map(|kind| (kind, evidence.share(kind.playbook().family)))
            .collect();
        fit_to_stage(&mut parts, b.wall_share.clamp(0.0, 1.0));
        for (kind, (share, share_source, share_basis)) in parts {
            let book = kind.playbook();
            out.push(Opportunity {
                bottleneck: b.rank,
                workload: b.workload.clone(),
                stage: b.stage.clone(),
                kind,
                share,
                share_source,
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

/// Family shares are of the whole workload, and a stage is part of it: when
/// those of one stage's changes add up to more than the stage's wall share
/// (the other stages hold some of those samples), they are scaled down
/// together to fit it, so the changes to one stage never touch more than
/// all of it.
fn fit_to_stage(parts: &mut [(Kind, (f64, ShareSource, String))], wall: f64) {
    let from_stacks = |source: &ShareSource| *source == ShareSource::Stacks;
    let total: f64 = parts
        .iter()
        .filter(|(_, (_, source, _))| from_stacks(source))
        .map(|(_, (share, _, _))| share)
        .sum();
    if total <= wall {
        return;
    }
    let factor = wall / total;
    for (_, (share, source, basis)) in parts.iter_mut() {
        if from_stacks(source) {
            *share *= factor;
            basis.push_str(&format!(
                "; scaled by {factor:.2} with the stage's other changes, whose shares add up to {:.1}%, to fit its {:.1}% wall share",
                total * 100.0,
                wall * 100.0
            ));
        }
    }
}

fn stage_of<'a>(s: &'a ProfileSummary, workload: &str, stage: &str) -> Option<&'a StageProfile> {
    s.workloads
        .iter()
        .find(|w| w.workload == workload)
        .and_then(|w| w.stages.iter().find(|st| st.stage == stage))
}

/// What the profile run measured about one bottleneck, best first: the
/// workload's folded stacks, the stage's top functions, the ranking's own
/// function names.
struct Evidence<'a> {
    b: &'a Bottleneck,
    stage: Option<&'a StageProfile>,
    stacks: Option<&'a FamilyShares>,
}

impl Evidence<'_> {
    /// Whether the best evidence there is gives `family` a part worth a
    /// row: at least [`MIN_PART_SHARE`] of the samples, or a name among the
    /// ranking's functions when that is all there is.
    fn shows(&self, family: FunctionFamily) -> bool {
        match (self.stacks, self.stage) {
            (Some(stacks), _) => stacks.innermost_share(family) >= MIN_PART_SHARE,
            (None, Some(st)) if st.cpu_samples > 0 => {
                top_function_samples(st, family) as f64 / st.cpu_samples as f64 >= MIN_PART_SHARE
            }
            _ => has_family(&self.b.functions, family),
        }
    }

    /// Amdahl's p for a change to `family` (the whole stage when `None`),
    /// where it came from, and how it was obtained in words.
    fn share(&self, family: Option<FunctionFamily>) -> (f64, ShareSource, String) {
        let wall = self.b.wall_share.clamp(0.0, 1.0);
        let stage_share = format!("{:.1}% stage wall share", wall * 100.0);
        let Some(family) = family else {
            return (wall, ShareSource::Stage, stage_share);
        };
        if let Some(stacks) = self.stacks {
            let innermost = stacks.innermost_share(family);
            let basis = format!(
                "{:.1}% of `{w}`'s {} CPU samples have {} as their innermost family, over every stack of its profile (`{w}/stacks.folded`; {:.1}% have it anywhere on the stack)",
                innermost * 100.0,
                stacks.total_samples,
                family.describe(),
                stacks.inclusive_share(family) * 100.0,
                w = self.b.workload,
            );
            return (innermost, ShareSource::Stacks, basis);
        }
        match self.stage {
            Some(st) if st.cpu_samples > 0 => {
                let n = top_function_samples(st, family);
                let p = wall * n as f64 / st.cpu_samples as f64;
                let basis = format!(
                    "{:.1}% wall share × {n}/{} of the stage's CPU samples in {} functions among its top {} (a lower bound: the profile run has no `{}/stacks.folded`, so the rest of the profile is not counted)",
                    wall * 100.0,
                    st.cpu_samples,
                    family.describe(),
                    st.top_functions.len(),
                    self.b.workload,
                );
                (p, ShareSource::TopFunctions, basis)
            }
            // Without per-function evidence the whole stage is the upper bound.
            _ => (
                wall,
                ShareSource::Stage,
                format!("{stage_share} (an upper bound: no per-function samples in the profile)"),
            ),
        }
    }
}

/// Self samples of the stage's top functions that belong to `family`.
fn top_function_samples(stage: &StageProfile, family: FunctionFamily) -> u64 {
    stage
        .top_functions
        .iter()
        .filter(|(f, _)| FunctionFamily::classify(f) == Some(family))
        .map(|(_, n)| n)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_profile::{AllocStats, WorkloadProfile};

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

    /// A summary with one stage whose top functions are `top`.
    fn summary(workload: &str, stage: &str, cpu: u64, top: &[(&str, u64)]) -> ProfileSummary {
        let stage = StageProfile {
            stage: stage.into(),
            ops: 1,
            passes: 1,
            wall_ms_total: 10.0,
            wall_ms_median: 10.0,
            cpu_samples: cpu,
            alloc: AllocStats::default(),
            top_functions: top.iter().map(|(f, n)| (f.to_string(), *n)).collect(),
        };
        ProfileSummary {
            frequency_hz: 997,
            workloads: vec![WorkloadProfile {
                workload: workload.into(),
                wall_s_plain: 1.0,
                wall_s_profiled: 1.0,
                overhead_pct: 0.0,
                cpu_samples: cpu,
                peak_rss_bytes: None,
                alloc: AllocStats::default(),
                files: Vec::new(),
                stages: vec![stage],
            }],
            bottlenecks: Vec::new(),
        }
    }

    /// An embedding profile in 100 samples: half GEMM, a fifth GELU (its
    /// `expf` included), softmax, a spinning worker, 5 samples of nothing.
    fn embedding_stacks() -> BTreeMap<String, FamilyShares> {
        let folded = "\
main;forward;gemm_common::gemm::gemm_basic_generic;_mm256_fmadd_ps 50
main;forward;f32_vec<candle_core::op::GeluErf>;erf_f32;erfc2;expf 20
main;forward;candle_nn::ops::softmax;exp 10
worker;spin_loop;_mm_pause 15
main;forward;other 5
";
        [("embedding".to_string(), FamilyShares::of_folded(folded))].into()
    }

    fn kinds_and_shares(ops: &[Opportunity]) -> Vec<(Kind, f64)> {
        let mut out: Vec<(Kind, f64)> = ops.iter().map(|o| (o.kind, o.share)).collect();
        out.sort_by_key(|(k, _)| *k);
        out
    }

    #[test]
    fn stages_and_functions_pick_the_kind() {
        let k = |stage, f: &[&str]| classify(&bottleneck(1, "w", stage, 0.5, f));
        assert_eq!(
            k("embed", &["pack_generic_inner_loop<f32, 8, 16>"]),
            Kind::MatrixMultiply
        );
        assert_eq!(
            k("mystery", &["gemm_common::gemm::gemm_basic_generic"]),
            Kind::MatrixMultiply
        );
        assert_eq!(k("build_index", &["_mm256_loadu_ps"]), Kind::IndexBuild);
        assert_eq!(k("exact_search", &["mul"]), Kind::ExactSearch);
        assert_eq!(k("search", &["_mm512_cvtps_pd"]), Kind::VectorSearch);
        assert_eq!(
            k("assemble_context", &["next_code_point<I>"]),
            Kind::StringScan
        );
        assert_eq!(
            k(
                "assemble_context",
                &["next_code_point<core::slice::iter::Iter<u8>>"]
            ),
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
        let ops = opportunities(&bs, None, &BTreeMap::new());
        let kinds: Vec<_> = ops.iter().map(|o| o.kind).collect();
        // GELU: 0.9 × (1 − 1/4) / 1 d = 0.675/d; index: 0.8 × (1 − 1/1.8)
        // / 1 d = 0.356/d; matmul: 0.9 × 0.5 / 4 d = 0.1125/d.
        assert_eq!(
            kinds,
            [Kind::GeluErf, Kind::IndexBuild, Kind::MatrixMultiply]
        );
        let mm = &ops[2];
        assert!((mm.saved - 0.45).abs() < 1e-12);
        assert!((mm.workload_speedup() - 1.0 / 0.55).abs() < 1e-9);
        assert!(mm.share_basis.contains("upper bound"));
        assert!(mm.is_fallback());
        assert!(!ops[1].is_fallback(), "a whole-stage change is no fallback");
    }

    #[test]
    fn shares_come_from_every_stack_of_the_workload() {
        let bs = [bottleneck(
            1,
            "embedding",
            "embed",
            0.99,
            &["_mm256_fmadd_ps", "_mm_pause", "erfc2"],
        )];
        // The stage's top functions credit GELU with 3 of 100 samples; the
        // stacks, with 20.
        let s = summary(
            "embedding",
            "embed",
            100,
            &[("_mm256_fmadd_ps", 50), ("_mm_pause", 15), ("erfc2", 3)],
        );
        let ops = opportunities(&bs, Some(&s), &embedding_stacks());
        let shares = kinds_and_shares(&ops);
        let expected = [
            (Kind::MatrixMultiply, 0.50),
            (Kind::GeluErf, 0.20),
            (Kind::Softmax, 0.10),
            (Kind::SpinWait, 0.15),
        ];
        assert_eq!(shares.len(), expected.len(), "{shares:?}");
        for ((kind, share), (want_kind, want)) in shares.iter().zip(expected) {
            assert_eq!(*kind, want_kind);
            assert!((share - want).abs() < 1e-12, "{kind:?}: {share}");
        }
        // No copies in the profile: no copy opportunity. Disjoint shares:
        // one stage's changes touch at most all of it.
        let total: f64 = ops.iter().map(|o| o.share).sum();
        assert!(total <= 1.0, "{total}");
        let gelu = ops.iter().find(|o| o.kind == Kind::GeluErf).unwrap();
        assert_eq!(gelu.share_source, ShareSource::Stacks);
        assert!(!gelu.is_fallback());
        assert_eq!(
            gelu.share_basis,
            "20.0% of `embedding`'s 100 CPU samples have GELU / erf as their innermost family, over every stack of its profile (`embedding/stacks.folded`; 20.0% have it anywhere on the stack)"
        );
    }

    #[test]
    fn one_stages_family_shares_are_scaled_to_fit_the_stage() {
        // The stage is 30% of the workload, its families 95% of the
        // samples: the rows share the 30% in proportion.
        let bs = [bottleneck(3, "embedding", "embed", 0.3, &[])];
        let ops = opportunities(&bs, None, &embedding_stacks());
        let total: f64 = ops.iter().map(|o| o.share).sum();
        assert!((total - 0.3).abs() < 1e-12, "{total}");
        let mm = ops.iter().find(|o| o.kind == Kind::MatrixMultiply).unwrap();
        assert!((mm.share - 0.5 * 0.3 / 0.95).abs() < 1e-12);
        assert!(
            mm.share_basis.ends_with("scaled by 0.32 with the stage's other changes, whose shares add up to 95.0%, to fit its 30.0% wall share"),
            "{}",
            mm.share_basis
        );
    }

    #[test]
    fn parts_under_one_percent_get_no_row() {
        let folded = "main;gemm_basic_generic 995\nmain;softmax 4\nmain;memcpy 1\n";
        let families = [("embedding".to_string(), FamilyShares::of_folded(folded))].into();
        let ops = opportunities(
            &[bottleneck(1, "embedding", "embed", 1.0, &[])],
            None,
            &families,
        );
        assert_eq!(kinds_and_shares(&ops), [(Kind::MatrixMultiply, 0.995)]);
    }

    #[test]
    fn without_folded_stacks_the_top_functions_are_a_flagged_lower_bound() {
        let bs = [bottleneck(1, "rag_query", "embed", 1.0, &[])];
        let s = summary(
            "rag_query",
            "embed",
            200,
            &[
                ("pack_generic_inner_loop<f32, 8, 16>", 100),
                ("_mm256_fmadd_ps", 20),
                ("erfc2", 10),
            ],
        );
        let ops = opportunities(&bs, Some(&s), &BTreeMap::new());
        assert_eq!(
            kinds_and_shares(&ops),
            [(Kind::MatrixMultiply, 0.6), (Kind::GeluErf, 0.05)]
        );
        for o in &ops {
            assert_eq!(o.share_source, ShareSource::TopFunctions);
            assert!(o.is_fallback());
            assert!(
                o.share_basis
                    .contains("a lower bound: the profile run has no `rag_query/stacks.folded`"),
                "{}",
                o.share_basis
            );
        }
    }
}
