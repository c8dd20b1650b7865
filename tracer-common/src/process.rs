//! Process lifecycle: forks followed (`-f`, at offsets in the `task_newtask` record from tracefs)
//! and traced processes' ends (`--by`).

kernel_names! {
    maps: [],
    globals: [NEWTASK_PID_OFFSET: u32, NEWTASK_FLAGS_OFFSET: u32],
}

/// A traced process's end: sent by its main thread's exit, after its last syscall's record.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessEvent {
    /// `EventKind::ProcessExit`.
    pub kind: u32,
    pub tgid: u32,
    /// `bpf_get_current_cgroup_id()`: the inode number of its cgroup v2 directory.
    pub cgroup_id: u64,
    pub comm: [u8; 16],
}
