//! The meter every workload measures its operations with: wall time of the
//! operation alone, plus whatever the run's [`OpHook`]s count around it
//! (retired instructions, callgrind regions). Which hooks a run has is
//! decided once from the plan and the machine, not by the workloads.
//!
//! A meter given the counting allocator also records what each warm-up
//! operation allocated (calls and bytes, all threads); the run turns those
//! into per-workload metrics after the workload ([`Meter::take_allocations`]).
//! Warm-up, not measured, operations: counting costs a few atomic adds per
//! allocation, which made the measured query 2.7% slower (`perf compare`,
//! +1.0% … +4.3%), while a warm-up runs the same code on the same inputs.

use std::{
    cell::RefCell,
    time::{Duration, Instant},
};

use perf_profile::{AllocStats, CountingAllocator, Region};

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
    allocator: Option<&'static CountingAllocator>,
    allocations: RefCell<Vec<(Op, AllocStats)>>,
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

    /// Also records each warm-up operation's allocations; counting is on
    /// only while one runs, so measured operations pay one relaxed load
    /// per allocation.
    pub fn counting_allocations(mut self, allocator: &'static CountingAllocator) -> Meter {
        self.allocator = Some(allocator);
        self
    }

    /// The allocations of `workload`'s warm-up operations since the last
    /// call, in the order they ran, removed from the meter.
    pub fn take_allocations(
        &self,
        workload: perf_contract::plan::WorkloadName,
    ) -> Vec<(Op, AllocStats)> {
        let mut all = self.allocations.borrow_mut();
        let (mine, rest): (Vec<_>, Vec<_>) =
            all.drain(..).partition(|(op, _)| op.workload == workload);
        *all = rest;
        mine
    }

    /// Runs `f` as the operation `op`; `measured` false marks a warm-up
    /// call. A measured call is timed with every hook around it (hooks start
    /// before the clock and stop after it, so their own cost is not in
    /// `elapsed`); a warm-up call is timed too, seen by no hook, and has its
    /// allocations counted when the meter counts them.
    pub fn measure<T>(&self, op: Op, measured: bool, f: impl FnOnce() -> T) -> (T, OpSample) {
        if !measured {
            return self.warm_up(op, f);
        }
        for h in &self.hooks {
            h.start(op);
        }
        let start = Instant::now();
        let out = f();
        let elapsed = start.elapsed();
        let mut count = None;
        for h in self.hooks.iter().rev() {
            count = count.or(h.stop(op));
        }
        (out, OpSample { elapsed, count })
    }

    fn warm_up<T>(&self, op: Op, f: impl FnOnce() -> T) -> (T, OpSample) {
        let region = self.allocator.map(|a| {
            a.enable();
            Region::start(a)
        });
        let start = Instant::now();
        let out = f();
        let elapsed = start.elapsed();
        if let (Some(a), Some(region)) = (self.allocator, region) {
            a.disable();
            self.allocations.borrow_mut().push((op, region.finish()));
        }
        let sample = OpSample {
            elapsed,
            count: None,
        };
        (out, sample)
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
        let (v, warm) = meter.measure(op, false, || 1);
        assert_eq!((v, warm.count), (1, None));
        assert!(log.borrow().is_empty(), "warm-up calls are not hooked");
        let (v, s) = meter.measure(op, true, || 2);
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
