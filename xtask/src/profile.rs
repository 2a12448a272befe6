//! `cargo xtask perf profile`: runs the workloads binary in profile mode and
//! presents what it wrote (per-workload CPU and memory figures, per-stage
//! evidence, ranked bottlenecks) with the paths of the files and how to
//! view them.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use chrono::Utc;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use perf_profile::{bottleneck_table, ProfileSummary};
use perf_report::{schema::Unit, table::format_value};
use xshell::Shell;

use crate::{baseline::plan_for, cli::ProfileArgs, progress::Progress, runner};

pub fn run(sh: &Shell, root: &Path, args: &ProfileArgs) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let mut run_args = args.run.clone();
    run_args
        .workloads
        .extend(args.workload_names.iter().copied());
    let plan = plan_for(sh, root, &cwd, &run_args)?;
    let profiles = root.join("profiles");
    let dir = match &args.output_dir {
        Some(d) => cwd.join(d),
        None => profiles.join(Utc::now().format("%Y%m%dT%H%M%SZ").to_string()),
    };
    // Fail before the build when the folder cannot be written.
    fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create profile folder {}", dir.display()))?;
    let probe = dir.join(".write-test");
    fs::write(&probe, b"")
        .with_context(|| format!("profile folder {} is not writable", dir.display()))?;
    let _ = fs::remove_file(&probe);

    let binary = runner::build_workloads(sh, root)?;
    let mut progress = Progress::auto();
    runner::run_plan(
        &binary,
        &plan,
        &dir.join("plan.json"),
        &runner::Launch::Profile {
            dir: &dir,
            hz: args.frequency,
        },
        &mut progress,
    )?;
    if args.dhat {
        eprintln!(
            "heap profile: building perf-workloads with dhat-heap and running the plan once more"
        );
        let dhat_binary = runner::build_workloads_with(sh, root, &["dhat-heap"])?;
        runner::run_plan(
            &dhat_binary,
            &plan,
            &dir.join("plan.json"),
            &runner::Launch::Profile {
                dir: &dir,
                hz: args.frequency,
            },
            &mut progress,
        )?;
    }
    let summary_path = dir.join("summary.json");
    let text = fs::read_to_string(&summary_path)
        .with_context(|| format!("cannot read {}", summary_path.display()))?;
    let summary: ProfileSummary = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a profile summary", summary_path.display()))?;

    if args.output_dir.is_none() {
        point_latest(&profiles, &dir);
    }
    print_summary(&summary, &dir);
    Ok(())
}

/// `profiles/latest` → the newest run, replaced atomically (a new link
/// renamed over the old one) so readers never see it missing.
fn point_latest(profiles: &Path, dir: &Path) {
    #[cfg(unix)]
    {
        let tmp = profiles.join(".latest.tmp");
        let _ = fs::remove_file(&tmp);
        let target = dir
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.to_path_buf());
        if std::os::unix::fs::symlink(&target, &tmp).is_ok() {
            let _ = fs::rename(&tmp, profiles.join("latest"));
        }
    }
}

fn print_summary(s: &ProfileSummary, dir: &Path) {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "workload",
        "wall (plain)",
        "wall (profiled)",
        "profiler overhead",
        "CPU samples",
        "allocations",
        "bytes allocated",
        "peak heap",
        "peak RSS",
    ]);
    for w in &s.workloads {
        t.add_row(vec![
            w.workload.clone(),
            format_value(w.wall_s_plain, Unit::Seconds),
            format_value(w.wall_s_profiled, Unit::Seconds),
            format!("{:+.1}%", w.overhead_pct),
            // setitimer's granularity can cap the real rate below the
            // requested one (kernel tick); show what was achieved.
            format!(
                "{} (≈{:.0}/s)",
                w.cpu_samples,
                w.cpu_samples as f64 / w.wall_s_profiled.max(1e-9)
            ),
            w.alloc.allocations.to_string(),
            format_value(w.alloc.bytes_allocated as f64, Unit::Bytes),
            format_value(w.alloc.peak_bytes as f64, Unit::Bytes),
            w.peak_rss_bytes
                .map_or("–".into(), |b| format_value(b as f64, Unit::Bytes)),
        ]);
    }
    println!("{t}");

    let mut st = Table::new();
    st.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "workload",
        "stage",
        "ops × passes",
        "median / op",
        "CPU samples",
        "allocations",
        "bytes allocated",
        "peak heap",
        "top function (self samples)",
    ]);
    for w in &s.workloads {
        for stage in &w.stages {
            st.add_row(vec![
                w.workload.clone(),
                stage.stage.clone(),
                format!("{} × {}", stage.ops, stage.passes),
                format_value(stage.wall_ms_median, Unit::Milliseconds),
                stage.cpu_samples.to_string(),
                stage.alloc.allocations.to_string(),
                format_value(stage.alloc.bytes_allocated as f64, Unit::Bytes),
                format_value(stage.alloc.peak_bytes as f64, Unit::Bytes),
                stage.top_functions.first().map_or("–".into(), |(f, n)| {
                    format!("{} ({n})", perf_profile::brief_function_name(f))
                }),
            ]);
        }
    }
    println!("{st}");
    println!("top {} bottlenecks:", s.bottlenecks.len());
    println!("{}", bottleneck_table(&s.bottlenecks));

    println!("files in {}:", dir.display());
    for w in &s.workloads {
        for f in &w.files {
            println!("  {}", f.display());
        }
    }
    println!("  {}", dir.join("summary.json").display());
    println!("  {}", dir.join("bottlenecks.json").display());
    let dhat = dir.join("dhat-heap.json");
    if dhat.exists() {
        println!(
            "  {} (load it in https://nnethercote.github.io/dh_view/dh_view.html)",
            dhat.display()
        );
    }
    println!("view: open a flamegraph.svg in a browser; `go tool pprof -top <profile.pb>` or `go tool pprof -http=: <profile.pb>`; top.txt is the text view");
}
