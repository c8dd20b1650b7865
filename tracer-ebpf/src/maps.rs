//! Maps and load-time constants shared by the programs. Sizes here are placeholders: the loader
//! sets the real ones (`map_max_entries`) from the machine's `pid_max` and the user's options.
use aya_ebpf::{
    bindings::{BPF_F_MMAPABLE, BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    macros::map,
    maps::{ring_buf::RingBufEntry, Array, HashMap, LruHashMap, PerCpuArray, Queue, RingBuf},
    Global,
};
use aya_ebpf::helpers::generated::bpf_get_current_ancestor_cgroup_id;
use tracer_common::{
    connections::{conn_bucket, CONN_BUCKETS, CONN_NO_ROW, CONN_UNCOUNTED, CONN_ROW_WORDS, CONN_TOTAL_WORDS},
    events::{Event, EventKind, CONNECTIONS_SEEN, KIND_CGROUP_SHIFT, LOST_EVENTS, TALLY_SLOTS},
    kernel_counts::{hist_bucket, IoTotals, SyscallTotals, ERRNO_SLOTS, GROUP_ROWS, HIST_BUCKETS, IO_HIST_WORDS_PER_KIND, IO_KINDS, IO_SLOTS},
    net::{ConnectStart, SockEntry, SockEvent, SockTuple},
    slow::ExecArgs,
    syscalls::{io_slot, InFlight, FD_ANY_FREED, FD_SOME_FREED, MAX_SYSCALLS, SYSCALL_WORDS},
    targets::MAX_CGROUPS,
};

/// The per-thread slot of `tid`; the caller checks `tid` against the slot's owner.
#[inline(always)]
pub fn slot(tid: u32) -> Option<*mut InFlight> {
    IN_FLIGHT.get_ptr_mut(slot_index(tid))
}

/// The index of `tid`'s slot in `IN_FLIGHT` and in arrays sized like it.
#[inline(always)]
pub fn slot_index(tid: u32) -> u32 {
    tid & SLOT_MASK.load()
}

/// Bitmap of traced tgids, one bit per pid: an array lookup the verifier inlines, so processes
/// we do not trace pay a few instructions. Mappable, so that userspace sets and clears bits
/// with atomic read-modify-writes too (a get-then-set of a word would erase a child's bit set
/// here in between).
#[map]
pub static TRACED: Array<u64> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// Per-thread state, indexed by tid modulo its size (a power of two: `pid_max` rounded up, at
/// most 2^18, so the map stays small where `pid_max` is 4M). An array rather than a hash: no
/// locking, no allocation, lookup inlined by the verifier. Each slot records its owner's tid.
#[map]
static IN_FLIGHT: Array<InFlight> = Array::with_max_entries(1, 0);

/// Size of `IN_FLIGHT` minus one.
#[unsafe(no_mangle)]
static SLOT_MASK: Global<u32> = Global::new(0);

/// TCP sockets by kernel socket address, for every socket a traced thread connected or that
/// was accepted while the reader follows connections (the owner of an accepted socket is not
/// known when it is established): their
/// addresses and their connections' counting rows. LRU: old entries make room; an entry is
/// rewritten when its address is reused by a new socket.
#[map]
pub static SOCKETS: LruHashMap<u64, SockEntry> = LruHashMap::with_max_entries(65536, 0);

/// Connects of traced threads in progress, by socket address.
#[map]
pub static CONNECTING: HashMap<u64, ConnectStart> = HashMap::with_max_entries(16384, 0);

/// `SYSCALL_*` flags by syscall number, set by the loader.
#[map]
static SYSCALL_FLAGS: Array<u32> = Array::with_max_entries(MAX_SYSCALLS, 0);

#[inline(always)]
pub fn syscall_flags(nr: u32) -> u32 {
    SYSCALL_FLAGS.get(nr).copied().unwrap_or(0)
}

/// Bumped by every fd-freeing syscall of a traced thread (`FD_ANY_FREED`: see
/// `InFlight::last_generation`), and by those that free fds they do not name (`FD_SOME_FREED`:
/// see `FdSeen`).
#[map]
static FD_GENERATION: Array<u64> = Array::with_max_entries(2, 0);

#[inline(always)]
pub fn fd_generation() -> u64 {
    FD_GENERATION.get(FD_ANY_FREED).copied().unwrap_or(0)
}

/// `FD_GENERATION[FD_SOME_FREED]`.
#[inline(always)]
pub fn fds_unnamed_generation() -> u64 {
    FD_GENERATION.get(FD_SOME_FREED).copied().unwrap_or(0)
}

/// A traced thread freed an fd (`unnamed`: fds, which ones not known).
#[inline(always)]
pub fn bump_fd_generation(unnamed: bool) {
    if let Some(generation) = FD_GENERATION.get_ptr_mut(FD_ANY_FREED) {
        atomic_add(generation, 1);
    }
    if unnamed {
        forget_unnamed_fds();
    }
}

/// Fds of a traced process are gone that nobody named: a process began or ended under a pid
/// whose fds `FD_SEEN` may hold, or freed fds it does not say (exec, close_range).
#[inline(always)]
pub fn forget_unnamed_fds() {
    if let Some(generation) = FD_GENERATION.get_ptr_mut(FD_SOME_FREED) {
        atomic_add(generation, 1);
    }
}

/// Bitmap of syscall numbers selected with `-e` (only read when `FILTER_SYSCALLS` is set).
#[map]
pub static SELECTED: Array<u64> = Array::with_max_entries(SYSCALL_WORDS as u32, 0);

#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(1 << 22, 0);

/// Per CPU, by index (`LOST_*`, `CONNECTIONS_SEEN`): records that did not fit in the ring
/// buffer (never silent: userspace reports the sums), and what needs a count, not a record.
#[map]
pub static TALLIES: PerCpuArray<u64> = PerCpuArray::with_max_entries(TALLY_SLOTS, 0);

/// What a slow call's record copies from user memory, by syscall number (`SLOW_COPY_*`).
#[map]
pub static SLOW_USER_ARG: Array<u32> = Array::with_max_entries(MAX_SYSCALLS, 0);

/// With `--slow`: each process's latest execve arguments, taken at entry.
#[map]
pub static EXEC_ARGS: LruHashMap<u32, ExecArgs> = LruHashMap::with_max_entries(1024, 0);

/// Room to build an [`ExecArgs`] in (too large for the 512-byte stack).
#[map]
pub static EXEC_SCRATCH: PerCpuArray<ExecArgs> = PerCpuArray::with_max_entries(1, 0);

/// Native numbers of `execve` and `execveat`.
#[unsafe(no_mangle)]
static NR_EXECVE: Global<u32> = Global::new(59);
#[unsafe(no_mangle)]
static NR_EXECVEAT: Global<u32> = Global::new(322);

#[inline(always)]
pub fn is_exec(nr: u32) -> bool {
    nr == NR_EXECVE.load() || nr == NR_EXECVEAT.load()
}

#[inline(always)]
pub fn is_execveat(nr: u32) -> bool {
    nr == NR_EXECVEAT.load()
}

/// Non-zero with `--slow`: calls of at least `SLOW_NS` get a slow-call record.
#[unsafe(no_mangle)]
static SLOW_ON: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static SLOW_NS: Global<u64> = Global::new(0);
/// `STACKS_USER` | `STACKS_KERNEL`: the stacks a slow call's record carries.
#[unsafe(no_mangle)]
static SLOW_STACKS: Global<u32> = Global::new(0);
/// Offsets of the six syscall arguments in `struct pt_regs` (x86_64: di, si, dx, r10, r8, r9;
/// aarch64: regs[0..6]).
#[unsafe(no_mangle)]
static ARG_OFFSETS: Global<[u32; 6]> = Global::new([112, 104, 96, 56, 72, 64]);

/// The `--slow` threshold, if any.
#[inline(always)]
pub fn slow_threshold() -> Option<u64> {
    (SLOW_ON.load() != 0).then(|| SLOW_NS.load())
}

#[inline(always)]
pub fn slow_stacks() -> u32 {
    SLOW_STACKS.load()
}

/// Syscall argument `i` (0..6) from `regs`, a BTF-typed `struct pt_regs *`: a direct load at
/// a known field offset (a read-only global) passes the verifier and saves a helper call. The
/// loader's offsets name registers that hold the arguments at exit too (aarch64's first is
/// `orig_x0`: x0 holds the return value by then).
#[inline(always)]
pub fn read_arg(regs: *const u8, i: usize) -> u64 {
    // One word of the array, not the whole array: `Global` is `repr(transparent)`, and this is
    // on every syscall's path.
    let offset = unsafe { core::ptr::read_volatile((&raw const ARG_OFFSETS).cast::<u32>().add(i)) };
    unsafe { core::ptr::read_volatile(regs.add(offset as usize).cast::<u64>()) }
}

/// The one traced tgid when there is exactly one and no children are followed (0 otherwise):
/// a compare against a constant then replaces the bitmap load, which bystanders pay for.
#[unsafe(no_mangle)]
static ONLY_TGID: Global<u32> = Global::new(0);

/// Non-zero when `-e` selected a subset of syscalls.
#[unsafe(no_mangle)]
static FILTER_SYSCALLS: Global<u32> = Global::new(0);
/// Offset of the syscall number in `struct pt_regs` (x86_64: `orig_ax`; aarch64: `syscallno`).
#[unsafe(no_mangle)]
static NR_OFFSET: Global<u32> = Global::new(120);
/// Native numbers of `exit` and `exit_group`, which never reach `sys_exit`.
#[unsafe(no_mangle)]
static NR_EXIT: Global<u32> = Global::new(60);
#[unsafe(no_mangle)]
static NR_EXIT_GROUP: Global<u32> = Global::new(231);
/// Wake the reader only once this much data is waiting; it also drains on a timer.
/// Waking per event costs an irq_work per syscall.
#[unsafe(no_mangle)]
static WAKEUP_BYTES: Global<u64> = Global::new(1 << 20);

/// `--cgroup`: how many cgroups are traced (0: none; a load-time constant, so that without
/// `--cgroup` the verifier drops the check), their ids and their levels in the hierarchy.
#[unsafe(no_mangle)]
static CGROUP_COUNT: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static CGROUP_IDS: Global<[u64; MAX_CGROUPS]> = Global::new([0; MAX_CGROUPS]);
#[unsafe(no_mangle)]
static CGROUP_LEVELS: Global<[u32; MAX_CGROUPS]> = Global::new([0; MAX_CGROUPS]);

/// The tracer's own process, never traced by cgroup (`--all` traces the root cgroup, which holds
/// the tracer too: its reads of the ring buffer would feed the ring buffer).
#[unsafe(no_mangle)]
static SELF_TGID: Global<u32> = Global::new(0);

/// Which traced cgroup the current task is in or below (its ancestor at that cgroup's level is
/// it), counted from 1; 0 if none.
#[inline(always)]
fn traced_cgroup(count: u32) -> u32 {
    let (ids, levels) = (CGROUP_IDS.load(), CGROUP_LEVELS.load());
    for i in 0..MAX_CGROUPS {
        if i as u32 >= count {
            break;
        }
        if current_ancestor_cgroup_id(levels[i]) == ids[i] {
            return i as u32 + 1;
        }
    }
    0
}

/// How a task's ancestor cgroup is found: 0, `bpf_get_current_ancestor_cgroup_id`; where
/// tracing programs lack that helper, by walking `current->cgroups->dfl_cgrp` at BTF offsets,
/// 1 to its `ancestor_ids[]` (before 6.2), 2 to its `ancestors[]` and each one's `kn->id`.
#[unsafe(no_mangle)]
static CGROUP_ANCESTRY: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static TASK_CGROUPS_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static CSS_SET_DFL_CGRP_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static CGROUP_LEVEL_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static CGROUP_ANCESTORS_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static CGROUP_KN_OFFSET: Global<u32> = Global::new(0);
#[unsafe(no_mangle)]
static KERNFS_NODE_ID_OFFSET: Global<u32> = Global::new(0);

/// The id of the current task's cgroup v2 ancestor at `level` (its own at its level), 0 if it
/// is not that deep.
#[inline(always)]
fn current_ancestor_cgroup_id(level: u32) -> u64 {
    let how = CGROUP_ANCESTRY.load();
    if how == 0 {
        return unsafe { bpf_get_current_ancestor_cgroup_id(level as i32) };
    }
    let task = unsafe { aya_ebpf::helpers::bpf_get_current_task() };
    let cgroup = read_kernel_u64(field_at(read_kernel_u64(field_at(task, &TASK_CGROUPS_OFFSET)), &CSS_SET_DFL_CGRP_OFFSET));
    if cgroup == 0 || (read_kernel_u64(field_at(cgroup, &CGROUP_LEVEL_OFFSET)) as u32) < level {
        return 0;
    }
    let ancestor = read_kernel_u64(unsafe { field_at(cgroup, &CGROUP_ANCESTORS_OFFSET).add(level as usize) });
    match how {
        1 => ancestor, // ancestor_ids[level] is the id
        _ if ancestor == 0 => 0,
        _ => read_kernel_u64(field_at(read_kernel_u64(field_at(ancestor, &CGROUP_KN_OFFSET)), &KERNFS_NODE_ID_OFFSET)),
    }
}

/// The address of a field of a kernel object, at its offset from the kernel's BTF (a load-time
/// constant).
#[inline(always)]
pub fn field_at(base: u64, offset: &Global<u32>) -> *const u64 {
    (base + u64::from(offset.load())) as *const u64
}

/// The kernel word at `address`; 0 if it cannot be read.
#[inline(always)]
pub fn read_kernel_u64(address: *const u64) -> u64 {
    unsafe { aya_ebpf::helpers::bpf_probe_read_kernel(address) }.unwrap_or(0)
}

#[inline(always)]
pub fn is_traced(tgid: u32) -> bool {
    let cgroups = CGROUP_COUNT.load();
    if cgroups != 0 && tgid != SELF_TGID.load() && traced_cgroup(cgroups) != 0 {
        return true;
    }
    let only = ONLY_TGID.load();
    if only != 0 {
        return tgid == only;
    }
    match TRACED.get(tgid >> 6) {
        Some(word) => *word & (1u64 << (tgid & 63)) != 0,
        None => false,
    }
}

/// Marks a new process as traced. Two traced processes may fork at once into pids that share a
/// word, so the bit goes in with an atomic add (BPF XADD; the target has no atomic OR without
/// CAS support), which equals OR because the bit is checked clear first and a pid is new to
/// exactly one parent.
#[inline(always)]
pub fn trace_tgid(tgid: u32) {
    let bit = 1u64 << (tgid & 63);
    if let Some(word) = TRACED.get_ptr_mut(tgid >> 6) {
        unsafe {
            if *word & bit == 0 {
                atomic_add(word, bit);
            }
        }
    }
}

#[inline(always)]
pub fn is_selected(nr: u32) -> bool {
    if FILTER_SYSCALLS.load() == 0 {
        return true;
    }
    match SELECTED.get(nr >> 6) {
        Some(word) => *word & (1u64 << (nr & 63)) != 0,
        None => false,
    }
}

#[inline(always)]
pub fn nr_offset() -> usize {
    NR_OFFSET.load() as usize
}

#[inline(always)]
pub fn never_returns(nr: u32) -> bool {
    nr == NR_EXIT.load() || nr == NR_EXIT_GROUP.load()
}

/// Counts an event that could not be reported.
#[inline(always)]
pub fn count_lost() {
    tally(LOST_EVENTS);
}

#[inline(always)]
pub fn tally(index: u32) {
    if let Some(count) = TALLIES.get_ptr_mut(index) {
        // Atomic: a program nested in an interrupt on this CPU may count at the same time.
        atomic_add(count, 1);
    }
}

/// Writes `event` into `dst` field by field. Built whole on the stack and copied, a record takes
/// 64 bytes of the program's frame, and kernels before 6.9 round frames up and add them up
/// against the 512-byte limit; field by field, it stays in registers (no memcpy/memset call).
#[inline(always)]
pub fn write_event(dst: *mut Event, event: Event) {
    let Event { kind, nr, tgid, tid, start_ns, duration_ns, ret, arg0, blocked_ns, runq_ns } = event;
    unsafe {
        core::ptr::write_volatile(&raw mut (*dst).kind, kind);
        core::ptr::write_volatile(&raw mut (*dst).nr, nr);
        core::ptr::write_volatile(&raw mut (*dst).tgid, tgid);
        core::ptr::write_volatile(&raw mut (*dst).tid, tid);
        core::ptr::write_volatile(&raw mut (*dst).start_ns, start_ns);
        core::ptr::write_volatile(&raw mut (*dst).duration_ns, duration_ns);
        core::ptr::write_volatile(&raw mut (*dst).ret, ret);
        core::ptr::write_volatile(&raw mut (*dst).arg0, arg0);
        core::ptr::write_volatile(&raw mut (*dst).blocked_ns, blocked_ns);
        core::ptr::write_volatile(&raw mut (*dst).runq_ns, runq_ns);
    }
}

/// Sends `event` (see [`write_event`]); false, and counted lost, when the ring buffer is full.
#[inline(always)]
pub fn emit_event(event: Event) -> bool {
    emit_with(|entry: *mut Event| write_event(entry, event))
}

/// Sends `event` and wakes the reader at once (not at its next tick): a new program's exec,
/// with `--slow`, whose memory map and Go layout the reader must read while the process lives.
#[inline(always)]
pub fn emit_event_now(event: Event) -> bool {
    match EVENTS.reserve::<Event>(0) {
        Some(mut entry) => {
            write_event(entry.as_mut_ptr(), event);
            entry.submit(BPF_RB_FORCE_WAKEUP as u64);
            true
        }
        None => {
            count_lost();
            false
        }
    }
}

/// Sends a socket record (see [`write_event`]), its addresses copied from `tuple` (a map
/// value: 8-aligned), zero without; false, and counted lost, when the ring buffer is full.
#[inline(always)]
pub fn emit_sock_event(kind: EventKind, fd: i32, tgid: u32, tid: u32, sk: u64, latency_ns: u64, tuple: Option<*const SockTuple>, row: u32, accept: (u32, u64)) -> bool {
    emit_with(|entry: *mut SockEvent| unsafe {
        core::ptr::write_volatile(&raw mut (*entry).kind, kind as u32);
        core::ptr::write_volatile(&raw mut (*entry).fd, fd);
        core::ptr::write_volatile(&raw mut (*entry).tgid, tgid);
        core::ptr::write_volatile(&raw mut (*entry).tid, tid);
        core::ptr::write_volatile(&raw mut (*entry).sk, sk);
        core::ptr::write_volatile(&raw mut (*entry).latency_ns, latency_ns);
        core::ptr::write_volatile(&raw mut (*entry).row, row);
        core::ptr::write_volatile(&raw mut (*entry).accept_nr, accept.0);
        core::ptr::write_volatile(&raw mut (*entry).accept_ns, accept.1);
        match tuple {
            Some(tuple) => copy_tuple(&raw mut (*entry).tuple, tuple),
            None => zero_tuple(&raw mut (*entry).tuple),
        }
    })
}

const _: () = assert!(core::mem::size_of::<SockTuple>() % 8 == 0);

/// Copies a socket's addresses word by word (both 8-aligned: a map value, a record's field):
/// a plain copy of the 2-aligned struct is a call to memmove.
#[inline(always)]
pub fn copy_tuple(dst: *mut SockTuple, src: *const SockTuple) {
    const WORDS: usize = core::mem::size_of::<SockTuple>() / 8;
    for i in 0..WORDS {
        unsafe { core::ptr::write_volatile(dst.cast::<u64>().add(i), core::ptr::read_volatile(src.cast::<u64>().add(i))) };
    }
}

/// Zeroes a socket's addresses word by word (see [`copy_tuple`]).
#[inline(always)]
pub fn zero_tuple(dst: *mut SockTuple) {
    const WORDS: usize = core::mem::size_of::<SockTuple>() / 8;
    for i in 0..WORDS {
        unsafe { core::ptr::write_volatile(dst.cast::<u64>().add(i), 0) };
    }
}

/// The current thread's name into `dst` (8-aligned in every record), empty if it cannot be had.
#[inline(always)]
pub fn write_comm(dst: *mut [u8; 16]) {
    unsafe {
        if aya_ebpf::helpers::generated::bpf_get_current_comm(dst.cast(), 16) != 0 {
            // Word by word: a zeroed array is a memset call (see `write_event`).
            core::ptr::write_volatile(dst.cast::<u64>(), 0);
            core::ptr::write_volatile(dst.cast::<u64>().add(1), 0);
        }
    }
}

/// Reserves a record, lets `write` fill it, submits it; false (and counted lost) when full.
#[inline(always)]
pub fn emit_with<T: 'static>(write: impl FnOnce(*mut T)) -> bool {
    match EVENTS.reserve::<T>(0) {
        Some(mut entry) => {
            write(entry.as_mut_ptr());
            submit(entry);
            true
        }
        None => {
            count_lost();
            false
        }
    }
}

