//! What people read: the summary, the live view, interval logs and exports, and compare.
pub mod compare;
pub mod export;
pub mod live;
pub mod sink;
pub mod summary;
