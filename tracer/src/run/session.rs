//! One tracing run: attach, drain the ring buffer into the aggregator until the traced
//! processes exit, the duration ends or the user interrupts, then report.
use std::{
    collections::HashSet,
    io::Write,
    os::unix::ffi::OsStrExt,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use aya::maps::{MapData, RingBuf};
use tokio::{
    io::{unix::AsyncFd, Interest},
    signal::unix::{signal, SignalKind},
    sync::mpsc,
};

use super::{
    reader::{Reader, DRAIN_BATCH},
    go_watch::GoWatch,
    target::{self, CgroupTarget, SpawnedChild},
};
use crate::{
    host::{
        own_usage::OwnUsage,
        cgroup_cpu::{CpuCgroup, ThrottleWatch},
        cgroupfs, names,
    },
    kernel::{
        probes::{AttachMode, ProbeConfig, Probes, SlowConfig},
        startup::StartupTimes,
    },
    model::{
        {aggregate::Aggregator, table::StatsTable},
        cpu_quota::Throttling,
        go_runtime::GoSeen,
        groups::{CgroupName, GroupBy, Groups},
        net::NetStats,
        slow::SlowCalls,
    },
    report::{
        sink::{Control, IntervalSink, Tick},
        format::{self, WallClock},
        rows::SortKey,
        slow::{self, SlowLines},
        summary::{self, RunFacts},
    },
    syscalls::{
        fd_class::{io_slots, kernel_syscall_flags},
        format::escape,
        selection::Selection,
    },
};

/// How often the ring buffer is drained when the kernel has not woken us (it only wakes the
/// reader once a batch is waiting, to keep the per-syscall cost low).
const DRAIN_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Clone, Debug)]
pub struct TraceOptions {
    pub pids: Vec<u32>,
    pub command: Vec<String>,
    pub follow_forks: bool,
    pub sched_split: bool,
    pub net: bool,
    pub selected: Selection,
    pub attach: AttachMode,
    pub duration: Option<Duration>,
    pub ring_bytes: u32,
    /// Length of an interval for the interval sinks.
    pub interval: Duration,
    /// Print where start-up time went, phase by phase.
    pub startup_times: bool,
    /// Print what tracing cost the tracer itself, at the end.
    pub own_usage: bool,
    /// `--events`: every call through the ring buffer, none counted in the kernel.
    pub events: bool,
    /// `--slow`: calls that take at least this long are shown one by one.
    pub slow: Option<SlowConfig>,
    /// With `--slow`: the slowest calls the summary keeps whole.
    pub slowest: usize,
    /// `--cgroup`: cgroup v2 directories whose processes are traced, those started later too.
    pub cgroups: Vec<std::path::PathBuf>,
    /// `--by`: the tables again per group of processes, at most `max_groups` of them.
    pub by: Option<GroupBy>,
    pub max_groups: usize,
}


pub struct Outcome {
    pub totals: StatsTable,
    pub net: NetStats,
    pub slow: Option<SlowCalls>,
    /// With `--by`: the tables per group.
    pub groups: Option<Groups>,
    /// CPU quota and throttling of the traced cgroups over the whole run.
    pub throttling: Vec<Throttling>,
    /// The Go programs among the traced processes.
    pub go: Vec<GoSeen>,
    /// Slow-call records the kernel could not send (their calls are in the tables).
    pub lost_slow: u64,
    pub clock: WallClock,
    /// Where the slow calls' lines went, for the summary to follow them.
    pub slow_out: Option<Box<dyn Write + Send>>,
    pub facts: RunFacts,
    /// Exit code of the spawned command, if there was one and it exited.
    pub command_exit: Option<i32>,
    /// Wall-clock start and end of the trace.
    pub started_at: std::time::SystemTime,
    pub ended_at: std::time::SystemTime,
}

impl Outcome {
    /// The share of the traced syscalls' time spent waiting in the run queue, if measured.
    pub fn runq_share(&self) -> Option<f64> {
        let (runq, total) = self.totals.syscalls().fold((0u64, 0u64), |(r, t), (_, s)| (r + s.runq_ns, t + s.total_ns));
        (self.facts.sched_split && total > 0).then(|| runq as f64 / total as f64)
    }

