//! The scheduler split: each off-CPU period of a traced thread split into blocked and run-queue
//! time, reading `task_struct` at offsets from the kernel's BTF.

kernel_names! {
    maps: [],
    globals: [TASK_PID_OFFSET: u32, SWITCH_HAS_PREV_STATE: u32, TASK_STATE_OFFSET: u32, TASK_COMM_OFFSET: u32],
}
