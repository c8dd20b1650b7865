//! TCP: which socket a traced thread's syscall used, its addresses, and how long a connect took.
//!
//! `sock:inet_sock_set_state` records the addresses of every TCP socket that connects or is
//! accepted (accepted sockets become established in softirq context, where the owner is not
//! known yet), and times the connects of traced threads: SYN sent, in the connecting thread,
//! until established; it is a classic tracepoint, whose record carries the addresses (field
//! offsets from tracefs), so no kernel struct is read. `sock:sock_send_length` and
//! `sock:sock_recv_length` fire inside a traced thread's syscall and tell `sys_exit` which
//! socket it used.
use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    macros::{btf_tracepoint, tracepoint},
    programs::{BtfTracePointContext, TracePointContext},
    Global,
};
use tracer_common::{ConnectStart, SockEvent, SockTuple, EVENT_CONNECT};

use super::read_field;
use crate::maps::{count_lost, emit, is_traced, slot, CONNECTING, SOCKETS};

const IPPROTO_TCP: u16 = 6;
const TCP_ESTABLISHED: i32 = 1;
const TCP_SYN_SENT: i32 = 2;
const TCP_CLOSE: i32 = 7;

#[unsafe(no_mangle)]
static STATE_SKADDR_OFFSET: Global<u32> = Global::new(8);
#[unsafe(no_mangle)]
static STATE_NEWSTATE_OFFSET: Global<u32> = Global::new(20);
#[unsafe(no_mangle)]
static STATE_SPORT_OFFSET: Global<u32> = Global::new(24);
#[unsafe(no_mangle)]
static STATE_DPORT_OFFSET: Global<u32> = Global::new(26);
#[unsafe(no_mangle)]
static STATE_FAMILY_OFFSET: Global<u32> = Global::new(28);
#[unsafe(no_mangle)]
static STATE_PROTOCOL_OFFSET: Global<u32> = Global::new(30);
#[unsafe(no_mangle)]
static STATE_SADDR_OFFSET: Global<u32> = Global::new(32);
#[unsafe(no_mangle)]
static STATE_DADDR_OFFSET: Global<u32> = Global::new(36);
#[unsafe(no_mangle)]
static STATE_SADDR_V6_OFFSET: Global<u32> = Global::new(40);
#[unsafe(no_mangle)]
static STATE_DADDR_V6_OFFSET: Global<u32> = Global::new(56);

const AF_INET6: u16 = 10;


fn read_tuple(ctx: &TracePointContext) -> SockTuple {
    let family = read_field::<u16>(ctx, &STATE_FAMILY_OFFSET).unwrap_or(0);
    let mut tuple = SockTuple {
        family,
        sport: read_field::<u16>(ctx, &STATE_SPORT_OFFSET).unwrap_or(0),
        dport: read_field::<u16>(ctx, &STATE_DPORT_OFFSET).unwrap_or(0),
        ..SockTuple::default()
    };
    if family == AF_INET6 {
        tuple.saddr = read_field::<[u8; 16]>(ctx, &STATE_SADDR_V6_OFFSET).unwrap_or([0; 16]);
        tuple.daddr = read_field::<[u8; 16]>(ctx, &STATE_DADDR_V6_OFFSET).unwrap_or([0; 16]);
    } else {
        let saddr = read_field::<[u8; 4]>(ctx, &STATE_SADDR_OFFSET).unwrap_or([0; 4]);
        let daddr = read_field::<[u8; 4]>(ctx, &STATE_DADDR_OFFSET).unwrap_or([0; 4]);
        tuple.saddr[..4].copy_from_slice(&saddr);
        tuple.daddr[..4].copy_from_slice(&daddr);
    }
    tuple
}

#[tracepoint(category = "sock", name = "inet_sock_set_state")]
pub fn inet_sock_set_state(ctx: TracePointContext) -> u32 {
    if read_field::<u16>(&ctx, &STATE_PROTOCOL_OFFSET) != Some(IPPROTO_TCP) {
        return 0;
    }
    let (Some(sk), Some(state)) = (read_field::<u64>(&ctx, &STATE_SKADDR_OFFSET), read_field::<i32>(&ctx, &STATE_NEWSTATE_OFFSET)) else {
        return 0;
    };
    match state {
        TCP_SYN_SENT => {
            // In the connecting thread: time it if it is traced, and tell its connect() the socket.
            let pid_tgid = bpf_get_current_pid_tgid();
            let tgid = (pid_tgid >> 32) as u32;
            if is_traced(tgid) {
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
            }
            let _ = SOCKETS.insert(&sk, &read_tuple(&ctx), 0);
        }
        TCP_ESTABLISHED => {
            let tuple = read_tuple(&ctx);
            let _ = SOCKETS.insert(&sk, &tuple, 0);
            if let Some(start) = unsafe { CONNECTING.get(&sk) }.copied() {
                let _ = CONNECTING.remove(&sk);
                let latency_ns = unsafe { bpf_ktime_get_ns() }.saturating_sub(start.start_ns);
                emit(SockEvent { kind: EVENT_CONNECT, fd: -1, tgid: start.tgid, tid: start.tid, sk, latency_ns, tuple });
            }
        }
        TCP_CLOSE => {
            let _ = CONNECTING.remove(&sk);
        }
        _ => {}
    }
    0
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
