//! Messages the workloads process prints on stdout, one JSON object a line.
//!
//! Front end and workloads never share memory (rustc-perf's collector does the
//! same): a crash, a debug build or a stray allocation in the front end cannot
//! touch a measurement, and the stream is a plain record of what happened.

use serde::{Deserialize, Serialize};

use crate::{
    context::RunContext,
    metric_key::MetricKey,
    plan::WorkloadName,
    units::{Better, Unit},
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// What the run measured on: models, corpus, index. Sent once, before results.
    Context(Box<RunContext>),
    /// Work done so far in the current phase of a workload.
    Progress {
        workload: WorkloadName,
        phase: String,
        done: u64,
        total: u64,
    },
    /// Something the user should read (cache rebuilt, model downloaded, ...).
    Note { text: String },
    /// Raw samples of one finished workload.
    Result(WorkloadSamples),
    /// The run failed; `message` is the one line to show.
    Error { message: String },
    /// Lockstep mode (`--lockstep`) only: the process is about to start the
    /// step `label` (`prepared`, `<workload>/start`, or a measured operation
    /// `<workload>/<op>`) and waits for a `go` line on stdin. `perf compare`
    /// drives two builds this way, one step at a time, so that they never
    /// run at once and drift hits both alike.
    Ready { label: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSamples {
    pub workload: WorkloadName,
    pub metrics: Vec<RawMetric>,
    /// What the reader must know beside the figures: a part skipped and
    /// why (`chroma: skipped: ...`), synthetic data and how it was made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One metric's raw samples, before any statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawMetric {
    /// Unique within the workload; `stage.embed` on the wire.
    pub name: MetricKey,
    pub unit: Unit,
    pub better: Better,
    /// What one sample is, in words ("one question, end to end").
    pub description: String,
    pub samples: Vec<f64>,
}

impl Message {
    pub fn to_line(&self) -> String {
        // Serialising these plain structs cannot fail. A server's error
        // may quote its URL: no credentials leave the process.
        crate::secret_url::scrub(&serde_json::to_string(self).expect("message serialises"))
    }

    pub fn from_line(line: &str) -> Result<Message, serde_json::Error> {
        serde_json::from_str(line)
    }
}
