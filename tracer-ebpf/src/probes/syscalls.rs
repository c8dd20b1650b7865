//! Syscall latency: `sys_enter` records the start in the tid-indexed in-flight slot, `sys_exit`
//! turns it into one event. BTF tracepoints: same cost as raw tracepoints, typed arguments.
use core::ffi::c_void;

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    macros::btf_tracepoint,
    programs::BtfTracePointContext,
    EbpfContext,
};
use tracer_common::{
    events::{Event, EventKind, KIND_FD_SHIFT},
    kernel_counts::errno_slot,
    fd_kinds::FD_KIND_SOCKET,
    connections::CONN_NO_ROW,
    syscalls::{
        InFlight, MAX_SYSCALLS, SLOT_SEEN, SYSCALL_ACCEPTS, SYSCALL_CREATES_TASK, SYSCALL_FAILURE_LIKE_SUCCESS, SYSCALL_FREES_FDS, SYSCALL_FREES_FD_ARG0, SYSCALL_FREES_FD_ARG1, SYSCALL_NEEDS_EVENT, SYSCALL_SENDS,
        SYSCALL_SOCKET_FD_ARG0,
    },
};

use super::fd_kind::{connections_traced, fd_kind, file_sock, forget_fd, socket_from_fd, socket_of_fd};
use crate::maps::{
    clamped_split, count_errno, connection_row, kept_connection_row, note_connection_user, connections_on, following_connections, give_back_row, count_call, count_connection, count_io, count_row, grouped, kernel_counts, bump_fd_generation, cgroup_tag, count_lost, emit_event, emit_event_now, emit_sock_event, fd_generation, is_exec, is_selected, is_traced, never_returns,
    nr_offset, read_arg, slot, slow_threshold, syscall_flags, SOCKETS,
};

use super::net::{accepted_unfollowed, known_not_tcp};
use super::slow::{emit_slow, remember_exec};

#[btf_tracepoint(function = "sys_enter")]
pub fn sys_enter(ctx: BtfTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return 0;
    }
    // sys_enter(struct pt_regs *regs, long id)
    let id: i64 = ctx.arg(1);
    if id < 0 || id >= MAX_SYSCALLS as i64 {
        return 0;
    }
    let nr = id as u32;
    if !is_selected(nr) {
        return 0;
    }
    on_enter(pid_tgid, nr, ctx.arg(0));
    0
}

#[btf_tracepoint(function = "sys_exit")]
// Inlined into the macro's entry point: otherwise the whole body is a BPF subprogram, one call
// and one more frame on every syscall's exit.
#[inline(always)]
pub fn sys_exit(ctx: BtfTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return 0;
    }
    // sys_exit(struct pt_regs *regs, long ret)
    on_exit(ctx.as_ptr(), pid_tgid, ctx.arg(0), ctx.arg(1));
    0
}

/// Records the start of syscall `nr` in the thread's in-flight slot; `exit`/`exit_group`,
/// which never return, are reported at once.
#[inline(always)]
pub fn on_enter(pid_tgid: u64, nr: u32, regs: *const u8) {
    let tgid = (pid_tgid >> 32) as u32;
    let tid = pid_tgid as u32;
    let now = unsafe { bpf_ktime_get_ns() };
    if never_returns(nr) {
        emit_event(Event {
            kind: EventKind::SyscallNoReturn as u32 | cgroup_tag(),
            nr,
            tgid,
            tid,
            start_ns: now,
            duration_ns: 0,
            ret: 0,
            arg0: read_arg0(regs),
            blocked_ns: 0,
            runq_ns: 0,
        });
        return;
    }
    if let Some(slot) = slot(tid) {
        unsafe {
            if (*slot).start_ns != 0 {
                // Another thread whose tid shares this slot is inside a syscall (only possible
                // when pid_max exceeds the map), or this thread's previous call had no exit (a
                // kretprobe's instances ran out): that call's event is lost, and counted.
                count_lost();
            }
            if (*slot).tid != tid {
                (*slot).last_sk = 0;
                (*slot).off_cpu_since = 0;
                (*slot).sched_row = 0;
            }
            (*slot).sk = 0;
            (*slot).start_ns = now;
            (*slot).nr = nr | SLOT_SEEN;
            (*slot).tid = tid;
            // Volatile: two adjacent zero stores otherwise become a call to a byte-by-byte
            // memset, a quarter of this program's cost.
            core::ptr::write_volatile(&raw mut (*slot).blocked_ns, 0);
            core::ptr::write_volatile(&raw mut (*slot).runq_ns, 0);
        }
    }
    // A load-time constant: without --slow the verifier drops this branch.
    if slow_threshold().is_some() && is_exec(nr) {
        remember_exec(tgid, nr, regs);
    }
}

