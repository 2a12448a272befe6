//! `cargo xtask perf baseline`: resolve the plan, run it in the release
//! binary, and record the result without ever losing an earlier baseline.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use perf_report::{
    plan::Plan,
    schema::{Baseline, WorkloadResult, SCHEMA_VERSION},
    table::summary_table,
};
use xshell::{cmd, Shell};

use crate::{
    callgrind,
    cli::{BaselineArgs, RunArgs},
    config, machine,
    progress::Progress,
    resolve::{resolve, Defaults},
    runner,
};

/// Default baseline location, relative to the project root.
pub const BASELINE_FILE: &str = "baselines/performance_baselines.json";

pub fn run(sh: &Shell, root: &Path, args: &BaselineArgs) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let plan = plan_for(sh, root, &cwd, &args.run)?;
    if args.dry_run {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan).expect("plan serialises")
        );
        return Ok(());
    }
    let output = match &args.output {
        Some(p) => cwd.join(p),
        None => root.join(BASELINE_FILE),
    };
    if args.instructions {
        // Before the long timing run: a missing valgrind fails fast.
        callgrind::valgrind_version(sh)?;
    }
    let mut baseline = measure(sh, root, &plan)?;
    if args.instructions {
        eprintln!("counting instructions: a reduced plan under callgrind (one question takes seconds under valgrind; minutes in all)");
        let counted = callgrind::measure_instructions(sh, root, &plan)?;
        merge_counts(&mut baseline, &counted);
    }
    let run_file = save_run(root, &baseline)?;

    println!("{}", summary_table(&baseline));
    println!("this run: {}", run_file.display());
    if output.exists() && !args.update {
        println!(
            "kept the existing baseline {} (pass --update to replace it; the old one then moves to {}/history/)",
            output.display(),
            output.parent().unwrap_or(Path::new(".")).display()
        );
        return Ok(());
    }
    if let Some(moved) = retire(&output)? {
        println!("previous baseline kept as {}", moved.display());
    }
    baseline
        .save(&output)
        .with_context(|| format!("cannot write baseline {}", output.display()))?;
    println!("baseline written: {}", output.display());
    Ok(())
}

/// Config file + flags → validated plan, with the inputs checked to exist so
/// a typo fails before a seven-minute build.
pub fn plan_for(sh: &Shell, root: &Path, cwd: &Path, args: &RunArgs) -> Result<Plan> {
    let loaded = config::load(args.config.as_deref(), &root.join("perf.toml"))?;
    let defaults = Defaults {
        root: root.to_path_buf(),
        rust_book: cmd!(sh, "rustc --print sysroot")
            .quiet()
            .read()
            .ok()
            .map(|s| PathBuf::from(s).join("share/doc/rust/html/book")),
    };
    let plan = resolve(args, &loaded, &defaults, cwd)?;
    preflight(&plan, args, &defaults)?;
    Ok(plan)
}

fn preflight(plan: &Plan, args: &RunArgs, defaults: &Defaults) -> Result<()> {
    let dir = &plan.corpus.dir;
    if !dir.is_dir() {
        if Some(dir) == defaults.rust_book.as_ref() {
            bail!(
                "default corpus {} not found: install it with `rustup component add rust-docs`, or pass --corpus DIR",
                dir.display()
            );
        }
        let from = if args.corpus.is_some() {
            "--corpus"
        } else {
            "[corpus] dir"
        };
        bail!(
            "corpus folder {} ({from}) does not exist or is not a folder",
            dir.display()
        );
    }
    if !plan.queries.is_file() {
        bail!(
            "query file {} does not exist (--queries FILE)",
            plan.queries.display()
        );
    }
    if let Some(model) = &plan.embedding_model.path {
        if !model.is_dir() {
            bail!(
                "model folder {} (--model-dir) does not exist",
                model.display()
            );
        }
    }
    if plan.workloads.iter().any(|w| w.uses_llm()) {
        if let Some(gguf) = &plan.llm.model {
            if !gguf.is_file() {
                let from = if args.llm_model.is_some() {
                    "--llm-model"
                } else {
                    "[llm] model"
                };
                bail!("GGUF model {} ({from}) does not exist", gguf.display());
            }
        }
    }
    Ok(())
}

