//! The meter every workload measures its operations with: wall time of the
//! operation alone, plus whatever the run's [`OpHook`]s count around it
//! (retired instructions, callgrind regions). Which hooks a run has is
//! decided once from the plan and the machine, not by the workloads.

use std::time::{Duration, Instant};

use crate::hook::{Op, OpHook};

/// What one measured operation cost besides its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpSample {
    pub elapsed: Duration,
    /// The counting hook's figure (retired instructions), when one counts.
    pub count: Option<u64>,
}

impl OpSample {
    pub fn ms(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e3
    }
}

/// Times operations and runs the op hooks around them.
#[derive(Default)]
pub struct Meter {
    hooks: Vec<Box<dyn OpHook>>,
}

impl Meter {
    /// A meter that only times.
    pub fn plain() -> Meter {
        Meter::default()
    }

    pub fn with(mut self, hook: impl OpHook + 'static) -> Meter {
        self.hooks.push(Box::new(hook));
        self
    }

    /// Runs `f` as the operation `op`. `None` marks an unmeasured (warm-up)
    /// call: timed, but no hook sees it, so counts cover measured work only.
    /// Hooks start before the clock and stop after it, so their own cost is
    /// not in `elapsed`.
    pub fn measure<T>(&self, op: Option<Op>, f: impl FnOnce() -> T) -> (T, OpSample) {
        if let Some(op) = op {
            for h in &self.hooks {
                h.start(op);
            }
        }
        let start = Instant::now();
        let out = f();
        let elapsed = start.elapsed();
        let mut count = None;
        if let Some(op) = op {
            for h in self.hooks.iter().rev() {
                count = count.or(h.stop(op));
            }
        }
        (out, OpSample { elapsed, count })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use perf_contract::{metric_key::CountedOp, plan::WorkloadName};

    use super::*;

    struct Log(Rc<RefCell<Vec<String>>>, Option<u64>);

    impl OpHook for Log {
        fn start(&self, op: Op) {
            self.0.borrow_mut().push(format!("start {}", op.label()));
        }
        fn stop(&self, op: Op) -> Option<u64> {
            self.0.borrow_mut().push(format!("stop {}", op.label()));
            self.1
        }
    }

    #[test]
    fn hooks_wrap_measured_operations_only() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let meter = Meter::plain()
            .with(Log(log.clone(), None))
            .with(Log(log.clone(), Some(42)));
        let op = Op::new(WorkloadName::RagQuery, CountedOp::Query);
        let (v, warm) = meter.measure(None, || 1);
        assert_eq!((v, warm.count), (1, None));
        assert!(log.borrow().is_empty(), "warm-up calls are not hooked");
        let (v, s) = meter.measure(Some(op), || 2);
        assert_eq!((v, s.count), (2, Some(42)));
        assert_eq!(
            *log.borrow(),
            [
                "start rag_query/query",
                "start rag_query/query",
                "stop rag_query/query",
                "stop rag_query/query"
            ]
        );
    }
}
