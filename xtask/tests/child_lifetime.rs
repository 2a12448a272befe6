//! Nothing a run starts outlives xtask when a signal reaches xtask's pid
//! alone, as a CI runner's timeout or a supervisor sends it (not the
//! process group): not the build (cargo, the compilers it starts and what
//! they leave detached), not the workloads process, plain or under
//! valgrind. The reaper mode behind it (`xtask __reap`) is tested on its
//! own: the command's input, output and exit status pass through it. And
//! the scratch folder a killed callgrind run leaves is removed by the next
//! run.
//!
//! Every process a test starts carries a marker in its environment, which
//! its descendants inherit: "nothing outlives xtask" is checked over every
//! process with the marker, whoever its parent became. Every xtask starts
//! with SIGINT and SIGTERM at their default action
//! (`support::xtask_command`), whatever the test's own parent ignores.

mod support;

use std::{
    fs,
    io::Write,
    os::unix::{
        fs::PermissionsExt,
        process::{CommandExt, ExitStatusExt},
    },
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

/// The environment variable that marks a test's processes.
const MARK: &str = "XTASK_TEST_PROCESS_MARK";

/// How long the processes of a run may outlive xtask (the issue's bound).
const GRACE: Duration = Duration::from_secs(3);

/// A process from /proc.
#[derive(Debug)]
#[allow(dead_code)] // `ppid` is only shown in failure messages (parent 1: orphaned)
struct Process {
    pid: u32,
    ppid: u32,
    name: String,
}

/// Every live process (zombies run nothing and are left out).
fn processes() -> Vec<Process> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The name is parenthesised and may itself hold ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next();
        let ppid = rest.next().and_then(|p| p.parse().ok());
        if let (Some(ppid), false) = (ppid, matches!(state, Some("Z" | "X"))) {
            out.push(Process {
                pid,
                ppid,
                name: stat[open + 1..close].to_string(),
            });
        }
    }
    out
}

/// The live processes carrying `mark` in their environment.
fn marked(mark: &str) -> Vec<Process> {
    let entry = format!("{MARK}={mark}");
    processes()
        .into_iter()
        .filter(|p| {
            fs::read(format!("/proc/{}/environ", p.pid))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|e| e == entry.as_bytes()))
        })
        .collect()
}

/// Running, not a zombie and not gone.
fn alive(pid: u32) -> bool {
    processes().iter().any(|p| p.pid == pid)
}

/// A unique mark for one started process tree; its processes are killed
/// when the test ends (an assertion failed, or the defect is back), so a
/// failing test leaves no multi-GB process or endless build behind.
struct Mark(String);

impl Mark {
    fn new(label: &str) -> Mark {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Mark(format!("{}-{n}-{label}", std::process::id()))
    }
}