    pub fn summary(&self, sort: SortKey) -> String {
        let mut text = summary::render(&self.totals, &self.facts, sort, Some(&self.net));
        if let Some(groups) = &self.groups {
            text.push_str(&summary::render_groups(groups, &self.facts, sort));
        }
        text.push_str(&summary::render_cpu_limits(&self.throttling, &self.go, self.runq_share()));
        if let Some(slow) = &self.slow {
            text.push_str(&slow::render(slow, self.lost_slow, &self.clock, self.facts.sched_split));
        }
        text.push_str(&summary::render_footer(&self.totals, &self.facts));
        text
    }
}

/// Traces until the end; slow calls are printed to `slow_out` as they arrive, if given.
pub fn run(options: &TraceOptions, sinks: &mut [Box<dyn IntervalSink>], slow_out: Option<Box<dyn Write + Send>>) -> Result<Outcome> {
    let mut times = StartupTimes::default();
    let targets: Vec<u32> = options.pids.iter().map(|&pid| target::resolve_pid(pid)).collect::<Result<_>>()?;
    let cgroups: Vec<CgroupTarget> = options.cgroups.iter().map(|path| target::resolve_cgroup(path)).collect::<Result<_>>()?;
    // Single-threaded, so forking the command below stays safe. Signal handlers are installed
    // now, so a Ctrl-C that comes right after "attached" still ends with a summary.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("tokio runtime")?;
    let stop = {
        let _context = runtime.enter();
        StopSignals::new()?
    };
    // Fork before loading anything or starting threads; the child waits before execve.
    let mut child = match options.command.is_empty() {
        true => None,
        false => Some(SpawnedChild::spawn(&options.command)?),
    };
    let mut roots = targets.clone();
    roots.extend(child.as_ref().map(|c| c.pid));
    let config = probe_config(options, &roots, &cgroups);
    times.lap("targets");
    let mut probes = Probes::load(&config, &mut times)?;
    if options.slow.is_some() {
        for &tgid in &targets {
            probes.goroutine_layout(tgid, goroutine_layout(tgid));
        }
    }
    for line in &probes.replacements {
        eprintln!("tracer: {line}");
    }
    let clock = WallClock::now();
    let mut reader = start_reader(options, sinks, &targets, &roots, &cgroups, slow_out.map(|out| SlowLines::new(out, clock, options.sched_split)));
    if let Some(child) = &child {
        reader.hint_exe(child.pid, child.program_path.clone());
    }
    times.lap("/proc scan");
    if options.startup_times {
        let line = format!("tracer: start-up: {times}");
        eprintln!("{line}"); // one write
    }
    for &tgid in &targets {
        eprintln!("tracer: attached to process {tgid} ({})", escape(names::comm(tgid)));
    }
    if let Some(child) = child.as_mut() {
        child.release()?;
    }

    let own_usage = options.own_usage.then(OwnUsage::start);
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let mut session = Session {
        options,
        watchers: Watchers::start(&cgroups, &roots),
        probes,
        reader,
        removed: vec![false; cgroups.len()],
        roots,
        cgroups,
        command: child.as_ref().map(|c| c.pid),
        live: HashSet::new(),
        seen: 0,
        exited: mpsc::unbounded_channel().0,
        stopping: None,
        ending: Ending::Done,
        drain_ticks: 0,
        intervals: IntervalClock::new(options.sched_split),
    };
    let (processes, ended) = runtime.block_on(session.run(stop, sinks))?;
    let Session { probes, mut reader, mut watchers, .. } = session;
    let lost_slow = probes.lost_slow_records()?;
    log::debug!("records received: {}", reader.received.line());
    if let Some(own_usage) = own_usage {
        let totals = &reader.aggregator.total;
        eprintln!("{}", own_usage.line(totals.events + totals.kernel_calls, probes.program_run_time()));
    }
    let facts = RunFacts { lost: probes.lost_events()?, duration: started.elapsed(), processes, sched_split: options.sched_split };
    let command_exit = match (child.as_ref().and_then(SpawnedChild::exit_code), ended) {
        // Stopped because the user asked for a duration or quit the view: that is success.
        (Some(_), Ending::CommandStopped(StopRequest::Duration | StopRequest::Quit)) => Some(0),
        (code, _) => code,
    };
    let slow_out = reader.take_lines().map(SlowLines::into_inner);
    let aggregator = reader.aggregator;
    Ok(Outcome {
        totals: aggregator.total,
        net: aggregator.net,
        slow: aggregator.slow,
        groups: aggregator.groups,
        throttling: watchers.cpu.read(),
        go: {
            watchers.go.settle(Duration::from_secs(1));
            watchers.go.found()
        },
        lost_slow,
        clock,
        slow_out,
        facts,
        command_exit,
        started_at,
        ended_at: std::time::SystemTime::now(),
    })
}

