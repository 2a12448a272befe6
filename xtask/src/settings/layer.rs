//! One layer of settings: a flat map from a plan key (`vector.load.seed`)
//! to a TOML value and where it came from. Layers merge key by key (the
//! upper one replaces only the keys it sets) and the merged layer becomes
//! the plan through the plan's own serde rules, so a type or a name is
//! checked in one place and its error names the key.

use std::{collections::BTreeMap, path::Path};

use perf_contract::plan::Plan;
use serde::Deserialize;

use super::registry::PATHS;

/// Where a value was set, for messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    BuiltIn,
    /// A `perf.toml` line, and the key as written there.
    File {
        key: String,
        line: usize,
    },
    /// A flag (its long name).
    Flag(&'static str),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layer {
    values: BTreeMap<String, (toml::Value, Origin)>,
}

impl Layer {
    pub fn set(&mut self, key: &str, value: toml::Value, origin: Origin) {
        self.values.insert(key.to_string(), (value, origin));
    }

    pub fn get(&self, key: &str) -> Option<&toml::Value> {
        self.values.get(key).map(|(v, _)| v)
    }

    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.values.get(key).map(|(_, o)| o)
    }

    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Drops `prefix` and every key under it.
    pub fn remove_under(&mut self, prefix: &str) {
        let under = format!("{prefix}.");
        self.values
            .retain(|k, _| k != prefix && !k.starts_with(&under));
    }

    /// `self` with every key `upper` sets replaced by its value.
    pub fn under(mut self, upper: &Layer) -> Layer {
        for (k, v) in &upper.values {
            self.values.insert(k.clone(), v.clone());
        }
        self
    }

    /// The leaves of `table` (arrays are values), each with its origin.
    pub fn flatten(table: &toml::Table, origin: &dyn Fn(&str) -> Origin) -> Layer {
        fn walk(
            prefix: &str,
            table: &toml::Table,
            origin: &dyn Fn(&str) -> Origin,
            out: &mut Layer,
        ) {
            for (k, v) in table {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    toml::Value::Table(t) => walk(&key, t, origin, out),
                    v => out.set(&key, v.clone(), origin(&key)),
                }
            }
        }
        let mut out = Layer::default();
        walk("", table, origin, &mut out);
        out
    }

    /// Relative paths made absolute against `base`.
    pub fn absolutize(mut self, base: &Path) -> Layer {
        let absolute = |v: &toml::Value| match v {
            toml::Value::String(s) if Path::new(s).is_relative() => {
                toml::Value::String(base.join(s).display().to_string())
            }
            v => v.clone(),
        };
        for key in PATHS {
            if let Some((v, _)) = self.values.get_mut(*key) {
                let made = match &*v {
                    toml::Value::Array(a) => toml::Value::Array(a.iter().map(absolute).collect()),
                    one => absolute(one),
                };
                *v = made;
            }
        }
        self
    }

    /// The nested table the plan deserialises from.
    fn to_table(&self) -> toml::Table {
        let mut root = toml::Table::new();
        for (key, (value, _)) in &self.values {
            let mut table = &mut root;
            let mut parts = key.split('.').peekable();
            while let Some(part) = parts.next() {
                if parts.peek().is_none() {
                    table.insert(part.to_string(), value.clone());
                } else {
                    let next = table
                        .entry(part.to_string())
                        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    // A key set both as a value and as a table (`vector.load
                    // = 5` over the built-in table) fails as a type below.
                    let toml::Value::Table(t) = next else { break };
                    table = t;
                }
            }
        }
        root
    }

    /// The plan these settings describe, or the key at fault and why.
    pub fn to_plan(&self) -> Result<Plan, KeyError> {
        Plan::deserialize(toml::Value::Table(self.to_table())).map_err(|e| {
            // toml's message ends with the path of the value at fault:
            // "invalid type: ...\nin `rag.top_k`".
            let text = e.to_string();
            let (message, key) = match text.trim_end().rsplit_once("\nin `") {
                Some((m, k)) => (
                    m.trim().to_string(),
                    Some(k.trim_end_matches('`').to_string()),
                ),
                None => (text.trim().to_string(), None),
            };
            KeyError {
                key,
                message: message.replace('\n', " "),
            }
        })
    }
}

/// A value the plan refused, with its key when toml named it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyError {
    pub key: Option<String>,
    pub message: String,
}
