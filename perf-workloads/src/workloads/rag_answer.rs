//! `rag_answer`: the whole query path per question — embed, search,
//! parents, context — then the answer prompt and the answer itself from
//! each engine (greedy, ending at the first end-of-turn token or after
//! `[llm] max_new_tokens`). Retrieval stages are timed once per question;
//! generation per engine.

use std::time::{Duration, Instant};

use perf_contract::{
    metric_key::{CountedOp, EngineFigure, MetricKind},
    plan::{Plan, WorkloadName},
};

use crate::{
    error::WorkloadError,
    hook::Op,
    llm::prompts::rag_prompt,
    probe::Probe,
    rag::RagPipeline,
    reporter::{MetricSet, Reporter},
    stage_timer::{timed, Stage},
    workloads::{inference::llm_questions, passes::run_passes, Cx, Needs, Workload},
};

pub struct RagAnswer;

/// The retrieval path as `rag_answer` runs it: its context is cut at the
/// answer prompt's budget, not the retrieval workload's.
fn pipeline<'a>(cx: &Cx<'a>) -> RagPipeline<'a> {
    cx.pipeline(cx.plan.llm.rag_context_chars)
}

impl Workload for RagAnswer {
    fn name(&self) -> WorkloadName {
        WorkloadName::RagAnswer
    }

    fn needs(&self) -> Needs {
        Needs::RETRIEVAL.and(Needs::LLM)
    }

    /// The retrieval stages, the answer prompt and the answer itself (one
    /// operation: every engine answers the question, as in `run`), so the
    /// stage shares of one question put generation where it belongs.
    fn stages<'a>(&self, cx: &Cx<'a>) -> Result<Vec<Probe<'a>>, WorkloadError> {
        let pipeline = pipeline(cx);
        let questions = llm_questions(cx.plan, cx.prepared);
        let mut probes = pipeline.stage_probes(questions)?;
        let contexts = questions
            .iter()
            .map(|q| pipeline.retrieve(q).map(|r| r.context))
            .collect::<Result<Vec<_>, _>>()?;
        let prompts: Vec<String> = contexts
            .iter()
            .zip(questions)
            .map(|(c, q)| rag_prompt(c, q))
            .collect();
        let n = questions.len();
        probes.push(Probe::new(Stage::BuildPrompt, n, move |i| {
            std::hint::black_box(rag_prompt(&contexts[i], &questions[i]));
            Ok(())
        }));
        let llm = cx
            .prepared
            .llm
            .as_ref()
            .expect("engines opened for a workload that needs them");
        let max_new = cx.plan.llm.max_new_tokens;
        probes.push(Probe::new(Stage::Generate, n, move |i| {
            for engine in llm.borrow_mut().engines.iter_mut() {
                engine.generate(&prompts[i], max_new, true)?;
            }
            Ok(())
        }));
        Ok(probes)
    }

    fn run(&self, cx: &Cx<'_>, reporter: &mut Reporter<'_>) -> Result<MetricSet, WorkloadError> {
        answer(cx, reporter)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn answer(cx: &Cx<'_>, reporter: &mut Reporter<'_>) -> Result<MetricSet, WorkloadError> {
    let (plan, p): (&Plan, _) = (cx.plan, cx.prepared);
    let pipeline = pipeline(cx);
    let mut llm = cx.llm();
    let questions = llm_questions(plan, p);
    let harness = plan.llm_harness();
    let stages: Vec<Stage> = Stage::RETRIEVAL
        .into_iter()
        .chain([Stage::BuildPrompt])
        .collect();
    let mut per_stage: Vec<Vec<f64>> = vec![Vec::new(); stages.len()];
    let mut prompt_tokens = Vec::new();
    let n = llm.engines.len();
    let (mut latency, mut generate, mut ttft, mut answer_tokens, mut answer_chars) = (
        vec![Vec::new(); n],
        vec![Vec::new(); n],
        vec![Vec::new(); n],
        vec![Vec::new(); n],
        vec![Vec::new(); n],
    );
    let max_new = plan.llm.max_new_tokens;
    let op = Op::new(WorkloadName::RagAnswer, CountedOp::Answer);
    run_passes(
        reporter,
        WorkloadName::RagAnswer,
        &harness,
        questions.len(),
        |i, measured| {
            let (done, _) = cx
                .meter
                .measure(op, measured, || -> Result<(), WorkloadError> {
                    let start = Instant::now();
                    let mut r = pipeline.retrieve(&questions[i])?;
                    let prompt = timed(&mut r.stages, Stage::BuildPrompt, || {
                        rag_prompt(&r.context, &questions[i])
                    });
                    let retrieval = start.elapsed();
                    if measured {
                        for (slot, stage) in per_stage.iter_mut().zip(&stages) {
                            slot.push(ms(r.stages.get(*stage)));
                        }
                        prompt_tokens.push(llm.tokenizer.encode(&prompt, true).len() as f64);
                    }
                    for (e, engine) in llm.engines.iter_mut().enumerate() {
                        let g = engine.generate(&prompt, max_new, true)?;
                        if measured {
                            let done = g.e2e().expect("at least one token");
                            latency[e].push(ms(retrieval + done));
                            generate[e].push(ms(done));
                            ttft[e].push(ms(retrieval + g.ttft().expect("at least one token")));
                            answer_tokens[e].push(g.token_times.len() as f64);
                            answer_chars[e].push(g.text.chars().count() as f64);
                        }
                    }
                    Ok(())
                });
            done
        },
    )?;

    let mut m = MetricSet::new(WorkloadName::RagAnswer);
    for (samples, stage) in per_stage.into_iter().zip(&stages) {
        m.push_stage(*stage, samples);
    }
    m.push(
        MetricKind::PromptTokens,
        format!("context cut at {} characters", plan.llm.rag_context_chars),
        prompt_tokens,
    );
    for (e, engine) in llm.engines.iter().enumerate() {
        let figure = |figure| MetricKind::Engine {
            engine: engine.name(),
            figure,
        };
        m.push(
            figure(EngineFigure::Latency),
            "",
            std::mem::take(&mut latency[e]),
        );
        m.push(
            figure(EngineFigure::Ttft),
            "from the question, retrieval included",
            std::mem::take(&mut ttft[e]),
        );
        m.push(
            figure(EngineFigure::Generate),
            "",
            std::mem::take(&mut generate[e]),
        );
        m.push(
            figure(EngineFigure::AnswerTokens),
            format!("at most {max_new}"),
            std::mem::take(&mut answer_tokens[e]),
        );
        m.push(
            figure(EngineFigure::AnswerChars),
            "",
            std::mem::take(&mut answer_chars[e]),
        );
    }
    Ok(m)
}
