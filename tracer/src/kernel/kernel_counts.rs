//! The calls counted in the kernel rather than sent one by one (successful calls, under the
//! `--slow` threshold, of syscalls that need no event: see `SYSCALL_NEEDS_EVENT`; and reads and
//! writes, by the kind of their fd, and of TCP connections per connection): per-CPU totals and shared
//! latency (and bytes) histograms, read as what changed since the last read. With `--by`, the
//! syscall counts are kept per group: in rows this side gives each (group, syscall) pair.
use anyhow::Result;
use aya::{
    maps::{Array, HashMap, MapData, PerCpuArray, PerCpuValues},
    util::nr_cpus,
};
use rustc_hash::FxHashMap;
use tracer_common::{
    kernel_counts::{slot_errno, IoTotals, SyscallTotals, ERRNO_SLOTS, GROUP_ROWS, HIST_BUCKETS, IO_HIST_WORDS_PER_KIND, IO_KINDS},
    syscalls::MAX_SYSCALLS,
};

use super::{
    connection_counts::{ConnectionCounts, ConnectionDelta},
    thread_counts::{ThreadCounts, ThreadDelta},
    mapped::MappedWords,
};

/// What one syscall's kernel-counted calls added since the last read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelCalls {
    pub nr: u32,
    /// With `--by`: the group whose calls these are (the index the reader gave it).
    pub group: Option<u32>,
    /// Calls and times added; `max_ns` is the longest call since tracing began.
    pub totals: SyscallTotals,
    /// The histogram's buckets that grew, and by how many calls.
    pub buckets: Vec<(u32, u64)>,
    /// Of those calls, the failed ones, by errno.
    pub errnos: Vec<(i32, u64)>,
}

/// What the kernel-counted reads and writes of one syscall on one fd kind added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelIo {
    pub nr: u32,
    /// One of `FD_KIND_*`.
    pub kind: u32,
    /// `max_ns` is since tracing began.
    pub totals: IoTotals,
    pub latency: Vec<(u32, u64)>,
    pub bytes: Vec<(u32, u64)>,
}

impl KernelIo {
    /// These calls as their syscall's (without `--by`, the kernel counts a read or write only
    /// by its fd's kind).
    pub fn as_calls(&self) -> KernelCalls {
        let IoTotals { calls, total_ns, max_ns, blocked_ns, runq_ns, .. } = self.totals;
        KernelCalls { nr: self.nr, group: None, totals: SyscallTotals { calls, total_ns, blocked_ns, runq_ns, max_ns }, buckets: self.latency.clone(), errnos: Vec::new() }
    }
}

/// What changed in a read.
#[derive(Default)]
pub struct KernelDelta {
    pub calls: Vec<KernelCalls>,
    pub io: Vec<KernelIo>,
    pub connections: Vec<ConnectionDelta>,
    pub threads: Vec<ThreadDelta>,
}

pub struct KernelCounts {
    totals: PerCpuArray<MapData, SyscallTotals>,
    hist: MappedWords,
    errnos: MappedWords,
    io_totals: PerCpuArray<MapData, IoTotals>,
    io_hist: MappedWords,
    /// The syscall of each I/O slot.
    io_slots: Vec<u32>,
    /// With `--by`: the rows given to (group, syscall) pairs (without, row `nr` counts `nr`).
    groups: Option<GroupRows>,
    /// With the socket tracepoints: the TCP connections followed in rows of their own.
    connections: Option<ConnectionCounts>,
    /// With the scheduler tracepoints: the threads' switches, in rows of their own.
    threads: Option<ThreadCounts>,
    /// The totals as of the last read, of the rows counted so far (the per-CPU totals only
    /// grow; the histograms and errno counters are taken, see [`taken`]).
    last: Vec<Option<SyscallTotals>>,
    last_io: Vec<Option<IoTotals>>,
}

impl KernelCounts {
    pub fn new(
        totals: PerCpuArray<MapData, SyscallTotals>,
        hist: MappedWords,
        errnos: MappedWords,
        io_totals: PerCpuArray<MapData, IoTotals>,
        io_hist: MappedWords,
        io_slots: Vec<u32>,
    ) -> Self {
        let io_entries = io_slots.len() * IO_KINDS as usize;
        let rows = GROUP_ROWS as usize;
        Self {
            totals,
            hist,
            errnos,
            io_totals,
            io_hist,
            io_slots,
            groups: None,
            connections: None,
            threads: None,
            last: vec![None; rows],
            last_io: vec![None; io_entries],
        }
    }

