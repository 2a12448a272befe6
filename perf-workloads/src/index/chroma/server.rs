//! A Chroma server, started by the run or reached at a URL, and the one
//! HTTP helper every call to it goes through: bounded timeouts, retries of
//! repeatable calls, one-line errors.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::atomic::{AtomicUsize, Ordering},
    thread,
    time::Duration,
};

use perf_contract::secret_url::SecretUrl;
use serde_json::Value;

use crate::{
    error::WorkloadError,
    index::chroma::config::ChromaConfig,
    server_process::{free_port, last_log_line, ServerProcess},
};

/// How long a started server has to answer its heartbeat.
const STARTUP: Duration = Duration::from_secs(60);
/// Batch size when the server does not say its maximum.
const DEFAULT_BATCH: usize = 1000;
const FIX_REMOTE: &str =
    "is the server running? set [vector.chroma] url, or leave it unset to let the run start one";

/// A folder removed (with everything in it) when dropped.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A server the run started. Fields drop in order: the process is stopped
/// and reaped before its folder is removed.
struct Local {
    process: ServerProcess,
    dir: ScratchDir,
}

/// A Chroma server: started by the run, or reached at a URL.
pub struct ChromaServer {
    /// Shown and stored without its credentials (`SecretUrl`).
    url: SecretUrl,
    /// What `/api/v2/version` says (the server's API version).
    api_version: String,
    /// The chromadb package's version, when the run installed it.
    package_version: Option<String>,
    max_batch_size: usize,
    /// Whether the server takes embeddings as base64 of little-endian
    /// f32 (`/api/v2/pre-flight-checks`), as Chroma's own client sends them.
    base64: bool,
    agent: ureq::Agent,
    request_timeout: Duration,
    connect_timeout: Duration,
    retries: u32,
    local: Option<Local>,
}

/// A call and its body.
#[derive(Clone, Copy)]
pub(super) enum Call<'a> {
    Get,
    Delete,
    Post(&'a str),
}

/// An HTTP answer, any status.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: String,
}

