//! What is read from the machine rather than from the kernel programs: /proc (names, fds,
//! cgroups, memory maps), cgroupfs (CPU quota and throttling, finding units and containers),
//! and the traced processes' binaries (symbols, Go build info). The model never reads these
//! itself: it asks through [`ProcessFacts`], which [`procfs::ProcFs`] answers from /proc.
use std::{collections::HashMap, fmt, ops::Deref, path::Path, sync::Arc};

pub mod cgroup_cpu;
pub mod cgroup_lookup;
pub mod cgroupfs;
pub mod contain;
pub mod go;
pub mod gopclntab;
pub mod names;
pub mod own_usage;
pub mod procfs;
pub mod stacks;

/// What the model asks about the traced processes while they live.
pub trait ProcessFacts: Send + Sync {
    /// The process's name (`comm`), if it still exists.
    fn name(&self, pid: u32) -> Option<String>;
    fn exists(&self, pid: u32) -> bool;
    /// Its cgroup v2 path below the hierarchy's root ("/system.slice/nginx.service").
    fn cgroup(&self, pid: u32) -> Option<String>;
    /// Every cgroup directory below `root`, by id (inode), as paths from the root.
    fn cgroup_paths(&self, root: &Path) -> HashMap<u64, String>;
    /// What fd `fd` of `tgid` links to (`pipe:[12]`, `socket:[34]`, a path); `None` once closed.
    fn fd_target(&self, tgid: u32, fd: i32) -> Option<String>;
    /// The fds `tgid` has open now; `None` if it is gone.
    fn open_fds(&self, tgid: u32) -> Option<Vec<i32>>;
}

/// The machine the model asks: /proc unless a test says otherwise.
#[derive(Clone)]
pub struct Host(Arc<dyn ProcessFacts>);

impl Host {
    pub fn new(facts: Arc<dyn ProcessFacts>) -> Self {
        Self(facts)
    }
}

impl Default for Host {
    fn default() -> Self {
        Self(Arc::new(procfs::ProcFs))
    }
}

impl Deref for Host {
    type Target = dyn ProcessFacts;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Host")
    }
}
