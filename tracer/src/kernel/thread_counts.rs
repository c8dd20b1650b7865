//! Threads' switches counted in the kernel: a traced thread's first switch-in takes a row of
//! `THREAD_HIST` (switches, off-CPU time, histograms of its off-CPU periods and run-queue waits)
//! and names it in a `ThreadRow` record; its end gives the row back in a `ThreadGone` record.
//! The reader takes each row's figures into its thread, and at the end the rest, then zeroes
//! the row and gives it back to the kernel's free rows. A row whose `ThreadGone` record did not
//! fit in the ring, or whose thread's slot another tid took over, would stay taken for good: the
//! reader also gives back each row its thread's slot no longer holds.
use std::sync::atomic::Ordering;

use anyhow::Result;
use aya::maps::{Array, MapData, Queue};
use tracer_common::{
    connections::CONN_BUCKETS,
    sched::{THREAD_ROWS, THREAD_ROW_WORDS, THREAD_TOTAL_WORDS},
    syscalls::InFlight,
};

use super::mapped::MappedWords;

/// What a thread's kernel-counted switches added since the last read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadDelta {
    pub tid: u32,
    pub tgid: u32,
    /// The thread's name as the kernel last sent it.
    pub comm: [u8; 16],
    pub switches: u64,
    pub off_cpu_ns: u64,
    /// Buckets (`tracer_common::connections::conn_bucket`) that grew, and by how many switches.
    pub off_cpu: Vec<(u32, u64)>,
    pub runq: Vec<(u32, u64)>,
}

/// A row's thread.
#[derive(Clone, Copy, Debug)]
struct RowThread {
    tid: u32,
    tgid: u32,
    comm: [u8; 16],
}

pub struct ThreadCounts {
    free: Queue<MapData, u32>,
    words: MappedWords,
    of_row: Vec<Option<RowThread>>,
    /// The threads' slots (`IN_FLIGHT`), indexed by tid modulo their number, a power of two.
    slots: Array<MapData, InFlight>,
}

impl ThreadCounts {
    /// Gives the kernel every row.
    pub fn new(mut free: Queue<MapData, u32>, words: MappedWords, slots: Array<MapData, InFlight>) -> Result<Self> {
        for row in 0..THREAD_ROWS {
            free.push(row, 0)?;
        }
        Ok(Self { free, words, of_row: vec![None; THREAD_ROWS as usize], slots })
    }

    /// Thread `tid` of `tgid`, named `comm`, counts its switches in `row` from now on.
    pub fn adopt(&mut self, row: u32, tid: u32, tgid: u32, comm: [u8; 16]) {
        if let Some(owner) = self.of_row.get_mut(row as usize) {
            *owner = Some(RowThread { tid, tgid, comm });
        }
    }

    /// Gives back, with their last figures, the rows that their thread's slot no longer holds:
    /// the thread ended, or another tid took its slot over, and the kernel counts in the row no
    /// more. The kernel puts a row in the slot before it names it in a record, and the slot
    /// lets go of it only after the thread's `ThreadGone` record, if any, is in the ring: that
    /// record then finds the row given back already, and changes nothing.
    pub fn reclaim_unheld(&mut self) -> Result<Vec<ThreadDelta>> {
        let mask = self.slots.len().saturating_sub(1);
        let mut released = Vec::new();
        for row in 0..self.of_row.len() {
            let Some(thread) = self.of_row[row] else { continue };
            let held = self.slots.get(&(thread.tid & mask), 0).map_or(true, |slot| slot.tid == thread.tid && slot.sched_row == row as u32 + 1);
            if !held {
                released.extend(self.release(row as u32, thread.comm)?);
            }
        }
        Ok(released)
    }

    /// The thread of `row` ended, named `comm` then: its last figures, and the row zeroed and
    /// free again.
    pub fn release(&mut self, row: u32, comm: [u8; 16]) -> Result<Option<ThreadDelta>> {
        let Some(owner) = self.of_row.get_mut(row as usize).and_then(Option::take) else { return Ok(None) };
        let rest = self.take(row, RowThread { comm, ..owner });
        self.words.zero(row as usize * THREAD_ROW_WORDS as usize, THREAD_ROW_WORDS as usize);
        self.free.push(row, 0)?;
        Ok(rest)
    }

    /// What every row in use added since the last read.
    pub fn read(&mut self) -> Vec<ThreadDelta> {
        (0..self.of_row.len()).filter_map(|row| self.take(row as u32, self.of_row[row]?)).collect()
    }

    /// What `row` added since the last read, if anything, each counter taken (see
    /// [`MappedWords::take`]).
    fn take(&mut self, row: u32, thread: RowThread) -> Option<ThreadDelta> {
        let base = row as usize * THREAD_ROW_WORDS as usize;
        if self.words.word(base)?.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let RowThread { tid, tgid, comm } = thread;
        let mut delta = ThreadDelta { tid, tgid, comm, switches: self.words.take(base), off_cpu_ns: self.words.take(base + 1), ..ThreadDelta::default() };
        // Two histograms of u32 counters after the totals.
        for (counter, grew) in self.words.take_counters(base + THREAD_TOTAL_WORDS as usize, (THREAD_ROW_WORDS - THREAD_TOTAL_WORDS) as usize) {
            let target = if counter < CONN_BUCKETS { &mut delta.off_cpu } else { &mut delta.runq };
            target.push((counter % CONN_BUCKETS, grew));
        }
        Some(delta)
    }
}

