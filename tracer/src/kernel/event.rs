//! Decoding of ring-buffer records: the one place that knows their layout.
use tracer_common::{
    connections::CONN_NO_ROW,
    events::{Event, EventKind, KIND_CGROUP_SHIFT, KIND_FD_SHIFT, KIND_MASK},
    net::{SockEvent, SockTuple},
    process::ProcessEvent,
    slow::{SlowEvent, SlowStackEvent, SLOW_COPY_NONE, SLOW_COPY_PATH},
};

/// What one ring-buffer record says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Syscall(SyscallRecord),
    /// A call over the `--slow` threshold, whole: it is also a [`Record::Syscall`] for the tables.
    Slow(Box<SlowRecord>),
    /// A traced process created a new process, which the kernel now traces too.
    Fork { parent_tgid: u32, child_pid: u32 },
    /// A traced thread got a CPU back after an off-CPU period.
    Sched(SchedRecord),
    /// A traced thread's syscall on `fd` used socket `sk` (sent when the pair changes).
    Socket(SocketRecord),
    /// A traced thread's TCP connect completed.
    Connect(SocketRecord),
    /// A traced process ended (`--by`).
    ProcessExit { tgid: u32, cgroup_id: u64, comm: String },
    /// A traced thread's switches are counted in the kernel, in `row`, from now on.
    ThreadRow(ThreadRowRecord),
    /// The thread of `row` ended: the row holds its last figures.
    ThreadGone(ThreadRowRecord),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadRowRecord {
    pub row: u32,
    pub tgid: u32,
    pub tid: u32,
    /// The thread's name as the kernel keeps it.
    pub comm: [u8; 16],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketRecord {
    pub tgid: u32,
    pub tid: u32,
    pub fd: i32,
    pub sk: u64,
    /// Connect: SYN sent until established. Socket: entry time of the syscall that used it.
    pub latency_ns: u64,
    pub tuple: SockTuple,
    /// Socket: the kernel's counting row the call took for its TCP connection.
    pub row: Option<u32>,
    /// Socket: the accept that made the fd, counted in the kernel (its syscall number), and
    /// how long it waited.
    pub accept: Option<(u32, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedRecord {
    pub tgid: u32,
    pub tid: u32,
    /// Switched out until running again.
    pub off_cpu_ns: u64,
    /// Of that: runnable until running (run-queue latency).
    pub runq_ns: u64,
    /// The thread's name (`comm`) as it ran again, NUL-padded.
    pub comm: [u8; 16],
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallRecord {
    pub nr: u32,
    pub tgid: u32,
    pub tid: u32,
    /// Entry time; for a call in flight at attach, when it returned.
    pub start_ns: u64,
    /// `None` when the latency is unknown: a call that never returns (`exit_group`), or one
    /// that was already in progress when tracing began.
    pub duration_ns: Option<u64>,
    /// The call returned (`ret` is its result): false only for `exit` and `exit_group`.
    pub returned: bool,
    pub ret: i64,
    pub arg0: u64,
    /// Of the duration: switched out and not runnable.
    pub blocked_ns: u64,
    /// Of the duration: runnable, waiting for a CPU.
    pub runq_ns: u64,
    /// A read or write: what its fd was at the call (`FD_KIND_*`), when the kernel said.
    pub fd_kind: Option<u32>,
}

impl SyscallRecord {
    /// The errno of a failed call: the kernel returns -4095..=-1 for errors. This includes the
    /// kernel's own ERESTARTSYS and kin (512..=516), as strace counts them: a signal interrupted
    /// the call, which the kernel then restarts (a call of its own) or fails with EINTR.
    pub fn errno(&self) -> Option<i32> {
        (self.returned && (-4095..0).contains(&self.ret)).then(|| -self.ret as i32)
    }
}

/// A call over the `--slow` threshold, with what the kernel read of it at its exit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlowRecord {
    pub call: SyscallRecord,
    pub args: [u64; 6],
    /// The thread's name at the call's exit.
    pub comm: String,
    pub user: UserCopy,
    /// Innermost frame first; `None` when not asked for.
    pub user_stack: Option<StackRead>,
    pub kernel_stack: Option<StackRead>,
    /// The Go goroutine that made the call, where the kernel could tell.
    pub goroutine: Option<u64>,
}

/// The user memory a slow call's argument pointed at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserCopy {
    None,
    /// A path, without its NUL.
    Path(Vec<u8>),
    Sockaddr(Vec<u8>),
    /// The kernel could not read it (an errno).
    Failed(i32),
}

/// What `bpf_get_stack` gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StackRead {
    Frames(Vec<u64>),
    /// It failed with this errno.
    Failed(i32),
}

impl StackRead {
    fn from_kernel(bytes: i64, frames: &[u64]) -> Self {
        match usize::try_from(bytes) {
            Ok(bytes) => Self::Frames(frames[..(bytes / 8).min(frames.len())].to_vec()),
            // A negative errno; any other negative value (a record of another version) is kept
            // as something no errno is, without overflowing.
            Err(_) => Self::Failed(i32::try_from(bytes.unsigned_abs()).unwrap_or(i32::MAX)),
        }
    }
}

fn decode_slow(slow: &SlowEvent) -> SlowRecord {
    let call = SyscallRecord {
        nr: slow.call.nr,
        tgid: slow.call.tgid,
        tid: slow.call.tid,
        start_ns: slow.call.start_ns,
        duration_ns: Some(slow.call.duration_ns),
        returned: true,
        ret: slow.call.ret,
        arg0: slow.call.arg0,
        blocked_ns: slow.call.blocked_ns,
        runq_ns: slow.call.runq_ns,
        fd_kind: fd_kind_tag(slow.call.kind),
    };
    let user = match (slow.user_kind, slow.user_len) {
        (SLOW_COPY_NONE, _) => UserCopy::None,
        (_, len) if len < 0 => UserCopy::Failed(len.checked_neg().unwrap_or(i32::MAX)),
        (SLOW_COPY_PATH, len) => {
            let bytes = &slow.user[..(len as usize).min(slow.user.len())];
            UserCopy::Path(bytes.strip_suffix(&[0]).unwrap_or(bytes).to_vec())
        }
        (_, len) => UserCopy::Sockaddr(slow.user[..(len as usize).min(slow.user.len())].to_vec()),
    };
    SlowRecord {
        call,
        args: slow.args,
        comm: comm_string(&slow.comm),
        user,
        user_stack: None,
        kernel_stack: None,
        goroutine: (slow.goid != 0).then_some(slow.goid),
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("ring-buffer record of {0} bytes does not match its kind")]
    Size(usize),
    #[error("unknown record kind {0}")]
    Kind(u32),
}

/// Reads a record of type `T` from exactly `size_of::<T>()` bytes.
fn read_exact<T: Copy>(bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() != size_of::<T>() {
        return Err(DecodeError::Size(bytes.len()));
    }
    // SAFETY: length checked; the shared types are plain old data valid for any bit pattern.
    Ok(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) })
}

