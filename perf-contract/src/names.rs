//! Every name that crosses the process boundary or a file, as an enum:
//! workloads, profiles, LLM / embedding / vector engines, load targets,
//! stages, the embedding kernel, candle's weights and the index's storage.
//! One macro (`name_enum!`) gives each its spelling (`as_str`,
//! `Display`), `FromStr` with the "unknown X (known: …)" message, serde as
//! that string, and `ALL`; strings exist only in files and on the command
//! line. What a name means to a part of the program (which workloads use
//! the LLM, the retrieval stages in order) stays with that part, in an
//! `impl` beside it (`plan.rs`, `stage.rs`).
//!
//! This module imports nothing of the crate, so anything may import it:
//! the plan, the metric names and the protocol meet here, not in each other.

/// Defines a name enum: `Variant => "spelling"` pairs and the noun
/// messages call one (`"vector engine"`). The spelling is the only form
/// in files, on the command line and in messages.
macro_rules! name_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident: $noun:literal {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order (the order lists and
            /// reports show them in).
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            /// What messages call one of these.
            pub const NOUN: &'static str = $noun;

            /// Its spelling in files and on the command line.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value spelled `s`, if any (for parsers that try one
            /// kind of name after another).
            pub fn from_name(s: &str) -> Option<$name> {
                $name::ALL.into_iter().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<$name, String> {
                $name::from_name(s).ok_or_else(|| {
                    $crate::names::unknown_name($noun, s, $name::ALL.map($name::as_str))
                })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                struct Spelling;
                impl serde::de::Visitor<'_> for Spelling {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "a {} name", $noun)
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$name, E> {
                        s.parse().map_err(E::custom)
                    }
                }
                d.deserialize_str(Spelling)
            }
        }
    };
}

pub(crate) use name_enum;

/// `unknown vector engine `qdrant` (known: usearch, exact, chroma)`.
#[doc(hidden)]
pub fn unknown_name<const N: usize>(noun: &str, given: &str, known: [&str; N]) -> String {
    format!("unknown {noun} `{given}` (known: {})", known.join(", "))
}

name_enum! {
    /// Every workload the harness knows, by the name users type.
    pub enum WorkloadName: "workload" {
        RagQuery => "rag_query",
        Embedding => "embedding",
        VectorQuery => "vector_query",
        /// LLM prefill, decode, TTFT and inter-token latency per engine.
        Inference => "inference",
        /// The full answer path: retrieval, prompt, generation, per engine.
        RagAnswer => "rag_answer",
        /// Servers (Chroma, the OpenAI-compatible LLM server, the RAG answer
        /// over both) under open-loop Poisson load at a sweep of rates.
        ServerLoad => "server_load",
    }
}

name_enum! {
    /// Named set of iteration counts and corpus limits; runs are only
    /// compared within the same profile.
    pub enum ProfileName: "profile" {
        /// Few hundred chunks, few iterations: for CI and smoke checks.
        Quick => "quick",
        /// Whole corpus, enough iterations for stable tail percentiles.
        Full => "full",
    }
}

name_enum! {
    /// The LLM engines, by the name users type (`--engine`).
    pub enum EngineName: "engine" {
        /// llama.cpp in-process (llama-cpp-2).
        Llamacpp => "llamacpp",
        /// candle's quantized Gemma 3 in-process.
        Candle => "candle",
        /// Any OpenAI-compatible HTTP server, streamed.
        Openai => "openai",
    }
}

name_enum! {
    /// The sentence-embedding engines (`<engine>.` starts their metrics).
    /// Metrics of baselines from before engines were named carry no
    /// prefix and were candle's.
    pub enum EmbedEngine: "embedding engine" {
        /// The stack's own encoder (`embed::native`): the default.
        Native => "native",
        /// candle's `BertModel`: the reference engine.
        Candle => "candle",
    }
}

