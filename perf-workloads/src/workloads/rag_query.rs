//! `rag_query`: latency of the retrieval path per question, end to end and
//! per stage.

use std::time::Instant;

use perf_contract::{
    plan::{Plan, WorkloadName},
    protocol::Message,
    schema::{Better, Unit},
};

use crate::{
    callgrind, counters,
    error::WorkloadError,
    index::HnswIndex,
    rag::RagPipeline,
    reporter::{MetricSet, Reporter},
    stage_timer::Stage,
    workloads::{passes::run_passes, Prepared},
};

pub fn run(
    plan: &Plan,
    p: &Prepared,
    index: &HnswIndex,
    reporter: &mut Reporter<'_>,
) -> Result<Message, WorkloadError> {
    let pipeline = RagPipeline {
        embedder: &p.embedder,
        index,
        corpus: &p.corpus,
        top_k: plan.rag.top_k,
        max_context_chars: plan.rag.max_context_chars,
    };
    let mut total = Vec::new();
    let mut per_stage: Vec<Vec<f64>> = vec![Vec::new(); Stage::RETRIEVAL.len()];
    let mut context_chars = Vec::new();
    let mut instructions = Vec::new();
    let questions = &p.queries.questions;
    run_passes(
        reporter,
        WorkloadName::RagQuery,
        &plan.harness,
        questions.len(),
        |i, measured| {
            let retrieve = || pipeline.retrieve(&questions[i]);
            let label = measured.then_some("rag_query/query");
            let start = Instant::now();
            let (r, count) = callgrind::region(label, || counters::counted(retrieve));
            let elapsed = start.elapsed();
            let r = r?;
            if measured {
                total.push(elapsed.as_secs_f64() * 1e3);
                instructions.extend(count.map(|c| c as f64));
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
        "latency",
        Unit::Milliseconds,
        Better::Lower,
        format!(
            "one question end to end: embed, top-{} HNSW search, parents, context",
            plan.rag.top_k
        ),
        total,
    );
    for (samples, stage) in per_stage.into_iter().zip(Stage::RETRIEVAL) {
        m.push(
            format!("stage.{}", stage.as_str()),
            Unit::Milliseconds,
            Better::Lower,
            format!("the {} stage of one question", stage.as_str()),
            samples,
        );
    }
    if !instructions.is_empty() {
        m.push(
            "instructions",
            Unit::Count,
            Better::Lower,
            "instructions retired (user space, all threads) by one question end to end: the deterministic twin of latency",
            instructions,
        );
    }
    m.push(
        "context_chars",
        Unit::Count,
        Better::Neither,
        "characters of assembled context per question (a size, not a speed)",
        context_chars,
    );
    Ok(m.finish())
}
