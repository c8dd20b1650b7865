//! An mmapable array map of u64 words (`BPF_F_MMAPABLE`), mapped into this process: read and
//! written without a syscall. The traced-process bitmap (the kernel sets a new child's bit with
//! an atomic add; bits are set and cleared here with atomic OR and AND on the same words, so
//! neither side can erase the other's change) and the kernel's latency histograms.
use std::{
    os::fd::{AsFd, AsRawFd},
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
};

use anyhow::{bail, Result};
use aya::maps::{Array, MapData};

pub struct MappedWords {
    words: *const AtomicU64,
    len: usize,
    /// Length of the mapping (mmap and munmap round it up to whole pages alike).
    bytes: usize,
    /// Keeps the map, hence the mapping's object, alive.
    _map: Array<MapData, u64>,
}

impl MappedWords {
    pub fn new(map: Array<MapData, u64>) -> Result<Self> {
        let len = map.len() as usize;
        let fd = aya::maps::IterableMap::map(&map).fd().as_fd().as_raw_fd();
        let bytes = len * size_of::<u64>();
        // SAFETY: a shared mapping of an mmapable array map of `len` u64 words, unmapped in
        // Drop before the map's fd closes.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), bytes, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0) };
        if ptr == libc::MAP_FAILED {
            bail!("{}", std::io::Error::last_os_error());
        }
        Ok(Self { words: ptr.cast(), len, bytes, _map: map })
    }

    /// Zeroes `len` words from `start` (those in the map).
    pub fn zero(&self, start: usize, len: usize) {
        for index in start..start + len {
            if let Some(word) = self.word(index) {
                word.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Takes counter `index`: what the kernel added since the last take, zeroing it with an
    /// atomic exchange (as atomic as the kernel's adds, so none is lost), so that no copy of the
    /// last values need be kept. Most counters are zero: those are only loaded, not written.
    pub fn take(&self, index: usize) -> u64 {
        self.word(index).map_or(0, |word| if word.load(Ordering::Relaxed) == 0 { 0 } else { word.swap(0, Ordering::Relaxed) })
    }

    /// The u32 counters of words `first..first + words` (two a word, as
    /// [`MappedWords::take_halves`] takes them) that grew: (counter from `first`, growth).
    pub fn take_counters(&self, first: usize, words: usize) -> Vec<(u32, u64)> {
        let mut grown = Vec::new();
        for i in 0..words {
            for (half, grew) in self.take_halves(first + i).into_iter().enumerate() {
                if grew != 0 {
                    grown.push(((2 * i + half) as u32, u64::from(grew)));
                }
            }
        }
        grown
    }

    /// [`MappedWords::take`] for a word that holds two u32 counters the kernel adds to as such
    /// (per-connection histograms), the one at the lower address first: each taken at that size.
    pub fn take_halves(&self, index: usize) -> [u32; 2] {
        if index >= self.len {
            return [0; 2];
        }
        // SAFETY: in bounds (a whole word), mapped for the life of self, u32-aligned, and only
        // ever accessed atomically, at the size the kernel uses for them.
        let low = unsafe { self.words.add(index).cast::<AtomicU32>() };
        [0, 1].map(|half| {
            // SAFETY: as above; `half` is 0 or 1, within the word.
            let counter = unsafe { &*low.add(half) };
            if counter.load(Ordering::Relaxed) == 0 { 0 } else { counter.swap(0, Ordering::Relaxed) }
        })
    }

    pub fn word(&self, index: usize) -> Option<&AtomicU64> {
        // SAFETY: in bounds, mapped for the life of self, and only ever accessed atomically.
        (index < self.len).then(|| unsafe { &*self.words.add(index) })
    }
}

impl Drop for MappedWords {
    fn drop(&mut self) {
        // SAFETY: the mapping made in new(), of this length.
        unsafe { libc::munmap(self.words as *mut libc::c_void, self.bytes) };
    }
}

