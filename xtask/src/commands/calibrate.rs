//! `cargo xtask perf calibrate`: what this machine can resolve. Measures
//! one build in several fresh processes (an A/A comparison of the build
//! with itself), keeps each metric's spread between processes in
//! `target/perf-calibration/<profile>.json` (`perf_report::calibration`),
//! and prints what a check of three processes a side resolves and how many
//! processes the threshold needs. `check` and `report` read the file.

use anyhow::{bail, Context, Result};
use perf_contract::{atomic::write_atomic, metric_key::MetricKey, plan::WorkloadName};
use perf_report::{
    calibration::{Calibration, Spread},
    policy::DEFAULT_THRESHOLD_PCT,
};
use xshell::Shell;

use crate::{
    cli::CalibrateArgs,
    measure,
    settings::{self, names, plan_for},
    store::Store,
};

/// Processes when `--processes` is not given: five degrees of freedom.
const DEFAULT_PROCESSES: u32 = 6;

/// Rows the terminal shows: the headline metrics, then the widest spreads.
const SHOWN: usize = 16;

pub fn run(sh: &Shell, store: &Store, args: &CalibrateArgs) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let loaded = settings::load(args.run.config.as_deref(), &store.root().join("perf.toml"))?;
    let mut run_args = args.run.clone();
    run_args
        .settings
        .or_set("processes", i64::from(DEFAULT_PROCESSES));
    // The replicated workloads: the LLM ones run in one process.
    let replicated: Vec<WorkloadName> = WorkloadName::ALL
        .into_iter()
        .filter(|w| w.traits().replicated && w.traits().default)
        .collect();
    run_args.settings.or_set("workload", names(&replicated));
    let plan = plan_for(sh, store.root(), &cwd, &run_args, &loaded)?;
    if plan.harness.processes < 3 {
        bail!(
            "--processes {}: a spread between processes needs at least 3",
            plan.harness.processes
        );
    }
    eprintln!(
        "calibrating: {} in {} fresh processes of one build",
        WorkloadName::list(&plan.workloads),
        plan.harness.processes
    );
    let run = measure::measure(sh, store, &plan)?;
    let saved = store.save_run_as(&run, "-calibration")?;
    let calibration = Calibration::from_run(&run).map_err(anyhow::Error::msg)?;
    let file = store.calibration_file(plan.profile);
    let json = serde_json::to_string_pretty(&calibration).expect("calibration serialises");
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_atomic(&file, json.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))?;
    print_table(&calibration);
    println!("the run: {}", saved.display());
    println!(
        "calibration written: {} (check and report read it on this machine)",
        file.display()
    );
    Ok(())
}

fn print_table(c: &Calibration) {
    let headline = |key: &str| {
        key.split_once('.')
            .is_some_and(|(_, m)| MetricKey::parse(m).kind().is_headline())
    };
    let mut rows: Vec<(&String, &Spread)> = c.metrics.iter().collect();
    rows.sort_by(|a, b| {
        headline(b.0)
            .cmp(&headline(a.0))
            .then(b.1.sd_log.total_cmp(&a.1.sd_log))
    });
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "metric",
        "spread between processes",
        "resolves, 3 vs 3 processes",
        &format!("processes a side for ±{DEFAULT_THRESHOLD_PCT}%"),
        "n",
    ]);
    for (key, s) in rows.iter().take(SHOWN) {
        table.add_row([
            key.to_string(),
            format!("{:.1}%", s.sd_log.exp_m1() * 100.0),
            format!("±{:.1}%", s.resolvable_pct(3, 3)),
            s.processes_for(DEFAULT_THRESHOLD_PCT)
                .map_or_else(|| "over 50".into(), |r| r.to_string()),
            format!("{}×{}", s.processes, s.samples_per_process),
        ]);
    }
    println!("{table}");
    if c.metrics.len() > SHOWN {
        println!(
            "{} more metrics calibrated; the file holds every one",
            c.metrics.len() - SHOWN
        );
    }
}
