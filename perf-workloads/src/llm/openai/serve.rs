//! `--openai-serve`: the run starts an OpenAI-compatible server itself,
//! llama-cpp-python's (`python -m llama_cpp.server`) on the plan's GGUF, on
//! a free loopback port, and points the `openai` engine and `server_load`
//! at it. The server lives exactly as long as the run: it is stopped and
//! reaped when the run ends, and killed by the kernel if the run dies
//! (`crate::server_process`).
//!
//! The interpreter is `PERF_PYTHON` (else `python3`) when it already has
//! `llama_cpp.server`; otherwise the project provisions llama-cpp-python
//! into a venv of its own (`perf_provision::catalog::LLAMA_CPP_SERVER`),
//! which compiles llama.cpp once, minutes on two cores.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use perf_contract::plan::Plan;

use crate::{
    error::WorkloadError,
    llm::gguf_provision::provision_gguf,
    server_process::{free_port, ServerProcess},
};

/// The started server and the plan that points at it.
pub struct Served {
    pub process: ServerProcess,
    pub plan: Plan,
}

/// How long the server has to load the model and answer.
const STARTUP: Duration = Duration::from_secs(180);

/// Starts the server when the plan asks for one (`[llm.openai] serve`).
pub fn serve_if_asked(
    plan: &Plan,
    on_event: &mut dyn FnMut(perf_provision::Event),
) -> Result<Option<Served>, WorkloadError> {
    let Some(openai) = plan.llm.openai.as_ref().filter(|o| o.serve) else {
        return Ok(None);
    };
    let gguf = provision_gguf(plan.llm.model.as_deref(), &plan.llm.cache_dir, on_event)?;
    let python = server_python(&plan.vector.tools_dir, on_event)?;
    std::fs::create_dir_all(&plan.vector.scratch_dir).map_err(|e| WorkloadError::Io {
        path: plan.vector.scratch_dir.clone(),
        message: e.to_string(),
    })?;
    let port = free_port().map_err(|e| WorkloadError::Server {
        what: "openai",
        url: "http://127.0.0.1".into(),
        message: format!("no free port: {e}"),
    })?;
    let url = format!("http://127.0.0.1:{port}");
    let threads = if plan.threads > 0 {
        plan.threads
    } else {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    };
    let log = plan
        .vector
        .scratch_dir
        .join(format!("llama-cpp-server-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let port = port.to_string();
    let threads = threads.to_string();
    let model = gguf.path.as_os_str();
    let args: [&std::ffi::OsStr; 14] = [
        "-m".as_ref(),
        "llama_cpp.server".as_ref(),
        "--model".as_ref(),
        model,
        "--host".as_ref(),
        "127.0.0.1".as_ref(),
        "--port".as_ref(),
        port.as_ref(),
        "--n_threads".as_ref(),
        threads.as_ref(),
        "--n_ctx".as_ref(),
        "4096".as_ref(),
        "--model_alias".as_ref(),
        openai.model.as_ref(),
    ];
    let process = ServerProcess::spawn(&python, args, &[], &log)?;
    process.wait_ready(&format!("{url}/v1/models"), STARTUP)?;
    let mut plan = plan.clone();
    if let Some(o) = plan.llm.openai.as_mut() {
        o.base_url = url.into();
    }
    Ok(Some(Served { process, plan }))
}

/// An interpreter with `llama_cpp.server`: the machine's, else provisioned.
fn server_python(
    tools_dir: &Path,
    on_event: &mut dyn FnMut(perf_provision::Event),
) -> Result<PathBuf, WorkloadError> {
    let own = std::env::var("PERF_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_server = |python: &Path| {
        Command::new(python)
            .args(["-c", "import llama_cpp.server"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has_server(Path::new(&own)) {
        return Ok(PathBuf::from(own));
    }
    let venv = perf_provision::provide_tool(
        &perf_provision::catalog::LLAMA_CPP_SERVER,
        tools_dir,
        on_event,
    )
    .map_err(|e| WorkloadError::LlmUnavailable(e.to_string()))?;
    Ok(venv.join("bin/python"))
}
