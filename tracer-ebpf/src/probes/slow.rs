//! Slow calls (`--slow`): a call that took at least the threshold is sent as one bigger record,
//! with its argument registers, its thread's name, the path or socket address it named, and,
//! with `--stacks`, its user and kernel stacks. Everything is read at `sys_exit`, only for a
//! call over the threshold: a faster call costs exactly what it costs without `--slow`.
use core::ffi::c_void;

use aya_ebpf::{
    bindings::BPF_F_USER_STACK,
    helpers::generated::{
        bpf_get_stack, bpf_probe_read_kernel, bpf_probe_read_user, bpf_probe_read_user_str,
    },
    macros::map,
    maps::HashMap,
    Global,
};
use tracer_common::{
    events::{Event, EventKind, KIND_MASK, LOST_SLOW},
    slow::{
        SlowEvent, SlowStackEvent, GO_PROCESSES, KERNEL_STACK_FRAMES, SLOW_COPY_PATH, SLOW_COPY_SOCKADDR, SLOW_COPY_SOCKADDR_LEN_PTR, SLOW_USER_BYTES,
        STACKS_KERNEL, STACKS_USER, USER_STACK_FRAMES,
    },
};

use crate::maps::{
    tally, is_exec, is_execveat, read_arg, slow_stacks, submit, write_comm, write_event, EVENTS, EXEC_ARGS, EXEC_SCRATCH, SLOW_USER_ARG,
};


/// At an execve's entry, with `--slow`: keeps its arguments and path for its exit, by which a
/// successful exec has replaced them.
#[inline(always)]
pub fn remember_exec(tgid: u32, nr: u32, regs: *const u8) {
    let Some(saved) = EXEC_SCRATCH.get_ptr_mut(0) else { return };
    // execve(path, ...), execveat(dirfd, path, ...)
    let path = read_arg(regs, if is_execveat(nr) { 1 } else { 0 });
    unsafe {
        for i in 0..6 {
            (*saved).args[i] = read_arg(regs, i);
        }
        (*saved).path_len =
            bpf_probe_read_user_str((&raw mut (*saved).path).cast(), SLOW_USER_BYTES as u32, path as *const c_void) as i32;
        let _ = EXEC_ARGS.insert(&tgid, &*saved, 0);
    }
}


/// The offset of `goid` in the runtime's `g`, by tgid, for the Go processes whose layout the
/// reader knows (see `tracer_common::slow::GO_PROCESSES`).
#[map]
static GO_GOID_OFFSET: HashMap<u32, u32> = HashMap::with_max_entries(GO_PROCESSES, 0);

/// Offsets in `struct pt_regs` of the register Go keeps the current `g` in, and of the stack
/// pointer.
#[unsafe(no_mangle)]
static G_REG_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static SP_REG_OFFSET: Global<u32> = Global::new(0);

/// The goroutine of a Go process's slow call, into `goid` (0 when unknown). `g` comes from its
/// register and is believed only if the stack pointer at the call lies within `g.stack` (its
/// first two words, lo and hi): a thread not running Go code, or a register holding something
/// else, gives 0, never a wrong number. Read through the record's own field: no stack room.
#[inline(always)]
fn goroutine(tgid: u32, regs: *const u8, goid: *mut u64) {
    unsafe { core::ptr::write_volatile(goid, 0) };
    let Some(&offset) = (unsafe { GO_GOID_OFFSET.get(&tgid) }) else { return };
    let g = unsafe { core::ptr::read_volatile(regs.add(G_REG_OFFSET.load() as usize).cast::<u64>()) };
    let sp = unsafe { core::ptr::read_volatile(regs.add(SP_REG_OFFSET.load() as usize).cast::<u64>()) };
    if g == 0 {
        return;
    }
    let read = |at: u64| -> Option<u64> {
        (unsafe { bpf_probe_read_user(goid.cast(), 8, at as *const c_void) } == 0).then(|| unsafe { core::ptr::read_volatile(goid) })
    };
    let (Some(lo), Some(hi)) = (read(g), read(g + 8)) else {
        unsafe { core::ptr::write_volatile(goid, 0) };
        return;
    };
    if !(lo < hi && lo <= sp && sp < hi) || read(g + u64::from(offset)).is_none() {
        unsafe { core::ptr::write_volatile(goid, 0) };
    }
}

/// Longest socket address copied: a `sockaddr_un` with its path (`sockaddr_storage` is 128).
const SOCKADDR_MAX: u64 = 128;

