//! Section 3: how every figure was obtained, stated from the plan, the run
//! context and the constants of the code that computed it (`stats`,
//! `compare`, `guards`), so the text cannot drift from what the code does.

use super::{baseline_command, heading};
use crate::export::markdown_table::MarkdownTable;
use crate::{
    compare::{MIN_BOOTSTRAP_SAMPLES, MIN_RANK_TEST_SAMPLES, RESAMPLES},
    guards::{PARITY_FLOOR, RECALL_TOLERANCE},
    report::{
        previous::{compare_with_previous, thresholds_in_use},
        ReportInputs,
    },
};
use perf_contract::{
    metric_key::MetricKind,
    plan::WorkloadName,
    summary::{quantile_ci_sorted, CONFIDENCE},
};

pub fn section(inputs: &ReportInputs) -> String {
    let mut out = heading(3);
    out.push_str(&iterations(inputs));
    out.push_str(&statistics(inputs));
    out.push_str(&data(inputs));
    out.push_str(&comparison_rule(inputs));
    out.push_str(&reproduce(inputs));
    out
}

fn iterations(inputs: &ReportInputs) -> String {
    let p = &inputs.baseline.plan;
    let questions = inputs.baseline.context.queries.as_ref().map(|q| q.count);
    let per_pass = questions.map_or("one sample per question".to_string(), |q| {
        format!(
            "{q} questions, so n = {} × {q} = {} samples per metric",
            p.harness.passes,
            p.harness.passes as usize * q
        )
    });
    let e = &p.embedding;
    let sizes: Vec<String> = e.batch_sizes.iter().map(|b| b.to_string()).collect();
    format!(
        "### Warm-up and iterations\n\n\
         - Profile `{profile}`. Query workloads (`rag_query`, `vector_query` searches) run {warm} unmeasured warm-up pass(es) over the query set, then {passes} measured passes: {per_pass}. `recall_at_k` is one sample per question.\n\
         - `vector_query` builds the index from scratch {builds} time(s): `build_time` has one sample per build.\n\
         {llm}\
         - `embedding`, per input kind and batch size ({sizes}): {wb} unmeasured batch(es), then {docs} documents and at least {minb} batches, one sample (docs/s) per batch: n = max({minb}, {docs} / batch size).\n\
         - Preparation (corpus loading and chunking, model provisioning, corpus embedding, index build for the query workloads) is never measured; every timing is wall-clock around the operation only, in a release build of `perf-workloads`.\n\n",
        profile = p.profile.as_str(),
        warm = p.harness.warmup_passes,
        passes = p.harness.passes,
        builds = p.harness.index_builds,
        sizes = sizes.join(", "),
        wb = e.warmup_batches,
        docs = e.docs_per_batch_size,
        minb = e.min_batches,
        llm = llm_iterations(inputs),
    )
}

/// The LLM workloads' passes, when the baseline holds one of them.
fn llm_iterations(inputs: &ReportInputs) -> String {
    let b = &inputs.baseline;
    let ran = b.workloads.keys().any(|w| w.uses_llm());
    if !ran {
        return String::new();
    }
    let h = b.plan.llm_harness();
    let questions = b
        .plan
        .llm
        .questions
        .map_or("every".to_string(), |q| q.to_string());
    format!(
        "- `inference` and `rag_answer`, per engine: {} unmeasured warm-up pass(es), then {} measured passes over {questions} question(s) of the query set; each generation is greedy with {} new tokens (stop tokens ignored). Prefill rates are one sample per prompt, inter-token latencies one per generated token after the first.\n",
        h.warmup_passes, h.passes, b.plan.llm.max_new_tokens
    )
}

/// Smallest n for which the code gives a 95% interval of quantile `q`.
fn min_samples_for_ci(q: f64) -> usize {
    (1..=1000)
        .find(|&n| {
            let xs: Vec<f64> = (0..n).map(|i| i as f64).collect();
            quantile_ci_sorted(&xs, q, CONFIDENCE).is_some()
        })
        .unwrap_or(1000)
}

