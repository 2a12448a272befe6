//! The baseline file: a versioned, self-describing record of one run.
//!
//! `baselines/performance_baselines.json` holds the environment, the resolved
//! plan, the run context and, per workload, every metric's summary *and* raw
//! samples, so later comparisons and reports can be rebuilt from the file alone.

use std::{collections::BTreeMap, fmt, fs, path::Path};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::units::{Better, Unit};
use crate::{
    atomic::write_atomic,
    context::RunContext,
    environment::Environment,
    metric_key::MetricKey,
    plan::{Plan, WorkloadName},
    protocol::{RawMetric, WorkloadSamples},
    summary::Summary,
};

/// Bumped on any change that older readers would misread.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub unit: Unit,
    pub better: Better,
    pub description: String,
    pub summary: Summary,
    pub samples: Vec<f64>,
    /// How many of `samples` each process gave, in order, when more than
    /// one process measured them (`perf compare`'s rounds, `check`'s
    /// added measurements); empty: one process gave them all. The process
    /// is the replicate an interval across runs rests on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<u32>,
}

impl Metric {
    /// A metric of one process's `samples`; `None` when there is none or
    /// one is not a number (no honest summary).
    pub fn new(
        unit: Unit,
        better: Better,
        description: String,
        samples: Vec<f64>,
    ) -> Option<Metric> {
        Some(Metric {
            unit,
            better,
            description,
            summary: Summary::from_samples(&samples)?,
            samples,
            processes: Vec::new(),
        })
    }

    /// How many samples, as a table shows it: `162`, or `3×54` when three
    /// processes gave 54 each (`162 in 3` when they gave unequal counts).
    pub fn count_label(&self) -> String {
        let n = self.samples.len();
        match self.processes.as_slice() {
            [] | [_] => n.to_string(),
            [first, rest @ ..] if rest.iter().all(|p| p == first) => {
                format!("{}×{first}", self.processes.len())
            }
            p => format!("{n} in {}", p.len()),
        }
    }

    /// `samples` split by the process that gave them (one slice when one did).
    pub fn by_process(&self) -> Vec<&[f64]> {
        if self.processes.is_empty() {
            return vec![&self.samples];
        }
        let mut out = Vec::with_capacity(self.processes.len());
        let mut rest = self.samples.as_slice();
        for &n in &self.processes {
            let (head, tail) = rest.split_at((n as usize).min(rest.len()));
            out.push(head);
            rest = tail;
        }
        out
    }

    /// Adds the samples one more process gave.
    pub fn add_process(&mut self, samples: &[f64]) {
        if self.processes.is_empty() {
            self.processes.push(self.samples.len() as u32);
        }
        self.processes.push(samples.len() as u32);
        self.samples.extend_from_slice(samples);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadResult {
    pub metrics: BTreeMap<MetricKey, Metric>,
    /// Skipped parts and labels (synthetic data), as the workload said them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub schema_version: u32,
    pub created_at: DateTime<Utc>,
    /// `Environment::fingerprint` at the time of the run, kept explicitly so
    /// readers need not recompute it.
    pub machine_fingerprint: String,
    pub environment: Environment,
    pub plan: Plan,
    pub context: RunContext,
    pub workloads: BTreeMap<WorkloadName, WorkloadResult>,
}

/// Why a baseline file could not be used; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {role} {path}: {source}")]
    Io {
        role: FileRole,
        path: String,
        source: std::io::Error,
    },
    #[error("{role} {path} is not valid JSON (line {line}, column {column}): {message}; {}", role.advice())]
    Json {
        role: FileRole,
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{role} {path} is JSON but not a run record ({message}); {}", role.advice())]
    Shape {
        role: FileRole,
        path: String,
        message: String,
    },
    #[error("{role} {path} has schema version {found}, this tool reads version {SCHEMA_VERSION}; {}", role.advice())]
    Version {
        role: FileRole,
        path: String,
        found: u32,
    },
}

/// What a file in the baseline format is to the command reading it: the
/// same format serves baselines, saved runs and history, and a message
/// must name the file as the user knows it and say what fixes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// The baseline a run is judged against (`--baseline`, the default).
    Baseline,
    /// A saved run (`--run-file`, `compare --runs`, `target/perf-runs/`).
    Run,
    /// A replaced baseline in `baselines/history/`.
    History,
    /// Another run's vector sizes (`report --scale-points`).
    ScalePoints,
}

impl FileRole {
    fn advice(self) -> &'static str {
        match self {
            FileRole::Baseline => {
                "fix or delete it, or record a new one with `cargo xtask perf baseline --update`"
            }
            FileRole::Run => {
                "pass a run that `cargo xtask perf baseline` saved (target/perf-runs/), or record one"
            }
            FileRole::History => "fix or delete it",
            FileRole::ScalePoints => "record it again with `cargo xtask perf baseline --output FILE`",
        }
    }
}

impl fmt::Display for FileRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileRole::Baseline => "baseline file",
            FileRole::Run => "run file",
            FileRole::History => "history file",
            FileRole::ScalePoints => "scaling-points file",
        })
    }
}

