//! Threads' switches counted in the kernel: a traced thread's first switch-in takes a row of
//! `THREAD_HIST` (switches, off-CPU time, histograms of its off-CPU periods and run-queue waits)
//! and names it in a `ThreadRow` record; its end gives the row back in a `ThreadGone` record.
//! The reader takes each row's figures into its thread, and at the end the rest, then zeroes
//! the row and gives it back to the kernel's free rows. A `ThreadGone` record that did not fit
//! in the ring would leave its row taken for good: once records are lost, rows whose thread is
//! gone are given back without it.
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

/// The rows whose thread is gone at this look (`exists` says it is not) and was at the last
/// (`gone_at_last_look`, updated).
fn gone_twice(of_row: &[Option<RowThread>], gone_at_last_look: &mut [bool], exists: impl Fn(u32) -> bool) -> Vec<usize> {
    let mut rows = Vec::new();
    for (row, (owner, gone_before)) in of_row.iter().zip(gone_at_last_look.iter_mut()).enumerate() {
        let gone = owner.is_some_and(|thread| !exists(thread.tid));
        if gone && *gone_before {
            rows.push(row);
        }
        *gone_before = gone;
    }
    rows
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
    /// Rows whose thread was already gone at the last [`ThreadCounts::reclaim_gone`].
    gone_at_last_look: Vec<bool>,
}

impl ThreadCounts {
    /// Gives the kernel every row.
    pub fn new(mut free: Queue<MapData, u32>, words: MappedWords) -> Result<Self> {
        for row in 0..THREAD_ROWS {
            free.push(row, 0)?;
        }
        Ok(Self { free, words, of_row: vec![None; THREAD_ROWS as usize], gone_at_last_look: vec![false; THREAD_ROWS as usize] })
    }

    /// Thread `tid` of `tgid`, named `comm`, counts its switches in `row` from now on.
    pub fn adopt(&mut self, row: u32, tid: u32, tgid: u32, comm: [u8; 16]) {
        if let Some(owner) = self.of_row.get_mut(row as usize) {
            *owner = Some(RowThread { tid, tgid, comm });
            self.gone_at_last_look[row as usize] = false;
        }
    }

    /// Gives back the rows of threads gone at this look and the last (a thread's last switches
    /// come after it leaves /proc: one look could free a row the kernel still counts in), with
    /// their last figures. For after lost records: the kernel's `ThreadGone` may have been one.
    pub fn reclaim_gone(&mut self, exists: impl Fn(u32) -> bool) -> Result<Vec<ThreadDelta>> {
        let mut released = Vec::new();
        for row in gone_twice(&self.of_row, &mut self.gone_at_last_look, exists) {
            let comm = self.of_row[row].map_or([0; 16], |thread| thread.comm);
            released.extend(self.release(row as u32, comm)?);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(tid: u32) -> Option<RowThread> {
        Some(RowThread { tid, tgid: 1, comm: [0; 16] })
    }

    /// A row goes back only when its thread is gone at two looks in a row: its last switches
    /// come after it leaves /proc.
    #[test]
    fn rows_of_threads_gone_twice_are_given_back() {
        let rows = [thread(10), thread(11), None, thread(12)];
        let mut gone_before = [false; 4];
        let alive = |tid: u32| tid == 11;
        assert_eq!(gone_twice(&rows, &mut gone_before, alive), Vec::<usize>::new());
        assert_eq!(gone_twice(&rows, &mut gone_before, alive), vec![0, 3]);
        // A thread seen alive between two looks starts over.
        let mut gone_before = [false; 4];
        gone_twice(&rows, &mut gone_before, |_| false);
        assert_eq!(gone_twice(&rows, &mut gone_before, |_| true), Vec::<usize>::new());
        assert_eq!(gone_twice(&rows, &mut gone_before, |_| false), Vec::<usize>::new());
        assert_eq!(gone_twice(&rows, &mut gone_before, |_| false), vec![0, 1, 3]);
    }
}
