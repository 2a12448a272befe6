//! Child processes that cannot outlive the process that started them:
//! pip installing a tool, a server a run starts, the workloads process
//! xtask drives. The kernel's parent-death signal covers every way the
//! parent can end, `kill -9` included, which no handler or `Drop` could.

use std::{io, os::unix::process::CommandExt, process::Command};

/// Makes the child started by `command` receive SIGKILL when the thread that
/// spawns it ends. Spawn from a thread that lives as long as the child is
/// needed (a main thread, or the thread that waits for it): the kernel
/// sends the parent-death signal when the *thread* that forked exits, not
/// the process.
pub fn die_with_parent(command: &mut Command) {
    // Read before the fork: the child compares it with its parent after
    // asking for the signal, to close the race where the parent died in
    // between.
    let parent = std::process::id() as libc::pid_t;
    let arm = move || -> io::Result<()> {
        // SAFETY: prctl and getppid are async-signal-safe system calls with
        // no memory of ours involved, as a pre_exec hook requires.
        unsafe {
            // prctl reads its second argument as an unsigned long.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                // The parent is already gone: nobody waits for this child.
                libc::_exit(1);
            }
        }
        Ok(())
    };
    // SAFETY: the hook allocates nothing and touches no lock (see above).
    unsafe {
        command.pre_exec(arm);
    }
}
