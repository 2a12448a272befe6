//! `cargo xtask perf report`: the performance-analysis report. Loads the
//! baseline, its history and the latest profile run (`perf_report::report`
//! does the loading and the rendering), writes the markdown and its SVG
//! charts atomically, and prints the same figures as tables. With `--run`
//! it first refreshes the inputs through the `baseline` and `profile`
//! commands, nothing more.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, FromArgMatches};
use perf_report::{
    atomic::write_atomic,
    report::{
        inputs::{self, InputPaths},
        previous::same_profile_history,
        render,
        sections::missing,
        terminal, CompareSettings, ReportInputs,
    },
};
use xshell::Shell;

use crate::{
    baseline::{self, BASELINE_FILE},
    check::BOOTSTRAP_SEED,
    cli::{BaselineArgs, ProfileArgs, ReportArgs},
    config, profile,
    thresholds::Thresholds,
};

pub const REPORT_FILE: &str = "reports/performance_analysis.md";
pub const PROFILES_DIR: &str = "profiles/latest";
pub const HISTORY_DIR: &str = "baselines/history";

pub fn run(sh: &Shell, root: &Path, args: &ReportArgs) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let path = |given: &Option<PathBuf>, default: &str| {
        given
            .as_ref()
            .map_or_else(|| root.join(default), |p| cwd.join(p))
    };
    let paths = InputPaths {
        baseline: path(&args.baseline, BASELINE_FILE),
        profiles: path(&args.profiles, PROFILES_DIR),
        history: path(&args.history, HISTORY_DIR),
        output: path(&args.output, REPORT_FILE),
        root: root.to_path_buf(),
    };
    if args.run {
        refresh(sh, root, args)?;
    }
    let loaded = config::load(args.run_args.config.as_deref(), &root.join("perf.toml"))?;
    let mut inputs = inputs::load(&paths, CompareSettings::default())?;
    inputs.comparison = check_settings(&inputs, &Thresholds::new(&loaded.config.check, None));

    let report = render(&inputs)?;
    let dir = paths.output.parent().unwrap_or(Path::new("."));
    // Charts first and the markdown last: a failure part-way leaves the
    // previous markdown, which links only charts it was written with.
    for chart in &report.charts {
        let file = dir.join(&chart.path);
        write_atomic(&file, chart.svg.as_bytes())
            .with_context(|| format!("cannot write chart {}", file.display()))?;
    }
    write_atomic(&paths.output, report.markdown.as_bytes())
        .with_context(|| format!("cannot write report {}", paths.output.display()))?;

    for (title, table) in terminal::tables(&inputs) {
        println!("{title}:\n{table}");
    }
    for note in missing(&inputs) {
        println!("missing: {note}");
    }
    println!("report written: {}", paths.output.display());
    for chart in &report.charts {
        println!("  chart: {}", dir.join(&chart.path).display());
    }
    Ok(())
}

/// The thresholds and seed `check` would apply to each metric, with the
/// previous baseline (the one the report compares against) as its baseline.
fn check_settings(inputs: &ReportInputs, t: &Thresholds) -> CompareSettings {
    let previous = same_profile_history(inputs).last().map(|h| &h.baseline);
    let mut out = CompareSettings {
        default_pct: t.default_pct,
        per_metric: Default::default(),
        seed: BOOTSTRAP_SEED,
    };
    for (w, result) in &inputs.baseline.workloads {
        for name in result.metrics.keys() {
            let base = previous
                .and_then(|p| p.workloads.get(w))
                .and_then(|r| r.metrics.get(name));
            let pct = t.pct_for(*w, name, base);
            out.per_metric.insert(format!("{w}.{name}"), pct);
        }
    }
    out
}

/// `--run`: a new baseline (the old one moves to history) and a profile
/// run, through the existing commands and their defaults.
fn refresh(sh: &Shell, root: &Path, args: &ReportArgs) -> Result<()> {
    eprintln!("--run: recording a new baseline, then a profile run");
    let baseline_args = BaselineArgs {
        run: args.run_args.clone(),
        output: args.baseline.clone(),
        update: true,
        dry_run: false,
        instructions: false,
    };
    baseline::run(sh, root, &baseline_args)?;
    let mut profile_args = profile_defaults()?;
    profile_args.run = args.run_args.clone();
    // A custom --profiles folder receives the run; the default lets
    // `profile` create profiles/<time>/ and point profiles/latest at it.
    profile_args.output_dir = args.profiles.clone();
    profile::run(sh, root, &profile_args)?;
    Ok(())
}

/// `perf profile`'s arguments parsed from nothing, so every flag keeps the
/// default its own definition gives it.
fn profile_defaults() -> Result<ProfileArgs> {
    let matches = ProfileArgs::augment_args(clap::Command::new("profile"))
        .try_get_matches_from(["profile"])
        .context("profile defaults")?;
    ProfileArgs::from_arg_matches(&matches).context("profile defaults")
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_report::plan::WorkloadName;

    #[test]
    fn run_profiles_with_the_profile_commands_defaults() {
        let p = profile_defaults().unwrap();
        assert_eq!((p.frequency, p.dhat), (997, false));
        assert!(p.workload_names.is_empty() && p.output_dir.is_none());
    }

    #[test]
    fn library_default_seed_is_the_checks() {
        assert_eq!(perf_report::report::DEFAULT_SEED, BOOTSTRAP_SEED);
    }

    #[test]
    fn report_thresholds_follow_the_check() {
        let config = crate::config::CheckConfig {
            threshold_pct: Some(15.0),
            thresholds: [("rag_query.latency".to_string(), 8.0)].into(),
            ..Default::default()
        };
        let t = Thresholds::new(&config, None);
        assert_eq!(t.pct_for(WorkloadName::RagQuery, "latency", None), 8.0);
        assert_eq!(t.pct_for(WorkloadName::Embedding, "x", None), 15.0);
    }
}
