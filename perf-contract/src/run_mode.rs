//! How the workloads process runs its plan, declared once for both sides:
//! the front end turns a [`RunMode`] into the process's arguments
//! ([`RunMode::args`]) and the process reads it back
//! ([`RunMode::from_args`]), so a mode is never spelled in two places.

use std::{ffi::OsString, path::PathBuf};

/// What the process does with its plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunMode {
    /// Measure every workload and report its samples.
    Measure,
    /// Measure, waiting for `go` on stdin before every step (`perf
    /// compare` drives two builds so, one step at a time).
    Lockstep,
    /// Profile instead of measuring: files into `dir`, CPU sampled at
    /// `hz`; no results.
    Profile { dir: PathBuf, hz: i32 },
    /// Count instructions under callgrind (the process runs inside
    /// valgrind; its plan is the reduced one, `Plan::callgrind` set).
    Callgrind,
}

/// The process's command line, for its usage message.
pub const USAGE: &str = "usage: perf-workloads --plan FILE [--lockstep | --callgrind | --profile DIR [--frequency HZ]] (normally run by `cargo xtask perf`)";

impl RunMode {
    /// The arguments after `--plan FILE` that select this mode.
    pub fn args(&self) -> Vec<OsString> {
        match self {
            RunMode::Measure => Vec::new(),
            RunMode::Lockstep => vec!["--lockstep".into()],
            RunMode::Callgrind => vec!["--callgrind".into()],
            RunMode::Profile { dir, hz } => vec![
                "--profile".into(),
                dir.into(),
                "--frequency".into(),
                hz.to_string().into(),
            ],
        }
    }

    /// The plan file and the mode from the process's arguments (without
    /// the program name), or the one line to print.
    pub fn from_args(args: &[String]) -> Result<(PathBuf, RunMode), String> {
        let mut plan = None;
        let mut modes = Vec::new();
        let mut dir = None;
        let mut hz = None;
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--lockstep" => modes.push(RunMode::Lockstep),
                "--callgrind" => modes.push(RunMode::Callgrind),
                "--plan" | "--profile" | "--frequency" => {
                    let value = it.next().ok_or(USAGE)?;
                    match flag.as_str() {
                        "--plan" => plan = Some(PathBuf::from(value)),
                        "--profile" => dir = Some(PathBuf::from(value)),
                        _ => {
                            hz = Some(value.parse::<i32>().map_err(|_| {
                                format!("--frequency {value}: not a whole number of Hz")
                            })?)
                        }
                    }
                }
                _ => return Err(USAGE.into()),
            }
        }
        match (dir, hz) {
            (Some(dir), hz) => modes.push(RunMode::Profile {
                dir,
                hz: hz.unwrap_or(997),
            }),
            (None, Some(_)) => return Err(USAGE.into()),
            (None, None) => {}
        }
        let plan = plan.ok_or(USAGE)?;
        match modes.as_slice() {
            [] => Ok((plan, RunMode::Measure)),
            [one] => Ok((plan, one.clone())),
            _ => Err(USAGE.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<(PathBuf, RunMode), String> {
        RunMode::from_args(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn every_mode_reads_back_as_written() {
        for mode in [
            RunMode::Measure,
            RunMode::Lockstep,
            RunMode::Callgrind,
            RunMode::Profile {
                dir: "/p".into(),
                hz: 499,
            },
        ] {
            let mut args = vec!["--plan".to_string(), "plan.json".into()];
            args.extend(mode.args().iter().map(|a| a.to_string_lossy().into_owned()));
            assert_eq!(
                RunMode::from_args(&args),
                Ok(("plan.json".into(), mode.clone()))
            );
        }
    }

    #[test]
    fn one_mode_at_most_and_a_plan_always() {
        for bad in [
            &["--plan", "p", "--lockstep", "--callgrind"][..],
            &["--plan", "p", "--lockstep", "--profile", "d"],
            &["--plan", "p", "--frequency", "99"],
            &["--lockstep"],
            &["--plan"],
            &["--plan", "p", "--fast"],
        ] {
            assert_eq!(parse(bad), Err(USAGE.to_string()), "{bad:?}");
        }
        assert!(
            parse(&["--plan", "p", "--profile", "d", "--frequency", "x"])
                .unwrap_err()
                .contains("--frequency x")
        );
    }
}