impl Drop for Mark {
    fn drop(&mut self) {
        for p in marked(&self.0) {
            // SAFETY: kill has no memory effects.
            unsafe {
                libc::kill(p.pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
}

/// [`wait_for`] the test tree (`TREE`: two marked `sleep`s) to be up.
fn wait_for_tree(started: &mut Child, mark: &Mark) {
    wait_for(started, mark, Duration::from_secs(10), "the tree", |now| {
        count(now, "sleep") == 2
    });
}

/// Waits until `ready` holds of the marked processes, or fails when
/// `started` ends first or after `limit`.
fn wait_for(
    started: &mut Child,
    mark: &Mark,
    limit: Duration,
    what: &str,
    ready: impl Fn(&[Process]) -> bool,
) -> Vec<Process> {
    let start = Instant::now();
    loop {
        if let Some(status) = started.try_wait().unwrap() {
            panic!("the process ended ({status}) before {what}");
        }
        let now = marked(&mark.0);
        if ready(&now) {
            return now;
        }
        assert!(
            start.elapsed() < limit,
            "no {what} after {limit:?}: {now:?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn count(processes: &[Process], name: &str) -> usize {
    processes
        .iter()
        .filter(|p| p.name.starts_with(name))
        .count()
}

/// Sends `signal` to `pid` alone.
fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill has no memory effects; `pid` is our unreaped child.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, signal) }, 0);
}

/// The marked processes still alive `GRACE` after `since`.
fn left_after_grace(mark: &Mark, since: Instant) -> Vec<Process> {
    loop {
        let left = marked(&mark.0);
        if left.is_empty() || since.elapsed() >= GRACE {
            return left;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

const SIGNALS: [(&str, libc::c_int); 3] = [
    ("KILL", libc::SIGKILL),
    ("TERM", libc::SIGTERM),
    ("INT", libc::SIGINT),
];

/// Starts xtask with `args` under `mark` and waits until one of its
/// processes is named `name` (`perf-workloads`, `callgrind`: under the
/// reaper, a grandchild).
fn start(args: &[&str], name: &str, mark: &Mark) -> Child {
    let mut xtask = support::xtask_command()
        .args(args)
        .env(MARK, &mark.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first run of the suite may build perf-workloads in release mode.
    wait_for(
        &mut xtask,
        mark,
        Duration::from_secs(900),
        &format!("a {name} process"),
        |now| count(now, name) > 0,
    );
    xtask
}

/// Sends `sig` to xtask's pid only and asserts that none of its processes
/// is alive `GRACE` later.
fn kill_front_end(mut xtask: Child, mark: &Mark, (name, sig): (&str, libc::c_int)) {
    // Let the child get past its start (it may still be loading).
    thread::sleep(Duration::from_millis(500));
    let before = marked(&mark.0);
    signal(xtask.id(), sig);
    let status = xtask.wait().unwrap();
    let since = Instant::now();
    assert!(!status.success(), "-{name}: {status}");
    let left = left_after_grace(mark, since);
    assert!(
        left.is_empty(),
        "-{name}: alive {GRACE:?} after xtask ended: {left:?} (of {before:?})"
    );
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

/// The tests that run xtask's measuring commands take turns: every such
/// run clears the scratch folders of dead processes, so the measuring
/// test's runs removed the callgrind folder the other test had just
/// orphaned on purpose (seen once in four full runs, as "nothing could
/// remove it at kill -9").
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn the_measuring_process_dies_with_xtask() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let args = long_run(dir.path(), &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for signal in SIGNALS {
        let mark = Mark::new(signal.0);
        let xtask = start(&args, "perf-workloads", &mark);
        kill_front_end(xtask, &mark, signal);
        assert!(
            !dir.path().join("b.json").exists(),
            "-{}: no baseline",
            signal.0
        );
    }
}

/// Stands in for rustc (cargo's `RUSTC_WRAPPER`, so `$1` is rustc): cargo's
/// probes (`rustc -vV`, the `___` crate) run as they are; a compilation
/// leaves a process behind in its own session whose parent is already
/// gone (as a build script's daemon could), then takes ten minutes (as a
/// long compilation or a cmake build of llama.cpp does).
const SLOW_RUSTC: &str = r#"#!/bin/sh
case " $* " in
*" -vV "* | *" ___ "*) exec "$@" ;;
esac
(setsid sleep 600 &)
sleep 600
exit 1
"#;

#[test]
fn the_build_and_all_it_started_die_with_xtask() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Named `rustc`: its process is named so too.
    let bin = d.join("bin");
    fs::create_dir(&bin).unwrap();
    let rustc = bin.join("rustc");
    fs::write(&rustc, SLOW_RUSTC).unwrap();
    fs::set_permissions(&rustc, fs::Permissions::from_mode(0o755)).unwrap();
    let args = long_run(d, &[]);
    let mut outcomes = Vec::new();
    for (name, sig) in SIGNALS {
        let mark = Mark::new(name);
        // A target folder of its own: nothing is compiled there yet, so
        // cargo must run rustc (the project's own folder is up to date).
        let mut xtask = support::xtask_command()
            .args(&args)
            .env(MARK, &mark.0)
            .env("CARGO_TARGET_DIR", d.join(format!("target-{name}")))
            .env("RUSTC_WRAPPER", &rustc)
            .env_remove("CARGO_BUILD_RUSTC_WRAPPER")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let before = wait_for(
            &mut xtask,
            &mark,
            Duration::from_secs(120),
            "a compilation under cargo",
            |now| count(now, "cargo") > 0 && count(now, "rustc") > 0 && count(now, "sleep") > 1,
        );
        signal(xtask.id(), sig);
        let status = xtask.wait().unwrap();
        let since = Instant::now();
        assert!(!status.success(), "-{name}: {status}");
        let left = left_after_grace(&mark, since);
        outcomes.push((name, before.len(), left));
    }
    assert!(
        outcomes.iter().all(|(_, _, left)| left.is_empty()),
        "processes of the build alive {GRACE:?} after xtask ended \
         (signal, processes before, alive after): {outcomes:?}"
    );
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
        // The fixture's machine is not this one: a check refuses it before
        // anything starts unless told.
        "--allow-foreign-baseline",
        "--workload",
        "vector_query",
        "--corpus",
        corpus.to_str().unwrap(),
    ];
    let mark = Mark::new("valgrind");
    // valgrind's launcher execs its tool, `callgrind-amd64-linux`.
    let xtask = start(&args, "callgrind", &mark);
    let xtask_pid = xtask.id();
    let scratch = root()
        .join("target/perf-runs/callgrind")
        .join(xtask_pid.to_string());
    assert!(
        scratch.is_dir(),
        "{} exists while it runs",
        scratch.display()
    );
    kill_front_end(xtask, &mark, SIGNALS[0]);
    assert!(scratch.is_dir(), "nothing could remove it at kill -9");

    // The next run, a short one, removes the dead process's folder
    // (`--quick`: the full profile's scaling curve embeds a 100k-vector
    // corpus, ten minutes on a cold embedding cache).
    let o = support::xtask_args(&support::quick_baseline(
        &corpus,
        &d.join("b.json"),
        &["--workload", "vector_query"],
    ));
    assert!(o.status.success(), "{}", support::stderr(&o));
    assert!(!scratch.exists(), "{} removed", scratch.display());
}

/// `xtask __reap PROGRAM ARGS...`, marked, with default dispositions.
fn reaper(mark: &Mark, program: &str, args: &[&str]) -> Command {
    let mut c = support::xtask_command();
    c.arg("__reap").arg(program).args(args).env(MARK, &mark.0);
    c
}

#[test]
fn the_reaper_passes_input_output_and_exit_status_through() {
    let mark = Mark::new("through");
    let o = reaper(&mark, "sh", &["-c", "echo out; echo err >&2; exit 3"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert_eq!(o.stdout, b"out\n");
    assert_eq!(o.stderr, b"err\n");

    let o = reaper(&mark, "sh", &["-c", "kill -TERM $$"])
        .output()
        .unwrap();
    assert_eq!(o.status.signal(), Some(libc::SIGTERM), "{o:?}");

    let mut cat = reaper(&mark, "cat", &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    cat.stdin.take().unwrap().write_all(b"in\n").unwrap();
    let o = cat.wait_with_output().unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_eq!(o.stdout, b"in\n");

    let o = reaper(&mark, "/nonexistent/program", &[]).output().unwrap();
    assert_eq!(o.status.code(), Some(127), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: cannot start /nonexistent/program"),
        "{err}"
    );
}

/// A tree under the reaper: a child in the foreground, a grandchild, and
/// an orphan in its own session.
const TREE: &str = "(setsid sleep 600 &); sleep 600 & wait";

#[test]
fn the_reaper_kills_everything_below_it_when_signalled() {
    for (name, sig) in [
        ("TERM", libc::SIGTERM),
        ("INT", libc::SIGINT),
        ("HUP", libc::SIGHUP),
        ("QUIT", libc::SIGQUIT),
    ] {
        let mark = Mark::new(name);
        let mut reaper = reaper(&mark, "sh", &["-c", TREE]).spawn().unwrap();
        wait_for(
            &mut reaper,
            &mark,
            Duration::from_secs(10),
            "the tree",
            |now| count(now, "sleep") == 2,
        );
        signal(reaper.id(), sig);
        let status = reaper.wait().unwrap();
        let since = Instant::now();
        assert_eq!(status.signal(), Some(sig), "-{name}: {status}");
        let left = left_after_grace(&mark, since);
        assert!(left.is_empty(), "-{name}: {left:?}");
    }
}

#[test]
fn the_reaper_kills_everything_below_it_when_its_parent_dies() {
    let mark = Mark::new("orphaned");
    // `; exit 0`: the shell stays the reaper's parent (no exec of the
    // last command).
    let mut parent = Command::new("sh")
        .arg("-c")
        .arg(format!(r#""$0" __reap sh -c '{TREE}'; exit 0"#))
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .env(MARK, &mark.0)
        .spawn()
        .unwrap();
    wait_for_tree(&mut parent, &mark);
    signal(parent.id(), libc::SIGKILL);
    parent.wait().unwrap();
    let since = Instant::now();
    let left = left_after_grace(&mark, since);
    assert!(left.is_empty(), "{left:?}");
}

/// An inherited SIG_IGN is kept (see xtask/src/reaper.rs for why): the
/// reaper goes on at SIGINT then, and still ends everything at SIGTERM.
#[test]
fn the_reaper_keeps_an_ignored_sigint() {
    let mark = Mark::new("ignored");
    let mut command = reaper(&mark, "sh", &["-c", TREE]);
    // SAFETY: signal is async-signal-safe; no memory of ours is involved.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut reaper = command.spawn().unwrap();
    wait_for_tree(&mut reaper, &mark);
    signal(reaper.id(), libc::SIGINT);
    thread::sleep(Duration::from_millis(500));
    assert!(alive(reaper.id()), "SIGINT was ignored");
    assert_eq!(count(&marked(&mark.0), "sleep"), 2);
    signal(reaper.id(), libc::SIGTERM);
    let status = reaper.wait().unwrap();
    let since = Instant::now();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status}");
    let left = left_after_grace(&mark, since);
    assert!(left.is_empty(), "{left:?}");
}
