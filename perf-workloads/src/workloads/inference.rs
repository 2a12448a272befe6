//! `inference`: each engine's prefill rate at fixed prompt lengths, and its
//! generation of a fixed number of tokens per question (greedy, stop tokens
//! ignored): time to first token, inter-token latency, decode rate and
//! end-to-end latency, as llama-bench (`pp`, `tg`) and vLLM's serving
//! benchmark (TTFT, ITL, E2E) define them. Then the cross-engine quality
//! guard (llamacpp vs candle greedy agreement) and, for the `openai`
//! engine, the open-loop load test per concurrency level.

use std::time::Duration;

use perf_contract::{
    metric_key::{CountedOp, EngineFigure, LoadFigure, MetricKind, Quality},
    plan::{EngineName, Plan, WorkloadName},
};

use crate::{
    error::WorkloadError,
    hook::Op,
    llm::{
        engine::common_prefix,
        openai::{schedule::run_open_loop, OpenAiClient},
        prompts::{fixed_length_prompt, question_prompt},
        LlmSet,
    },
    reporter::{MetricSet, Reporter},
    workloads::{passes::run_passes, Cx, Needs, Prepared, Workload},
};

pub struct Inference;

impl Workload for Inference {
    fn name(&self) -> WorkloadName {
        WorkloadName::Inference
    }

    fn needs(&self) -> Needs {
        Needs::LLM
    }

    // No stages: generation has no sub-stage to run alone, so the
    // whole-workload CPU profile is its evidence.

    fn run(&self, cx: &Cx<'_>, reporter: &mut Reporter<'_>) -> Result<MetricSet, WorkloadError> {
        run_engines(cx, &mut cx.llm(), reporter)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The questions the LLM workloads use (the first `[llm] questions`).
pub fn llm_questions<'a>(plan: &Plan, p: &'a Prepared) -> &'a [String] {
    let all = &p.queries.questions;
    &all[..plan.llm.questions.unwrap_or(all.len()).min(all.len())]
}

