//! The ranked bottlenecks of a profile run as a terminal table (the
//! profiler ranks them; drawing them is the reporting side's job, so the
//! measured process links no table crate).

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, ContentArrangement, Table};
use perf_profile::{brief_function_name, percent, Bottleneck};

/// A terminal table of ranked bottlenecks.
pub fn bottleneck_table(bottlenecks: &[Bottleneck]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "#",
            "workload",
            "stage",
            "score",
            "wall",
            "CPU",
            "alloc",
            "top functions",
            "reason",
        ]);
    for b in bottlenecks {
        let functions: Vec<String> = b.functions.iter().map(|f| brief_function_name(f)).collect();
        let right = |text: String| Cell::new(text).set_alignment(CellAlignment::Right);
        table.add_row(vec![
            right(b.rank.to_string()),
            Cell::new(&b.workload),
            Cell::new(&b.stage),
            right(format!("{:.3}", b.score)),
            right(percent(b.wall_share)),
            right(percent(b.cpu_share)),
            right(percent(b.alloc_share)),
            Cell::new(functions.join("\n")),
            Cell::new(&b.reason),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use perf_profile::{rank_bottlenecks, StageEvidence};

    use super::*;

    fn stage(stage: &str, wall: f64, cpu: u64, alloc: u64) -> StageEvidence {
        StageEvidence {
            workload: "rag_query".into(),
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

    #[test]
    fn renders_one_row_per_bottleneck_with_its_functions() {
        let mut embed = stage("embed", 0.71, 640, 300 << 10);
        embed.top_functions = vec![("gemm_common::gemm::gemm_basic_generic".into(), 400)];
        let evidence = vec![
            stage("tokenize", 0.04, 50, 40 << 10),
            embed,
            stage("search", 0.18, 250, 20 << 10),
            stage("assemble_context", 0.05, 40, 564 << 10),
        ];
        let ranked = rank_bottlenecks(&evidence, 3);
        let text = bottleneck_table(&ranked).to_string();
        assert!(text.contains("assemble_context"));
        assert!(text.contains("gemm::gemm_basic_generic"));
        assert_eq!(bottleneck_table(&ranked).row_count(), 3);
    }
}
