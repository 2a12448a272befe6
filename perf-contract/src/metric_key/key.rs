//! [`MetricKey`]: a metric's typed kind with its file spelling beside it,
//! the form maps and files hold.

use std::{borrow::Borrow, cmp::Ordering, fmt, hash};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{EmbedEngine, MetricKind};

/// A metric's key in a workload's result: its kind, with the file form
/// kept beside it so maps order, compare and look up keys exactly as the
/// file spells them (`metrics["latency"]` works through `Borrow<str>`).
#[derive(Debug, Clone)]
pub struct MetricKey {
    kind: MetricKind,
    text: String,
}

impl MetricKey {
    pub fn kind(&self) -> &MetricKind {
        &self.kind
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The file form of a name, typed. Names this version does not know
    /// become [`MetricKind::Other`].
    pub fn parse(name: &str) -> MetricKey {
        let kind = match MetricKind::parse(name) {
            // `recall_at_05` would parse as `recall_at_5`: a name that is
            // not its kind's own spelling stays unknown, so the text is
            // always the kind's spelling and a file round-trips.
            kind if kind.to_string() != name => {
                // Embedding metrics from before engines were named were
                // candle's: they take candle's name, so an old baseline is
                // compared with candle, never with another engine.
                let renamed = format!("{}.{name}", EmbedEngine::Candle.as_str());
                if kind.to_string() == renamed {
                    return MetricKey {
                        text: renamed,
                        kind,
                    };
                }
                MetricKind::Other(name.to_string())
            }
            kind => kind,
        };
        MetricKey {
            text: name.to_string(),
            kind,
        }
    }
}

impl From<MetricKind> for MetricKey {
    fn from(kind: MetricKind) -> MetricKey {
        MetricKey {
            text: kind.to_string(),
            kind,
        }
    }
}

impl fmt::Display for MetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for MetricKey {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for MetricKey {}

impl PartialEq<str> for MetricKey {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for MetricKey {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl PartialOrd for MetricKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// By the file form, so maps keep the order files always had.
impl Ord for MetricKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.text.cmp(&other.text)
    }
}

impl hash::Hash for MetricKey {
    fn hash<H: hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl Borrow<str> for MetricKey {
    fn borrow(&self) -> &str {
        &self.text
    }
}

impl Serialize for MetricKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for MetricKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MetricKey, D::Error> {
        let text = String::deserialize(d)?;
        Ok(MetricKey::parse(&text))
    }
}
