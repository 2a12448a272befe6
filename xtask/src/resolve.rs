//! Flags + `perf.toml` + profile defaults → the [`Plan`] the workloads run.
//!
//! Pure: no file is read and nothing is run here (the caller passes in what
//! it found on disk), so precedence is tested directly. Precedence, highest
//! first: command-line flag, `perf.toml` (paths relative to the file),
//! profile default (paths relative to the project root).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use perf_contract::plan::{
    CorpusPlan, EmbeddingPlan, EngineName, HarnessPlan, IndexPlan, LlmPlan, ModelPlan, OpenAiPlan,
    Plan, ProfileName, RagPlan, WorkloadName, DEFAULT_EXCLUDE,
};

use crate::{
    cli::RunArgs,
    config::{LoadedConfig, ProfileConfig},
    plan_inputs::{absolute, dedup, Defaults},
    resolve_vector::resolve_vector,
};

/// Relative path of the default question file.
pub const DEFAULT_QUERIES: &str = "perf-workloads/data/queries.txt";
/// `[llm.openai] api_key_env` when the file says nothing (as OpenAI's
/// own clients read it).
const DEFAULT_API_KEY_ENV: &str = "OPENAI_API_KEY";

/// The built-in iteration counts of a profile. Quick: the first 300 chunks
/// of the corpus (files in path order) and few passes, a couple of minutes
/// on two cores. Full: the whole corpus and enough passes that p99 rests on
/// hundreds of samples.
pub fn profile_defaults(profile: ProfileName) -> ProfileConfig {
    match profile {
        ProfileName::Quick => ProfileConfig {
            max_chunks: Some(300),
            warmup_passes: Some(1),
            passes: Some(3),
            index_builds: Some(5),
            docs_per_batch_size: Some(100),
            min_batches: Some(5),
            warmup_batches: Some(1),
            // A few questions and one prompt length keep each engine to
            // well under a minute on two cores.
            llm_questions: Some(4),
            llm_passes: Some(2),
            llm_prompt_lengths: Some(vec![128]),
        },
        ProfileName::Full => ProfileConfig {
            max_chunks: None,
            warmup_passes: Some(2),
            passes: Some(10),
            index_builds: Some(5),
            docs_per_batch_size: Some(500),
            min_batches: Some(10),
            warmup_batches: Some(2),
            llm_questions: Some(16),
            llm_passes: Some(3),
            llm_prompt_lengths: Some(vec![128, 512]),
        },
    }
}