/// What the kernel programs are loaded for: the options, the processes traced from the start
/// and the cgroups.
fn probe_config(options: &TraceOptions, roots: &[u32], cgroups: &[CgroupTarget]) -> ProbeConfig {
    ProbeConfig {
    selected: options.selected.delivered(options.slow.is_some()),
    attach: options.attach,
    follow_forks: options.follow_forks,
    sched_split: options.sched_split,
    net: options.net,
    tgids: roots.to_vec(),
    ring_bytes: options.ring_bytes,
    syscall_flags: kernel_syscall_flags(options.slow.is_some(), options.net),
    slow: options.slow,
    cgroups: cgroups.iter().map(|c| (c.id, c.level)).collect(),
    // For `--by`, and for cgroup targets, whose processes are counted as they end (their
    // calls may all be counted in the kernel).
    process_exits: options.by.is_some() || !cgroups.is_empty(),
    kernel_counts: !options.events,
    groups: options.by.map(|_| Groups::indices(options.max_groups) as u32),
    io_slots: io_slots(),
}
}

/// Where `goid` is in the `g` of process `tgid`'s program, if it is a Go program whose layout is
/// known (read from its build info, through /proc/PID/exe).
fn goroutine_layout(tgid: u32) -> Option<u32> {
    let build = crate::host::go::read_build_info(std::path::Path::new(&format!("/proc/{tgid}/exe"))).ok()??;
    crate::model::go_runtime::goid_offset(&build.version)
}

/// The reader, with the model it feeds, and what /proc says of the targets' fds now, before
/// anyone is told "attached": a process that uses an fd and exits right after may be gone
/// before the reader could look.
fn start_reader(
    options: &TraceOptions,
    sinks: &[Box<dyn IntervalSink>],
    targets: &[u32],
    roots: &[u32],
    cgroups: &[CgroupTarget],
    lines: Option<SlowLines>,
) -> Reader {
    let mut aggregator = Aggregator::new(sinks.iter().any(|sink| sink.wants_intervals()), options.selected.clone());
    aggregator.slow = options.slow.map(|slow| SlowCalls::new(slow.threshold_ns, options.slowest));
    aggregator.groups = options.by.map(|by| {
        let names = cgroups.iter().map(|c| CgroupName { relative: c.relative.clone(), dir: c.path.clone() }).collect();
        Groups::new(by, names, options.max_groups, cgroupfs::cgroup2_root().ok())
    });
    for &tgid in roots {
        aggregator.net.learn_fds(tgid);
    }
    let mut reader = Reader::new(aggregator, options.slow.as_ref().is_some_and(|slow| slow.stacks != 0), lines);
    // A spawned command's map is read after its execve, at its first slow call.
    for &tgid in targets {
        reader.watch(tgid);
    }
    if !cgroups.is_empty() {
        reader.tgids = Some(HashSet::new());
    }
    for cgroup in cgroups {
        let members = cgroupfs::cgroup_processes(&cgroup.path);
        reader.tgids.get_or_insert_with(HashSet::new).extend(&members);
        for &tgid in &members {
            reader.aggregator.net.learn_fds(tgid);
            reader.watch(tgid);
        }
        let plural = if members.len() == 1 { "" } else { "es" };
        eprintln!(
            "tracer: attached to cgroup {} ({} process{plural} now, and any started in it later)",
            escape(cgroup.path.as_os_str().as_bytes()),
            members.len()
        );
    }
    reader
}

/// Why the trace was asked to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StopRequest {
    Interrupt,
    Terminate,
    Duration,
    Quit,
}

/// How the trace ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// Every traced process exited, or nothing had to be stopped first.
    Done,
    /// The spawned command was still running when a stop was requested and was signalled.
    CommandStopped(StopRequest),
}

/// How long a spawned command has, once told to stop, before the next, harder signal.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Stopping a spawned command that is still running, the way `timeout` and strace do: it gets
/// SIGTERM (after Ctrl-C, first the terminal's own SIGINT, which it already has), then SIGKILL;
/// the trace goes on meanwhile, so its last syscalls are counted.
struct CommandStop {
    pid: u32,
    /// Signals still to send, one per grace period.
    next_signals: &'static [libc::c_int],
    deadline: tokio::time::Instant,
}