/// With several `--cgroup` targets, a syscall's record says which one its task is in (for `--by
/// cgroup`): the reader cannot ask /proc about processes that are gone by the time it reads.
/// Only records made in the task's own context (its syscalls), OR-ed into their `kind`; the
/// reader gives its other records (scheduler, connect) the group of their tgid. Looked up again
/// rather than passed down from the filter, so that runs with one target or none pay nothing
/// (a load-time constant).
#[inline(always)]
pub fn cgroup_tag() -> u32 {
    let cgroups = CGROUP_COUNT.load();
    if cgroups > 1 {
        traced_cgroup(cgroups) << KIND_CGROUP_SHIFT
    } else {
        0
    }
}

/// Submits a reserved record, waking the reader only once a batch is waiting.
#[inline(always)]
pub fn submit<T: 'static>(entry: RingBufEntry<T>) {
    let wakeup = if EVENTS.query(BPF_RB_AVAIL_DATA as u64) >= WAKEUP_BYTES.load() {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    };
    entry.submit(wakeup as u64);
}

/// Non-zero when calls that need no event of their own are counted here instead (not with
/// `--events` or `--by`): a load-time constant.
#[unsafe(no_mangle)]
static KERNEL_COUNTS_ON: Global<u32> = Global::new(0);

/// Calls counted in the kernel, by counting row (the syscall number, or with `--by` see
/// [`count_row`]), per CPU (plain adds: a CPU's slot is only written by sys_exit on that CPU,
/// which does not nest).
#[map]
static COUNT_TOTALS: PerCpuArray<SyscallTotals> = PerCpuArray::with_max_entries(GROUP_ROWS, 0);

