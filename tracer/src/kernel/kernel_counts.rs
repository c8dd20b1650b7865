//! The calls counted in the kernel rather than sent one by one (successful calls, under the
//! `--slow` threshold, of syscalls that need no event: see `SYSCALL_NEEDS_EVENT`; and reads and
//! writes of pipes, files and other fds that are not sockets): per-CPU totals and shared
//! latency (and bytes) histograms, read as what changed since the last read.
use std::sync::atomic::Ordering;

use anyhow::Result;
use aya::maps::{MapData, PerCpuArray};
use tracer_common::{IoTotals, SyscallTotals, HIST_BUCKETS, IO_HIST_WORDS_PER_KIND, IO_KINDS, MAX_SYSCALLS};

use super::mapped::MappedWords;

/// What one syscall's kernel-counted calls added since the last read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelCalls {
    pub nr: u32,
    /// Calls and times added; `max_ns` is the longest call since tracing began.
    pub totals: SyscallTotals,
    /// The histogram's buckets that grew, and by how many calls.
    pub buckets: Vec<(u32, u64)>,
}

/// What the kernel-counted reads and writes of one syscall on one fd kind added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelIo {
    pub nr: u32,
    /// `FD_KIND_PIPE`, `FD_KIND_FILE` or `FD_KIND_OTHER`.
    pub kind: u32,
    /// `max_ns` is since tracing began.
    pub totals: IoTotals,
    pub latency: Vec<(u32, u64)>,
    pub bytes: Vec<(u32, u64)>,
}

/// What changed in a read.
#[derive(Default)]
pub struct KernelDelta {
    pub calls: Vec<KernelCalls>,
    pub io: Vec<KernelIo>,
}

pub struct KernelCounts {
    totals: PerCpuArray<MapData, SyscallTotals>,
    hist: MappedWords,
    io_totals: PerCpuArray<MapData, IoTotals>,
    io_hist: MappedWords,
    /// The syscall of each I/O slot.
    io_slots: Vec<u32>,
    /// As of the last read, for what was counted so far: totals and histograms (copies only
    /// of those counted here: most syscalls never are).
    last: Vec<Option<(SyscallTotals, Box<[u64]>)>>,
    last_io: Vec<Option<(IoTotals, Box<[u64]>)>>,
}

impl KernelCounts {
    pub fn new(
        totals: PerCpuArray<MapData, SyscallTotals>,
        hist: MappedWords,
        io_totals: PerCpuArray<MapData, IoTotals>,
        io_hist: MappedWords,
        io_slots: Vec<u32>,
    ) -> Self {
        let io_entries = io_slots.len() * IO_KINDS as usize;
        Self { totals, hist, io_totals, io_hist, io_slots, last: vec![None; MAX_SYSCALLS as usize], last_io: vec![None; io_entries] }
    }

    /// What was counted since the last read. The totals are read before the histograms, so a
    /// call made in between is in the histogram now and in the totals next time; once the
    /// traced processes are done, both agree.
    pub fn read(&mut self) -> Result<KernelDelta> {
        let mut delta = KernelDelta::default();
        for nr in 0..MAX_SYSCALLS {
            let sum = self.totals.get(&nr, 0)?.iter().fold(SyscallTotals::default(), |sum, cpu| SyscallTotals {
                calls: sum.calls + cpu.calls,
                total_ns: sum.total_ns + cpu.total_ns,
                blocked_ns: sum.blocked_ns + cpu.blocked_ns,
                runq_ns: sum.runq_ns + cpu.runq_ns,
                max_ns: sum.max_ns.max(cpu.max_ns),
            });
            let last = &mut self.last[nr as usize];
            if sum.calls == last.as_ref().map_or(0, |(totals, _)| totals.calls) {
                continue;
            }
            let (last_totals, last_hist) = last.get_or_insert_with(|| (SyscallTotals::default(), zeros(1)));
            let buckets = grown(&self.hist, nr as usize * HIST_BUCKETS as usize, last_hist);
            let added = SyscallTotals {
                calls: sum.calls - last_totals.calls,
                total_ns: sum.total_ns - last_totals.total_ns,
                blocked_ns: sum.blocked_ns - last_totals.blocked_ns,
                runq_ns: sum.runq_ns - last_totals.runq_ns,
                max_ns: sum.max_ns,
            };
            *last_totals = sum;
            delta.calls.push(KernelCalls { nr, totals: added, buckets });
        }
        for index in 0..self.last_io.len() {
            let sum = self.io_totals.get(&(index as u32), 0)?.iter().fold(IoTotals::default(), |sum, cpu| IoTotals {
                calls: sum.calls + cpu.calls,
                total_ns: sum.total_ns + cpu.total_ns,
                bytes: sum.bytes + cpu.bytes,
                max_ns: sum.max_ns.max(cpu.max_ns),
            });
            let last = &mut self.last_io[index];
            if sum.calls == last.as_ref().map_or(0, |(totals, _)| totals.calls) {
                continue;
            }
            let (last_totals, last_hist) = last.get_or_insert_with(|| (IoTotals::default(), zeros(2)));
            let (latency_last, bytes_last) = last_hist.split_at_mut(HIST_BUCKETS as usize);
            let base = index * IO_HIST_WORDS_PER_KIND as usize;
            let latency = grown(&self.io_hist, base, latency_last);
            let bytes = grown(&self.io_hist, base + HIST_BUCKETS as usize, bytes_last);
            let added = IoTotals {
                calls: sum.calls - last_totals.calls,
                total_ns: sum.total_ns - last_totals.total_ns,
                bytes: sum.bytes - last_totals.bytes,
                max_ns: sum.max_ns,
            };
            *last_totals = sum;
            let (slot, kind) = (index / IO_KINDS as usize, index as u32 % IO_KINDS + 1);
            delta.io.push(KernelIo { nr: self.io_slots[slot], kind, totals: added, latency, bytes });
        }
        Ok(delta)
    }
}

fn zeros(histograms: usize) -> Box<[u64]> {
    vec![0; histograms * HIST_BUCKETS as usize].into_boxed_slice()
}

/// The buckets of the histogram at `base` that grew since `last`, which is brought up to date.
fn grown(hist: &MappedWords, base: usize, last: &mut [u64]) -> Vec<(u32, u64)> {
    let mut buckets = Vec::new();
    for (bucket, last) in last.iter_mut().enumerate() {
        let now = hist.word(base + bucket).map_or(0, |w| w.load(Ordering::Relaxed));
        if now != *last {
            buckets.push((bucket as u32, now - *last));
            *last = now;
        }
    }
    buckets
}
