//! Which processes are traced: by pid (a bitmap, or the only one), and by cgroup (`--cgroup`),
//! matched by a helper or, where tracing programs lack it, by walking the task's cgroups at
//! offsets from the kernel's BTF.

kernel_names! {
    maps: [TRACED],
    globals: [
        ONLY_TGID: u32,
        SELF_TGID: u32,
        CGROUP_COUNT: u32,
        CGROUP_IDS: [u64; MAX_CGROUPS],
        CGROUP_LEVELS: [u32; MAX_CGROUPS],
        CGROUP_ANCESTRY: u32,
        TASK_CGROUPS_OFFSET: u32,
        CSS_SET_DFL_CGRP_OFFSET: u32,
        CGROUP_LEVEL_OFFSET: u32,
        CGROUP_ANCESTORS_OFFSET: u32,
        CGROUP_KN_OFFSET: u32,
        KERNFS_NODE_ID_OFFSET: u32,
    ],
}

/// Most `--cgroup` targets.
pub const MAX_CGROUPS: usize = 8;