/// A task's name as the kernel keeps it: NUL-terminated unless it fills all 16 bytes.
pub fn comm_string(comm: &[u8; 16]) -> String {
    let len = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
    String::from_utf8_lossy(&comm[..len]).into_owned()
}

fn raw_kind(bytes: &[u8]) -> Option<u32> {
    bytes.get(..4).map(|k| u32::from_ne_bytes(k.try_into().unwrap()))
}

/// With several `--cgroup` targets: which one (counted from 1) a syscall record's task was in;
/// 0 for other records and for processes traced by pid.
pub fn cgroup_tag(bytes: &[u8]) -> u32 {
    raw_kind(bytes).map_or(0, |kind| kind >> KIND_CGROUP_SHIFT)
}

pub fn decode(bytes: &[u8]) -> Result<Record, DecodeError> {
    let raw = raw_kind(bytes).ok_or(DecodeError::Size(bytes.len()))? & KIND_MASK;
    let kind = EventKind::try_from(raw).map_err(DecodeError::Kind)?;
    match kind {
        EventKind::Socket | EventKind::Connect => {
            let sock: SockEvent = read_exact(bytes)?;
            let row = (sock.row != CONN_NO_ROW).then_some(sock.row);
            let accept = (sock.accept_nr != 0).then_some((sock.accept_nr, sock.accept_ns));
            let record = SocketRecord { tgid: sock.tgid, tid: sock.tid, fd: sock.fd, sk: sock.sk, latency_ns: sock.latency_ns, tuple: sock.tuple, row, accept };
            Ok(if kind == EventKind::Socket { Record::Socket(record) } else { Record::Connect(record) })
        }
        EventKind::ProcessExit => {
            let process: ProcessEvent = read_exact(bytes)?;
            let comm = comm_string(&process.comm);
            Ok(Record::ProcessExit { tgid: process.tgid, cgroup_id: process.cgroup_id, comm })
        }
        EventKind::Slow => {
            let slow: SlowEvent = read_exact(bytes)?;
            Ok(Record::Slow(Box::new(decode_slow(&slow))))
        }
        EventKind::SlowStacks => {
            let record: SlowStackEvent = read_exact(bytes)?;
            let mut slow = decode_slow(&record.slow);
            // Asked-for stacks only: a part not asked for reads as 0 bytes.
            slow.user_stack = Some(StackRead::from_kernel(record.user_stack_bytes, &record.user_stack));
            slow.kernel_stack = Some(StackRead::from_kernel(record.kernel_stack_bytes, &record.kernel_stack));
            Ok(Record::Slow(Box::new(slow)))
        }
        EventKind::Syscall | EventKind::SyscallNoReturn | EventKind::SyscallInFlight => Ok(syscall_record(kind, &read_exact(bytes)?)),
        EventKind::Fork => {
            let event: Event = read_exact(bytes)?;
            Ok(Record::Fork { parent_tgid: event.tgid, child_pid: event.ret as u32 })
        }
        EventKind::Sched => {
            let event: Event = read_exact(bytes)?;
            Ok(Record::Sched(SchedRecord { tgid: event.tgid, tid: event.tid, off_cpu_ns: event.duration_ns, runq_ns: event.runq_ns, comm: carried_comm(&event) }))
        }
        EventKind::ThreadRow | EventKind::ThreadGone => {
            let event: Event = read_exact(bytes)?;
            let thread = ThreadRowRecord { row: event.nr, tgid: event.tgid, tid: event.tid, comm: carried_comm(&event) };
            Ok(if kind == EventKind::ThreadRow { Record::ThreadRow(thread) } else { Record::ThreadGone(thread) })
        }
    }
}