/// Their latency histograms, `HIST_BUCKETS` counters a syscall, shared by the CPUs (atomic
/// adds; per CPU they would take 18 MiB each) and mapped by the reader, which reads them
/// without a syscall. The loader gives it its size only when calls are counted here.
#[map]
static COUNT_HIST: Array<u64> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// Failed calls counted here: `ERRNO_SLOTS` counters a counting row (see
/// `tracer_common::kernel_counts::errno_slot`), shared and mapped by the reader; sized by the
/// loader only when calls are counted here.
#[map]
static COUNT_ERRNO: Array<u64> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// A failed call counted in row `row` with [`count_call`] had the errno of `slot`. Counted after
/// the call, so that a reader which reads this first never sees more errors than calls.
#[inline(always)]
pub fn count_errno(row: u32, slot: u32) {
    if let Some(count) = COUNT_ERRNO.get_ptr_mut(row * ERRNO_SLOTS + slot) {
        atomic_add(count, 1);
    }
}

/// Whether calls are counted here (a load-time constant: the verifier drops what depends on it
/// when they are not).
#[inline(always)]
pub fn kernel_counts() -> bool {
    KERNEL_COUNTS_ON.load() != 0
}

/// Non-zero with `--by` (a load-time constant): calls are counted in their group's rows.
#[unsafe(no_mangle)]
static GROUPS_ON: Global<u32> = Global::new(0);

