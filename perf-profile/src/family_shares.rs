//! CPU samples per function family over a whole profile (every stack, not
//! only the top functions), counted two ways:
//!
//! - **inclusive** (cumulative): a sample counts once for a family when any
//!   frame of its stack belongs to it, as `pprof -top`'s cum column counts
//!   a function. Families overlap: a copy inside a GEMM counts for both.
//! - **innermost** (disjoint): a sample counts for the family of the frame
//!   nearest the leaf that has one. Every sample counts once at most, so
//!   the shares of all families add up to 100% or less, which is what an
//!   estimate that adds the savings of several changes to one stage needs.
//!   Innermost rather than outermost because the code nearest the leaf is
//!   what the CPU was running: an allocation or a spin inside a matrix
//!   multiply is allocation or spinning, which a faster GEMM kernel would
//!   not remove.
//!
//! Both ways, a frame whose name is only a building block (`expf`, an FMA
//! intrinsic, `copy_nonoverlapping`; see [`Role`]) belongs to the operation
//! above it when there is one: libm's `erff` calls `expf`, and those
//! samples are GELU's, not softmax's.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{
    folded::parse_folded,
    function_family::{FunctionFamily, Role},
    StackSample,
};

/// CPU samples of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilySamples {
    pub family: FunctionFamily,
    /// Samples whose innermost family this is (disjoint across families).
    pub innermost: u64,
    /// Samples with this family anywhere on the stack (families overlap).
    pub inclusive: u64,
}

/// The families of one profile, each with its samples.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyShares {
    /// Every sample of the profile, with or without a family.
    pub total_samples: u64,
    /// Families with at least one sample, in [`FunctionFamily`] order.
    pub families: Vec<FamilySamples>,
}

impl FamilyShares {
    /// Counts the families of `samples`.
    pub fn of_samples<'a>(samples: impl IntoIterator<Item = &'a StackSample>) -> FamilyShares {
        let mut counts: BTreeMap<FunctionFamily, (u64, u64)> = BTreeMap::new();
        let mut total_samples = 0;
        for sample in samples {
            total_samples += sample.count;
            let families = frame_families(&sample.frames);
            if let Some(innermost) = families.first() {
                counts.entry(*innermost).or_default().0 += sample.count;
            }
            let distinct: BTreeSet<FunctionFamily> = families.into_iter().collect();
            for family in distinct {
                counts.entry(family).or_default().1 += sample.count;
            }
        }
        FamilyShares {
            total_samples,
            families: counts
                .into_iter()
                .map(|(family, (innermost, inclusive))| FamilySamples {
                    family,
                    innermost,
                    inclusive,
                })
                .collect(),
        }
    }

    /// Counts the families of a folded-stack file's text (`stacks.folded`,
    /// as [`crate::CpuProfile::write_folded`] writes it).
    pub fn of_folded(text: &str) -> FamilyShares {
        FamilyShares::of_samples(&parse_folded(text))
    }

    pub fn get(&self, family: FunctionFamily) -> Option<&FamilySamples> {
        self.families.iter().find(|f| f.family == family)
    }

    /// Share (0 to 1) of all samples whose innermost family is `family`.
    pub fn innermost_share(&self, family: FunctionFamily) -> f64 {
        self.share(self.get(family).map_or(0, |f| f.innermost))
    }

    /// Share (0 to 1) of all samples with `family` anywhere on the stack.
    pub fn inclusive_share(&self, family: FunctionFamily) -> f64 {
        self.share(self.get(family).map_or(0, |f| f.inclusive))
    }

    fn share(&self, samples: u64) -> f64 {
        if self.total_samples == 0 {
            0.0
        } else {
            samples as f64 / self.total_samples as f64
        }
    }
}

