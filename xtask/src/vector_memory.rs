//! Whether the vector sizes a plan asks for fit in this machine's memory,
//! checked before a run: fifty million vectors need tens of GiB, and a
//! run that found out by swapping or being killed had first spent minutes
//! embedding its scaling corpus.

use anyhow::{bail, Result};
use perf_contract::{
    metric_key::VectorEngineName,
    plan::{Plan, WorkloadName},
};

/// all-MiniLM-L6-v2's vectors: 384 f32 values.
const VECTOR_BYTES: u64 = 384 * 4;

/// Bytes the largest size needs at its peak: the workload's own copy of
/// the vectors plus the hungriest engine's index of them.
pub fn needed_bytes(plan: &Plan) -> Option<(usize, u64, VectorEngineName)> {
    let size = *plan.vector.sizes.iter().max()?;
    let engine = plan
        .vector
        .engines
        .iter()
        .copied()
        .max_by_key(|&e| e.bytes_per_vector())?;
    Some((
        size,
        size as u64 * (VECTOR_BYTES + engine.bytes_per_vector()),
        engine,
    ))
}

/// Refuses a plan whose scaling curve cannot fit in `available` bytes.
pub fn check(plan: &Plan, available: Option<u64>) -> Result<()> {
    if !plan.workloads.contains(&WorkloadName::VectorQuery) {
        return Ok(());
    }
    let (Some((size, need, engine)), Some(available)) = (needed_bytes(plan), available) else {
        return Ok(());
    };
    if need > available {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        bail!(
            "vector size {size} (--vector-size N or [vector] sizes in perf.toml) needs about {:.1} GiB ({size} vectors × {} B: the vectors and the {engine} engine's index), and this machine has {:.1} GiB available: use a smaller size",
            gib(need),
            VECTOR_BYTES + engine.bytes_per_vector(),
            gib(available)
        );
    }
    Ok(())
}

/// `MemAvailable` from `/proc/meminfo`, in bytes (`None` off Linux).
pub fn available_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(sizes: &[usize], engines: &[VectorEngineName]) -> Plan {
        let mut p = perf_contract::fixture::plan();
        p.workloads = vec![WorkloadName::VectorQuery];
        p.vector.sizes = sizes.to_vec();
        p.vector.engines = engines.to_vec();
        p
    }

    #[test]
    fn fifty_million_vectors_do_not_fit_in_23_gib_and_a_million_do() {
        let gib = 1u64 << 30;
        let big = plan(
            &[1_000, 50_000_000],
            &[VectorEngineName::Usearch, VectorEngineName::Exact],
        );
        let err = check(&big, Some(23 * gib)).unwrap_err().to_string();
        assert!(err.contains("vector size 50000000"), "{err}");
        assert!(err.contains("--vector-size"), "{err}");
        assert!(err.contains("exact engine"), "{err}");
        let fits = plan(&[1_000_000], &VectorEngineName::ALL);
        assert!(check(&fits, Some(23 * gib)).is_ok());
        // Memory unknown: nothing refused.
        assert!(check(&big, None).is_ok());
    }
}