impl CommandStop {
    fn start(pid: u32, request: StopRequest) -> Self {
        let mut stop = Self { pid, next_signals: &[libc::SIGTERM, libc::SIGKILL], deadline: tokio::time::Instant::now() };
        if request == StopRequest::Interrupt {
            // The terminal sent SIGINT to the whole foreground group: give the command its grace.
            stop.deadline += STOP_GRACE;
        } else {
            stop.escalate();
        }
        stop
    }

    /// Sends the next signal; false once there is none left.
    fn escalate(&mut self) -> bool {
        let Some((&signal, rest)) = self.next_signals.split_first() else { return false };
        // SAFETY: kill(2) on our own child's pid; it is not reaped before the trace ends.
        unsafe { libc::kill(self.pid as libc::pid_t, signal) };
        self.next_signals = rest;
        self.deadline = tokio::time::Instant::now() + STOP_GRACE;
        true
    }
}

/// One trace while it runs: the loaded programs, the reader, and what the loop watches. The
/// loop in [`Session::run`] waits on its sources; each step is a method.
struct Session<'a> {
    options: &'a TraceOptions,
    probes: Probes,
    reader: Reader,
    /// The processes traced from the start (`-p` and the spawned command), and the cgroups.
    roots: Vec<u32>,
    cgroups: Vec<CgroupTarget>,
    /// The spawned command.
    command: Option<u32>,
    watchers: Watchers,
    /// Traced processes still running, and how many were traced in all.
    live: HashSet<u32>,
    seen: usize,
    exited: mpsc::UnboundedSender<u32>,
    stopping: Option<CommandStop>,
    ending: Ending,
    /// Traced cgroups found removed.
    removed: Vec<bool>,
    drain_ticks: u64,
    intervals: IntervalClock,
}

/// What one turn of the loop asks of it.
enum Turn {
    Continue,
    Request(StopRequest),
    End,
}

