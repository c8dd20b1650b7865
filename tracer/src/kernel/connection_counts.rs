//! TCP connections' reads and writes counted in the kernel: each connection the reader follows
//! gets a row of `CONN_HIST` (calls, bytes each way, time, and histograms of latency and sizes),
//! given when the reader learns the connection (in the entry the kernel made for it when it was
//! established) and taken back once the kernel has dropped that entry at its close (or its
//! socket's address is another connection's).
use std::sync::atomic::Ordering;

use anyhow::Result;
use aya::maps::{HashMap, MapData};
use rustc_hash::FxHashMap;
use tracer_common::connections::{ConnEntry, CONN_BUCKETS, CONN_NO_ROW, CONN_ROWS, CONN_ROW_WORDS, CONN_TOTAL_WORDS};

use super::mapped::MappedWords;

/// What a connection's kernel-counted calls added since the last read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionDelta {
    /// The reader's index of the connection.
    pub connection: usize,
    pub calls: u64,
    pub sent: u64,
    pub received: u64,
    pub total_ns: u64,
    /// Buckets (`tracer_common::connections::conn_bucket`) that grew, and by how many calls.
    pub latency: Vec<(u32, u64)>,
    pub sent_sizes: Vec<(u32, u64)>,
    pub received_sizes: Vec<(u32, u64)>,
}

pub struct ConnectionCounts {
    /// The kernel's map from socket address to row.
    rows: HashMap<MapData, u64, ConnEntry>,
    words: MappedWords,
    /// The (socket, connection) of each row in use.
    of_row: Vec<Option<(u64, usize)>>,
    row_of: FxHashMap<u64, u32>,
    /// Each row as of the last read.
    last: Vec<Box<[u64]>>,
}

impl ConnectionCounts {
    pub fn new(rows: HashMap<MapData, u64, ConnEntry>, words: MappedWords) -> Self {
        Self { rows, words, of_row: vec![None; CONN_ROWS as usize], row_of: FxHashMap::default(), last: Vec::new() }
    }

    /// Connection `connection`, of local and peer ports `ports`, uses socket `sk`: its calls are
    /// counted in a row of their own from now on, while rows are left and the connection is
    /// open. Returns what a previous connection at the same address left in its row.
    pub fn follow(&mut self, sk: u64, connection: usize, ports: (u16, u16)) -> Result<Option<ConnectionDelta>> {
        let mut rest = None;
        if let Some(&row) = self.row_of.get(&sk) {
            if self.of_row[row as usize].is_some_and(|(_, owner)| owner == connection) {
                return Ok(None);
            }
            rest = self.release(row);
        }
        // Open, with no row yet, and this connection (not a later one at the same address).
        let entry = self.rows.get(&sk, 0).ok();
        if !entry.is_some_and(|e| e.row == CONN_NO_ROW && (e.sport, e.dport) == ports) {
            return Ok(rest);
        }
        let Some(row) = self.of_row.iter().position(Option::is_none) else { return Ok(rest) };
        // No socket points at a free row (but for a call that looked its row up just before its
        // connection closed, a second or more ago): zeroed, it starts the connection afresh.
        let base = row * CONN_ROW_WORDS as usize;
        for word in 0..CONN_ROW_WORDS as usize {
            if let Some(word) = self.words.word(base + word) {
                word.store(0, Ordering::Relaxed);
            }
        }
        if self.last.len() <= row {
            self.last.resize_with(row + 1, || vec![0; CONN_ROW_WORDS as usize].into_boxed_slice());
        }
        self.last[row].fill(0);
        // Only into the entry the kernel made when the connection was established: one that has
        // closed since has none.
        const BPF_EXIST: u64 = 2;
        let (sport, dport) = ports;
        if self.rows.insert(sk, ConnEntry { row: row as u32, sport, dport }, BPF_EXIST).is_ok() {
            self.of_row[row] = Some((sk, connection));
            self.row_of.insert(sk, row as u32);
        }
        Ok(rest)
    }

    /// What every row in use added since the last read.
    pub fn read(&mut self) -> Vec<ConnectionDelta> {
        (0..self.of_row.len()).filter_map(|row| self.take(row as u32)).collect()
    }

    /// The rows of connections the kernel saw close (their entries gone, or another
    /// connection's now): what they added since the last read; the rows are free again.
    pub fn release_closed(&mut self) -> Vec<ConnectionDelta> {
        let closed: Vec<u32> = self
            .of_row
            .iter()
            .enumerate()
            .filter_map(|(row, owner)| owner.filter(|&(sk, _)| self.rows.get(&sk, 0).map(|e| e.row).ok() != Some(row as u32)).map(|_| row as u32))
            .collect();
        closed.into_iter().filter_map(|row| self.release(row)).collect()
    }

    /// Frees `row`, returning what it added since the last read.
    fn release(&mut self, row: u32) -> Option<ConnectionDelta> {
        let rest = self.take(row);
        // The kernel's entry is gone already, or a new connection's at the same address.
        if let Some((sk, _)) = self.of_row[row as usize].take() {
            self.row_of.remove(&sk);
        }
        rest
    }

    /// What `row` added since the last read, if anything.
    fn take(&mut self, row: u32) -> Option<ConnectionDelta> {
        let (_, connection) = self.of_row[row as usize]?;
        let base = row as usize * CONN_ROW_WORDS as usize;
        let word = |i: usize| self.words.word(base + i).map_or(0, |w| w.load(Ordering::Relaxed));
        let last = &mut self.last[row as usize];
        if word(0) == last[0] {
            return None;
        }
        let mut delta = ConnectionDelta { connection, ..ConnectionDelta::default() };
        let mut totals = [0u64; CONN_TOTAL_WORDS as usize];
        for (i, total) in totals.iter_mut().enumerate() {
            let now = word(i);
            *total = now - last[i];
            last[i] = now;
        }
        [delta.calls, delta.sent, delta.received, delta.total_ns] = totals;
        // Three histograms of u32 counters, two a word (the lower half first).
        for i in CONN_TOTAL_WORDS as usize..CONN_ROW_WORDS as usize {
            let now = word(i);
            if now == last[i] {
                continue;
            }
            for half in 0..2 {
                let grew = ((now >> (32 * half)) as u32).wrapping_sub((last[i] >> (32 * half)) as u32);
                if grew == 0 {
                    continue;
                }
                let counter = (2 * (i - CONN_TOTAL_WORDS as usize) + half) as u32;
                let (histogram, bucket) = (counter / CONN_BUCKETS, counter % CONN_BUCKETS);
                let target = match histogram {
                    0 => &mut delta.latency,
                    1 => &mut delta.sent_sizes,
                    _ => &mut delta.received_sizes,
                };
                target.push((bucket, u64::from(grew)));
            }
            last[i] = now;
        }
        Some(delta)
    }
}
