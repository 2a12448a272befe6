//! Bad inputs of the LLM workloads, run as a user runs them: each fails
//! with one error line naming the file, flag or URL, exits non-zero and
//! leaves the baseline file alone. The servers here are tiny fakes on
//! 127.0.0.1 that misbehave on purpose (the real server is tested in
//! perf-workloads/tests/openai_server.rs). Streaming fakes check that a
//! cut-off stream fails the run, that fewer tokens than asked are labelled,
//! and where the API key goes.

mod support;

use std::{
    fs,
    io::{Read, Write},
    net::TcpListener,
    path::Path,
    process::Output,
    sync::{Arc, Mutex},
    thread,
    time::Duration,
};

use support::{small_corpus, stderr, xtask, xtask_env};

fn assert_refused(o: &Output, code: i32, needle: &str, sentinel: &Path) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    let error_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(error_lines.len(), 1, "exactly one error line: {err}");
    assert!(error_lines[0].contains(needle), "`{needle}` not in: {err}");
    assert_eq!(
        fs::read_to_string(sentinel).unwrap(),
        "sentinel",
        "baseline untouched"
    );
}

/// `perf baseline --quick --workload inference` over `corpus`, one measured
/// pass, writing `out`, plus `extra`.
fn inference_args(corpus: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "perf",
        "baseline",
        "--quick",
        "--update",
        "--iterations",
        "1",
        "--warmup",
        "0",
        "--workload",
        "inference",
        "--corpus",
        corpus.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// [`inference_args`] on a small corpus made in `dir`, run.
fn inference(dir: &Path, out: &Path, extra: &[&str]) -> Output {
    let args = inference_args(&small_corpus(dir), out, extra);
    xtask(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A server on 127.0.0.1 that answers every connection with `reply` (or,
/// with `None`, reads the request and never answers). Returns its URL.
fn fake_server(reply: Option<&'static str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        // Bounded: a handful of connections, then the thread ends.
        for stream in listener.incoming().take(8) {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf);
            match reply {
                Some(r) => {
                    let _ = s.write_all(r.as_bytes());
                }
                None => thread::sleep(Duration::from_secs(5)),
            }
        }
    });
    url
}

#[test]
fn wrong_and_truncated_gguf_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.json");
    fs::write(&out, "sentinel").unwrap();

    let not_gguf = dir.path().join("model.gguf");
    fs::write(&not_gguf, b"PK\x03\x04 a zip, not a model").unwrap();
    let o = inference(
        dir.path(),
        &out,
        &[
            "--engine",
            "candle",
            "--llm-model",
            not_gguf.to_str().unwrap(),
        ],
    );
    assert_refused(&o, 2, "model.gguf is unusable: not a GGUF file", &out);

    // A real header whose tensors are cut off: the header of a GGUF with
    // one F32 tensor of 1024 values, and 16 bytes of data.
    let cut = dir.path().join("cut.gguf");
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(1u64.to_le_bytes()); // tensors
    b.extend(1u64.to_le_bytes()); // metadata entries
    let key = b"general.architecture";
    b.extend((key.len() as u64).to_le_bytes());
    b.extend(key);
    b.extend(8u32.to_le_bytes()); // string
    b.extend(6u64.to_le_bytes());
    b.extend(b"gemma3");
    let name = b"token_embd.weight";
    b.extend((name.len() as u64).to_le_bytes());
    b.extend(name);
    b.extend(1u32.to_le_bytes()); // dims
    b.extend(1024u64.to_le_bytes());
    b.extend(0u32.to_le_bytes()); // F32
    b.extend(0u64.to_le_bytes()); // offset
    while !b.len().is_multiple_of(32) {
        b.push(0);
    }
    b.extend([0u8; 16]);
    fs::write(&cut, b).unwrap();
    let o = inference(
        dir.path(),
        &out,
        &["--engine", "candle", "--llm-model", cut.to_str().unwrap()],
    );
    assert_refused(&o, 2, "cut.gguf is unusable: truncated", &out);

    let o = inference(dir.path(), &out, &["--llm-model", "/no/such.gguf"]);
    assert_refused(
        &o,
        2,
        "GGUF model /no/such.gguf (--llm-model) does not exist",
        &out,
    );
}

