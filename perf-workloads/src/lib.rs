//! The RAG stack under test and the workloads that drive it.
//!
//! A real corpus ([`corpus`]), a real sentence-embedding model run by the
//! stack's own encoder with candle's beside it ([`embed`]), a real ANN index
//! beside exact search ([`index`]), LLM engines that answer from it
//! ([`llm`]), the
//! retrieval path that joins them ([`rag`]), and the named workloads that
//! measure them ([`workloads`]), reporting over the line-JSON protocol
//! ([`reporter`]). Workloads measure through a [`meter`]; measurement modes
//! (instruction counts, callgrind regions, CPU sampling, dhat) are
//! [`hook`]s around the same workload code.

pub mod callgrind;
pub mod corpus;
pub mod counters;
pub mod cpu_dispatch;
pub mod embed;
pub mod error;
pub mod hook;
pub mod index;
pub mod llm;
pub mod load;
pub mod lockstep;
pub mod meter;
pub mod probe;
pub mod profiling;
pub mod rag;
pub mod reporter;
pub mod scaling;
pub mod server_process;
pub mod stage_timer;
pub mod workloads;
