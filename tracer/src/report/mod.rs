//! What people read: the summary, the live view, interval logs and exports, and compare.
pub mod atomic_file;
pub mod compare;
pub mod export;
pub mod exposition;
pub mod flamegraph;
pub mod format;
pub mod live;
pub mod metrics;
pub mod otlp;
pub mod pprof;
pub mod prometheus;
pub mod rows;
pub mod serve;
pub mod sink;
pub mod slow;
pub mod summary;
pub mod web_config;