pub fn resolve(
    args: &RunArgs,
    loaded: &LoadedConfig,
    defaults: &Defaults,
    cwd: &Path,
) -> Result<Plan> {
    let cfg = &loaded.config;
    let cfg_dir = loaded.base_dir.as_path();
    let root = defaults.root.as_path();
    let profile = if args.quick {
        ProfileName::Quick
    } else {
        ProfileName::Full
    };
    let builtin = profile_defaults(profile);
    let user = match profile {
        ProfileName::Quick => &cfg.profile.quick,
        ProfileName::Full => &cfg.profile.full,
    };
    // Flag → perf.toml → built-in, for a path-free setting.
    macro_rules! pick {
        ($flag:expr, $user:expr, $builtin:expr) => {
            $flag.or($user).or($builtin)
        };
    }

    let path_setting = |flag: &Option<PathBuf>, user: &Option<PathBuf>| -> Option<PathBuf> {
        flag.as_deref()
            .map(|p| absolute(cwd, p))
            .or_else(|| user.as_deref().map(|p| absolute(cfg_dir, p)))
    };

    let corpus_dir = match path_setting(&args.corpus, &cfg.corpus.dir) {
        Some(dir) => dir,
        None => match &defaults.rust_book {
            Some(book) => book.clone(),
            None => bail!(
                "cannot locate the default corpus (rustc reported no sysroot): pass --corpus DIR or set [corpus] dir in perf.toml"
            ),
        },
    };

    let workloads = if !args.workloads.is_empty() {
        dedup(&args.workloads)
    } else if let Some(w) = &cfg.baseline.workloads {
        dedup(w)
    } else {
        WorkloadName::defaults()
    };
    let llm = resolve_llm(args, cfg, cfg_dir, root, cwd, user, &builtin);

    let plan = Plan {
        profile,
        workloads,
        corpus: CorpusPlan {
            dir: corpus_dir,
            exclude: cfg
                .corpus
                .exclude
                .clone()
                .unwrap_or_else(|| DEFAULT_EXCLUDE.iter().map(|s| s.to_string()).collect()),
            chunk_size: cfg.corpus.chunk_size.unwrap_or(400),
            chunk_overlap: cfg.corpus.chunk_overlap.unwrap_or(0),
            max_chunks: pick!(args.max_chunks, user.max_chunks, builtin.max_chunks),
        },
        queries: path_setting(&args.queries, &cfg.corpus.queries)
            .unwrap_or_else(|| root.join(DEFAULT_QUERIES)),
        embedding_model: ModelPlan {
            path: path_setting(&args.model_dir, &cfg.embedding.model_dir),
            cache_dir: path_setting(&None, &cfg.embedding.model_cache_dir)
                .unwrap_or_else(|| root.join("target/perf-models")),
        },
        threads: pick!(args.threads, cfg.embedding.threads, Some(0)).unwrap_or(0),
        embedding_cache_dir: path_setting(&None, &cfg.embedding.vector_cache_dir)
            .unwrap_or_else(|| root.join("target/perf-cache/embeddings")),
        index: IndexPlan {
            connectivity: cfg.index.connectivity.unwrap_or(16),
            expansion_add: cfg.index.expansion_add.unwrap_or(128),
            expansion_search: cfg.index.expansion_search.unwrap_or(64),
            storage: cfg.index.storage.unwrap_or_default(),
        },
        rag: RagPlan {
            top_k: cfg.rag.top_k.unwrap_or(5),
            max_context_chars: cfg.rag.max_context_chars.unwrap_or(8000),
        },
        harness: HarnessPlan {
            warmup_passes: pick!(args.warmup, user.warmup_passes, builtin.warmup_passes)
                .unwrap_or(1),
            passes: pick!(args.iterations, user.passes, builtin.passes).unwrap_or(1),
            index_builds: pick!(None, user.index_builds, builtin.index_builds).unwrap_or(1),
        },
        embedding: EmbeddingPlan {
            batch_sizes: cfg
                .embedding
                .batch_sizes
                .clone()
                .unwrap_or_else(|| vec![1, 10, 32, 50]),
            docs_per_batch_size: pick!(None, user.docs_per_batch_size, builtin.docs_per_batch_size)
                .unwrap_or(1),
            min_batches: pick!(None, user.min_batches, builtin.min_batches).unwrap_or(1),
            warmup_batches: pick!(None, user.warmup_batches, builtin.warmup_batches).unwrap_or(0),
            engines: cfg
                .embedding
                .engines
                .clone()
                .unwrap_or_else(EmbeddingPlan::default_engines),
            kernel: cfg.embedding.kernel.unwrap_or_default(),
        },
        llm,
        vector: resolve_vector(args, cfg, cfg_dir, profile, defaults),
        inject_delay: None,
        callgrind: false,
        max_queries: None,
    };
    if let Err(e) = plan.validate() {
        bail!("invalid settings: {}", crate::settings::for_user(&e));
    }
    Ok(plan)
}

