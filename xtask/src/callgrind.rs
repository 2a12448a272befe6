//! Deterministic mode without a hardware counter: the workloads binary runs
//! under `valgrind --tool=callgrind`, each measured operation dumps its own
//! profile (see `perf_workloads::callgrind`), and the dumps' totals become
//! `<stem>.callgrind_instructions` metrics.
//!
//! Under valgrind one question took 8-10 s on the (loaded) development VM,
//! against a native median of about 13 ms; it executes ~85 million
//! instructions. So the callgrind plan is a reduced copy of the
//! timing plan: the first 8 questions, one measured pass and no warm-up,
//! one index build, one batch of one document per input kind. The counts
//! need no repetitions to be stable, only the same inputs, which the
//! reduction keeps fixed; a first call's one-time set-up is counted the
//! same way in every run.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};
use perf_contract::{
    metric_key::{CountedOp, MetricKind},
    plan::{Kernel, Plan, WorkloadName},
    schema::{Baseline, Metric},
};
use xshell::{cmd, Shell};

use crate::{measure::measure_with, progress::Progress, runner, store::Store};

/// Questions a callgrind run measures.
pub const QUESTIONS: usize = 8;

/// The timing plan reduced to what callgrind can run in minutes.
pub fn callgrind_plan(plan: &Plan) -> Plan {
    let mut p = plan.clone();
    // A generation is billions of instructions: minutes per token under
    // valgrind. The LLM workloads are judged by time (their engines'
    // kernels are not ours to count), the retrieval stack by count.
    p.workloads.retain(|w| w.countable());
    p.callgrind = true;
    p.threads = 1;
    p.max_queries = Some(plan.max_queries.unwrap_or(QUESTIONS).min(QUESTIONS));
    p.harness.warmup_passes = 0;
    p.harness.passes = 1;
    p.harness.index_builds = 1;
    // A server's searches are another process's instructions.
    p.vector.engines.retain(|e| e.in_process());
    p.embedding.batch_sizes = vec![1];
    p.embedding.docs_per_batch_size = 1;
    p.embedding.min_batches = 1;
    p.embedding.warmup_batches = 0;
    // The stack's engine only: the reference engine's kernels are not the
    // stack's code.
    p.embedding.engines.truncate(1);
    // Valgrind executes no AVX-512, so the native encoder would fall back
    // to f32 under it anyway; saying so keeps the counts the same on every
    // host and names the corpus-vector cache the native pre-pass fills.
    p.embedding.kernel = Kernel::F32;
    p
}

/// [`callgrind_plan`], or why it counts nothing: checked before any
/// measuring, so `--instructions` on workloads it cannot count fails in a
/// second rather than after the timing run.
pub fn countable_plan(plan: &Plan) -> Result<Plan> {
    let p = callgrind_plan(plan);
    if p.workloads.is_empty() {
        let countable: Vec<&str> = WorkloadName::ALL
            .iter()
            .filter(|w| w.countable())
            .map(|w| w.as_str())
            .collect();
        bail!(
            "--instructions counts the retrieval workloads ({}) and none is selected (--workload {}): add one with --workload, or drop --instructions",
            countable.join(", "),
            plan.workloads
                .iter()
                .map(|w| w.as_str())
                .collect::<Vec<_>>()
                .join(" --workload ")
        );
    }
    Ok(p)
}

/// `valgrind --version`, or why there is none.
pub fn valgrind_version(sh: &Shell) -> Result<String> {
    cmd!(sh, "valgrind --version")
        .quiet()
        .ignore_stderr()
        .read()
        .map(|v| v.trim().to_string())
        .context("valgrind is not installed (Debian: `apt-get install valgrind`); instruction counts without a hardware counter need it")
}