/// Whether `path` is a file `--update` set aside in history because it no
/// longer parsed (`unreadable-<time>.json`): kept for the user to look at,
/// never read as history.
pub fn is_set_aside(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(SET_ASIDE_PREFIX))
}

/// The name prefix of a corrupt baseline kept in history.
pub const SET_ASIDE_PREFIX: &str = "unreadable-";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("metric {workload}.{metric} has no usable samples")]
    NoSamples { workload: String, metric: String },
    #[error("metric {workload}.{metric} was reported twice")]
    Duplicate { workload: String, metric: String },
}

impl WorkloadResult {
    pub fn from_samples(raw: WorkloadSamples) -> Result<WorkloadResult, BuildError> {
        let mut metrics = BTreeMap::new();
        for RawMetric {
            name,
            unit,
            better,
            description,
            samples,
        } in raw.metrics
        {
            let metric = Metric::new(unit, better, description, samples).ok_or_else(|| {
                BuildError::NoSamples {
                    workload: raw.workload.to_string(),
                    metric: name.to_string(),
                }
            })?;
            if metrics.insert(name.clone(), metric).is_some() {
                return Err(BuildError::Duplicate {
                    workload: raw.workload.to_string(),
                    metric: name.to_string(),
                });
            }
        }
        Ok(WorkloadResult {
            metrics,
            notes: raw.notes,
        })
    }
}

impl Baseline {
    /// Loads the baseline at `path` (errors call it a baseline file).
    pub fn load(path: &Path) -> Result<Baseline, LoadError> {
        Baseline::load_as(path, FileRole::Baseline)
    }

    /// Loads `path`, which is `role` to the caller (named so in errors).
    pub fn load_as(path: &Path, role: FileRole) -> Result<Baseline, LoadError> {
        let text = fs::read_to_string(path).map_err(|source| LoadError::Io {
            role,
            path: path.display().to_string(),
            source,
        })?;
        Baseline::parse_as(&text, &path.display().to_string(), role)
    }

    /// Parses baseline JSON; `name` only labels errors.
    pub fn parse(text: &str, name: &str) -> Result<Baseline, LoadError> {
        Baseline::parse_as(text, name, FileRole::Baseline)
    }

    fn parse_as(text: &str, name: &str, role: FileRole) -> Result<Baseline, LoadError> {
        // Valid JSON of another shape (`{}`) is not "not valid JSON".
        let json_err = |e: serde_json::Error| match e.classify() {
            serde_json::error::Category::Data => LoadError::Shape {
                role,
                path: name.to_string(),
                message: e.to_string(),
            },
            _ => LoadError::Json {
                role,
                path: name.to_string(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            },
        };
        // Check the version before the full shape, so an old file gets the
        // helpful message rather than a missing-field error.
        #[derive(Deserialize)]
        struct Versioned {
            schema_version: u32,
        }
        let v: Versioned = serde_json::from_str(text).map_err(json_err)?;
        if v.schema_version != SCHEMA_VERSION {
            return Err(LoadError::Version {
                role,
                path: name.to_string(),
                found: v.schema_version,
            });
        }
        serde_json::from_str(text).map_err(json_err)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("baseline serialises") + "\n"
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        write_atomic(path, self.to_json().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric_key::MetricKind;

    #[test]
    fn malformed_json_names_file_and_line() {
        let err = Baseline::parse("{\n  \"schema_version\": 1,\n  oops\n}", "b.json").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("baseline file b.json is not valid JSON (line 3"),
            "{msg}"
        );
    }

    #[test]
    fn other_schema_version_is_refused() {
        let err = Baseline::parse(r#"{"schema_version": 99}"#, "b.json").unwrap_err();
        assert!(matches!(err, LoadError::Version { found: 99, .. }), "{err}");
    }

    #[test]
    fn raw_samples_become_summaries() {
        let raw = WorkloadSamples {
            workload: WorkloadName::RagQuery,
            metrics: vec![RawMetric {
                name: MetricKind::Latency.into(),
                unit: Unit::Milliseconds,
                better: Better::Lower,
                description: "one question".into(),
                samples: vec![3.0, 1.0, 2.0],
            }],
            notes: vec![],
        };
        let r = WorkloadResult::from_samples(raw).unwrap();
        let m = &r.metrics["latency"];
        assert_eq!(m.summary.median, 2.0);
        assert_eq!(
            m.samples,
            vec![3.0, 1.0, 2.0],
            "raw samples kept in run order"
        );
    }

    #[test]
    fn empty_samples_are_an_error() {
        let raw = WorkloadSamples {
            workload: WorkloadName::Embedding,
            metrics: vec![RawMetric {
                name: MetricKey::parse("x"),
                unit: Unit::Count,
                better: Better::Higher,
                description: String::new(),
                samples: vec![],
            }],
            notes: vec![],
        };
        assert!(WorkloadResult::from_samples(raw).is_err());
    }
}
