//! The performance history: one compact record per machine and commit
//! (`perf baseline --record`), one per paired step between two commits
//! (`perf compare --record`), the series they make per metric and machine,
//! the change points in those series, and what is exported from them.
//!
//! Records are files under `baselines/records/<machine_id>/`, one file per
//! record, so two contributors (or CI) recording at once never touch the
//! same file: git merges the history as a union of files. Nothing here
//! joins two machines: a series belongs to one machine id.

pub mod bmf;
pub mod change_points;
pub mod load;
pub mod markdown;
pub mod paired_evidence;
pub mod record;
pub mod relative;
pub mod series;
