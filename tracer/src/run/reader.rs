//! The reader: takes records off the ring buffer and hands each to the stage it is for. Slow
//! calls are formatted and symbolized here, as they arrive, while their process and fds are
//! still there to be looked at.
use aya::maps::{MapData, RingBuf};

use crate::{
    host::stacks::Stacks,
    kernel::{
        event::{cgroup_tag, decode, Record, SlowRecord, StackRead, ThreadRowRecord, UserCopy},
        kernel_counts::KernelCounts,
    },
    model::{
        aggregate::Aggregator,
        groups::{GroupChange, Groups},
        slow::SlowCall,
    },
    report::slow::SlowLines,
    run::received::Received,
    syscalls::{
        self,
        fd_class::class,
        format::{format_call, CallView},
    },
};

/// Records taken per drain before the loop looks at signals, exits and intervals again: a
/// producer faster than the reader must not keep it from answering Ctrl-C (what cannot be read
/// in time is counted lost by the kernel).
pub const DRAIN_BATCH: usize = 1 << 16;

pub struct Reader {
    pub aggregator: Aggregator,
    /// Processes the kernel started tracing since the last look (children, with `-f`).
    pub forks: Vec<u32>,
    /// Processes that exec'd a new program, with `--slow`: whether it is Go, and which, is
    /// looked at for its slow calls' goroutines.
    pub execs: Vec<u32>,
    /// Processes whose program was looked at so (an exec seen, or a first slow call from a
    /// process whose exec was not: one already running in a traced cgroup, a forked child).
    looked_at: std::collections::HashSet<u32>,
    /// With `--stacks`: names stack frames.
    stacks: Option<Stacks>,
    /// With `--slow`, outside the live view: prints each slow call as it arrives.
    lines: Option<SlowLines>,
    /// With `--cgroup`: the processes seen in the traced cgroups (at attach, making syscalls,
    /// ending, at the end), and how many of them were forgotten once they had exited.
    pub tgids: Option<std::collections::HashSet<u32>>,
    pub tgids_forgotten: usize,
    /// Thread rows the kernel took (false) and gave back (true) since the last look, in the
    /// order of their records.
    thread_rows: Vec<(ThreadRowRecord, bool)>,
    /// Ring-buffer records that could not be decoded (a warning for the first few).
    undecodable: u64,
    /// The records received, by kind (a debug line at the end).
    pub received: Received,
}

impl Reader {
    pub fn new(aggregator: Aggregator, stacks: bool, lines: Option<SlowLines>) -> Self {
        Self {
            aggregator,
            forks: Vec::new(),
            execs: Vec::new(),
            looked_at: Default::default(),
            stacks: stacks.then(Stacks::default),
            lines,
            tgids: None,
            tgids_forgotten: 0,
            thread_rows: Vec::new(),
            undecodable: 0,
            received: Received::default(),
        }
    }

    /// A process now traced: with `--stacks`, its memory map is read while it lives.
    /// A process is traced from now: in a group (`--by`) even if it never makes a shown call.
    pub fn traced(&mut self, tgid: u32) {
        if let Some(groups) = &mut self.aggregator.groups {
            groups.traced(tgid);
        }
    }

    /// `tgid` will exec the program at `path` (a spawned command): its frames are named from
    /// that file if the process is gone before its map is read.
    pub fn hint_exe(&mut self, tgid: u32, path: std::path::PathBuf) {
        if let Some(stacks) = &mut self.stacks {
            stacks.hint_exe(tgid, path);
        }
    }

    pub fn watch(&mut self, tgid: u32) {
        if let Some(stacks) = &mut self.stacks {
            stacks.watch(tgid);
        }
    }

    /// Once a second: forgets what is kept per process of those that have exited, so that a
    /// long trace of many short-lived processes stays bounded.
    pub fn housekeep(&mut self) {
        self.aggregator.net.forget_exited();
        if let Some(tgids) = &mut self.tgids {
            let before = tgids.len();
            tgids.retain(|&tgid| crate::host::names::process_exists(tgid));
            self.tgids_forgotten += before - tgids.len();
        }
    }

    /// Processes seen making syscalls, with `--cgroup`.
    pub fn processes_seen(&self) -> Option<usize> {
        self.tgids.as_ref().map(|tgids| tgids.len() + self.tgids_forgotten)
    }

