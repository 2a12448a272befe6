//! Progress display: an indicatif bar per workload phase on a terminal,
//! sparse plain lines otherwise (CI logs, pipes), so logs stay short.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use perf_contract::plan::WorkloadName;

pub struct Progress {
    mode: Mode,
    current: Option<(WorkloadName, String)>,
    bar: Option<ProgressBar>,
    /// Plain mode: last quarter printed for the current phase.
    last_quarter: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bar,
    Plain,
}

impl Progress {
    /// Bars only on an interactive stderr outside CI.
    pub fn auto() -> Progress {
        let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Progress {
            mode: if interactive { Mode::Bar } else { Mode::Plain },
            current: None,
            bar: None,
            last_quarter: 0,
        }
    }

    pub fn update(&mut self, workload: WorkloadName, phase: &str, done: u64, total: u64) {
        let same = self
            .current
            .as_ref()
            .is_some_and(|(w, p)| *w == workload && p == phase);
        if !same {
            self.clear();
            self.current = Some((workload, phase.to_string()));
            self.last_quarter = 0;
            match self.mode {
                Mode::Bar => {
                    let bar =
                        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix:>12} {msg:<28} [{bar:30}] {pos}/{len} {elapsed_precise}",
                        )
                        .expect("template is valid")
                        .progress_chars("=> "),
                    );
                    bar.set_prefix(workload.as_str());
                    bar.set_message(phase.to_string());
                    self.bar = Some(bar);
                }
                Mode::Plain => eprintln!("[{workload}] {phase}: {done}/{total}"),
            }
        }
        match self.mode {
            Mode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_length(total);
                    bar.set_position(done);
                }
            }
            Mode::Plain => {
                let quarter = (done * 4).checked_div(total).unwrap_or(4);
                if quarter > self.last_quarter {
                    self.last_quarter = quarter;
                    eprintln!("[{workload}] {phase}: {done}/{total}");
                }
            }
        }
    }

    pub fn note(&mut self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(format!("note: {text}")),
            None => eprintln!("note: {text}"),
        }
    }

    pub fn finish_workload(&mut self, workload: WorkloadName) {
        self.clear();
        eprintln!("[{workload}] done");
    }

    pub fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.current = None;
    }
}
