//! Slow calls (`--slow`): a call over the threshold sent whole, with its arguments, the user
//! memory one of them points at, and with `--stacks` its stacks.
use crate::events::Event;

kernel_names! {
    maps: [SLOW_USER_ARG, EXEC_ARGS, EXEC_SCRATCH, GO_GOID_OFFSET],
    globals: [SLOW_ON: u32, SLOW_NS: u64, SLOW_STACKS: u32, G_REG_OFFSET: u32, SP_REG_OFFSET: u32],
}

/// Go processes whose slow calls carry their goroutine: the offset of `goid` in their runtime's
/// `g` (`GO_GOID_OFFSET`, by tgid, written by the reader once it knows the binary's Go
/// version). The kernel takes `g` from the register the Go ABI keeps it in (amd64 r14, arm64
/// x28) and believes it only if the call's stack pointer lies within `g.stack`.
pub const GO_PROCESSES: u32 = 1024;

/// Bytes of user memory a slow call's record copies: a path, or a socket address.
pub const SLOW_USER_BYTES: usize = 256;
/// Frames of a slow call's user and kernel stacks.
pub const USER_STACK_FRAMES: usize = 64;
pub const KERNEL_STACK_FRAMES: usize = 32;

/// What a slow call's record copies from user memory, by syscall number (the kernel's
/// `SLOW_USER_ARG` map): the kind in the low 4 bits, the argument holding the address in the
/// next 4, the argument holding the length (or pointing at it) in the next 4.
pub const SLOW_COPY_NONE: u32 = 0;
/// A NUL-terminated path.
pub const SLOW_COPY_PATH: u32 = 1;
/// A socket address whose length is an argument (connect, bind, sendto).
pub const SLOW_COPY_SOCKADDR: u32 = 2;
/// A socket address whose length the call wrote through a pointer argument (accept, recvfrom).
pub const SLOW_COPY_SOCKADDR_LEN_PTR: u32 = 3;

/// `--stacks` parts, in the `SLOW_STACKS` constant.
pub const STACKS_USER: u32 = 1;
pub const STACKS_KERNEL: u32 = 2;

/// A slow call (`--slow`): the call's event, its six argument registers, the thread's name,
/// and the user memory its [`SLOW_COPY_PATH`]-family argument points at.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SlowEvent {
    /// `kind` is `EventKind::Slow` or `EventKind::SlowStacks`; the rest as for a syscall's.
    pub call: Event,
    pub args: [u64; 6],
    pub comm: [u8; 16],
    /// One of the `SLOW_COPY_*` kinds, or `SLOW_COPY_NONE`.
    pub user_kind: u32,
    /// Bytes copied into `user` (a path's count includes its NUL), or a negative errno.
    pub user_len: i32,
    /// The goroutine that made the call (its `goid`), 0 when not known: not a Go process, a
    /// layout not known, or not on a goroutine's stack.
    pub goid: u64,
    pub user: [u8; SLOW_USER_BYTES],
}

/// An execve's arguments and path, taken at its entry with `--slow`: a successful exec replaces
/// the registers and the memory they were in before its exit is seen.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecArgs {
    pub args: [u64; 6],
    /// Bytes copied into `path` (with its NUL), or a negative errno.
    pub path_len: i32,
    pub _pad: u32,
    pub path: [u8; SLOW_USER_BYTES],
}

/// A slow call with its stacks (`--stacks`), innermost frame first.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SlowStackEvent {
    pub slow: SlowEvent,
    /// What `bpf_get_stack` returned: bytes written, or a negative errno (0 when not asked).
    pub user_stack_bytes: i64,
    pub kernel_stack_bytes: i64,
    pub user_stack: [u64; USER_STACK_FRAMES],
    pub kernel_stack: [u64; KERNEL_STACK_FRAMES],
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: plain old data, `#[repr(C)]`, any bit pattern valid.
    unsafe impl aya::Pod for super::SlowEvent {}
    unsafe impl aya::Pod for super::SlowStackEvent {}
    unsafe impl aya::Pod for super::ExecArgs {}
}