    /// Tells the kernel what the events made known, for it to count more itself: with `--by`,
    /// which process is in which group and which (group, syscall) pairs it can count; and learns
    /// whose figures the connection rows the kernel took hold, and takes the last figures of the
    /// connections the kernel saw close (their rows free again for the next ones).
    pub fn tell_kernel(&mut self, counts: Option<&mut KernelCounts>) -> anyhow::Result<()> {
        // Taken even when the kernel counts nothing (`--events`), so that they do not pile up.
        let changes = self.aggregator.groups.as_mut().map(Groups::take_changes).unwrap_or_default();
        let Some(counts) = counts else {
            self.aggregator.net.take_rows_taken();
            self.thread_rows.clear();
            return Ok(());
        };
        self.adopt_connection_rows(counts);
        self.sync_thread_rows(counts)?;
        for closed in counts.closed_connections()? {
            self.aggregator.net.record_kernel_connection(&closed);
        }
        if self.aggregator.net.follows_no_more() {
            counts.followed_all_connections()?;
        }
        for change in changes {
            match change {
                GroupChange::Retired(group) => counts.free_rows(group as u32)?,
                GroupChange::Placed(tgid, group) => counts.place(tgid, group as u32),
                GroupChange::Gone(tgid) => counts.unplace(tgid),
                GroupChange::Seen(group, nr) => {
                    if !counts.want_row(group as u32, nr)? {
                        if let Some(groups) = &mut self.aggregator.groups {
                            groups.unsee(group, nr);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The thread rows the kernel took and gave back, in the order the records read so far
    /// name them: a thread gone has its last figures recorded, and its row is free again.
    fn sync_thread_rows(&mut self, counts: &mut KernelCounts) -> anyhow::Result<()> {
        for (thread, gone) in std::mem::take(&mut self.thread_rows) {
            if !gone {
                counts.adopt_thread_row(thread.row, thread.tid, thread.tgid, thread.comm);
            } else if let Some(rest) = counts.release_thread_row(thread.row, thread.comm)? {
                self.aggregator.record_kernel_thread(&rest);
            }
        }
        Ok(())
    }

    /// Once a second: the thread rows the kernel no longer holds, whose end's record was lost
    /// (or never sent), come back with their last figures.
    pub fn reclaim_thread_rows(&mut self, counts: Option<&mut KernelCounts>) -> anyhow::Result<()> {
        for rest in counts.map_or(Ok(Vec::new()), KernelCounts::reclaim_unheld_thread_rows)? {
            self.aggregator.record_kernel_thread(&rest);
        }
        Ok(())
    }

    /// The connection rows the kernel took, as the records read so far name them.
    fn adopt_connection_rows(&mut self, counts: &mut KernelCounts) {
        for (row, sk, connection) in self.aggregator.net.take_rows_taken() {
            counts.adopt_connection_row(row, sk, connection);
        }
    }

    /// Takes what the kernel counted since the last look into the tables.
    pub fn record_kernel_counts(&mut self, counts: Option<&mut KernelCounts>) -> anyhow::Result<()> {
        if let Some(counts) = counts {
            self.adopt_connection_rows(counts);
            self.sync_thread_rows(counts)?;
            let delta = counts.read()?;
            for calls in &delta.calls {
                self.aggregator.record_kernel(calls);
            }
            for io in &delta.io {
                self.aggregator.record_kernel_io(io);
            }
            for connection in &delta.connections {
                self.aggregator.net.record_kernel_connection(connection);
            }
            for thread in &delta.threads {
                self.aggregator.record_kernel_thread(thread);
            }
        }
        Ok(())
    }

    /// The line printer back, once the trace is over.
    pub fn take_lines(&mut self) -> Option<SlowLines> {
        self.lines.take()
    }

    /// Takes what is waiting, up to 64 batches: enough for a full default ring buffer, and
    /// bounded, since traced processes that are still running keep adding to it.
    pub fn drain_backlog(&mut self, ring: &mut RingBuf<MapData>) {
        self.drain_batches(ring, 64);
    }

    /// Takes what is waiting, up to `batches` batches.
    pub fn drain_batches(&mut self, ring: &mut RingBuf<MapData>, batches: usize) {
        for _ in 0..batches {
            if self.drain(ring) {
                return;
            }
        }
    }

    /// Takes up to [`DRAIN_BATCH`] records; true when the ring buffer is empty.
    pub fn drain(&mut self, ring: &mut RingBuf<MapData>) -> bool {
        for _ in 0..DRAIN_BATCH {
            let Some(item) = ring.next() else { return true };
            let record = decode(&item);
            if let Ok(record) = &record {
                self.received.count(record);
            }
            match record {
                Ok(Record::Syscall(rec)) => {
                    if let Some(tgids) = &mut self.tgids {
                        tgids.insert(rec.tgid);
                    }
                    if let Some(groups) = &mut self.aggregator.groups {
                        groups.tag(rec.tgid, cgroup_tag(&item));
                    }
                    let new_program = rec.ret == 0 && class(rec.nr).exec;
                    if new_program && self.aggregator.slow.is_some() {
                        self.looked_at.insert(rec.tgid);
                        self.execs.push(rec.tgid);
                    }
                    if let Some(stacks) = self.stacks.as_mut().filter(|_| new_program) {
                        // A new program: the map read before is another program's. Read the new
                        // one now, while the process may still live (a short-lived one may not
                        // be there by its first slow call).
                        stacks.forget(rec.tgid);
                        stacks.watch(rec.tgid);
                    }
                    self.aggregator.record(&rec)
                }
                Ok(Record::Slow(rec)) => {
                    if let Some(tgids) = &mut self.tgids {
                        tgids.insert(rec.call.tgid);
                    }
                    if self.looked_at.insert(rec.call.tgid) {
                        self.execs.push(rec.call.tgid);
                    }
                    if let Some(groups) = &mut self.aggregator.groups {
                        groups.tag(rec.call.tgid, cgroup_tag(&item));
                    }
                    self.on_slow(*rec)
                }
                Ok(Record::Sched(rec)) => self.aggregator.record_sched(&rec),
                Ok(Record::Socket(rec)) => self.aggregator.record_socket(&rec),
                Ok(Record::Connect(rec)) => self.aggregator.record_connect(&rec),
                Ok(Record::ThreadRow(thread)) => {
                    self.aggregator.count_record();
                    self.thread_rows.push((thread, false));
                }
                Ok(Record::ThreadGone(thread)) => {
                    self.aggregator.count_record();
                    self.thread_rows.push((thread, true));
                }
                Ok(Record::Fork { child_pid, .. }) => {
                    self.aggregator.count_record();
                    // Before its end's record, which may be in this same batch.
                    self.traced(child_pid);
                    self.forks.push(child_pid);
                }
                Ok(Record::ProcessExit { tgid, cgroup_id, comm }) => {
                    self.aggregator.count_record();
                    if let Some(tgids) = &mut self.tgids {
                        tgids.insert(tgid);
                    }
                    self.looked_at.remove(&tgid);
                    if let Some(groups) = &mut self.aggregator.groups {
                        groups.exited(tgid, cgroup_id, &comm);
                    }
                }
                Err(e) => {
                    // A few, not one line a record: a kernel object that does not match this
                    // reader would send nothing else.
                    const SHOWN: u64 = 3;
                    self.undecodable += 1;
                    if self.undecodable <= SHOWN {
                        let last = if self.undecodable == SHOWN { " (further ones are not shown)" } else { "" };
                        log::warn!("skipping a ring-buffer record: {e}{last}");
                    }
                }
            }
        }
        false
    }

    fn on_slow(&mut self, rec: SlowRecord) {
        let tgid = rec.call.tgid;
        let name = syscalls::name(rec.call.nr).unwrap_or("syscall");
        let (path, addr) = match &rec.user {
            UserCopy::Path(bytes) => (Some(bytes.as_slice()), None),
            UserCopy::Sockaddr(bytes) => (None, Some(bytes.as_slice())),
            UserCopy::None | UserCopy::Failed(_) => (None, None),
        };
        // The fds as they are now, before this call's own effect (a close) is applied.
        let net = &self.aggregator.net;
        let text = format_call(&CallView { name, args: rec.args, ret: rec.call.ret, path, addr }, &|fd| net.describe_fd(tgid, fd));
        // Counted before the stacks are named: a first symbolization reads a binary's debug
        // info, which may take long enough for a short-lived process to be gone from /proc when
        // its fds are looked at.
        let opened = rec.call.ret >= 0 && class(rec.call.nr).opens_path;
        self.aggregator.record(&rec.call);
        if let (true, UserCopy::Path(path)) = (opened, &rec.user) {
            self.aggregator.net.name_fd(tgid, rec.call.ret as i32, String::from_utf8_lossy(path).into_owned());
        }
        if !self.aggregator.shows(rec.call.nr) {
            return; // delivered only to follow fds (-e): no line of its own
        }
        let (mut user_stack, mut kernel_stack) = (Vec::new(), Vec::new());
        if let Some(stacks) = &mut self.stacks {
            if let Some(StackRead::Frames(ips)) = &rec.user_stack {
                user_stack = stacks.user_frames(tgid, ips);
            }
            if let Some(StackRead::Frames(ips)) = &rec.kernel_stack {
                kernel_stack = stacks.kernel_frames(ips);
            }
        }
        let call = SlowCall {
            tgid,
            tid: rec.call.tid,
            comm: rec.comm.clone(),
            start_ns: rec.call.start_ns,
            duration_ns: rec.call.duration_ns.unwrap_or(0),
            blocked_ns: rec.call.blocked_ns,
            runq_ns: rec.call.runq_ns,
            text,
            user_stack,
            kernel_stack,
            goroutine: rec.goroutine,
        };
        if let Some(lines) = &mut self.lines {
            lines.print(&call);
        }
        if let Some(slow) = &mut self.aggregator.slow {
            slow.count_stack_failures(&rec);
            slow.stack_failures.binaries_unreadable = self.stacks.as_ref().map_or(0, Stacks::unreadable_files);
            slow.record(call);
        }
    }
}
