//! TCP: which socket a traced thread's syscall used, its addresses, and how long a connect took.
//!
//! `inet_sock_set_state` records the addresses of every TCP socket a traced thread connects or
//! that is accepted while the reader follows connections one by one (accepted sockets become
//! established in softirq context, where the owner is not known yet), and times the connects
//! of traced threads: SYN sent, in the connecting thread, until established (a record each, or
//! once the reader follows no more connections, a count in the connect's I/O slot). It is a
//! BTF tracepoint, reading the socket's addresses at offsets the loader took from the kernel's
//! BTF: the classic tracepoint's record would carry them, but its perf event takes the kernel
//! an RCU grace period (~80 ms) to release at exit.
//! `sock_send_length` and `sock_recv_length` fire inside a traced thread's syscall and tell
//! `sys_exit` which socket it used.
use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns, bpf_probe_read_kernel},
    macros::btf_tracepoint,
    programs::BtfTracePointContext,
    Global,
};
use tracer_common::{
    connections::{CONN_NO_ROW, CONN_UNCOUNTED},
    events::{EventKind, CONNECTIONS_SEEN},
    fd_kinds::FD_KIND_SOCKET,
    net::{ConnectStart, SockEntry, SockTuple},
};

use crate::maps::{connections_on, count_io, count_lost, emit_sock_event, following_connections, is_traced, note_connection_user, slot, tally, CONNECTING, SOCKETS};

const IPPROTO_TCP: u16 = 6;
const TCP_ESTABLISHED: i32 = 1;
const TCP_SYN_SENT: i32 = 2;
const TCP_CLOSE: i32 = 7;

/// Offsets in `struct sock`, from the kernel's BTF.
#[unsafe(no_mangle)]
static SK_PROTOCOL_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static SK_FAMILY_OFFSET: Global<u32> = Global::new(0);
/// The local port, host order.
#[unsafe(no_mangle)]
static SK_NUM_OFFSET: Global<u32> = Global::new(0);
/// The peer's port, network order.
#[unsafe(no_mangle)]
static SK_DPORT_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static SK_RCV_SADDR_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static SK_DADDR_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static SK_V6_RCV_SADDR_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static SK_V6_DADDR_OFFSET: Global<u32> = Global::new(0);

const AF_INET6: u16 = 10;

/// The `connect` syscall's I/O slot in the syscalls' flags (0: none), where a connect's
/// SYN-to-established time is counted once the reader follows no more connections.
#[unsafe(no_mangle)]
static CONNECT_IO_FLAGS: Global<u32> = Global::new(0);

/// A field of the socket at `sk`.
#[inline(always)]
fn read_sk<T>(sk: *const u8, offset: &Global<u32>) -> Option<T> {
    unsafe { bpf_probe_read_kernel(sk.add(offset.load() as usize).cast::<T>()) }.ok()
}

fn read_tuple(sk: *const u8) -> SockTuple {
    let family = read_sk::<u16>(sk, &SK_FAMILY_OFFSET).unwrap_or(0);
    let mut tuple = SockTuple {
        family,
        sport: read_sk::<u16>(sk, &SK_NUM_OFFSET).unwrap_or(0),
        dport: u16::from_be(read_sk::<u16>(sk, &SK_DPORT_OFFSET).unwrap_or(0)),
        ..SockTuple::default()
    };
    if family == AF_INET6 {
        tuple.saddr = read_sk::<[u8; 16]>(sk, &SK_V6_RCV_SADDR_OFFSET).unwrap_or([0; 16]);
        tuple.daddr = read_sk::<[u8; 16]>(sk, &SK_V6_DADDR_OFFSET).unwrap_or([0; 16]);
    } else {
        let saddr = read_sk::<[u8; 4]>(sk, &SK_RCV_SADDR_OFFSET).unwrap_or([0; 4]);
        let daddr = read_sk::<[u8; 4]>(sk, &SK_DADDR_OFFSET).unwrap_or([0; 4]);
        tuple.saddr[..4].copy_from_slice(&saddr);
        tuple.daddr[..4].copy_from_slice(&daddr);
    }
    tuple
}