/// Runs `plan` under callgrind and returns a run record whose workloads hold
/// only the instruction counts. Its wall times are meaningless, and its
/// quality figures (recall over 8 questions) are not comparable with the
/// timing run's, so both are dropped; quality is guarded by time checks.
pub fn measure_instructions(sh: &Shell, store: &Store, plan: &Plan) -> Result<Baseline> {
    let version = valgrind_version(sh)?;
    let cg_plan = countable_plan(plan)?;
    // One folder per process, so concurrent checks (counts do not mind a
    // busy machine) do not read each other's dumps.
    let out_dir = store.callgrind_dir(std::process::id());
    if out_dir.exists() {
        fs::remove_dir_all(&out_dir)
            .with_context(|| format!("cannot clear {}", out_dir.display()))?;
    }
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    // Embedding the corpus under valgrind took over 25 minutes; natively it
    // takes seconds. A native run of the same reduced plan fills the
    // corpus-vector cache, so the valgrind run only loads it.
    let native = Plan {
        callgrind: false,
        ..cg_plan.clone()
    };
    measure_with(
        sh,
        store,
        &native,
        &runner::Launch::Direct,
        &mut Progress::auto(),
    )
    .context("the native pass that prepares the callgrind run's corpus vectors failed")?;
    let prefix = out_dir.join("callgrind.out");
    let launcher = vec![
        "valgrind".to_string(),
        "--tool=callgrind".into(),
        // Uninstrumented until the first measured region: loading the
        // corpus and the model then runs at near-native speed.
        "--instr-atstart=no".into(),
        "--collect-atstart=no".into(),
        "--dump-instr=no".into(),
        "--dump-line=no".into(),
        format!("--callgrind-out-file={}", prefix.display()),
    ];
    let mut run = measure_with(
        sh,
        store,
        &cg_plan,
        &runner::Launch::Wrapped(&launcher),
        &mut Progress::auto(),
    )?;
    let counts = read_dumps(&out_dir)?;
    // The counts are in the record; the dumps (function-level profiles of
    // single operations) would only pile up.
    let _ = fs::remove_dir_all(&out_dir);
    for (w, result) in run.workloads.iter_mut() {
        result.metrics.clear();
        for (op, samples) in counts.get(w).into_iter().flatten() {
            result.metrics.insert(
                MetricKind::CallgrindInstructions(*op).key(),
                instruction_metric(*op, samples),
            );
        }
    }
    if let Some(w) = cg_plan.workloads.iter().find(|w| !counts.contains_key(w)) {
        bail!(
            "callgrind wrote no instruction counts for {w} (dumps in {})",
            out_dir.display()
        );
    }
    run.context.counting = format!(
        "callgrind instruction counts ({version}, one thread, reduced plan: first {} questions, {} warm-up + {} measured pass, {} index build, batch sizes {:?} with {} batch each); wall times of this run discarded",
        cg_plan.max_queries.unwrap_or_default(),
        cg_plan.harness.warmup_passes,
        cg_plan.harness.passes,
        cg_plan.harness.index_builds,
        cg_plan.embedding.batch_sizes,
        cg_plan.embedding.min_batches,
    );
    // The record keeps the timing plan it was derived from, so it compares
    // with baselines by the same settings check as a timing run.
    run.plan = plan.clone();
    Ok(run)
}

fn instruction_metric(op: CountedOp, samples: &[f64]) -> Metric {
    let spec = MetricKind::CallgrindInstructions(op).spec();
    Metric::new(spec.unit, spec.better, spec.description, samples.to_vec())
        .expect("at least one dump per label")
}

/// Per workload, per operation: the totals of the dumps labelled
/// `<workload>/<op>`, in dump order.
type Counts = BTreeMap<WorkloadName, BTreeMap<CountedOp, Vec<f64>>>;

fn read_dumps(dir: &Path) -> Result<Counts> {
    let mut parts: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let n = p.extension()?.to_str()?.parse().ok()?;
            Some((n, p))
        })
        .collect();
    parts.sort();
    let mut counts = Counts::new();
    for (_, path) in parts {
        let text = fs::read_to_string(&path)
            .with_context(|| format!("cannot read callgrind dump {}", path.display()))?;
        let Some((label, total)) = parse_dump(&text)
            .with_context(|| format!("callgrind dump {} is malformed", path.display()))?
        else {
            continue;
        };
        let (workload, op) = label.split_once('/').with_context(|| {
            format!(
                "callgrind dump {}: label `{label}` has no workload",
                path.display()
            )
        })?;
        let dump_err = |e: String| anyhow::anyhow!("callgrind dump {}: {e}", path.display());
        let workload: WorkloadName = workload.parse().map_err(dump_err)?;
        let op: CountedOp = op.parse().map_err(dump_err)?;
        counts
            .entry(workload)
            .or_default()
            .entry(op)
            .or_default()
            .push(total as f64);
    }
    Ok(counts)
}