fn statistics(inputs: &ReportInputs) -> String {
    let level = CONFIDENCE * 100.0;
    let mut out = format!(
        "### Statistics\n\n\
         - Percentiles (p50 = median, p95, p99) interpolate linearly between order statistics (Hyndman & Fan type 7, numpy's default): for n sorted samples the p-th percentile sits at rank h = (n − 1) · p / 100.\n\
         - Mean, and the sample standard deviation with an n − 1 denominator.\n\
         - {level:.0}% confidence intervals of the median and of p95 are distribution-free: the pair of order statistics whose binomial coverage of the true quantile is at least {level:.0}%, as close to symmetric in probability as possible, widened until the coverage holds. No shape is assumed (latencies are skewed), and no interval is given when even (min, max) cannot reach {level:.0}%: the median needs n ≥ {med}, p95 needs n ≥ {p95} (\"n too small\" in the tables). p99 has no interval.\n\
         - Every table gives n, the number of samples each figure on that row rests on.",
        med = min_samples_for_ci(0.5),
        p95 = min_samples_for_ci(0.95),
    );
    let rag = inputs
        .baseline
        .workloads
        .get(&WorkloadName::RagQuery)
        .and_then(|r| r.metrics.get(&MetricKind::Latency.key()));
    if let Some(m) = rag {
        let n = m.summary.count;
        let h = (n.max(1) - 1) as f64 * 0.99;
        let above = n.max(1) - 1 - h.floor() as usize;
        out.push_str(&format!(
            " For the RAG query latency (n = {n}), p99 is interpolated from the {} largest samples, so read it as the typical worst case of about one question in a hundred, not a stable figure.",
            above + 1
        ));
    }
    out.push_str("\n\n");
    out
}