/// The addresses of a socket that begins a connection (connecting, or established), with a
/// generation that tells it from an earlier connection at the same socket address and
/// 4-tuple: the clock's bits, never 0 (0 is "unknown").
#[inline(always)]
fn new_connection(sk: *const u8) -> SockTuple {
    SockTuple { generation: (unsafe { bpf_ktime_get_ns() } >> 4) as u16 | 1, ..read_tuple(sk) }
}

// inet_sock_set_state(const struct sock *sk, const int oldstate, const int newstate)
#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn inet_sock_set_state(ctx: BtfTracePointContext) -> i32 {
    // Every TCP socket of the machine passes here about ten times a connection, a traced
    // server's peers too: the transitions that matter are picked from the arguments alone, and
    // an untraced connection costs a lookup at most.
    let state: i32 = ctx.arg(2);
    if !matches!(state, TCP_SYN_SENT | TCP_ESTABLISHED | TCP_CLOSE) {
        return 0;
    }
    let sk_ptr: *const u8 = ctx.arg(0);
    let sk = sk_ptr as u64;
    let old_state: i32 = ctx.arg(1);
    match state {
        TCP_SYN_SENT => {
            // In the connecting thread: time it if it is traced, and tell its connect() the
            // socket. An untraced thread's connection is never looked up.
            let pid_tgid = bpf_get_current_pid_tgid();
            let tgid = (pid_tgid >> 32) as u32;
            if !is_traced(tgid) || !is_tcp(sk_ptr) {
                return 0;
            }
            let tid = pid_tgid as u32;
            let start = ConnectStart { start_ns: unsafe { bpf_ktime_get_ns() }, tgid, tid };
            if CONNECTING.insert(&sk, &start, 0).is_err() {
                count_lost(); // its connect time cannot be measured
            }
            if let Some(slot) = slot(tid) {
                unsafe {
                    if (*slot).tid == tid && (*slot).start_ns != 0 {
                        (*slot).sk = sk;
                    }
                }
            }
            if following_connections() || CONNECT_IO_FLAGS.load() == 0 {
                let entry = SockEntry { tuple: new_connection(sk_ptr), row: CONN_UNCOUNTED, user_tgid: 0 };
                let _ = SOCKETS.insert(&sk, &entry, 0);
            } else {
                forget_closed_socket(sk); // its connect will be counted, not sent: no entry
            }
        }
        TCP_ESTABLISHED => {
            // A connect completes: a traced thread's only (its SYN recorded it, TCP only), going
            // on with the connection its SYN began. Otherwise accepted: the owner is not known
            // yet.
            let connected = old_state == TCP_SYN_SENT;
            if connected && unsafe { CONNECTING.get(&sk) }.is_none() {
                return 0;
            }
            if connected && !following_connections() && CONNECT_IO_FLAGS.load() != 0 {
                connected_unfollowed(sk);
                return 0;
            }
            if !connected {
                if !is_tcp(sk_ptr) {
                    return 0;
                }
                if !following_connections() {
                    // The reader follows no more connections: an accepted one needs no entry
                    // (a traced accept counts it seen).
                    forget_closed_socket(sk);
                    return 0;
                }
            }
            let mut tuple = new_connection(sk_ptr);
            if connected {
                if let Some(at_syn) = unsafe { SOCKETS.get(&sk) } {
                    tuple.generation = at_syn.tuple.generation;
                }
            }
            // With no row until a traced thread's call takes one; replaces a closed socket's
            // entry at this address.
            let row = if connections_on() { CONN_NO_ROW } else { CONN_UNCOUNTED };
            let _ = SOCKETS.insert(&sk, &SockEntry { tuple, row, user_tgid: 0 }, 0);
            // Looked up again rather than kept across the inserts: a value kept on the stack
            // there is one 5.10's verifier sees read uninitialised on the other path.
            if !connected {
                return 0;
            }
            if let Some(start) = unsafe { CONNECTING.get(&sk) }.copied() {
                let _ = CONNECTING.remove(&sk);
                let latency_ns = unsafe { bpf_ktime_get_ns() }.saturating_sub(start.start_ns);
                let entry = SOCKETS.get_ptr_mut(&sk);
                if let Some(entry) = entry {
                    note_connection_user(entry, start.tgid);
                }
                let tuple = entry.map(|entry| unsafe { &raw const (*entry).tuple });
                emit_sock_event(EventKind::Connect, -1, start.tgid, start.tid, sk, latency_ns, tuple, CONN_NO_ROW, (0, 0));
            }
        }
        _ => {
            // Any protocol's socket: only TCP ones have entries to find.
            if old_state == TCP_SYN_SENT {
                let _ = CONNECTING.remove(&sk); // a connect that failed
            }
            // Its row holds what it did; the reader finds the entry marked (or a new socket's,
            // at a reused address), takes the rest and frees the row. Marked in place: no
            // delete, no insert.
            if let Some(entry) = SOCKETS.get_ptr_mut(&sk) {
                unsafe { (*entry).row = CONN_UNCOUNTED };
            }
        }
    }
    0
}

