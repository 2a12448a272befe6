//! Precedence, spelling and checking of the settings layers.

use std::{fs, path::Path};

use clap::Args;
use perf_contract::{
    metric_key::{LoadTarget, VectorEngineName},
    plan::{CandleWeights, EmbedEngine, EngineName, Kernel, Plan, ProfileName, WorkloadName},
    setting::Setting,
};

use super::{file::as_written, registry, *};

fn defaults() -> Defaults {
    Defaults {
        root: "/proj".into(),
        rust_book: Some("/sysroot/share/doc/rust/html/book".into()),
    }
}

fn loaded(toml: &str) -> LoadedConfig {
    LoadedConfig::parse(toml, Path::new("perf.toml"), Path::new("/cfg")).unwrap()
}

fn refused(toml: &str) -> String {
    LoadedConfig::parse(toml, Path::new("p.toml"), Path::new("/cfg"))
        .unwrap_err()
        .to_string()
}

fn plan(args: &RunArgs, toml: &str) -> Plan {
    resolve(args, &loaded(toml), &defaults(), Path::new("/cwd")).unwrap()
}

/// The run arguments of a command line (`["--quick", "--iterations", "2"]`).
fn args(line: &[&str]) -> RunArgs {
    use clap::FromArgMatches;
    let cmd = RunArgs::augment_args(clap::Command::new("x").no_binary_name(true));
    RunArgs::from_arg_matches(&cmd.try_get_matches_from(line).unwrap()).unwrap()
}

fn quick() -> RunArgs {
    args(&["--quick"])
}

/// perf.toml with every commented-out `key = value` line switched on (a
/// value continued on the next commented line, `#     ...`, with it).
fn perf_toml_switched_on() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../perf.toml");
    let text = fs::read_to_string(path).unwrap();
    fn key(l: &str) -> Option<&str> {
        let l = l.strip_prefix("# ")?;
        let (k, _) = l.split_once(" = ")?;
        k.trim_matches('"')
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.".contains(c))
            .then_some(l)
    }
    let mut on = String::new();
    let mut open = false;
    for l in text.lines() {
        let line = match key(l) {
            Some(k) => Some(k),
            None if open && l.starts_with("#    ") => Some(&l[1..]),
            None => None,
        };
        open = line.is_some();
        on.push_str(line.unwrap_or(l));
        on.push('\n');
    }
    on
}

/// The values perf.toml shows commented out are the built-in ones: with
/// every line switched on, each profile resolves to the plan it resolves
/// to with no file, and every built-in key of each profile is shown.
/// (Keys perf.toml shows with an example value, like a model path or a
/// server's address, have no built-in value.)
#[test]
fn perf_toml_shows_the_built_in_values() {
    let on = perf_toml_switched_on();
    let file = loaded(&on);
    let machine = Defaults {
        root: "/cfg".into(),
        ..defaults()
    };
    for profile in ProfileName::ALL {
        let args = match profile {
            ProfileName::Quick => quick(),
            ProfileName::Full => args(&[]),
        };
        let builtin_keys = builtin(profile, &machine);
        let shown = file.layer(profile);
        for key in builtin_keys.keys() {
            let machine_key = key == "corpus.dir" || key == "vector.scaling_corpus";
            let run_key =
                key.starts_with("vector.tools_dir") || key.starts_with("vector.scratch_dir");
            assert!(
                shown.has(key) || machine_key || run_key,
                "perf.toml does not show {key} ({profile})"
            );
        }
        let mut from_file = resolve(&args, &file, &machine, Path::new("/cwd")).unwrap();
        let built_in =
            resolve(&args, &LoadedConfig::default(), &machine, Path::new("/cwd")).unwrap();
        // The example values perf.toml gives keys without a default.
        from_file.corpus.dir = built_in.corpus.dir.clone();
        from_file.vector.scaling_corpus = built_in.vector.scaling_corpus.clone();
        from_file.embedding_model.path = None;
        from_file.llm.model = None;
        from_file.vector.chroma.url = None;
        from_file.llm.engines.retain(|e| *e != EngineName::Openai);
        from_file.llm.openai = None;
        assert_eq!(from_file, built_in, "{profile}");
    }
    assert_eq!(
        file.layer(ProfileName::Full).get("llm.candle_weights"),
        Some(&"q5_0_as_f32".into())
    );
}

#[test]
fn an_empty_file_is_all_defaults() {
    assert_eq!(
        plan(&args(&[]), ""),
        resolve(
            &args(&[]),
            &LoadedConfig::default(),
            &defaults(),
            Path::new("/cwd")
        )
        .unwrap()
    );
}

