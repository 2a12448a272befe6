//! `perf.toml`: the user's configuration. Every field is optional; what is
//! left out falls back to the profile defaults in `resolve`. Unknown keys are
//! errors, so a typo never silently measures the wrong thing.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use perf_contract::{
    metric_key::VectorEngineName,
    plan::{CandleWeights, EmbedEngine, EngineName, Kernel, WorkloadName},
};
use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PerfConfig {
    pub corpus: CorpusConfig,
    pub embedding: EmbeddingConfig,
    pub index: IndexConfig,
    pub rag: RagConfig,
    pub baseline: BaselineConfig,
    pub profile: ProfilesConfig,
    pub check: CheckConfig,
    pub llm: LlmConfig,
    pub vector: VectorConfig,
}

/// `[vector]`: `vector_query`'s engines and scaling curve, the HNSW sweep,
/// and (`[vector.chroma]`, `[vector.load]`) the Chroma server and the
/// open-loop load test, whose tables take the plan's own fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VectorConfig {
    pub engines: Option<Vec<VectorEngineName>>,
    pub sizes: Option<Vec<usize>>,
    pub scaling_corpus: Option<Vec<PathBuf>>,
    pub ks: Option<Vec<usize>>,
    pub clients: Option<Vec<usize>>,
    pub query_passes: Option<u32>,
    pub sweep_connectivity: Option<Vec<usize>>,
    pub sweep_expansion_search: Option<Vec<usize>>,
    pub sweep_size: Option<usize>,
    pub chroma: Option<perf_contract::plan::ChromaPlan>,
    /// Merged key by key over the profile's defaults (`Overlay`).
    pub load: Option<crate::overlay::Overlay<perf_contract::plan::LoadPlan>>,
}

/// `[llm]`: the engines and generation settings of `inference` and
/// `rag_answer`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    pub engines: Option<Vec<EngineName>>,
    pub model: Option<PathBuf>,
    pub model_cache_dir: Option<PathBuf>,
    pub prompt_lengths: Option<Vec<usize>>,
    pub max_new_tokens: Option<usize>,
    pub agreement_tokens: Option<usize>,
    pub context_tokens: Option<usize>,
    pub rag_context_chars: Option<usize>,
    /// `quantized` or `q5_0_as_f32`.
    pub candle_weights: Option<CandleWeights>,
    pub openai: Option<OpenAiConfig>,
}

/// `[llm.openai]`: an OpenAI-compatible server.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiConfig {
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// Name of the environment variable holding the API key (never the key).
    pub api_key_env: Option<String>,
    pub concurrency: Option<Vec<usize>>,
    pub requests_per_level: Option<usize>,
    pub connect_timeout_ms: Option<u64>,
    pub read_timeout_ms: Option<u64>,
    pub retries: Option<u32>,
}

/// Regression-gate thresholds. A metric's threshold is the most specific of
/// `thresholds."workload.metric"`, `thresholds."workload"`, `threshold_pct`,
/// raised to the absolute floor (`min_abs_ms`, `min_abs_us`) for metrics so
/// small that timer and scheduler jitter alone exceed a percentage.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckConfig {
    pub threshold_pct: Option<f64>,
    pub min_abs_ms: Option<f64>,
    pub min_abs_us: Option<f64>,
    pub thresholds: std::collections::BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorpusConfig {
    pub dir: Option<PathBuf>,
    pub exclude: Option<Vec<String>>,
    pub chunk_size: Option<usize>,
    pub chunk_overlap: Option<usize>,
    pub queries: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddingConfig {
    pub model_dir: Option<PathBuf>,
    pub model_cache_dir: Option<PathBuf>,
    pub vector_cache_dir: Option<PathBuf>,
    pub threads: Option<usize>,
    pub batch_sizes: Option<Vec<usize>>,
    /// Engines the `embedding` workload measures; the first serves the stack.
    pub engines: Option<Vec<EmbedEngine>>,
    /// The native engine's kernel path: `auto`, `bf16-avx512` or `f32`.
    pub kernel: Option<Kernel>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    pub connectivity: Option<usize>,
    pub expansion_add: Option<usize>,
    pub expansion_search: Option<usize>,
    /// `f32` or `f16`: the element type the graph stores.
    pub storage: Option<perf_contract::plan::VectorStorage>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RagConfig {
    pub top_k: Option<usize>,
    pub max_context_chars: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BaselineConfig {
    // No `path`: the baseline's location is `--output` / `--baseline`;
    // a key that were accepted and never read would be a silent typo.
    pub workloads: Option<Vec<WorkloadName>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfilesConfig {
    pub quick: ProfileConfig,
    pub full: ProfileConfig,
}

/// Iteration counts and corpus limit of one profile.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileConfig {
    pub max_chunks: Option<usize>,
    pub warmup_passes: Option<u32>,
    pub passes: Option<u32>,
    pub index_builds: Option<u32>,
    pub docs_per_batch_size: Option<usize>,
    pub min_batches: Option<usize>,
    pub warmup_batches: Option<usize>,
    /// Questions the LLM workloads use per pass (`None`: all).
    pub llm_questions: Option<usize>,
    /// Measured passes of `inference` and `rag_answer` (default: `passes`).
    pub llm_passes: Option<u32>,
    /// Prefill prompt lengths of this profile (overrides `[llm] prompt_lengths`' default).
    pub llm_prompt_lengths: Option<Vec<usize>>,
}

/// A loaded configuration and the folder its relative paths are relative to.
#[derive(Debug, Clone, Default)]
pub struct LoadedConfig {
    pub config: PerfConfig,
    pub base_dir: PathBuf,
    /// The file read, if any: errors about a setting name it.
    pub path: Option<PathBuf>,
}

impl PerfConfig {
    pub fn parse(text: &str, name: &Path) -> Result<PerfConfig> {
        // toml's message spans several lines (it quotes the source); keep the
        // one that says what is wrong and where.
        toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            anyhow::anyhow!("{}{at}: {}", name.display(), e.message())
        })
    }
}

impl LoadedConfig {
    /// The file as errors name it (`perf.toml` when none was read).
    pub fn name(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "perf.toml".to_string(), |p| p.display().to_string())
    }
}

