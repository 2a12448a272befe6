//! Judgement and output for `cargo xtask perf`: comparing runs (bootstrap,
//! rank test, paired interleaved comparison, noise, quality guards) and
//! rendering them as terminal tables, the markdown report and its SVG
//! charts.
//!
//! This crate never runs a workload, and the measured process never links
//! it: the files and messages both sides exchange are `perf-contract`'s.

mod bootstrap;
pub mod bottleneck_table;
pub mod build_spread;
pub mod calibration;
pub mod compare;
pub mod dashboard;
pub mod export;
pub mod guards;
pub mod history;
pub mod judgement;
pub mod mann_whitney;
pub mod noise;
pub mod paired;
pub mod pairing;
pub mod policy;
pub mod processes;
pub mod report;
pub mod rounds;
mod student_t;
pub mod table;
pub mod walsh;