#[test]
fn defaults_are_the_full_profile_on_the_rust_book() {
    let plan = plan(&args(&[]), "");
    assert_eq!(plan.profile, ProfileName::Full);
    assert_eq!(plan.workloads, WorkloadName::defaults());
    assert_eq!(plan.llm.engines, [EngineName::Llamacpp, EngineName::Candle]);
    assert_eq!(plan.llm.openai, None);
    assert_eq!(
        plan.corpus.dir,
        Path::new("/sysroot/share/doc/rust/html/book")
    );
    assert_eq!(plan.corpus.max_chunks, None);
    assert_eq!(
        plan.queries,
        Path::new("/proj/perf-workloads/data/queries.txt")
    );
    assert_eq!(
        plan.embedding_model.cache_dir,
        Path::new("/proj/target/perf-models")
    );
    assert_eq!(plan.rag.top_k, 5);
    assert_eq!(plan.embedding.batch_sizes, [1, 10, 32, 50]);
    assert_eq!(
        plan.embedding.engines,
        [EmbedEngine::Native, EmbedEngine::Candle]
    );
    assert_eq!(plan.embedding.kernel, Kernel::Auto);
    assert_eq!(plan.llm.candle_weights, CandleWeights::Q5AsF32);
    assert_eq!(
        plan.vector.engines,
        [
            VectorEngineName::Usearch,
            VectorEngineName::Exact,
            VectorEngineName::Chroma
        ]
    );
    assert_eq!(plan.vector.sizes, [1_000, 10_000, 100_000]);
    assert_eq!(
        plan.vector.scaling_corpus[0],
        Path::new("/sysroot/share/doc/rust/html/reference")
    );
    assert_eq!(plan.vector.tools_dir, Path::new("/proj/target/perf-tools"));
    assert_eq!(plan.vector.load.targets, LoadTarget::ALL);
    assert_eq!(plan.vector.load.seconds_per_rate, 20.0);
}

#[test]
fn quick_is_laid_over_full() {
    let q = plan(&quick(), "");
    assert_eq!(q.profile, ProfileName::Quick);
    assert_eq!(q.corpus.max_chunks, Some(300));
    assert_eq!(
        (
            q.harness.passes,
            q.harness.index_builds,
            q.harness.processes
        ),
        (1, 5, 3)
    );
    assert_eq!((q.vector.engines.len(), q.vector.sizes.len()), (2, 1));
    assert_eq!(q.vector.load.seconds_per_rate, 5.0);
    assert_eq!(q.llm.prompt_lengths, [128]);
}

/// The first of issue 26's bugs: one `[vector.load]` key with `--quick`
/// brought back the full profile's 20 s per rate.
#[test]
fn a_key_replaces_that_key_alone() {
    let q = plan(&quick(), "[vector.load]\nllm_rates = [0.5]\n");
    assert_eq!(q.vector.load.seconds_per_rate, 5.0);
    assert_eq!(q.vector.load.llm_rates, [0.5]);
    let q = plan(&quick(), "[vector.chroma]\ntenant = \"t\"\n");
    assert_eq!(
        (q.vector.chroma.tenant.as_str(), q.vector.chroma.retries),
        ("t", 2)
    );
}

#[test]
fn flag_beats_profile_table_beats_file_beats_builtin() {
    let toml = "[corpus]\ndir = \"docs\"\nqueries = \"q.txt\"\n[profile.full]\npasses = 7\nwarmup_passes = 4\n[llm]\nprompt_lengths = [64]\n[profile.quick]\nllm_prompt_lengths = [32]\nvector.query_passes = 2\n";
    let p = plan(&args(&[]), toml);
    assert_eq!(
        p.corpus.dir,
        Path::new("/cfg/docs"),
        "file paths are relative to the file"
    );
    assert_eq!(p.queries, Path::new("/cfg/q.txt"));
    assert_eq!((p.harness.passes, p.harness.warmup_passes), (7, 4));
    assert_eq!(p.llm.prompt_lengths, [64]);
    assert_eq!(p.vector.query_passes, 5, "a quick key leaves full alone");
    let q = plan(&quick(), toml);
    assert_eq!(q.harness.passes, 1, "a full key leaves quick alone");
    assert_eq!(
        q.llm.prompt_lengths,
        [32],
        "the profile's table is more specific"
    );
    assert_eq!(q.vector.query_passes, 2);
    let p = plan(&args(&["--corpus", "mine", "--iterations", "2"]), toml);
    assert_eq!(
        p.corpus.dir,
        Path::new("/cwd/mine"),
        "flag paths are relative to the cwd"
    );
    assert_eq!(
        (p.harness.passes, p.llm.passes),
        (2, Some(2)),
        "one count for every workload"
    );
    assert_eq!(p.harness.warmup_passes, 4);
}