/// Pairs a syscall return with its start and reports it (`ctx`: the program's context, for
/// stack reads of slow calls).
#[inline(always)]
pub fn on_exit(ctx: *mut c_void, pid_tgid: u64, regs: *const u8, ret: i64) {
    let tgid = (pid_tgid >> 32) as u32;
    let tid = pid_tgid as u32;
    let Some(slot) = slot(tid) else {
        return;
    };
    // Field by field: copying the whole slot costs more than the fields this path needs.
    let (start_ns, owner, slot_nr) = unsafe { ((*slot).start_ns, (*slot).tid, (*slot).nr) };
    if start_ns == 0 || owner != tid {
        // No entry to pair: a syscall `-e` did not select (the common case, and the cheap
        // one), or, at a thread's first syscall boundary since tracing began, one that was
        // already in progress then.
        if owner != tid || slot_nr & SLOT_SEEN == 0 {
            first_exit(slot, pid_tgid, regs, ret);
        }
        return;
    }
    let nr = slot_nr & !SLOT_SEEN;
    let (blocked_ns, runq_ns, sk) = unsafe { ((*slot).blocked_ns, (*slot).runq_ns, (*slot).sk) };
    unsafe { (*slot).start_ns = 0 };
    let now = unsafe { bpf_ktime_get_ns() };
    if now < start_ns {
        count_lost(); // a clock that went back: never seen, but not silent
        return;
    }
    let flags = syscall_flags(nr);
    // Without the socket tracepoints (before 6.3), the socket is read from the fd. A load-time
    // constant first: elsewhere the verifier drops this branch.
    let sk = match sk {
        0 if socket_from_fd() && flags & SYSCALL_SOCKET_FD_ARG0 != 0 => {
            socket_of_fd(slot, tgid, read_arg0(regs) as i32, flags & SYSCALL_SENDS != 0)
        }
        sk => sk,
    };
    // Counted here, without an event, when nothing needs the call itself. Load-time constants
    // make the verifier drop this branch with --events, and the slow-call compare without --slow.
    let ns = now - start_ns;
    // Clamped once, for the counts and the event alike (the reader's clamp is then a no-op).
    let (blocked_ns, runq_ns) = clamped_split(ns, blocked_ns, runq_ns);
    if kernel_counts() && slow_threshold().is_none_or(|threshold| ns < threshold) {
        if let Some(row) = count_row(tgid, nr) {
            // A failed call's errno slot (0: none, or not failed); a failure without one is sent
            // as an event. Not an `Option`: LLVM may keep a `None`'s undefined payload in a
            // register across helper calls, which the verifier refuses to read.
            let failed = ret < 0;
            let errno = errno_slot(ret).unwrap_or(0);
            let plain = match failed {
                true => flags & SYSCALL_FAILURE_LIKE_SUCCESS == 0,
                false => flags & SYSCALL_NEEDS_EVENT == 0,
            };
            if plain && (!failed || errno != 0) {
                // A close counted here still makes the fd/socket pairs told before stale.
                note_freed_fds(flags, ret, tgid, regs);
                count_call(row, ns, blocked_ns, runq_ns);
                if failed {
                    count_errno(row, errno);
                }
                return;
            }
            // An accept: its wait goes with the accepted socket's record, which names the
            // socket to the reader anyway (and takes its connection's row). Once the reader
            // follows no more connections, there is nothing to name: the wait is counted by
            // its I/O slot, the connection as seen. A load-time constant first: without
            // sockets traced, accepts are events.
            if !failed && connections_traced() && flags & SYSCALL_ACCEPTS != 0 {
                if let Some(accepted) = file_sock(ret as i32).filter(|&sk| sk != 0) {
                    if !following_connections() {
                        if count_io(flags, FD_KIND_SOCKET, ns, 0, blocked_ns, runq_ns) {
                            accepted_unfollowed(accepted, tgid);
                            count_grouped(row, ns, blocked_ns, runq_ns);
                            return;
                        }
                    } else if announce_socket(slot, tgid, tid, ret as i32, accepted, start_ns, connections_on(), (nr, ns)).is_some() {
                        count_call(row, ns, blocked_ns, runq_ns);
                        return;
                    }
                }
            }
            // A read or write, failed or not (a failure needs its errno's slot): counted by its
            // fd's kind, then its errno in its syscall's row.
            if flags & SYSCALL_SOCKET_FD_ARG0 != 0 && (!failed || errno != 0) && count_by_fd(slot, (tgid, tid), flags, sk, start_ns, (ns, blocked_ns, runq_ns), regs, ret) {
                count_grouped(row, ns, blocked_ns, runq_ns);
                if failed {
                    count_errno(row, errno);
                }
                return;
            }
        }
    }
    let arg0 = read_arg0(regs);
    note_freed_fds(flags, ret, tgid, regs);
    if sk != 0 && flags & SYSCALL_SOCKET_FD_ARG0 != 0 {
        announce_socket(slot, tgid, tid, arg0 as i32, sk, start_ns, false, (0, 0));
    }
    // An accepted connection: which socket its fd is, whoever uses it next (a load-time
    // constant: only with the socket tracepoints' feature on).
    if connections_traced() && flags & SYSCALL_ACCEPTS != 0 && ret >= 0 {
        let accepted = file_sock(ret as i32).unwrap_or(0);
        if accepted != 0 {
            announce_socket(slot, tgid, tid, ret as i32, accepted, start_ns, false, (0, 0));
        }
    }
    // A read or write says what its fd is now: the reader could only ask /proc later, when
    // the fd may be closed (a short-lived process's pipe) or another file.
    let fd_tag = match sk {
        _ if flags & SYSCALL_SOCKET_FD_ARG0 == 0 => 0,
        0 => fd_kind(slot, tgid, arg0 as i32, flags & SYSCALL_SENDS != 0).map_or(0, |kind| kind + 1),
        _ => FD_KIND_SOCKET + 1,
    };
    let event = Event {
        kind: EventKind::Syscall as u32 | cgroup_tag() | (fd_tag << KIND_FD_SHIFT),
        nr,
        tgid,
        tid,
        start_ns,
        duration_ns: now - start_ns,
        ret,
        // Read at exit: see `read_arg`.
        arg0,
        blocked_ns,
        runq_ns,
    };
    // A load-time constant: without --slow the verifier drops this branch.
    if let Some(threshold) = slow_threshold() {
        if now - start_ns >= threshold && emit_slow(ctx, event, regs) {
            return;
        }
        if ret == 0 && is_exec(nr) {
            emit_event_now(event);
            return;
        }
    }
    emit_event(event);
}