/// Sends `call` as a slow-call record; false when the ring buffer had no room (the caller then
/// sends the plain event, so that the call is still counted).
#[inline(always)]
pub fn emit_slow(ctx: *mut c_void, call: Event, regs: *const u8) -> bool {
    let stacks = slow_stacks();
    if stacks == 0 {
        let Some(mut entry) = EVENTS.reserve::<SlowEvent>(0) else {
            tally(LOST_SLOW);
            return false;
        };
        let slow = entry.as_mut_ptr();
        fill(slow, call, EventKind::Slow, regs);
        submit(entry);
        return true;
    }
    let Some(mut entry) = EVENTS.reserve::<SlowStackEvent>(0) else {
        tally(LOST_SLOW);
        return false;
    };
    let record = entry.as_mut_ptr();
    unsafe {
        fill(&raw mut (*record).slow, call, EventKind::SlowStacks, regs);
        // Volatile: two adjacent zero stores otherwise become a memset call (see `write_event`).
        core::ptr::write_volatile(&raw mut (*record).user_stack_bytes, 0);
        core::ptr::write_volatile(&raw mut (*record).kernel_stack_bytes, 0);
        if stacks & STACKS_USER != 0 {
            let size = (USER_STACK_FRAMES * 8) as u32;
            let buf = (&raw mut (*record).user_stack).cast::<c_void>();
            (*record).user_stack_bytes = bpf_get_stack(ctx, buf, size, BPF_F_USER_STACK as u64);
        }
        if stacks & STACKS_KERNEL != 0 {
            let size = (KERNEL_STACK_FRAMES * 8) as u32;
            let buf = (&raw mut (*record).kernel_stack).cast::<c_void>();
            (*record).kernel_stack_bytes = bpf_get_stack(ctx, buf, size, 0);
        }
    }
    submit(entry);
    true
}

#[inline(always)]
fn fill(slow: *mut SlowEvent, call: Event, kind: EventKind, regs: *const u8) {
    // Written straight into the record: the programs' stack (512 bytes) is nearly full.
    // An exec's arguments are its entry's; any other call's registers still hold them.
    let saved = if is_exec(call.nr) { unsafe { EXEC_ARGS.get(&call.tgid) } } else { None };
    unsafe {
        // The cgroup tag kept.
        write_event(&raw mut (*slow).call, Event { kind: kind as u32 | (call.kind & !KIND_MASK), ..call });
        match saved {
            Some(saved) => {
                bpf_probe_read_kernel((&raw mut (*slow).args).cast(), 48, (&raw const saved.args).cast());
            }
            None => {
                for i in 0..6 {
                    (*slow).args[i] = read_arg(regs, i);
                }
            }
        }
        write_comm(&raw mut (*slow).comm);
        (*slow).user_kind = 0;
        (*slow).user_len = 0;
    }
    goroutine(call.tgid, regs, unsafe { &raw mut (*slow).goid });
    if let Some(saved) = saved {
        unsafe {
            let user = (&raw mut (*slow).user).cast::<c_void>();
            if bpf_probe_read_kernel(user, SLOW_USER_BYTES as u32, (&raw const saved.path).cast()) == 0 {
                (*slow).user_kind = SLOW_COPY_PATH;
                (*slow).user_len = saved.path_len;
            }
        }
        return;
    }
    let how = SLOW_USER_ARG.get(call.nr).copied().unwrap_or(0);
    let (kind, addr_arg, len_arg) = (how & 0xf, ((how >> 4) & 0xf) as usize, ((how >> 8) & 0xf) as usize);
    if kind == 0 || addr_arg >= 6 || len_arg >= 6 {
        return;
    }
    let args = unsafe { &(*slow).args };
    let ptr = args[addr_arg] as *const c_void;
    if ptr.is_null() {
        return;
    }
    let user = unsafe { (&raw mut (*slow).user).cast::<c_void>() };
    let copied = match kind {
        SLOW_COPY_PATH => (unsafe { bpf_probe_read_user_str(user, SLOW_USER_BYTES as u32, ptr) }) as i32,
        SLOW_COPY_SOCKADDR | SLOW_COPY_SOCKADDR_LEN_PTR => {
            // 64 bits throughout: a 32-bit copy would be the one bounded, and the verifier would
            // see the helper get the other.
            let len: u64 = if kind == SLOW_COPY_SOCKADDR {
                args[len_arg]
            } else {
                // accept and recvfrom wrote the address's length through this pointer.
                let mut len = 0u32;
                let len_ptr = args[len_arg] as *const c_void;
                if len_ptr.is_null() || unsafe { bpf_probe_read_user((&raw mut len).cast(), 4, len_ptr) } != 0 {
                    return;
                }
                u64::from(len)
            };
            // Bounded for the verifier: a size it can prove is at most the buffer's.
            let len = if len > SOCKADDR_MAX { SOCKADDR_MAX } else { len };
            if len == 0 {
                return;
            }
            match unsafe { bpf_probe_read_user(user, len as u32, ptr) } {
                0 => len as i32,
                error => error as i32,
            }
        }
        _ => return,
    };
    unsafe {
        (*slow).user_kind = kind;
        (*slow).user_len = copied;
    }
}
