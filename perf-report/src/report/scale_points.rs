//! Scaling points recorded apart from the baseline: a million-vector run
//! (`perf baseline --scale`, or `--vector-size 1000000`) takes most of an
//! hour, so it is often its own file. `perf report --scale-points FILE`
//! adds its vector-engine rows (`<engine>.n<size>.<figure>`) to the
//! report's engines × sizes table and scaling charts, at sizes the
//! baseline lacks, with its notes marked by file.
//!
//! Invariant: a curve never mixes machines or measurements. The file must
//! come from the baseline's machine (fingerprint) and have measured the
//! same thing (`guards::incomparable_reason`: profile, corpus, model,
//! index settings, instruction sets); else the report refuses it in one
//! line. A point the baseline has already is never replaced.

use perf_contract::{
    metric_key::MetricKind,
    plan::WorkloadName,
    schema::{Baseline, WorkloadResult},
};

use crate::{guards::incomparable_reason, report::vector_figures::VectorFigures};

/// Why a file's points cannot join the baseline's.
pub fn unlike(baseline: &Baseline, extra: &Baseline) -> Option<String> {
    if baseline.machine_fingerprint != extra.machine_fingerprint {
        return Some(format!(
            "recorded on {}, the baseline on {}",
            extra.machine_fingerprint, baseline.machine_fingerprint
        ));
    }
    incomparable_reason(baseline, extra)
}

/// Adds `extra`'s scaling rows at sizes `baseline` has no figure for, and
/// its `vector_query` notes prefixed by `source`; returns the sizes added
/// (ascending). Call [`unlike`] first.
pub fn merge(baseline: &mut Baseline, extra: &Baseline, source: &str) -> Vec<u32> {
    let sizes_of = |b: &Baseline| -> Vec<u32> {
        let mut sizes: Vec<u32> = VectorFigures::of(b).rows.iter().map(|r| r.size).collect();
        sizes.dedup();
        sizes
    };
    let have = sizes_of(baseline);
    let added: Vec<u32> = sizes_of(extra)
        .into_iter()
        .filter(|s| !have.contains(s))
        .collect();
    if added.is_empty() {
        return added;
    }
    let into = baseline
        .workloads
        .entry(WorkloadName::VectorQuery)
        .or_insert_with(|| WorkloadResult {
            metrics: Default::default(),
            notes: Vec::new(),
        });
    for result in extra.workloads.values() {
        for (key, m) in &result.metrics {
            if let MetricKind::VectorScale { size, .. } = *key.kind() {
                if added.contains(&size) {
                    into.metrics.insert(key.clone(), m.clone());
                }
            }
        }
    }
    if let Some(notes) = extra
        .workloads
        .get(&WorkloadName::VectorQuery)
        .map(|r| &r.notes)
    {
        into.notes
            .extend(notes.iter().map(|n| format!("{source}: {n}")));
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_contract::schema::{Better, Unit};

    fn figures(keys: &[&str], note: &str) -> Baseline {
        let metrics: Vec<_> = keys
            .iter()
            .map(|&k| {
                let m = (WorkloadName::VectorQuery, k, Unit::Milliseconds);
                (m.0, m.1, m.2, Better::Lower, vec![1.0])
            })
            .collect();
        let mut b = perf_contract::fixture::baseline(&metrics);
        b.workloads
            .get_mut(&WorkloadName::VectorQuery)
            .unwrap()
            .notes = vec![note.into()];
        b
    }

    #[test]
    fn adds_only_sizes_the_baseline_lacks_and_marks_their_notes() {
        let mut base = figures(
            &["exact.n1000.k10.latency", "usearch.n1000.k10.latency"],
            "main",
        );
        let extra = figures(
            &[
                "exact.n1000.k10.latency",
                "chroma.n1000000.k10.latency",
                "exact.n1000000.build_time",
            ],
            "n1000000: synthetic",
        );
        assert_eq!(unlike(&base, &extra), None);
        assert_eq!(merge(&mut base, &extra, "scale.json"), [1_000_000]);
        let r = &base.workloads[&WorkloadName::VectorQuery];
        let keys: Vec<&str> = r.metrics.keys().map(|k| k.as_str()).collect();
        assert_eq!(keys.len(), 4, "{keys:?}");
        assert!(keys.contains(&"chroma.n1000000.k10.latency"));
        assert_eq!(r.notes, ["main", "scale.json: n1000000: synthetic"]);
        // Merging again adds nothing: the sizes are there now.
        assert!(merge(&mut base, &extra, "scale.json").is_empty());
    }

    #[test]
    fn another_machine_or_other_settings_are_refused() {
        let base = figures(&["exact.n1000.k10.latency"], "main");
        let mut other = base.clone();
        other.machine_fingerprint = "Intel | 64 logical cores".into();
        let why = unlike(&base, &other).unwrap();
        assert!(
            why.contains("recorded on Intel | 64 logical cores"),
            "{why}"
        );
        let mut other = base.clone();
        other.plan.index.connectivity += 1;
        let why = unlike(&base, &other).unwrap();
        assert!(why.starts_with("index settings changed"), "{why}");
    }
}
