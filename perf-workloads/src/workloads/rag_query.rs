//! `rag_query`: latency of the retrieval path per question, end to end and
//! per stage.

use perf_contract::{
    metric_key::{CountedOp, MetricKind},
    plan::WorkloadName,
};

use crate::{
    error::WorkloadError,
    hook::Op,
    probe::Probe,
    rag::RagPipeline,
    reporter::{MetricSet, Reporter},
    stage_timer::Stage,
    workloads::{passes::run_passes, Cx, Needs, Workload},
};

pub struct RagQuery;

fn pipeline<'a>(cx: &Cx<'a>) -> RagPipeline<'a> {
    cx.pipeline(cx.plan.rag.max_context_chars)
}

impl Workload for RagQuery {
    fn name(&self) -> WorkloadName {
        WorkloadName::RagQuery
    }

    fn needs(&self) -> Needs {
        Needs::RETRIEVAL
    }

    fn stages<'a>(&self, cx: &Cx<'a>) -> Result<Vec<Probe<'a>>, WorkloadError> {
        pipeline(cx).stage_probes(&cx.prepared.queries.questions)
    }

    fn run(&self, cx: &Cx<'_>, reporter: &mut Reporter<'_>) -> Result<MetricSet, WorkloadError> {
        let (plan, p) = (cx.plan, cx.prepared);
        let pipeline = pipeline(cx);
        let mut total = Vec::new();
        let mut per_stage: Vec<Vec<f64>> = vec![Vec::new(); Stage::RETRIEVAL.len()];
        let mut context_chars = Vec::new();
        let mut instructions = Vec::new();
        let questions = &p.queries.questions;
        let op = Op::new(WorkloadName::RagQuery, CountedOp::Query);
        run_passes(
            reporter,
            WorkloadName::RagQuery,
            &plan.harness,
            questions.len(),
            |i, measured| {
                let (r, sample) = cx
                    .meter
                    .measure(op, measured, || pipeline.retrieve(&questions[i]));
                let r = r?;
                if measured {
                    total.push(sample.ms());
                    instructions.extend(sample.count.map(|c| c as f64));
                    for (slot, stage) in per_stage.iter_mut().zip(Stage::RETRIEVAL) {
                        slot.push(r.stages.get(stage).as_secs_f64() * 1e3);
                    }
                    context_chars.push(r.context.chars().count() as f64);
                }
                Ok(())
            },
        )?;

        let mut m = MetricSet::new(WorkloadName::RagQuery);
        m.push(
            MetricKind::Latency,
            format!("top-{}", plan.rag.top_k),
            total,
        );
        for (samples, stage) in per_stage.into_iter().zip(Stage::RETRIEVAL) {
            m.push_stage(stage, samples);
        }
        if !instructions.is_empty() {
            m.push(MetricKind::Instructions, "", instructions);
        }
        m.push(MetricKind::ContextChars, "", context_chars);
        Ok(m)
    }
}
