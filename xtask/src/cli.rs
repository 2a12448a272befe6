//! The command line, as clap-derive types, with the setting flags the
//! plan declares (`settings::RunArgs`). Parsing only: no defaults are
//! resolved here, so that `settings` can merge flags with `perf.toml` and
//! tell which one set a value.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use perf_contract::plan::{InjectDelay, WorkloadName};

pub use crate::settings::RunArgs;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    about = "Project tasks"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Built once per process from the command line: the size of its largest
// variant costs nothing, and boxing it would only clutter every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure, profile and guard the performance of the RAG stack.
    #[command(subcommand)]
    Perf(PerfCommand),

    /// The test suite: prepares llama.cpp's build (cmake and libclang from
    /// PyPI when the machine has none, ggml for this machine's instruction
    /// set), then runs `cargo test --workspace --release` with the same
    /// settings every `cargo xtask perf` build uses.
    Test(TestArgs),
    /// `cargo fmt --check` and `cargo clippy --workspace --all-targets
    /// --release -- -D warnings`, with the build settings `test` uses.
    Lint,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Passed on to `cargo test` verbatim (after `--workspace --release`),
    /// e.g. `-p perf-report` or `-- --include-ignored`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub cargo_args: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum PerfCommand {
    /// Run the workloads in a release build and record a baseline.
    ///
    /// Writes baselines/performance_baselines.json when none exists (or with
    /// --update, keeping the replaced file under baselines/history/). Every
    /// run is also saved under target/perf-runs/.
    Baseline(BaselineArgs),

    /// Compare a fresh run with the baseline: exit 0 (no regression),
    /// 1 (regression), 2 (error or nothing comparable), 3 (inconclusive: a
    /// headline metric's minimum detectable effect exceeds its threshold).
    ///
    /// Both runs measure the retrieval workloads in several fresh processes
    /// (the replicate); a metric regresses only when its change is beyond
    /// its threshold in the worse direction AND its 95% interval across
    /// processes (samples matched by input, pooled with `perf calibrate`'s
    /// spread when there is one) excludes no-change. A suspect is measured
    /// in more processes, added to the first; an inconclusive headline
    /// metric in one more at a time, within --max-time. Recall and
    /// embedding parity are guarded absolutely.
    Check(CheckArgs),

    /// Did my change make it slower? Build two revisions and run them side
    /// by side in lockstep, pairing every sample: exit 0 (no regression),
    /// 1 (regression), 2 (error), 3 (inconclusive).
    ///
    /// BASE defaults to HEAD and CANDIDATE to the working tree (uncommitted
    /// changes included), so `cargo xtask perf compare` before a commit asks
    /// whether the change slowed anything; CI runs `compare origin/main HEAD`.
    /// Both builds get the same plan and inputs and take turns one operation
    /// at a time (ABBA), so drift hits both alike; each metric's change,
    /// 95% interval and minimum detectable effect come from the per-pair
    /// ratios, with one false-alarm budget for the whole run (Holm). A
    /// regression names the stages that moved; --explain profiles both
    /// builds and ranks the functions that changed.
    Compare(CompareArgs),

    /// Measure what this machine can resolve: one build in several fresh
    /// processes (6 by default), each metric's spread between them kept in
    /// target/perf-calibration/<profile>.json.
    ///
    /// `check` and `report` on this machine and profile pool that spread
    /// with their own processes (so a run of few processes still gets an
    /// interval as wide as processes differ) and drop the absolute floors
    /// for calibrated metrics. Prints what three processes a side resolve
    /// and how many the ±10% gate needs.
    Calibrate(CalibrateArgs),

    /// Profile the workloads: CPU (flamegraph SVG, pprof protobuf, top
    /// functions), memory (allocations, peak heap, peak RSS) per workload and
    /// per stage, and the top 5 bottlenecks ranked from that evidence.
    ///
    /// Files go to profiles/<time>/ (profiles/latest points at the newest).
    Profile(ProfileArgs),

    /// Write the performance-analysis report (markdown + SVG charts) from the
    /// baseline, its history and the latest profile run, without running
    /// any workload unless --run is given.
    ///
    /// Writes reports/performance_analysis.md and reports/charts/*.svg, and
    /// prints the same figures as tables.
    Report(ReportArgs),

    /// The performance history: per machine and metric, the recorded
    /// commits along the branch's first-parent line and the change points
    /// in them (E-Divisive means, permutation-tested), without running
    /// anything.
    ///
    /// Records come from `perf baseline --record` (one run of a commit)
    /// and `perf compare --record` (a step between two commits), kept under
    /// baselines/records/<machine>/. --format bmf exports the newest
    /// record for a Bencher server, markdown a pull-request comment;
    /// --dashboard writes a static HTML page.
    History(HistoryArgs),

    /// Which commit changed a metric? Binary search over the first-parent
    /// commits from GOOD to BAD with paired compares (both commits built
    /// and run in lockstep, as `perf compare`), naming the first commit
    /// whose change is significant, with its compare table.
    ///
    /// GOOD against BAD is compared first: a change there, in a direction
    /// and beyond --threshold, is what the search looks for; each later
    /// step asks whether the lower commit against the middle one shows at
    /// least half of it, in the same direction, with an interval excluding
    /// no change. A commit that does not build or predates `perf compare`
    /// is skipped and named.
    Bisect(BisectArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BisectArgs {
    /// A commit without the change.
    #[arg(value_name = "GOOD")]
    pub good: String,

    /// A later commit with it (on GOOD's first-parent line).
    #[arg(value_name = "BAD")]
    pub bad: String,

    /// The metric, `workload.metric`; only its workload runs.
    #[arg(long, value_name = "METRIC", default_value = "rag_query.latency")]
    pub metric: String,

    /// Smallest change of GOOD against BAD worth searching for, in percent.
    #[arg(long, value_name = "PCT", default_value_t = 2.0)]
    pub threshold: f64,

    /// Rounds of each compare (fresh process pairs), at least.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,

    /// Time budget of each compare, in seconds: while a headline metric
    /// is inconclusive, another round starts if it ends within it.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub max_time: u64,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// Metrics to show, as `workload.metric` [default: the headline figures].
    #[arg(long = "metric", value_name = "METRIC")]
    pub metrics: Vec<String>,

    /// Only this machine, by its id (the folder name under
    /// baselines/records/) [default: every machine; bmf: this one].
    #[arg(long, value_name = "ID")]
    pub machine: Option<String>,

    /// Records of this profile [default: the one with the most records].
    #[arg(long, value_name = "PROFILE", value_parser = parse_profile)]
    pub profile: Option<perf_contract::plan::ProfileName>,

    /// The branch whose first-parent line orders the commits.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub branch: String,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: HistoryFormat,

    /// Write the dashboard, DIR/index.html [default DIR: target/perf-dashboard].
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    pub dashboard: Option<Option<PathBuf>>,

    /// A commit's web page for the dashboard's links, `{commit}` standing
    /// for its id (e.g. https://github.com/org/repo/commit/{commit}).
    #[arg(long, value_name = "URL")]
    pub commit_url: Option<String>,

    /// Also print the relative index: recorded parent-versus-commit
    /// compares composed along the branch, and every longer compare set
    /// against the chain over its range.
    #[arg(long)]
    pub relative: bool,

    /// Add this saved run (target/perf-runs/…json) to the history as a run
    /// of the commit it names, instead of printing.
    #[arg(long, value_name = "RUN")]
    pub record_run: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    /// Tables on the terminal.
    #[default]
    Table,
    /// A pull-request comment: this machine's headline metrics.
    Markdown,
    /// The series, change points and relative index as JSON.
    Json,
    /// Bencher Metric Format of this machine's newest record on the branch.
    Bmf,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Baseline to report on [default: baselines/performance_baselines.json].
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,

    /// Profile run folder with summary.json and bottlenecks.json [default: profiles/latest].
    #[arg(long, value_name = "DIR")]
    pub profiles: Option<PathBuf>,

    /// Folder of earlier baselines [default: baselines/history].
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,

    /// A baseline of more vector-engine sizes (a `--scale` run kept apart)
    /// whose rows join the engines × sizes table and the scaling charts at
    /// sizes the baseline lacks; refused unless it is of the same machine
    /// and settings. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub scale_points: Vec<PathBuf>,

    /// Markdown file to write; the charts go to charts/ beside it
    /// [default: reports/performance_analysis.md].
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Refresh the inputs first: record a new baseline (`perf baseline
    /// --update`, the old one moves to history) and a profile run (`perf
    /// profile`), with the run settings below.
    #[arg(long)]
    pub run: bool,

    #[command(flatten)]
    pub run_args: RunArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ProfileArgs {
    /// Workloads to profile [default: all].
    #[arg(value_name = "WORKLOAD", value_parser = parse_workload)]
    pub workload_names: Vec<WorkloadName>,

    #[command(flatten)]
    pub run: RunArgs,

    /// CPU sampling frequency in Hz (a prime avoids locking onto periodic work).
    #[arg(long, value_name = "HZ", default_value_t = 997)]
    pub frequency: i32,

    /// Also record a dhat heap profile (dhat-heap.json, for DHAT's viewer):
    /// an extra run in a build whose global allocator is dhat's.
    #[arg(long)]
    pub dhat: bool,

    /// Folder for the profile files [default: profiles/<time>/].
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// Replace the committed digest of the findings beside the baseline
    /// (baselines/profile.json), which `perf report` reads where no
    /// profile folder exists; without it, a digest there is kept.
    #[arg(long)]
    pub update: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// comfy-table tables on the terminal.
    #[default]
    Table,
    /// A GitHub-flavoured markdown table.
    Markdown,
    /// Machine-readable result.
    Json,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Every metric of the runs.
    #[default]
    Time,
    /// Only instruction counts (deterministic mode): callgrind's when the
    /// baseline has them (`baseline --instructions`), else the hardware
    /// counter's.
    Instructions,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Baseline to compare with [default: this machine's own,
    /// baselines/machines/<machine id>.json, when the repository has one,
    /// else baselines/performance_baselines.json].
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,

    /// Compare this saved run (e.g. target/perf-runs/latest.json) instead of running.
    #[arg(long, value_name = "PATH")]
    pub run_file: Option<PathBuf>,

    /// Default allowed change in percent (overrides [check] threshold_pct; default 10).
    #[arg(long, value_name = "PCT")]
    pub threshold: Option<f64>,

    /// Compare with a baseline recorded on a different machine fingerprint
    /// (the result is labelled as such).
    #[arg(long)]
    pub allow_foreign_baseline: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    /// Make a passing run the new baseline (the old one moves to history/).
    #[arg(long)]
    pub update: bool,

    /// What to judge: wall time and throughput (default), or only
    /// instruction counts, which do not move with the machine's load:
    /// counted by callgrind (a run under valgrind, about 50x slower, on a
    /// reduced plan) when the baseline was recorded with --instructions,
    /// else by the hardware counter where the machine has one.
    #[arg(long, value_enum, default_value_t)]
    pub mode: Mode,

    /// Widen each metric's threshold to the between-run noise (3 robust σ of
    /// the medians) of the 10 most recent comparable runs on this machine,
    /// for shared machines whose runs drift more than the threshold.
    #[arg(long)]
    pub noise_history: bool,

    /// Measure nothing beyond the plan's processes: no more processes for
    /// a workload that looks regressed or is inconclusive.
    #[arg(long)]
    pub no_rerun: bool,

    /// While a headline metric is inconclusive, measure its workload in one
    /// more process at a time (a paired check: one more round of that
    /// workload alone), for at most SECS seconds (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub max_time: u64,

    /// Build the baseline's commit and measure it beside this tree in
    /// lockstep rounds, as `perf compare <commit>` does, and judge the
    /// pairs (the baseline file names the commit, plan and machine). What
    /// check does unasked when this machine's calibration says whole
    /// sessions shift more than a headline threshold. Needs a baseline
    /// recorded from a clean tree.
    #[arg(long, conflicts_with_all = ["unpaired", "run_file"])]
    pub paired: bool,

    /// Never pair: judge against the baseline file's figures even where
    /// this machine's sessions shift more than a threshold (the verdict
    /// is then inconclusive, with the reason).
    #[arg(long)]
    pub unpaired: bool,

    /// What checks do unasked now (measure more while inconclusive, within
    /// --max-time); kept so scripts that pass it still run.
    #[arg(long, hide = true)]
    pub until_conclusive: bool,

    /// Test-only: busy-wait MICROS inside STAGE (e.g. embed:3000) to prove the gate fires.
    #[arg(long, value_name = "STAGE:MICROS", hide = true)]
    pub inject_delay: Option<InjectDelay>,
}

#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// The revision to compare against (any git revision).
    #[arg(value_name = "BASE", default_value = "HEAD")]
    pub base: String,

    /// The revision under test [default: the working tree, uncommitted
    /// changes included].
    #[arg(value_name = "CANDIDATE")]
    pub candidate: Option<String>,

    #[command(flatten)]
    pub run: RunArgs,

    /// Default allowed change in percent (overrides [check] threshold_pct; default 10).
    #[arg(long, value_name = "PCT")]
    pub threshold: Option<f64>,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    /// Rounds to run: each a fresh pair of processes (which side goes first
    /// alternates), so every interval rests on how far processes differ,
    /// not only on the samples inside one; fewer than 3 leaves that out
    /// (judged on the pairs alone, and labelled so).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,

    /// Keep running rounds (each adds a process pair) until every headline
    /// metric is conclusive, a regression is confirmed (the verdict cannot
    /// improve), or --max-time is reached.
    #[arg(long)]
    pub until_conclusive: bool,

    /// With --until-conclusive: run rounds until this one metric
    /// (`workload.metric`, e.g. rag_query.latency) is conclusive, whatever
    /// the others show (a regression elsewhere no longer ends the compare).
    #[arg(long, value_name = "METRIC", requires = "until_conclusive")]
    pub watch: Option<String>,

    /// Time budget of --until-conclusive, in seconds: no round starts that
    /// would end after it.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub max_time: u64,

    /// Profile both builds on the same inputs and write a function-level
    /// diff (ranked functions, differential flamegraph, allocations) for
    /// the regressed workloads, or for every compared workload when none
    /// regressed. On by default when CI is set and a metric regressed.
    #[arg(long)]
    pub explain: bool,

    /// Add the result to the performance history as a step from BASE to
    /// CANDIDATE (baselines/records/<machine>/steps/), which `perf history
    /// --relative` composes along the branch; both must be commits.
    #[arg(long)]
    pub record: bool,

    /// Judge two saved lockstep runs (`target/perf-runs/compare/*-base.json`
    /// and `*-candidate.json`) again, e.g. with another --threshold,
    /// building and running nothing.
    #[arg(long, num_args = 2, value_names = ["BASE_RUN", "CANDIDATE_RUN"])]
    pub runs: Option<Vec<PathBuf>>,

    /// Test-only: delay STAGE by MICROS in the candidate build only, to
    /// show what the comparison can detect (e.g. embed:700).
    #[arg(long, value_name = "STAGE:MICROS", hide = true)]
    pub inject_delay: Option<InjectDelay>,
}

#[derive(Debug, Clone, Args)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Baseline file to write [default: baselines/performance_baselines.json].
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Write this machine's own baseline, baselines/machines/<machine
    /// id>.json, which `perf check` on this machine then uses instead of
    /// the reference (a repository can carry one per machine).
    #[arg(long, conflicts_with = "output")]
    pub this_machine: bool,

    /// Replace an existing baseline (the old one moves to baselines/history/).
    #[arg(long)]
    pub update: bool,

    /// Print the resolved plan as JSON and stop, without building or running.
    #[arg(long)]
    pub dry_run: bool,

    /// Print every metric of the run at the end, not the headline summary.
    #[arg(long)]
    pub all: bool,

    /// Add the run to the performance history (baselines/records/<machine>/,
    /// keyed by machine and commit): refused before measuring when the
    /// working tree has uncommitted changes.
    #[arg(long)]
    pub record: bool,

    /// Also count instructions per operation under valgrind's callgrind (a
    /// second, reduced run on one thread), so that `check --mode
    /// instructions` can judge deterministic counts on machines without a
    /// hardware counter.
    #[arg(long)]
    pub instructions: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Sessions to measure one after another, each a run of --processes
    /// fresh processes (3 by default): how far a whole session shifts
    /// against another (the machine's state at the time, which every
    /// process of a check or baseline shares) shows only across several.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub sessions: u32,

    /// Calibrate from these saved runs of one build on this machine, each a
    /// session (e.g. a baseline and the runs of checks against it, in
    /// target/perf-runs/), instead of measuring.
    #[arg(long = "from-run", value_name = "RUN", num_args = 1.., conflicts_with_all = ["sessions", "fresh"])]
    pub from_runs: Vec<PathBuf>,

    /// Forget the sessions of this machine's earlier calibration: by
    /// default the new sessions join the newest of them still saved, so
    /// the shift between sessions is measured over more of them.
    #[arg(long)]
    pub fresh: bool,

    /// Measure the spread between builds instead: N paired compares of
    /// HEAD and N builds of it whose layout differs (an unused function
    /// added), one after another; `compare` adds it to the interval of
    /// every compare of two different builds on this machine.
    #[arg(long, value_name = "N", conflicts_with_all = ["from_runs", "sessions"], value_parser = clap::value_parser!(u32).range(3..=40))]
    pub builds: Option<u32>,
}

fn parse_profile(s: &str) -> Result<perf_contract::plan::ProfileName, String> {
    s.parse()
}

fn parse_workload(s: &str) -> Result<WorkloadName, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn unknown_workload_is_rejected_by_name() {
        let err = Cli::try_parse_from(["cargo xtask", "perf", "baseline", "--workload", "rag"])
            .unwrap_err();
        assert!(err.to_string().contains("unknown workload `rag`"), "{err}");
    }

    #[test]
    fn unknown_engine_is_rejected_by_name() {
        let err = Cli::try_parse_from(["cargo xtask", "perf", "baseline", "--engine", "vllm"])
            .unwrap_err();
        assert!(err.to_string().contains("unknown engine `vllm`"), "{err}");
    }
}
