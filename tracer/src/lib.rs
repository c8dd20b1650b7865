//! tracer: an eBPF syscall latency tracer.
//!
//! Laid out by pipeline stage, and data flows one way through them:
//! [`kernel`] (load and attach the programs, decode what they send) → [`model`] (aggregate
//! events into tables and histograms) → [`report`] (summary, live view, exports, compare).
//! [`run`] drives one trace through the stages: it finds or spawns the targets and runs the
//! session loop; [`cli`] maps the command line onto it, and [`docs`] turns it into man pages and
//! shell completions.
pub mod cli;
pub mod docs;
pub mod host;
pub mod kernel;
pub mod model;
pub mod report;
pub mod run;
pub mod syscalls;

/// Fuzz targets' harness (the targets are in the tests of the modules they exercise).
#[cfg(test)]
mod fuzz;