#[test]
fn names_from_flags_and_files_are_typed_and_taken_once() {
    let args = args(&[
        "--workload=vector_query",
        "--workload=rag_query",
        "--workload=vector_query",
        "--vector-engine=chroma",
        "--vector-engine=chroma",
        "--vector-size=500",
        "--vector-size=500",
        "--scale",
        "--chroma-url=http://10.0.0.2:8000",
    ]);
    let toml = "[vector]\nsizes = [7]\n[vector.load]\ntargets = [\"rag\"]\n[embedding]\nengines = [\"candle\"]\nkernel = \"f32\"\n";
    let p = plan(&args, toml);
    assert_eq!(
        p.workloads,
        [WorkloadName::VectorQuery, WorkloadName::RagQuery]
    );
    assert_eq!(p.vector.engines, [VectorEngineName::Chroma]);
    assert_eq!(p.vector.sizes, [500, 1_000_000]);
    assert_eq!(
        p.vector.chroma.url.as_ref().map(|u| u.expose()),
        Some("http://10.0.0.2:8000")
    );
    assert_eq!(p.vector.load.targets, [LoadTarget::Rag]);
    assert_eq!(
        (p.embedding.engines.as_slice(), p.embedding.kernel),
        (&[EmbedEngine::Candle][..], Kernel::F32)
    );
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["embedding"]["kernel"], "f32");
    assert_eq!(json["vector"]["load"]["targets"][0], "rag");
}

#[test]
fn the_server_is_used_once_it_has_an_address() {
    let toml = "[llm]\nengines = [\"candle\"]\n[llm.openai]\nbase_url = \"http://127.0.0.1:9\"\nconcurrency = [1, 3]\n";
    let p = plan(&args(&[]), toml);
    assert_eq!(p.llm.engines, [EngineName::Candle]);
    let o = p.llm.openai.unwrap();
    assert_eq!(
        (o.concurrency.as_slice(), o.requests_per_level),
        (&[1, 3][..], 8)
    );
    // The default engines gain the server once it has an address.
    let p = plan(
        &args(&[]),
        "[llm.openai]\nbase_url = \"http://127.0.0.1:9\"\n",
    );
    assert_eq!(
        p.llm.engines,
        [EngineName::Llamacpp, EngineName::Candle, EngineName::Openai]
    );
    let o = p.llm.openai.unwrap();
    assert_eq!(o.api_key_env.as_deref(), Some("OPENAI_API_KEY"));
    assert!(o.api_key_optional, "the default variable may be unset");
    let p = plan(
        &args(&[]),
        "[llm.openai]\nbase_url = \"http://h:9\"\napi_key_env = \"MY_KEY\"\n",
    );
    let o = p.llm.openai.unwrap();
    assert_eq!(
        (o.api_key_env.as_deref(), o.api_key_optional),
        (Some("MY_KEY"), false)
    );
    let flags = [
        "--workload=inference",
        "--engine=openai",
        "--engine=openai",
        "--openai-url=http://127.0.0.1:8000",
        "--quick",
    ];
    let p = plan(&args(&flags), toml);
    assert_eq!(p.llm.engines, [EngineName::Openai]);
    assert_eq!(
        p.llm.openai.unwrap().base_url.expose(),
        "http://127.0.0.1:8000"
    );
    // A served server needs no address yet.
    let serve = args(&["--openai-serve", "--engine=openai"]);
    let o = plan(&serve, "").llm.openai.unwrap();
    assert!(o.serve && o.base_url.expose().is_empty());
    // Without an address, no server and no openai engine.
    assert_eq!(
        plan(&args(&[]), "[llm.openai]\nretries = 5\n").llm.openai,
        None
    );
}

