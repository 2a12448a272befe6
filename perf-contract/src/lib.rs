//! The contract between `cargo xtask` and the measured `perf-workloads`
//! process, and the files they leave behind.
//!
//! - [`plan`]: what to run, resolved by xtask and executed exactly by the
//!   workloads binary.
//! - [`protocol`]: the line-JSON messages the workloads process prints.
//! - [`schema`]: the baseline file (`baselines/performance_baselines.json`,
//!   every run under `target/perf-runs/`), with units and directions.
//! - [`units`]: units and directions of metrics.
//! - [`context`], [`environment`]: what a run ran on and with.
//! - [`metric_key`]: metric names as typed values; the dotted string
//!   form exists only in files.
//! - [`names`]: every name as an enum (workloads, engines, load targets,
//!   stages, kernels, profiles), spelled only in files and on the command
//!   line; [`stage`]: what the pipeline knows of its stages.
//! - [`setting`]: the settings library errors name, by plan path.
//! - [`summary`]: the descriptive statistics a baseline stores per metric.
//! - [`secret_url`]: server addresses whose credentials are never shown
//!   or stored.
//! - [`atomic`]: how every one of these files is written (temp + rename).
//!
//! The measured binary links this crate and nothing that draws or resamples,
//! so reporting dependencies never enter the program being timed (the
//! split rustc-perf makes between its collector and `benchlib`).

pub mod atomic;
pub mod context;
pub mod environment;
#[doc(hidden)]
pub mod fixture;
mod index_plan;
mod llm_plan;
pub mod metric_key;
pub mod names;
pub mod plan;
pub mod protocol;
pub mod run_mode;
pub mod schema;
pub mod secret_url;
pub mod setting;
pub mod stable_hash;
pub mod stage;
pub mod summary;
pub mod units;
mod vector_plan;
