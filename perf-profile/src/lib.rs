//! CPU and memory profiling of the workloads: sampling CPU profiles
//! (pprof-rs) with flamegraph, pprof and top-function output; allocation
//! accounting through a counting global allocator; resident-set size from
//! `/proc`; and a bottleneck ranking computed from that evidence.
//!
//! The crate measures and summarises; it knows nothing of the RAG stack or
//! the baseline format, so workloads attach it as a hook and reports read
//! what it returns.
//!
//! - [`alloc`]: [`CountingAllocator`], [`Region`], [`AllocStats`].
//! - [`rss`]: [`read_rss`], [`reset_peak_rss`].
//! - [`cpu`]: [`CpuProfiler`] → [`CpuSession`] → [`CpuProfile`], which
//!   writes a flamegraph, a pprof file and folded stacks.
//! - [`profile_diff`]: [`diff_folded`] → [`ProfileDiff`] (which functions
//!   got slower between two folded profiles) and
//!   [`write_differential_flamegraph`].
//! - [`alloc_diff`]: [`alloc_diff_rows`], two [`AllocStats`] side by side.
//! - [`stack`] and [`top`]: [`StackSample`], [`top_functions`], [`TopReport`].
//! - [`bottlenecks`]: [`rank_bottlenecks`] (perf-report renders them).
//! - [`function_family`]: names of hot functions to families.
//! - [`family_shares`]: [`FamilyShares`], CPU samples per family over every
//!   stack of a profile (inclusive and innermost).
//! - [`summary`]: the `summary.json` a profile run writes.

pub mod alloc;
pub mod alloc_diff;
mod atomic_write;
pub mod bottlenecks;
pub mod brief_name;
pub mod cpu;
mod error;
pub mod family_shares;
mod folded;
pub mod function_family;
pub mod profile_diff;
pub mod rss;
pub mod stack;
pub mod summary;
pub mod top;

pub use alloc::{AllocSnapshot, AllocStats, CountingAllocator, Region};
pub use alloc_diff::alloc_diff_rows;
pub use bottlenecks::{percent, rank_bottlenecks, Bottleneck, StageEvidence, DEFAULT_TOP_N};
pub use brief_name::brief_function_name;
pub use cpu::{CpuProfile, CpuProfiler, CpuSession};
pub use error::ProfileError;
pub use family_shares::{FamilySamples, FamilyShares};
pub use function_family::FunctionFamily;
pub use profile_diff::{diff_folded, write_differential_flamegraph, FunctionChange, ProfileDiff};
pub use rss::{read_rss, reset_peak_rss, Rss};
pub use stack::StackSample;
pub use summary::{ProfileSummary, StageProfile, WorkloadProfile};
pub use top::{top_functions, FunctionSamples, TopReport};
