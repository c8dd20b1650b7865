//! An mmapable array map of u64 words (`BPF_F_MMAPABLE`), mapped into this process: read and
//! written without a syscall. The traced-process bitmap (the kernel sets a new child's bit with
//! an atomic add; bits are set and cleared here with atomic OR and AND on the same words, so
//! neither side can erase the other's change) and the kernel's latency histograms.
use std::{
    os::fd::{AsFd, AsRawFd},
    sync::atomic::{AtomicU32, AtomicU64},
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
                word.store(0, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Word `index` as the two u32 counters the kernel adds to in it (per-connection
    /// histograms), the one at the lower address first.
    pub fn halves(&self, index: usize) -> Option<[&AtomicU32; 2]> {
        // SAFETY: in bounds (a whole word), mapped for the life of self, u32-aligned, and only
        // ever accessed atomically, at the size the kernel uses for them.
        (index < self.len).then(|| unsafe {
            let low = self.words.add(index).cast::<AtomicU32>();
            [&*low, &*low.add(1)]
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