impl ChromaServer {
    /// Starts `chroma run` from the venv at `venv_dir` (see
    /// `perf_provision::catalog::CHROMADB`) on a free port of 127.0.0.1, with
    /// its data and log in a new folder under `scratch_dir`, and waits
    /// until it answers. Call it from the thread that lives as long as the
    /// run ([`ServerProcess::spawn`]).
    pub fn start(
        venv_dir: &Path,
        scratch_dir: &Path,
        config: &ChromaConfig,
    ) -> Result<ChromaServer, WorkloadError> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = scratch_dir.join(format!("chroma-{}-{n}", std::process::id()));
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |e: std::io::Error| WorkloadError::Io {
                path,
                message: e.to_string(),
            }
        };
        remove_orphans(scratch_dir);
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let dir = ScratchDir(dir);
        let data = dir.0.join("data");
        let mut attempt = 0;
        let (process, url) = loop {
            let port = free_port().map_err(io(&dir.0))?;
            let url = format!("http://127.0.0.1:{port}");
            let port = port.to_string();
            let args = [
                "run".as_ref(),
                "--path".as_ref(),
                data.as_os_str(),
                "--host".as_ref(),
                "127.0.0.1".as_ref(),
                "--port".as_ref(),
                port.as_ref(),
            ];
            let process = ServerProcess::spawn(
                &venv_dir.join("bin/chroma"),
                args,
                &[("NO_COLOR", "1")],
                &dir.0.join("server.log"),
            )?;
            match process.wait_ready(&format!("{url}/api/v2/heartbeat"), STARTUP) {
                Ok(()) => break (process, url),
                // Another process took the free port before the server bound
                // it (chroma says "Address ... is not available" and exits).
                Err(_) if attempt < 2 && port_taken(&process) => attempt += 1,
                Err(e) => return Err(e),
            }
        };
        let local = Local { process, dir };
        ChromaServer::open(url.into(), config, Some(local), package_version(venv_dir))
    }

    /// A running server at `url`.
    pub fn connect(url: &SecretUrl, config: &ChromaConfig) -> Result<ChromaServer, WorkloadError> {
        let url = SecretUrl::new(url.expose().trim_end_matches('/'));
        ChromaServer::open(url, config, None, None)
    }

    fn open(
        url: SecretUrl,
        config: &ChromaConfig,
        local: Option<Local>,
        package_version: Option<String>,
    ) -> Result<ChromaServer, WorkloadError> {
        let mut builder = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(config.request_timeout));
        if local.is_some() {
            // Our own 127.0.0.1 server: never through a proxy of the environment.
            builder = builder.proxy(None);
        }
        let mut server = ChromaServer {
            url,
            api_version: String::new(),
            package_version,
            max_batch_size: DEFAULT_BATCH,
            base64: false,
            agent: builder.build().into(),
            request_timeout: config.request_timeout,
            connect_timeout: config.connect_timeout,
            retries: config.retries,
            local,
        };
        server.json("chroma heartbeat", Call::Get, "/api/v2/heartbeat", true)?;
        let version = server.json("chroma version", Call::Get, "/api/v2/version", true)?;
        server.api_version = version.as_str().unwrap_or("unknown").to_string();
        // Older servers have no pre-flight checks: the default batch then.
        if let Ok(checks) = server.json(
            "chroma pre-flight",
            Call::Get,
            "/api/v2/pre-flight-checks",
            true,
        ) {
            if let Some(max) = checks["max_batch_size"].as_u64().filter(|m| *m > 0) {
                server.max_batch_size = max as usize;
            }
            server.base64 = checks["supports_base64_encoding"].as_bool() == Some(true);
        }
        Ok(server)
    }

    /// The address as shown (credentials masked).
    pub fn url(&self) -> String {
        self.url.redacted()
    }

    /// Most records one `add` may carry (`/api/v2/pre-flight-checks`).
    pub fn max_batch_size(&self) -> usize {
        self.max_batch_size
    }

    /// Whether `add` may send embeddings as base64 (see the field).
    pub fn takes_base64(&self) -> bool {
        self.base64
    }

    /// The chromadb package's version when known, else the server's API version.
    pub fn version(&self) -> &str {
        self.package_version.as_deref().unwrap_or(&self.api_version)
    }

    /// The server process, when the run started it.
    pub fn process(&self) -> Option<&ServerProcess> {
        self.local.as_ref().map(|l| &l.process)
    }

    /// The started server's data folder.
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.local.as_ref().map(|l| l.dir.0.join("data"))
    }

    /// One line for a run's context.
    pub fn describe(&self) -> String {
        match (&self.local, &self.package_version) {
            (Some(_), Some(v)) => format!(
                "chroma {v} (api {}) at {} (local server started by the run)",
                self.api_version, self.url
            ),
            (Some(_), None) => format!(
                "chroma (api {}) at {} (local server started by the run)",
                self.api_version, self.url
            ),
            (None, _) => format!("chroma (api {}) at {} (remote)", self.api_version, self.url),
        }
    }

    /// `call` on `path`, returning any HTTP answer. Retries connection
    /// failures and 5xx when `repeatable`, and a refused connection always.
    pub(super) fn send(
        &self,
        what: &str,
        call: Call,
        path: &str,
        repeatable: bool,
    ) -> Result<Reply, WorkloadError> {
        let url = format!("{}{path}", self.url.expose());
        let mut attempt = 0;
        loop {
            let result = self.once(call, &url);
            let retry = match &result {
                Ok(reply) => repeatable && reply.status >= 500,
                Err(e) => is_refused(e) || (repeatable && is_connection_failure(e)),
            };
            if retry && attempt < self.retries {
                attempt += 1;
                thread::sleep(Duration::from_millis(100 << attempt));
                continue;
            }
            return result.map_err(|e| self.unreachable(what, &e, attempt + 1));
        }
    }

    fn once(&self, call: Call, url: &str) -> Result<Reply, ureq::Error> {
        let resp = match call {
            Call::Get => self.agent.get(url).call(),
            Call::Delete => self.agent.delete(url).call(),
            Call::Post(body) => self
                .agent
                .post(url)
                .header("Content-Type", "application/json")
                .send(body),
        }?;
        let status = resp.status().as_u16();
        let body = resp.into_body().read_to_string()?;
        Ok(Reply { status, body })
    }

    /// [`send`](Self::send), then a 2xx answer's JSON, else an error
    /// quoting the server's message.
    pub(super) fn json(
        &self,
        what: &str,
        call: Call,
        path: &str,
        repeatable: bool,
    ) -> Result<Value, WorkloadError> {
        let reply = self.send(what, call, path, repeatable)?;
        if !(200..300).contains(&reply.status) {
            return Err(self.fail(format!("{what} failed: {}", http_error(&reply))));
        }
        serde_json::from_str(&reply.body).map_err(|e| {
            self.fail(format!(
                "{what}: the answer is not the JSON expected ({e}): {}",
                first_chars(&reply.body)
            ))
        })
    }

    pub(super) fn fail(&self, message: String) -> WorkloadError {
        WorkloadError::Server {
            what: "chroma",
            url: self.url.redacted(),
            message,
        }
    }

    /// A request that got no HTTP answer, in one line with the fix.
    fn unreachable(&self, what: &str, e: &ureq::Error, attempts: u32) -> WorkloadError {
        let tries = if attempts > 1 {
            format!(" ({attempts} attempts)")
        } else {
            String::new()
        };
        if let Some(process) = self.process() {
            if let Some(status) = process.exit_status() {
                let what = format!("exited ({status}): {what} failed{tries}");
                return process.failed(&self.url.redacted(), &what);
            }
        }
        let why = match e {
            ureq::Error::Timeout(ureq::Timeout::Connect) => format!(
                "could not connect within {} ms ([vector.chroma] connect_timeout_ms)",
                self.connect_timeout.as_millis()
            ),
            ureq::Error::Timeout(_) => format!(
                "no answer within {} ms ([vector.chroma] request_timeout_ms)",
                self.request_timeout.as_millis()
            ),
            other => other.to_string(),
        };
        let fix = if self.local.is_some() || !is_connection_failure(e) {
            String::new()
        } else {
            format!("; {FIX_REMOTE}")
        };
        self.fail(format!("{what} failed: {why}{tries}{fix}"))
    }
}

