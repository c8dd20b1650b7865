//! Threads' switches counted in the kernel: a traced thread's first switch-in takes a row of
//! `THREAD_HIST` (switches, off-CPU time, histograms of its off-CPU periods and run-queue waits)
//! and names it in a `ThreadRow` record; its end gives the row back in a `ThreadGone` record.
//! The reader takes each row's figures into its thread, and at the end the rest, then zeroes
//! the row and gives it back to the kernel's free rows.
use std::sync::atomic::Ordering;

use anyhow::Result;
use aya::maps::{MapData, Queue};
use tracer_common::{
    connections::CONN_BUCKETS,
    sched::{THREAD_ROWS, THREAD_ROW_WORDS, THREAD_TOTAL_WORDS},
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
}

impl ThreadCounts {
    /// Gives the kernel every row.
    pub fn new(mut free: Queue<MapData, u32>, words: MappedWords) -> Result<Self> {
        for row in 0..THREAD_ROWS {
            free.push(row, 0)?;
        }
        Ok(Self { free, words, of_row: vec![None; THREAD_ROWS as usize] })
    }

    /// Thread `tid` of `tgid`, named `comm`, counts its switches in `row` from now on.
    pub fn adopt(&mut self, row: u32, tid: u32, tgid: u32, comm: [u8; 16]) {
        if let Some(owner) = self.of_row.get_mut(row as usize) {
            *owner = Some(RowThread { tid, tgid, comm });
        }
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