impl Session<'_> {
    /// Runs the trace until it ends; returns the number of processes traced and how it ended.
    async fn run(&mut self, mut stop: StopSignals, sinks: &mut [Box<dyn IntervalSink>]) -> Result<(usize, Ending)> {
        let options = self.options;
        let ring = self.probes.take_ring().context("ring buffer already taken")?;
        let mut ring = readable_fd(ring).context("cannot poll the ring buffer")?;
        let mut intervals = tokio::time::interval_at(tokio::time::Instant::now() + options.interval, options.interval);
        intervals.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (exited_tx, mut exited_rx) = mpsc::unbounded_channel();
        self.exited = exited_tx;
        for tgid in self.roots.clone() {
            self.reader.traced(tgid);
            self.follow(tgid);
        }
        let deadline = tokio::time::sleep(options.duration.unwrap_or(Duration::MAX));
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(DRAIN_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let turn = tokio::select! {
                guard = ring.readable_mut() => {
                    let mut guard = guard.context("ring buffer poll")?;
                    if self.reader.drain(guard.get_inner_mut()) {
                        guard.clear_ready();
                    } else {
                        // Records are still waiting, so the fd stays ready and this branch would win
                        // every turn without ever returning to the runtime, whose timers and signals
                        // only advance when the task yields: Ctrl-C, -d and intervals would wait
                        // until the ring happened to empty (minutes, under a busy process).
                        tokio::task::yield_now().await;
                    }
                    Turn::Continue
                }
                _ = tick.tick() => self.on_drain_tick(ring.get_mut())?,
                Some(tgid) = exited_rx.recv() => self.on_exit(ring.get_mut(), tgid)?,
                _ = stop.interrupt.recv() => Turn::Request(StopRequest::Interrupt),
                _ = stop.terminate.recv() => Turn::Request(StopRequest::Terminate),
                _ = &mut deadline, if options.duration.is_some() && self.stopping.is_none() => Turn::Request(StopRequest::Duration),
                _ = tokio::time::sleep_until(self.stopping.as_ref().map_or_else(tokio::time::Instant::now, |s| s.deadline)), if self.stopping.is_some() => {
                    match self.stopping.as_mut().is_some_and(CommandStop::escalate) {
                        true => Turn::Continue,
                        false => Turn::End, // not gone even after SIGKILL's grace: stop waiting for it
                    }
                }
                _ = intervals.tick(), if !sinks.is_empty() => self.on_interval(ring.get_mut(), sinks)?,
            };
            let turn = match turn {
                Turn::Request(request) => self.on_request(request),
                turn => turn,
            };
            if matches!(turn, Turn::End) {
                break;
            }
            self.follow_forks();
            self.look_at_execs();
            if self.finished() {
                break;
            }
        }
        self.wind_up(ring.get_mut(), sinks)?;
        Ok((self.seen, self.ending))
    }

    /// Follows a process from now: its exit ends its part of the trace.
    fn follow(&mut self, tgid: u32) {
        if self.live.insert(tgid) {
            self.seen += 1;
            watch_exit(tgid, self.exited.clone());
        }
    }

    /// The programs exec'd since the last look (with `--slow`): their goroutines' layout.
    fn look_at_execs(&mut self) {
        for tgid in std::mem::take(&mut self.reader.execs) {
            self.probes.goroutine_layout(tgid, goroutine_layout(tgid));
        }
    }

    /// The children the kernel started tracing (`-f`).
    fn follow_forks(&mut self) {
        for child in std::mem::take(&mut self.reader.forks) {
            self.reader.watch(child);
            self.follow(child);
        }
    }

    /// Every traced process is gone, or the command being stopped is. Traced cgroups are
    /// watched until removed, however many processes they have now.
    fn finished(&self) -> bool {
        (self.live.is_empty() && self.cgroups.is_empty()) || self.stopping.as_ref().is_some_and(|stop| !self.live.contains(&stop.pid))
    }

    /// A tenth of a second passed: take what is waiting, tell the kernel what it can now
    /// count, and once a second forget what exited; a removed cgroup ends its part of the
    /// trace, and the last one the trace.
    fn on_drain_tick(&mut self, ring: &mut RingBuf<MapData>) -> Result<Turn> {
        self.reader.drain(ring);
        self.reader.tell_kernel(self.probes.kernel_counts())?;
        self.drain_ticks += 1;
        if self.drain_ticks.is_multiple_of(10) {
            self.reader.housekeep();
            self.reader.reclaim_thread_rows(self.probes.kernel_counts())?;
            let seen = self.reader.tgids.iter().flatten().copied();
            self.watchers.housekeep(self.live.iter().copied().chain(seen));
        }
        for (cgroup, gone) in self.cgroups.iter().zip(self.removed.iter_mut()) {
            if !*gone && !cgroup.path.exists() {
                *gone = true;
                if self.cgroups.len() > 1 {
                    self.reader.drain_backlog(ring);
                    eprintln!("tracer: cgroup {} was removed{}", escape(cgroup.path.as_os_str().as_bytes()), seen_in(&self.reader.aggregator, cgroup));
                }
            }
        }
        if !self.cgroups.is_empty() && self.removed.iter().all(|&gone| gone) {
            eprintln!("tracer: the traced cgroup{} removed", if self.cgroups.len() == 1 { " was" } else { "s were" });
            self.reader.drain_backlog(ring);
            return Ok(Turn::End);
        }
        Ok(Turn::Continue)
    }

    /// A traced process exited: everything it did is in the ring by now, taken before deciding.
    fn on_exit(&mut self, ring: &mut RingBuf<MapData>, tgid: u32) -> Result<Turn> {
        self.reader.drain_backlog(ring);
        self.live.remove(&tgid);
        self.probes.untrace(tgid)?;
        Ok(Turn::Continue)
    }

    /// An interval ended: its figures go to every sink.
    fn on_interval(&mut self, ring: &mut RingBuf<MapData>, sinks: &mut [Box<dyn IntervalSink>]) -> Result<Turn> {
        // The kernel wakes the reader only once 1/8 of the ring is full: take what is waiting
        // (about that much at most, in records of at least 64 bytes), so that the interval
        // holds its own events rather than the previous interval's tail.
        let unwoken_batches = (self.options.ring_bytes as usize / 8 / 64).div_ceil(DRAIN_BATCH);
        self.reader.drain_batches(ring, unwoken_batches);
        self.reader.record_kernel_counts(self.probes.kernel_counts())?;
        let lost = self.probes.lost_events()?;
        Ok(match self.tick_sinks(sinks, lost, false)? {
            Control::Continue => Turn::Continue,
            Control::Reset => {
                self.reader.aggregator.reset();
                Turn::Continue
            }
            Control::Stop => Turn::Request(StopRequest::Quit),
        })
    }

    fn tick_sinks(&mut self, sinks: &mut [Box<dyn IntervalSink>], lost: u64, last: bool) -> Result<Control> {
        let cpu = &mut self.watchers.cpu;
        (self.intervals.throttling, self.intervals.throttling_interval) = (cpu.read(), cpu.read_interval());
        self.intervals.go = self.watchers.go.found();
        self.intervals.tick(&mut self.reader.aggregator, sinks, lost, &self.live, last)
    }

    /// Asked to stop: a spawned command still running is stopped first (the trace goes on
    /// meanwhile); otherwise the trace ends.
    fn on_request(&mut self, request: StopRequest) -> Turn {
        match (&mut self.stopping, self.command.filter(|pid| self.live.contains(pid))) {
            // A second Ctrl-C or SIGTERM while waiting: no more patience. (A closed view says
            // Stop at every interval: that is no new request.)
            (Some(stop), _) if matches!(request, StopRequest::Interrupt | StopRequest::Terminate) => match stop.escalate() {
                true => Turn::Continue,
                false => Turn::End,
            },
            (Some(_), _) => Turn::Continue,
            (None, Some(pid)) => {
                self.stopping = Some(CommandStop::start(pid, request));
                self.ending = Ending::CommandStopped(request);
                Turn::Continue
            }
            (None, None) => Turn::End,
        }
    }

    /// The trace is over: the last records and counts, every traced process in its group, the
    /// last interval to the sinks, and how many processes were traced.
    fn wind_up(&mut self, ring: &mut RingBuf<MapData>, sinks: &mut [Box<dyn IntervalSink>]) -> Result<()> {
        let reader = &mut self.reader;
        reader.drain_backlog(ring);
        reader.record_kernel_counts(self.probes.kernel_counts())?;
        reader.aggregator.net.connections_seen(self.probes.connections_seen()?);
        if let Some(tgids) = &mut reader.tgids {
            // Those still there: their calls may all have been counted in the kernel.
            for cgroup in &self.cgroups {
                tgids.extend(cgroupfs::cgroup_processes(&cgroup.path));
            }
        }
        for tgid in reader.tgids.clone().into_iter().flatten() {
            reader.traced(tgid);
        }
        if let Some(groups) = &mut reader.aggregator.groups {
            groups.place_pending();
        }
        if !sinks.is_empty() {
            let lost = self.probes.lost_events()?;
            self.tick_sinks(sinks, lost, true)?;
            for sink in sinks.iter_mut() {
                sink.finish()?;
            }
        }
        if let Some(processes) = self.reader.processes_seen() {
            // With cgroups: the processes seen in them, and the -p ones.
            let tgids = self.reader.tgids.as_ref();
            self.seen = processes + self.roots.iter().filter(|tgid| !tgids.is_some_and(|t| t.contains(tgid))).count();
        }
        Ok(())
    }
}

