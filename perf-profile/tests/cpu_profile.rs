//! A real CPU profile of a deliberately busy function: the samples must name
//! it, the pprof file must decode back to the same sample count (and
//! satisfy `go tool pprof` when Go is installed), and the folded file must
//! read back into a profile diff with the same totals.
//!
//! One test function: pprof-rs allows one session per process, and samples
//! come from every thread, so parallel tests would disturb each other.

use std::{
    io::Read,
    process::Command,
    time::{Duration, Instant},
};

use flate2::read::GzDecoder;
use perf_profile::{diff_folded, CpuProfile, CpuProfiler, ProfileError};
use pprof::protos::{Message, Profile};

/// Keeps one thread busy with integer arithmetic for `busy`.
#[inline(never)]
fn burn_cpu(busy: Duration) -> u64 {
    let start = Instant::now();
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    // The clock is read rarely: its vdso code is on the sampler's blocklist,
    // so samples taken there would be dropped, not attributed.
    while start.elapsed() < busy {
        for i in 0..200_000u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
        }
        x = std::hint::black_box(x);
    }
    x
}

#[test]
fn profile_attributes_samples_and_writes_readable_files() {
    let session = CpuProfiler::start(199).expect("start profiler");
    assert!(matches!(
        CpuProfiler::start(199),
        Err(ProfileError::AlreadyRunning)
    ));
    std::hint::black_box(burn_cpu(Duration::from_millis(400)));
    let profile = session.finish().expect("finish profile");

    attribution(&profile);
    frames_are_the_programs(&profile);
    let dir = tempfile::tempdir().unwrap();
    pprof_file_round_trips(&profile, &dir.path().join("cpu.pb"));
    flamegraph_names_the_hot_function(&profile, &dir.path().join("cpu.svg"));
    folded_file_feeds_the_diff(&profile, &dir.path().join("cpu.folded"));

    // Finished sessions release pprof-rs's global profiler.
    let again = CpuProfiler::start(99).expect("restart after finish");
    drop(again);
}

fn attribution(profile: &CpuProfile) {
    let total = profile.total_samples();
    // 400 ms at 199 Hz is ~80 samples; a loaded machine gives this thread
    // less CPU and so fewer, but never almost none.
    assert!(total >= 10, "only {total} samples");
    let top = profile.top(10);
    eprintln!("{}", top.to_text());
    assert_eq!(top.total_samples, total);
    let burn = top
        .by_cumulative
        .iter()
        .find(|f| f.function.ends_with("burn_cpu"))
        .unwrap_or_else(|| panic!("burn_cpu missing from\n{}", top.to_text()));
    assert!(
        burn.cumulative_percent >= 50.0,
        "burn_cpu has only {:.1}% of samples",
        burn.cumulative_percent
    );
    // Its loop is its own code (or std's range iterator in an unoptimised
    // test build), so self samples land on or just under it.
    let under_burn: u64 = profile
        .samples()
        .iter()
        .filter(|s| s.contains_frame("burn_cpu"))
        .map(|s| s.count)
        .sum();
    assert_eq!(under_burn, burn.cumulative_samples);
}

fn frames_are_the_programs(profile: &CpuProfile) {
    for sample in profile.samples() {
        let leaf = sample.leaf().unwrap_or_default();
        assert!(
            !leaf.starts_with("backtrace::") && !leaf.contains("perf_signal_handler"),
            "sampler frame leads a stack: {:?}",
            sample.frames
        );
        // Rust names arrive demangled and without the `::h<hash>` suffix.
        assert!(
            !sample
                .frames
                .iter()
                .any(|f| f.starts_with("_ZN") || f.starts_with("_R")),
            "mangled frame in {:?}",
            sample.frames
        );
    }
}

fn pprof_file_round_trips(profile: &CpuProfile, path: &std::path::Path) {
    profile.write_pprof(path).unwrap();
    let mut raw = Vec::new();
    GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut raw)
        .expect("pprof file is gzip");
    let decoded = Profile::decode(raw.as_slice()).expect("pprof file is a Profile");
    let counted: i64 = decoded.sample.iter().map(|s| s.value[0]).sum();
    assert_eq!(counted as u64, profile.total_samples());
    assert_eq!(decoded.period, 1_000_000_000 / 199);
    let names = &decoded.string_table;
    assert_eq!(names[decoded.sample_type[0].ty as usize], "samples");
    assert!(names.iter().any(|s| s.ends_with("burn_cpu")));

    match Command::new("go")
        .args(["tool", "pprof", "-top"])
        .arg(path)
        .output()
    {
        Ok(out) => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "go tool pprof failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(stdout.contains("burn_cpu"), "{stdout}");
            eprintln!("{stdout}");
        }
        Err(e) => {
            // CI installs go: there a missing go is a failure, not a skip.
            assert!(
                std::env::var_os("CI").is_none(),
                "go is not runnable ({e}), and CI must run `go tool pprof -top`"
            );
            eprintln!("skipping `go tool pprof -top`: go is not runnable ({e})")
        }
    }
}

fn flamegraph_names_the_hot_function(profile: &CpuProfile, path: &std::path::Path) {
    profile.write_flamegraph(path).unwrap();
    let svg = std::fs::read_to_string(path).unwrap();
    assert!(svg.starts_with("<?xml"));
    assert!(svg.contains("burn_cpu"));
}

fn folded_file_feeds_the_diff(profile: &CpuProfile, path: &std::path::Path) {
    profile.write_folded(path).unwrap();
    let folded = std::fs::read_to_string(path).unwrap();
    // A profile against itself: same totals, nothing changed, and the
    // per-function counts are the top report's.
    let diff = diff_folded(&folded, &folded);
    assert_eq!(diff.base_samples, profile.total_samples());
    assert!(diff.ranked(10).is_empty());
    let burn = diff
        .functions
        .iter()
        .find(|f| f.function.ends_with("burn_cpu"))
        .expect("burn_cpu in the folded file");
    let top = profile.top(usize::MAX);
    let expected = top
        .by_cumulative
        .iter()
        .find(|f| f.function == burn.function)
        .unwrap();
    assert_eq!(burn.base_total, expected.cumulative_samples);
    assert_eq!(burn.base_self, expected.self_samples);
}
