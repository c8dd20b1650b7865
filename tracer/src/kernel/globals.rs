//! The programs' load-time constants, set by the typed names tracer-common lists: a value of
//! another type than its global's does not compile, and no name is spelt here.
use aya::{EbpfLoader, Pod};
use tracer_common::names::GlobalName;

/// Values for the loader's globals, each set once.
#[derive(Default)]
pub struct Globals {
    values: Vec<(&'static str, Vec<u8>)>,
}

impl Globals {
    pub fn set<T: Pod>(&mut self, global: GlobalName<T>, value: T) -> &mut Self {
        // SAFETY: `T: Pod`: plain data, every byte of it initialised.
        let bytes = unsafe { std::slice::from_raw_parts((&raw const value).cast::<u8>(), size_of::<T>()) };
        self.values.push((global.name, bytes.to_vec()));
        self
    }

    /// Gives `loader` every value; each global must exist in the object.
    pub fn apply<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        for (name, bytes) in &self.values {
            loader.override_global(name, bytes.as_slice(), true);
        }
    }
}