    /// With `--by`: calls are counted per group, in rows given out by [`KernelCounts::want_row`].
    pub fn with_groups(mut self, groups: GroupRows) -> Self {
        self.groups = Some(groups);
        self
    }

    /// TCP connections' calls are counted per connection, in rows of `connections`.
    pub fn with_connections(mut self, connections: ConnectionCounts) -> Self {
        self.connections = Some(connections);
        self
    }

    /// Threads' switches are counted per thread, in rows of `threads`.
    pub fn with_threads(mut self, threads: ThreadCounts) -> Self {
        self.threads = Some(threads);
        self
    }

    /// See [`ThreadCounts::adopt`].
    pub fn adopt_thread_row(&mut self, row: u32, tid: u32, tgid: u32, comm: [u8; 16]) {
        if let Some(threads) = &mut self.threads {
            threads.adopt(row, tid, tgid, comm);
        }
    }

    /// See [`ThreadCounts::release`].
    pub fn release_thread_row(&mut self, row: u32, comm: [u8; 16]) -> Result<Option<ThreadDelta>> {
        self.threads.as_mut().map_or(Ok(None), |threads| threads.release(row, comm))
    }

    /// See [`ThreadCounts::reclaim_unheld`].
    pub fn reclaim_unheld_thread_rows(&mut self) -> Result<Vec<ThreadDelta>> {
        self.threads.as_mut().map_or(Ok(Vec::new()), ThreadCounts::reclaim_unheld)
    }

    /// A call on socket `sk` took `row` for connection `connection`: see
    /// [`ConnectionCounts::adopt`].
    pub fn adopt_connection_row(&mut self, row: u32, sk: u64, connection: Option<usize>) {
        if let Some(connections) = &mut self.connections {
            connections.adopt(row, sk, connection);
        }
    }

    /// See [`ConnectionCounts::followed_all`].
    pub fn followed_all_connections(&mut self) -> Result<()> {
        self.connections.as_mut().map_or(Ok(()), ConnectionCounts::followed_all)
    }

    /// The last figures of connections that closed, whose rows are free again.
    pub fn closed_connections(&mut self) -> Result<Vec<ConnectionDelta>> {
        self.connections.as_mut().map_or(Ok(Vec::new()), ConnectionCounts::release_closed)
    }

    /// Process `tgid` is in group `group`: its calls are counted in the group's rows from now on.
    pub fn place(&mut self, tgid: u32, group: u32) {
        if let Some(groups) = self.groups.as_mut().filter(|g| group < g.groups) {
            // A full map leaves the process's calls sent as events: slower, not wrong.
            let _ = groups.group_of.insert(tgid, group, 0);
        }
    }

    /// Process `tgid` is gone (the kernel forgets it at its end; this is for the ends it could
    /// not see, and for pids placed after they ended).
    pub fn unplace(&mut self, tgid: u32) {
        if let Some(groups) = &mut self.groups {
            let _ = groups.group_of.remove(&tgid);
        }
    }

    /// A call of `nr` by group `group` came as an event: give the pair a row, if the syscall's
    /// calls can be counted at all and a row is free (else they stay events). False when no row
    /// was free: it may be asked again once one is.
    pub fn want_row(&mut self, group: u32, nr: u32) -> Result<bool> {
        let Some(groups) = &mut self.groups else { return Ok(true) };
        if group >= groups.groups || !groups.countable.get(nr as usize).copied().unwrap_or(false) || groups.row_of.contains_key(&(group, nr)) {
            return Ok(true);
        }
        let Some(row) = groups.of_row.iter().position(Option::is_none) else { return Ok(false) };
        // A row used before (by a group since retired) starts again from zero; no (group,
        // syscall) points at it (but for a call that looked it up just before its group was
        // retired, which has no process left).
        self.totals.set(row as u32, PerCpuValues::try_from(vec![SyscallTotals::default(); nr_cpus().map_err(|(what, e)| anyhow::anyhow!("{what}: {e}"))?])?, 0)?;
        self.hist.zero(row * HIST_BUCKETS as usize, HIST_BUCKETS as usize);
        self.errnos.zero(row * ERRNO_SLOTS as usize, ERRNO_SLOTS as usize);
        self.last[row] = None;
        groups.of_row[row] = Some((group, nr));
        groups.row_of.insert((group, nr), row as u32);
        groups.rows.set(group * MAX_SYSCALLS + nr, row as u32 + 1, 0)?;
        Ok(true)
    }

