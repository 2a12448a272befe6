//! `cargo xtask perf profile`: runs the workloads binary in profile mode and
//! presents what it wrote (per-workload CPU and memory figures, per-stage
//! evidence, ranked bottlenecks) with the paths of the files and how to
//! view them.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::Utc;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use perf_contract::schema::Unit;
use perf_contract::{atomic::write_atomic, plan::ProfileName};
use perf_profile::ProfileSummary;
use perf_report::{
    bottleneck_table::bottleneck_table,
    report::{
        inputs::load_profile,
        profile_digest::{self, ProfileDigest},
    },
    table::format_value,
};
use xshell::Shell;

use crate::{
    cli::ProfileArgs,
    measure::{self, ProfileSettings},
    settings::{self, names, plan_for},
    store::Store,
};

pub fn run(sh: &Shell, store: &Store, args: &ProfileArgs) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let mut run_args = args.run.clone();
    run_args
        .settings
        .extend("workload", names(&args.workload_names));
    let loaded = settings::load(run_args.config.as_deref(), &store.root().join("perf.toml"))?;
    let plan = plan_for(sh, store.root(), &cwd, &run_args, &loaded)?.without_ingest_at_scale();
    let dir = match &args.output_dir {
        Some(d) => cwd.join(d),
        None => store.new_profile_dir(Utc::now()),
    };
    measure::prepare_profile_dir(&dir)?;
    let settings = ProfileSettings {
        hz: args.frequency,
        dhat: args.dhat,
    };
    let summary = measure::profile(sh, store, &plan, &dir, settings)?;
    if args.output_dir.is_none() {
        store.point_latest_profile(&dir);
    }
    print_summary(&summary, &dir);
    write_digest(sh, store, &dir, plan.profile, args)
}

/// The run's digest into its folder, and beside the baseline for a run
/// into the default folder when there is none there yet or `--update`
/// asks: the committed report keeps its bottlenecks on machines that never
/// profiled.
fn write_digest(
    sh: &Shell,
    store: &Store,
    dir: &Path,
    plan_profile: ProfileName,
    args: &ProfileArgs,
) -> Result<()> {
    let inputs = load_profile(dir, dir).map_err(anyhow::Error::msg)?;
    let here = crate::machine::probe(sh, store.root());
    let Some(digest) = inputs
        .as_ref()
        .and_then(|p| ProfileDigest::of(p, &here.fingerprint(), &here, (plan_profile, Utc::now())))
    else {
        return Ok(());
    };
    let json = serde_json::to_string_pretty(&digest).expect("a digest serialises");
    let in_run = dir.join(profile_digest::FILE_NAME);
    write_atomic(&in_run, json.as_bytes())
        .with_context(|| format!("cannot write {}", in_run.display()))?;
    println!("  {}", in_run.display());
    if args.output_dir.is_some() {
        return Ok(());
    }
    let committed = store
        .baseline_file()
        .with_file_name(profile_digest::FILE_NAME);
    if committed.exists() && !args.update {
        println!(
            "kept the committed digest {} (pass --update to replace it with this run's)",
            committed.display()
        );
        return Ok(());
    }
    write_atomic(&committed, json.as_bytes())
        .with_context(|| format!("cannot write {}", committed.display()))?;
    println!(
        "digest for the committed report: {} (perf report reads it where no profile folder exists)",
        committed.display()
    );
    Ok(())
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
    // The dhat build writes one heap profile per workload.
    for w in &s.workloads {
        let dhat = dir.join(&w.workload).join("dhat-heap.json");
        if dhat.exists() {
            println!(
                "  {} (load it in https://nnethercote.github.io/dh_view/dh_view.html)",
                dhat.display()
            );
        }
    }
    println!("view: open a flamegraph.svg in a browser; `go tool pprof -top <profile.pb>` or `go tool pprof -http=: <profile.pb>`; top.txt is the text view");
}