/// A thread's name, carried in the fields a syscall's record uses for its result and first
/// argument.
fn carried_comm(event: &Event) -> [u8; 16] {
    let mut comm = [0; 16];
    comm[..8].copy_from_slice(&event.ret.to_ne_bytes());
    comm[8..].copy_from_slice(&event.arg0.to_ne_bytes());
    comm
}

/// A syscall's record: its latency is unknown for a call that never returns and for one in
/// flight at attach.
fn syscall_record(kind: EventKind, event: &Event) -> Record {
    let (duration_ns, returned) = match kind {
        EventKind::SyscallNoReturn => (None, false),
        EventKind::SyscallInFlight => (None, true),
        _ => (Some(event.duration_ns), true),
    };
    Record::Syscall(SyscallRecord {
        nr: event.nr,
        tgid: event.tgid,
        tid: event.tid,
        start_ns: event.start_ns,
        duration_ns,
        returned,
        ret: event.ret,
        arg0: event.arg0,
        blocked_ns: event.blocked_ns,
        runq_ns: event.runq_ns,
        fd_kind: fd_kind_tag(event.kind),
    })
}

/// The fd kind a record's `kind` word carries (see `KIND_FD_SHIFT`).
fn fd_kind_tag(kind: u32) -> Option<u32> {
    let tag = (kind >> KIND_FD_SHIFT) & ((1 << (KIND_CGROUP_SHIFT - KIND_FD_SHIFT)) - 1);
    tag.checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes<T>(event: &T) -> Vec<u8> {
        unsafe { std::slice::from_raw_parts((event as *const T).cast::<u8>(), size_of::<T>()) }.to_vec()
    }

    #[test]
    fn decodes_each_kind() {
        let ev = Event { kind: EventKind::Syscall as u32, nr: 0, tgid: 10, tid: 11, start_ns: 5, duration_ns: 7, ret: -2, arg0: 3, blocked_ns: 4, runq_ns: 1 };
        let Record::Syscall(rec) = decode(&bytes(&ev)).unwrap() else { panic!() };
        assert_eq!((rec.duration_ns, rec.errno(), rec.arg0, rec.blocked_ns, rec.runq_ns, rec.fd_kind), (Some(7), Some(2), 3, 4, 1, None));
        // A read's fd kind (a pipe, plus one) between the kind and a cgroup tag.
        let tagged = Event { kind: EventKind::Syscall as u32 | (2 << KIND_FD_SHIFT) | (3 << KIND_CGROUP_SHIFT), ..ev };
        let Record::Syscall(rec) = decode(&bytes(&tagged)).unwrap() else { panic!() };
        assert_eq!((rec.fd_kind, cgroup_tag(&bytes(&tagged))), (Some(tracer_common::fd_kinds::FD_KIND_PIPE), 3));

        let ev = Event { kind: EventKind::SyscallNoReturn as u32, ret: -2, ..ev };
        let Record::Syscall(rec) = decode(&bytes(&ev)).unwrap() else { panic!() };
        assert_eq!((rec.duration_ns, rec.errno()), (None, None));

        let ev = Event { kind: EventKind::SyscallInFlight as u32, ret: -4, ..ev };
        let Record::Syscall(rec) = decode(&bytes(&ev)).unwrap() else { panic!() };
        assert_eq!((rec.duration_ns, rec.returned, rec.errno()), (None, true, Some(4)));

        let ev = Event { kind: EventKind::Fork as u32, ret: 99, ..ev };
        assert_eq!(decode(&bytes(&ev)).unwrap(), Record::Fork { parent_tgid: 10, child_pid: 99 });

        // The thread's name in the result and first-argument words.
        let (ret, arg0) = (i64::from_ne_bytes(*b"postgres"), u64::from_ne_bytes(*b": walw\0\0"));
        let ev = Event { kind: EventKind::Sched as u32, duration_ns: 50, runq_ns: 20, ret, arg0, ..ev };
        let Record::Sched(rec) = decode(&bytes(&ev)).unwrap() else { panic!() };
        assert_eq!((rec.tgid, rec.tid, rec.off_cpu_ns, rec.runq_ns), (10, 11, 50, 20));
        assert_eq!(comm_string(&rec.comm), "postgres: walw");
    }

    #[test]
    fn decodes_socket_records() {
        let tuple = SockTuple { family: 2, sport: 5000, dport: 80, ..Default::default() };
        let sock = SockEvent { kind: EventKind::Connect as u32, fd: -1, tgid: 3, tid: 4, sk: 0xffff, latency_ns: 99, tuple, row: CONN_NO_ROW, accept_nr: 0, accept_ns: 0 };
        let Record::Connect(rec) = decode(&bytes(&sock)).unwrap() else { panic!() };
        assert_eq!((rec.tgid, rec.sk, rec.latency_ns, rec.tuple.dport), (3, 0xffff, 99, 80));
        let sock = SockEvent { kind: EventKind::Socket as u32, fd: 7, ..sock };
        assert!(matches!(decode(&bytes(&sock)).unwrap(), Record::Socket(SocketRecord { fd: 7, row: None, .. })));
        let sock = SockEvent { row: 12, ..sock };
        assert!(matches!(decode(&bytes(&sock)).unwrap(), Record::Socket(SocketRecord { row: Some(12), accept: None, .. })));
        let sock = SockEvent { accept_nr: 288, accept_ns: 5000, ..sock };
        assert!(matches!(decode(&bytes(&sock)).unwrap(), Record::Socket(SocketRecord { accept: Some((288, 5000)), .. })));
        assert_eq!(decode(&bytes(&sock)[..64]), Err(DecodeError::Size(64)));
    }

    /// Fuzz target: any record, of this version of the kernel programs or another, decodes to
    /// a record or an error.
    #[test]
    fn fuzz_decode() {
        crate::fuzz::fuzz("decode", |record| {
            let _ = (decode(record), cgroup_tag(record));
        });
    }

    /// Writes the decoder's seeds: a record of each kind, as the kernel programs fill them.
    /// `cargo test -p tracer --lib write_decode_seeds -- --ignored`
    #[test]
    #[ignore]
    fn write_decode_seeds() {
        use tracer_common::slow::SLOW_COPY_SOCKADDR;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/decode");
        let write = |name: &str, record: Vec<u8>| std::fs::write(dir.join(name), record).unwrap();
        let call = Event { kind: EventKind::Syscall as u32, nr: 0, tgid: 10, tid: 11, start_ns: 5, duration_ns: 7_000, ret: -2, arg0: 3, blocked_ns: 4, runq_ns: 1 };
        write("syscall", bytes(&call));
        write("syscall-no-return", bytes(&Event { kind: EventKind::SyscallNoReturn as u32, nr: 231, ..call }));
        write("syscall-in-flight", bytes(&Event { kind: EventKind::SyscallInFlight as u32 | (2 << KIND_CGROUP_SHIFT), ..call }));
        write("fork", bytes(&Event { kind: EventKind::Fork as u32, ret: 99, ..call }));
        let (ret, arg0) = (i64::from_ne_bytes(*b"postgres"), u64::from_ne_bytes(*b": walw\0\0"));
        write("sched", bytes(&Event { kind: EventKind::Sched as u32, ret, arg0, ..call }));
        let tuple = SockTuple { family: 2, sport: 5000, dport: 80, ..Default::default() };
        let sock = SockEvent { kind: EventKind::Connect as u32, fd: 4, tgid: 3, tid: 4, sk: 0xffff, latency_ns: 99, tuple, row: CONN_NO_ROW, accept_nr: 0, accept_ns: 0 };
        write("connect", bytes(&sock));
        write("socket", bytes(&SockEvent { kind: EventKind::Socket as u32, ..sock }));
        let mut comm = [0; 16];
        comm[..5].copy_from_slice(b"nginx");
        write("process-exit", bytes(&ProcessEvent { kind: EventKind::ProcessExit as u32, tgid: 3, cgroup_id: 77, comm }));
        // SAFETY: plain old data, any bit pattern valid.
        let mut slow: SlowEvent = unsafe { std::mem::zeroed() };
        slow.call = Event { kind: EventKind::Slow as u32, ..call };
        slow.args = [1, 2, 3, 4, 5, 6];
        slow.comm = comm;
        slow.user_kind = SLOW_COPY_PATH;
        slow.user_len = 12;
        slow.user[..12].copy_from_slice(b"/etc/passwd\0");
        write("slow-path", bytes(&slow));
        let mut sockaddr = slow;
        sockaddr.user_kind = SLOW_COPY_SOCKADDR;
        sockaddr.user_len = 16;
        sockaddr.user[..4].copy_from_slice(&[2, 0, 0, 80]);
        write("slow-sockaddr", bytes(&sockaddr));
        write("slow-copy-failed", bytes(&SlowEvent { user_len: -14, ..slow }));
        // SAFETY: as above.
        let mut stacks: SlowStackEvent = unsafe { std::mem::zeroed() };
        stacks.slow = SlowEvent { call: Event { kind: EventKind::SlowStacks as u32, ..call }, ..slow };
        stacks.user_stack_bytes = 24;
        stacks.user_stack[..3].copy_from_slice(&[0x401000, 0x401234, 0x7f00_0000_1000]);
        stacks.kernel_stack_bytes = -14;
        write("slow-stacks", bytes(&stacks));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(decode(&[0; 3]), Err(DecodeError::Size(3)));
        let ev = Event { kind: 77, ..Default::default() };
        assert_eq!(decode(&bytes(&ev)), Err(DecodeError::Kind(77)));
        // Found by fuzzing: a negative length or stack size that is no errno (i32::MIN, i64::MIN)
        // overflowed its negation.
        let corpus = crate::fuzz::corpus("decode");
        let seed = |name: &str| corpus.iter().find(|(n, _)| n == name).unwrap().1.clone();
        let Ok(Record::Slow(slow)) = decode(&seed("regress-slow-user-len-i32-min")) else { panic!() };
        assert_eq!(slow.user, UserCopy::Failed(i32::MAX));
        let Ok(Record::Slow(slow)) = decode(&seed("regress-slow-stack-bytes-i64-min")) else { panic!() };
        assert_eq!(slow.user_stack, Some(StackRead::Failed(i32::MAX)));
    }
}
