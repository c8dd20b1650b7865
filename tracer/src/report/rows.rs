//! A table's syscall rows, named and in the order asked for (`-S`, the live view's `s`): the
//! summary, the live view, exports and the metrics all list rows through here.
use crate::{
    model::table::{StatsTable, SyscallStats},
    syscalls,
};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SortKey {
    /// Total time spent in the syscall (strace's default).
    #[default]
    Time,
    Calls,
    Errors,
    Name,
    /// Mean latency.
    Avg,
    Max,
    P99,
}

fn sort_value(stats: &SyscallStats, key: SortKey) -> u64 {
    match key {
        SortKey::Time | SortKey::Name => stats.total_ns,
        SortKey::Calls => stats.calls,
        SortKey::Errors => stats.errors,
        SortKey::Avg => stats.latency.mean() as u64,
        SortKey::Max => stats.latency.max(),
        SortKey::P99 => stats.latency.value_at_quantile(0.99),
    }
}

/// Rows of a table, named and sorted.
pub fn sorted_rows(table: &StatsTable, sort: SortKey) -> Vec<(&'static str, &SyscallStats)> {
    let mut rows: Vec<(&str, &SyscallStats)> =
        table.syscalls().map(|(nr, stats)| (syscalls::name(nr).unwrap_or("?"), stats)).collect();
    match sort {
        SortKey::Name => rows.sort_by_key(|(name, _)| *name),
        key => rows.sort_by(|a, b| sort_value(b.1, key).cmp(&sort_value(a.1, key)).then(a.0.cmp(b.0))),
    }
    rows
}
