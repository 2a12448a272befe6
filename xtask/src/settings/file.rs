//! `perf.toml` read into layers: its top-level keys (every profile), its
//! `[profile.quick]` and `[profile.full]` tables (that profile only: the
//! short names `passes`, `max_chunks`, … or any key, dotted, as in
//! `vector.query_passes = 2`), and `[check]`, the regression gate's
//! thresholds. Each key is mapped to its plan key by the registry and
//! checked, with both profiles, when the file is read: an unknown key, a
//! wrong type or an unknown name is one line naming the file, the line and
//! the key, before anything is built.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{anyhow, bail, Context, Result};
use perf_contract::plan::ProfileName;
use serde::Deserialize;

use super::{
    builtin,
    layer::{Layer, Origin},
    registry, Defaults,
};
use crate::{spelling::closest, thresholds::CheckConfig};

/// A loaded configuration: the folder its relative paths are relative to,
/// its settings, and its thresholds.
#[derive(Debug, Clone, Default)]
pub struct LoadedConfig {
    /// The file read, if any: errors about a setting name it.
    pub path: Option<PathBuf>,
    /// Keys for every profile, then each profile's own.
    common: Layer,
    quick: Layer,
    full: Layer,
    pub check: CheckConfig,
}

impl LoadedConfig {
    /// The file as errors name it (`perf.toml` when none was read).
    pub fn name(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "perf.toml".to_string(), |p| p.display().to_string())
    }

    /// The file's settings for `profile`.
    pub fn layer(&self, profile: ProfileName) -> Layer {
        let own = match profile {
            ProfileName::Quick => &self.quick,
            ProfileName::Full => &self.full,
        };
        self.common.clone().under(own)
    }

    /// The settings of `text`, the file `name` in `base_dir`.
    pub fn parse(text: &str, name: &Path, base_dir: &Path) -> Result<LoadedConfig> {
        let file = name.display().to_string();
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            // toml's message spans several lines (it quotes the source);
            // keep the one that says what is wrong and where.
            let at = e.span().map(|s| line_at(text, s.start)).unwrap_or(1);
            anyhow!("{file} (line {at}): {}", e.message())
        })?;
        let lines = key_lines(text);
        let line = |key: &str| lines.get(key).copied().unwrap_or(1);
        let mut loaded = LoadedConfig {
            path: Some(name.to_path_buf()),
            ..LoadedConfig::default()
        };
        let known = builtin(ProfileName::Full, &Defaults::for_checking());
        for (key, value) in &table {
            match (key.as_str(), value) {
                ("check", v) => {
                    loaded.check = CheckConfig::deserialize(v.clone()).map_err(|e| {
                        anyhow!("{file} (line {}): [check]: {}", line("check"), one_line(&e))
                    })?
                }
                ("profile", toml::Value::Table(profiles)) => {
                    for (name, keys) in profiles {
                        let layer = match name.parse::<ProfileName>() {
                            Ok(ProfileName::Quick) => &mut loaded.quick,
                            Ok(ProfileName::Full) => &mut loaded.full,
                            Err(e) => {
                                bail!("{file} (line {}): {e}", line(&format!("profile.{name}")))
                            }
                        };
                        let toml::Value::Table(keys) = keys else {
                            bail!(
                                "{file} (line {}): [profile.{name}] must be a table",
                                line("profile")
                            );
                        };
                        let prefix = format!("profile.{name}");
                        add_keys(layer, keys, &prefix, &known, &file, &line)?;
                    }
                }
                _ => {
                    let one = toml::Table::from_iter([(key.clone(), value.clone())]);
                    add_keys(&mut loaded.common, &one, "", &known, &file, &line)?;
                }
            }
        }
        for layer in [&mut loaded.common, &mut loaded.quick, &mut loaded.full] {
            *layer = std::mem::take(layer).absolutize(base_dir);
        }
        for profile in ProfileName::ALL {
            loaded.check_types(profile)?;
        }
        Ok(loaded)
    }

    /// Whether the plan takes the file's values with `profile`: a wrong
    /// type or an unknown name is refused naming its line.
    fn check_types(&self, profile: ProfileName) -> Result<()> {
        let mine = self.layer(profile);
        let mut all = builtin(profile, &Defaults::for_checking()).under(&mine);
        all.set("profile", profile.as_str().into(), Origin::BuiltIn);
        // The server's keys are checked whether or not an address is set.
        if !all.has("llm.openai.base_url") {
            all.set("llm.openai.base_url", "http://x".into(), Origin::BuiltIn);
        }
        let Err(e) = all.to_plan() else {
            return Ok(());
        };
        match e.key.as_deref().and_then(|k| mine.origin(k)) {
            Some(Origin::File { key, line }) => {
                bail!(
                    "{} (line {line}): {}: {}",
                    self.name(),
                    as_written(key),
                    e.message
                )
            }
            _ => bail!("{}: {}", self.name(), e.message),
        }
    }
}

