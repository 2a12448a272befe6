//! Bad inputs of the LLM workloads, run as a user runs them: each fails
//! with one error line naming the file, flag or URL, exits non-zero and
//! leaves the baseline file alone. The servers here are tiny fakes on
//! 127.0.0.1 that misbehave on purpose (the real server is tested in
//! perf-workloads/tests/openai_server.rs).

mod support;

use std::{
    fs,
    io::{Read, Write},
    net::TcpListener,
    path::Path,
    process::Output,
    thread,
    time::Duration,
};

use support::{small_corpus, stderr, xtask};

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

/// `perf baseline --quick --workload inference` on a small corpus, plus `extra`.
fn inference(dir: &Path, out: &Path, extra: &[&str]) -> Output {
    let corpus = small_corpus(dir);
    let mut args = vec![
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
    ];
    args.extend_from_slice(extra);
    xtask(&args)
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
    assert_refused(&o, 1, "model.gguf is unusable: not a GGUF file", &out);

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
    assert_refused(&o, 1, "cut.gguf is unusable: truncated", &out);

    let o = inference(dir.path(), &out, &["--llm-model", "/no/such.gguf"]);
    assert_refused(
        &o,
        1,
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
    assert_refused(&o, 1, &format!("openai server {url}: unreachable"), &out);

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
    assert_refused(&o, 1, &format!("openai server {silent}: timed out"), &out);

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
        1,
        &format!("openai server {garbage}: malformed stream"),
        &out,
    );
}