/// With `--by`: the group of each traced process the reader has placed, by tgid. A process not
/// in it (new, or the map full) has its calls sent as events, which place it.
#[map]
static GROUP_OF: HashMap<u32, u32> = HashMap::with_max_entries(1, 0);

/// With `--by`: the counting row of each (group, syscall), at `group * MAX_SYSCALLS + nr`,
/// from 1 (0: none yet, and the call is sent as an event).
#[map]
static GROUP_ROW: Array<u32> = Array::with_max_entries(1, 0);

#[inline(always)]
pub fn grouped() -> bool {
    GROUPS_ON.load() != 0
}

/// The row that counts a call of `nr` by process `tgid`: `nr` itself, or with `--by`, its
/// group's row for `nr` if the reader made one (else the call is sent as an event).
#[inline(always)]
pub fn count_row(tgid: u32, nr: u32) -> Option<u32> {
    if !grouped() {
        return Some(nr);
    }
    let group = unsafe { GROUP_OF.get(&tgid) }.copied()?;
    let row = GROUP_ROW.get(group * MAX_SYSCALLS + nr).copied().unwrap_or(0);
    row.checked_sub(1)
}

/// A traced process ended: with `--by`, its pid may come back as another process, of another
/// group.
#[inline(always)]
pub fn forget_group(tgid: u32) {
    if grouped() {
        let _ = GROUP_OF.remove(&tgid);
    }
}

