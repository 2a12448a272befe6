//! Settings that errors of the library crates name. A library says which
//! setting is at fault by its path in the plan (`corpus.dir`); only the
//! front end knows how a user sets it (a flag, a `perf.toml` key) and
//! rewrites the name for the user (xtask's `settings.rs`), so the measured
//! program never speaks of flags it does not have.

use std::fmt;

/// A setting a library error can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Workloads,
    Passes,
    Processes,
    Engines,
    OpenAiUrl,
    CorpusDir,
    EmbeddingModel,
    LlmModel,
    MaxChunks,
    Threads,
    VectorSizes,
    ChromaUrl,
}

impl Setting {
    pub const ALL: [Setting; 12] = [
        Setting::Workloads,
        Setting::Passes,
        Setting::Processes,
        Setting::Engines,
        Setting::OpenAiUrl,
        Setting::CorpusDir,
        Setting::EmbeddingModel,
        Setting::LlmModel,
        Setting::MaxChunks,
        Setting::Threads,
        Setting::VectorSizes,
        Setting::ChromaUrl,
    ];

    /// Its path in the plan file.
    pub fn plan_key(self) -> &'static str {
        match self {
            Setting::Workloads => "workloads",
            Setting::Passes => "harness.passes",
            Setting::Processes => "harness.processes",
            Setting::Engines => "llm.engines",
            Setting::OpenAiUrl => "llm.openai.base_url",
            Setting::CorpusDir => "corpus.dir",
            Setting::EmbeddingModel => "embedding_model.path",
            Setting::LlmModel => "llm.model",
            Setting::MaxChunks => "corpus.max_chunks",
            Setting::Threads => "threads",
            Setting::VectorSizes => "vector.sizes",
            Setting::ChromaUrl => "vector.chroma.url",
        }
    }
}

/// How errors spell it: the plan path in backticks, which a front end
/// finds and replaces.
impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.plan_key())
    }
}

/// A command-line flag that sets plan keys, declared beside the fields it
/// sets (`plan::flags`: each plan file's `FLAGS`). The front end builds
/// its parser, its help and every message naming a flag from these rows,
/// so a setting with a flag is one row in the file of its field.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// `iterations` for `--iterations`.
    pub long: &'static str,
    /// What help and messages call its value (`N`); empty for a switch.
    pub value_name: &'static str,
    /// The plan keys it sets.
    pub keys: &'static [&'static str],
    pub value: FlagValue,
    pub help: &'static str,
    /// Repeatable: each use adds one value to a list.
    pub many: bool,
    /// The flag it cannot be given with.
    pub conflicts_with: Option<&'static str>,
}

/// What a flag's value is, so the front end can check it as it parses.
#[derive(Debug, Clone, Copy)]
pub enum FlagValue {
    /// No value: sets `true`.
    Switch,
    /// A whole number.
    Count,
    /// Text, kept as given (a path is made absolute by the front end).
    Text,
    /// A name, checked by its enum's `FromStr` (the "known: …" message).
    Name(fn(&str) -> Result<(), String>),
}

/// The check of [`FlagValue::Name`] for the name enum `T`.
pub fn is_name<T: std::str::FromStr<Err = String>>(s: &str) -> Result<(), String> {
    s.parse::<T>().map(drop)
}

impl Flag {
    pub const fn new(
        long: &'static str,
        value_name: &'static str,
        keys: &'static [&'static str],
        value: FlagValue,
        help: &'static str,
    ) -> Flag {
        Flag {
            long,
            value_name,
            keys,
            value,
            help,
            many: false,
            conflicts_with: None,
        }
    }

    /// A switch setting `keys` to `true`.
    pub const fn switch(
        long: &'static str,
        keys: &'static [&'static str],
        help: &'static str,
    ) -> Flag {
        Flag::new(long, "", keys, FlagValue::Switch, help)
    }

    pub const fn repeated(self) -> Flag {
        Flag { many: true, ..self }
    }

    pub const fn conflicts_with(self, long: &'static str) -> Flag {
        Flag {
            conflicts_with: Some(long),
            ..self
        }
    }

    /// `--iterations N`, as messages spell it.
    pub fn usage(&self) -> String {
        match self.value {
            FlagValue::Switch => format!("--{}", self.long),
            _ => format!("--{} {}", self.long, self.value_name),
        }
    }
}