fn run_engines(
    cx: &Cx<'_>,
    llm: &mut LlmSet,
    reporter: &mut Reporter<'_>,
) -> Result<MetricSet, WorkloadError> {
    let (plan, p) = (cx.plan, cx.prepared);
    let prefill_op = Op::new(WorkloadName::Inference, CountedOp::Prefill);
    let generate_op = Op::new(WorkloadName::Inference, CountedOp::Generate);
    let questions = llm_questions(plan, p);
    let harness = plan.llm_harness();
    let filler = p.queries.questions.join(" ");
    let max_new = plan.llm.max_new_tokens;
    let mut prefill_prompts = Vec::new();
    for &len in &plan.llm.prompt_lengths {
        let prompts = (0..questions.len())
            .map(|i| fixed_length_prompt(&llm.tokenizer, &filler, i * 37, len))
            .collect::<Result<Vec<_>, _>>()
            .map_err(WorkloadError::Config)?;
        prefill_prompts.push((len, prompts));
    }
    let gen_prompts: Vec<String> = questions.iter().map(|q| question_prompt(q)).collect();

    let mut m = MetricSet::new(WorkloadName::Inference);
    // First measured generation of each question, per engine, for agreement.
    let mut first_tokens: Vec<(EngineName, Vec<Vec<u32>>)> = Vec::new();
    let mut openai_e2e = Vec::new();
    for engine in llm.engines.iter_mut() {
        let name = engine.name();
        for (len, prompts) in &prefill_prompts {
            let mut rates = Vec::new();
            run_passes(
                reporter,
                WorkloadName::Inference,
                &harness,
                prompts.len(),
                |i, measured| {
                    let (g, _) = cx.meter.measure(prefill_op, measured, || {
                        engine.generate(&prompts[i], 1, false)
                    });
                    let g = g?;
                    if measured {
                        let ttft = g.ttft().expect("one token generated").as_secs_f64();
                        rates.push(*len as f64 / ttft);
                    }
                    Ok(())
                },
            )?;
            m.push(
                MetricKind::Prefill {
                    engine: name,
                    prompt_tokens: *len as u32,
                },
                "",
                rates,
            );
        }
        let (mut ttft, mut itl, mut e2e, mut decode) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        // Generations that ended before `max_new` tokens (a server that
        // stopped at an end token): complete, but the figures rest on fewer
        // tokens than asked, which the record must say.
        let (mut generations, mut short, mut batched) = (0, 0, 0);
        let mut firsts: Vec<Vec<u32>> = vec![Vec::new(); gen_prompts.len()];
        run_passes(
            reporter,
            WorkloadName::Inference,
            &harness,
            gen_prompts.len(),
            |i, measured| {
                let (g, _) = cx.meter.measure(generate_op, measured, || {
                    engine.generate(&gen_prompts[i], max_new, false)
                });
                let g = g?;
                if measured {
                    generations += 1;
                    short += usize::from(g.token_times.len() < max_new);
                    batched += usize::from(g.batched_delivery());
                    ttft.push(ms(g.ttft().expect("tokens generated")));
                    e2e.push(ms(g.e2e().expect("tokens generated")));
                    itl.extend(g.itl().into_iter().map(ms));
                    decode.extend(g.decode_tokens_per_s());
                    if firsts[i].is_empty() {
                        firsts[i] = g.tokens.clone();
                    }
                }
                Ok(())
            },
        )?;
        if name == EngineName::Openai {
            openai_e2e = e2e.clone();
        }
        first_tokens.push((name, firsts));
        let fewer = fewer_tokens(short, generations, max_new);
        if short > 0 {
            reporter.note(format!("{name}: {}", &fewer[2..]));
        }
        if batched > 0 {
            m.note(batched_note(name, batched, generations));
        }
        let figure = |figure| MetricKind::Engine {
            engine: name,
            figure,
        };
        m.push(
            figure(EngineFigure::DecodeTokensPerS),
            format!("{max_new} tokens{fewer}"),
            decode,
        );
        m.push(
            figure(EngineFigure::Ttft),
            "chat-framed, a few dozen tokens",
            ttft,
        );
        m.push(figure(EngineFigure::Itl), "", itl);
        m.push(
            figure(EngineFigure::E2e),
            format!("{max_new} tokens{fewer}"),
            e2e,
        );
    }
    push_agreement(plan, &first_tokens, &mut m);
    if let (Some(openai), true) = (
        &plan.llm.openai,
        plan.llm.engines.contains(&EngineName::Openai),
    ) {
        let eog = llm.tokenizer.end_of_generation_ids();
        load_test(plan, openai, &eog, &gen_prompts, &openai_e2e, &mut m)?;
    }
    Ok(m)
}

/// Why a server's decode rate and inter-token latency are missing for
/// some generations (`Generation::batched_delivery`).
fn batched_note(engine: EngineName, batched: usize, of: usize) -> String {
    format!(
        "{engine}: {batched} of {of} generations arrived in fewer writes than half their tokens: decode rate and inter-token latency need a token-by-token stream and are not recorded for them"
    )
}

/// The label of figures built on generations that ended early: empty when
/// all `n` had `max_new` tokens, else `"; K of N generations ..."`.
fn fewer_tokens(short: usize, n: usize, max_new: usize) -> String {
    if short == 0 {
        return String::new();
    }
    format!("; FEWER TOKENS THAN ASKED: {short} of {n} generations ended before {max_new} tokens (the engine stopped early)")
}