/// What the trace watches besides the ring buffer: the traced cgroups' CPU quota and throttling,
/// and the Go programs among the processes.
struct Watchers {
    cpu: ThrottleWatch,
    /// Traced cgroups whose CPU controller is not found yet: on a hybrid system it is found
    /// through a process in them, and they may have none yet.
    cpu_pending: Vec<std::path::PathBuf>,
    go: GoWatch,
}

impl Watchers {
    fn start(cgroups: &[CgroupTarget], roots: &[u32]) -> Self {
        let mut watchers = Self { cpu: ThrottleWatch::default(), cpu_pending: Vec::new(), go: GoWatch::default() };
        // Not the root (`--all`): it has no quota of its own.
        watchers.cpu_pending = cgroups.iter().filter(|c| c.level > 0).map(|c| c.path.clone()).collect();
        watchers.find_cpu_cgroups();
        for cgroup in roots.iter().filter_map(|&pid| CpuCgroup::of_pid(pid).ok().flatten()) {
            watchers.watch(cgroup);
        }
        watchers
    }

    fn watch(&mut self, cgroup: CpuCgroup) {
        if let Err(e) = self.cpu.add(cgroup) {
            log::warn!("cpu quota: {e:#}");
        }
    }

    fn find_cpu_cgroups(&mut self) {
        let pending = std::mem::take(&mut self.cpu_pending);
        for dir in pending {
            match CpuCgroup::of_v2_dir(&dir) {
                Ok(Some(cgroup)) => self.watch(cgroup),
                Ok(None) => self.cpu_pending.push(dir),
                Err(_) => {} // removed
            }
        }
    }

