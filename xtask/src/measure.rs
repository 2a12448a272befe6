//! The measuring service every command uses: build the release workloads
//! binary, launch it on a plan (plainly, under a wrapper, or profiling),
//! read its protocol and turn what it reported into a run record.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use perf_contract::{
    environment::Environment,
    plan::{Plan, WorkloadName},
    schema::{Baseline, WorkloadResult, SCHEMA_VERSION},
};
use perf_profile::ProfileSummary;
use xshell::Shell;

use crate::{machine, progress::Progress, runner, store::Store};

/// Builds and runs `plan` in `[harness] processes` processes, returning
/// one run record: the first process measures every workload, each further
/// one the replicated workloads (`WorkloadTraits::replicated`) again, and
/// their samples are kept process by process (`Metric::processes`), the
/// replicate a comparison's interval rests on. A new record: its first
/// process faults the binary in from disk ([`crate::page_cache`]), as every
/// baseline's and calibration session's first process did.
pub fn measure(sh: &Shell, store: &Store, plan: &Plan) -> Result<Baseline> {
    measure_processes(sh, store, plan, true)
}

/// [`measure`] of processes added to a record already begun (a check's
/// second look, its inconclusive rounds): the binary is left in the page
/// cache as the record's earlier processes left it, so every process after
/// a record's first finds it cached alike.
pub fn measure_more(sh: &Shell, store: &Store, plan: &Plan) -> Result<Baseline> {
    measure_processes(sh, store, plan, false)
}

fn measure_processes(sh: &Shell, store: &Store, plan: &Plan, new_record: bool) -> Result<Baseline> {
    let mut progress = Progress::auto();
    // One build for every process: a tree edited meanwhile is not measured.
    let (environment, binary) = prepare(sh, store)?;
    if new_record {
        if let Some(note) = crate::page_cache::refresh(&[&binary]) {
            eprintln!("note: {note}");
        }
    }
    let direct = runner::Launch::Direct;
    let outcome = runner::run_plan(&binary, plan, &store.plan_file(), &direct, &mut progress)?;
    let mut run = record(environment, plan, outcome)?;
    let total = plan.harness.processes.max(1);
    let again = further_processes(plan, &[]);
    if again.workloads.is_empty() {
        return Ok(run);
    }
    for k in 2..=total {
        eprintln!(
            "process {k} of {total}: {} again, in a fresh process",
            WorkloadName::list(&again.workloads)
        );
        let outcome =
            runner::run_plan(&binary, &again, &store.plan_file(), &direct, &mut progress)?;
        let more = record(run.environment.clone(), &again, outcome)?;
        add_samples(&mut run, more)?;
    }
    Ok(run)
}

/// The plan for more processes of a run: what every process of it
/// measured (its replicated workloads), and `asked` among the rest. A
/// workload inherits state from the ones before it in its process (memory
/// the allocator keeps, warm caches: `vector_query`'s peak RSS after the
/// embedding workload's batches), so an added process does the same work
/// as the first ones, not the suspect alone.
pub fn further_processes(plan: &Plan, asked: &[WorkloadName]) -> Plan {
    let mut again = plan.clone();
    again
        .workloads
        .retain(|w| w.traits().replicated || asked.contains(w));
    // The ingest at scale is minutes of one pass: the first process's.
    again.without_ingest_at_scale()
}

/// [`measure`] with the process started as `launch` says.
pub fn measure_with(
    sh: &Shell,
    store: &Store,
    plan: &Plan,
    launch: &runner::Launch<'_>,
    progress: &mut Progress,
) -> Result<Baseline> {
    let (environment, binary) = prepare(sh, store)?;
    let outcome = runner::run_plan(&binary, plan, &store.plan_file(), launch, progress)?;
    record(environment, plan, outcome)
}

/// The machine as it is now and the built workloads binary.
fn prepare(sh: &Shell, store: &Store) -> Result<(Environment, PathBuf)> {
    // A run killed earlier (xtask included) may have left scratch files.
    store.clear_stale();
    let environment = machine::probe(sh, store.root());
    let binary = runner::build_workloads(sh, store.root())?;
    Ok((environment, binary))
}

