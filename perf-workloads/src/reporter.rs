//! The workloads process's side of the message protocol: every message goes
//! to stdout as one JSON line, flushed at once so the front end's progress
//! bar moves in real time.

use std::io::{self, Write};

use perf_contract::{
    metric_key::{MetricKey, MetricKind},
    plan::WorkloadName,
    protocol::{Message, RawMetric, WorkloadSamples},
    stage::Stage,
};

/// Where messages go: stdout in the binary, a vector in tests.
pub trait Sink {
    fn send(&mut self, msg: Message);
}

pub struct StdoutSink;

impl Sink for StdoutSink {
    fn send(&mut self, msg: Message) {
        let mut out = io::stdout().lock();
        // A closed pipe means the front end is gone; nothing left to tell it.
        let _ = writeln!(out, "{}", msg.to_line());
        let _ = out.flush();
    }
}

impl Sink for Vec<Message> {
    fn send(&mut self, msg: Message) {
        self.push(msg);
    }
}

pub struct Reporter<'a> {
    sink: &'a mut dyn Sink,
}

impl<'a> Reporter<'a> {
    pub fn new(sink: &'a mut dyn Sink) -> Self {
        Reporter { sink }
    }

    pub fn send(&mut self, msg: Message) {
        self.sink.send(msg);
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.send(Message::Note { text: text.into() });
    }

    /// A provisioning event: notes as notes, download bytes as a progress
    /// bar in MB (the front end draws it like any phase).
    pub fn provision(&mut self, workload: WorkloadName, phase: &str, event: perf_provision::Event) {
        match event {
            perf_provision::Event::Note(text) => self.note(text),
            perf_provision::Event::Download { done, total } => self.progress(
                workload,
                phase,
                (done / 1_000_000) as usize,
                total.div_ceil(1_000_000) as usize,
            ),
        }
    }

    pub fn progress(&mut self, workload: WorkloadName, phase: &str, done: usize, total: usize) {
        self.send(Message::Progress {
            workload,
            phase: phase.to_string(),
            done: done as u64,
            total: total as u64,
        });
    }
}

/// Collects one workload's metrics before they are sent as a result.
pub struct MetricSet {
    workload: WorkloadName,
    metrics: Vec<RawMetric>,
    notes: Vec<String>,
}

impl MetricSet {
    pub fn new(workload: WorkloadName) -> Self {
        MetricSet {
            workload,
            metrics: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Samples of one metric: its unit, direction and description come
    /// from its kind's spec (`MetricKind::spec`); `about` adds what this
    /// run knows (sizes, the engine and its version), or is empty.
    pub fn push(
        &mut self,
        name: impl Into<MetricKey>,
        about: impl Into<String>,
        samples: Vec<f64>,
    ) {
        let name = name.into();
        // A figure with no sample has no honest value: it is left out, and
        // the record says so.
        if samples.is_empty() {
            self.notes
                .push(format!("{name}: not recorded (no sample was measured)"));
            return;
        }
        let spec = name.kind().spec();
        let about = about.into();
        let description = if about.is_empty() {
            spec.description
        } else {
            format!("{}; {about}", spec.description)
        };
        self.metrics.push(RawMetric {
            name,
            unit: spec.unit,
            better: spec.better,
            description,
            samples,
        });
    }

    /// One stage's time per operation, in ms.
    pub fn push_stage(&mut self, stage: Stage, samples: Vec<f64>) {
        self.push(MetricKind::Stage(stage), "", samples);
    }

    /// A line the baseline keeps beside the figures: a skipped part and
    /// why, or a label such as synthetic data.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// Takes `other`'s metrics and notes: a part measured on its own and
    /// kept only when it was measured whole.
    pub fn append(&mut self, other: MetricSet) {
        self.metrics.extend(other.metrics);
        self.notes.extend(other.notes);
    }

    pub fn finish(self) -> Message {
        Message::Result(WorkloadSamples {
            workload: self.workload,
            metrics: self.metrics,
            notes: self.notes,
        })
    }
}
