//! Units and directions of metrics: what a sample is measured in and
//! which way is better. Shared by the line protocol (raw samples) and the
//! baseline file (which re-exports them from `schema`).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Milliseconds,
    Microseconds,
    Seconds,
    DocsPerSecond,
    /// Generated or processed tokens per second (LLM workloads).
    TokensPerSecond,
    /// Operations per second: queries, requests, vectors loaded.
    PerSecond,
    Bytes,
    /// A fraction in 0..=1 (recall).
    Ratio,
    Count,
}

impl Unit {
    /// Times and rates: figures the machine's state moves between runs, as
    /// opposed to sizes, counts and fractions.
    pub fn is_timing(self) -> bool {
        matches!(
            self,
            Unit::Milliseconds
                | Unit::Microseconds
                | Unit::Seconds
                | Unit::DocsPerSecond
                | Unit::TokensPerSecond
                | Unit::PerSecond
        )
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Milliseconds => "ms",
            Unit::Microseconds => "µs",
            Unit::Seconds => "s",
            Unit::DocsPerSecond => "docs/s",
            Unit::TokensPerSecond => "tok/s",
            Unit::PerSecond => "/s",
            Unit::Bytes => "B",
            Unit::Ratio => "",
            Unit::Count => "",
        }
    }
}

/// Which direction of change is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
    /// Informational (a size, a count): reported, never judged.
    Neither,
}

impl fmt::Display for Better {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Better::Lower => "lower is better",
            Better::Higher => "higher is better",
            Better::Neither => "informational",
        })
    }
}