/// The run record of what a workloads process reported for `plan`.
pub fn record(
    environment: Environment,
    plan: &Plan,
    outcome: runner::RunOutcome,
) -> Result<Baseline> {
    let mut workloads = BTreeMap::new();
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

/// Adds a further measurement of the same plan to `run`, metric by metric
/// (`check --until-conclusive`, `compare`'s rounds), and recomputes the
/// summaries. Metrics `run` does not have are left out.
pub fn add_samples(run: &mut Baseline, more: Baseline) -> Result<()> {
    for (w, result) in more.workloads {
        let Some(into) = run.workloads.get_mut(&w) else {
            continue;
        };
        for (name, m) in result.metrics {
            if let Some(x) = into.metrics.get_mut(&name) {
                // Process by process: a further measurement of several
                // processes (a suspect's) is several replicates, not one.
                for samples in m.by_process() {
                    x.add_process(samples);
                }
                x.summary = perf_contract::summary::Summary::from_samples(&x.samples)
                    .with_context(|| format!("{w}.{name}: a sample is not a number"))?;
            }
        }
    }
    Ok(())
}

/// How a profile run samples.
#[derive(Debug, Clone, Copy)]
pub struct ProfileSettings {
    /// CPU samples per second.
    pub hz: i32,
    /// Also a dhat heap profile (a second build and run).
    pub dhat: bool,
}

/// Runs `plan` in profile mode into `dir` (which must exist) and returns
/// the summary the process wrote there.
pub fn profile(
    sh: &Shell,
    store: &Store,
    plan: &Plan,
    dir: &Path,
    settings: ProfileSettings,
) -> Result<ProfileSummary> {
    let root = store.root();
    let binary = runner::build_workloads(sh, root)?;
    profile_binary(&binary, plan, dir, settings.hz)?;
    if settings.dhat {
        eprintln!(
            "heap profile: building perf-workloads with dhat-heap and running the plan once more"
        );
        let dhat_binary = runner::build_workloads_with(sh, root, &["dhat-heap"])?;
        profile_binary(&dhat_binary, plan, dir, settings.hz)?;
    }
    read_summary(dir)
}

/// Runs `plan` in profile mode in `binary` (built already: `compare
/// --explain` profiles two builds), sampling at `hz`, into `dir`.
pub fn profile_binary(binary: &Path, plan: &Plan, dir: &Path, hz: i32) -> Result<()> {
    let launch = runner::Launch::Profile { dir, hz };
    let plan_file = dir.join("plan.json");
    runner::run_plan(binary, plan, &plan_file, &launch, &mut Progress::auto())?;
    Ok(())
}

/// The `summary.json` a profile run wrote into `dir`.
pub fn read_summary(dir: &Path) -> Result<ProfileSummary> {
    let summary_path = dir.join("summary.json");
    let text = fs::read_to_string(&summary_path)
        .with_context(|| format!("cannot read {}", summary_path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a profile summary", summary_path.display()))
}

/// Creates `dir` and proves it writable, before any build: a profile run
/// that cannot write its files fails in a second, not after minutes.
pub fn prepare_profile_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create profile folder {}", dir.display()))?;
    let probe = dir.join(".write-test");
    fs::write(&probe, b"")
        .with_context(|| format!("profile folder {} is not writable", dir.display()))?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use perf_contract::{
        fixture::baseline,
        schema::{Better, Unit},
    };

    use super::*;

    /// A further measurement of two processes adds two replicates.
    #[test]
    fn added_processes_stay_apart() {
        let run = |samples: Vec<f64>| {
            baseline(&[(
                WorkloadName::RagQuery,
                "latency",
                Unit::Milliseconds,
                Better::Lower,
                samples,
            )])
        };
        let mut first = run(vec![1.0, 2.0]);
        let mut more = run(vec![1.1, 2.1]);
        more.workloads
            .get_mut(&WorkloadName::RagQuery)
            .unwrap()
            .metrics
            .get_mut("latency")
            .unwrap()
            .add_process(&[1.2, 2.2]);
        add_samples(&mut first, more).unwrap();
        let m = &first.workloads[&WorkloadName::RagQuery].metrics["latency"];
        assert_eq!(m.processes, [2, 2, 2]);
        assert_eq!(m.by_process()[2], [1.2, 2.2]);
    }

    /// The first process of a run measures the ingest at scale; a further
    /// one measures its replicated workloads again, without it.
    #[test]
    fn further_processes_leave_out_the_ingest_at_scale() {
        let mut plan = perf_contract::fixture::plan();
        plan.embedding.scale_ingest_chunks = 100_000;
        plan.workloads = vec![WorkloadName::Embedding, WorkloadName::Inference];
        let again = further_processes(&plan, &[]);
        assert_eq!(again.workloads, [WorkloadName::Embedding]);
        assert_eq!(again.embedding.scale_ingest_chunks, 0);
        assert_eq!(
            again.embedding.batch_sizes, plan.embedding.batch_sizes,
            "nothing else changes"
        );
    }
}