    /// Once a second: the processes that have run for a while are looked at (once each).
    fn housekeep(&mut self, processes: impl Iterator<Item = u32>) {
        self.find_cpu_cgroups();
        for pid in processes {
            self.go.look_at(pid);
        }
    }
}

/// What was seen of a removed cgroup, for the line that says so (with `--by cgroup`).
fn seen_in(aggregator: &Aggregator, cgroup: &CgroupTarget) -> String {
    let Some(group) = aggregator.groups.as_ref().and_then(|groups| groups.of_cgroup(&cgroup.relative)) else {
        return String::new();
    };
    let (calls, ns) = group.table.syscalls().fold((0, 0), |(calls, ns), (_, s)| (calls + s.calls, ns + s.total_ns));
    let plural = if group.processes == 1 { "" } else { "es" };
    format!(": {calls} syscalls, {} in them, {} process{plural}", format::format_ns(ns), group.processes)
}

/// Cuts the run into intervals for the sinks.
struct IntervalClock {
    started: Instant,
    interval_start: Duration,
    /// Intervals ended so far.
    count: u64,
    /// CPU quota and throttling of the traced cgroups, since the start and in the last interval.
    throttling: Vec<Throttling>,
    throttling_interval: Vec<Throttling>,
    /// The Go programs found so far.
    go: Vec<GoSeen>,
    /// Whether calls' time is split (not `--no-sched`).
    time_split: bool,
}

impl IntervalClock {
    fn new(time_split: bool) -> Self {
        Self { started: Instant::now(), interval_start: Duration::ZERO, count: 0, throttling: Vec::new(), throttling_interval: Vec::new(), go: Vec::new(), time_split }
    }

    /// Ends the current interval, hands it to every sink, and says what they want next.
    fn tick(
        &mut self,
        aggregator: &mut Aggregator,
        sinks: &mut [Box<dyn IntervalSink>],
        lost: u64,
        live: &HashSet<u32>,
        last: bool,
    ) -> Result<Control> {
        let now = self.started.elapsed();
        let interval = aggregator.take_interval();
        self.count += 1;
        if let Some(groups) = &mut aggregator.groups {
            let retire = sinks.iter().all(|sink| sink.retire_ended());
            groups.end_interval(self.count, retire);
        }
        let tick = Tick {
            start: self.interval_start,
            length: now - self.interval_start,
            interval: &interval,
            total: &aggregator.total,
            lost,
            live,
            net: &aggregator.net,
            slow: aggregator.slow.as_ref(),
            groups: aggregator.groups.as_ref(),
            throttling: &self.throttling,
            throttling_interval: &self.throttling_interval,
            time_split: self.time_split,
            go: &self.go,
            last,
        };
        self.interval_start = now;
        let mut control = Control::Continue;
        for sink in sinks.iter_mut() {
            match sink.on_interval(&tick)? {
                Control::Continue => {}
                other => control = other,
            }
        }
        Ok(control)
    }
}

/// SIGINT (Ctrl-C) and SIGTERM end the trace with a summary instead of killing the tracer.
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("SIGINT handler")?,
            terminate: signal(SignalKind::terminate()).context("SIGTERM handler")?,
        })
    }
}

/// Sends `tgid` on `exited` once the process has exited (at once if it already has).
fn watch_exit(tgid: u32, exited: mpsc::UnboundedSender<u32>) {
    let Some(fd) = target::pidfd(tgid) else {
        let _ = exited.send(tgid);
        return;
    };
    tokio::spawn(async move {
        if let Ok(fd) = readable_fd(fd) {
            let _ = fd.readable().await;
        }
        let _ = exited.send(tgid);
    });
}

/// Registers an owned descriptor with the reactor for readability.
fn readable_fd<T: std::os::fd::AsRawFd>(owner: T) -> Result<AsyncFd<T>> {
    // SAFETY: `owner` owns its descriptor (a map fd or a pidfd) and keeps it open, unchanged,
    // for as long as the AsyncFd holds it.
    unsafe { AsyncFd::register_with_interest(owner, Interest::READABLE) }.map_err(|e| anyhow::anyhow!("{e}"))
}
