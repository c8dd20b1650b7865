//! A set of syscall numbers, in the shape of the kernel programs' `-e` bitmap.
use std::fmt;

use tracer_common::syscalls::{MAX_SYSCALLS, SYSCALL_WORDS};

use super::table;

/// A set of syscall numbers of this architecture, as the kernel-side bitmap wants it.
#[derive(Clone, PartialEq, Eq)]
pub struct SyscallSet {
    words: [u64; SYSCALL_WORDS],
}

impl SyscallSet {
    pub fn empty() -> Self {
        Self { words: [0; SYSCALL_WORDS] }
    }

    pub fn all() -> Self {
        let mut set = Self::empty();
        table::all().for_each(|nr| set.insert(nr));
        set
    }

    pub fn insert(&mut self, nr: u32) {
        if nr < MAX_SYSCALLS {
            self.words[(nr / 64) as usize] |= 1 << (nr % 64);
        }
    }

    pub fn contains(&self, nr: u32) -> bool {
        nr < MAX_SYSCALLS && self.words[(nr / 64) as usize] & (1 << (nr % 64)) != 0
    }

    pub fn words(&self) -> &[u64; SYSCALL_WORDS] {
        &self.words
    }

    pub fn union(&mut self, other: &Self) {
        self.words.iter_mut().zip(other.words).for_each(|(a, b)| *a |= b);
    }

    pub fn complement(&self) -> Self {
        let mut out = Self::all();
        out.words.iter_mut().zip(self.words).for_each(|(a, b)| *a &= !b);
        out
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..MAX_SYSCALLS).filter(|nr| self.contains(*nr))
    }

    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for SyscallSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.iter().map(|nr| table::name(nr).unwrap_or("?"));
        f.debug_set().entries(names).finish()
    }
}