    /// Group `group` was retired (its figures reported, its processes gone): its rows are free,
    /// and its index may be given to a new group.
    pub fn free_rows(&mut self, group: u32) -> Result<()> {
        let Some(groups) = &mut self.groups else { return Ok(()) };
        for row in 0..groups.of_row.len() {
            if let Some((owner, nr)) = groups.of_row[row].filter(|&(owner, _)| owner == group) {
                groups.rows.set(owner * MAX_SYSCALLS + nr, 0, 0)?;
                groups.row_of.remove(&(owner, nr));
                groups.of_row[row] = None;
            }
        }
        Ok(())
    }

    /// What counting row `row` counts: (syscall, group), or nothing.
    fn row_owner(&self, row: u32) -> Option<(u32, Option<u32>)> {
        match &self.groups {
            None => Some((row, None)),
            Some(groups) => groups.of_row[row as usize].map(|(group, nr)| (nr, Some(group))),
        }
    }

    /// What was counted since the last read. The totals are read before the histograms, so a
    /// call made in between is in the histogram now and in the totals next time; once the
    /// traced processes are done, both agree. Calls are counted from the histogram's growth,
    /// the same count for a syscall's row and its fd kinds' rows (which count theirs from their
    /// histograms), so that one interval's `write` is never less than its `file:write`; only
    /// the times of a call made between the two reads come an interval late.
    pub fn read(&mut self) -> Result<KernelDelta> {
        let mut delta = KernelDelta::default();
        for row in 0..GROUP_ROWS {
            let Some((nr, group)) = self.row_owner(row) else { continue };
            let sum = self.totals.get(&row, 0)?.iter().fold(SyscallTotals::default(), |sum, cpu| SyscallTotals {
                calls: sum.calls + cpu.calls,
                total_ns: sum.total_ns + cpu.total_ns,
                blocked_ns: sum.blocked_ns + cpu.blocked_ns,
                runq_ns: sum.runq_ns + cpu.runq_ns,
                max_ns: sum.max_ns.max(cpu.max_ns),
            });
            let last = &mut self.last[row as usize];
            // A row counted before is looked at again even with its totals unchanged: the
            // histogram may hold a call the last read's totals had and its histogram did not.
            if sum.calls == 0 && last.is_none() {
                // Without `--by`, a read's or write's calls are counted by fd kind only (see
                // `KernelIo`), and a failed one's errno here, in its syscall's row.
                if group.is_none() && self.io_slots.contains(&nr) {
                    let errnos = taken_errnos(&self.errnos, row);
                    if !errnos.is_empty() {
                        delta.calls.push(KernelCalls { nr, group, totals: SyscallTotals::default(), buckets: Vec::new(), errnos });
                    }
                }
                continue;
            }
            let last_totals = last.get_or_insert_with(SyscallTotals::default);
            // The errnos before the histogram: the kernel counts a failed call's errno after the
            // call, so that every error read here has its call in the histogram read next.
            let errnos = taken_errnos(&self.errnos, row);
            let buckets = taken(&self.hist, row as usize * HIST_BUCKETS as usize, HIST_BUCKETS as usize);
            let added = SyscallTotals {
                calls: buckets.iter().map(|(_, calls)| calls).sum(),
                total_ns: sum.total_ns - last_totals.total_ns,
                blocked_ns: sum.blocked_ns - last_totals.blocked_ns,
                runq_ns: sum.runq_ns - last_totals.runq_ns,
                max_ns: sum.max_ns,
            };
            let changed = sum != *last_totals || !buckets.is_empty() || !errnos.is_empty();
            *last_totals = sum;
            if changed {
                delta.calls.push(KernelCalls { nr, group, totals: added, buckets, errnos });
            }
        }
        for index in 0..self.last_io.len() {
            let sum = self.io_totals.get(&(index as u32), 0)?.iter().fold(IoTotals::default(), |sum, cpu| IoTotals {
                calls: sum.calls + cpu.calls,
                total_ns: sum.total_ns + cpu.total_ns,
                bytes: sum.bytes + cpu.bytes,
                max_ns: sum.max_ns.max(cpu.max_ns),
                blocked_ns: sum.blocked_ns + cpu.blocked_ns,
                runq_ns: sum.runq_ns + cpu.runq_ns,
                // A CPU without successful calls has no smallest size.
                min_bytes: match (sum.succeeded(), cpu.succeeded()) {
                    (_, 0) => sum.min_bytes,
                    (0, _) => cpu.min_bytes,
                    _ => sum.min_bytes.min(cpu.min_bytes),
                },
                max_bytes: sum.max_bytes.max(cpu.max_bytes),
                errors: sum.errors + cpu.errors,
            });
            let last = &mut self.last_io[index];
            if sum.calls == 0 && last.is_none() {
                continue;
            }
            let last_totals = last.get_or_insert_with(IoTotals::default);
            let base = index * IO_HIST_WORDS_PER_KIND as usize;
            let latency = taken(&self.io_hist, base, HIST_BUCKETS as usize);
            let bytes = taken(&self.io_hist, base + HIST_BUCKETS as usize, HIST_BUCKETS as usize);
            let added = IoTotals {
                calls: latency.iter().map(|(_, calls)| calls).sum(),
                total_ns: sum.total_ns - last_totals.total_ns,
                bytes: sum.bytes - last_totals.bytes,
                max_ns: sum.max_ns,
                blocked_ns: sum.blocked_ns - last_totals.blocked_ns,
                runq_ns: sum.runq_ns - last_totals.runq_ns,
                // Since the start, as max_ns is.
                min_bytes: sum.min_bytes,
                max_bytes: sum.max_bytes,
                errors: sum.errors - last_totals.errors,
            };
            let changed = sum != *last_totals || !latency.is_empty() || !bytes.is_empty();
            *last_totals = sum;
            if changed {
                let (slot, kind) = (index / IO_KINDS as usize, index as u32 % IO_KINDS);
                delta.io.push(KernelIo { nr: self.io_slots[slot], kind, totals: added, latency, bytes });
            }
        }
        if let Some(connections) = &mut self.connections {
            delta.connections = connections.read();
        }
        if let Some(threads) = &mut self.threads {
            delta.threads = threads.read();
        }
        Ok(delta)
    }
}

