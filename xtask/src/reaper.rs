//! The hidden `__reap` mode: xtask started again (`/proc/self/exe`) as the
//! parent of one command whose whole process tree must end with xtask
//! (`children::reaped`: the build, the workloads process).
//!
//! The parent-death signal reaches a direct child only: cargo died with
//! xtask, but the rustc and build scripts it had started (cmake, make and
//! cc for llama.cpp) went on with parent 1, and so would a pip build under
//! the workloads process. A `kill -9` runs no code of xtask, so another
//! process must do the killing: this one. It learns of xtask's death from
//! the kernel (its own parent-death signal), is the *child subreaper* of
//! everything below it (a process whose parent dies is reparented here,
//! not to init, whatever session or process group it moved to), and then
//! kills and reaps every process below it. The command keeps xtask's
//! stdin, stdout and stderr (nothing passes through this process) and its
//! exit status is passed on, a death by signal as the same signal.
//!
//! The command stays in xtask's process group: in its own, it would be a
//! background job on a terminal (stopped by SIGTTOU under `stty tostop`,
//! out of reach of Ctrl-C), and a group kill would miss what left the
//! group anyway; the subreaper reaches everything.
//!
//! Signals ignored when xtask starts stay ignored, here and (inherited)
//! in xtask and every command: a shell ignores SIGINT and SIGQUIT in a job
//! it starts with `&` so that Ctrl-C reaches only the foreground job, and
//! `nohup` ignores SIGHUP, on purpose both times. Resetting them would end
//! a background `cargo xtask perf check &` with the foreground command's
//! Ctrl-C. Such a run still ends, whole, at SIGTERM or SIGKILL (what CI
//! runners send after SIGINT); tests that signal xtask start it with
//! default dispositions (`tests/support`).

use std::{
    ffi::OsString,
    io, mem,
    os::unix::process::CommandExt,
    process::{Command, ExitCode},
    ptr,
};

use libc::{c_int, pid_t};

/// The first argument that selects this mode; the command follows it.
pub const ARG: &str = "__reap";

/// Signals that end the command and everything below it, unless ignored
/// when the reaper started.
const STOP: [c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Runs as the reaper if xtask was started as one (`xtask __reap PROGRAM
/// ARGS...`), returning its exit code; `None` for every other command line.
pub fn run_if_asked() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != ARG {
        return None;
    }
    let Some(program) = args.next() else {
        eprintln!("error: `xtask {ARG}` needs a command to run: `xtask {ARG} PROGRAM ARGS...`");
        return Some(ExitCode::from(2));
    };
    Some(run(program, args.collect()))
}

