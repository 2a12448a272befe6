//! `cargo xtask perf calibrate --builds N`: how far two builds of the
//! same source differ on this machine. Builds HEAD and N layout variants
//! of it (`revision::layout_variant`: an unused function added, the work
//! unchanged), compares each with the next in lockstep as `perf compare`
//! does (variant k−1 against variant k, fresh process pairs per round),
//! and keeps per metric the variance the compares scatter by beyond their
//! own intervals (`perf_report::build_spread`) in
//! `target/perf-calibration/<profile>-builds.json`, joined with the
//! compares of an earlier such calibration of this machine unless
//! `--fresh`. `compare` reads it.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use perf_contract::{atomic::write_atomic, plan::WorkloadName};
use perf_report::{
    build_spread::{BuildCompare, BuildSpread},
    history::record::{Commit, StepRecord},
};
use xshell::Shell;

use crate::{
    cli::CalibrateArgs,
    machine,
    paired_rounds::{self, Budget, Deadline, Sides},
    revision::{self, Source},
    settings::{self, names, plan_for},
    store::Store,
    thresholds,
};

/// Rounds of each compare: a compare's default.
const ROUNDS: u32 = 5;

pub fn run(sh: &Shell, store: &Store, args: &CalibrateArgs, builds: u32) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let root = store.root();
    let loaded = settings::load(args.run.config.as_deref(), &root.join("perf.toml"))?;
    let mut run_args = args.run.clone();
    run_args
        .settings
        .or_set("workload", names(&WorkloadName::compared_by_default()));
    let plan = plan_for(sh, root, &cwd, &run_args, &loaded)?.without_ingest_at_scale();
    let head = revision::resolve(sh, store, Some("HEAD"))?;
    let mut sources: Vec<Source> = vec![head.clone()];
    for k in 1..=builds as usize {
        sources.push(revision::layout_variant(sh, store, &head, k)?);
    }
    let environment = machine::probe(sh, root);
    // What is measured here is left out of the judgement that measures it.
    let mut policy = thresholds::policy(&loaded.check, None);
    let started = Instant::now();
    let mut raw: Vec<BuildCompare> = Vec::new();
    let mut previous = (sources[0].clone(), revision::build(sh, store, &sources[0])?);
    for (k, source) in sources.iter().enumerate().skip(1) {
        eprintln!(
            "build {k} of {builds}: {} ({:.0} s so far)",
            source.label,
            started.elapsed().as_secs_f64()
        );
        let built = revision::build(sh, store, source)?;
        let sides = Sides {
            base: (&previous.1, &previous.0, &plan),
            candidate: (&built, source, &plan),
        };
        let budget = Budget {
            rounds: ROUNDS,
            until_conclusive: false,
            deadline: Deadline::At(Instant::now() + Duration::from_secs(3600)),
            max_time: 3600,
            watch: None,
        };
        let paired = paired_rounds::run(
            store,
            &sides,
            &environment,
            &mut policy,
            &loaded,
            &budget,
            &mut Vec::new(),
        )?;
        let step = StepRecord::of(
            &paired.judgement.comparisons,
            &environment,
            plan.profile,
            placeholder(&previous.0),
            placeholder(source),
            environment.timestamp,
        );
        raw.push(
            step.metrics
                .into_iter()
                .map(|(metric, s)| (metric, (s.log_ratio, s.se)))
                .collect(),
        );
        previous = (source.clone(), built);
    }
    let file = store.build_spread_file(plan.profile);
    let mut builds_measured = builds as usize + 1;
    if !args.fresh {
        if let Some((_, earlier)) = store.build_spread(plan.profile)? {
            if earlier
                .unlike(&environment.fingerprint(), &environment, plan.profile)
                .is_none()
            {
                builds_measured += earlier.builds;
                raw.splice(0..0, earlier.raw);
            }
        }
    }
    let spread = BuildSpread::from_compares(
        raw,
        builds_measured,
        environment.clone(),
        environment.fingerprint(),
        plan.profile,
        environment.timestamp,
    );
    write(&file, &spread)?;
    print_table(&spread);
    println!(
        "spread between builds written: {} ({} compares of {} builds, {:.0} s; compare adds it where its two sides are different builds)",
        file.display(),
        spread.compares,
        spread.builds,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A variant is no commit of the line: the step record needs only names.
fn placeholder(source: &Source) -> Commit {
    Commit {
        id: source.commit.clone(),
        subject: source.label.clone(),
        time: chrono::Utc::now(),
    }
}

fn write(file: &Path, spread: &BuildSpread) -> Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(spread).expect("the spread serialises");
    write_atomic(file, json.as_bytes()).with_context(|| format!("cannot write {}", file.display()))
}

fn print_table(spread: &BuildSpread) {
    let mut rows: Vec<_> = spread.metrics.iter().collect();
    rows.sort_by(|a, b| b.1.var.total_cmp(&a.1.var));
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["metric", "spread between builds (τ)", "compares"]);
    for (metric, v) in rows {
        table.add_row([
            metric.clone(),
            format!("±{:.1}%", v.pct()),
            format!("{}", v.df),
        ]);
    }
    println!("{table}");
}
