//! `server_load`: servers under open-loop load with realistic arrivals.
//! For each target (Chroma queries, completions from the OpenAI-compatible
//! server, and the whole RAG answer: embed, search Chroma, generate), a
//! sweep of offered rates; at each rate requests arrive on a seeded gamma
//! schedule (Poisson at burstiness 1) whatever the replies do, and every
//! latency counts from the request's scheduled time (`crate::load`).
//! Reported per rate: end-to-end latency (and TTFT/ITL for the LLM),
//! achieved throughput, goodput and the share meeting the SLO; per target,
//! the highest offered rate that met it.
//!
//! A target whose server is not configured or cannot be had is skipped,
//! and the result says why.

use std::time::Duration;

use perf_contract::{
    metric_key::{LoadTarget, MetricKind, OpenLoadFigure, Rate, VectorEngineName},
    plan::{LoadPlan, WorkloadName},
};

use crate::{
    error::WorkloadError,
    index::{EngineHost, OpenError, VectorEngine},
    llm::{
        engine::Generation,
        openai::OpenAiClient,
        prompts::{question_prompt, rag_prompt},
    },
    load::{
        arrivals::{arrival_times, ArrivalPlan},
        driver::{run_open_loop, OpenLoopRun},
        goodput::{goodput, max_rate_meeting, RequestTiming, Slo},
    },
    rag::RagPipeline,
    reporter::{MetricSet, Reporter},
    workloads::{Cx, Needs, Workload},
};

pub struct ServerLoad;

const W: WorkloadName = WorkloadName::ServerLoad;

impl Workload for ServerLoad {
    fn name(&self) -> WorkloadName {
        W
    }

    /// The corpus vectors, loaded into Chroma; the LLM is the server's.
    fn needs(&self) -> Needs {
        Needs::VECTORS
    }

    fn run(&self, cx: &Cx<'_>, reporter: &mut Reporter<'_>) -> Result<MetricSet, WorkloadError> {
        let (plan, p) = (cx.plan, cx.prepared);
        let load = &plan.vector.load;
        let targets = &load.targets;
        let mut m = MetricSet::new(W);
        let host = EngineHost::new(plan, p.embedder.dims());
        let needs_chroma = |t: &LoadTarget| matches!(t, LoadTarget::Chroma | LoadTarget::Rag);
        // Chroma holds the corpus once for both targets that search it.
        let chroma: Result<Box<dyn VectorEngine>, String> = if targets.iter().any(needs_chroma) {
            reporter.note("server_load: loading the corpus into Chroma");
            match host.open(
                VectorEngineName::Chroma,
                &format!("n{}", p.chunk_vectors.len()),
            ) {
                Ok(mut e) => e
                    .insert(0, &p.chunk_vectors)
                    .map(|()| e)
                    .map_err(|e| e.to_string()),
                Err(OpenError::Skipped(why)) => Err(why),
                Err(OpenError::Failed(e)) => Err(e.to_string()),
            }
        } else {
            Err("not needed".into())
        };
        let client = plan.llm.openai.as_ref().map(|o| OpenAiClient::new(o, &[]));
        for &target in targets {
            let skip = |m: &mut MetricSet, reporter: &mut Reporter<'_>, why: String| {
                let line = format!("{target}: skipped: {why}");
                reporter.note(format!("server_load: {line}"));
                m.note(line);
            };
            let engine: Option<&dyn VectorEngine> = if needs_chroma(&target) {
                match &chroma {
                    Ok(e) => Some(&**e),
                    Err(why) => {
                        skip(&mut m, reporter, why.clone());
                        continue;
                    }
                }
            } else {
                None
            };
            let client = match (target, &client) {
                (LoadTarget::Chroma, _) => None,
                (_, None) => {
                    skip(
                        &mut m,
                        reporter,
                        "no OpenAI-compatible server: set --openai-url or [llm.openai] base_url"
                            .into(),
                    );
                    continue;
                }
                (_, Some(Err(e))) => {
                    skip(&mut m, reporter, e.to_string());
                    continue;
                }
                (_, Some(Ok(c))) => Some(c),
            };
            let rates = match target {
                LoadTarget::Chroma => &load.chroma_rates,
                _ => &load.llm_rates,
            };
            let slo = match target {
                LoadTarget::Chroma => Slo {
                    ttft: None,
                    e2e: ms(load.slo_chroma_ms),
                },
                _ => Slo {
                    ttft: Some(ms(load.slo_ttft_ms)),
                    e2e: ms(load.slo_e2e_ms),
                },
            };
            // Fields, not `p`: the prepared LLM cell is not shared
            // between threads, and the requests run on several.
            let (questions, query_vectors, embedder, corpus) = (
                &p.queries.questions,
                &p.query_vectors,
                &p.embedder,
                &p.corpus,
            );
            let request = |i: usize| -> Result<Timed, WorkloadError> {
                let q = i % questions.len();
                match target {
                    LoadTarget::Chroma => {
                        let engine = engine.expect("chroma target has its engine");
                        engine.search(&query_vectors[q], plan.rag.top_k)?;
                        Ok(Timed::Search)
                    }
                    LoadTarget::Openai => {
                        let client = client.expect("openai target has its client");
                        client
                            .stream_completion(
                                &question_prompt(&questions[q]),
                                load.max_tokens,
                                false,
                            )
                            .map(Timed::Generation)
                    }
                    LoadTarget::Rag => {
                        let (engine, client) = (
                            engine.expect("rag target has its engine"),
                            client.expect("rag target has its client"),
                        );
                        let start = std::time::Instant::now();
                        let pipeline = RagPipeline {
                            embedder,
                            index: engine,
                            corpus,
                            top_k: plan.rag.top_k,
                            max_context_chars: plan.llm.rag_context_chars,
                        };
                        let retrieval = pipeline.retrieve(&questions[q])?;
                        let before = start.elapsed();
                        let mut g = client.stream_completion(
                            &rag_prompt(&retrieval.context, &questions[q]),
                            load.max_tokens,
                            false,
                        )?;
                        // The answer's clock starts at the question.
                        for t in &mut g.token_times {
                            *t += before;
                        }
                        Ok(Timed::Generation(g))
                    }
                }
            };
            let mut levels = Vec::new();
            for (r, &rate) in rates.iter().enumerate() {
                reporter.note(format!("server_load: {target} at {rate} requests/s"));
                let n = ((rate * load.seconds_per_rate).ceil() as usize).max(load.min_requests);
                let arrivals = arrival_times(
                    &ArrivalPlan {
                        rate_per_s: rate,
                        burstiness: load.burstiness,
                        seed: load.seed.wrapping_add(r as u64),
                    },
                    n,
                )?;
                let run = run_open_loop(&arrivals, load.max_in_flight, request)?;
                let share = record_level(&mut m, target, rate, &run, &slo, load);
                levels.push((rate, share));
                reporter.progress(W, &format!("{target}: rates"), r + 1, rates.len());
            }
            match max_rate_meeting(&levels, load.slo_share) {
                Some(rate) => m.push(
                    MetricKind::MaxRate(target),
                    format!(
                        "{:.0}% of requests, SLO {}",
                        load.slo_share * 100.0,
                        describe_slo(&slo)
                    ),
                    vec![rate],
                ),
                None => m.note(format!(
                    "{target}: no offered rate met the SLO ({}) for {:.0}% of requests",
                    describe_slo(&slo),
                    load.slo_share * 100.0
                )),
            }
        }
        m.note(format!(
            "arrivals: gamma gaps of shape {} (1 = Poisson), seed {}, at most {} requests in flight; latency counts from each request's scheduled time",
            load.burstiness, load.seed, load.max_in_flight
        ));
        Ok(m)
    }
}