#[test]
fn unknown_engine_is_a_usage_error() {
    let o = xtask(&[
        "perf",
        "baseline",
        "--workload",
        "inference",
        "--engine",
        "vllm",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unknown engine `vllm`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn server_failures_name_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.json");
    fs::write(&out, "sentinel").unwrap();

    // Nothing listens there (bound, then released).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let o = inference(
        dir.path(),
        &out,
        &["--engine", "openai", "--openai-url", &url],
    );
    assert_refused(&o, 2, &format!("openai server {url}: unreachable"), &out);

    let silent = fake_server(None);
    let cfg = dir.path().join("perf.toml");
    fs::write(
        &cfg,
        format!("[llm.openai]\nbase_url = \"{silent}\"\nread_timeout_ms = 500\nretries = 0\n"),
    )
    .unwrap();
    let o = inference(
        dir.path(),
        &out,
        &["--engine", "openai", "--config", cfg.to_str().unwrap()],
    );
    assert_refused(&o, 2, &format!("openai server {silent}: timed out"), &out);

    let garbage = fake_server(Some(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\ndata: {not json}\n\n",
    ));
    let o = inference(
        dir.path(),
        &out,
        &["--engine", "openai", "--openai-url", &garbage],
    );
    assert_refused(
        &o,
        2,
        &format!("openai server {garbage}: malformed stream"),
        &out,
    );
}

/// How the streaming fake below ends a generation of more than 5 tokens.
#[derive(Clone, Copy)]
enum Ending {
    /// 5 chunks, then the connection closes: no finish reason, no `[DONE]`.
    CutOff,
    /// 5 chunks, the last with `finish_reason: "stop"`, then `[DONE]`.
    EarlyStop,
}

/// An OpenAI-compatible fake on 127.0.0.1 that streams one chunk per token
/// asked (`max_tokens`), up to 5, ending as `ending` says (a request of at
/// most 5 tokens is always complete). Every request's `Authorization`
/// header (or `None`) is pushed to `auth`.
fn streaming_server(ending: Ending, auth: Arc<Mutex<Vec<Option<String>>>>) -> String {
    completions_server(move |s, headers, asked| {
        auth.lock().unwrap().push(
            headers
                .lines()
                .find_map(|l| l.strip_prefix("authorization: "))
                .map(str::to_string),
        );
        let n = asked.min(5);
        // One write per token, as a real server streams: a reply in one
        // write has no inter-token timing (see `one_write_server`).
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
        );
        let complete = asked <= 5 || matches!(ending, Ending::EarlyStop);
        for i in 0..n {
            let finish = if i + 1 == n && complete {
                if asked <= 5 {
                    "\"length\""
                } else {
                    "\"stop\""
                }
            } else {
                "null"
            };
            let chunk = format!(
                "data: {{\"choices\":[{{\"text\":\" w{i}\",\"finish_reason\":{finish}}}]}}\n\n"
            );
            let _ = s.write_all(chunk.as_bytes());
            let _ = s.flush();
            thread::sleep(std::time::Duration::from_millis(2));
        }
        if complete {
            let _ = s.write_all(b"data: [DONE]\n\n");
        }
    })
}

/// A fake on 127.0.0.1 that reads each completion request and hands the
/// connection, the request's headers (lowercased) and its `max_tokens` to
/// `reply`. Returns its URL.
fn completions_server(
    reply: impl Fn(&mut std::net::TcpStream, &str, usize) + Send + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        // Bounded: more connections than a quick inference run makes.
        for stream in listener.incoming().take(200) {
            let Ok(mut s) = stream else { return };
            let Some((headers, body)) = read_request(&mut s) else {
                continue;
            };
            let asked = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["max_tokens"].as_u64())
                .unwrap_or(1) as usize;
            reply(&mut s, &headers, asked);
        }
    });
    url
}

