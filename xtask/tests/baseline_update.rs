//! Replacing the baseline with real xtask processes: two writers started
//! at once, and a writer killed (its own pid, not its group) at the moment
//! between keeping the old baseline in history and renaming the new one
//! over it. Every measured baseline must end up in a file, and the
//! baseline file must never be missing. `check --run-file --update` is the
//! writer: it replaces the baseline without running any workload.

mod support;

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use perf_contract::{
    plan::WorkloadName,
    schema::{Baseline, Better, Unit},
};
use support::{stderr, xtask};

/// A run recorded in the same second as every other one here, told apart
/// by its git commit (which the machine fingerprint does not include).
fn run(commit: &str) -> Baseline {
    let mut b = perf_contract::fixture::baseline(&[(
        WorkloadName::RagQuery,
        "latency",
        Unit::Milliseconds,
        Better::Lower,
        vec![10.0; 10],
    )]);
    b.environment.git_commit = Some(commit.to_string());
    b
}

fn commit_of(path: &Path) -> String {
    Baseline::load(path)
        .unwrap()
        .environment
        .git_commit
        .unwrap_or_default()
}

/// The commits in `dir/baseline.json` and `dir/history/`, and stray files.
fn kept(dir: &Path) -> (String, BTreeMap<String, usize>, Vec<PathBuf>) {
    let base = dir.join("baseline.json");
    let mut history = BTreeMap::new();
    let mut strays = Vec::new();
    for e in fs::read_dir(dir.join("history")).into_iter().flatten() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            *history.entry(commit_of(&p)).or_insert(0) += 1;
        } else {
            strays.push(p);
        }
    }
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains(".tmp") {
            strays.push(p);
        }
    }
    (commit_of(&base), history, strays)
}

/// The writer, with SIGINT and SIGTERM at their default action whatever
/// this test's parent ignores (`interrupt_update` relies on them).
fn update_command(dir: &Path, run_file: &Path) -> Command {
    let mut c = support::xtask_command();
    c.args(["perf", "check", "--no-rerun", "--update", "--baseline"])
        .arg(dir.join("baseline.json"))
        .arg("--run-file")
        .arg(run_file);
    c
}

#[test]
fn two_writers_at_once_lose_no_baseline() {
    for pair in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        run("o").save(&d.join("baseline.json")).unwrap();
        run("a").save(&d.join("a.json")).unwrap();
        run("b").save(&d.join("b.json")).unwrap();
        let writers: Vec<Child> = ["a.json", "b.json"]
            .iter()
            .map(|f| {
                update_command(d, &d.join(f))
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for w in writers {
            let o = w.wait_with_output().unwrap();
            assert!(o.status.success(), "pair {pair}: {}", stderr(&o));
        }
        let (current, history, strays) = kept(d);
        assert!(current == "a" || current == "b", "pair {pair}: {current}");
        let other = if current == "a" { "b" } else { "a" };
        assert_eq!(
            history,
            BTreeMap::from([("o".to_string(), 1), (other.to_string(), 1)]),
            "pair {pair}: every replaced baseline is in history, once"
        );
        assert!(strays.is_empty(), "pair {pair}: {strays:?}");
    }
}

/// Starts an update that stops just before its rename, sends `signal` to
/// its pid alone once it got there, and waits for it to end.
fn interrupt_update(dir: &Path, run_file: &Path, signal: &str) {
    let marker = dir.join("paused");
    let mut child = update_command(dir, run_file)
        .env("XTASK_TEST_PAUSE_BEFORE_BASELINE_RENAME", &marker)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the update ended ({status}) before reaching the rename");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the update never reached the rename"
        );
        thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(!status.success(), "{signal}: {status}");
    fs::remove_file(&marker).unwrap();
}

#[test]
fn an_interrupted_update_leaves_the_old_baseline_and_the_next_one_cleans_up() {
    for signal in ["-KILL", "-TERM", "-INT"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        run("o").save(&d.join("baseline.json")).unwrap();
        run("a").save(&d.join("a.json")).unwrap();
        run("b").save(&d.join("b.json")).unwrap();

        interrupt_update(d, &d.join("a.json"), signal);
        let (current, history, strays) = kept(d);
        assert_eq!(current, "o", "{signal}: the old baseline is still in place");
        assert_eq!(history, BTreeMap::from([("o".to_string(), 1)]), "{signal}");
        assert_eq!(
            strays.len(),
            1,
            "{signal}: the killed writer's temp file: {strays:?}"
        );

        // The next check removes the dead writer's temp file.
        let o = xtask(&[
            "perf",
            "check",
            "--no-rerun",
            "--baseline",
            d.join("baseline.json").to_str().unwrap(),
            "--run-file",
            d.join("a.json").to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{signal}: {}", stderr(&o));
        let (current, _, strays) = kept(d);
        assert_eq!(current, "o", "{signal}");
        assert!(strays.is_empty(), "{signal}: {strays:?}");

        // The next update completes and keeps the old baseline in history
        // once.
        let o = xtask(&[
            "perf",
            "check",
            "--no-rerun",
            "--update",
            "--baseline",
            d.join("baseline.json").to_str().unwrap(),
            "--run-file",
            d.join("b.json").to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{signal}: {}", stderr(&o));
        let (current, history, strays) = kept(d);
        assert_eq!(current, "b", "{signal}");
        assert_eq!(history, BTreeMap::from([("o".to_string(), 1)]), "{signal}");
        assert!(strays.is_empty(), "{signal}: {strays:?}");
    }
}

#[test]
fn a_missing_baseline_is_reported_with_where_the_previous_one_is() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let history = d.join("history");
    fs::create_dir_all(&history).unwrap();
    let previous = history.join("20261125T120000Z-quick.json");
    run("o").save(&previous).unwrap();
    run("a").save(&d.join("a.json")).unwrap();
    let o = xtask(&[
        "perf",
        "check",
        "--baseline",
        d.join("baseline.json").to_str().unwrap(),
        "--run-file",
        d.join("a.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains(&format!("the previous one is {}", previous.display())),
        "{err}"
    );
}

#[test]
fn two_measuring_runs_at_once_keep_a_run_file_each() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let corpus = support::small_corpus(d);
    let out = d.join("b.json");
    let runs: Vec<Child> = (0..2)
        .map(|_| {
            support::xtask_command()
                .args([
                    "perf",
                    "baseline",
                    "--quick",
                    "--update",
                    "--workload",
                    "vector_query",
                ])
                .args(["--iterations", "1", "--warmup", "0", "--corpus"])
                .arg(&corpus)
                .arg("--output")
                .arg(&out)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut files = Vec::new();
    for r in runs {
        let o = r.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        let file = stdout
            .lines()
            .find_map(|l| l.strip_prefix("this run: "))
            .unwrap_or_else(|| panic!("no run file named: {stdout}"));
        files.push(PathBuf::from(file));
    }
    assert_ne!(files[0], files[1], "one run file each");
    let recorded: Vec<Baseline> = files.iter().map(|f| Baseline::load(f).unwrap()).collect();
    assert_ne!(recorded[0], recorded[1]);
    // Whichever wrote last is the baseline, the other is in history.
    let mut kept = vec![Baseline::load(&out).unwrap()];
    for e in fs::read_dir(d.join("history")).unwrap() {
        kept.push(Baseline::load(&e.unwrap().path()).unwrap());
    }
    for r in &recorded {
        assert!(kept.contains(r), "every measured baseline is in a file");
    }
    for f in files {
        fs::remove_file(f).unwrap();
    }
}