/// Greedy agreement of llamacpp and candle over the first
/// `agreement_tokens` tokens of each question's generation.
fn push_agreement(plan: &Plan, first: &[(EngineName, Vec<Vec<u32>>)], m: &mut MetricSet) {
    let get = |e: EngineName| first.iter().find(|(n, _)| *n == e).map(|(_, t)| t);
    let (Some(a), Some(b)) = (get(EngineName::Llamacpp), get(EngineName::Candle)) else {
        return;
    };
    let k = plan.llm.agreement_tokens;
    let prefixes: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| !x.is_empty() && !y.is_empty())
        .map(|(x, y)| common_prefix(&x[..k.min(x.len())], &y[..k.min(y.len())]) as f64)
        .collect();
    if prefixes.is_empty() {
        return;
    }
    let agree =
        prefixes.iter().filter(|&&n| n as usize >= k).count() as f64 / prefixes.len() as f64;
    m.push(
        MetricKind::Quality(Quality::GreedyAgreement),
        format!("first {k} tokens"),
        vec![agree],
    );
    let first_token = prefixes.iter().filter(|&&n| n >= 1.0).count() as f64 / prefixes.len() as f64;
    m.push(
        MetricKind::Quality(Quality::FirstTokenAgreement),
        "",
        vec![first_token],
    );
    m.push(
        MetricKind::Quality(Quality::AgreementPrefixTokens),
        format!("of {k}"),
        prefixes,
    );
}

/// The open-loop test of every concurrency level: requests due every
/// (single-request e2e / level), so a server that does not gain from
/// batching queues them.
fn load_test(
    plan: &Plan,
    openai: &perf_contract::plan::OpenAiPlan,
    eog_ids: &[u32],
    prompts: &[String],
    single_e2e_ms: &[f64],
    m: &mut MetricSet,
) -> Result<(), WorkloadError> {
    let client = OpenAiClient::new(openai, eog_ids)?;
    let mut sorted = single_e2e_ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    let service =
        Duration::from_secs_f64(sorted.get(sorted.len() / 2).copied().unwrap_or(1000.0) / 1e3);
    let requests: Vec<String> = (0..openai.requests_per_level)
        .map(|i| prompts[i % prompts.len()].clone())
        .collect();
    for &level in &openai.concurrency {
        let interval = service / level as u32;
        let (mut ttft, mut e2e, mut itl, mut queue, mut tps, mut rps) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        let (mut sent, mut short) = (0, 0);
        for _ in 0..plan.llm_harness().passes {
            let r = run_open_loop(&client, &requests, plan.llm.max_new_tokens, level, interval)?;
            // This test's figures are per completed request; a failed one
            // would vanish from them, so it fails the level as before
            // (`server_load` is where failures count against goodput).
            if let Some((i, why)) = r.failures.first() {
                return Err(WorkloadError::Server {
                    what: "openai",
                    url: openai.base_url.redacted(),
                    message: format!(
                        "request {i} of the concurrency-{level} load test failed: {why} ({} of {} failed)",
                        r.failures.len(),
                        requests.len()
                    ),
                });
            }
            sent += r.requests.len();
            short += r
                .requests
                .iter()
                .filter(|g| g.token_times.len() < plan.llm.max_new_tokens)
                .count();
            for g in &r.requests {
                ttft.extend(g.ttft().map(ms));
                e2e.extend(g.e2e().map(ms));
                itl.extend(g.itl().into_iter().map(ms));
            }
            queue.extend(r.queue_delays.iter().copied().map(ms));
            tps.push(r.output_tokens() as f64 / r.wall.as_secs_f64());
            rps.push(r.requests.len() as f64 / r.wall.as_secs_f64());
        }
        let figure = |figure| MetricKind::Load {
            engine: EngineName::Openai,
            concurrency: level as u32,
            figure,
        };
        let load = format!(
            "concurrency {level}, a request due every {:.0} ms (open loop){}",
            ms(interval),
            fewer_tokens(short, sent, plan.llm.max_new_tokens)
        );
        m.push(figure(LoadFigure::Ttft), load.as_str(), ttft);
        m.push(figure(LoadFigure::E2e), load.as_str(), e2e);
        m.push(figure(LoadFigure::Itl), load.as_str(), itl);
        m.push(figure(LoadFigure::Queue), load.as_str(), queue);
        m.push(
            figure(LoadFigure::OutputTokensPerS),
            format!("{} requests; {load}", requests.len()),
            tps,
        );
        m.push(figure(LoadFigure::RequestsPerS), load.as_str(), rps);
    }
    Ok(())
}
