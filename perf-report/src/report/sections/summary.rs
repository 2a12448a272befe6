//! Section 1: the headline numbers and what changed since the previous
//! baseline. Every figure here is read from the baseline by
//! [`Headline`](crate::report::headline::Headline), formatted like the
//! tables (four significant digits), with its sample count.

use perf_contract::plan::WorkloadName;

use super::{baseline_command, heading, history_missing, time};
use crate::{
    compare::{Basis, Comparison, Verdict},
    report::{
        headline::{Engine, Figure, Headline, Latency},
        previous::{compare_with_previous, Tally},
        ReportInputs,
    },
    table::format_value,
};

pub fn section(inputs: &ReportInputs) -> String {
    let h = Headline::of(&inputs.baseline);
    let run = baseline_command(inputs);
    let absent = |w: WorkloadName| format!("not in this baseline: run `{run} --workload {w}`");
    let mut out = heading(1);

    let rag = match &h.rag {
        Some(r) => percentiles(r, ""),
        None => absent(WorkloadName::RagQuery),
    };
    out.push_str(&format!("- **RAG query latency** {rag}\n"));
    for a in &h.answers {
        let engine = a.metric.split('.').next().unwrap_or_default();
        out.push_str(&format!(
            "- **RAG answer latency, {engine}** {}\n",
            percentiles(a, ": retrieval, prompt and the answer,")
        ));
    }

    let embedding = if h.embedding.is_empty() {
        absent(WorkloadName::Embedding)
    } else {
        let parts: Vec<String> = h
            .embedding
            .iter()
            .map(|b| {
                format!(
                    "{} {} at batch {} (n = {})",
                    b.kind,
                    format_value(b.median, b.unit),
                    b.batch,
                    b.n
                )
            })
            .collect();
        format!(
            "(`embedding`, median at the best batch size): {}",
            parts.join("; ")
        )
    };
    out.push_str(&format!("- **Embedding throughput** {embedding}\n"));

    let vector = if h.hnsw.is_none() && h.exact.is_none() && h.recall.is_none() {
        absent(WorkloadName::VectorQuery)
    } else {
        let mut parts: Vec<String> = [("HNSW", &h.hnsw), ("exact", &h.exact)]
            .into_iter()
            .filter_map(|(label, f)| f.as_ref().map(|f| format!("{label} {}", figure(f))))
            .collect();
        if let Some(r) = &h.recall {
            parts.push(format!(
                "recall@{} mean {}, min {} (n = {})",
                r.k,
                format_value(r.mean, perf_contract::schema::Unit::Ratio),
                format_value(r.min, perf_contract::schema::Unit::Ratio),
                r.n
            ));
        }
        format!("(`vector_query`, median query time): {}", parts.join("; "))
    };
    out.push_str(&format!("- **Vector query** {vector}\n"));

    for e in &h.inference {
        out.push_str(&format!(
            "- **Inference, {}** (`inference`, median): {}\n",
            e.name,
            engine(e)
        ));
    }
    out.push_str(&format!(
        "- **Since the previous baseline** {}\n\n",
        since(inputs)
    ));
    out
}

/// "(`workload.metric`<what> n = N): p50 …, p95 …, p99 …".
fn percentiles(l: &Latency, what: &str) -> String {
    let sep = if what.is_empty() { "," } else { what };
    format!(
        "(`{}.{}`{sep} n = {}): p50 {}, p95 {}, p99 {}",
        l.workload,
        l.metric,
        l.n,
        format_value(l.p50, l.unit),
        format_value(l.p95, l.unit),
        format_value(l.p99, l.unit)
    )
}

fn figure(f: &Figure) -> String {
    format!("{} (n = {})", format_value(f.median, f.unit), f.n)
}

fn engine(e: &Engine) -> String {
    let mut parts = Vec::new();
    if let Some((len, f)) = &e.prefill {
        parts.push(format!("prefill {} at {len}", figure(f)));
    }
    let named = [
        ("decode", &e.decode),
        ("TTFT", &e.ttft),
        ("ITL", &e.itl),
        ("end to end", &e.e2e),
    ];
    for (label, f) in named {
        let Some(f) = f else { continue };
        if label == "ITL" {
            // A stream's stalls are its worst gaps, so the tail is stated.
            parts.push(format!(
                "ITL {} (p99 {}, n = {})",
                format_value(f.median, f.unit),
                format_value(f.p99, f.unit),
                f.n
            ));
        } else {
            parts.push(format!("{label} {}", figure(f)));
        }
    }
    parts.join(", ")
}

fn since(inputs: &ReportInputs) -> String {
    let Some(p) = compare_with_previous(inputs) else {
        return format!("— {}", history_missing(inputs));
    };
    let prev = &p.previous.baseline;
    let head = format!(
        "(`{}`, recorded {}, commit {}):",
        p.previous.name,
        time(prev.created_at),
        short_commit(prev.environment.git_commit.as_deref())
    );
    let judged = match &p.result {
        Err(reason) => {
            return format!("{head} not comparable ({reason}), so nothing is judged; see section 8")
        }
        Ok(j) => j,
    };
    let t = Tally::of(&judged.comparisons);
    let mut text = format!(
        "{head} {} improved, {} regressed, {} beyond the threshold but not significant, {} within noise, {} inconclusive (could not have seen a change of the threshold), {} informational",
        t.improved, t.regressed, t.not_significant, t.within_noise, t.inconclusive, t.informational
    );
    // A move judged within one process a side is a lead, not a finding:
    // the headline count must not read as if it were.
    let within_one = judged
        .comparisons
        .iter()
        .filter_map(|c| c.change.as_ref())
        .filter(|m| matches!(m.verdict, Verdict::Improved | Verdict::Regressed))
        .filter(|m| m.basis == Basis::Bootstrap)
        .count();
    if within_one > 0 {
        text.push_str(&format!(
            " ({within_one} of the improved and regressed on one process a side, an interval within each process)"
        ));
    }
    let moves = largest_moves(&judged.comparisons);
    if !moves.is_empty() {
        text.push_str(&format!("; largest judged moves: {}", moves.join(", ")));
    }
    if p.foreign {
        text.push_str("; recorded on another machine, so changes mix code and hardware");
    }
    text.push_str(" (section 8)");
    text
}

/// Up to three improved or regressed metrics, largest change first.
fn largest_moves(comparisons: &[Comparison]) -> Vec<String> {
    let mut moved: Vec<(&Comparison, f64, &str)> = comparisons
        .iter()
        .filter_map(|c| {
            let m = c.change.as_ref()?;
            let verdict = match m.verdict {
                Verdict::Improved => "improved",
                Verdict::Regressed => "regressed",
                _ => return None,
            };
            Some((c, m.change_pct?, verdict))
        })
        .collect();
    moved.sort_by(|a, b| {
        b.1.abs()
            .total_cmp(&a.1.abs())
            .then_with(|| (a.0.workload, &a.0.metric).cmp(&(b.0.workload, &b.0.metric)))
    });
    moved
        .into_iter()
        .take(3)
        .map(|(c, pct, verdict)| format!("`{}.{}` {pct:+.1}% ({verdict})", c.workload, c.metric))
        .collect()
}

pub(crate) fn short_commit(commit: Option<&str>) -> String {
    commit.map_or("unknown".into(), |c| c.chars().take(12).collect())
}
