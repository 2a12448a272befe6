//! Retired-instruction counts (Linux perf events), the deterministic
//! companion of wall time: on a shared, noisy machine a workload's
//! instruction count barely moves between runs while its time does.
//!
//! The counter is opened once, before the model starts its worker threads,
//! with `inherit` set so those threads are counted too; user space only
//! (`exclude_kernel`), which unprivileged processes may count. Where the
//! kernel or the virtual machine offers no hardware counter, opening fails,
//! the reason is recorded in the run context and the run measures time only.

use std::{cell::Cell, sync::Mutex};

use crate::hook::{Op, OpHook};

/// How the run counted, for the baseline's context.
pub fn mode_description(result: &Result<(), String>) -> String {
    match result {
        Ok(()) => {
            "instructions + time (perf_event PERF_COUNT_HW_INSTRUCTIONS, user space, all threads)"
                .into()
        }
        Err(why) => format!("time only: hardware instruction counter unavailable ({why})"),
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use perf_event::{events::Hardware, Builder, Counter};

    pub struct Instructions(Counter);

    impl Instructions {
        pub fn open() -> Result<Instructions, String> {
            let mut counter = Builder::new(Hardware::INSTRUCTIONS)
                .inherit(true)
                .exclude_kernel(true)
                .exclude_hv(true)
                .build()
                .map_err(|e| format!("perf_event_open: {e}"))?;
            counter.enable().map_err(|e| format!("enable: {e}"))?;
            // A counter the PMU cannot schedule reads as an error or stays
            // at zero; both mean "not available" rather than a real count.
            let first = counter.read().map_err(|e| format!("read: {e}"))?;
            let mut x = 0u64;
            for i in 0..10_000u64 {
                x = x.wrapping_add(std::hint::black_box(i));
            }
            std::hint::black_box(x);
            let second = counter.read().map_err(|e| format!("read: {e}"))?;
            if second <= first {
                return Err("the counter does not advance".into());
            }
            Ok(Instructions(counter))
        }

        pub fn read(&mut self) -> Option<u64> {
            self.0.read().ok()
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub struct Instructions;

    impl Instructions {
        pub fn open() -> Result<Instructions, String> {
            Err("perf events are Linux-only".into())
        }

        pub fn read(&mut self) -> Option<u64> {
            None
        }
    }
}

static COUNTER: Mutex<Option<imp::Instructions>> = Mutex::new(None);

/// Opens the process-wide counter; call before any worker thread starts.
pub fn open() -> Result<(), String> {
    let counter = imp::Instructions::open()?;
    *COUNTER.lock().unwrap_or_else(|e| e.into_inner()) = Some(counter);
    Ok(())
}

/// Instructions retired so far by the process, when counting.
pub fn now() -> Option<u64> {
    COUNTER
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()?
        .read()
}

/// The process-wide counter as an [`OpHook`]: each measured operation's
/// retired instructions. A run has this hook only when [`open`] succeeded.
#[derive(Default)]
pub struct InstructionCounter {
    before: Cell<Option<u64>>,
}

impl OpHook for InstructionCounter {
    fn start(&self, _op: Op) {
        self.before.set(now());
    }

    fn stop(&self, _op: Op) -> Option<u64> {
        let after = now();
        self.before
            .take()
            .zip(after)
            .map(|(b, a)| a.saturating_sub(b))
    }
}