/// Counts a read or write of the thread owning `slot` that returned `ret` by its fd's kind (its
/// first argument; `sk`: the socket it used, 0 if none or not known), and on a TCP connection in
/// the connection's row; false when it must be sent as an event.
///
/// A socket's (sendfile to one, say) is sent when connections are counted here, since the
/// reader may know its connection by the fd. On a socket, the reader is told which once per
/// (thread, fd, socket), then the call is counted as socket I/O, and on a TCP connection in the
/// connection's row (taken at its first such call, and named in that call's record). A
/// connection with no row (established before tracing began, or none free) is sent as events
/// while the reader may follow it. Once it follows no more, the reader needs no record: a call
/// counts in its connection's row if it kept one. (`if let`s, not closures: LLVM made a closure
/// here a BPF subprogram, a call on the path of every read and write.)
#[inline(always)]
fn count_by_fd(slot: *mut InFlight, (tgid, tid): (u32, u32), flags: u32, sk: u64, start_ns: u64, (ns, blocked_ns, runq_ns): (u64, u64, u64), regs: *const u8, ret: i64) -> bool {
    let sends = flags & SYSCALL_SENDS != 0;
    if sk == 0 {
        if let Some(kind) = fd_kind(slot, tgid, read_arg0(regs) as i32, sends) {
            if (kind != FD_KIND_SOCKET || !connections_on()) && count_io(flags, kind, ns, ret, blocked_ns, runq_ns) {
                return true;
            }
        }
        return false;
    }
    if !following_connections() {
        if count_io(flags, FD_KIND_SOCKET, ns, ret, blocked_ns, runq_ns) {
            if let Some(connection) = kept_connection_row(sk, tgid) {
                count_connection(connection, ns, ret, sends);
            }
            return true;
        }
        return false;
    }
    if let Some(used) = announce_socket(slot, tgid, tid, read_arg0(regs) as i32, sk, start_ns, connections_on(), (0, 0)) {
        if (!used.tcp || used.row != CONN_NO_ROW) && count_io(flags, FD_KIND_SOCKET, ns, ret, blocked_ns, runq_ns) {
            if used.row != CONN_NO_ROW {
                count_connection(used.row, ns, ret, sends);
            }
            return true;
        }
    }
    false
}

