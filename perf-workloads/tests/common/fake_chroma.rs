//! A fake Chroma HTTP server for the failure tests: it answers what the
//! `chroma` engine asks (heartbeat, version, pre-flight checks, collection
//! delete and create, add, count, indexing status, query), keeps the ids
//! added to each collection like Chroma does (an id it holds already is
//! ignored), and misbehaves on cue. Shared by perf-workloads' and xtask's tests (the
//! latter include this file by path).

#![allow(dead_code)] // each test binary uses a different part of this module

use std::{
    collections::{HashMap, HashSet},
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    sync::{Arc, Mutex},
    thread,
    time::Duration,
};

/// How the fake misbehaves.
#[derive(Clone, Default)]
pub struct Faults {
    /// Bodies longer than this get HTTP 413, nothing applied (0: no limit).
    pub max_body: usize,
    /// This many adds are applied, then their connection is closed
    /// without an answer (a reply lost on the way).
    pub drop_adds: usize,
    /// Queries get this status with an error body.
    pub query_status: Option<u16>,
    /// Queries are never answered.
    pub hang_on_query: bool,
}

/// What the fake saw.
#[derive(Default)]
pub struct Seen {
    /// Every id added, to any collection.
    pub ids: HashSet<String>,
    /// The ids of each collection, by the id the fake gave it.
    pub collections: HashMap<String, HashSet<String>>,
    /// Collections created.
    pub created: usize,
    /// Add requests, answered or not.
    pub adds: usize,
    /// Add requests refused as too large.
    pub too_large: usize,
    /// Whether add bodies carried base64 strings.
    pub base64: bool,
}

/// A fake server on a free port of 127.0.0.1, serving until the test
/// process ends: its URL and what it saw.
pub fn spawn(faults: Faults) -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = Arc::clone(&seen);
    let faults = Arc::new(Mutex::new(faults));
    thread::spawn(move || {
        for stream in listener.incoming().filter_map(Result::ok) {
            let (seen, faults) = (Arc::clone(&shared), Arc::clone(&faults));
            thread::spawn(move || serve(stream, &seen, &faults));
        }
    });
    (url, seen)
}

fn serve(stream: TcpStream, seen: &Mutex<Seen>, faults: &Mutex<Faults>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut request = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
            if request.is_empty() {
                request = line.trim_end().to_string();
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let f = faults.lock().unwrap().clone();
        let (status, answer) = if f.max_body > 0 && length > f.max_body {
            seen.lock().unwrap().too_large += 1;
            (413, "Payload too large".to_string())
        } else if request.contains("/add ") {
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let mut s = seen.lock().unwrap();
            s.adds += 1;
            s.base64 = body["embeddings"][0].is_string();
            let collection = collection_of(&request);
            for id in body["ids"].as_array().unwrap() {
                let id = id.as_str().unwrap().to_string();
                s.ids.insert(id.clone());
                s.collections
                    .entry(collection.clone())
                    .or_default()
                    .insert(id);
            }
            drop(s);
            if f.drop_adds > 0 {
                faults.lock().unwrap().drop_adds -= 1;
                return;
            }
            (201, "{}".to_string())
        } else if request.contains("/query ") {
            if f.hang_on_query {
                thread::sleep(Duration::from_secs(60));
                return;
            }
            match f.query_status {
                Some(status) => (
                    status,
                    r#"{"error":"InternalError","message":"boom"}"#.to_string(),
                ),
                None => (200, query_answer(&body)),
            }
        } else if request.contains("/count ") {
            let s = seen.lock().unwrap();
            let held = s
                .collections
                .get(&collection_of(&request))
                .map_or(0, HashSet::len);
            (200, held.to_string())
        } else if request.contains("/indexing_status ") {
            (
                500,
                r#"{"error":"Internal","message":"not implemented"}"#.into(),
            )
        } else if request.starts_with("GET /api/v2/heartbeat") {
            (200, r#"{"nanosecond heartbeat":1}"#.into())
        } else if request.starts_with("GET /api/v2/version") {
            (200, r#""1.0.0""#.into())
        } else if request.starts_with("GET /api/v2/pre-flight-checks") {
            (
                200,
                r#"{"max_batch_size":100,"supports_base64_encoding":true}"#.into(),
            )
        } else if request.starts_with("DELETE") {
            (404, r#"{"error":"NotFoundError","message":"none"}"#.into())
        } else if request.starts_with("POST") && request.contains("/collections ") {
            let mut s = seen.lock().unwrap();
            s.created += 1;
            let id = format!("0b7e2b3c-0000-0000-0000-{:012}", s.created);
            (200, format!(r#"{{"id":"{id}"}}"#))
        } else {
            (400, r#"{"error":"Test","message":"unexpected"}"#.into())
        };
        let reply = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// The collection id in a request line (`.../collections/<id>/add`).
fn collection_of(request: &str) -> String {
    let after = request.split("/collections/").nth(1).unwrap_or("");
    after.split('/').next().unwrap_or("").to_string()
}

/// Ids 0.. with distance 0: shaped like Chroma's answer, not a search.
fn query_answer(body: &[u8]) -> String {
    let body: serde_json::Value = serde_json::from_slice(body).unwrap();
    let k = body["n_results"].as_u64().unwrap_or(1) as usize;
    let ids: Vec<String> = (0..k).map(|i| i.to_string()).collect();
    serde_json::json!({"ids": [ids], "distances": [vec![0.0; k]]}).to_string()
}
