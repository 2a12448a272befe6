//! The `openai` engine against a real OpenAI-compatible server started on
//! 127.0.0.1 the way `--openai-serve` starts it: llama-cpp-python's server
//! (`pip install 'llama-cpp-python[server]'`, which `.ci/run` installs)
//! serving the same GGUF. The test is `#[ignore]`d, so a run without that server shows it
//! as ignored in cargo's summary; `.ci/run` runs it with
//! `cargo xtask test -- --include-ignored`, where a server that cannot be
//! started fails it.

mod common;

use std::time::Duration;

use perf_contract::plan::{OpenAiPlan, WorkloadName};
use perf_workloads::{
    llm::{
        engine::Engine,
        gguf_tokenizer::GgufTokenizer,
        openai::{
            schedule::{run_arrivals, run_open_loop},
            serve::serve_if_asked,
            OpenAiClient, OpenAiEngine,
        },
        prompts::question_prompt,
    },
    load::arrivals::{arrival_times, ArrivalPlan},
};

#[test]
#[ignore = "needs llama-cpp-python's server (pip install 'llama-cpp-python[server]'); run with `cargo xtask test -- --include-ignored`"]
fn streams_from_a_real_local_server_open_loop_included() {
    let gguf = common::real_gguf();
    // Started as `--openai-serve` starts it: the tool's own code.
    let mut run_plan = common::plan(
        &common::rust_book(),
        &common::default_queries(),
        vec![WorkloadName::ServerLoad],
    );
    run_plan.vector.tools_dir = common::workspace_root().join("target/perf-tools");
    let scratch = tempfile::tempdir().unwrap();
    run_plan.vector.scratch_dir = scratch.path().to_path_buf();
    run_plan.llm.openai = Some(OpenAiPlan {
        base_url: String::new().into(),
        model: "gemma-3-270m".into(),
        api_key_env: None,
        api_key_optional: false,
        concurrency: vec![1],
        requests_per_level: 1,
        connect_timeout_ms: 2_000,
        read_timeout_ms: 60_000,
        retries: 1,
        serve: true,
    });
    let server = match serve_if_asked(&run_plan, &mut |e| eprintln!("{e}")) {
        Ok(Some(s)) => s,
        Ok(None) => panic!("a plan with serve set started no server"),
        Err(why) => {
            panic!("the openai server test was asked for, but the server cannot be started: {why}")
        }
    };
    let url = server.plan.llm.openai.as_ref().unwrap().base_url.clone();
    assert!(url.expose().starts_with("http://127.0.0.1:"), "{url}");
    let tokenizer = GgufTokenizer::load(&gguf.path).unwrap();
    let eog = tokenizer.end_of_generation_ids();
    let plan = OpenAiPlan {
        base_url: url.clone(),
        model: "gemma-3-270m".into(),
        api_key_env: None,
        api_key_optional: false,
        concurrency: vec![1, 2],
        requests_per_level: 4,
        connect_timeout_ms: 2_000,
        read_timeout_ms: 60_000,
        retries: 1,
        serve: false,
    };
    let mut engine = OpenAiEngine::new(&plan, &eog).unwrap();
    let questions = common::questions();
    let prompt = question_prompt(&questions[0]);
    let g = engine.generate(&prompt, 32, false).unwrap();
    eprintln!(
        "server: {} tokens, ttft {:?}, e2e {:?}, text {:?}",
        g.token_times.len(),
        g.ttft().unwrap(),
        g.e2e().unwrap(),
        g.text
    );
    // One streamed chunk per token, stop tokens biased away: the full count.
    assert_eq!(g.token_times.len(), 32, "{:?}", g.text);
    assert!(g.itl().iter().all(|d| *d < Duration::from_secs(10)));
    assert!(g.ttft().unwrap() <= g.e2e().unwrap());

    // The same greedy text as the in-process engines (same GGUF, same
    // tokenizer): compare with candle's answer on its first words.
    let mut candle = perf_workloads::llm::candle_engine::CandleEngine::load(
        &gguf,
        perf_workloads::llm::gguf_tokenizer::GgufTokenizer::load(&gguf.path).unwrap(),
        4096,
        Default::default(),
    )
    .unwrap();
    let local = candle.generate(&prompt, 32, false).unwrap();
    let words = |s: &str| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    eprintln!("candle: {:?}", local.text);
    assert_eq!(
        words(&g.text),
        words(&local.text),
        "server and candle disagree from the start"
    );

    // Open loop at concurrency 2: every request answered, latencies from due time.
    let client = OpenAiClient::new(&plan, &eog).unwrap();
    let prompts: Vec<String> = questions[..4].iter().map(|q| question_prompt(q)).collect();
    let interval = g.e2e().unwrap() / 2;
    let r = run_open_loop(&client, &prompts, 16, 2, interval).unwrap();
    assert_eq!(r.requests.len(), 4);
    // Tokens are counted as streamed chunks, and the server holds back a
    // token that ends inside a UTF-8 character until the next one completes
    // it (one chunk for two tokens, as far as we can tell): a CI run saw 62 chunks for 4 × 16
    // tokens. Every request must stream, none beyond its 16 tokens.
    for g in &r.requests {
        assert!(
            (1..=16).contains(&g.token_times.len()),
            "{} chunks",
            g.token_times.len()
        );
    }
    assert!(
        r.output_tokens() >= 48,
        "{} chunks for 64 tokens",
        r.output_tokens()
    );
    for (g, q) in r.requests.iter().zip(&r.queue_delays) {
        assert!(g.ttft().unwrap() >= *q, "ttft counts the queueing delay");
    }
    eprintln!(
        "open loop c=2: wall {:?}, queue delays {:?}",
        r.wall, r.queue_delays
    );

    // Poisson arrivals at a rate the server cannot keep up with: every
    // request is answered, and the later ones queue (latency from the
    // scheduled time grows).
    let arrivals = arrival_times(
        &ArrivalPlan {
            rate_per_s: 8.0,
            burstiness: 1.0,
            seed: 7,
        },
        6,
    )
    .unwrap();
    let prompts: Vec<String> = questions[..6].iter().map(|q| question_prompt(q)).collect();
    let r = run_arrivals(&client, &prompts, 8, 1, &arrivals).unwrap();
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    assert_eq!(r.requests.len(), 6);
    let last = r.queue_delays.last().unwrap();
    assert!(
        *last > Duration::ZERO,
        "one slot at 8 requests/s must queue"
    );

    // Stopped and reaped with the handle.
    let pid = server.process.pid();
    drop(server);
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(state.is_empty(), "server {pid} still exists: {state}");
}