fn run(program: OsString, args: Vec<OsString>) -> ExitCode {
    // Read before the parent-death signal is replaced: until then the
    // SIGKILL that `children::reaped` armed covers a parent that dies.
    // SAFETY: getppid cannot fail and touches no memory.
    let parent = unsafe { libc::getppid() };
    let watched = match watch() {
        Ok(set) => set,
        Err(e) => {
            eprintln!(
                "error: the reaper of {} cannot set up its signals: {e}",
                program.to_string_lossy()
            );
            return ExitCode::from(125);
        }
    };
    // SAFETY: getppid cannot fail and touches no memory.
    if unsafe { libc::getppid() } != parent {
        // xtask is already gone: start nothing.
        return ExitCode::FAILURE;
    }
    let mut command = Command::new(&program);
    command.args(&args);
    // The command starts with no signal blocked: std leaves the mask as
    // it is (seen: a `sh -c 'kill -TERM $$'` went on, its SIGTERM blocked).
    let unblock = || -> io::Result<()> {
        // SAFETY: sigemptyset and sigprocmask are async-signal-safe and
        // touch only a local.
        unsafe {
            let mut none: libc::sigset_t = mem::zeroed();
            libc::sigemptyset(&mut none);
            if libc::sigprocmask(libc::SIG_SETMASK, &none, ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    };
    // SAFETY: the hook allocates nothing and touches no lock.
    unsafe {
        command.pre_exec(unblock);
    }
    // Should the reaper itself be killed (SIGKILL, the OOM killer), the
    // command still ends with it.
    perf_provision::die_with_parent(&mut command);
    let main = match command.spawn() {
        Ok(child) => child.id() as pid_t,
        Err(e) => {
            eprintln!(
                "error: cannot start {}: {e}: check that it is installed and on PATH",
                program.to_string_lossy()
            );
            return ExitCode::from(127);
        }
    };
    let mut status = None;
    loop {
        let mut signal: c_int = 0;
        // SAFETY: both pointers are to live locals; every watched signal
        // is blocked, so sigwait takes it from the pending set.
        let err = unsafe { libc::sigwait(&watched, &mut signal) };
        if err != 0 {
            continue;
        }
        if signal != libc::SIGCHLD {
            kill_everything_below();
            die_by(signal);
        }
        // A child ended (the command, or an orphan that came to us), or
        // xtask did: SIGCHLD is also our parent-death signal, and standard
        // signals merge, so both are checked every time.
        reap_ended(main, &mut status);
        // SAFETY: getppid cannot fail and touches no memory.
        if unsafe { libc::getppid() } != parent {
            kill_everything_below();
            return ExitCode::FAILURE;
        }
        if let Some(status) = status {
            // Orphans still running (a daemon the command started on
            // purpose, like a compiler cache's server) are left alone, as
            // without the reaper: they go to init when we exit.
            return pass_on(status);
        }
    }
}

/// Blocks SIGCHLD and the stop signals not ignored at start, for
/// `sigwait`, and arms SIGCHLD as the parent-death signal: no handler
/// runs, so nothing here has to be async-signal-safe.
fn watch() -> io::Result<libc::sigset_t> {
    let check = |rc: c_int| {
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    // SAFETY: plain system calls on locals; sigset_t and sigaction are
    // valid when zeroed (and are initialised by the calls anyway).
    unsafe {
        let mut set: libc::sigset_t = mem::zeroed();
        check(libc::sigemptyset(&mut set))?;
        // waitpid needs SIGCHLD's default action: an inherited SIG_IGN
        // would have the kernel reap children and lose their status.
        if libc::signal(libc::SIGCHLD, libc::SIG_DFL) == libc::SIG_ERR {
            return Err(io::Error::last_os_error());
        }
        check(libc::sigaddset(&mut set, libc::SIGCHLD))?;
        for signal in STOP {
            let mut current: libc::sigaction = mem::zeroed();
            check(libc::sigaction(signal, ptr::null(), &mut current))?;
            if current.sa_sigaction != libc::SIG_IGN {
                check(libc::sigaddset(&mut set, signal))?;
            }
        }
        // The command starts with an empty mask again (`run`).
        check(libc::sigprocmask(libc::SIG_BLOCK, &set, ptr::null_mut()))?;
        // prctl reads its second argument as an unsigned long.
        check(libc::prctl(
            libc::PR_SET_CHILD_SUBREAPER,
            1 as libc::c_ulong,
        ))?;
        check(libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGCHLD as libc::c_ulong,
        ))?;
        // Named in ps and top, instead of `exe`.
        check(libc::prctl(
            libc::PR_SET_NAME,
            c"xtask-reaper".as_ptr() as libc::c_ulong,
        ))?;
        Ok(set)
    }
}

/// Reaps every child that has ended, keeping the command's status.
fn reap_ended(main: pid_t, status: &mut Option<c_int>) {
    loop {
        let mut raw: c_int = 0;
        // SAFETY: `raw` is a live local.
        let pid = unsafe { libc::waitpid(-1, &mut raw, libc::WNOHANG) };
        if pid <= 0 {
            return;
        }
        if pid == main {
            *status = Some(raw);
        }
    }
}

/// SIGKILLs every child, reaps one, and again, until none is left: a child
/// killed hands its own children to us (we are their subreaper), so the
/// next round gets them, down to the last process of the tree.
fn kill_everything_below() {
    loop {
        for pid in children() {
            // SAFETY: kill has no memory effects; a child is not reaped
            // by anyone but us, so its pid is still ours.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        // Blocks until one of the children just killed (or one that ended
        // on its own) is reaped; fails once we have no child at all.
        // SAFETY: a null status pointer is allowed.
        if unsafe { libc::waitpid(-1, ptr::null_mut(), 0) } == -1
            && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR)
        {
            return;
        }
    }
}

/// Our children, zombies included, from /proc (`/proc/PID/task/*/children`
/// needs a kernel option some VMs' kernels lack).
fn children() -> Vec<pid_t> {
    // SAFETY: getpid cannot fail and touches no memory.
    let me = unsafe { libc::getpid() };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<pid_t>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| parent_in_stat(&stat))
                == Some(me)
        })
        .collect()
}

/// The parent pid in a `/proc/PID/stat` line; the name before it is
/// parenthesised and may itself hold spaces and ')'.
fn parent_in_stat(stat: &str) -> Option<pid_t> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The command's exit status as ours: its code, or its signal.
fn pass_on(status: c_int) -> ExitCode {
    if libc::WIFEXITED(status) {
        return ExitCode::from(libc::WEXITSTATUS(status) as u8);
    }
    if libc::WIFSIGNALED(status) {
        die_by(libc::WTERMSIG(status));
    }
    ExitCode::FAILURE
}

/// Ends this process by `signal` at its default action, so our parent sees
/// what it would have seen of the command (or of us, for a stop signal).
fn die_by(signal: c_int) -> ! {
    // SAFETY: plain system calls on locals.
    unsafe {
        // No core file of the reaper for the command's crash or a SIGQUIT.
        let mut core: libc::rlimit = mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_CORE, &mut core) == 0 {
            core.rlim_cur = 0;
            libc::setrlimit(libc::RLIMIT_CORE, &core);
        }
        libc::signal(signal, libc::SIG_DFL);
        let mut set: libc::sigset_t = mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, ptr::null_mut());
        libc::raise(signal);
    }
    // A signal whose default is to be ignored (none ends a process).
    std::process::exit(128 + signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_is_read_past_a_name_with_spaces_and_parentheses() {
        assert_eq!(parent_in_stat("42 (a) b) c) S 7 42 42 0"), Some(7));
        assert_eq!(parent_in_stat("42 (sh) S 1 42"), Some(1));
        assert_eq!(parent_in_stat("garbage"), None);
    }
}