/// The label and instruction total of one dump; `None` for dumps that no
/// region asked for (the one callgrind writes at exit).
fn parse_dump(text: &str) -> Result<Option<(String, u64)>> {
    const TRIGGER: &str = "desc: Trigger: Client Request: ";
    let label = text
        .lines()
        .find_map(|l| l.strip_prefix(TRIGGER))
        .map(str::to_string);
    let Some(label) = label else {
        return Ok(None);
    };
    let events = text
        .lines()
        .find_map(|l| l.strip_prefix("events: "))
        .context("no `events:` line")?;
    if events.split_whitespace().next() != Some("Ir") {
        bail!("first event is not Ir: `{events}`");
    }
    let total = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("totals: ")
                .or_else(|| l.strip_prefix("summary: "))
        })
        .and_then(|v| v.split_whitespace().next())
        .context("no `totals:` line")?;
    let total = total
        .parse()
        .with_context(|| format!("`{total}` is not an instruction count"))?;
    Ok(Some((label, total)))
}

/// Adds the callgrind counts of `counted` to the timing run `baseline`.
pub fn merge_counts(baseline: &mut Baseline, counted: &Baseline) {
    for (w, result) in &counted.workloads {
        let Some(target) = baseline.workloads.get_mut(w) else {
            continue;
        };
        for (name, metric) in &result.metrics {
            if matches!(name.kind(), MetricKind::CallgrindInstructions(_)) {
                target.metrics.insert(name.clone(), metric.clone());
            }
        }
    }
    baseline.context.counting = format!(
        "{}; {}",
        baseline.context.counting, counted.context.counting
    );
}

/// Whether a baseline carries counts this mode can check.
pub fn has_counts(b: &Baseline) -> bool {
    b.workloads.values().any(|r| {
        r.metrics
            .keys()
            .any(|k| matches!(k.kind(), MetricKind::CallgrindInstructions(_)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_contract::metric_key::VectorEngineName;

    const DUMP: &str = "# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 4242
cmd:  perf-workloads --plan plan.json
part: 3

desc: I1 cache: 
desc: Timerange: Basic block 100 - 200
desc: Trigger: Client Request: rag_query/query

positions: line
events: Ir
summary: 1234567

ob=(1) /bin/perf-workloads
fl=(1) ???
fn=(1) main
0 1234567

totals: 1234567
";

    #[test]
    fn a_dump_gives_its_label_and_total() {
        assert_eq!(
            parse_dump(DUMP).unwrap(),
            Some(("rag_query/query".to_string(), 1_234_567))
        );
    }

    #[test]
    fn the_exit_dump_is_skipped() {
        let exit = DUMP.replace("Client Request: rag_query/query", "Program termination");
        assert_eq!(parse_dump(&exit).unwrap(), None);
    }

    #[test]
    fn a_dump_without_totals_is_an_error() {
        let broken = DUMP
            .replace("totals: 1234567\n", "")
            .replace("summary: 1234567\n", "");
        assert!(parse_dump(&broken).is_err());
    }

    #[test]
    fn dumps_are_grouped_by_workload_and_stem_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let write = |n: u32, label: &str, total: u64| {
            let text = DUMP
                .replace("rag_query/query", label)
                .replace("1234567", &total.to_string());
            fs::write(dir.path().join(format!("callgrind.out.{n}")), text).unwrap();
        };
        write(1, "vector_query/hnsw", 10);
        write(2, "vector_query/exact", 20);
        write(10, "vector_query/hnsw", 30);
        write(3, "vector_query/hnsw", 11);
        let counts = read_dumps(dir.path()).unwrap();
        let v = &counts[&WorkloadName::VectorQuery];
        assert_eq!(
            v[&CountedOp::Search(VectorEngineName::Usearch)],
            vec![10.0, 11.0, 30.0],
            "numeric, not lexical, order"
        );
        assert_eq!(v[&CountedOp::Search(VectorEngineName::Exact)], vec![20.0]);
    }

    #[test]
    fn the_reduced_plan_keeps_inputs_and_cuts_repetitions() {
        let defaults = crate::settings::Defaults {
            root: "/proj".into(),
            rust_book: Some("/book".into()),
        };
        let plan = crate::settings::resolve(
            &crate::cli::RunArgs::default(),
            &crate::settings::LoadedConfig::default(),
            &defaults,
            Path::new("/cwd"),
        )
        .unwrap();
        let cg = callgrind_plan(&plan);
        assert!(cg.callgrind);
        assert_eq!(cg.threads, 1);
        assert_eq!(cg.harness.passes, 1);
        assert_eq!(cg.corpus, plan.corpus);
        assert_eq!(cg.queries, plan.queries);
        assert_eq!(cg.max_queries, Some(QUESTIONS));
        assert_eq!(cg.embedding.batch_sizes, vec![1]);
    }
}
