//! Statistics, the baseline schema, and terminal output for `cargo xtask perf`.
//!
//! This crate never runs a workload: it turns raw samples into summaries,
//! defines the files and messages the other crates exchange, and renders them.

pub mod atomic;
pub mod compare;
pub mod compare_render;
pub mod context;
pub mod environment;
#[doc(hidden)]
pub mod fixture;
pub mod guards;
pub mod noise;
pub mod plan;
pub mod protocol;
pub mod rank_test;
pub mod report;
pub mod schema;
pub mod stats;
pub mod table;
