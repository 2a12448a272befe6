//! CPU and memory profiling of the workloads (sampling profiles, allocation
//! accounting per stage, ranked bottlenecks). Filled in by the profiling
//! work; nothing depends on it yet.