fn port_taken(process: &ServerProcess) -> bool {
    process.exit_status().is_some()
        && last_log_line(process.log_path()).is_some_and(|l| l.contains("is not available"))
}

fn is_refused(e: &ureq::Error) -> bool {
    matches!(e, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused)
}

/// No answer because there was no working connection (as opposed to a
/// server that took too long to answer).
fn is_connection_failure(e: &ureq::Error) -> bool {
    use std::io::ErrorKind::*;
    match e {
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => true,
        ureq::Error::Timeout(ureq::Timeout::Connect) => true,
        ureq::Error::Io(io) => matches!(
            io.kind(),
            ConnectionRefused | ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
        ),
        _ => false,
    }
}

/// `HTTP 400 InvalidArgumentError: message`, from Chroma's error body.
pub(super) fn http_error(reply: &Reply) -> String {
    let parsed: Option<Value> = serde_json::from_str(&reply.body).ok();
    let detail = match parsed.as_ref().map(|v| (&v["error"], &v["message"])) {
        Some((Value::String(kind), Value::String(message))) => format!("{kind}: {message}"),
        _ => first_chars(&reply.body),
    };
    format!("HTTP {} {}", reply.status, detail)
}

/// The first line of `text`, at most 200 characters.
pub(super) fn first_chars(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

/// The chromadb version installed in `venv_dir`, from its dist-info folder.
fn package_version(venv_dir: &Path) -> Option<String> {
    let lib = fs::read_dir(venv_dir.join("lib")).ok()?;
    lib.filter_map(|e| fs::read_dir(e.ok()?.path().join("site-packages")).ok())
        .flatten()
        .find_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            let version = name.strip_prefix("chromadb-")?.strip_suffix(".dist-info")?;
            Some(version.to_string())
        })
}

/// Removes the data folders of started servers whose run is gone: a run
/// killed by a signal stops its server (parent-death signal) but cannot
/// run the `Drop` that removes the folder. Folders are `chroma-<pid>-<n>`.
fn remove_orphans(scratch_dir: &Path) {
    let Ok(entries) = fs::read_dir(scratch_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix("chroma-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_errors_quote_chromas_message_or_the_body() {
        let reply = |status, body: &str| Reply {
            status,
            body: body.into(),
        };
        assert_eq!(
            http_error(&reply(
                409,
                r#"{"error":"ChromaError","message":"Collection [x] already exists"}"#
            )),
            "HTTP 409 ChromaError: Collection [x] already exists"
        );
        assert_eq!(
            http_error(&reply(502, "Bad Gateway\nfrom a proxy")),
            "HTTP 502 Bad Gateway"
        );
    }

    #[test]
    fn the_package_version_comes_from_the_venvs_dist_info() {
        let venv = tempfile::tempdir().unwrap();
        assert_eq!(package_version(venv.path()), None);
        let site = venv.path().join("lib/python3.11/site-packages");
        fs::create_dir_all(site.join("chromadb-1.5.9.dist-info")).unwrap();
        fs::create_dir_all(site.join("chromadb_rust_bindings")).unwrap();
        assert_eq!(package_version(venv.path()).as_deref(), Some("1.5.9"));
    }
}