name_enum! {
    /// The native embedding engine's kernel path (`[embedding] kernel`).
    pub enum Kernel: "kernel" {
        /// The fastest path this CPU runs: the default.
        Auto => "auto",
        /// bf16 tiles (`tdpbf16ps`); needs AMX-BF16 and Linux's grant of
        /// the tile state.
        AmxBf16 => "amx-bf16",
        /// bf16 dot products (`vdpbf16ps`); needs AVX-512 BF16.
        Bf16Avx512 => "bf16-avx512",
        /// f32 throughout.
        F32 => "f32",
    }
}

name_enum! {
    /// The vector-search engines `vector_query` measures.
    pub enum VectorEngineName: "vector engine" {
        /// usearch HNSW in-process: the stack's default.
        Usearch => "usearch",
        /// Brute-force scan in-process: the ground truth.
        Exact => "exact",
        /// A ChromaDB server over its HTTP API.
        Chroma => "chroma",
    }
}

/// What the commands know of each vector engine, one row per engine.
impl VectorEngineName {
    /// Whether the engine runs in this process (its operations are this
    /// process's instructions, which callgrind can count); a server's run
    /// elsewhere.
    pub const fn in_process(self) -> bool {
        !matches!(self, VectorEngineName::Chroma)
    }

    /// Memory one vector costs inside the engine, for the preflight's
    /// estimate of the largest size (`xtask/src/vector_memory.rs`):
    /// measured on the scaling curve (`<engine>.n<N>.rss_per_vector` and
    /// `bytes_per_vector` in the committed baselines) and rounded down, so
    /// the check never refuses a size that fits. exact keeps the f32 row
    /// and an f16 copy (2304 B), usearch about 1.3-1.7 KB, a Chroma server
    /// about 1.9 KB on disk and more in its process.
    pub const fn bytes_per_vector(self) -> u64 {
        match self {
            VectorEngineName::Usearch => 1300,
            VectorEngineName::Exact => 2304,
            VectorEngineName::Chroma => 1500,
        }
    }
}

name_enum! {
    /// What an open-loop run (`server_load`) sends requests to.
    pub enum LoadTarget: "load target" {
        /// Top-k queries to the Chroma server.
        Chroma => "chroma",
        /// Completions from the OpenAI-compatible server.
        Openai => "openai",
        /// The whole RAG answer: embed, search Chroma, generate on openai.
        Rag => "rag",
    }
}

name_enum! {
    /// Pipeline stages, one name for timing, profiling and reports.
    pub enum Stage: "stage" {
        /// Question text to token ids.
        Tokenize => "tokenize",
        /// Transformer forward pass, pooling and normalisation.
        Embed => "embed",
        /// Nearest child chunks from the vector index.
        Search => "search",
        /// Child chunks to their unique parent documents.
        FetchParents => "fetch_parents",
        /// Parent documents joined into the context string.
        AssembleContext => "assemble_context",
        /// Brute-force search, the ground truth of `vector_query`.
        ExactSearch => "exact_search",
        /// Building the HNSW graph from the corpus vectors.
        BuildIndex => "build_index",
        /// Question and context into the LLM prompt (`rag_answer`).
        BuildPrompt => "build_prompt",
        /// The LLM's answer, prompt to last token (`rag_answer`).
        Generate => "generate",
    }
}

name_enum! {
    /// How the `candle` LLM engine holds the GGUF's weights. candle 0.11
    /// multiplies Q5_0 blocks with a scalar loop (no SIMD kernel), and
    /// Gemma 3 270M's "Q4_K_M" file stores most layer weights as Q5_0
    /// (its 640-wide rows do not fit K-quant blocks), so the choice
    /// decides candle's speed.
    pub enum CandleWeights: "candle weights setting" {
        /// As the file stores them, through candle's quantized kernels.
        Quantized => "quantized",
        /// Q5_0 tensors expanded to f32 at load (measured for the 270M
        /// model: 623 MiB of RSS after loading against 420 MiB), multiplied
        /// by candle's f32 GEMM; the other types stay quantized. The
        /// default: about 10x the prefill rate of `Quantized` on the
        /// development VM, with the same agreement with llama.cpp.
        Q5AsF32 => "q5_0_as_f32",
    }
}