/// Builds and runs `plan`, returning a complete baseline record.
pub fn measure(sh: &Shell, root: &Path, plan: &Plan) -> Result<Baseline> {
    measure_with(
        sh,
        root,
        plan,
        &runner::Launch::Direct,
        &mut Progress::auto(),
    )
}

/// [`measure`] with the process started as `launch` says.
pub fn measure_with(
    sh: &Shell,
    root: &Path,
    plan: &Plan,
    launch: &runner::Launch<'_>,
    progress: &mut Progress,
) -> Result<Baseline> {
    let environment = machine::probe(sh, root);
    let binary = runner::build_workloads(sh, root)?;
    let plan_file = root.join("target/perf-runs/plan.json");
    let outcome = runner::run_plan(&binary, plan, &plan_file, launch, progress)?;
    let mut workloads = std::collections::BTreeMap::new();
    for raw in outcome.results {
        let name = raw.workload;
        workloads.insert(name, WorkloadResult::from_samples(raw)?);
    }
    Ok(Baseline {
        schema_version: SCHEMA_VERSION,
        created_at: environment.timestamp,
        machine_fingerprint: environment.fingerprint(),
        environment,
        plan: plan.clone(),
        context: outcome.context,
        workloads,
    })
}

/// Adds the callgrind counts of `counted` to the timing run `baseline`.
fn merge_counts(baseline: &mut Baseline, counted: &Baseline) {
    for (w, result) in &counted.workloads {
        let Some(target) = baseline.workloads.get_mut(w) else {
            continue;
        };
        for (name, metric) in &result.metrics {
            if name.ends_with(callgrind::SUFFIX) {
                target.metrics.insert(name.clone(), metric.clone());
            }
        }
    }
    baseline.context.counting = format!(
        "{}; {}",
        baseline.context.counting, counted.context.counting
    );
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Every run is kept under target/perf-runs/, whatever happens to the
/// baseline, so a measurement is never thrown away.
pub fn save_run(root: &Path, baseline: &Baseline) -> Result<PathBuf> {
    let path = save_run_as(root, baseline, "")?;
    let dir = root.join("target/perf-runs");
    baseline
        .save(&dir.join("latest.json"))
        .with_context(|| format!("cannot write {}", dir.join("latest.json").display()))?;
    Ok(path)
}

/// A run saved as `target/perf-runs/<time>-<profile><suffix>.json`, without
/// becoming `latest.json` (instruction-only runs have no times to reuse).
pub fn save_run_as(root: &Path, baseline: &Baseline, suffix: &str) -> Result<PathBuf> {
    let name = format!(
        "{}-{}{suffix}.json",
        stamp(baseline.created_at),
        baseline.plan.profile.as_str()
    );
    let path = root.join("target/perf-runs").join(name);
    baseline
        .save(&path)
        .with_context(|| format!("cannot write run file {}", path.display()))?;
    Ok(path)
}

/// Moves an existing baseline into `history/` beside it, named by the time it
/// was recorded. A file that no longer parses is kept too, named by now.
pub fn retire(output: &Path) -> Result<Option<PathBuf>> {
    if !output.exists() {
        return Ok(None);
    }
    let history = output.parent().unwrap_or(Path::new(".")).join("history");
    fs::create_dir_all(&history).with_context(|| format!("cannot create {}", history.display()))?;
    let name = match Baseline::load(output) {
        Ok(old) => format!(
            "{}-{}.json",
            stamp(old.created_at),
            old.plan.profile.as_str()
        ),
        Err(_) => format!("unreadable-{}.json", stamp(Utc::now())),
    };
    let target = history.join(name);
    fs::rename(output, &target)
        .with_context(|| format!("cannot move {} to {}", output.display(), target.display()))?;
    Ok(Some(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retire_moves_unreadable_files_too() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.json");
        assert_eq!(retire(&out).unwrap(), None);
        fs::write(&out, "not json").unwrap();
        let moved = retire(&out).unwrap().unwrap();
        assert!(!out.exists());
        assert_eq!(fs::read_to_string(&moved).unwrap(), "not json");
        assert!(moved.starts_with(dir.path().join("history")));
    }
}