/// Every message names a key as the user sets it: a flag, a perf.toml key.
#[test]
fn bad_values_are_refused_naming_the_setting() {
    let err = |args: &RunArgs, toml: &str| {
        resolve(args, &loaded(toml), &defaults(), Path::new("/"))
            .unwrap_err()
            .to_string()
    };
    let openai = args(&["--workload=inference", "--engine=openai"]);
    assert!(err(&openai, "").contains("--openai-url URL or [llm.openai] base_url in perf.toml"));
    let zero = args(&["--iterations=0"]);
    assert!(err(&zero, "").contains("--iterations N or [profile.<name>] passes in perf.toml"));
    for (toml, key) in [
        ("[vector.load]\nchroma_rates = [0.0]\n", "rates"),
        ("[vector.load]\nburstiness = -1.0\n", "burstiness"),
        (
            "[vector]\nsizes = [0]\n",
            "--vector-size N or [vector] sizes in perf.toml",
        ),
    ] {
        let e = err(&args(&[]), toml);
        assert!(e.contains(key), "{toml}: {e}");
    }
    let d = Defaults {
        rust_book: None,
        ..defaults()
    };
    let e = resolve(&args(&[]), &loaded(""), &d, Path::new("/")).unwrap_err();
    assert!(e.to_string().contains("--corpus DIR"), "{e}");
}

