//! `perf bisect`'s refusals, each one line and exit 2 before anything is
//! built: a metric not named `workload.metric`, an unknown workload, a
//! threshold that is no percentage, an unknown revision, and two ends with
//! nothing between them. (Finding a commit is measured, not unit-tested:
//! README's bisect section and `scripts/bisect-branch.sh`.)

mod support;

use support::xtask;

fn refused(args: &[&str], says: &str) {
    let mut all = vec!["perf", "bisect"];
    all.extend_from_slice(args);
    let o = xtask(&all);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(says), "{err}");
}

#[test]
fn bad_bisect_input_is_refused_before_any_build() {
    refused(
        &["HEAD~1", "HEAD", "--metric", "latency"],
        "--metric latency",
    );
    refused(
        &["HEAD~1", "HEAD", "--metric", "rag.latency"],
        "unknown workload",
    );
    refused(&["HEAD~1", "HEAD", "--threshold", "0"], "--threshold 0");
    refused(&["no-such-rev", "HEAD"], "no-such-rev");
    refused(&["HEAD", "HEAD"], "nothing to search");
    refused(&["HEAD", "HEAD~1"], "nothing to search");
}