/// With `--by`: which (group, syscall) pair each counting row counts, and the kernel's two maps
/// that place processes in groups and pairs in rows.
pub struct GroupRows {
    group_of: HashMap<MapData, u32, u32>,
    rows: Array<MapData, u32>,
    /// Groups the kernel has room for (indices from 0).
    groups: u32,
    /// Syscalls whose successful calls the kernel can count (the others always need events).
    countable: Vec<bool>,
    of_row: Vec<Option<(u32, u32)>>,
    row_of: FxHashMap<(u32, u32), u32>,
}

impl GroupRows {
    pub fn new(group_of: HashMap<MapData, u32, u32>, rows: Array<MapData, u32>, groups: u32, countable: Vec<bool>) -> Self {
        Self { group_of, rows, groups, countable, of_row: vec![None; GROUP_ROWS as usize], row_of: FxHashMap::default() }
    }
}

/// The failed calls of counting row `row` since the last take, by errno.
fn taken_errnos(errnos: &MappedWords, row: u32) -> Vec<(i32, u64)> {
    taken(errnos, (row * ERRNO_SLOTS) as usize, ERRNO_SLOTS as usize).into_iter().map(|(slot, count)| (slot_errno(slot), count)).collect()
}

/// The counters of the `len` at `base` that grew since the last take, by how much (see
/// [`MappedWords::take`]).
fn taken(hist: &MappedWords, base: usize, len: usize) -> Vec<(u32, u64)> {
    (0..len).map(|bucket| (bucket as u32, hist.take(base + bucket))).filter(|&(_, grew)| grew > 0).collect()
}