/// Counts a call in counting row `row` (the caller checked that no event is needed; a failed
/// one's errno goes to [`count_errno`] next), with its blocked and run-queue parts (from
/// [`clamped_split`]).
#[inline(always)]
pub fn count_call(row: u32, ns: u64, blocked: u64, runq: u64) {
    if let Some(totals) = COUNT_TOTALS.get_ptr_mut(row) {
        unsafe {
            (*totals).calls += 1;
            (*totals).total_ns += ns;
            (*totals).blocked_ns += blocked;
            (*totals).runq_ns += runq;
            if ns > (*totals).max_ns {
                (*totals).max_ns = ns;
            }
        }
    }
    if let Some(count) = COUNT_HIST.get_ptr_mut(row * HIST_BUCKETS + hist_bucket(ns)) {
        atomic_add(count, 1);
    }
}

/// The blocked and run-queue parts of a call of `ns`, clamped as the reader clamps an event's:
/// a clock skew between CPUs cannot make the parts exceed the whole.
#[inline(always)]
pub fn clamped_split(ns: u64, blocked_ns: u64, runq_ns: u64) -> (u64, u64) {
    let blocked = if blocked_ns < ns { blocked_ns } else { ns };
    let runq = if runq_ns < ns - blocked { runq_ns } else { ns - blocked };
    (blocked, runq)
}

