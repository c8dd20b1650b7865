//! The calls counted in the kernel rather than sent one by one (successful calls, under the
//! `--slow` threshold, of syscalls that need no event: see `SYSCALL_NEEDS_EVENT`): per-CPU
//! totals by syscall and the shared latency histograms, read as what changed since the last
//! read.
use std::sync::atomic::Ordering;

use anyhow::Result;
use aya::maps::{MapData, PerCpuArray};
use tracer_common::{SyscallTotals, HIST_BUCKETS, MAX_SYSCALLS};

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

pub struct KernelCounts {
    totals: PerCpuArray<MapData, SyscallTotals>,
    hist: MappedWords,
    /// As of the last read, for the syscalls counted so far: their totals and histogram.
    last: Vec<Option<(SyscallTotals, Box<[u64]>)>>,
}

impl KernelCounts {
    pub fn new(totals: PerCpuArray<MapData, SyscallTotals>, hist: MappedWords) -> Self {
        Self { totals, hist, last: vec![None; MAX_SYSCALLS as usize] }
    }

    /// What was counted since the last read, by syscall. The totals are read before the
    /// histograms, so a call made in between is in the histogram now and in the totals next
    /// time; once the traced processes are done, both agree.
    pub fn read(&mut self) -> Result<Vec<KernelCalls>> {
        let mut changed = Vec::new();
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
            // A histogram's copy only for syscalls counted here: most never are.
            let (last_totals, last_hist) =
                last.get_or_insert_with(|| (SyscallTotals::default(), vec![0; HIST_BUCKETS as usize].into_boxed_slice()));
            let base = (nr * HIST_BUCKETS) as usize;
            let mut buckets = Vec::new();
            for (bucket, last) in last_hist.iter_mut().enumerate() {
                let now = self.hist.word(base + bucket).map_or(0, |w| w.load(Ordering::Relaxed));
                if now != *last {
                    buckets.push((bucket as u32, now - *last));
                    *last = now;
                }
            }
            let added = SyscallTotals {
                calls: sum.calls - last_totals.calls,
                total_ns: sum.total_ns - last_totals.total_ns,
                blocked_ns: sum.blocked_ns - last_totals.blocked_ns,
                runq_ns: sum.runq_ns - last_totals.runq_ns,
                max_ns: sum.max_ns,
            };
            *last_totals = sum;
            changed.push(KernelCalls { nr, totals: added, buckets });
        }
        Ok(changed)
    }
}