/// A read or write counted by its fd's kind: with `--by`, also in its group's row (the I/O
/// rows have no group; without `--by` they are the syscall's only count).
#[inline(always)]
fn count_grouped(row: u32, ns: u64, blocked_ns: u64, runq_ns: u64) {
    if grouped() {
        count_call(row, ns, blocked_ns, runq_ns);
    }
}

/// The first exit of a thread not seen at a syscall boundary before: the syscall was in
/// progress when tracing began (or when a traced process gained this thread). It is reported
/// as a call of unknown latency, if `-e` selected it.
#[inline(always)]
fn first_exit(slot: *mut InFlight, pid_tgid: u64, regs: *const u8, ret: i64) {
    let tgid = (pid_tgid >> 32) as u32;
    let tid = pid_tgid as u32;
    unsafe {
        if (*slot).tid != tid {
            if (*slot).start_ns != 0 {
                return; // the slot's owner (a tid equal modulo the map's size) is inside a syscall
            }
            (*slot).tid = tid;
            (*slot).last_sk = 0;
            (*slot).off_cpu_since = 0;
            (*slot).sched_row = 0;
        }
        (*slot).nr = SLOT_SEEN;
    }
    // The syscall number survives in the registers (x86_64 `orig_ax`, aarch64 `syscallno`).
    let nr = unsafe { core::ptr::read_volatile(regs.add(nr_offset()).cast::<u32>()) };
    if nr >= MAX_SYSCALLS || !is_selected(nr) {
        return;
    }
    // A new task's return from the clone that made it: the parent's call, seen in the parent.
    if ret == 0 && syscall_flags(nr) & SYSCALL_CREATES_TASK != 0 {
        return;
    }
    note_freed_fds(syscall_flags(nr), ret, tgid, regs);
    emit_event(Event {
        kind: EventKind::SyscallInFlight as u32 | cgroup_tag(),
        nr,
        tgid,
        tid,
        start_ns: unsafe { bpf_ktime_get_ns() },
        duration_ns: 0,
        ret,
        arg0: read_arg0(regs),
        blocked_ns: 0,
        runq_ns: 0,
    });
}

