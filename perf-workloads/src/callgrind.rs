//! Instruction counts under Valgrind's callgrind: the deterministic mode for
//! machines without a hardware instruction counter (most VMs).
//!
//! `cargo xtask perf ... --mode instructions` runs the workloads binary under
//! `valgrind --tool=callgrind --collect-atstart=no` with a plan that sets
//! `callgrind`. The run's meter then has the [`CallgrindRegions`] hook: it
//! zeroes callgrind's counters, switches collection on for exactly one
//! measured operation and dumps a profile labelled `<workload>/<op>`; xtask
//! turns the dumps into `<op>.callgrind_instructions` samples. Callgrind counts
//! instructions of its own synthetic CPU, so the same binary and inputs give
//! the same count whatever else the machine is doing.
//!
//! Collection is per thread in callgrind, so in this mode the whole run
//! happens on one thread (see `main.rs`).
//!
//! The requests are Valgrind's client-request ABI: a fixed no-op instruction
//! sequence that Valgrind recognises. The crates that wrap it (crabgrind)
//! generate bindings with bindgen, which needs libclang at build time, for
//! the four requests used here; natively the sequence does nothing.

use std::{
    cell::RefCell,
    ffi::CString,
    sync::atomic::{AtomicBool, Ordering},
};

use crate::hook::{Op, OpHook};

static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Set once instrumentation is on: xtask starts valgrind with
/// `--instr-atstart=no`, so loading the corpus and the model runs at
/// near-native speed and instrumentation starts with the first region.
static INSTRUMENTING: AtomicBool = AtomicBool::new(false);

/// Callgrind's request codes (`callgrind.h`: `VG_USERREQ_TOOL_BASE('C','T')`).
const CALLGRIND_BASE: usize = ((b'C' as usize) << 24) | ((b'T' as usize) << 16);
const ZERO_STATS: usize = CALLGRIND_BASE + 1;
const TOGGLE_COLLECT: usize = CALLGRIND_BASE + 2;
const DUMP_STATS_AT: usize = CALLGRIND_BASE + 3;
const START_INSTRUMENTATION: usize = CALLGRIND_BASE + 4;
/// Core request (`valgrind.h`): non-zero when running under Valgrind.
const RUNNING_ON_VALGRIND: usize = 0x1001;

#[cfg(target_arch = "x86_64")]
fn request(code: usize, arg: usize) -> usize {
    let args: [usize; 6] = [code, arg, 0, 0, 0, 0];
    let result: usize;
    // SAFETY: the rotations of rdi add up to 128 bits (rdi is restored) and
    // `xchg rbx, rbx` changes nothing; natively this is a no-op that leaves
    // the default (0) in rdx. Under Valgrind, rax points at the request
    // block, which lives until the asm returns, and rdx receives the reply.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") args.as_ptr(),
            inout("rdx") 0usize => result,
            inout("rdi") 0usize => _,
            options(nostack),
        );
    }
    result
}

#[cfg(not(target_arch = "x86_64"))]
fn request(_code: usize, _arg: usize) -> usize {
    0
}

/// Whether this process runs under Valgrind (any tool).
pub fn running_on_valgrind() -> bool {
    request(RUNNING_ON_VALGRIND, 0) != 0
}

/// Switches [`CallgrindRegions`] on for the rest of the process; the caller has made
/// sure the process runs under callgrind on one thread.
pub fn enable() -> Result<(), String> {
    if !cfg!(target_arch = "x86_64") {
        return Err("callgrind instruction counts are implemented for x86_64 only".into());
    }
    if !running_on_valgrind() {
        return Err("the plan asks for callgrind instruction counts, but this process does not run under valgrind; use `cargo xtask perf check --mode instructions`".into());
    }
    ACTIVE.store(true, Ordering::Relaxed);
    Ok(())
}

/// Whether this process counts instructions under callgrind.
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// Callgrind regions as an [`OpHook`]: each measured operation's
/// instructions, alone, become one dump labelled `<workload>/<op>`, which
/// xtask reads as one sample of `<op>.callgrind_instructions`. A run has
/// this hook only after [`enable`] succeeded.
#[derive(Default)]
pub struct CallgrindRegions {
    /// The label of the open region, made before collection starts.
    label: RefCell<Option<CString>>,
}

impl OpHook for CallgrindRegions {
    fn start(&self, op: Op) {
        let label = CString::new(op.label()).expect("region labels have no NUL");
        *self.label.borrow_mut() = Some(label);
        if !INSTRUMENTING.swap(true, Ordering::Relaxed) {
            request(START_INSTRUMENTATION, 0);
        }
        request(ZERO_STATS, 0);
        request(TOGGLE_COLLECT, 0);
    }

    fn stop(&self, _op: Op) -> Option<u64> {
        request(TOGGLE_COLLECT, 0);
        if let Some(label) = self.label.borrow_mut().take() {
            request(DUMP_STATS_AT, label.as_ptr() as usize);
        }
        // The count is in the dump, which xtask reads after the run.
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_no_ops_natively() {
        // The test binary does not run under valgrind: the sequence must
        // leave the default reply and not disturb the program.
        assert!(!running_on_valgrind());
        let hook = CallgrindRegions::default();
        let op = Op::new(
            perf_contract::plan::WorkloadName::RagQuery,
            perf_contract::metric_key::CountedOp::Query,
        );
        hook.start(op);
        assert_eq!(std::hint::black_box(2 + 2), 4);
        assert_eq!(hook.stop(op), None);
        assert!(enable().is_err());
    }
}
