//! Settings as layers of data, merged key by key into the [`Plan`] a run
//! executes: the built-in full profile (`full.toml`), the quick profile
//! over it with `--quick` (`quick.toml`), `perf.toml` (its keys, then its
//! table of the selected profile), then the flags. Each layer is a flat map
//! from a plan key to a value (`layer`); a layer replaces only the keys it
//! sets. The merged layer becomes the plan through the plan's own serde
//! rules and is validated once (`Plan::validate`). Where a key is spelled
//! otherwise in `perf.toml`, its flag, and how messages name it: `registry`.
//!
//! Resolution ([`resolve`]) is pure: the caller passes in what it found on
//! disk, so precedence is tested directly; [`plan_for`] adds the machine's
//! defaults and checks that the inputs exist, so a typo fails before a
//! seven-minute build.

mod file;
mod flags;
mod layer;
mod registry;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use perf_contract::plan::{EngineName, Plan, ProfileName};
use xshell::{cmd, Shell};

pub use file::{load, LoadedConfig};
pub use flags::{names, RunArgs};
use layer::{Layer, Origin};
pub use registry::for_user;

const FULL: &str = include_str!("full.toml");
const QUICK: &str = include_str!("quick.toml");

/// Where the defaults live on this machine.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub root: PathBuf,
    /// The Rust book from the `rust-docs` component, when rustc reports a
    /// sysroot; its folder is the built-in profile's `{rust-docs}`.
    pub rust_book: Option<PathBuf>,
}

impl Defaults {
    /// Stand-in folders, for checking a file's types and names.
    fn for_checking() -> Defaults {
        Defaults {
            root: "/".into(),
            rust_book: Some("/rust-docs/book".into()),
        }
    }
}

/// The built-in settings of `profile` on the machine `defaults` describes.
fn builtin(profile: ProfileName, defaults: &Defaults) -> Layer {
    let read = |text: &str| {
        let table: toml::Table = toml::from_str(text).expect("the built-in profiles parse");
        Layer::flatten(&table, &|_| Origin::BuiltIn)
    };
    let mut layer = read(FULL);
    if profile == ProfileName::Quick {
        layer = layer.under(&read(QUICK));
    }
    // `{rust-docs}`: a key that needs the toolchain's documentation is
    // left unset where rustc reports none.
    let docs = defaults.rust_book.as_deref().and_then(Path::parent);
    let keys: Vec<String> = layer.keys().map(str::to_string).collect();
    for key in keys {
        let value = layer.get(&key).expect("a key of the layer");
        if !value.to_string().contains("{rust-docs}") {
            continue;
        }
        match docs {
            Some(docs) => {
                let filled = fill(value, &docs.display().to_string());
                layer.set(&key, filled, Origin::BuiltIn);
            }
            None => layer.remove_under(&key),
        }
    }
    layer.absolutize(&defaults.root)
}

/// `v` with `{rust-docs}` replaced by `docs` in its strings.
fn fill(v: &toml::Value, docs: &str) -> toml::Value {
    match v {
        toml::Value::String(s) => s.replace("{rust-docs}", docs).into(),
        toml::Value::Array(a) => toml::Value::Array(a.iter().map(|x| fill(x, docs)).collect()),
        v => v.clone(),
    }
}