/// `[llm]` and its flags; the openai server only when a URL is given.
fn resolve_llm(
    args: &RunArgs,
    cfg: &crate::config::PerfConfig,
    cfg_dir: &Path,
    root: &Path,
    cwd: &Path,
    user: &ProfileConfig,
    builtin: &ProfileConfig,
) -> LlmPlan {
    let c = &cfg.llm;
    let d = LlmPlan::default();
    let o = c.openai.clone().unwrap_or_default();
    // A served run's address is only known once the server is up: the
    // workloads process fills it in.
    let base_url = args
        .openai_url
        .clone()
        .or(o.base_url)
        .or_else(|| args.openai_serve.then(String::new));
    let engines = if !args.engines.is_empty() {
        dedup(&args.engines)
    } else if let Some(e) = c.engines.as_deref() {
        dedup(e)
    } else {
        // The default engines, and the server too once a URL says where it is.
        let mut e = d.engines;
        if base_url.is_some() {
            e.push(EngineName::Openai);
        }
        e
    };
    let openai = base_url.map(|base_url| OpenAiPlan {
        base_url: base_url.into(),
        model: o.model.unwrap_or_else(|| "gemma-3-270m".into()),
        // The documented default; unset, it simply sends no key.
        api_key_optional: o.api_key_env.is_none(),
        api_key_env: Some(o.api_key_env.unwrap_or_else(|| DEFAULT_API_KEY_ENV.into())),
        concurrency: o.concurrency.unwrap_or_else(|| vec![1, 2]),
        requests_per_level: o.requests_per_level.unwrap_or(8),
        connect_timeout_ms: o.connect_timeout_ms.unwrap_or(3_000),
        read_timeout_ms: o.read_timeout_ms.unwrap_or(60_000),
        retries: o.retries.unwrap_or(2),
        serve: args.openai_serve,
    });
    LlmPlan {
        engines,
        model: args
            .llm_model
            .as_deref()
            .map(|p| absolute(cwd, p))
            .or_else(|| c.model.as_deref().map(|p| absolute(cfg_dir, p))),
        cache_dir: c
            .model_cache_dir
            .as_deref()
            .map(|p| absolute(cfg_dir, p))
            .unwrap_or_else(|| root.join("target/perf-models")),
        prompt_lengths: c
            .prompt_lengths
            .clone()
            .or_else(|| user.llm_prompt_lengths.clone())
            .or_else(|| builtin.llm_prompt_lengths.clone())
            .unwrap_or(d.prompt_lengths),
        max_new_tokens: c.max_new_tokens.unwrap_or(d.max_new_tokens),
        questions: user.llm_questions.or(builtin.llm_questions),
        // --iterations sets every workload's passes; otherwise the profile's.
        passes: args.iterations.or(user.llm_passes).or(builtin.llm_passes),
        agreement_tokens: c.agreement_tokens.unwrap_or(d.agreement_tokens),
        context_tokens: c.context_tokens.unwrap_or(d.context_tokens),
        rag_context_chars: c.rag_context_chars.unwrap_or(d.rag_context_chars),
        candle_weights: c.candle_weights.unwrap_or(d.candle_weights),
        openai,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PerfConfig;
    use perf_contract::{
        metric_key::{LoadTarget, VectorEngineName},
        plan::{EmbedEngine, Kernel},
    };

    fn defaults() -> Defaults {
        Defaults {
            root: "/proj".into(),
            rust_book: Some("/sysroot/share/doc/rust/html/book".into()),
        }
    }

    fn loaded(toml: &str) -> LoadedConfig {
        LoadedConfig {
            config: PerfConfig::parse(toml, Path::new("perf.toml")).unwrap(),
            base_dir: "/cfg".into(),
            path: None,
        }
    }

    #[test]
    fn vector_engines_sizes_and_servers_come_from_flags_or_config() {
        let none = loaded("");
        let full = resolve(&RunArgs::default(), &none, &defaults(), Path::new("/")).unwrap();
        assert_eq!(full.vector.engines, VectorEngineName::ALL);
        assert_eq!(full.vector.sizes, [1_000, 10_000, 100_000]);
        assert_eq!(
            full.vector.scaling_corpus[0],
            Path::new("/sysroot/share/doc/rust/html/reference")
        );
        assert_eq!(full.vector.tools_dir, Path::new("/proj/target/perf-tools"));
        let quick = RunArgs {
            quick: true,
            ..RunArgs::default()
        };
        let q = resolve(&quick, &none, &defaults(), Path::new("/")).unwrap();
        assert_eq!((q.vector.engines.len(), q.vector.sizes.len()), (2, 1));
        assert_eq!(q.vector.load.seconds_per_rate, 5.0);
        // One `[vector.load]` key replaces that key only: the quick
        // profile's 5 s per rate stays (it became the full 20 s).
        let one_key = loaded("[vector.load]\nllm_rates = [0.5]\n");
        let q = resolve(&quick, &one_key, &defaults(), Path::new("/")).unwrap();
        assert_eq!(q.vector.load.seconds_per_rate, 5.0);
        assert_eq!(q.vector.load.llm_rates, [0.5]);

        let args = RunArgs {
            vector_engines: vec![VectorEngineName::Chroma, VectorEngineName::Chroma],
            vector_sizes: vec![500],
            scale: true,
            chroma_url: Some("http://10.0.0.2:8000".into()),
            ..RunArgs::default()
        };
        let cfg = loaded("[vector]\nsizes = [7]\n[vector.chroma]\ntenant = \"t\"\n[vector.load]\nllm_rates = [0.5, 1.5]\n");
        let plan = resolve(&args, &cfg, &defaults(), Path::new("/")).unwrap();
        assert_eq!(plan.vector.engines, [VectorEngineName::Chroma]);
        assert_eq!(plan.vector.sizes, [500, 1_000_000]);
        assert_eq!(
            plan.vector.chroma.url.as_ref().map(|u| u.expose()),
            Some("http://10.0.0.2:8000")
        );
        assert_eq!(plan.vector.chroma.tenant, "t");
        assert_eq!(plan.vector.load.llm_rates, [0.5, 1.5]);

        // A served LLM needs no URL; a bad rate or burstiness names its key.
        let serve = RunArgs {
            openai_serve: true,
            engines: vec![EngineName::Openai],
            ..RunArgs::default()
        };
        let plan = resolve(&serve, &none, &defaults(), Path::new("/")).unwrap();
        assert!(plan.llm.openai.unwrap().serve);
        for (toml, key) in [
            ("[vector.load]\nchroma_rates = [0.0]\n", "rates"),
            ("[vector.load]\nburstiness = -1.0\n", "burstiness"),
            ("[vector]\nsizes = [0]\n", "sizes"),
        ] {
            let err = resolve(
                &RunArgs::default(),
                &loaded(toml),
                &defaults(),
                Path::new("/"),
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains(key), "{toml}: {err}");
        }
        assert!(PerfConfig::parse("[vector.chroma]\nhost = \"x\"\n", Path::new("p.toml")).is_err());
    }

    /// `perf.toml` spells names as before and the plan holds them typed;
    /// a name that is none is refused as the file is read, naming its
    /// line and the known names (not later, by the plan's validation or
    /// the workloads process).
    #[test]
    fn perf_toml_names_become_typed_plan_fields() {
        let cfg = loaded(
            "[embedding]\nengines = [\"candle\"]\nkernel = \"f32\"\n\
             [vector]\nengines = [\"exact\"]\n[vector.load]\ntargets = [\"rag\"]\n",
        );
        let plan = resolve(&RunArgs::default(), &cfg, &defaults(), Path::new("/")).unwrap();
        assert_eq!(plan.embedding.engines, [EmbedEngine::Candle]);
        assert_eq!(plan.embedding.kernel, Kernel::F32);
        assert_eq!(plan.vector.engines, [VectorEngineName::Exact]);
        assert_eq!(plan.vector.load.targets, [LoadTarget::Rag]);
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["embedding"]["kernel"], "f32");
        assert_eq!(json["vector"]["load"]["targets"][0], "rag");

        let plan = resolve(
            &RunArgs::default(),
            &loaded(""),
            &defaults(),
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(
            plan.embedding.engines,
            [EmbedEngine::Native, EmbedEngine::Candle]
        );
        assert_eq!(plan.embedding.kernel, Kernel::Auto);
        assert_eq!(plan.vector.load.targets, LoadTarget::ALL);

        for (toml, message) in [
            (
                "[vector]\nengines = [\"qdrant\"]\n",
                "p.toml (line 2): unknown vector engine `qdrant` (known: usearch, exact, chroma)",
            ),
            (
                "[embedding]\nengines = [\"onnx\"]\n",
                "p.toml (line 2): unknown embedding engine `onnx` (known: native, candle)",
            ),
            (
                "[embedding]\nkernel = \"avx\"\n",
                "p.toml (line 2): unknown kernel `avx` (known: auto, bf16-avx512, f32)",
            ),
            (
                // An overlay table is checked as a whole: its line, and the key.
                "[vector.load]\ntargets = [\"redis\"]\n",
                "p.toml (line 1): unknown load target `redis` (known: chroma, openai, rag) in `targets`",
            ),
        ] {
            let err = PerfConfig::parse(toml, Path::new("p.toml"))
                .unwrap_err()
                .to_string();
            assert_eq!(err, message);
        }
    }

    #[test]
    fn defaults_are_the_full_profile_on_the_rust_book() {
        let plan = resolve(
            &RunArgs::default(),
            &loaded(""),
            &defaults(),
            Path::new("/cwd"),
        )
        .unwrap();
        assert_eq!(plan.profile, ProfileName::Full);
        assert_eq!(plan.workloads, WorkloadName::defaults());
        assert_eq!(
            plan.llm.engines,
            vec![EngineName::Llamacpp, EngineName::Candle]
        );
        assert_eq!(plan.llm.openai, None);
        assert_eq!(
            plan.corpus.dir,
            PathBuf::from("/sysroot/share/doc/rust/html/book")
        );
        assert_eq!(plan.corpus.max_chunks, None);
        assert_eq!(
            plan.queries,
            PathBuf::from("/proj/perf-workloads/data/queries.txt")
        );
        assert_eq!(
            plan.embedding_model.cache_dir,
            PathBuf::from("/proj/target/perf-models")
        );
        assert_eq!(plan.rag.top_k, 5);
        assert_eq!(plan.embedding.batch_sizes, vec![1, 10, 32, 50]);
    }

    #[test]
    fn quick_profile_uses_a_subset() {
        let args = RunArgs {
            quick: true,
            ..RunArgs::default()
        };
        let plan = resolve(&args, &loaded(""), &defaults(), Path::new("/cwd")).unwrap();
        assert_eq!(plan.profile, ProfileName::Quick);
        assert_eq!(plan.corpus.max_chunks, Some(300));
        assert_eq!(plan.harness.passes, 3);
    }

    #[test]
    fn flag_beats_config_beats_builtin() {
        let cfg = loaded("[corpus]\ndir = \"docs\"\nqueries = \"q.txt\"\n[profile.full]\npasses = 7\nwarmup_passes = 4\n");
        let plan = resolve(&RunArgs::default(), &cfg, &defaults(), Path::new("/cwd")).unwrap();
        assert_eq!(
            plan.corpus.dir,
            PathBuf::from("/cfg/docs"),
            "config paths are relative to the file"
        );
        assert_eq!(plan.queries, PathBuf::from("/cfg/q.txt"));
        assert_eq!(plan.harness.passes, 7);
        let args = RunArgs {
            corpus: Some("mine".into()),
            iterations: Some(2),
            ..RunArgs::default()
        };
        let plan = resolve(&args, &cfg, &defaults(), Path::new("/cwd")).unwrap();
        assert_eq!(
            plan.corpus.dir,
            PathBuf::from("/cwd/mine"),
            "flag paths are relative to the cwd"
        );
        assert_eq!(plan.harness.passes, 2);
        assert_eq!(plan.harness.warmup_passes, 4);
    }

    #[test]
    fn workloads_are_deduplicated_in_order() {
        let args = RunArgs {
            workloads: vec![
                WorkloadName::VectorQuery,
                WorkloadName::RagQuery,
                WorkloadName::VectorQuery,
            ],
            ..RunArgs::default()
        };
        let plan = resolve(&args, &loaded(""), &defaults(), Path::new("/")).unwrap();
        assert_eq!(
            plan.workloads,
            vec![WorkloadName::VectorQuery, WorkloadName::RagQuery]
        );
    }

    #[test]
    fn engines_and_openai_come_from_flags_or_config() {
        let cfg = loaded("[llm]\nengines = [\"candle\"]\n[llm.openai]\nbase_url = \"http://127.0.0.1:9\"\nconcurrency = [1, 3]\n");
        let plan = resolve(&RunArgs::default(), &cfg, &defaults(), Path::new("/cwd")).unwrap();
        assert_eq!(plan.llm.engines, vec![EngineName::Candle]);
        assert_eq!(plan.llm.openai.as_ref().unwrap().concurrency, vec![1, 3]);
        let args = RunArgs {
            workloads: vec![WorkloadName::Inference],
            engines: vec![EngineName::Openai, EngineName::Openai],
            openai_url: Some("http://127.0.0.1:8000".into()),
            quick: true,
            ..RunArgs::default()
        };
        let plan = resolve(&args, &cfg, &defaults(), Path::new("/cwd")).unwrap();
        assert_eq!(plan.llm.engines, vec![EngineName::Openai]);
        assert_eq!(
            plan.llm.openai.unwrap().base_url.expose(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(plan.llm.prompt_lengths, vec![128]);
    }

    #[test]
    fn api_key_variable_defaults_to_openai_api_key() {
        let url = "[llm.openai]\nbase_url = \"http://127.0.0.1:9\"\n";
        let plan = resolve(
            &RunArgs::default(),
            &loaded(url),
            &defaults(),
            Path::new("/"),
        )
        .unwrap();
        let o = plan.llm.openai.unwrap();
        assert_eq!(o.api_key_env.as_deref(), Some("OPENAI_API_KEY"));
        assert!(o.api_key_optional, "the default may be unset");
        let mine = format!("{url}api_key_env = \"MY_KEY\"\n");
        let plan = resolve(
            &RunArgs::default(),
            &loaded(&mine),
            &defaults(),
            Path::new("/"),
        )
        .unwrap();
        let o = plan.llm.openai.unwrap();
        assert_eq!(o.api_key_env.as_deref(), Some("MY_KEY"));
        assert!(!o.api_key_optional, "a configured variable must be set");
    }

    #[test]
    fn openai_without_a_url_is_refused_naming_the_flag() {
        let args = RunArgs {
            workloads: vec![WorkloadName::Inference],
            engines: vec![EngineName::Openai],
            ..RunArgs::default()
        };
        let err = resolve(&args, &loaded(""), &defaults(), Path::new("/")).unwrap_err();
        assert!(err.to_string().contains("--openai-url"), "{err}");
    }

    #[test]
    fn zero_iterations_is_refused_naming_the_flag() {
        let args = RunArgs {
            iterations: Some(0),
            ..RunArgs::default()
        };
        let err = resolve(&args, &loaded(""), &defaults(), Path::new("/")).unwrap_err();
        assert!(err.to_string().contains("--iterations"), "{err}");
    }

    #[test]
    fn no_sysroot_and_no_corpus_says_what_to_do() {
        let d = Defaults {
            rust_book: None,
            ..defaults()
        };
        let err = resolve(&RunArgs::default(), &loaded(""), &d, Path::new("/")).unwrap_err();
        assert!(err.to_string().contains("--corpus DIR"), "{err}");
    }
}