/// What one request returned, timed from its start.
enum Timed {
    Search,
    Generation(Generation),
}

fn ms(x: f64) -> Duration {
    Duration::from_secs_f64(x / 1e3)
}

fn describe_slo(slo: &Slo) -> String {
    match slo.ttft {
        Some(t) => format!(
            "TTFT <= {} ms and E2E <= {} ms",
            t.as_millis(),
            slo.e2e.as_millis()
        ),
        None => format!("E2E <= {} ms", slo.e2e.as_millis()),
    }
}

/// Pushes one rate's figures; returns the share of requests meeting the SLO.
fn record_level(
    m: &mut MetricSet,
    target: LoadTarget,
    rate: f64,
    run: &OpenLoopRun<Timed>,
    slo: &Slo,
    load: &LoadPlan,
) -> f64 {
    let rate_key = Rate::from_per_s(rate);
    let kind = |figure| MetricKind::OpenLoad {
        target,
        rate: rate_key,
        figure,
    };
    let mut timings = Vec::new();
    let (mut e2e, mut ttft, mut itl) = (Vec::new(), Vec::new(), Vec::new());
    for o in &run.outcomes {
        let queued = o.queue_delay();
        let timing = match &o.result {
            Ok(Timed::Search) => RequestTiming {
                ttft: None,
                e2e: o.latency(),
                ok: true,
            },
            Ok(Timed::Generation(g)) => {
                // Token times count from the call; the call started
                // `queued` after the request was due.
                let first = g.ttft().map(|t| t + queued);
                if let Some(t) = first {
                    ttft.push(t.as_secs_f64() * 1e3);
                }
                // None for a batched delivery (`Generation::itl`).
                itl.extend(g.itl().into_iter().map(|gap| gap.as_secs_f64() * 1e3));
                RequestTiming {
                    ttft: first,
                    e2e: o.latency(),
                    ok: true,
                }
            }
            Err(_) => RequestTiming {
                ttft: None,
                e2e: o.latency(),
                ok: false,
            },
        };
        if timing.ok {
            e2e.push(timing.e2e.as_secs_f64() * 1e3);
        }
        timings.push(timing);
    }
    let g = goodput(&timings, slo, run.wall);
    let failed = timings.iter().filter(|t| !t.ok).count();
    let n = timings.len();
    let at = format!(
        "{n} requests offered at {rate}/s (gamma arrivals, shape {}), {failed} failed",
        load.burstiness
    );
    let slo_text = format!("SLO {}", describe_slo(slo));
    let mut push = |figure, what: &str, samples: Vec<f64>| {
        if !samples.is_empty() {
            let about = if what.is_empty() {
                at.clone()
            } else {
                format!("{what}; {at}")
            };
            m.push(kind(figure), about, samples);
        }
    };
    push(OpenLoadFigure::E2e, "", e2e);
    push(OpenLoadFigure::Ttft, "", ttft);
    push(OpenLoadFigure::Itl, "", itl);
    push(OpenLoadFigure::AchievedRps, "", vec![g.achieved_rps]);
    push(OpenLoadFigure::GoodputRps, &slo_text, vec![g.goodput_rps]);
    push(OpenLoadFigure::SloShare, &slo_text, vec![g.slo_share]);
    g.slo_share
}