/// Flags + `perf.toml` + the built-in profile → the validated plan.
pub fn resolve(
    args: &RunArgs,
    loaded: &LoadedConfig,
    defaults: &Defaults,
    cwd: &Path,
) -> Result<Plan> {
    let profile = if args.quick {
        ProfileName::Quick
    } else {
        ProfileName::Full
    };
    let user = loaded
        .layer(profile)
        .under(&args.settings.layer().absolutize(cwd));
    let mut all = builtin(profile, defaults).under(&user);
    all.set("profile", profile.as_str().into(), Origin::BuiltIn);
    if !all.has("corpus.dir") {
        bail!("cannot locate the default corpus (rustc reported no sysroot): pass --corpus DIR or set [corpus] dir in perf.toml");
    }
    // The server is used once an address is set; a served one's address
    // is only known once it is up (the workloads process fills it in).
    let served = all.get("llm.openai.serve") == Some(&toml::Value::Boolean(true));
    if served && !all.has("llm.openai.base_url") {
        all.set("llm.openai.base_url", "".into(), Origin::BuiltIn);
    }
    if all.has("llm.openai.base_url") {
        // The documented default variable may be unset (no key is sent);
        // one the user names must be set.
        let optional = !user.has("llm.openai.api_key_env");
        all.set(
            "llm.openai.api_key_optional",
            optional.into(),
            Origin::BuiltIn,
        );
    } else {
        all.remove_under("llm.openai");
    }
    let mut plan = all.to_plan().map_err(|e| {
        let key = e.key.as_deref().map(file::as_written).unwrap_or_default();
        anyhow::anyhow!("invalid settings: {key}: {}", e.message)
    })?;
    dedup(&mut plan.workloads);
    dedup(&mut plan.llm.engines);
    dedup(&mut plan.vector.engines);
    dedup(&mut plan.vector.sizes);
    // The default engines, and the server too once it has an address.
    if !user.has("llm.engines") && plan.llm.openai.is_some() {
        plan.llm.engines.push(EngineName::Openai);
    }
    if args.scale && !plan.vector.sizes.contains(&1_000_000) {
        plan.vector.sizes.push(1_000_000);
    }
    if let Err(e) = plan.validate() {
        bail!("invalid settings: {}", for_user(&e));
    }
    Ok(plan)
}

/// `v` without repeats, in the order first given.
fn dedup<T: PartialEq + Copy>(v: &mut Vec<T>) {
    let mut seen = Vec::with_capacity(v.len());
    v.retain(|x| {
        let new = !seen.contains(x);
        seen.push(*x);
        new
    });
}

/// Config file + flags → validated plan, with the machine's defaults found
/// (the Rust book's path from rustc) and the inputs checked to exist.
pub fn plan_for(
    sh: &Shell,
    root: &Path,
    cwd: &Path,
    args: &RunArgs,
    loaded: &LoadedConfig,
) -> Result<Plan> {
    let defaults = Defaults {
        root: root.to_path_buf(),
        rust_book: cmd!(sh, "rustc --print sysroot")
            .quiet()
            .read()
            .ok()
            .map(|s| PathBuf::from(s).join("share/doc/rust/html/book")),
    };
    let plan = resolve(args, loaded, &defaults, cwd)?;
    preflight(&plan, args, &defaults)?;
    Ok(plan)
}

fn preflight(plan: &Plan, args: &RunArgs, defaults: &Defaults) -> Result<()> {
    let dir = &plan.corpus.dir;
    if !dir.is_dir() {
        if Some(dir) == defaults.rust_book.as_ref() {
            bail!(
                "default corpus {} not found: install it with `rustup component add rust-docs`, or pass --corpus DIR",
                dir.display()
            );
        }
        let from = if args.settings.has("corpus") {
            "--corpus"
        } else {
            "[corpus] dir"
        };
        bail!(
            "corpus folder {} ({from}) does not exist or is not a folder",
            dir.display()
        );
    }
    if !plan.queries.is_file() {
        bail!(
            "query file {} does not exist (--queries FILE)",
            plan.queries.display()
        );
    }
    if let Some(model) = &plan.embedding_model.path {
        if !model.is_dir() {
            bail!(
                "model folder {} (--model-dir) does not exist",
                model.display()
            );
        }
    }
    crate::vector_memory::check(plan, crate::vector_memory::available_bytes())?;
    if plan.workloads.iter().any(|w| w.uses_llm()) {
        if let Some(gguf) = &plan.llm.model {
            if !gguf.is_file() {
                let from = if args.settings.has("llm-model") {
                    "--llm-model"
                } else {
                    "[llm] model"
                };
                bail!("GGUF model {} ({from}) does not exist", gguf.display());
            }
        }
    }
    Ok(())
}