/// Reads and writes counted here, by (slot, kind), per CPU.
#[map]
static IO_TOTALS: PerCpuArray<IoTotals> = PerCpuArray::with_max_entries(IO_SLOTS * IO_KINDS, 0);

/// Their latency and bytes histograms, shared and mapped by the reader as `COUNT_HIST` is.
#[map]
static IO_HIST: Array<u64> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// Counts a read or write that returned `ret` (bytes, or a failure's -errno, whose errno the
/// caller counts next) on an fd of `kind`, by a syscall with `flags`; false when the syscall has
/// no I/O slot, and the call needs its event. Without `--by` this is the call's only count (the
/// reader adds the kinds up into the syscall's figures): one per-CPU row and two atomic adds for
/// a read or write, one for a failed one.
#[inline(always)]
pub fn count_io(flags: u32, kind: u32, ns: u64, ret: i64, blocked: u64, runq: u64) -> bool {
    let slot = io_slot(flags);
    if slot == 0 || kind >= IO_KINDS {
        return false;
    }
    let index = (slot - 1) * IO_KINDS + kind;
    let Some(totals) = IO_TOTALS.get_ptr_mut(index) else { return false };
    let failed = ret < 0;
    let bytes = if failed { 0 } else { ret as u64 };
    unsafe {
        if !failed {
            if (*totals).calls == (*totals).errors || bytes < (*totals).min_bytes {
                (*totals).min_bytes = bytes;
            }
            if bytes > (*totals).max_bytes {
                (*totals).max_bytes = bytes;
            }
        }
        (*totals).calls += 1;
        (*totals).total_ns += ns;
        (*totals).bytes += bytes;
        (*totals).blocked_ns += blocked;
        (*totals).runq_ns += runq;
        if ns > (*totals).max_ns {
            (*totals).max_ns = ns;
        }
    }
    let base = index * IO_HIST_WORDS_PER_KIND;
    if let Some(count) = IO_HIST.get_ptr_mut(base + hist_bucket(ns)) {
        atomic_add(count, 1);
    }
    match failed {
        // After the histogram: a reader that sees the error (the totals are read first) has
        // its call too.
        true => unsafe { (*totals).errors += 1 },
        false => {
            if let Some(count) = IO_HIST.get_ptr_mut(base + HIST_BUCKETS + hist_bucket(bytes)) {
                atomic_add(count, 1);
            }
        }
    }
    true
}

