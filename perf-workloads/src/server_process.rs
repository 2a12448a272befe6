//! A server the run starts (a vector database, a model server) as a child
//! process that cannot outlive the run: the kernel kills it if we die
//! (`PR_SET_PDEATHSIG`, however we end, `kill -9` included), and dropping
//! the handle stops it (SIGTERM, a short grace, then SIGKILL) and always
//! reaps it. Its stdout and stderr go to a log file, whose last meaningful
//! line is what an error about the server quotes.

use std::{
    ffi::OsStr,
    fs,
    io::{self, Read, Seek, SeekFrom},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::Mutex,
    thread,
    time::{Duration, Instant},
};

use crate::error::WorkloadError;

/// How long a server has to exit after SIGTERM before it gets SIGKILL.
const GRACE: Duration = Duration::from_secs(3);

pub struct ServerProcess {
    /// Locked only for `try_wait`/`wait`, which need `&mut`: the handle is
    /// shared between threads (engines are `Sync`).
    child: Mutex<Child>,
    pid: u32,
    program: String,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `program args...` with stdin closed and stdout and stderr
    /// appended to `log` (created). `env` is added to our environment.
    ///
    /// The parent-death signal fires when the *thread* that spawned the
    /// child exits, not the process: spawn from a thread that lives as long
    /// as the server is needed (the run's main thread, or a test's thread).
    pub fn spawn<I, S>(
        program: &Path,
        args: I,
        env: &[(&str, &str)],
        log: &Path,
    ) -> Result<ServerProcess, WorkloadError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let name = program.display().to_string();
        let fail = |message: String| WorkloadError::Engine {
            engine: name.clone(),
            message,
        };
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| fail(format!("cannot create its log {}: {e}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(|e| fail(format!("cannot share its log {}: {e}", log.display())))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        perf_provision::die_with_parent(&mut command);
        let child = command
            .spawn()
            .map_err(|e| fail(format!("cannot start it: {e}")))?;
        Ok(ServerProcess {
            pid: child.id(),
            child: Mutex::new(child),
            program: name,
            log: log.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Its exit status if it has exited (and is now reaped).
    pub fn exit_status(&self) -> Option<ExitStatus> {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        child.try_wait().ok().flatten()
    }

    pub fn is_running(&self) -> bool {
        self.exit_status().is_none()
    }

    /// Polls `url` (a health endpoint) until it answers HTTP 200. Fails, in
    /// one line with the last meaningful line of the log, when the server
    /// exits first or `deadline` passes.
    pub fn wait_ready(&self, url: &str, deadline: Duration) -> Result<(), WorkloadError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(1)))
            .timeout_global(Some(Duration::from_secs(2)))
            .proxy(None)
            .build()
            .into();
        let start = Instant::now();
        loop {
            if let Some(status) = self.exit_status() {
                return Err(self.failed(url, &format!("exited ({status}) before it answered")));
            }
            let last = match agent.get(url).call() {
                Ok(resp) if resp.status() == 200 => return Ok(()),
                Ok(resp) => format!("HTTP {}", resp.status().as_u16()),
                Err(e) => e.to_string(),
            };
            if start.elapsed() >= deadline {
                return Err(self.failed(
                    url,
                    &format!(
                        "did not answer within {} s (last try: {last})",
                        deadline.as_secs()
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// `what` happened to the server at `url`, with its log's last word.
    pub fn failed(&self, url: &str, what: &str) -> WorkloadError {
        let log = match last_log_line(&self.log) {
            Some(line) => format!("; its log ends: {line}"),
            None => format!("; its log {} is empty", self.log.display()),
        };
        WorkloadError::Server {
            // The message names the program; the URL says which server.
            what: "local",
            url: url.to_string(),
            message: format!("`{}` (pid {}) {what}{log}", self.program, self.pid),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|p| p.into_inner());
        // Only a child not yet reaped is signalled: its pid is still ours.
        if let Ok(None) = child.try_wait() {
            // SAFETY: kill has no memory effects; the pid is our unreaped child.
            unsafe {
                libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
            }
            let start = Instant::now();
            while start.elapsed() < GRACE {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

/// A free TCP port on 127.0.0.1, for a server to listen on. Another process
/// could take it between this call and the server's bind; the server then
/// fails to start, and says so in its log.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The last line of the log with text in it, colour codes removed,
/// shortened to 200 characters. Lines that only say where a log record
/// came from (tracing's `at src/x.rs:12` and `in <span> with <fields>`)
/// are skipped.
pub fn last_log_line(log: &Path) -> Option<String> {
    let mut file = fs::File::open(log).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)))
        .ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = strip_ansi(&String::from_utf8_lossy(&bytes));
    let location = |l: &str| {
        (l.starts_with("at ")
            && l.rsplit_once(':')
                .is_some_and(|(_, n)| n.parse::<u32>().is_ok()))
            || (l.starts_with("in ") && l.contains(" with "))
    };
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !location(l))?;
    let mut short: String = line.chars().take(200).collect();
    if short.len() < line.len() {
        short.push_str("...");
    }
    Some(short)
}

/// `text` without ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.next() == Some('[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_meaningful_line_skips_blanks_colours_and_source_locations() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        assert_eq!(last_log_line(&log), None);
        fs::write(
            &log,
            "banner\n  \u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m listening\n    \u{1b}[2;3mat\u{1b}[0m rust/frontend/src/server.rs:416\n    in HTTP request with http.method: POST\n\n",
        )
        .unwrap();
        assert_eq!(last_log_line(&log).as_deref(), Some("2026  INFO listening"));
        fs::write(&log, "Address 127.0.0.1:8798 is not available\n").unwrap();
        assert_eq!(
            last_log_line(&log).as_deref(),
            Some("Address 127.0.0.1:8798 is not available")
        );
    }

    #[test]
    fn a_server_that_exits_early_is_reported_in_one_line_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let p = ServerProcess::spawn(
            Path::new("/bin/sh"),
            ["-c", "echo starting; echo 'port is taken' >&2; exit 3"],
            &[],
            &log,
        )
        .unwrap();
        let err = p
            .wait_ready("http://127.0.0.1:9/health", Duration::from_secs(10))
            .unwrap_err()
            .to_string();
        assert!(err.contains("exited (exit status: 3)"), "{err}");
        assert!(err.ends_with("its log ends: port is taken"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        assert!(!p.is_running());
    }

    #[test]
    fn drop_stops_and_reaps_a_server_that_ignores_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let p = ServerProcess::spawn(
            Path::new("/bin/sh"),
            [
                "-c",
                "trap '' TERM; echo ready; while :; do sleep 0.05; done",
            ],
            &[],
            &log,
        )
        .unwrap();
        let pid = p.pid();
        // SIGTERM before the trap is set would end it at once.
        while last_log_line(&log).is_none() {
            thread::sleep(Duration::from_millis(10));
        }
        assert!(p.is_running());
        let start = Instant::now();
        drop(p);
        // The grace period, then SIGKILL.
        assert!(start.elapsed() >= GRACE);
        assert!(start.elapsed() < GRACE + Duration::from_secs(2));
        // Reaped: no /proc entry left, not even a zombie.
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn free_ports_are_bindable() {
        let port = free_port().unwrap();
        assert!(port > 0);
        TcpListener::bind(("127.0.0.1", port)).unwrap();
    }
}
