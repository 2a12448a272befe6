//! Ranks stages as bottlenecks from measured evidence (wall time, CPU
//! samples, allocations), and explains each rank in one generated line.
//!
//! Nothing here is hand-written per workload: change the evidence and the
//! ranking and the reasons change with it.

use serde::{Deserialize, Serialize};

use crate::function_family::{short_function_name, FunctionFamily};

/// How many bottlenecks a report lists unless told otherwise.
pub const DEFAULT_TOP_N: usize = 5;

/// Weights of the score. Wall time is what a user of the RAG stack waits
/// for and is measured without a profiler attached, so it leads. CPU share
/// comes from sampling (noisier) and misses time spent waiting, but it says
/// where compute goes, so it is second. Allocation share weighs least: the
/// time malloc and free take already shows in wall and CPU time, so a large
/// weight would count it twice; it stays in the score as a sign of memory
/// traffic that sampling spreads thinly over many callers. The weights sum
/// to 1, so a score is a share too (0 to 1).
pub const WALL_WEIGHT: f64 = 0.5;
pub const CPU_WEIGHT: f64 = 0.3;
pub const ALLOC_WEIGHT: f64 = 0.2;

/// A clause of the reason line is shown when its share reaches this; the
/// dominant clause is always shown.
const MENTION_SHARE: f64 = 0.05;

/// What was measured about one stage of one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageEvidence {
    pub workload: String,
    pub stage: String,
    /// Share (0 to 1) of the workload's measured wall time spent in this stage.
    pub wall_share: f64,
    pub wall_ms_median: f64,
    /// CPU samples whose stack was in this stage.
    pub cpu_samples: u64,
    /// CPU samples of the whole workload.
    pub total_cpu_samples: u64,
    /// Functions by self samples within this stage, in any order.
    pub top_functions: Vec<(String, u64)>,
    pub alloc_bytes: u64,
    pub allocations: u64,
    /// Bytes the whole workload allocated.
    pub total_alloc_bytes: u64,
}

/// One ranked stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bottleneck {
    /// 1 for the worst.
    pub rank: usize,
    pub workload: String,
    pub stage: String,
    /// `WALL_WEIGHT * wall_share + CPU_WEIGHT * cpu_share + ALLOC_WEIGHT * alloc_share`.
    pub score: f64,
    pub wall_share: f64,
    pub cpu_share: f64,
    pub alloc_share: f64,
    /// The stage's three heaviest functions by self samples.
    pub functions: Vec<String>,
    /// One line naming the dominant evidence and the hottest function.
    pub reason: String,
}

