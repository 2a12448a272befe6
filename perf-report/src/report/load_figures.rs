//! A baseline's open-loop load figures, typed: per target (Chroma, the
//! OpenAI-compatible server, the RAG answer), each offered rate's latency,
//! goodput and SLO share (`load.<target>.<rate>.<figure>`), and the highest
//! rate meeting the SLO (`load.<target>.max_rate`), with the SLO the plan
//! set. The server-load section and its charts read these.

use std::collections::BTreeMap;

use perf_contract::{
    metric_key::{LoadTarget, MetricKind, OpenLoadFigure, Rate},
    plan::{LoadPlan, WorkloadName},
    schema::{Baseline, Metric},
};

/// One offered rate of one target.
#[derive(Debug, Clone)]
pub struct LoadLevel<'a> {
    pub rate: Rate,
    /// Scheduled arrival to the last byte, ms per completed request.
    pub e2e: Option<&'a Metric>,
    /// Scheduled arrival to the first token, ms (LLM targets).
    pub ttft: Option<&'a Metric>,
    pub achieved_rps: Option<&'a Metric>,
    pub goodput_rps: Option<&'a Metric>,
    pub slo_share: Option<&'a Metric>,
}

impl<'a> LoadLevel<'a> {
    fn new(rate: Rate) -> LoadLevel<'a> {
        LoadLevel {
            rate,
            e2e: None,
            ttft: None,
            achieved_rps: None,
            goodput_rps: None,
            slo_share: None,
        }
    }
}

/// Every offered rate of one target, ascending.
#[derive(Debug, Clone)]
pub struct LoadCurve<'a> {
    pub target: LoadTarget,
    pub levels: Vec<LoadLevel<'a>>,
    /// The highest offered rate meeting the SLO; absent when none did.
    pub max_rate: Option<&'a Metric>,
}

/// What one request of a target had to meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slo {
    pub e2e_ms: f64,
    /// LLM targets only.
    pub ttft_ms: Option<f64>,
    /// Share of requests that must meet it for a rate to count.
    pub share: f64,
}

impl Slo {
    /// The SLO `server_load` judged `target` by, from the baseline's plan.
    pub fn of(target: LoadTarget, load: &LoadPlan) -> Slo {
        let (e2e_ms, ttft_ms) = if is_llm(target) {
            (load.slo_e2e_ms, Some(load.slo_ttft_ms))
        } else {
            (load.slo_chroma_ms, None)
        };
        Slo {
            e2e_ms,
            ttft_ms,
            share: load.slo_share,
        }
    }

    /// `TTFT ≤ 1000 ms and E2E ≤ 5000 ms for at least 90% of requests`.
    pub fn describe(&self) -> String {
        let ttft = self
            .ttft_ms
            .map_or(String::new(), |t| format!("TTFT ≤ {t} ms and "));
        format!(
            "{ttft}E2E ≤ {} ms for at least {:.0}% of requests",
            self.e2e_ms,
            self.share * 100.0
        )
    }
}

/// Whether a target answers with generated tokens (and so has a TTFT).
pub fn is_llm(target: LoadTarget) -> bool {
    !matches!(target, LoadTarget::Chroma)
}

/// Every target with figures, in `LoadTarget::ALL` order.
pub fn curves(b: &Baseline) -> Vec<LoadCurve<'_>> {
    let mut levels: BTreeMap<LoadTarget, BTreeMap<Rate, LoadLevel>> = BTreeMap::new();
    let mut max: BTreeMap<LoadTarget, &Metric> = BTreeMap::new();
    for result in b.workloads.values() {
        for (key, m) in &result.metrics {
            match *key.kind() {
                MetricKind::OpenLoad {
                    target,
                    rate,
                    figure,
                } => {
                    let level = levels
                        .entry(target)
                        .or_default()
                        .entry(rate)
                        .or_insert_with(|| LoadLevel::new(rate));
                    match figure {
                        OpenLoadFigure::E2e => level.e2e = Some(m),
                        OpenLoadFigure::Ttft => level.ttft = Some(m),
                        OpenLoadFigure::AchievedRps => level.achieved_rps = Some(m),
                        OpenLoadFigure::GoodputRps => level.goodput_rps = Some(m),
                        OpenLoadFigure::SloShare => level.slo_share = Some(m),
                        OpenLoadFigure::Itl => {}
                    }
                }
                MetricKind::MaxRate(target) => {
                    max.insert(target, m);
                }
                _ => {}
            }
        }
    }
    LoadTarget::ALL
        .iter()
        .filter_map(|&target| {
            let rates = levels.remove(&target);
            let max_rate = max.get(&target).copied();
            (rates.is_some() || max_rate.is_some()).then(|| LoadCurve {
                target,
                levels: rates.map(|l| l.into_values().collect()).unwrap_or_default(),
                max_rate,
            })
        })
        .collect()
}

/// `server_load`'s notes (skipped targets, the arrival process), as the
/// run wrote them.
pub fn notes(b: &Baseline) -> &[String] {
    b.workloads
        .get(&WorkloadName::ServerLoad)
        .map_or(&[][..], |r| r.notes.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_contract::schema::{Better, Unit};

    #[test]
    fn curves_follow_the_target_list_and_rates_ascend() {
        let w = WorkloadName::ServerLoad;
        let ms = |name| (w, name, Unit::Milliseconds, Better::Lower, vec![1.0, 2.0]);
        let b = perf_contract::fixture::baseline(&[
            ms("load.rag.r1.e2e"),
            ms("load.chroma.r200.e2e"),
            ms("load.chroma.r50.e2e"),
            ms("load.openai.r0p5.ttft"),
            (
                w,
                "load.chroma.max_rate",
                Unit::PerSecond,
                Better::Higher,
                vec![50.0],
            ),
        ]);
        let c = curves(&b);
        let targets: Vec<_> = c.iter().map(|c| c.target).collect();
        assert_eq!(
            targets,
            [LoadTarget::Chroma, LoadTarget::Openai, LoadTarget::Rag]
        );
        let rates: Vec<f64> = c[0].levels.iter().map(|l| l.rate.per_s()).collect();
        assert_eq!(rates, [50.0, 200.0]);
        assert_eq!(c[0].max_rate.map(|m| m.summary.median), Some(50.0));
        assert!(c[1].levels[0].ttft.is_some() && c[1].levels[0].e2e.is_none());
        let load = LoadPlan::default();
        assert_eq!(
            Slo::of(LoadTarget::Openai, &load).describe(),
            "TTFT ≤ 1000 ms and E2E ≤ 5000 ms for at least 90% of requests"
        );
        assert_eq!(
            Slo::of(LoadTarget::Chroma, &load).describe(),
            "E2E ≤ 50 ms for at least 90% of requests"
        );
    }
}