/// Adds the leaves of `table` (written under `prefix`) to `layer` at their
/// plan keys, refusing a key that is none.
fn add_keys(
    layer: &mut Layer,
    table: &toml::Table,
    prefix: &str,
    known: &Layer,
    file: &str,
    line: &dyn Fn(&str) -> usize,
) -> Result<()> {
    let leaves = Layer::flatten(table, &|_| Origin::BuiltIn);
    for key in leaves.keys() {
        let written = if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        };
        // In a profile table, a short name first (`passes`), then any key.
        let short = (!prefix.is_empty())
            .then(|| registry::plan_key(&format!("profile.{key}"), false))
            .flatten();
        let Some(plan) = short.or_else(|| registry::plan_key(key, known.has(key))) else {
            let (section, leaf) = key.rsplit_once('.').unwrap_or(("", key));
            let siblings =
                known
                    .keys()
                    .filter_map(|k| k.strip_prefix(section).and_then(|r| r.strip_prefix('.')))
                    .chain(registry::FILE_NAMES.iter().filter_map(|(f, _)| {
                        f.strip_prefix(section).and_then(|r| r.strip_prefix('.'))
                    }))
                    .filter(|k| !k.contains('.'))
                    .collect::<Vec<_>>();
            let near = closest(leaf, siblings.iter().copied(), 2);
            let hint = match near.first() {
                Some(n) => format!("; did you mean `{n}`?"),
                None => String::new(),
            };
            let place = match written.rsplit_once('.') {
                Some((s, _)) => format!("[{s}]"),
                None => "the top level".into(),
            };
            bail!(
                "{file} (line {}): unknown field `{leaf}` in {place}{hint}",
                line(&written)
            );
        };
        let value = leaves.get(key).cloned().expect("a key of the table");
        let origin = Origin::File {
            key: written.clone(),
            line: line(&written),
        };
        layer.set(&plan, value, origin);
    }
    Ok(())
}

/// `[section] key` as the file spells it.
pub fn as_written(key: &str) -> String {
    match key.rsplit_once('.') {
        Some((section, leaf)) => format!("[{section}] {leaf}"),
        None => key.to_string(),
    }
}

/// The line of every key of `text`, by its dotted path.
fn key_lines(text: &str) -> BTreeMap<String, usize> {
    fn walk(prefix: &str, t: &toml::de::DeTable, text: &str, out: &mut BTreeMap<String, usize>) {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.get_ref().to_string()
            } else {
                format!("{prefix}.{}", k.get_ref())
            };
            out.entry(key.clone())
                .or_insert_with(|| line_at(text, k.span().start));
            if let toml::de::DeValue::Table(inner) = v.get_ref() {
                walk(&key, inner, text, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    if let Ok(t) = toml::de::DeTable::parse(text) {
        walk("", t.get_ref(), text, &mut out);
    }
    out
}

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().trim_end().replace('\n', " ")
}

/// Reads `explicit` (which must exist) or else `default_path` when present.
pub fn load(explicit: Option<&Path>, default_path: &Path) -> Result<LoadedConfig> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None if default_path.exists() => default_path.to_path_buf(),
        None => return Ok(LoadedConfig::default()),
    };
    let text = fs::read_to_string(&path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let base_dir = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    LoadedConfig::parse(&text, &path, &base_dir)
}