/// Reads `explicit` (which must exist) or else `default_path` when present.
pub fn load(explicit: Option<&Path>, default_path: &Path) -> Result<LoadedConfig> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None if default_path.exists() => default_path.to_path_buf(),
        None => {
            return Ok(LoadedConfig {
                base_dir: default_path
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
                ..LoadedConfig::default()
            })
        }
    };
    let text = fs::read_to_string(&path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let config = PerfConfig::parse(&text, &path)?;
    let base_dir = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    Ok(LoadedConfig {
        config,
        base_dir,
        path: Some(path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's perf.toml documents every key as a commented-out
    /// line; with those lines switched on it must still parse, so the
    /// documentation names real keys with values of the right type.
    #[test]
    fn documented_keys_parse() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../perf.toml");
        let text = fs::read_to_string(&path).unwrap();
        fn key(l: &str) -> Option<&str> {
            let l = l.strip_prefix("# ")?;
            let (k, _) = l.split_once(" = ")?;
            let bare = k.trim_matches('"');
            bare.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.".contains(c))
                .then_some(l)
        }
        // A value continued on the next commented line ("#     ...") is
        // switched on with its key.
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
        let parsed = PerfConfig::parse(&on, &path).unwrap();
        assert_ne!(parsed, PerfConfig::default());
        assert_eq!(parsed.llm.candle_weights, Some(CandleWeights::Q5AsF32));
    }

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(
            PerfConfig::parse("", Path::new("perf.toml")).unwrap(),
            PerfConfig::default()
        );
    }

    #[test]
    fn fields_are_read() {
        let c = PerfConfig::parse(
            "[corpus]\ndir = \"docs\"\nchunk_size = 300\n[profile.quick]\npasses = 2\n[baseline]\nworkloads = [\"embedding\"]\n",
            Path::new("perf.toml"),
        )
        .unwrap();
        assert_eq!(c.corpus.dir, Some(PathBuf::from("docs")));
        assert_eq!(c.corpus.chunk_size, Some(300));
        assert_eq!(c.profile.quick.passes, Some(2));
        assert_eq!(c.baseline.workloads, Some(vec![WorkloadName::Embedding]));
    }

    #[test]
    fn a_key_nothing_reads_is_refused() {
        let err = PerfConfig::parse("[baseline]\npath = \"b.json\"\n", Path::new("perf.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("perf.toml") && err.contains("path"), "{err}");
    }

    #[test]
    fn llm_section_is_read() {
        let c = PerfConfig::parse(
            "[llm]\nengines = [\"candle\"]\n[llm.openai]\nbase_url = \"http://127.0.0.1:8000\"\napi_key_env = \"MY_KEY\"\nconcurrency = [1, 4]\n",
            Path::new("perf.toml"),
        )
        .unwrap();
        assert_eq!(c.llm.engines, Some(vec![EngineName::Candle]));
        let o = c.llm.openai.unwrap();
        assert_eq!(o.api_key_env.as_deref(), Some("MY_KEY"));
        assert_eq!(o.concurrency, Some(vec![1, 4]));
        let err =
            PerfConfig::parse("[llm]\nengines = [\"vllm\"]\n", Path::new("p.toml")).unwrap_err();
        assert!(err.to_string().starts_with("p.toml (line 2)"), "{err}");
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = PerfConfig::parse(
            "[corpus]\nchunk_size = 300\nchunk_sise = 3\n",
            Path::new("perf.toml"),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("perf.toml (line 3): unknown field `chunk_sise`"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "one line: {msg}");
    }

    #[test]
    fn wrong_type_is_an_error() {
        let err = PerfConfig::parse("[rag]\ntop_k = \"five\"\n", Path::new("p.toml")).unwrap_err();
        assert!(err.to_string().starts_with("p.toml (line 2)"), "{err}");
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let err = load(
            Some(Path::new("/nonexistent/perf.toml")),
            Path::new("perf.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/perf.toml"), "{err}");
    }
}
