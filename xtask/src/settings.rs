//! How a user sets each setting that library errors name: the library
//! crates name a setting by its plan path (`perf_contract::setting`), and
//! every error that reaches the user passes through [`for_user`], which puts
//! the flag or `perf.toml` key in its place.

use perf_contract::setting::Setting;

/// What the user types to set `setting`.
pub fn how_to_set(setting: Setting) -> &'static str {
    match setting {
        Setting::Workloads => "--workload",
        Setting::Passes => "--iterations",
        Setting::Engines => "--engine",
        Setting::OpenAiUrl => "--openai-url URL or [llm.openai] base_url in perf.toml",
        Setting::CorpusDir => "--corpus DIR or [corpus] dir in perf.toml",
        Setting::EmbeddingModel => "--model-dir",
        Setting::LlmModel => "--llm-model",
        Setting::MaxChunks => "--max-chunks N or [corpus] max_chunks in perf.toml",
        Setting::Threads => "--threads N or [embedding] threads in perf.toml",
        Setting::VectorSizes => "--vector-size N or [vector] sizes in perf.toml",
        Setting::ChromaUrl => "--chroma-url URL or [vector.chroma] url in perf.toml",
    }
}

/// A library's message with every setting it names spelled as the user
/// sets it.
pub fn for_user(message: &str) -> String {
    Setting::ALL
        .into_iter()
        .fold(message.to_string(), |text, s| {
            text.replace(&s.to_string(), how_to_set(s))
        })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::cli::Cli;

    #[test]
    fn every_setting_names_a_flag_the_cli_has() {
        let cli = Cli::command();
        let baseline = cli
            .find_subcommand("perf")
            .and_then(|p| p.find_subcommand("baseline"))
            .expect("perf baseline exists");
        let flags: Vec<String> = baseline
            .get_arguments()
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
        for s in Setting::ALL {
            let flag = how_to_set(s).split_whitespace().next().unwrap();
            assert!(flags.iter().any(|f| f == flag), "{s:?}: {flag}");
        }
    }

    #[test]
    fn library_messages_come_out_with_flags() {
        let plan_error = format!("passes ({}) must be at least 1, got 0", Setting::Passes);
        assert_eq!(
            for_user(&plan_error),
            "passes (--iterations) must be at least 1, got 0"
        );
        let missing = format!(
            "corpus folder /x does not exist: set {}, or for the default run `rustup component add rust-docs`",
            Setting::CorpusDir
        );
        assert_eq!(
            for_user(&missing),
            "corpus folder /x does not exist: set --corpus DIR or [corpus] dir in perf.toml, or for the default run `rustup component add rust-docs`"
        );
    }
}
