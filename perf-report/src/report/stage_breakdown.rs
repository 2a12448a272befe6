//! Where one RAG query's time goes: the `stage.*` metrics of `rag_query`
//! against its `latency`.
//!
//! Shares are of the *mean*: means add up (the mean of a sum is the sum of
//! the means) while medians do not, so the stage shares plus the time
//! between stages make exactly 100% of the mean latency. Medians are shown
//! beside them as the robust figure.

use perf_contract::{
    metric_key::MetricKind,
    plan::WorkloadName,
    schema::{Baseline, Unit, WorkloadResult},
};

#[derive(Debug, Clone, PartialEq)]
pub struct StageRow {
    pub stage: String,
    pub median: f64,
    pub mean: f64,
    pub p95: f64,
    pub n: usize,
    /// Mean of the stage / mean latency.
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageBreakdown {
    pub workload: String,
    pub unit: Unit,
    pub latency_mean: f64,
    pub latency_median: f64,
    /// Largest share first, ties by name.
    pub rows: Vec<StageRow>,
    /// Mean latency not inside any stage (timing and glue between stages);
    /// negative only through rounding.
    pub unattributed_mean: f64,
}

/// The breakdown of `workload` (whose `latency` and `stage.*` metrics must
/// share one unit), or `None` when it has no stages.
pub fn of_workload(workload: &str, result: &WorkloadResult) -> Option<StageBreakdown> {
    let latency = result.metrics.get(&MetricKind::Latency.key())?;
    let lat_mean = latency.summary.mean;
    let mut rows: Vec<StageRow> = result
        .metrics
        .iter()
        .filter_map(|(name, m)| Some((name.kind().stage()?, m)))
        .filter(|(_, m)| m.unit == latency.unit)
        .map(|(stage, m)| StageRow {
            stage: stage.as_str().to_string(),
            median: m.summary.median,
            mean: m.summary.mean,
            p95: m.summary.p95,
            n: m.summary.count,
            share: if lat_mean > 0.0 {
                m.summary.mean / lat_mean
            } else {
                0.0
            },
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    rows.sort_by(|a, b| {
        b.mean
            .total_cmp(&a.mean)
            .then_with(|| a.stage.cmp(&b.stage))
    });
    let staged: f64 = rows.iter().map(|r| r.mean).sum();
    Some(StageBreakdown {
        workload: workload.to_string(),
        unit: latency.unit,
        latency_mean: lat_mean,
        latency_median: latency.summary.median,
        rows,
        unattributed_mean: lat_mean - staged,
    })
}

/// The RAG query's breakdown, when the baseline has one.
pub fn rag_query(b: &Baseline) -> Option<StageBreakdown> {
    let (w, r) = b.workloads.get_key_value(&WorkloadName::RagQuery)?;
    of_workload(w.as_str(), r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_contract::{fixture::baseline, plan::WorkloadName, schema::Better};

    #[test]
    fn shares_of_the_mean_add_up_with_the_unattributed_rest() {
        let ms = |v: Vec<f64>| (Unit::Milliseconds, Better::Lower, v);
        let rows = [
            ("latency", ms(vec![10.0, 12.0])),
            ("stage.embed", ms(vec![8.0, 10.0])),
            ("stage.search", ms(vec![1.0, 1.0])),
            (
                "context_chars",
                (Unit::Count, Better::Neither, vec![5.0, 5.0]),
            ),
        ];
        let metrics: Vec<_> = rows
            .into_iter()
            .map(|(n, (u, b, s))| (WorkloadName::RagQuery, n, u, b, s))
            .collect();
        let b = rag_query(&baseline(&metrics)).unwrap();
        let stages: Vec<_> = b.rows.iter().map(|r| r.stage.as_str()).collect();
        assert_eq!(stages, ["embed", "search"]);
        assert!((b.rows[0].share - 9.0 / 11.0).abs() < 1e-12);
        assert!((b.unattributed_mean - 1.0).abs() < 1e-12);
        let total: f64 = b.rows.iter().map(|r| r.share).sum::<f64>() + b.unattributed_mean / 11.0;
        assert!((total - 1.0).abs() < 1e-12);
    }
}
