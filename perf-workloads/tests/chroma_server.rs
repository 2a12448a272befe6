//! The `chroma` engine against a real ChromaDB server that the test starts
//! from the venv the project's own provisioning installs
//! (`perf_provision::catalog::CHROMADB`, cached in `target/perf-tools/`
//! like the build tools), and against fake servers that refuse or never
//! answer. Like the real-model tests, the server tests are not ignored: the
//! first run installs ChromaDB from PyPI (about 40 s), and a machine that
//! cannot fails them with the reason instead of skipping them.

use std::{
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use perf_workloads::index::{
    recall_at_k, ChromaConfig, ChromaEngine, ChromaServer, FlatIndex, Footprint, VectorEngine,
    VectorSearch,
};

#[path = "common/fake_chroma.rs"]
mod fake_chroma;

use fake_chroma::{Faults, Seen};

const DIMS: usize = 384;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The venv `cargo xtask perf` would use, installed on first use.
fn chroma_venv() -> PathBuf {
    let tools = workspace_root().join("target/perf-tools");
    perf_provision::provide_tool(&perf_provision::catalog::CHROMADB, &tools, &mut |e| {
        eprintln!("note: {e}")
    })
    .unwrap_or_else(|e| panic!("this test needs a real ChromaDB server: {e}"))
}

fn start_local(scratch: &Path) -> Arc<ChromaServer> {
    let venv = chroma_venv();
    let start = Instant::now();
    let server = ChromaServer::start(&venv, scratch, &ChromaConfig::default())
        .unwrap_or_else(|e| panic!("cannot start the local chroma server: {e}"));
    eprintln!("server up in {:?}: {}", start.elapsed(), server.describe());
    Arc::new(server)
}

/// `n` deterministic unit vectors with the structure of sentence
/// embeddings: a few latent directions (12) spread over all dimensions,
/// plus a little noise of their own. (Independent random vectors in 384
/// dimensions are all nearly equally far apart: no index finds "the"
/// nearest ten of those, and no real corpus looks like that.)
fn vectors(n: usize) -> Vec<Vec<f32>> {
    const LATENT: usize = 12;
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64*, then a sum of uniforms for a roughly normal value
        let mut s = 0.0;
        for _ in 0..4 {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            s += (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32;
        }
        s - 2.0
    };
    let basis: Vec<Vec<f32>> = (0..LATENT)
        .map(|_| (0..DIMS).map(|_| next()).collect())
        .collect();
    (0..n)
        .map(|_| {
            let w: Vec<f32> = (0..LATENT).map(|_| next()).collect();
            let v: Vec<f32> = (0..DIMS)
                .map(|d| (0..LATENT).map(|l| w[l] * basis[l][d]).sum::<f32>() + 0.3 * next())
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / norm).collect()
        })
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Whether process `pid` still exists as more than a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

#[test]
fn recall_and_similarities_match_exact_search() {
    let scratch = tempfile::tempdir().unwrap();
    let server = start_local(scratch.path());
    let config = ChromaConfig::default();
    let mut engine = ChromaEngine::open(&server, &config, DIMS, "test-recall").unwrap();
    // 2,000 stored, 20 more of the same kind as queries.
    let mut data = vectors(2_020);
    let queries = data.split_off(2_000);
    let start = Instant::now();
    // Two inserts: ids continue from `first_id`.
    engine.insert(0, &data[..1_200]).unwrap();
    engine.insert(1_200, &data[1_200..]).unwrap();
    let inserted = start.elapsed();
    eprintln!(
        "inserted 2000 x {DIMS} in {inserted:?}; indexing_status: {:?}",
        engine.indexing_status()
    );
    let exact = FlatIndex::build(&data).unwrap();

    // Every stored vector finds itself first.
    for id in (0..2_000).step_by(100) {
        let hits = engine.search(&data[id], 10).unwrap();
        assert_eq!(hits[0].id, id, "{hits:?}");
        assert!((hits[0].similarity - 1.0).abs() < 1e-3, "{hits:?}");
    }
    // Fresh queries: recall@10 against exact search, similarities = dot products.
    let mut recall = 0.0;
    let start = Instant::now();
    for q in &queries {
        let hits = engine.search(q, 10).unwrap();
        assert_eq!(hits.len(), 10);
        for h in &hits {
            let d = dot(q, &data[h.id]);
            assert!((h.similarity - d).abs() < 1e-3, "{h:?} vs dot {d}");
        }
        recall += recall_at_k(&hits, &exact.search(q, 10).unwrap());
    }
    let latency = start.elapsed() / queries.len() as u32;
    let recall = recall / queries.len() as f64;
    eprintln!("recall@10 {recall:.3}, mean query latency {latency:?}");
    assert!(recall >= 0.95, "recall@10 {recall}");

    match engine.footprint() {
        Footprint::OnDisk(bytes) => assert!(bytes > 2_000 * DIMS as u64 * 4, "{bytes}"),
        other => panic!("a local server's footprint is on disk: {other:?}"),
    }
    let describe = engine.describe();
    assert!(describe.starts_with("chroma 1.5.9 "), "{describe}");
    assert!(describe.ends_with("(local server started by the run)"));
    assert_eq!(engine.name(), "chroma");

    // Dropping the engine deletes its collection: the name is free again,
    // and a new collection under it starts empty.
    drop(engine);
    let mut again = ChromaEngine::open(&server, &config, DIMS, "test-recall").unwrap();
    again.insert(0, &data[..10]).unwrap();
    assert_eq!(again.search(&data[1_500], 20).unwrap().len(), 10);
}

#[test]
fn an_unreachable_url_fails_fast_in_one_line_naming_it() {
    // A port that was free a moment ago: nobody listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let err = match ChromaServer::connect(&url.as_str().into(), &ChromaConfig::default()) {
        Ok(_) => panic!("nobody listens at {url}"),
        Err(e) => e.to_string(),
    };
    eprintln!("{err} ({:?})", start.elapsed());
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(err.contains(&url), "{err}");
    assert!(err.contains("set [vector.chroma] url"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn a_killed_server_is_an_error_not_a_hang_and_is_reaped() {
    let scratch = tempfile::tempdir().unwrap();
    let server = start_local(scratch.path());
    let mut engine =
        ChromaEngine::open(&server, &ChromaConfig::default(), DIMS, "test-killed").unwrap();
    let data = vectors(200);
    engine.insert(0, &data).unwrap();
    assert_eq!(engine.search(&data[7], 1).unwrap()[0].id, 7);
    let pid = server.process().unwrap().pid();
    // SAFETY: kill has no memory effects; pid is the server the test started.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
    let start = Instant::now();
    let err = engine.search(&data[7], 1).unwrap_err().to_string();
    eprintln!("{err} ({:?})", start.elapsed());
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(err.contains("exited (signal: 9"), "{err}");
    assert!(err.contains(&server.url()), "{err}");
    assert!(!err.contains('\n'), "{err}");
    assert!(!server.process().unwrap().is_running());
    drop(engine);
    drop(server);
    assert!(!alive(pid), "the killed server was not reaped");
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn a_server_that_never_answers_times_out_within_the_configured_time() {
    let config = ChromaConfig {
        request_timeout: Duration::from_millis(1_500),
        ..ChromaConfig::default()
    };
    let margin = Duration::from_secs(2);

    // Accepts, never answers: connecting (its heartbeat) times out.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    thread::spawn(move || {
        let held: Vec<TcpStream> = silent.incoming().filter_map(Result::ok).collect();
        drop(held);
    });
    let start = Instant::now();
    let err = ChromaServer::connect(&url.as_str().into(), &config)
        .err()
        .unwrap()
        .to_string();
    eprintln!("{err} ({:?})", start.elapsed());
    assert!(start.elapsed() < config.request_timeout + margin);
    assert!(err.contains("no answer within 1500 ms"), "{err}");
    assert!(err.contains(&url) && !err.contains('\n'), "{err}");

    // Answers everything but queries: the search times out, not retried.
    let (url, _) = fake_chroma::spawn(Faults {
        hang_on_query: true,
        ..Faults::default()
    });
    let server = Arc::new(ChromaServer::connect(&url.as_str().into(), &config).unwrap());
    assert!(server.describe().ends_with("(remote)"));
    let engine = ChromaEngine::open(&server, &config, 3, "test-slow").unwrap();
    assert!(matches!(engine.footprint(), Footprint::Unknown(_)));
    let start = Instant::now();
    let err = engine.search(&[1.0, 0.0, 0.0], 5).unwrap_err().to_string();
    eprintln!("{err} ({:?})", start.elapsed());
    assert!(start.elapsed() < config.request_timeout + margin);
    assert!(err.contains("chroma query on collection perf-vector-query-test-slow failed: no answer within 1500 ms"), "{err}");
    assert!(err.contains(&url) && !err.contains('\n'), "{err}");
}

#[test]
fn dropping_the_server_stops_and_reaps_it_and_removes_its_data() {
    let scratch = tempfile::tempdir().unwrap();
    let server = start_local(scratch.path());
    let mut engine =
        ChromaEngine::open(&server, &ChromaConfig::default(), DIMS, "test-drop").unwrap();
    engine.insert(0, &vectors(50)).unwrap();
    let pid = server.process().unwrap().pid();
    let data = server.data_dir().unwrap();
    assert!(data.is_dir() && alive(pid));
    let start = Instant::now();
    drop(engine);
    drop(server);
    eprintln!("engine and server dropped in {:?}", start.elapsed());
    assert!(!alive(pid), "the server outlived its handle");
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "not reaped");
    assert!(!data.exists(), "its data folder was left behind");
}

/// A collection `name` on a fake server with `faults`, and what it saw.
fn fake_engine(faults: Faults, name: &str) -> (ChromaEngine, Arc<Mutex<Seen>>) {
    let (url, seen) = fake_chroma::spawn(faults);
    let config = ChromaConfig::default();
    let server = Arc::new(ChromaServer::connect(&url.as_str().into(), &config).unwrap());
    assert!(server.takes_base64());
    let engine = ChromaEngine::open(&server, &config, DIMS, name).unwrap();
    (engine, seen)
}

#[test]
fn a_batch_too_large_for_the_server_goes_again_in_halves() {
    // 100 records a batch (the fake's pre-flight), 2 KiB of base64 each:
    // a 60 KB limit takes 25 (51 KB), not 50.
    let (mut engine, seen) = fake_engine(
        Faults {
            max_body: 60_000,
            ..Faults::default()
        },
        "test-413",
    );
    engine.insert(0, &vectors(250)).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.ids.len(), 250);
    assert!(seen.ids.contains("0") && seen.ids.contains("249"));
    assert!(seen.base64, "embeddings went as JSON numbers");
    // 250 = 100 + 100 + 50: each 100 halved twice (25s), the 50 once.
    assert_eq!(seen.too_large, 2 * 3 + 1, "refused bodies");
    assert_eq!(seen.adds, 10);
}

#[test]
fn an_add_whose_answer_is_lost_is_sent_again_and_counted_once() {
    let (mut engine, seen) = fake_engine(
        Faults {
            drop_adds: 1,
            ..Faults::default()
        },
        "test-lost",
    );
    // The count after loading must be 150: the first batch, applied but
    // unanswered, went twice and its ids were kept once.
    engine.insert(0, &vectors(150)).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.adds, 3);
    assert_eq!(seen.ids.len(), 150);
}