/// Once the reader follows no more connections, a traced thread's connect that completes: its
/// SYN-to-established time counts in the connect's I/O slot (written only here, so never by two
/// programs at once on a CPU), the connection as seen (by the entry its SYN made while the
/// reader still followed, if any), and nothing is sent.
#[inline(always)]
fn connected_unfollowed(sk: u64) {
    let Some(start) = unsafe { CONNECTING.get(&sk) }.copied() else { return };
    let _ = CONNECTING.remove(&sk);
    let latency_ns = unsafe { bpf_ktime_get_ns() }.saturating_sub(start.start_ns);
    count_io(CONNECT_IO_FLAGS.load(), FD_KIND_SOCKET, latency_ns, 0, 0, 0);
    seen_unfollowed(sk, start.tgid, true);
}

/// A new connection at address `sk` that gets no entry: the entry a closed socket left there
/// goes, or its row and user would pass for this connection's.
#[inline(always)]
fn forget_closed_socket(sk: u64) {
    if unsafe { SOCKETS.get(&sk) }.is_some() {
        let _ = SOCKETS.remove(&sk);
    }
}

#[inline(always)]
fn is_tcp(sk: *const u8) -> bool {
    read_sk::<u16>(sk, &SK_PROTOCOL_OFFSET) == Some(IPPROTO_TCP)
}

/// Socket `sk` is certainly no TCP one: its protocol was read, and is not TCP.
#[inline(always)]
pub fn known_not_tcp(sk: u64) -> bool {
    read_sk::<u16>(sk as *const u8, &SK_PROTOCOL_OFFSET).is_some_and(|protocol| protocol != IPPROTO_TCP)
}

/// Once the reader follows no more connections: a traced accept made TCP connection `sk` (or
/// another kind of socket), used by `tgid`.
#[inline(always)]
pub fn accepted_unfollowed(sk: u64, tgid: u32) {
    seen_unfollowed(sk, tgid, false);
}

/// Connection `sk` of `tgid`, once the reader follows no more: counted seen by its entry's first
/// user if it has an entry (made while the reader still followed), else here, if it is TCP
/// (`known_tcp`, or read from the socket). No entry is made from then on.
#[inline(always)]
fn seen_unfollowed(sk: u64, tgid: u32, known_tcp: bool) {
    match SOCKETS.get_ptr_mut(&sk) {
        Some(entry) => note_connection_user(entry, tgid),
        None if known_tcp || is_tcp(sk as *const u8) => tally(CONNECTIONS_SEEN),
        None => {}
    }
}

/// Inside a traced thread's syscall: note the socket it uses. BTF tracepoints, since these
/// fire on every socket syscall: `sock_send_length(struct sock *sk, int ret, int flags)`, and
/// only the pointer's value is used, as the socket's identity.
#[inline(always)]
fn socket_used(ctx: &BtfTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return 0;
    }
    let tid = pid_tgid as u32;
    let Some(slot) = slot(tid) else { return 0 };
    let sk: u64 = ctx.arg(0);
    unsafe {
        if (*slot).tid == tid && (*slot).start_ns != 0 {
            (*slot).sk = sk;
        }
    }
    0
}

#[btf_tracepoint(function = "sock_send_length")]
pub fn sock_send_length(ctx: BtfTracePointContext) -> i32 {
    socket_used(&ctx)
}

#[btf_tracepoint(function = "sock_recv_length")]
pub fn sock_recv_length(ctx: BtfTracePointContext) -> i32 {
    socket_used(&ctx)
}