fn data(inputs: &ReportInputs) -> String {
    let b = &inputs.baseline;
    let p = &b.plan;
    let mut out = String::from("### Corpus, queries, models and index\n\n");
    match &b.context.corpus {
        Some(c) => out.push_str(&format!(
            "- Corpus `{}`: {} files ({} bytes), {} parent documents, {} chunks ({} characters){}; chunks of {} characters with {} overlap{}; excluded: {}.\n",
            inputs.shown_path(&c.dir),
            c.files,
            c.bytes,
            c.parents,
            c.chunks,
            c.chunk_chars,
            if c.subset { ", a subset cut by max_chunks" } else { ", the whole corpus" },
            p.corpus.chunk_size,
            p.corpus.chunk_overlap,
            p.corpus.max_chunks.map_or(String::new(), |m| format!(", first {m} chunks")),
            if p.corpus.exclude.is_empty() { "nothing".to_string() } else { p.corpus.exclude.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ") },
        )),
        None => out.push_str("- Corpus: not recorded in this baseline.\n"),
    }
    match &b.context.queries {
        Some(q) => out.push_str(&format!(
            "- Query set `{}`: {} questions, sha256 `{}`.\n",
            inputs.shown_path(&q.path),
            q.count,
            q.sha256
        )),
        None => out.push_str("- Query set: not recorded in this baseline.\n"),
    }
    if let Some(i) = &b.context.index {
        out.push_str(&format!(
            "- Index: {} {} ({} metric, {} dimensions, {} vectors), connectivity {}, expansion_add {}, expansion_search {}, kernels `{}`; RAG top-k {}, context at most {} characters.\n",
            i.engine, i.version, i.metric, i.dimensions, i.vectors, i.connectivity, i.expansion_add, i.expansion_search, i.hardware_acceleration, p.rag.top_k, p.rag.max_context_chars
        ));
    }
    out.push('\n');
    if b.context.models.is_empty() {
        out.push_str("Models: none recorded in this baseline.\n\n");
        return out;
    }
    let mut t = MarkdownTable::new(&[
        ("role", false),
        ("model", false),
        ("runtime", false),
        ("max tokens", true),
        ("dimensions", true),
        ("weights sha256", false),
        ("source", false),
    ]);
    for m in &b.context.models {
        t.row(vec![
            m.role.clone(),
            format!("`{}`", m.id),
            m.runtime.clone(),
            m.max_seq_length.to_string(),
            m.dimensions.to_string(),
            format!("`{}`", m.weights_sha256),
            inputs.shown_text(&m.source),
        ]);
    }
    out.push_str(&t.render());
    out.push('\n');
    out.push_str(&llm_engines(inputs));
    out
}

/// The generation engines as they ran: LLM figures name their engine, so
/// the build, threads and weights behind each name are stated.
fn llm_engines(inputs: &ReportInputs) -> String {
    let engines = &inputs.baseline.context.llm_engines;
    if engines.is_empty() {
        return String::new();
    }
    let mut t = MarkdownTable::new(&[
        ("engine", false),
        ("version", false),
        ("threads", true),
        ("settings", false),
        ("model", false),
        ("GGUF sha256", false),
        ("instruction set", false),
    ]);
    for e in engines {
        let sha = match e.model_sha256.as_str() {
            "" => "– (served)".to_string(),
            s => format!("`{s}`"),
        };
        let threads = match e.threads {
            0 => "–".to_string(),
            n => n.to_string(),
        };
        t.row(vec![
            format!("`{}`", e.engine),
            e.version.clone(),
            threads,
            e.detail.clone(),
            format!("`{}`", inputs.shown_path(std::path::Path::new(&e.model))),
            sha,
            match e.instruction_set.as_str() {
                "" => "–".to_string(),
                s => s.to_string(),
            },
        ]);
    }
    format!("LLM engines:\n\n{}\n", t.render())
}

fn comparison_rule(inputs: &ReportInputs) -> String {
    let th = &inputs.comparison;
    let in_use = thresholds_in_use(inputs);
    let overrides: Vec<String> = in_use
        .iter()
        .filter(|(_, v)| (**v - th.default_pct).abs() > 1e-9)
        .map(|(k, v)| format!("`{k}` ±{v:.1}%"))
        .collect();
    let overrides = if overrides.is_empty() {
        String::new()
    } else {
        format!(
            " Metrics with their own threshold here (from `perf.toml`, or, where this machine has no calibration, raised to the absolute floor of {} ms / {} µs for stages so short that timer jitter alone exceeds the percentage): {}.",
            th.min_abs_ms,
            th.min_abs_us,
            overrides.join(", ")
        )
    };
    let calibration = calibration_text(th);
    format!(
        "### The comparison rule (`cargo xtask perf check`, `perf_report::compare`)\n\n\
         - Direction from the metric: a time up, a rate or recall down is worse; informational metrics (sizes, counts) are never judged.\n\
         - **Processes are the replicates.** Samples inside one process share its memory layout, page placement, core and frequency; the variance between two runs lies between processes. `baseline` and `check` measure the retrieval workloads in several fresh processes (`[harness] processes`, 3 by default) and keep each process's samples apart; each process gives one estimate (the Hodges-Lehmann estimate of its log-samples less the baseline's mean log-sample of the same input, so the spread between questions drops out), and the {level:.0}% interval of the change is Student's t across both sides' processes (`perf_report::processes`), pooled with this machine's calibration when there is one. A metric **regressed** only when its change is beyond the threshold (±{def:.1}% by default) in the worse direction **and** that interval lies entirely on the worse side of no change **and** its t-test's p-value, adjusted by Holm over every metric of the run judged across processes, is at most 5% (one false-alarm budget for the run, as `perf compare` keeps); improvements mirror the rule. Beyond the threshold without that is \"not significant\"; within it, with a minimum detectable effect (the interval's half-width) above it, \"inconclusive\".{overrides}\n\
         - Runs of one process a side without a calibration (every baseline recorded before processes were replicated) are judged as then: the {level:.0}% percentile-bootstrap interval of the ratio of medians ({RESAMPLES} resamples of each run's raw samples), whose interval sees only the spread within each run. There sizes, counts and fractions (instruction counts among them) are judged on medians alone; times and rates with fewer than {MIN_BOOTSTRAP_SAMPLES} samples on a side have no interval and cannot be called regressed; nor can the vector engines' per-size and sweep figures, measured on one index build per process: their samples differ by question, not by run, while identical runs moved them by up to 35% (where the vectors landed in memory). The Mann-Whitney U p-value (from {MIN_RANK_TEST_SAMPLES} samples a side) is reported by `check`, never used for the verdict.\n\
         - Deterministic mode, `check --mode instructions`: only instruction counts are judged, from the hardware counter where the machine has one, else from a reduced run under valgrind's callgrind (`baseline --instructions` records them as `<op>.callgrind_instructions`); in 10 clean checks of the same binary on the development VM no count moved more than 0.02%, whatever the machine's load.\n\
         - The bootstrap's random generator is seeded with a constant ({seed:#x}, mixed with each metric's name), so the same two files always give the same intervals and verdicts.\n\
         - `check` measures a workload whose metric regressed in as many more processes again, added to the ones it had, and judges all of them; this report compares recorded files and measures nothing, so a \"regressed\" in section 8 is unconfirmed.\n\
         - Quality guards, absolute: mean recall@k may not drop by more than {RECALL_TOLERANCE}, and the embedding's cosine similarity with the reference must stay ≥ {PARITY_FLOOR} for every sentence.\n\n{calibration}",
        def = th.default_pct,
        seed = th.seed,
        level = CONFIDENCE * 100.0,
    )
}

/// What this machine's calibration measured, when the comparison used one.
fn calibration_text(policy: &crate::policy::Policy) -> String {
    let Some(c) = &policy.calibration else {
        return "No calibration of this machine (`cargo xtask perf calibrate`): the spread between processes comes from the runs compared alone.\n\n".into();
    };
    let mut t = MarkdownTable::new(&[
        ("headline metric", false),
        ("spread between processes", true),
        ("shift between sessions", true),
        ("resolves, 3 vs 3 processes", true),
        ("processes a side for the threshold", true),
    ]);
    for (key, s) in &c.metrics {
        let headline = key.split_once('.').is_some_and(|(_, m)| {
            perf_contract::metric_key::MetricKey::parse(m)
                .kind()
                .is_headline()
        });
        if !headline {
            continue;
        }
        t.row(vec![
            format!("`{key}`"),
            format!("{:.1}%", s.sd_log.exp_m1() * 100.0),
            s.shift_cell(),
            format!("±{:.1}%", s.resolvable_pct(3, 3)),
            s.processes_cell(policy.default_pct),
        ]);
    }
    format!(
        "Calibration of this machine ({}, the {} profile, {} processes of one build in {} session(s), {} metrics): each metric's spread between processes, pooled with the compared runs' own; with several sessions, how far a whole session shifts against another, which every unpaired comparison (a baseline and a later run) spans and its interval includes; no absolute floor applies to these metrics.\n\n{}\n",
        c.created_at.format("%Y-%m-%d %H:%M UTC"),
        c.profile,
        c.processes,
        c.sessions,
        c.metrics.len(),
        t.render()
    )
}

fn reproduce(inputs: &ReportInputs) -> String {
    let mut t = MarkdownTable::new(&[("figures", false), ("command", false)]);
    let run = baseline_command(inputs);
    t.row(vec![
        "sections 1, 4 and 5 (a new baseline; the current one moves to history)".into(),
        format!("`{run}`"),
    ]);
    t.row(vec![
        "one workload only".into(),
        format!("`{run} --workload rag_query`"),
    ]);
    t.row(vec![
        "sections 6 and 7 (profile run)".into(),
        "`cargo xtask perf profile` (`--quick` for the CI profile)".into(),
    ]);
    if let Some(p) = compare_with_previous(inputs) {
        t.row(vec![
            "section 8 (the same verdicts; a saved run is not re-run)".into(),
            format!(
                "`cargo xtask perf check --baseline {}/{} --run-file {}`",
                inputs.history_source, p.previous.name, inputs.baseline_source
            ),
        ]);
    }
    let scale: String = inputs
        .scale_sources
        .iter()
        .map(|(path, _)| format!(" --scale-points {path}"))
        .collect();
    t.row(vec![
        "this report".into(),
        format!(
            "`cargo xtask perf report --baseline {} --profiles {} --history {}{scale}`",
            inputs.baseline_source, inputs.profile_source, inputs.history_source
        ),
    ]);
    format!("### Reproducing each figure\n\n{}\n", t.render())
}