/// The syscall used socket `sk` through `fd`, its first argument: tells the reader which (fd,
/// socket) pair, before the call's own event or count, when the reader needs to hear it:
/// - for a call sent as an event, when the pair changed for this thread or any traced thread
///   freed an fd since (the fd may now be a new socket at a reused address);
/// - for a call counted here (`with_row`) on a TCP connection, when the call took the
///   connection's counting row, or the connection's user is a process the reader was not told
///   of (its connection table names the process that uses it last: a forked worker, not the
///   acceptor), and not again at every close of another fd;
/// - when `accept` (its syscall number and wait; 0 for none) is an accept counted here that made
///   the fd.
///
/// `None` when the record could not be sent (the ring buffer full: it is sent again next time).
#[inline(always)]
fn announce_socket(slot: *mut InFlight, tgid: u32, tid: u32, fd: i32, sk: u64, start_ns: u64, with_row: bool, accept: (u32, u64)) -> Option<SocketUse> {
    let generation = fd_generation();
    let (last_sk, last_fd, last_generation, last_tcp) = unsafe { ((*slot).last_sk, (*slot).last_fd, (*slot).last_generation, (*slot).last_tcp) };
    let same_pair = sk == last_sk && fd == last_fd && generation == last_generation;
    // A pair counted without a record is untold still for a call sent as an event.
    let told_thread = same_pair && (with_row || last_tcp != LAST_UNTOLD);
    // A call counted here on a socket that is no TCP connection's (a Unix or UDP socket, which
    // never has an entry): the reader has nothing to learn of it. Remembered, so that the
    // protocol is read once per (thread, fd, socket) and fd generation, as a record is sent.
    if with_row && !same_pair && accept.0 == 0 && known_not_tcp(sk) {
        unsafe {
            (*slot).last_sk = sk;
            (*slot).last_fd = fd;
            (*slot).last_generation = generation;
            (*slot).last_tcp = LAST_UNTOLD;
        }
        return Some(SocketUse { tcp: false, row: CONN_NO_ROW });
    }
    // A null pointer, not an `Option`: LLVM kept a `None`'s undefined payload in a register
    // across a helper call, which the verifier refuses to read.
    let entry = match told_thread && !with_row {
        true => core::ptr::null_mut(),
        false => SOCKETS.get_ptr_mut(&sk).unwrap_or(core::ptr::null_mut()),
    };
    let tcp = match entry.is_null() {
        true => told_thread && last_tcp == 1,
        false => (unsafe { (*entry).tuple.family }) != 0,
    };
    let counted_tcp = with_row && tcp && !entry.is_null();
    let told = match counted_tcp {
        true => (unsafe { (*entry).user_tgid }) == tgid,
        false => told_thread,
    };
    let (row, taken) = if counted_tcp { connection_row(entry) } else { (CONN_NO_ROW, false) };
    if told && !taken && accept.0 == 0 {
        return Some(SocketUse { tcp, row });
    }
    // Written in place, its addresses copied from the map: on the stack, the record and a copy
    // of the tuple took 100 bytes of a frame that older verifiers limit (see `write_event`).
    let tuple = (!entry.is_null()).then(|| unsafe { &raw const (*entry).tuple });
    let written = emit_sock_event(EventKind::Socket, fd, tgid, tid, sk, start_ns, tuple, if taken { row } else { CONN_NO_ROW }, accept);
    if !written {
        if taken {
            give_back_row(sk, row);
        }
        return None;
    }
    if tcp && !entry.is_null() {
        note_connection_user(entry, tgid);
    }
    unsafe {
        (*slot).last_sk = sk;
        (*slot).last_fd = fd;
        (*slot).last_generation = generation;
        (*slot).last_tcp = u32::from(tcp);
    }
    Some(SocketUse { tcp, row })
}

/// `InFlight::last_tcp` of a pair counted without a record (a socket no TCP connection's).
const LAST_UNTOLD: u32 = 2;

/// What [`announce_socket`] found of a socket: whether it is a TCP connection's, and the
/// connection's counting row (`CONN_NO_ROW`: none).
struct SocketUse {
    tcp: bool,
    row: u32,
}

#[inline(always)]
pub fn read_arg0(regs: *const u8) -> u64 {
    read_arg(regs, 0)
}

/// A syscall of process `tgid` that can free fd numbers did (a close frees its fd even when it
/// fails with EINTR or EIO, unless there was none: EBADF): fd/socket pairs sent before may be
/// stale now, and what is known of the fd (named in `regs`' arguments, or of every fd).
#[inline(always)]
fn note_freed_fds(flags: u32, ret: i64, tgid: u32, regs: *const u8) {
    const EBADF: i64 = 9;
    if flags & SYSCALL_FREES_FDS == 0 || ret == -EBADF {
        return;
    }
    let named = flags & (SYSCALL_FREES_FD_ARG0 | SYSCALL_FREES_FD_ARG1);
    bump_fd_generation(named == 0);
    if named != 0 {
        forget_fd(tgid, read_arg(regs, if named == SYSCALL_FREES_FD_ARG0 { 0 } else { 1 }) as i32);
    }
}
