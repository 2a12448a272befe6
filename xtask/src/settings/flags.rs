//! The run arguments every measuring command shares ([`RunArgs`]): the
//! flags that set plan keys, as clap arguments built from the rows the
//! plan declares beside its fields (`perf_contract::plan::flags`), and
//! what the user gave. Nothing here names a setting: a flag is added where
//! its field is.

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
};

use clap::{error::ErrorKind, Arg, ArgAction, ArgMatches, Command};
use perf_contract::{
    plan::flags,
    setting::{Flag, FlagValue},
};

use super::layer::{Layer, Origin};

/// Settings shared by every command that runs workloads. The flags that
/// set plan keys are declared beside the plan's fields
/// (`perf_contract::plan::flags`); these few choose how settings are read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunArgs {
    /// Use the quick profile: a corpus subset and few iterations (for CI).
    #[arg(long)]
    pub quick: bool,

    #[command(flatten)]
    pub settings: SettingFlags,

    /// Configuration file [default: perf.toml at the project root, if present].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Add one million vectors to the scaling curve (beyond the real
    /// corpus they are synthetic, and labelled so).
    #[arg(long)]
    pub scale: bool,
}

/// The setting flags of one command line, each with its value as the plan
/// would hold it (a repeated flag's values as one list).
#[derive(Debug, Clone, Default)]
pub struct SettingFlags {
    given: Vec<(&'static Flag, toml::Value)>,
}

impl SettingFlags {
    /// Whether `--long` was given.
    pub fn has(&self, long: &str) -> bool {
        self.given.iter().any(|(f, _)| f.long == long)
    }

    /// Gives `--long` the value `value` unless the user gave it: a
    /// command's own default, which `perf.toml` does not override.
    pub fn or_set(&mut self, long: &str, value: impl Into<toml::Value>) {
        if self.has(long) {
            return;
        }
        let flag = flags().find(|f| f.long == long).expect("a declared flag");
        self.given.push((flag, value.into()));
    }

    /// Adds `more` (a list) to the values of the repeatable `--long`.
    pub fn extend(&mut self, long: &str, more: toml::Value) {
        let toml::Value::Array(more) = more else {
            panic!("a list for a repeatable flag");
        };
        if more.is_empty() {
            return;
        }
        match self.given.iter_mut().find(|(f, _)| f.long == long) {
            Some((_, toml::Value::Array(values))) => values.extend(more),
            _ => self.or_set(long, toml::Value::Array(more)),
        }
    }

    /// The flags' layer: each value at every plan key its flag sets.
    pub fn layer(&self) -> Layer {
        let mut layer = Layer::default();
        for (flag, value) in &self.given {
            for key in flag.keys {
                layer.set(key, value.clone(), Origin::Flag(flag.long));
            }
        }
        layer
    }
}

impl clap::Args for SettingFlags {
    fn augment_args(cmd: Command) -> Command {
        flags().fold(cmd, |cmd, flag| cmd.arg(arg(flag)))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for SettingFlags {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Vec::new();
        for flag in flags() {
            let value = match flag.value {
                FlagValue::Switch => m.get_flag(flag.long).then_some(true.into()),
                _ if flag.many => {
                    let all: Vec<toml::Value> = m
                        .get_many::<toml::Value>(flag.long)
                        .into_iter()
                        .flatten()
                        .cloned()
                        .collect();
                    (!all.is_empty()).then_some(toml::Value::Array(all))
                }
                _ => m.get_one::<toml::Value>(flag.long).cloned(),
            };
            given.extend(value.map(|v| (flag, v)));
        }
        Ok(SettingFlags { given })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

fn arg(flag: &'static Flag) -> Arg {
    let arg = Arg::new(flag.long).long(flag.long).help(flag.help);
    let arg = match flag.value {
        FlagValue::Switch => arg.action(ArgAction::SetTrue),
        _ => arg
            .value_name(flag.value_name)
            .value_parser(FlagParser(flag))
            .action(if flag.many {
                ArgAction::Append
            } else {
                ArgAction::Set
            }),
    };
    match flag.conflicts_with {
        Some(other) => arg.conflicts_with(other),
        None => arg,
    }
}

/// Checks a flag's value as it is parsed, so a bad one is clap's one line
/// naming the flag.
#[derive(Clone)]
struct FlagParser(&'static Flag);

impl clap::builder::TypedValueParser for FlagParser {
    type Value = toml::Value;

    fn parse_ref(
        &self,
        cmd: &Command,
        _: Option<&Arg>,
        raw: &OsStr,
    ) -> Result<toml::Value, clap::Error> {
        let flag = self.0;
        let fail = |why: String| {
            clap::Error::raw(
                ErrorKind::ValueValidation,
                format!("{}: {why}\n", flag.usage()),
            )
            .with_cmd(cmd)
        };
        // The plan file is JSON: a path that is not UTF-8 cannot go in it.
        let Some(s) = raw.to_str() else {
            return Err(fail(format!(
                "`{}` is not UTF-8 text: rename it or pass another",
                Path::new(raw).display()
            )));
        };
        match flag.value {
            FlagValue::Switch => Ok(true.into()),
            FlagValue::Text => Ok(s.into()),
            FlagValue::Count => s
                .parse::<u32>()
                .map(|n| i64::from(n).into())
                .map_err(|_| fail(format!("`{s}` is not a whole number"))),
            FlagValue::Name(check) => check(s).map(|()| s.into()).map_err(fail),
        }
    }
}

/// Names as a flag's list value (`--workload a --workload b`).
pub fn names<T: std::fmt::Display>(names: &[T]) -> toml::Value {
    toml::Value::Array(names.iter().map(|n| n.to_string().into()).collect())
}
