//! Reads the machine and software fingerprint recorded with every result:
//! CPU, cores, memory, OS, kernel, rustc, git commit and dirty flag.
//!
//! Linux facts come from /proc and /etc/os-release; anything unreadable is
//! recorded as "unknown" rather than failing the run.

use std::{collections::BTreeSet, fs, path::Path};

use chrono::Utc;
use perf_contract::environment::Environment;
use xshell::{cmd, Shell};

pub fn probe(sh: &Shell, root: &Path) -> Environment {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let os_release = fs::read_to_string("/etc/os-release").unwrap_or_default();
    let read_trim = |p: &str| fs::read_to_string(p).map(|s| s.trim().to_string()).ok();
    let (git_commit, git_dirty) = git_state(sh, root);
    Environment {
        timestamp: Utc::now(),
        hostname: read_trim("/proc/sys/kernel/hostname").unwrap_or_else(|| "unknown".into()),
        cpu_model: cpu_model(&cpuinfo).unwrap_or_else(|| "unknown".into()),
        logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        physical_cores: physical_cores(&cpuinfo),
        memory_bytes: mem_total(&meminfo).unwrap_or(0),
        os: os_name(&os_release).unwrap_or_else(|| std::env::consts::OS.into()),
        kernel: read_trim("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".into()),
        arch: std::env::consts::ARCH.into(),
        rustc: cmd!(sh, "rustc --version")
            .quiet()
            .read()
            .unwrap_or_else(|_| "unknown".into()),
        git_commit,
        git_dirty,
        cpu_signature: cpu_signature(&cpuinfo).unwrap_or_default(),
    }
}

/// Instruction-set extensions that decide which kernels a build or a
/// library picks at run time (ggml, candle, gemm, usearch).
const ISA_FLAGS: [&str; 22] = [
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "bmi2",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_vbmi",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "vaes",
    "vpclmulqdq",
    "asimd",
    "sve",
    "sve2",
];

/// `family F model M stepping S; <extensions>` of the first processor.
fn cpu_signature(cpuinfo: &str) -> Option<String> {
    let first = cpuinfo.split("\n\n").next()?;
    let get = |key: &str| first.lines().find_map(|l| field(l, key));
    let flags: Vec<&str> = get("flags")
        .or_else(|| get("Features"))?
        .split_whitespace()
        .collect();
    let isa: Vec<&str> = ISA_FLAGS
        .iter()
        .copied()
        .filter(|f| flags.contains(f))
        .collect();
    let generation = match (get("cpu family"), get("model"), get("stepping")) {
        (Some(f), Some(m), Some(s)) => format!("family {f} model {m} stepping {s}"),
        _ => get("CPU part").map_or_else(|| "unknown".into(), |p| format!("part {p}")),
    };
    Some(format!("{generation}; {}", isa.join(" ")))
}

fn git_state(sh: &Shell, root: &Path) -> (Option<String>, Option<bool>) {
    let _dir = sh.push_dir(root);
    let commit = cmd!(sh, "git rev-parse HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .ok();
    // Tracked files only: untracked scratch files do not change what was built.
    let dirty = cmd!(sh, "git status --porcelain --untracked-files=no")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .map(|s| !s.trim().is_empty());
    (commit, dirty)
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let (k, v) = line.split_once(':')?;
    (k.trim() == key).then(|| v.trim())
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find_map(|l| field(l, "model name").or_else(|| field(l, "Model")))
        .map(str::to_string)
}

/// Distinct (package, core) pairs; `None` when the kernel does not say
/// (many VMs and ARM boards).
fn physical_cores(cpuinfo: &str) -> Option<usize> {
    let mut cores = BTreeSet::new();
    let mut package = None;
    for line in cpuinfo.lines() {
        if let Some(v) = field(line, "physical id") {
            package = Some(v.to_string());
        }
        if let Some(v) = field(line, "core id") {
            cores.insert((package.clone(), v.to_string()));
        }
    }
    (!cores.is_empty()).then_some(cores.len())
}

fn mem_total(meminfo: &str) -> Option<u64> {
    let v = meminfo.lines().find_map(|l| field(l, "MemTotal"))?;
    let kib: u64 = v.trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

fn os_name(os_release: &str) -> Option<String> {
    os_release.lines().find_map(|l| {
        let v = l.strip_prefix("PRETTY_NAME=")?;
        Some(v.trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO: &str = "processor\t: 0\nmodel name\t: Test CPU @ 2.0GHz\nphysical id\t: 0\ncore id\t\t: 0\n\nprocessor\t: 1\nmodel name\t: Test CPU @ 2.0GHz\nphysical id\t: 0\ncore id\t\t: 0\n\nprocessor\t: 2\nphysical id\t: 0\ncore id\t\t: 1\n";

    #[test]
    fn reads_proc_files() {
        assert_eq!(cpu_model(CPUINFO).as_deref(), Some("Test CPU @ 2.0GHz"));
        assert_eq!(
            physical_cores(CPUINFO),
            Some(2),
            "hyperthreads share a core id"
        );
        assert_eq!(
            mem_total("MemTotal:       24576000 kB\nMemFree: 1 kB\n"),
            Some(24576000 * 1024)
        );
        assert_eq!(
            os_name("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(physical_cores("processor: 0\n"), None);
    }

    #[test]
    fn the_cpu_signature_names_generation_and_extensions() {
        let info = "processor\t: 0\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\nstepping\t: 1\nflags\t\t: fpu sse4_2 avx avx2 avx512f avx512_vnni avx512_bf16 xsave\n\nprocessor\t: 1\n";
        assert_eq!(
            cpu_signature(info).as_deref(),
            Some("family 25 model 17 stepping 1; sse4_2 avx avx2 avx512f avx512_vnni avx512_bf16")
        );
        assert_eq!(
            cpu_signature("processor: 0\n"),
            None,
            "no flags, no signature"
        );
    }
}