/// An OpenAI-compatible fake that sends every token asked, the finish and
/// `[DONE]` in one write.
fn one_write_server() -> String {
    completions_server(|s, _, asked| {
        let mut reply = String::from(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
        );
        for i in 0..asked {
            let finish = if i + 1 == asked { "\"length\"" } else { "null" };
            reply.push_str(&format!(
                "data: {{\"choices\":[{{\"text\":\" w{i}\",\"finish_reason\":{finish}}}]}}\n\n"
            ));
        }
        reply.push_str("data: [DONE]\n\n");
        let _ = s.write_all(reply.as_bytes());
    })
}

#[test]
fn a_server_that_sends_its_answer_in_one_write_has_no_decode_rate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.json");
    let url = one_write_server();
    let cfg = server_config(dir.path(), &url, "");
    let o = inference(
        dir.path(),
        &out,
        &["--engine", "openai", "--config", cfg.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let b = perf_contract::schema::Baseline::load(&out).unwrap();
    let result = &b.workloads[&perf_contract::plan::WorkloadName::Inference];
    for gone in ["openai.decode_tokens_per_s", "openai.itl"] {
        assert!(
            !result.metrics.contains_key(gone),
            "{gone} recorded: {:?}",
            result.metrics.get(gone).map(|m| &m.samples)
        );
    }
    assert!(result.metrics.contains_key("openai.e2e"));
    assert!(
        result
            .notes
            .iter()
            .any(|n| n.contains("need a token-by-token stream")),
        "{:?}",
        result.notes
    );
}

#[test]
fn credentials_in_the_server_url_are_never_shown_or_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.json");
    let url = streaming_server(Ending::EarlyStop, Arc::default());
    let password = "s3cr3tPW-openai";
    let with_user = url.replace("http://", &format!("http://bob:{password}@"));
    let started = std::time::SystemTime::now();
    let corpus = small_corpus(dir.path());
    let a = inference_args(
        &corpus,
        &out,
        &["--engine", "openai", "--openai-url", &with_user],
    );
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let mut dry = a.clone();
    dry.push("--dry-run");
    let o = xtask(&dry);
    assert!(o.status.success(), "{}", stderr(&o));
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(shown.contains("bob:***@"), "{shown}");
    assert!(!shown.contains(password), "{shown}");

    // The run reaches the server (the workloads process has the full
    // URL) and nothing it prints or writes holds the password.
    let o = xtask(&a);
    assert!(o.status.success(), "{}", stderr(&o));
    let printed = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(!printed.contains(password), "{printed}");
    support::assert_no_file_holds(password, &[dir.path()], started);

    // An unreachable server's error names it without the password.
    let gone = format!("http://bob:{password}@127.0.0.1:9");
    let a = inference_args(
        &corpus,
        &out,
        &["--engine", "openai", "--openai-url", &gone],
    );
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let o = xtask(&a);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("bob:***@127.0.0.1:9"), "{}", stderr(&o));
    assert!(!stderr(&o).contains(password), "{}", stderr(&o));
    support::assert_no_file_holds(password, &[dir.path()], started);
}

/// The request's header block (lowercased) and body.
fn read_request(s: &mut std::net::TcpStream) -> Option<(String, String)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        let Some(end) = text.find("\r\n\r\n") else {
            continue;
        };
        let headers = text[..end].to_lowercase();
        let length: usize = headers
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if data.len() >= end + 4 + length {
            let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]).into_owned();
            return Some((headers, body));
        }
    }
}

