//! One module per subcommand, each a short function from its parsed
//! arguments to an exit code over the shared services (`planning`,
//! `measure`, `callgrind`, `store`, `thresholds`). A command never calls
//! another command: what two commands share is a service.

pub mod baseline;
pub mod bisect;
pub mod calibrate;
pub mod calibrate_builds;
pub mod check;
pub mod compare;
pub mod history;
pub mod lint;
pub mod profile;
pub mod report;
pub mod test;