name_enum! {
    /// The element type an HNSW graph keeps its vectors in. Queries and
    /// sums stay f32; only the stored copies are rounded.
    pub enum VectorStorage: "vector storage" {
        /// 4 bytes an element, as the embedder produced them.
        F32 => "f32",
        /// IEEE half precision, 2 bytes an element: the default. Searches
        /// over the Rust book's 4,613 MiniLM vectors ran 1.5-2x faster than
        /// with f32 at the same recall@10 against exact f32 search
        /// (`benchmarks/`).
        F16 => "f16",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name parses from, prints as and serialises to its spelling;
    /// an unknown one names the kind and every known spelling.
    fn round_trips<T>(all: &[T], noun: &str)
    where
        T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display,
        T: std::str::FromStr<Err = String> + serde::Serialize + serde::de::DeserializeOwned,
    {
        let mut spellings = Vec::new();
        for &v in all {
            let text = v.to_string();
            assert_eq!(text.parse::<T>(), Ok(v));
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{text}\""));
            assert_eq!(
                serde_json::from_str::<T>(&format!("\"{text}\"")).unwrap(),
                v
            );
            spellings.push(text);
        }
        let err = "nope".parse::<T>().unwrap_err();
        assert_eq!(
            err,
            format!("unknown {noun} `nope` (known: {})", spellings.join(", "))
        );
        let err = serde_json::from_str::<T>("\"nope\"")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&format!("unknown {noun} `nope`")), "{err}");
    }

    #[test]
    fn every_name_round_trips_through_its_spelling() {
        round_trips(&WorkloadName::ALL, "workload");
        round_trips(&ProfileName::ALL, "profile");
        round_trips(&EngineName::ALL, "engine");
        round_trips(&EmbedEngine::ALL, "embedding engine");
        round_trips(&Kernel::ALL, "kernel");
        round_trips(&VectorEngineName::ALL, "vector engine");
        round_trips(&LoadTarget::ALL, "load target");
        round_trips(&Stage::ALL, "stage");
        round_trips(&CandleWeights::ALL, "candle weights setting");
        round_trips(&VectorStorage::ALL, "vector storage");
    }

    /// The spellings files have always held (serde's snake_case of the
    /// old derives, and the hand-written tables): a renamed variant must
    /// not rename a file's value.
    #[test]
    fn spellings_are_the_ones_files_hold() {
        let spelled = |all: &[&str]| all.join(" ");
        assert_eq!(
            spelled(&WorkloadName::ALL.map(WorkloadName::as_str)),
            "rag_query embedding vector_query inference rag_answer server_load"
        );
        assert_eq!(
            spelled(&ProfileName::ALL.map(ProfileName::as_str)),
            "quick full"
        );
        assert_eq!(
            spelled(&EngineName::ALL.map(EngineName::as_str)),
            "llamacpp candle openai"
        );
        assert_eq!(
            spelled(&Kernel::ALL.map(Kernel::as_str)),
            "auto amx-bf16 bf16-avx512 f32"
        );
        assert_eq!(
            spelled(&CandleWeights::ALL.map(CandleWeights::as_str)),
            "quantized q5_0_as_f32"
        );
        assert_eq!(
            spelled(&VectorStorage::ALL.map(VectorStorage::as_str)),
            "f32 f16"
        );
    }

    /// A name as a map key (the baseline's `workloads`) is its spelling.
    #[test]
    fn names_are_map_keys_by_spelling() {
        let map = std::collections::BTreeMap::from([(WorkloadName::RagQuery, 1)]);
        let json = serde_json::to_string(&map).unwrap();
        assert_eq!(json, r#"{"rag_query":1}"#);
        let back: std::collections::BTreeMap<WorkloadName, i32> =
            serde_json::from_str(&json).unwrap();
        assert_eq!(back, map);
    }
}
