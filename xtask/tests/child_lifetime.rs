//! The workloads process (plain, and under valgrind) dies with xtask when
//! a signal reaches xtask's pid alone, as a CI runner's timeout or a
//! supervisor sends it (not the process group), and the scratch folder a
//! killed callgrind run leaves is removed by the next run.

mod support;

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use perf_contract::{
    plan::WorkloadName,
    schema::{Better, Unit},
};
use support::small_corpus;

/// `(pid, command name)` of every process whose parent is `parent`.
fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let ppid = stat[close + 1..].split_whitespace().nth(1);
        if ppid.and_then(|p| p.parse().ok()) == Some(parent) {
            out.push((pid, stat[open + 1..close].to_string()));
        }
    }
    out
}

/// Running, not a zombie and not gone.
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        let state = s
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next());
        !matches!(state, Some("Z" | "X") | None)
    })
}

/// Kills what the test started if an assertion fails first, so a failing
/// test leaves no multi-GB process behind.
struct Reaper(Vec<u32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Starts xtask with `args`, waits until it runs a child whose command
/// name starts with `name` (xtask also runs cargo, git and rustc), and
/// returns both.
fn start(args: &[&str], name: &str, reaper: &mut Reaper) -> (Child, u32) {
    let mut xtask = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("CI", "1")
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    reaper.0.push(xtask.id());
    // The first run of the suite may build perf-workloads in release mode.
    let start = Instant::now();
    loop {
        if let Some(status) = xtask.try_wait().unwrap() {
            panic!("xtask ended ({status}) before starting its measuring child");
        }
        let child = children_of(xtask.id())
            .into_iter()
            .find(|(_, comm)| comm.starts_with(name));
        if let Some((pid, _)) = child {
            reaper.0.push(pid);
            return (xtask, pid);
        }
        assert!(
            start.elapsed() < Duration::from_secs(900),
            "no {name} child"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `signal` to xtask's pid only and asserts that `child` is gone
/// within 10 s.
fn kill_front_end(mut xtask: Child, child: u32, signal: &str) {
    // Let the child get past its start (it may still be loading).
    thread::sleep(Duration::from_millis(500));
    assert!(alive(child), "{signal}: the child ran");
    let kill = Command::new("kill")
        .args([signal, &xtask.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = xtask.wait().unwrap();
    assert!(!status.success(), "{signal}: {status}");
    let start = Instant::now();
    while alive(child) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{signal}: child {child} still runs 10 s after xtask ended"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// A plan that would run for many minutes: thousands of passes of
/// vector searches on a small corpus.
fn long_run(dir: &Path, extra: &[&str]) -> Vec<String> {
    let corpus = small_corpus(dir);
    let mut v: Vec<String> = [
        "perf",
        "baseline",
        "--workload",
        "vector_query",
        "--iterations",
        "100000",
        "--warmup",
        "0",
        "--corpus",
        corpus.to_str().unwrap(),
        "--output",
        dir.join("b.json").to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// The two tests run one at a time: every xtask run clears the scratch
/// folders of dead processes, so the measuring test's runs removed the
/// callgrind folder the other test had just orphaned on purpose (seen once
/// in four full runs, as "nothing could remove it at kill -9").
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn the_measuring_process_dies_with_xtask() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let args = long_run(dir.path(), &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for signal in ["-KILL", "-TERM", "-INT"] {
        let mut reaper = Reaper(Vec::new());
        let (xtask, child) = start(&args, "perf-workloads", &mut reaper);
        kill_front_end(xtask, child, signal);
        assert!(!dir.path().join("b.json").exists(), "{signal}: no baseline");
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn valgrind_dies_with_xtask_and_its_folder_goes_with_the_next_run() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A baseline with callgrind counts makes `check --mode instructions`
    // start valgrind straight away.
    let base = d.join("counted.json");
    perf_contract::fixture::baseline(&[(
        WorkloadName::VectorQuery,
        "hnsw.callgrind_instructions",
        Unit::Count,
        Better::Lower,
        vec![1000.0],
    )])
    .save(&base)
    .unwrap();
    let corpus = small_corpus(d);
    let args = [
        "perf",
        "check",
        "--mode",
        "instructions",
        "--baseline",
        base.to_str().unwrap(),
        "--workload",
        "vector_query",
        "--corpus",
        corpus.to_str().unwrap(),
    ];
    let mut reaper = Reaper(Vec::new());
    // valgrind's launcher execs its tool, `callgrind-amd64-linux`.
    let (xtask, child) = start(&args, "callgrind", &mut reaper);
    let xtask_pid = xtask.id();
    let scratch = root()
        .join("target/perf-runs/callgrind")
        .join(xtask_pid.to_string());
    assert!(
        scratch.is_dir(),
        "{} exists while it runs",
        scratch.display()
    );
    kill_front_end(xtask, child, "-KILL");
    assert!(scratch.is_dir(), "nothing could remove it at kill -9");

    // The next run, a short one, removes the dead process's folder
    // (`--quick`: the full profile's scaling curve embeds a 100k-vector
    // corpus, ten minutes on a cold embedding cache).
    let o = support::xtask(&[
        "perf",
        "baseline",
        "--quick",
        "--workload",
        "vector_query",
        "--iterations",
        "1",
        "--warmup",
        "0",
        "--corpus",
        corpus.to_str().unwrap(),
        "--output",
        d.join("b.json").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", support::stderr(&o));
    assert!(!scratch.exists(), "{} removed", scratch.display());
}
