//! The names by which the loader finds the programs' maps and load-time globals.
//!
//! The kernel side declares each as a `#[map]` or `#[unsafe(no_mangle)]` static whose Rust
//! identifier is its symbol name, so a shared `const` cannot name it; instead each feature lists
//! its names here once, with [`kernel_names!`], the loader uses only these consts, and
//! tracer's build script checks the built object against the lists both ways (every name listed
//! is in the object, every map and global of the object is listed, each global at its size).

use core::marker::PhantomData;

/// The name of a load-time global of type `T`: the loader's typed setter takes a `T` for it.
pub struct GlobalName<T> {
    pub name: &'static str,
    value: PhantomData<T>,
}

// Not derived: that would ask `T: Clone`.
impl<T> Clone for GlobalName<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for GlobalName<T> {}

impl<T> GlobalName<T> {
    pub const fn new(name: &'static str) -> Self {
        Self { name, value: PhantomData }
    }
}

/// A feature's maps and globals, as its names list them.
#[derive(Clone, Copy, Debug)]
pub struct Names {
    pub maps: &'static [&'static str],
    /// Each global with its size in bytes.
    pub globals: &'static [(&'static str, usize)],
}

/// Declares a feature's names: a `&str` const per map, a [`GlobalName`] per global, and
/// `NAMES`, the lists the build script checks.
macro_rules! kernel_names {
    (maps: [$($map:ident),* $(,)?], globals: [$($global:ident: $ty:ty),* $(,)?] $(,)?) => {
        $(pub const $map: &str = stringify!($map);)*
        $(pub const $global: $crate::names::GlobalName<$ty> = $crate::names::GlobalName::new(stringify!($global));)*
        /// This feature's maps and globals, for the build script's check.
        pub const NAMES: $crate::names::Names = $crate::names::Names {
            maps: &[$(stringify!($map)),*],
            globals: &[$((stringify!($global), core::mem::size_of::<$ty>())),*],
        };
    };
}
