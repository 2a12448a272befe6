//! Lockstep mode (`perf-workloads --lockstep`): before every step the
//! process announces it ([`Message::Ready`]) and waits for a `go` line on
//! stdin. `perf compare` runs two builds this way and lets one step run at
//! a time, alternating which build goes first (ABBA), so each measured
//! operation of one build is paired with the same operation of the other,
//! run moments apart on an otherwise idle machine.
//!
//! Steps are the end of preparation, the start of each workload and each
//! measured operation (as an [`OpHook`], started before any other hook so
//! the wait is outside every count). Unmeasured work between two steps
//! (warm-up, progress, results) belongs to the step before it, so the two
//! builds never run at the same time after preparation.

use std::io::BufRead;

use perf_contract::protocol::Message;

use crate::{
    hook::{Op, OpHook},
    reporter::{Sink, StdoutSink},
};

/// The stdin handshake. Cheap to copy: it holds no state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lockstep;

impl Lockstep {
    /// Announces `label` and blocks until the driver says `go`. Any other
    /// line, or stdin closing, means the driver is gone or gave up: the
    /// process ends at once rather than measuring unpaired.
    pub fn wait(&self, label: &str) {
        StdoutSink.send(Message::Ready {
            label: label.to_string(),
        });
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line);
        match read {
            Ok(n) if n > 0 && line.trim() == "go" => {}
            _ => {
                eprintln!("perf-workloads: lockstep driver went away before `{label}`; stopping");
                std::process::exit(3);
            }
        }
    }
}

impl OpHook for Lockstep {
    fn start(&self, op: Op) {
        self.wait(&op.label());
    }

    fn stop(&self, _op: Op) -> Option<u64> {
        None
    }
}
