//! The machine and software a result was measured on, and the fingerprint
//! that decides whether two results may be compared at all.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub timestamp: DateTime<Utc>,
    pub hostname: String,
    pub cpu_model: String,
    pub logical_cores: usize,
    pub physical_cores: Option<usize>,
    pub memory_bytes: u64,
    pub os: String,
    pub kernel: String,
    pub arch: String,
    pub rustc: String,
    pub git_commit: Option<String>,
    /// Uncommitted changes to tracked files when the run started.
    pub git_dirty: Option<bool>,
    /// The processor's generation and the instruction-set extensions that
    /// decide which kernels run: `family 25 model 17 stepping 1; avx2 avx512f
    /// …`. Two hosts can share a model name ("AMD EPYC") and differ here.
    /// Empty in records made before it existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cpu_signature: String,
}

impl Environment {
    /// What differs between the processors of two records, when both name
    /// theirs (`None` when they match or either predates the field). The
    /// fingerprint only holds the model name, so this is what tells two
    /// generations of "AMD EPYC" apart.
    pub fn other_cpu(&self, other: &Environment) -> Option<String> {
        let (a, b) = (&self.cpu_signature, &other.cpu_signature);
        if a.is_empty() || b.is_empty() || a == b {
            return None;
        }
        let split = |s: &str| -> (String, Vec<String>) {
            let (generation, isa) = s.split_once(';').unwrap_or((s, ""));
            let isa = isa.split_whitespace().map(str::to_string).collect();
            (generation.trim().to_string(), isa)
        };
        let ((ga, ia), (gb, ib)) = (split(a), split(b));
        let only = |x: &[String], y: &[String]| -> String {
            let v: Vec<&str> = x
                .iter()
                .filter(|f| !y.contains(f))
                .map(String::as_str)
                .collect();
            if v.is_empty() {
                "-".into()
            } else {
                v.join(" ")
            }
        };
        Some(format!(
            "processor {ga} vs {gb}; extensions only in the first: {}, only in the second: {}",
            only(&ia, &ib),
            only(&ib, &ia)
        ))
    }

    /// Identity of the hardware and OS image: results from machines with
    /// different fingerprints are not comparable without saying so. Memory is
    /// rounded to GiB because the kernel reserves a varying few MiB.
    pub fn fingerprint(&self) -> String {
        format!(
            "{} | {} logical cores | {} GiB | {} | {}",
            self.cpu_model,
            self.logical_cores,
            (self.memory_bytes as f64 / (1u64 << 30) as f64).round(),
            self.arch,
            self.os
        )
    }

    /// A short, stable name of the machine a result was measured on: a
    /// hash of the fingerprint and the processor signature, the two things
    /// that decide whether results may be compared. Keys the performance
    /// history (`baselines/records/<machine_id>/`).
    pub fn machine_id(&self) -> String {
        crate::stable_hash::short_hash(
            self.fingerprint()
                .bytes()
                .chain(std::iter::once(0))
                .chain(self.cpu_signature.bytes()),
        )
    }

    /// The machine as a legend or a heading names it: model, cores, and the
    /// processor's generation and widest vector instructions, which tell
    /// apart two hosts that share a model name ("AMD EPYC").
    pub fn machine_label(&self) -> String {
        let (generation, isa) = self
            .cpu_signature
            .split_once(';')
            .unwrap_or((&self.cpu_signature, ""));
        let has = |f: &str| isa.split_whitespace().any(|x| x == f);
        let vector = if has("amx_tile") {
            "AMX"
        } else if has("avx512f") {
            "AVX-512"
        } else if has("avx2") {
            "AVX2"
        } else {
            ""
        };
        let detail: Vec<&str> = [generation.trim(), vector]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        let detail = if detail.is_empty() {
            "processor signature not recorded".to_string()
        } else {
            detail.join(", ")
        };
        format!(
            "{}, {} cores, {detail}",
            self.cpu_model.trim(),
            self.logical_cores
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::fixture::environment;

    #[test]
    fn two_generations_of_one_model_name_are_told_apart() {
        let mut a = environment();
        let mut b = environment();
        assert_eq!(a.other_cpu(&b), None);
        a.cpu_signature = "family 26 model 2 stepping 0; avx2 avx512f avx_vnni".into();
        assert_eq!(
            a.other_cpu(&b),
            None,
            "a record without a signature is not judged by it"
        );
        b.cpu_signature = "family 25 model 17 stepping 1; avx2 avx512f".into();
        assert_eq!(
            a.fingerprint(),
            b.fingerprint(),
            "the fingerprint alone cannot see it"
        );
        assert_eq!(
            a.other_cpu(&b).unwrap(),
            "processor family 26 model 2 stepping 0 vs family 25 model 17 stepping 1; extensions only in the first: avx_vnni, only in the second: -"
        );
        b.cpu_signature = a.cpu_signature.clone();
        assert_eq!(a.other_cpu(&b), None);
    }

    #[test]
    fn a_machine_id_is_stable_and_tells_processors_apart() {
        let mut a = environment();
        let id = a.machine_id();
        assert_eq!(id.len(), 12);
        assert_eq!(id, environment().machine_id(), "same machine, same id");
        a.cpu_signature = "family 25 model 17 stepping 1; avx2 avx512f".into();
        assert_ne!(a.machine_id(), id, "another processor generation");
        a.hostname = "elsewhere".into();
        a.timestamp = chrono::Utc::now();
        assert_eq!(
            a.machine_id(),
            {
                let mut b = environment();
                b.cpu_signature = a.cpu_signature.clone();
                b.machine_id()
            },
            "the host's name and the time are not the machine"
        );
    }
}
