//! `cargo xtask`: the project's task runner (the rust-analyzer xtask
//! pattern). Parse the command line, resolve a plan, hand the measuring to
//! the release-built `perf-workloads` process, and record what it reports.

mod baseline_update;
mod build_env;
mod callgrind;
mod children;
mod cli;
mod commands;
mod compare_checkout;
mod compare_target;
mod explain;
mod git_history;
mod history_record;
mod lockstep;
mod machine;
mod measure;
mod page_cache;
mod paired_check;
mod paired_rounds;
mod printer;
mod progress;
mod reaper;
mod recorded;
mod replicates;
mod revision;
mod runner;
mod session_notes;
mod settings;
mod spelling;
mod step_summary;
mod store;
mod thresholds;
#[cfg(test)]
mod tidy;
#[cfg(test)]
mod tidy_imports;
mod vector_memory;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::Parser;
use xshell::Shell;

use crate::{
    cli::{Cli, Command, PerfCommand},
    store::Store,
};

fn main() -> ExitCode {
    // xtask started again as the parent of one of its commands (hidden).
    if let Some(code) = reaper::run_if_asked() {
        return code;
    }
    // `cargo xtask test ARGS` hands ARGS to `cargo test` verbatim, `--`
    // included (`-- --include-ignored` must reach the test harness, and
    // clap would swallow the separator), so it bypasses the parser; only
    // its `--help` goes through clap.
    // As the OS gives them: a path flag need not be UTF-8 (clap reads
    // those; `env::args` would panic on them).
    let raw: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if raw.first().is_some_and(|a| a == "test")
        && !matches!(raw.get(1).and_then(|a| a.to_str()), Some("-h" | "--help"))
    {
        let args: Option<Vec<String>> = raw[1..]
            .iter()
            .map(|a| a.to_str().map(str::to_string))
            .collect();
        return report_error(
            args.ok_or_else(|| {
                anyhow::anyhow!("an argument of `cargo xtask test` is not UTF-8 text")
            })
            .and_then(|args| {
                let sh = Shell::new()?;
                commands::test::run(&sh, &project_root(), &args)
            }),
        );
    }
    report_error(run(Cli::parse()))
}

/// Exit codes, the same for every command (README's table): 0 done, 1 a
/// regression (`check`, `compare`), 2 an error, here or in clap's parsing
/// of the arguments, 3 inconclusive.
const EXIT_ERROR: u8 = 2;

fn report_error(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            // `{:#}` joins the context chain on one line: the one line to
            // read. A server's error may quote a URL with its password.
            let line = perf_contract::secret_url::scrub(&format!("{e:#}"));
            eprintln!("error: {line}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let sh = Shell::new()?;
    let root = project_root();
    let store = Store::new(&root);
    match cli.command {
        Command::Perf(PerfCommand::Baseline(args)) => {
            commands::baseline::run(&sh, &store, &args).map(|()| ExitCode::SUCCESS)
        }
        Command::Perf(PerfCommand::Calibrate(args)) => match args.builds {
            Some(n) => commands::calibrate_builds::run(&sh, &store, &args, n),
            None => commands::calibrate::run(&sh, &store, &args),
        }
        .map(|()| ExitCode::SUCCESS),
        Command::Perf(PerfCommand::Check(args)) => commands::check::run(&sh, &store, &args),
        Command::Perf(PerfCommand::Compare(args)) => commands::compare::run(&sh, &store, &args),
        Command::Perf(PerfCommand::Profile(args)) => {
            commands::profile::run(&sh, &store, &args).map(|()| ExitCode::SUCCESS)
        }
        Command::Perf(PerfCommand::Report(args)) => {
            commands::report::run(&sh, &store, &args).map(|()| ExitCode::SUCCESS)
        }
        Command::Perf(PerfCommand::Bisect(args)) => commands::bisect::run(&sh, &store, &args),
        Command::Perf(PerfCommand::History(args)) => {
            commands::history::run(&sh, &store, &args).map(|()| ExitCode::SUCCESS)
        }
        Command::Test(args) => commands::test::run(&sh, &root, &args.cargo_args),
        Command::Lint => commands::lint::run(&sh, &root),
    }
}

/// The workspace root: xtask's manifest sits one level below it.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}