/// Non-zero when TCP connections are counted here, per connection (a load-time constant).
#[unsafe(no_mangle)]
static CONNECTIONS_ON: Global<u32> = Global::new(0);

#[inline(always)]
pub fn connections_on() -> bool {
    CONNECTIONS_ON.load() != 0
}

/// Rows of `CONN_HIST` no connection has: the reader pushes them, a connection's first counted
/// call pops one.
#[map]
static CONN_FREE: Queue<u32> = Queue::with_max_entries(1, 0);

/// 1 once the reader follows no more connections one by one (see `tracer_common::connections`).
#[map]
static CONN_FOLLOWED_ALL: Array<u32> = Array::with_max_entries(1, 0);

/// A TCP connection with no row is sent as events while the reader may follow it.
#[inline(always)]
pub fn following_connections() -> bool {
    CONN_FOLLOWED_ALL.get(0).is_none_or(|&all| all == 0)
}

/// The connections' figures, `CONN_ROW_WORDS` a row, shared by the CPUs and mapped by the
/// reader; sized by the loader only when connections are counted here.
#[map]
static CONN_HIST: Array<u64> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// The counting row of the TCP connection of `entry` (its socket's in `SOCKETS`), and whether
/// this call took it from the free rows (then the reader must be told, or the row given back
/// with [`give_back_row`]). `CONN_NO_ROW`: a connection closed, or no row free. Integers, not an
/// `Option`: LLVM kept a `None`'s undefined payload in a register across the pop, which the
/// verifier then refused to read.
#[inline(always)]
pub fn connection_row(entry: *mut SockEntry) -> (u32, bool) {
    let row = unsafe { (*entry).row };
    match row {
        CONN_UNCOUNTED => return (CONN_NO_ROW, false),
        CONN_NO_ROW => {}
        row => return (row, false),
    }
    match CONN_FREE.pop().ok().flatten() {
        Some(row) => {
            // Two threads taking a row for one connection at once: each counts in its own and
            // names it in its record; the reader frees the one the entry does not keep.
            unsafe { (*entry).row = row };
            (row, true)
        }
        None => (CONN_NO_ROW, false),
    }
}

