//! The `openai` engine against a real OpenAI-compatible server started by
//! the test on 127.0.0.1: llama-cpp-python's server (`pip install
//! 'llama-cpp-python[server]'`, which `.ci/run` installs) serving the same
//! GGUF. The test is `#[ignore]`d, so a run without that server shows it
//! as ignored in cargo's summary; `.ci/run` runs it with
//! `cargo xtask test -- --include-ignored`, where a server that cannot be
//! started fails it.

mod common;

use std::{
    fs,
    net::TcpListener,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use perf_contract::plan::OpenAiPlan;
use perf_workloads::llm::{
    engine::Engine,
    gguf_tokenizer::GgufTokenizer,
    openai::{schedule::run_open_loop, OpenAiClient, OpenAiEngine},
    prompts::question_prompt,
};

/// The server process, stopped when the test ends however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python() -> String {
    std::env::var("PERF_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Starts llama-cpp-python's server on a free port and waits until it
/// answers, or says why it could not.
fn start_server(gguf: &std::path::Path, log: &std::path::Path) -> Result<(Server, String), String> {
    let probe = Command::new(python())
        .args(["-c", "import llama_cpp.server"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python()))?;
    if !probe.status.success() {
        return Err(
            "llama-cpp-python[server] is not installed (pip install 'llama-cpp-python[server]')"
                .into(),
        );
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let out = fs::File::create(log).map_err(|e| e.to_string())?;
    let child = Command::new(python())
        .args(["-m", "llama_cpp.server", "--model"])
        .arg(gguf)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--n_threads",
            "2",
            "--n_ctx",
            "2048",
            "--model_alias",
            "gemma-3-270m",
        ])
        .stdout(Stdio::from(out.try_clone().map_err(|e| e.to_string())?))
        .stderr(Stdio::from(out))
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let mut server = Server(child);
    let url = format!("http://127.0.0.1:{port}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        if let Ok(Some(status)) = server.0.try_wait() {
            return Err(format!(
                "the server exited ({status}); see {}",
                log.display()
            ));
        }
        if agent.get(format!("{url}/v1/models")).call().is_ok() {
            return Ok((server, url));
        }
        thread::sleep(Duration::from_millis(250));
    }
    Err(format!(
        "the server did not answer within 120 s; see {}",
        log.display()
    ))
}

#[test]
#[ignore = "needs llama-cpp-python's server (pip install 'llama-cpp-python[server]'); run with `cargo xtask test -- --include-ignored`"]
fn streams_from_a_real_local_server_open_loop_included() {
    let gguf = common::real_gguf();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let (server, url) = match start_server(&gguf.path, &log) {
        Ok(s) => s,
        Err(why) => {
            panic!("the openai server test was asked for, but the server cannot be started: {why}")
        }
    };
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
    drop(server);
}
