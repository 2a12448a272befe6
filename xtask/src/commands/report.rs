//! `cargo xtask perf report`: the performance-analysis report. Loads the
//! baseline, its history and the latest profile run (`perf_report::report`
//! does the loading and the rendering), writes the markdown and its SVG
//! charts atomically, and prints the same figures as tables. With `--run`
//! it first refreshes the inputs through the measuring service.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::Utc;
use clap::{Args, FromArgMatches};
use perf_contract::atomic::write_atomic;
use perf_report::report::{
    inputs::{self, InputPaths},
    optimisations, profile_digest, render,
    sections::missing,
    terminal, Recorded,
};
use xshell::Shell;

use crate::{
    baseline_update::{missing_baseline, replace_baseline},
    cli::{ProfileArgs, ReportArgs},
    measure::{self, ProfileSettings},
    recorded,
    settings::{self, plan_for},
    store::Store,
    thresholds,
};

pub fn run(sh: &Shell, store: &Store, args: &ReportArgs) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let given = |p: &Option<PathBuf>| p.as_ref().map(|p| cwd.join(p));
    let baseline = given(&args.baseline).unwrap_or_else(|| store.baseline_file());
    let paths = InputPaths {
        history: given(&args.history).unwrap_or_else(|| Store::history_of(&baseline)),
        // Beside the baseline: committed with it, and a baseline elsewhere
        // (a test's copy) brings its own.
        optimisations: baseline.with_file_name(optimisations::FILE_NAME),
        profile_digest: baseline.with_file_name(profile_digest::FILE_NAME),
        profiles: given(&args.profiles).unwrap_or_else(|| store.latest_profile()),
        output: given(&args.output).unwrap_or_else(|| store.report_file()),
        baseline,
        scale_points: args.scale_points.iter().map(|p| cwd.join(p)).collect(),
        root: store.root().to_path_buf(),
    };
    let loaded = settings::load(
        args.run_args.config.as_deref(),
        &store.root().join("perf.toml"),
    )?;
    if args.run {
        refresh(sh, store, args, &cwd, &loaded, &paths)?;
    }
    if !paths.baseline.exists() {
        // Checked here, not by the loader, so the error names the previous
        // baseline kept in history.
        anyhow::bail!("{}", missing_baseline(&paths.baseline));
    }
    let config_name = loaded.name();
    thresholds::validate(&loaded.check, &config_name, None)?;
    let policy = thresholds::policy(&loaded.check, None);
    let mut inputs = inputs::load(&paths, policy)?;
    // This machine's calibration, when the baseline was recorded here with
    // its profile: the comparison with the previous baseline pools it.
    if let Some((_, c)) = store.calibration(inputs.baseline.plan.profile)? {
        if c.unlike(&inputs.baseline).is_none() {
            inputs.comparison.calibration = Some(c);
        }
    }
    // The baseline machine's recorded history; a checkout without git
    // history (a source archive) has none to show, which is no error.
    let machine = inputs.baseline.environment.machine_id();
    if let Ok((r, _)) = recorded::load(sh, store, "HEAD", Some(inputs.baseline.plan.profile)) {
        inputs.recorded = Some(Recorded {
            source: inputs.shown_path(&store.records_dir()),
            machine: format!(
                "{} (`{machine}`)",
                inputs.baseline.environment.machine_label()
            ),
            series: r
                .built
                .series
                .into_iter()
                .filter(|s| s.machine.id == machine)
                .filter(|s| recorded::headline(&r.history, &machine, &s.metric))
                .collect(),
            off_line: r.built.off_line,
            other_plan: r.built.other_plan,
        });
    }
    // A misspelt key would silently leave its metric at the default.
    thresholds::check_keys(
        &loaded.check,
        &config_name,
        &inputs.baseline,
        &paths.baseline,
    )?;

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

/// `--run`: a new baseline (the old one moves to history) and a profile
/// run of the same plan, through the measuring service, with the profile
/// command's defaults.
fn refresh(
    sh: &Shell,
    store: &Store,
    args: &ReportArgs,
    cwd: &Path,
    loaded: &settings::LoadedConfig,
    paths: &InputPaths,
) -> Result<()> {
    eprintln!("--run: recording a new baseline, then a profile run");
    let plan = plan_for(sh, store.root(), cwd, &args.run_args, loaded)?;
    let baseline = measure::measure(sh, store, &plan)?;
    store.save_run(&baseline)?;
    if let Some(moved) = replace_baseline(&paths.baseline, &baseline)? {
        eprintln!("previous baseline kept as {}", moved.display());
    }
    let defaults = profile_defaults()?;
    // A custom --profiles folder receives the run; the default is a new
    // profiles/<time>/ that profiles/latest then points at.
    let dir = match &args.profiles {
        Some(_) => paths.profiles.clone(),
        None => store.new_profile_dir(Utc::now()),
    };
    measure::prepare_profile_dir(&dir)?;
    let settings = ProfileSettings {
        hz: defaults.frequency,
        dhat: defaults.dhat,
    };
    let plan = plan.without_ingest_at_scale();
    measure::profile(sh, store, &plan, &dir, settings)?;
    if args.profiles.is_none() {
        store.point_latest_profile(&dir);
    }
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
    use perf_contract::plan::WorkloadName;

    #[test]
    fn run_profiles_with_the_profile_commands_defaults() {
        let p = profile_defaults().unwrap();
        assert_eq!((p.frequency, p.dhat), (997, false));
        assert!(p.workload_names.is_empty() && p.output_dir.is_none());
    }

    #[test]
    fn report_thresholds_follow_the_check() {
        let config = crate::thresholds::CheckConfig {
            threshold_pct: Some(15.0),
            thresholds: [("rag_query.latency".to_string(), 8.0)].into(),
            ..Default::default()
        };
        let t = thresholds::policy(&config, None);
        assert_eq!(t.pct_for(WorkloadName::RagQuery, "latency", None), 8.0);
        assert_eq!(t.pct_for(WorkloadName::Embedding, "x", None), 15.0);
    }
}
