//! What the examples that serve the benchmarks (`embed_throughput`,
//! `search_throughput`) share: where the workspace is, and the default
//! corpus. Not an example itself (cargo builds `examples/*.rs`).

use std::{
    io::{self, BufRead, Write},
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::{json, Value};

/// The workspace root, where `target/` and the caches live.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("perf-workloads sits inside the workspace")
        .to_path_buf()
}

/// The default corpus: "The Rust Programming Language" from rust-docs.
pub fn rust_book() -> Result<PathBuf, String> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| {
            format!("cannot run rustc to find the default corpus: {e}; pass --corpus DIR")
        })?;
    let sysroot = String::from_utf8_lossy(&out.stdout);
    let book = PathBuf::from(sysroot.trim()).join("share/doc/rust/html/book");
    if !book.is_dir() {
        return Err(format!(
            "default corpus {} not found: install it with `rustup component add rust-docs`, or pass --corpus DIR",
            book.display()
        ));
    }
    Ok(book)
}

/// The serve loop: one JSON request per stdin line, one JSON reply per
/// stdout line (`{"error": ...}` when `answer` fails or the line is not
/// JSON), until stdin ends or a request's `verb` key says `quit`.
pub fn serve_requests(
    verb: &str,
    mut answer: impl FnMut(&Value) -> Result<Value, String>,
) -> Result<(), String> {
    let mut out = io::stdout().lock();
    for line in io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let (reply, quit) = match serde_json::from_str::<Value>(&line) {
            Ok(req) => (
                answer(&req).unwrap_or_else(|e| json!({ "error": e })),
                req[verb] == "quit",
            ),
            Err(e) => (
                json!({ "error": format!("request is not JSON: {e}") }),
                false,
            ),
        };
        writeln!(out, "{reply}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        if quit {
            break;
        }
    }
    Ok(())
}
