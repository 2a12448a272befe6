//! Where each setting is set, when that is not simply its path in the plan:
//! its `perf.toml` spelling, whether it holds a path. A key that
//! no table names here is set in `perf.toml` at its plan path (`[rag]
//! top_k` is `plan.rag.top_k`); its flag, if any, is declared beside its
//! plan field (`perf_contract::plan::flags`). Every message about a
//! setting names it as the user sets it ([`how_to_set`]).

use perf_contract::plan::flags;

/// `perf.toml` keys spelled otherwise than their plan path (their older,
/// documented names). `profile.X` stands for `[profile.quick] X` and
/// `[profile.full] X`: a key of the selected profile only.
pub const FILE_NAMES: &[(&str, &str)] = &[
    ("baseline.workloads", "workloads"),
    ("corpus.queries", "queries"),
    ("embedding.threads", "threads"),
    ("embedding.model_dir", "embedding_model.path"),
    ("embedding.model_cache_dir", "embedding_model.cache_dir"),
    ("embedding.vector_cache_dir", "embedding_cache_dir"),
    ("llm.model_cache_dir", "llm.cache_dir"),
    ("profile.max_chunks", "corpus.max_chunks"),
    ("profile.warmup_passes", "harness.warmup_passes"),
    ("profile.passes", "harness.passes"),
    ("profile.processes", "harness.processes"),
    ("profile.index_builds", "harness.index_builds"),
    (
        "profile.docs_per_batch_size",
        "embedding.docs_per_batch_size",
    ),
    ("profile.min_batches", "embedding.min_batches"),
    ("profile.warmup_batches", "embedding.warmup_batches"),
    ("profile.llm_questions", "llm.questions"),
    ("profile.llm_passes", "llm.passes"),
    ("profile.llm_prompt_lengths", "llm.prompt_lengths"),
];

/// Plan keys no file sets: decided by the run (the profile, the tools'
/// folders) or derived (`api_key_optional`), or flags alone.
pub const NOT_IN_FILES: &[&str] = &[
    "profile",
    "vector.tools_dir",
    "vector.scratch_dir",
    "llm.openai.api_key_optional",
    "llm.openai.serve",
];

/// Plan keys with no built-in value: unset unless a layer sets them.
pub const UNSET_BY_DEFAULT: &[&str] = &[
    "corpus.max_chunks",
    "embedding_model.path",
    "llm.model",
    "llm.openai.base_url",
    "vector.chroma.url",
];

/// Plan keys that hold paths: a relative one is relative to the project
/// root (built-in), the file's folder (`perf.toml`) or the working
/// directory (a flag).
pub const PATHS: &[&str] = &[
    "corpus.dir",
    "queries",
    "embedding_model.path",
    "embedding_model.cache_dir",
    "embedding_cache_dir",
    "llm.model",
    "llm.cache_dir",
    "vector.scaling_corpus",
    "vector.tools_dir",
    "vector.scratch_dir",
];

/// The plan key a `perf.toml` key sets, if it is one: `file` is its dotted
/// path (a `[profile.<name>]` key comes as `profile.<key>`), `has_default`
/// whether the built-in profile holds that path.
pub fn plan_key(file: &str, has_default: bool) -> Option<String> {
    if let Some((_, plan)) = FILE_NAMES.iter().find(|(f, _)| *f == file) {
        return Some(plan.to_string());
    }
    // A key with an older spelling is set by that spelling alone (a
    // profile's short name is a second spelling, not a rename).
    let renamed = FILE_NAMES
        .iter()
        .any(|(f, p)| *p == file && !f.starts_with("profile."));
    let settable = !renamed
        && !NOT_IN_FILES.contains(&file)
        && (has_default || UNSET_BY_DEFAULT.contains(&file));
    settable.then(|| file.to_string())
}

/// `[section] key` for a dotted `perf.toml` key.
fn in_file(file: &str) -> String {
    let file = file.replacen("profile.", "profile.<name>.", 1);
    match file.rsplit_once('.') {
        Some((section, key)) => format!("[{section}] {key}"),
        None => file,
    }
}

/// What the user types to set the plan key `plan`: its flag, its
/// `perf.toml` key, or both.
pub fn how_to_set(plan: &str) -> String {
    let flag = flags().find(|f| f.keys.contains(&plan)).map(|f| f.usage());
    let file = if NOT_IN_FILES.contains(&plan) {
        None
    } else {
        let renamed = FILE_NAMES.iter().find(|(_, p)| *p == plan);
        Some(in_file(renamed.map_or(plan, |(f, _)| f)))
    };
    match (flag, file) {
        (Some(flag), Some(file)) => format!("{flag} or {file} in perf.toml"),
        (Some(flag), None) => flag,
        (None, Some(file)) => format!("{file} in perf.toml"),
        (None, None) => format!("`{plan}`"),
    }
}

/// A library's message with every setting it names (as `` `plan.key` ``,
/// `perf_contract::setting`) spelled as the user sets it.
pub fn for_user(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(start) = rest.find('`') {
        let Some(len) = rest[start + 1..].find('`') else {
            break;
        };
        let name = &rest[start + 1..start + 1 + len];
        let known = perf_contract::setting::Setting::ALL
            .iter()
            .any(|s| s.plan_key() == name);
        out.push_str(&rest[..start]);
        if known {
            out.push_str(&how_to_set(name));
        } else {
            out.push_str(&rest[start..start + len + 2]);
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}
