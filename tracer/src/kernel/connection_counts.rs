//! TCP connections' reads and writes counted in the kernel: each connection established while
//! tracing gets a row of `CONN_HIST` (calls, bytes each way, time, and histograms of latency and
//! sizes) at its first counted call, which names the row in its socket record. The reader takes
//! the row's figures into the connection the record names, and once the kernel has dropped the
//! connection's entry at its close (or keeps another row for it), takes the rest, zeroes the row
//! and gives it back to the kernel's free rows.
use std::sync::atomic::Ordering;

use anyhow::Result;
use aya::maps::{Array, HashMap, MapData, Queue};
use tracer_common::{
    connections::{CONN_BUCKETS, CONN_ROWS, CONN_ROW_WORDS, CONN_TOTAL_WORDS},
    net::SockEntry,
};

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

/// A row in use: its connection's socket, and the reader's index of the connection (none for
/// a connection it does not follow one by one: the row is only given back).
#[derive(Clone, Copy, Debug)]
struct RowOwner {
    sk: u64,
    connection: Option<usize>,
}

pub struct ConnectionCounts {
    /// The kernel's sockets by address, each with its connection's row.
    rows: HashMap<MapData, u64, SockEntry>,
    /// The kernel's free rows.
    free: Queue<MapData, u32>,
    /// The kernel's `CONN_FOLLOWED_ALL`; `None` once set: then rows are not given back.
    followed_all: Option<Array<MapData, u32>>,
    words: MappedWords,
    of_row: Vec<Option<RowOwner>>,
}

impl ConnectionCounts {
    /// Gives the kernel every row.
    pub fn new(rows: HashMap<MapData, u64, SockEntry>, mut free: Queue<MapData, u32>, followed_all: Array<MapData, u32>, words: MappedWords) -> Result<Self> {
        for row in 0..CONN_ROWS {
            free.push(row, 0)?;
        }
        Ok(Self { rows, free, followed_all: Some(followed_all), words, of_row: vec![None; CONN_ROWS as usize] })
    }

    /// The reader follows no more connections one by one: the kernel counts the calls of those
    /// with no row by fd kind only, and rows freed from now on stay free of new connections.
    pub fn followed_all(&mut self) -> Result<()> {
        if let Some(mut flag) = self.followed_all.take() {
            flag.set(0, 1, 0)?;
        }
        Ok(())
    }

    /// A call on socket `sk` took `row` for its connection, `connection` (the reader's index; none
    /// when it is not followed one by one): the row's figures are the connection's until the
    /// kernel drops its entry.
    pub fn adopt(&mut self, row: u32, sk: u64, connection: Option<usize>) {
        let Some(owner) = self.of_row.get_mut(row as usize) else { return };
        *owner = Some(RowOwner { sk, connection });
    }

    /// What every row in use added since the last read.
    pub fn read(&mut self) -> Vec<ConnectionDelta> {
        (0..self.of_row.len()).filter_map(|row| self.take(row as u32)).collect()
    }

    /// The rows of connections the kernel saw close (their entries marked, gone, or naming
    /// another row):
    /// what they added since the last read. The rows are zeroed and free again.
    pub fn release_closed(&mut self) -> Result<Vec<ConnectionDelta>> {
        let closed: Vec<u32> = (0..self.of_row.len() as u32)
            .filter(|&row| self.of_row[row as usize].is_some_and(|owner| self.rows.get(&owner.sk, 0).ok().map(|entry| entry.row) != Some(row)))
            .collect();
        let mut rests = Vec::new();
        for row in closed {
            rests.extend(self.take(row));
            self.of_row[row as usize] = None;
            // No entry names it now (but for a call that looked its row up just before its
            // connection closed): zeroed, it starts the next connection afresh.
            self.words.zero(row as usize * CONN_ROW_WORDS as usize, CONN_ROW_WORDS as usize);
            if self.followed_all.is_some() {
                self.free.push(row, 0)?;
            }
        }
        Ok(rests)
    }

    /// What `row` added since the last read, if anything: each counter taken (see
    /// [`MappedWords::take`]), so that no copy of the rows is kept here (7.5 KiB each, 1024 of
    /// them).
    fn take(&mut self, row: u32) -> Option<ConnectionDelta> {
        let connection = self.of_row[row as usize]?.connection?;
        let base = row as usize * CONN_ROW_WORDS as usize;
        if self.words.word(base)?.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut delta = ConnectionDelta { connection, ..ConnectionDelta::default() };
        let totals: [u64; CONN_TOTAL_WORDS as usize] = std::array::from_fn(|i| self.words.take(base + i));
        [delta.calls, delta.sent, delta.received, delta.total_ns] = totals;
        // Three histograms of u32 counters after the totals.
        for (counter, grew) in self.words.take_counters(base + CONN_TOTAL_WORDS as usize, (CONN_ROW_WORDS - CONN_TOTAL_WORDS) as usize) {
            let target = match counter / CONN_BUCKETS {
                0 => &mut delta.latency,
                1 => &mut delta.sent_sizes,
                _ => &mut delta.received_sizes,
            };
            target.push((counter % CONN_BUCKETS, grew));
        }
        Some(delta)
    }
}
