//! `cargo xtask perf history`: reads the records under
//! `baselines/records/`, orders them along the branch's first-parent line
//! (`git_history`), finds the change points of each machine's series
//! (`perf_report::history`), and prints them, exports them (BMF, a
//! pull-request comment, JSON) or writes the dashboard. `--record-run`
//! adds a saved run instead.

use std::{collections::BTreeMap, path::PathBuf};

use anyhow::{bail, Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use perf_contract::{plan::ProfileName, schema::Baseline};
use perf_report::{
    dashboard,
    history::{
        bmf,
        load::History,
        markdown::comment,
        relative::{check_chains, compose, MIN_STEPS_FOR_SPREAD},
        series::{Built, Series},
    },
};
use xshell::Shell;

use crate::{
    cli::{HistoryArgs, HistoryFormat},
    history_record, machine, recorded,
    store::Store,
};

pub fn run(sh: &Shell, store: &Store, args: &HistoryArgs) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    if let Some(run) = &args.record_run {
        let path = cwd.join(run);
        let baseline = Baseline::load(&path)?;
        let file = history_record::record_run(sh, store, &baseline, &path)?;
        println!("recorded in the history: {}", file.display());
        return Ok(());
    }
    let dir = store.records_dir();
    let (recorded, profile) = recorded::load(sh, store, &args.branch, args.profile)?;
    let recorded::Recorded {
        history,
        line,
        built,
    } = recorded;
    let this_machine = || machine::probe(sh, store.root()).machine_id();
    let machine = match (&args.machine, args.format) {
        (Some(m), _) => Some(m.clone()),
        (None, HistoryFormat::Markdown | HistoryFormat::Bmf) => Some(this_machine()),
        (None, _) => None,
    };
    if let Some(m) = &machine {
        if args.machine.is_some() && !built.series.iter().any(|s| &s.machine.id == m) {
            bail!(
                "--machine {m}: no record of that machine under {} (machines: {})",
                dir.display(),
                machines(&built.series)
            );
        }
    }
    let shown: Vec<&Series> = built
        .series
        .iter()
        .filter(|s| machine.as_ref().is_none_or(|m| &s.machine.id == m))
        .filter(|s| selected(s, &args.metrics, &history))
        .collect();
    if let Some(unknown) = args
        .metrics
        .iter()
        .find(|m| !built.series.iter().any(|s| &s.metric == *m))
    {
        bail!("--metric {unknown}: no record has that metric (names are `workload.metric`, as `perf history --format json` lists them)");
    }

    if let Some(out) = &args.dashboard {
        let out = out
            .as_ref()
            .map_or_else(|| store.dashboard_dir(), |d| cwd.join(d));
        let file = write_dashboard(&shown, &out, args.commit_url.as_deref())?;
        println!(
            "dashboard written: {} ({} charts)",
            file.display(),
            charts(&shown).len()
        );
        return Ok(());
    }
    match args.format {
        HistoryFormat::Bmf => {
            let m = machine.expect("bmf names a machine");
            let newest = line.iter().rev().find_map(|c| {
                history
                    .commits
                    .iter()
                    .filter(|r| r.machine.id == m && &r.commit.id == c && r.profile == profile)
                    .max_by_key(|r| r.recorded_at)
            });
            let Some(record) = newest else {
                bail!("no {profile} record of machine {m} on {}: `cargo xtask perf baseline --record` adds one (--machine ID for another machine's)", args.branch);
            };
            println!("{}", serde_json::to_string_pretty(&bmf::of(record))?);
        }
        HistoryFormat::Markdown => print!("{}", comment(&shown)),
        HistoryFormat::Json => {
            let relative: Vec<_> = metric_names(&shown)
                .into_iter()
                .map(|m| compose(&history, &line, profile, &m))
                .collect();
            let value = serde_json::json!({
                "profile": profile,
                "series": shown,
                "relative": relative,
                "chain_checks": check_chains(&history, &line, profile),
                "off_line_records": built.off_line,
                "other_plan_records": built.other_plan,
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        HistoryFormat::Table => {
            print_table(&shown, profile, &dir, &built, &history);
            if args.relative {
                print_relative(&history, &line, profile, &shown);
            }
        }
    }
    Ok(())
}

/// Asked for by name, or a headline figure when no name was given.
fn selected(s: &Series, metrics: &[String], history: &History) -> bool {
    if !metrics.is_empty() {
        return metrics.contains(&s.metric);
    }
    recorded::headline(history, &s.machine.id, &s.metric)
}

fn machines(series: &[Series]) -> String {
    let mut ids: Vec<String> = series
        .iter()
        .map(|s| format!("{} ({})", s.machine.id, s.machine.label))
        .collect();
    ids.dedup();
    if ids.is_empty() {
        "none".into()
    } else {
        ids.join(", ")
    }
}

fn metric_names(series: &[&Series]) -> Vec<String> {
    let mut names: Vec<String> = series.iter().map(|s| s.metric.clone()).collect();
    names.sort();
    names.dedup();
    names
}

fn charts<'a>(series: &[&'a Series]) -> Vec<dashboard::Chart<'a>> {
    metric_names(series)
        .into_iter()
        .map(|m| {
            let of: Vec<&Series> = series.iter().copied().filter(|s| s.metric == m).collect();
            dashboard::Chart {
                metric: &of[0].metric,
                description: "",
                series: of,
            }
        })
        .collect()
}