/// The family of every frame that has one, leaf first. A building block
/// takes no family of its own when an operation is above it: it is that
/// operation's instruction.
fn frame_families(frames_leaf_first: &[String]) -> Vec<FunctionFamily> {
    let mut under_operation = false;
    let mut out = Vec::new();
    for frame in frames_leaf_first.iter().rev() {
        match FunctionFamily::classify_frame(frame) {
            Some((family, Role::Operation)) => {
                under_operation = true;
                out.push(family);
            }
            Some((family, Role::BuildingBlock)) if !under_operation => out.push(family),
            _ => {}
        }
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use FunctionFamily::*;

    /// One embedding forward pass in miniature: GEMM with a packing copy,
    /// GELU through libm (whose `expf` is GELU's), softmax's `exp`, a
    /// worker spinning at a barrier, and a stack with no family at all.
    const FOLDED: &str = "\
main;forward;gemm_common::gemm::gemm_basic_generic;x2x6;_mm256_fmadd_ps 40
main;forward;gemm_common::gemm::gemm_basic_generic;x2x6;write_unaligned;copy_nonoverlapping<u8> 5
main;forward;gemm_common::gemm::gemm_basic_generic;__rust_alloc 5
main;forward;f32_vec<candle_core::op::GeluErf>;erf_f32;libm::math::erff::erff;erfc2 10
main;forward;f32_vec<candle_core::op::GeluErf>;erf_f32;libm::math::erff::erff;erfc2;expf 6
main;forward;f32_vec<candle_core::op::GeluErf>;drop;spin_loop;_mm_pause 4
main;forward;candle_nn::ops::softmax;{closure#0}<candle_core::op::Exp>;exp;__expf_fma 8
main;forward;{closure#0}<candle_core::op::Exp>;exp 2
worker;{closure#0};spin_loop;_mm_pause 12
main;forward;candle_core::cpu_backend::copy_strided_src;copy_nonoverlapping<u8> 3
main;perf_workloads::rag::assemble_context 5
";

    fn counts(shares: &FamilyShares) -> Vec<(FunctionFamily, u64, u64)> {
        shares
            .families
            .iter()
            .map(|f| (f.family, f.innermost, f.inclusive))
            .collect()
    }

    #[test]
    fn folded_stacks_give_innermost_and_inclusive_counts() {
        let shares = FamilyShares::of_folded(FOLDED);
        assert_eq!(shares.total_samples, 100);
        assert_eq!(
            counts(&shares),
            [
                // gemm's tile store through copy_nonoverlapping is gemm's;
                // the allocation inside gemm is gemm's inclusively and
                // allocation's innermost.
                (MatrixMultiply, 45, 50),
                // expf under erff is GELU; the barrier spin inside GELU's
                // parallel loop is spinning, innermost.
                (Gelu, 16, 20),
                // Softmax's own exp, and a bare exp op with no operation
                // above it.
                (Softmax, 10, 10),
                (MemoryCopy, 3, 3),
                (Allocation, 5, 5),
                (Spinning, 16, 16),
            ]
        );
        assert!((shares.innermost_share(Gelu) - 0.16).abs() < 1e-12);
        assert!((shares.inclusive_share(Gelu) - 0.20).abs() < 1e-12);
        assert_eq!(shares.innermost_share(Tokenizer), 0.0);
    }

    #[test]
    fn innermost_shares_never_add_past_the_whole() {
        let shares = FamilyShares::of_folded(FOLDED);
        let innermost: u64 = shares.families.iter().map(|f| f.innermost).sum();
        let inclusive: u64 = shares.families.iter().map(|f| f.inclusive).sum();
        // 5 samples have no family at all.
        assert_eq!(innermost, 95);
        assert!(inclusive > shares.total_samples - 5, "inclusive overlaps");
    }

    #[test]
    fn a_recursive_family_counts_once_per_sample() {
        let shares = FamilyShares::of_folded("main;matmul;gemm;matmul;gemm 7\n");
        assert_eq!(counts(&shares), [(MatrixMultiply, 7, 7)]);
    }

    #[test]
    fn an_empty_profile_has_no_shares() {
        let shares = FamilyShares::of_folded("");
        assert_eq!(shares, FamilyShares::default());
        assert_eq!(shares.inclusive_share(MatrixMultiply), 0.0);
    }
}