/// Scores every stage and returns the `top_n` highest-scoring, worst first.
///
/// Shares are within each stage's own workload, so the score says how much
/// of its workload a stage is. Equal scores go to the stage with the longer
/// median wall time, then by workload and stage name, so the same evidence
/// always gives the same order.
pub fn rank_bottlenecks(evidence: &[StageEvidence], top_n: usize) -> Vec<Bottleneck> {
    let mut scored: Vec<(&StageEvidence, Shares)> =
        evidence.iter().map(|e| (e, Shares::of(e))).collect();
    scored.sort_by(|(a, sa), (b, sb)| {
        sb.score()
            .total_cmp(&sa.score())
            .then_with(|| finite(b.wall_ms_median).total_cmp(&finite(a.wall_ms_median)))
            .then_with(|| a.workload.cmp(&b.workload))
            .then_with(|| a.stage.cmp(&b.stage))
    });
    scored
        .into_iter()
        .take(top_n)
        .enumerate()
        .map(|(i, (e, shares))| Bottleneck {
            rank: i + 1,
            workload: e.workload.clone(),
            stage: e.stage.clone(),
            score: shares.score(),
            wall_share: shares.wall,
            cpu_share: shares.cpu,
            alloc_share: shares.alloc,
            functions: heaviest_functions(e)
                .into_iter()
                .take(3)
                .map(|(f, _)| f.to_owned())
                .collect(),
            reason: reason(e, &shares),
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
struct Shares {
    wall: f64,
    cpu: f64,
    alloc: f64,
}

impl Shares {
    fn of(e: &StageEvidence) -> Self {
        Shares {
            wall: share(e.wall_share),
            cpu: ratio(e.cpu_samples, e.total_cpu_samples),
            alloc: ratio(e.alloc_bytes, e.total_alloc_bytes),
        }
    }

    fn score(&self) -> f64 {
        WALL_WEIGHT * self.wall + CPU_WEIGHT * self.cpu + ALLOC_WEIGHT * self.alloc
    }
}

/// Clamps a share to 0..1; a missing (NaN) share counts as no evidence.
fn share(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

fn finite(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

fn ratio(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        share(part as f64 / total as f64)
    }
}

/// Functions by self samples, heaviest first, ties by name.
fn heaviest_functions(e: &StageEvidence) -> Vec<(&str, u64)> {
    let mut fns: Vec<(&str, u64)> = e
        .top_functions
        .iter()
        .map(|(f, n)| (f.as_str(), *n))
        .collect();
    fns.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    fns
}

/// The reason line: one clause per kind of evidence, ordered by how much
/// each adds to the score; minor clauses (under 5%) are left out. The first
/// clause names the workload and later ones refer back to it.
fn reason(e: &StageEvidence, shares: &Shares) -> String {
    // (contribution to the score, share, text after "N% of <workload>")
    let mut clauses: Vec<(f64, f64, String)> = Vec::new();
    clauses.push((
        WALL_WEIGHT * shares.wall,
        shares.wall,
        format!("wall time ({} ms median)", format_ms(e.wall_ms_median)),
    ));
    if e.total_cpu_samples > 0 {
        let mut text = "CPU samples".to_owned();
        if let Some((hottest, n)) = heaviest_functions(e).first().copied() {
            let within = ratio(n, e.cpu_samples);
            text.push_str(&format!(
                ", {} of those in {}",
                percent(within),
                short_function_name(hottest)
            ));
            if let Some(family) = FunctionFamily::classify(hottest) {
                text.push_str(&format!(" ({})", family.describe()));
            }
        }
        clauses.push((CPU_WEIGHT * shares.cpu, shares.cpu, text));
    }
    if e.total_alloc_bytes > 0 {
        clauses.push((
            ALLOC_WEIGHT * shares.alloc,
            shares.alloc,
            format!("allocated bytes ({} allocations)", e.allocations),
        ));
    }
    // Stable sort: equal contributions keep wall, CPU, allocation order.
    clauses.sort_by(|a, b| b.0.total_cmp(&a.0));
    let shown: Vec<String> = clauses
        .into_iter()
        .enumerate()
        .filter(|(i, (_, share, _))| *i == 0 || *share >= MENTION_SHARE)
        .map(|(i, (_, share, text))| {
            let subject = if i == 0 { e.workload.as_str() } else { "its" };
            format!("{} of {subject} {text}", percent(share))
        })
        .collect();
    shown.join("; ")
}

/// A share as the reasons and the tables print it (`0.71` → `71%`).
pub fn percent(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn format_ms(ms: f64) -> String {
    let ms = finite(ms);
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(workload: &str, stage: &str, wall: f64, cpu: u64, alloc: u64) -> StageEvidence {
        StageEvidence {
            workload: workload.into(),
            stage: stage.into(),
            wall_share: wall,
            wall_ms_median: wall * 40.0,
            cpu_samples: cpu,
            total_cpu_samples: 1000,
            top_functions: Vec::new(),
            alloc_bytes: alloc,
            allocations: alloc / 64,
            total_alloc_bytes: 1 << 20,
        }
    }

    /// A RAG query where the embedding dominates, retrieval second, and the
    /// context assembly allocates most of the memory.
    fn rag_query() -> Vec<StageEvidence> {
        let mut embed = stage("rag_query", "embed", 0.71, 640, 300 << 10);
        embed.top_functions = vec![
            ("candle_nn::ops::softmax_last_dim".into(), 40),
            ("gemm_common::gemm::gemm_basic_generic".into(), 400),
            ("tokenizers::tokenizer::encode".into(), 3),
            ("__memcpy_avx_unaligned_erms".into(), 90),
        ];
        vec![
            stage("rag_query", "tokenize", 0.04, 50, 40 << 10),
            embed,
            stage("rag_query", "search", 0.18, 250, 20 << 10),
            stage("rag_query", "fetch_parents", 0.02, 20, 100 << 10),
            stage("rag_query", "assemble_context", 0.05, 40, 564 << 10),
        ]
    }

    fn order(ranked: &[Bottleneck]) -> Vec<&str> {
        ranked.iter().map(|b| b.stage.as_str()).collect()
    }

    #[test]
    fn ranks_by_weighted_score() {
        let ranked = rank_bottlenecks(&rag_query(), DEFAULT_TOP_N);
        assert_eq!(
            order(&ranked),
            [
                "embed",
                "search",
                "assemble_context",
                "tokenize",
                "fetch_parents"
            ]
        );
        assert_eq!(
            ranked.iter().map(|b| b.rank).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        let embed = &ranked[0];
        let expected = 0.5 * 0.71 + 0.3 * 0.64 + 0.2 * (300.0 / 1024.0);
        assert!((embed.score - expected).abs() < 1e-12);
        assert!(ranked.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn reason_names_dominant_evidence_and_hottest_function() {
        let ranked = rank_bottlenecks(&rag_query(), 5);
        assert_eq!(
            ranked[0].functions,
            [
                "gemm_common::gemm::gemm_basic_generic",
                "__memcpy_avx_unaligned_erms",
                "candle_nn::ops::softmax_last_dim"
            ]
        );
        assert_eq!(
            ranked[0].reason,
            "71% of rag_query wall time (28.4 ms median); \
             64% of its CPU samples, 62% of those in gemm::gemm_basic_generic (matrix multiply); \
             29% of its allocated bytes (4800 allocations)"
        );
        // assemble_context: allocation outweighs its 5% of wall time.
        let assemble = ranked
            .iter()
            .find(|b| b.stage == "assemble_context")
            .unwrap();
        assert!(
            assemble.reason.starts_with(
                "55% of rag_query allocated bytes (9024 allocations); 5% of its wall time"
            ),
            "{}",
            assemble.reason
        );
    }

    #[test]
    fn top_n_cuts_the_list() {
        let mut evidence = rag_query();
        evidence.extend(rag_query().into_iter().map(|mut e| {
            e.workload = "embedding".into();
            e
        }));
        assert_eq!(rank_bottlenecks(&evidence, DEFAULT_TOP_N).len(), 5);
        assert_eq!(rank_bottlenecks(&evidence, 2).len(), 2);
        assert_eq!(rank_bottlenecks(&evidence, 50).len(), 10);
        assert!(rank_bottlenecks(&[], 5).is_empty());
    }

    #[test]
    fn ties_break_by_wall_ms_then_names_whatever_the_input_order() {
        let mut a = stage("vector_query", "search", 0.5, 500, 0);
        let b = stage("rag_query", "search", 0.5, 500, 0);
        let c = stage("rag_query", "embed", 0.5, 500, 0);
        let forward = rank_bottlenecks(&[a.clone(), b.clone(), c.clone()], 5);
        let backward = rank_bottlenecks(&[c.clone(), b.clone(), a.clone()], 5);
        assert_eq!(forward, backward);
        assert_eq!(
            forward
                .iter()
                .map(|x| (x.workload.as_str(), x.stage.as_str()))
                .collect::<Vec<_>>(),
            [
                ("rag_query", "embed"),
                ("rag_query", "search"),
                ("vector_query", "search")
            ]
        );
        // Same shares, longer absolute wall time: ranked first.
        a.wall_ms_median += 1.0;
        let ranked = rank_bottlenecks(&[b, c, a], 5);
        assert_eq!(ranked[0].workload, "vector_query");
    }

    #[test]
    fn changing_the_evidence_changes_the_ranking() {
        let mut evidence = rag_query();
        let search = evidence.iter_mut().find(|e| e.stage == "search").unwrap();
        search.wall_share = 0.9;
        search.cpu_samples = 900;
        let ranked = rank_bottlenecks(&evidence, 5);
        assert_eq!(ranked[0].stage, "search");
        assert_eq!(ranked[1].stage, "embed");
    }

    #[test]
    fn missing_evidence_counts_as_none() {
        let mut e = stage("embedding", "embed", f64::NAN, 0, 0);
        e.total_cpu_samples = 0;
        e.total_alloc_bytes = 0;
        e.wall_ms_median = f64::NAN;
        let ranked = rank_bottlenecks(&[e], 5);
        assert_eq!(ranked[0].score, 0.0);
        assert_eq!(
            ranked[0].reason,
            "0% of embedding wall time (0.00 ms median)"
        );
    }

    #[test]
    fn round_trips_through_json() {
        let ranked = rank_bottlenecks(&rag_query(), 3);
        let json = serde_json::to_string(&ranked).unwrap();
        let back: Vec<Bottleneck> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ranked);
        let evidence_json = serde_json::to_string(&rag_query()).unwrap();
        let evidence: Vec<StageEvidence> = serde_json::from_str(&evidence_json).unwrap();
        assert_eq!(evidence, rag_query());
        // The table of these rows: perf-report's bottleneck_table tests.
    }
}