fn write_dashboard(
    series: &[&Series],
    dir: &std::path::Path,
    url: Option<&str>,
) -> Result<PathBuf> {
    let generated = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let page = dashboard::Page {
        title: "Performance history",
        generated: &generated,
        commit_url: url,
        charts: charts(series),
    };
    let file = dir.join("index.html");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    perf_contract::atomic::write_atomic(&file, dashboard::render(&page).as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))?;
    Ok(file)
}

fn print_table(
    series: &[&Series],
    profile: ProfileName,
    dir: &std::path::Path,
    built: &Built,
    history: &History,
) {
    println!(
        "performance history: {} ({} runs, {} compares), {profile} profile",
        dir.display(),
        history.commits.len(),
        history.steps.len()
    );
    if built.off_line > 0 {
        println!(
            "{} record(s) of commits not on this branch's first-parent line are left out",
            built.off_line
        );
    }
    if built.other_plan > 0 {
        println!(
            "{} record(s) measured with other settings than their machine's newest record are left out",
            built.other_plan
        );
    }
    if series.is_empty() {
        println!("nothing recorded yet: `cargo xtask perf baseline --record` adds this commit");
        return;
    }
    let mut by_machine: BTreeMap<&str, Vec<&Series>> = BTreeMap::new();
    for s in series {
        by_machine.entry(&s.machine.id).or_default().push(s);
    }
    for (id, list) in by_machine {
        println!("\nmachine {id}: {}", list[0].machine.label);
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_header([
            "metric",
            "commits",
            "newest [95% interval]",
            "change points (step [95% interval] at commit, p)",
        ]);
        for s in &list {
            let newest = s.points.last().expect("a series has a point");
            let figure = match newest.interval {
                Some(i) => format!(
                    "{:.4} {} [{:.4}, {:.4}] n={}",
                    newest.median,
                    s.unit.symbol(),
                    i.low,
                    i.high,
                    newest.n
                ),
                None => format!("{:.4} {} n={}", newest.median, s.unit.symbol(), newest.n),
            };
            let steps: Vec<String> = s
                .change_points
                .iter()
                .map(|c| {
                    let at = &s.points[c.index].commit;
                    format!(
                        "{} at {} \"{}\", p={:.3}{}",
                        c.label(),
                        &at.id[..10.min(at.id.len())],
                        at.subject,
                        c.p_value,
                        c.evidence_note()
                    )
                })
                .collect();
            table.add_row([
                s.metric.clone(),
                s.points.len().to_string(),
                figure,
                if steps.is_empty() {
                    "none".into()
                } else {
                    steps.join("\n")
                },
            ]);
        }
        println!("{table}");
        for s in &list {
            for c in &s.set_aside {
                let at = &s.points[c.index].commit;
                println!(
                    "set aside: {} {} at {}{}",
                    s.metric,
                    c.label(),
                    &at.id[..10.min(at.id.len())],
                    c.evidence_note()
                );
            }
        }
    }
}

fn print_relative(history: &History, line: &[String], profile: ProfileName, series: &[&Series]) {
    println!(
        "\nrelative index (recorded parent-versus-commit compares, composed along the branch):"
    );
    let mut shown = false;
    for metric in metric_names(series) {
        let index = compose(history, line, profile, &metric);
        if !index.chains.is_empty() {
            shown = true;
            println!(
                "  {metric}: {}",
                if index.spread_from_steps >= MIN_STEPS_FOR_SPREAD {
                    format!(
                        "each step widened by the spread between builds, ±{:.1}% (from {} recorded steps)",
                        index.between_builds_pct, index.spread_from_steps
                    )
                } else {
                    format!(
                        "spread between builds not estimated ({} recorded steps, {MIN_STEPS_FOR_SPREAD} needed): the intervals below leave it out",
                        index.spread_from_steps
                    )
                }
            );
        }
        for chain in &index.chains {
            let (first, last) = (&chain[0], chain.last().expect("a chain has a point"));
            println!(
                "  {metric}: {:+.1}% [{:+.1}, {:+.1}] from {} to {} over {} compares",
                last.change_pct,
                last.low_pct,
                last.high_pct,
                &first.commit.id[..10.min(first.commit.id.len())],
                &last.commit.id[..10.min(last.commit.id.len())],
                last.steps
            );
        }
    }
    if !shown {
        println!("  no two neighbouring commits compared yet: `cargo xtask perf compare HEAD~1 HEAD --record` (as CI runs it) adds a step");
    }
    for c in check_chains(history, line, profile) {
        println!(
            "  check {}: direct compare {}..{} {:+.1}% [{:+.1}, {:+.1}], chain {:+.1}% [{:+.1}, {:+.1}]: {}",
            c.metric,
            &c.base.id[..10.min(c.base.id.len())],
            &c.head.id[..10.min(c.head.id.len())],
            c.direct.0,
            c.direct.1,
            c.direct.2,
            c.chain.0,
            c.chain.1,
            c.chain.2,
            if c.agree { "agree" } else { "DISAGREE" }
        );
    }
}