/// A perf.toml naming `url`, one small load-test level, and `extra` lines.
fn server_config(dir: &Path, url: &str, extra: &str) -> std::path::PathBuf {
    let cfg = dir.join("perf.toml");
    fs::write(
        &cfg,
        format!(
            "[llm.openai]\nbase_url = \"{url}\"\nconcurrency = [1]\nrequests_per_level = 2\nretries = 0\n{extra}"
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn a_cut_off_stream_is_an_error_not_a_rate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.json");
    fs::write(&out, "sentinel").unwrap();
    let url = streaming_server(Ending::CutOff, Arc::default());
    let cfg = server_config(dir.path(), &url, "");
    let o = inference(
        dir.path(),
        &out,
        &["--engine", "openai", "--config", cfg.to_str().unwrap()],
    );
    assert_refused(
        &o,
        2,
        &format!(
            "openai server {url}: stream from /v1/completions was cut off after 5 of 64 tokens"
        ),
        &out,
    );
}

#[test]
fn a_generation_shorter_than_asked_is_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.json");
    let url = streaming_server(Ending::EarlyStop, Arc::default());
    let cfg = server_config(dir.path(), &url, "");
    let o = inference(
        dir.path(),
        &out,
        &["--engine", "openai", "--config", cfg.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("openai: FEWER TOKENS THAN ASKED: 4 of 4 generations ended before 64 tokens"),
        "said on the terminal: {}",
        stderr(&o)
    );
    let b = perf_contract::schema::Baseline::load(&out).unwrap();
    let metrics = &b.workloads[&perf_contract::plan::WorkloadName::Inference].metrics;
    for name in [
        "openai.decode_tokens_per_s",
        "openai.e2e",
        "openai.c1.output_tokens_per_s",
    ] {
        assert!(
            metrics[name]
                .description
                .contains("FEWER TOKENS THAN ASKED"),
            "{name}: {}",
            metrics[name].description
        );
    }
}

#[test]
fn the_api_key_variable_defaults_to_openai_api_key_and_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.json");
    let auth: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let url = streaming_server(Ending::EarlyStop, auth.clone());
    let cfg = server_config(dir.path(), &url, "");
    let corpus = small_corpus(dir.path());
    let a = inference_args(
        &corpus,
        &out,
        &["--engine", "openai", "--config", cfg.to_str().unwrap()],
    );
    let a: Vec<&str> = a.iter().map(String::as_str).collect();

    // --dry-run shows the variable's name.
    let mut dry = a.clone();
    dry.push("--dry-run");
    let o = xtask_env(&dry, &[("OPENAI_API_KEY", None)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan: perf_contract::plan::Plan = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        plan.llm.openai.unwrap().api_key_env.as_deref(),
        Some("OPENAI_API_KEY")
    );

    // Set: every request carries it, and no output holds it.
    let secret = "sk-test-5f2c9e-never-written";
    let o = xtask_env(&a, &[("OPENAI_API_KEY", Some(secret))]);
    assert!(o.status.success(), "{}", stderr(&o));
    let seen = std::mem::take(&mut *auth.lock().unwrap());
    assert!(!seen.is_empty());
    let bearer = format!("bearer {secret}");
    assert!(
        seen.iter().all(|h| h.as_deref() == Some(bearer.as_str())),
        "{seen:?}"
    );
    let output = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(!output.contains(secret));
    assert!(!fs::read_to_string(&out).unwrap().contains(secret));
    let runs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/perf-runs/latest.json");
    assert!(!fs::read_to_string(runs).unwrap().contains(secret));

    // Unset: no header, no error.
    let o = xtask_env(&a, &[("OPENAI_API_KEY", None)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let seen = std::mem::take(&mut *auth.lock().unwrap());
    assert!(
        !seen.is_empty() && seen.iter().all(Option::is_none),
        "{seen:?}"
    );

    // A variable the file names must be set (the same perf.toml, rewritten).
    server_config(dir.path(), &url, "api_key_env = \"PERF_TEST_UNSET_KEY\"\n");
    fs::write(&out, "sentinel").unwrap();
    let o = xtask_env(&a, &[("PERF_TEST_UNSET_KEY", None)]);
    assert_refused(&o, 2, "environment variable PERF_TEST_UNSET_KEY", &out);
}