/// A file's mistakes are refused when it is read, with either profile,
/// in one line naming the file, the line and the key.
#[test]
fn a_files_mistakes_are_refused_as_it_is_read() {
    for (toml, message) in [
        ("[corpus]\nchunk_size = 300\nchunk_sise = 3\n", "p.toml (line 3): unknown field `chunk_sise` in [corpus]; did you mean `chunk_size`?"),
        ("[baseline]\npath = \"b.json\"\n", "p.toml (line 2): unknown field `path` in [baseline]"),
        ("[vector.chroma]\nhost = \"x\"\n", "p.toml (line 2): unknown field `host` in [vector.chroma]"),
        ("[vector]\ntools_dir = \"x\"\n", "p.toml (line 2): unknown field `tools_dir` in [vector]"),
        ("[profile.fast]\npasses = 1\n", "p.toml (line 1): unknown profile `fast` (known: quick, full)"),
        ("[profile.quick]\npases = 1\n", "p.toml (line 2): unknown field `pases` in [profile.quick]"),
        ("[rag]\ntop_k = \"five\"\n", "p.toml (line 2): [rag] top_k: invalid type: string \"five\", expected usize"),
        ("[profile.full]\npasses = -1\n", "p.toml (line 2): [profile.full] passes: invalid value: integer `-1`, expected u32"),
        ("[vector]\nengines = [\"qdrant\"]\n", "p.toml (line 2): [vector] engines: unknown vector engine `qdrant` (known: usearch, exact, chroma"),
        ("[embedding]\nengines = [\"onnx\"]\n", "p.toml (line 2): [embedding] engines: unknown embedding engine `onnx` (known: native, candle)"),
        ("[embedding]\nkernel = \"avx\"\n", "p.toml (line 2): [embedding] kernel: unknown kernel `avx` (known: auto, amx-bf16, bf16-avx512, f32)"),
        ("[vector.load]\nseed = 1\ntargets = [\"redis\"]\n", "p.toml (line 3): [vector.load] targets: unknown load target `redis` (known: chroma, openai, rag)"),
        ("[llm.openai]\nconcurrency = \"x\"\n", "p.toml (line 2): [llm.openai] concurrency: invalid type: string \"x\", expected a sequence"),
        ("[llm]\nengines = [\"vllm\"]\n", "p.toml (line 2): [llm] engines: unknown engine `vllm` (known: llamacpp, candle, openai"),
        ("[check]\nthreshold = 5\n", "p.toml (line 1): [check]: unknown field `threshold`, expected one of `threshold_pct`, `min_abs_ms`, `min_abs_us`, `thresholds`"),
        ("[rag]\ntop_k = 5\ntop_k = 6\n", "p.toml (line 3): duplicate key"),
    ] {
        let e = refused(toml);
        assert!(e.starts_with(message), "{toml}:\n{e}\n{message}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
    let missing = load(
        Some(Path::new("/nonexistent/perf.toml")),
        Path::new("perf.toml"),
    )
    .unwrap_err();
    assert!(
        missing.to_string().contains("/nonexistent/perf.toml"),
        "{missing}"
    );
}

#[test]
fn the_old_spellings_are_read() {
    let p = plan(
        &quick(),
        "[baseline]\nworkloads = [\"embedding\"]\n[embedding]\nthreads = 3\nmodel_dir = \"m\"\n[llm]\nmodel_cache_dir = \"c\"\n[profile.quick]\nmax_chunks = 50\nllm_questions = 2\n",
    );
    assert_eq!(p.workloads, [WorkloadName::Embedding]);
    assert_eq!(p.threads, 3);
    assert_eq!(p.embedding_model.path.as_deref(), Some(Path::new("/cfg/m")));
    assert_eq!(p.llm.cache_dir, Path::new("/cfg/c"));
    assert_eq!((p.corpus.max_chunks, p.llm.questions), (Some(50), Some(2)));
    // A renamed key is set by its documented spelling alone.
    assert!(refused("threads = 3\n").contains("unknown field `threads`"));
}

/// Every flag declared beside the plan is a clap argument and sets plan
/// keys that exist; every plan key a library error names has a way to set
/// it.
#[test]
fn every_declared_flag_is_parsed_and_sets_plan_keys() {
    let cmd = RunArgs::augment_args(clap::Command::new("x"));
    let full = builtin(ProfileName::Full, &defaults());
    for flag in perf_contract::plan::flags() {
        assert!(
            cmd.get_arguments().any(|a| a.get_long() == Some(flag.long)),
            "--{}",
            flag.long
        );
        for key in flag.keys {
            let known = full.has(key)
                || registry::UNSET_BY_DEFAULT.contains(key)
                || registry::NOT_IN_FILES.contains(key);
            assert!(known, "--{} sets `{key}`, which the plan lacks", flag.long);
            assert!(registry::how_to_set(key).starts_with("--"), "{key}");
        }
    }
    for s in Setting::ALL {
        let how = registry::how_to_set(s.plan_key());
        assert!(!how.starts_with('`'), "{s:?}: {how}");
    }
}

#[test]
fn library_messages_come_out_with_flags_and_keys() {
    let plan_error = format!("passes ({}) must be at least 1, got 0", Setting::Passes);
    assert_eq!(
        for_user(&plan_error),
        "passes (--iterations N or [profile.<name>] passes in perf.toml) must be at least 1, got 0"
    );
    let missing = format!(
        "corpus folder /x does not exist: set {}, or `rustup component add rust-docs`",
        Setting::CorpusDir
    );
    assert_eq!(
        for_user(&missing),
        "corpus folder /x does not exist: set --corpus DIR or [corpus] dir in perf.toml, or `rustup component add rust-docs`"
    );
    assert_eq!(as_written("vector.load.seed"), "[vector.load] seed");
    assert_eq!(
        registry::how_to_set("embedding_model.path"),
        "--model-dir DIR or [embedding] model_dir in perf.toml"
    );
}

/// The flags' layer holds what was given, at every key a flag sets.
#[test]
fn flags_set_their_keys_only_when_given() {
    assert_eq!(args(&[]).settings.layer().keys().count(), 0);
    let given = args(&["--queries", "q.txt", "--openai-serve", "--iterations=3"]);
    let layer = given.settings.layer().absolutize(Path::new("/cwd"));
    assert_eq!(layer.get("queries"), Some(&"/cwd/q.txt".into()));
    assert_eq!(layer.get("llm.openai.serve"), Some(&true.into()));
    assert_eq!(layer.get("harness.passes"), Some(&3.into()));
    assert_eq!(layer.get("llm.passes"), Some(&3.into()));
    assert_eq!(layer.keys().count(), 4);
}

/// A bad flag value is refused as it is parsed, in a line naming the
/// flag: a name, a count, a path that is not UTF-8 (a file name in
/// Latin-1, say: the plan file it would go into is JSON).
#[test]
fn a_bad_flag_value_is_refused_naming_the_flag() {
    use std::{ffi::OsString, os::unix::ffi::OsStringExt};
    let refused = |line: Vec<OsString>| {
        let cmd = RunArgs::augment_args(clap::Command::new("x").no_binary_name(true));
        cmd.try_get_matches_from(line).unwrap_err().to_string()
    };
    let latin1 = OsString::from_vec(b"docs-\xff".to_vec());
    let err = refused(vec!["--corpus".into(), latin1]);
    assert!(
        err.contains("--corpus DIR: `docs-\u{FFFD}` is not UTF-8 text"),
        "{err}"
    );
    let err = refused(vec!["--iterations".into(), "two".into()]);
    assert!(
        err.contains("--iterations N: `two` is not a whole number"),
        "{err}"
    );
    let err = refused(vec!["--vector-engine".into(), "qdrant".into()]);
    assert!(
        err.contains(
            "--vector-engine NAME: unknown vector engine `qdrant` (known: usearch, exact, chroma)"
        ),
        "{err}"
    );
    assert_eq!(
        err.lines().next().map(|l| l.starts_with("error: ")),
        Some(true)
    );
}
