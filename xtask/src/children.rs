//! Child processes that cannot outlive the front end, and whether a process
//! recorded by id (in a scratch folder's name) is still alive.
//!
//! A CI runner's timeout or a supervisor signals xtask's own pid, not its
//! process group: without this, a `perf-workloads` (several GB of model and
//! index) or a valgrind run kept going for minutes after xtask was gone.
//! The kernel's parent-death signal covers every way xtask can end,
//! `kill -9` included, which no handler or `Drop` in xtask could; it
//! reaches a direct child only, so a command that starts processes of its
//! own (cargo: rustc, build scripts; the workloads process: servers, pip)
//! runs under a reaper (`reaped`, `reaper.rs`) that ends all of them.

use std::{io, os::unix::process::CommandExt, process::Command};

/// The one implementation, shared with the workloads process (servers)
/// and provisioning (pip): see its docs.
pub use perf_provision::die_with_parent;

/// `command` (program, arguments, environment changes, folder) run under
/// xtask's reaper mode: the command and every process it starts, however
/// deep or detached, are killed within moments of xtask's end, `kill -9`
/// included (see `reaper.rs`). Set stdio and any `pre_exec` hook on the
/// returned command: the reaper passes its stdio on, its persona
/// (`fixed_layout`) is inherited, and nothing else of `command` is read.
pub fn reaped(command: &Command) -> Command {
    // The running binary itself, even if its file was replaced since.
    let mut reaper = Command::new("/proc/self/exe");
    reaper
        .arg0("xtask")
        .arg(crate::reaper::ARG)
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => reaper.env(key, value),
            None => reaper.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        reaper.current_dir(dir);
    }
    // Until the reaper arms its own parent-death signal.
    die_with_parent(&mut reaper);
    reaper
}

/// Starts the child with address-space layout randomisation off (Linux's
/// `ADDR_NO_RANDOMIZE` persona, what `setarch -R` does). `perf compare` runs
/// its two builds so: a layout difference between the sides is then the
/// code's, not address luck. Measured, it is not the whole story: with it,
/// two processes of one binary still differed by up to 12-18% on the
/// microsecond stages (search, parent lookup) over a whole run.
pub fn fixed_layout(command: &mut Command) {
    let fix = || -> io::Result<()> {
        // SAFETY: personality is an async-signal-safe system call with no
        // memory of ours involved; 0xffffffff only queries the persona.
        unsafe {
            let current = libc::personality(0xffff_ffff);
            if current == -1
                || libc::personality((current | libc::ADDR_NO_RANDOMIZE) as libc::c_ulong) == -1
            {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    };
    // SAFETY: the hook allocates nothing and touches no lock.
    unsafe {
        command.pre_exec(fix);
    }
}

/// Whether process `pid` exists (a zombie counts as gone: it runs nothing).
pub fn is_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised name, which may itself hold ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X") | None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reaped_command_keeps_its_arguments_environment_and_folder() {
        let mut c = Command::new("cargo");
        c.args(["build", "--release"])
            .env("CARGO_TARGET_DIR", "/t")
            .env_remove("RUSTFLAGS")
            .current_dir("/src");
        let r = reaped(&c);
        assert_eq!(r.get_program(), "/proc/self/exe");
        let args: Vec<_> = r.get_args().collect();
        assert_eq!(args, ["__reap", "cargo", "build", "--release"]);
        let envs: Vec<_> = r.get_envs().collect();
        assert_eq!(
            envs,
            [
                ("CARGO_TARGET_DIR".as_ref(), Some("/t".as_ref())),
                ("RUSTFLAGS".as_ref(), None)
            ]
        );
        assert_eq!(r.get_current_dir(), Some("/src".as_ref()));
    }

    #[test]
    fn a_finished_child_is_not_alive_and_we_are() {
        assert!(is_alive(std::process::id()));
        let mut c = Command::new("true");
        die_with_parent(&mut c);
        let mut child = c.spawn().unwrap();
        let pid = child.id();
        assert!(child.wait().unwrap().success());
        assert!(!is_alive(pid));
    }
}