/// The reader knows now that process `tgid` uses the TCP connection of `entry` (or needs not
/// know: it follows no more connections). Its first user counts it in `CONNECTIONS_SEEN`.
#[inline(always)]
pub fn note_connection_user(entry: *mut SockEntry, tgid: u32) {
    unsafe {
        if (*entry).user_tgid == 0 {
            tally(CONNECTIONS_SEEN);
        }
        (*entry).user_tgid = tgid;
    }
}

/// Once the reader follows no more connections: the row TCP connection `sk` kept (taken while
/// it was followed), noting its user. No row is taken, no record sent.
#[inline(always)]
pub fn kept_connection_row(sk: u64, tgid: u32) -> Option<u32> {
    let entry = SOCKETS.get_ptr_mut(&sk)?;
    note_connection_user(entry, tgid);
    match unsafe { (*entry).row } {
        CONN_NO_ROW | CONN_UNCOUNTED => None,
        row => Some(row),
    }
}

/// A row taken by [`connection_row`] whose record could not be sent: free again.
#[inline(always)]
pub fn give_back_row(sk: u64, row: u32) {
    if let Some(entry) = SOCKETS.get_ptr_mut(&sk) {
        if unsafe { (*entry).row } == row {
            unsafe { (*entry).row = CONN_NO_ROW };
        }
    }
    let _ = CONN_FREE.push(&row, 0);
}

/// Counts a send (`sends`) or receive on the connection in `row` that returned `ret` (bytes, or
/// a failure's -errno: its latency, no size). The call count goes last: a reader that sees it
/// has the call's other figures too.
#[inline(always)]
pub fn count_connection(row: u32, ns: u64, ret: i64, sends: bool) {
    let base = row * CONN_ROW_WORDS;
    let add = |word: u32, value: u64| {
        if let Some(target) = CONN_HIST.get_ptr_mut(base + word) {
            atomic_add(target, value);
        }
    };
    count_in_halves(&CONN_HIST, base + CONN_TOTAL_WORDS, conn_bucket(ns));
    if ret >= 0 {
        let bytes = ret as u64;
        let sizes = if sends { CONN_BUCKETS } else { 2 * CONN_BUCKETS };
        count_in_halves(&CONN_HIST, base + CONN_TOTAL_WORDS, sizes + conn_bucket(bytes));
        if bytes != 0 {
            add(if sends { 1 } else { 2 }, bytes);
        }
    }
    add(3, ns);
    add(0, 1);
}

/// Adds one to u32 counter `counter` of those from word `first` of `words`, two a word (the
/// one at the lower address first), as the reader takes them.
#[inline(always)]
pub fn count_in_halves(words: &Array<u64>, first: u32, counter: u32) {
    if let Some(word) = words.get_ptr_mut(first + counter / 2) {
        let half = unsafe { word.cast::<u32>().add((counter & 1) as usize) };
        unsafe { core::intrinsics::atomic_xadd::<u32, u32, { core::intrinsics::AtomicOrdering::Relaxed }>(half, 1) };
    }
}

/// `*target += value` as one BPF atomic add (XADD): safe against other CPUs and against a
/// program nested in an interrupt on this one.
#[inline(always)]
pub fn atomic_add(target: *mut u64, value: u64) {
    unsafe { core::intrinsics::atomic_xadd::<u64, u64, { core::intrinsics::AtomicOrdering::Relaxed }>(target, value) };
}
