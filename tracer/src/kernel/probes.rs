//! Loading and attaching the kernel programs, and the userspace handles on their maps.
use std::{
    fs,
    path::Path,
    sync::atomic::Ordering,
    time::Duration,
};

use anyhow::{anyhow, bail, Context, Result};
use aya::{
    maps::{Array, HashMap, MapData, PerCpuArray, RingBuf},
    programs::{BtfTracePoint, FEntry, FExit, KProbe, TracePoint},
    Btf, Ebpf, EbpfLoader,
};
use aya_obj::btf::BtfKind;
use tracer_common::{CONN_ENTRIES, CONN_ROWS, CONN_ROW_WORDS, FENTRY_SLOTS, HIST_BUCKETS, IO_HIST_WORDS_PER_KIND, IO_KINDS, IO_SLOTS, LOST_EVENTS, LOST_SLOW, MAX_CGROUPS, MAX_SYSCALLS, SYSCALL_IO_SLOT_SHIFT, SYSCALL_NEEDS_EVENT, SYSCALL_SOCKET_FD_ARG0, SYSCALL_WORDS};

use super::{btf::{self, KernelBtf}, connection_counts::ConnectionCounts, features::KernelFeatures, kernel_counts::{GroupRows, KernelCounts}, mapped::MappedWords, startup::StartupTimes, syscall_set::SyscallSet, syscall_table};

static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tracer.bpf.o"));

/// Most per-thread slots: 2^18 × 80 bytes = 20 MiB, where `pid_max` is 4M. Tids that share a
/// slot and are in syscalls at once lose an event, counted as lost.
const MAX_SLOTS: u32 = 1 << 18;
const BTF_PATH: &str = "/sys/kernel/btf/vmlinux";
/// With `--by`: processes placed in groups at once, for the kernel to count their calls per
/// group (about 1 MiB of map); past it, a process's calls are sent as events.
const MAX_GROUPED_PROCESSES: u32 = 16384;
const TRACEFS: &str = "/sys/kernel/tracing";

/// How syscalls are hooked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AttachMode {
    /// The `sys_enter`/`sys_exit` tracepoints: every syscall of every process passes through
    /// them (untraced ones are dropped by the first check).
    #[default]
    Tracepoint,
    /// fentry/fexit on each selected syscall's handler: nothing else pays anything.
    Fentry,
    /// kprobes/kretprobes on each selected syscall's handler, where fentry is refused.
    Kprobe,
}

impl AttachMode {
    /// The per-syscall hooks to try, in order, before the tracepoints.
    fn per_syscall_hooks(self) -> &'static [AttachMode] {
        match self {
            AttachMode::Tracepoint => &[],
            AttachMode::Fentry => &[AttachMode::Fentry, AttachMode::Kprobe],
            AttachMode::Kprobe => &[AttachMode::Kprobe],
        }
    }

    fn name(self) -> &'static str {
        match self {
            AttachMode::Tracepoint => "the sys_enter/sys_exit tracepoints",
            AttachMode::Fentry => "fentry",
            AttachMode::Kprobe => "kprobes",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ProbeConfig {
    /// `None`: every syscall.
    pub selected: Option<SyscallSet>,
    pub attach: AttachMode,
    pub follow_forks: bool,
    /// Attach the scheduler tracepoints that split each syscall's time into on-CPU, run queue
    /// and blocked.
    pub sched_split: bool,
    /// Attach the socket tracepoints: per-connection figures, connect latency.
    pub net: bool,
    /// Every process traced from the start (more may follow with `follow_forks`).
    pub tgids: Vec<u32>,
    /// Ring-buffer size in bytes (a power of two, at least one page).
    pub ring_bytes: u32,
    /// The kernel's `SYSCALL_*` flags, by syscall number (only the numbers with any).
    pub syscall_flags: Vec<(u32, u32)>,
    /// `--slow`: calls that take at least this long are sent whole (arguments, stacks).
    pub slow: Option<SlowConfig>,
    /// `--cgroup`: (id, level) of each cgroup v2 whose processes are traced, descendants too.
    pub cgroups: Vec<(u64, u32)>,
    /// Send a record when a traced process ends (`--by`, and cgroup targets).
    pub process_exits: bool,
    /// Count in the kernel the calls that need no event of their own (not `--events`).
    pub kernel_counts: bool,
    /// With `--by` and `kernel_counts`: how many group indices the kernel counts per group (the
    /// calls of groups past them are sent as events).
    pub groups: Option<u32>,
    /// The read/write-family syscalls, by I/O slot: their reads and writes of pipes, files and
    /// other fds are counted in the kernel too.
    pub io_slots: Vec<u32>,
}

#[derive(Clone, Debug)]
pub struct SlowConfig {
    pub threshold_ns: u64,
    /// `STACKS_USER` | `STACKS_KERNEL`, or 0.
    pub stacks: u32,
    /// What each syscall's record copies from user memory (`SLOW_COPY_*` encoding), by number.
    pub user_args: Vec<(u32, u32)>,
}

/// What the kernel counted of the programs' runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProgramRunTime {
    pub time: Duration,
    pub runs: u64,
}

/// The run time of `ebpf`'s loaded programs, where the kernel counts it
/// (`kernel.bpf_stats_enabled=1`).
pub fn program_run_time(ebpf: &Ebpf) -> Option<ProgramRunTime> {
    let enabled = fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled").is_ok_and(|s| s.trim() == "1");
    enabled.then(|| {
        // Programs of the object that were not loaded have no info.
        let infos = ebpf.programs().filter_map(|(_, program)| program.info().ok());
        infos.fold(ProgramRunTime::default(), |sum, info| ProgramRunTime { time: sum.time + info.run_time(), runs: sum.runs + info.run_count() })
    })
}

/// The loaded, attached programs. Dropping it detaches everything.
pub struct Probes {
    // Keeps programs and links alive.
    ebpf: Ebpf,
    traced: MappedWords,
    lost: PerCpuArray<MapData, u64>,
    ring: Option<RingBuf<MapData>>,
    kernel_counts: Option<KernelCounts>,
    /// One line per feature this kernel serves another way than the newest kernels (see
    /// `KernelFeatures::replacements`), for the caller to say.
    pub replacements: Vec<String>,
}

impl Probes {
    /// Loads and attaches every program `config` asks for, then marks the targets traced: once
    /// this returns, their next syscall is seen. `times` gets a lap per phase.
    pub fn load(config: &ProbeConfig, times: &mut StartupTimes) -> Result<Self> {
        match Self::load_with(config, times, false) {
            // Tracing programs before 6.4 may lack the helper that finds a task's ancestor
            // cgroup: the kernel's own structs are walked instead.
            Err(err) if !config.cgroups.is_empty() && format!("{err:#}").contains("bpf_get_current_ancestor_cgroup_id") => {
                let mut probes = Self::load_with(config, times, true)?;
                probes.replacements.push(
                    "cgroups matched by walking task_struct.cgroups at BTF offsets: this kernel's tracing programs have no bpf_get_current_ancestor_cgroup_id"
                        .to_string(),
                );
                Ok(probes)
            }
            loaded => loaded,
        }
    }

    /// [`Probes::load`], with `cgroup_walk`: targets' cgroups matched by walking the task's.
    fn load_with(config: &ProbeConfig, times: &mut StartupTimes, cgroup_walk: bool) -> Result<Self> {
        check_privileges()?;
        if !Path::new(BTF_PATH).exists() {
            bail!("this kernel has no BTF ({BTF_PATH} is missing); tracer needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
        }
        raise_memlock_limit();
        // The kernel's BTF is parsed twice: by EbpfLoader::new() for its relocations (aya
        // keeps that copy private), and here for attaching BTF tracepoints and for the struct
        // offsets the scheduler and TCP programs read at. Ours is read and parsed on a thread
        // of its own while the loader parses its copy.
        let (struct_offsets_tx, struct_offsets) = std::sync::mpsc::channel();
        let (sched, net, fds) = (config.sched_split, config.net, config.kernel_counts);
        let our_btf = std::thread::spawn(move || -> Result<Btf> {
            let data = btf::read(BTF_PATH)?;
            let _ = struct_offsets_tx.send(btf_offsets(&data, sched, net, fds, cgroup_walk));
            Btf::parse(&data, object::Endianness::default()).context("cannot parse the kernel's BTF")
        });
        let pid_max = read_pid_max()?;
        let (nr_exit, nr_exit_group) = syscall_table::never_returning();
        let (nr_execve, nr_execveat) = syscall_table::exec_numbers();
        let filter_syscalls = u32::from(config.selected.is_some());
        let wakeup_bytes = u64::from(config.ring_bytes / 8);
        let slow_on = u32::from(config.slow.is_some());
        let slow_ns = config.slow.as_ref().map_or(0, |slow| slow.threshold_ns);
        let slow_stacks = config.slow.as_ref().map_or(0, |slow| slow.stacks);
        let only_tgid = match config.tgids.as_slice() {
            [only] if !config.follow_forks && config.cgroups.is_empty() => *only,
            _ => 0,
        };
        if config.cgroups.len() > MAX_CGROUPS {
            bail!("at most {MAX_CGROUPS} --cgroup targets");
        }
        let cgroup_count = config.cgroups.len() as u32;
        let self_tgid = std::process::id();
        let (mut cgroup_ids, mut cgroup_levels) = ([0u64; MAX_CGROUPS], [0u32; MAX_CGROUPS]);
        for (i, &(id, level)) in config.cgroups.iter().enumerate() {
            (cgroup_ids[i], cgroup_levels[i]) = (id, level);
        }
        let mut offsets: Vec<(&'static str, u32)> = Vec::new();
        if config.follow_forks {
            offsets.extend(field_offsets("task", "task_newtask", &[("NEWTASK_PID_OFFSET", "pid"), ("NEWTASK_FLAGS_OFFSET", "clone_flags")])?);
        }
        times.lap("field offsets");
        let slots = pid_max.next_power_of_two().min(MAX_SLOTS);
        let slot_mask = slots - 1;

        let aggregate_on = u32::from(config.kernel_counts);
        let groups = config.groups.filter(|_| config.kernel_counts);
        let groups_on = u32::from(groups.is_some());
        // TCP connections' calls counted per connection, with the socket tracepoints.
        let connections = config.kernel_counts && config.net;
        let connections_on = u32::from(connections);
        let io_hist_words = config.io_slots.len() as u32 * IO_KINDS * IO_HIST_WORDS_PER_KIND;
        let regs_bytes = syscall_table::regs_bytes_read();
        let mut loader = EbpfLoader::new();
        times.lap("BTF parse");
        let from_btf = struct_offsets.recv().map_err(|_| anyhow!("cannot read the kernel's BTF ({BTF_PATH})"));
        let (btf_offsets, features) = from_btf??;
        offsets.extend(btf_offsets);
        let mut replacements = features.replacements(config.sched_split, config.net);
        loader
            .map_max_entries("TRACED", pid_max.div_ceil(64))
            .map_max_entries("IN_FLIGHT", slots)
            .map_max_entries("EVENTS", config.ring_bytes)
            .map_max_entries("AGG_HIST", if config.kernel_counts { MAX_SYSCALLS * HIST_BUCKETS } else { 1 })
            // Sized for the read/write-family syscalls there are (19 on x86_64), not the room.
            .map_max_entries("IO_HIST", if config.kernel_counts { io_hist_words } else { 1 })
            .map_max_entries("GROUP_OF", if groups.is_some() { MAX_GROUPED_PROCESSES } else { 1 })
            .map_max_entries("CONN_ROW", if connections { CONN_ENTRIES } else { 1 })
            .map_max_entries("CONN_HIST", if connections { CONN_ROWS * CONN_ROW_WORDS } else { 1 })
            .map_max_entries("GROUP_ROW", groups.map_or(1, |groups| groups * MAX_SYSCALLS))
            // The benchmark's reference maps are made with the object's other maps; at their
            // full size (a histogram per syscall per CPU) they took over a second to allocate.
            .map_max_entries("REF_SLOTS", 1)
            .map_max_entries("REF_STATS", 1)
            .map_max_entries("REF_HIST", 1)
            // The kprobes' saved registers, by thread slot, only where kprobes may be used.
            .map_max_entries("KPROBE_REGS", if config.attach == AttachMode::Tracepoint { 1 } else { slots })
            .override_global("FILTER_SYSCALLS", &filter_syscalls, true)
            .override_global("NR_OFFSET", &syscall_table::NR_PT_REGS_OFFSET, true)
            .override_global("ARG_OFFSETS", &syscall_table::ARG_PT_REGS_OFFSETS, true)
            .override_global("REGS_COPY_BYTES", &regs_bytes, true)
            .override_global("SLOW_ON", &slow_on, true)
            .override_global("SLOW_NS", &slow_ns, true)
            .override_global("SLOW_STACKS", &slow_stacks, true)
            .override_global("NR_EXIT", &nr_exit, true)
            .override_global("NR_EXIT_GROUP", &nr_exit_group, true)
            .override_global("NR_EXECVE", &nr_execve, true)
            .override_global("NR_EXECVEAT", &nr_execveat, true)
            .override_global("WAKEUP_BYTES", &wakeup_bytes, true)
            .override_global("ONLY_TGID", &only_tgid, true)
            .override_global("SELF_TGID", &self_tgid, true)
            .override_global("CGROUP_COUNT", &cgroup_count, true)
            .override_global("CGROUP_IDS", &cgroup_ids, true)
            .override_global("CGROUP_LEVELS", &cgroup_levels, true)
            .override_global("SLOT_MASK", &slot_mask, true)
            .override_global("AGGREGATE_ON", &aggregate_on, true)
            .override_global("GROUPS_ON", &groups_on, true)
            .override_global("CONNECTIONS_ON", &connections_on, true);
        for (global, offset) in &offsets {
            loader.override_global(global, offset, true);
        }
        let mut ebpf = loader.load(EBPF_OBJECT).map_err(|e| anyhow!("cannot load the eBPF programs: {e}"))?;

        let mut flags: Array<_, u32> = Array::try_from(ebpf.map_mut("SYSCALL_FLAGS").context("map SYSCALL_FLAGS")?)?;
        for (nr, value) in with_io_slots(&config.syscall_flags, &config.io_slots)? {
            flags.set(nr, value, 0)?;
        }
        if let Some(slow) = &config.slow {
            let mut copies: Array<_, u32> = Array::try_from(ebpf.map_mut("SLOW_USER_ARG").context("map SLOW_USER_ARG")?)?;
            for &(nr, how) in &slow.user_args {
                copies.set(nr, how, 0)?;
            }
        }
        if let Some(selected) = &config.selected {
            let mut map: Array<_, u64> = Array::try_from(ebpf.map_mut("SELECTED").context("map SELECTED")?)?;
            for (index, word) in selected.words().iter().enumerate().take(SYSCALL_WORDS) {
                map.set(index as u32, word, 0)?;
            }
        }
        times.lap("maps");
        drop(loader); // and its copy of the BTF
        let btf = our_btf.join().map_err(|_| anyhow!("BTF parser panicked"))??;
        times.lap("BTF parse");

        let stack_hint = |e: anyhow::Error| match config.slow.as_ref().is_some_and(|slow| slow.stacks != 0) {
            true => e.context("with --stacks (bpf_get_stack); try without it"),
            false => e,
        };
        // fentry, then kprobes, where asked and possible; otherwise the tracepoints. A hook
        // other than the one asked for is said in one line, with why.
        let mut refused = Vec::new();
        let mut hooked = AttachMode::Tracepoint;
        for &hook in config.attach.per_syscall_hooks() {
            match attach_handlers(&mut ebpf, &btf, hook, config.selected.as_ref(), times) {
                Ok(()) => {
                    hooked = hook;
                    break;
                }
                Err(why) => {
                    unload_handlers(&mut ebpf);
                    refused.push(format!("{}: {why:#}", hook.name()));
                }
            }
        }
        if hooked == AttachMode::Tracepoint {
            attach_syscall_tracepoints(&mut ebpf, &btf, times).map_err(stack_hint)?;
        }
        if !refused.is_empty() {
            replacements.push(format!("syscalls hooked by {} ({})", hooked.name(), refused.join("; ")));
        }
        if config.follow_forks {
            attach_tracepoint(&mut ebpf, "task", "task_newtask", times)?;
        }
        if config.process_exits {
            attach_btf_tracepoint(&mut ebpf, &btf, "sched_process_exit", "sched_process_exit", times)?;
        }
        if config.sched_split {
            for name in ["sched_switch", "sched_wakeup", "sched_wakeup_new"] {
                attach_btf_tracepoint(&mut ebpf, &btf, name, name, times)?;
            }
        }
        if config.net {
            attach_btf_tracepoint(&mut ebpf, &btf, "inet_sock_set_state", "inet_sock_set_state", times)?;
            if features.socket_tracepoints {
                for name in ["sock_send_length", "sock_recv_length"] {
                    attach_btf_tracepoint(&mut ebpf, &btf, name, name, times)?;
                }
            }
        }

        let traced = MappedWords::new(Array::try_from(ebpf.take_map("TRACED").context("map TRACED")?)?).context("cannot map the traced-process bitmap")?;
        let lost = PerCpuArray::try_from(ebpf.take_map("LOST").context("map LOST")?)?;
        let ring = Some(RingBuf::try_from(ebpf.take_map("EVENTS").context("map EVENTS")?)?);
        let kernel_counts = match config.kernel_counts {
            true => {
                let mapped = |ebpf: &mut Ebpf, name: &str| -> Result<MappedWords> {
                    let map = Array::try_from(ebpf.take_map(name).with_context(|| format!("map {name}"))?)?;
                    MappedWords::new(map).with_context(|| format!("cannot map {name}"))
                };
                let totals = PerCpuArray::try_from(ebpf.take_map("AGG_TOTALS").context("map AGG_TOTALS")?)?;
                let io_totals = PerCpuArray::try_from(ebpf.take_map("IO_TOTALS").context("map IO_TOTALS")?)?;
                let (hist, io_hist) = (mapped(&mut ebpf, "AGG_HIST")?, mapped(&mut ebpf, "IO_HIST")?);
                let mut counts = KernelCounts::new(totals, hist, io_totals, io_hist, config.io_slots.clone());
                if connections {
                    let rows = HashMap::try_from(ebpf.take_map("CONN_ROW").context("map CONN_ROW")?)?;
                    counts = counts.with_connections(ConnectionCounts::new(rows, mapped(&mut ebpf, "CONN_HIST")?));
                }
                match groups {
                    None => Some(counts),
                    Some(groups) => {
                        let group_of = HashMap::try_from(ebpf.take_map("GROUP_OF").context("map GROUP_OF")?)?;
                        let rows = Array::try_from(ebpf.take_map("GROUP_ROW").context("map GROUP_ROW")?)?;
                        let mut countable = vec![true; MAX_SYSCALLS as usize];
                        for &(nr, flags) in &config.syscall_flags {
                            // Sent as events always, but for reads and writes.
                            if flags & SYSCALL_NEEDS_EVENT != 0 && flags & SYSCALL_SOCKET_FD_ARG0 == 0 {
                                countable[nr as usize] = false;
                            }
                        }
                        Some(counts.with_groups(GroupRows::new(group_of, rows, groups, countable)))
                    }
                }
            }
            false => None,
        };
        let mut probes = Self { ebpf, traced, lost, ring, kernel_counts, replacements };
        for &tgid in &config.tgids {
            probes.trace(tgid)?;
        }
        // Freed on another thread: unmapping a parsed BTF takes milliseconds. Then the memory
        // that the two parses and the loader freed is given back to the system (malloc keeps
        // it otherwise: tens of MiB, for the life of an agent).
        std::thread::spawn(move || {
            drop(btf);
            // SAFETY: no arguments to get wrong; it only releases free memory. glibc's alone (musl's
            // malloc gives freed memory back by itself).
            #[cfg(target_env = "gnu")]
            unsafe {
                libc::malloc_trim(0)
            };
        });
        times.lap("maps");
        Ok(probes)
    }

    /// Starts tracing process `tgid` (all its threads).
    fn trace(&mut self, tgid: u32) -> Result<()> {
        self.set_traced(tgid, true)
    }

    /// Stops tracing `tgid`, so that a later process reusing the pid is not traced.
    pub fn untrace(&mut self, tgid: u32) -> Result<()> {
        self.set_traced(tgid, false)
    }

    fn set_traced(&mut self, tgid: u32, on: bool) -> Result<()> {
        let word = self.traced.word((tgid / 64) as usize).with_context(|| format!("pid {tgid} is above pid_max"))?;
        let bit = 1u64 << (tgid % 64);
        match on {
            true => word.fetch_or(bit, Ordering::SeqCst),
            false => word.fetch_and(!bit, Ordering::SeqCst),
        };
        Ok(())
    }

    /// Events the kernel could not put in the ring buffer, summed over CPUs.
    pub fn lost_events(&self) -> Result<u64> {
        Ok(self.lost.get(&LOST_EVENTS, 0)?.iter().sum())
    }

    /// Slow-call records that did not fit (their calls were still sent as plain events).
    pub fn lost_slow_records(&self) -> Result<u64> {
        Ok(self.lost.get(&LOST_SLOW, 0)?.iter().sum())
    }

    /// The loaded programs' run time and runs, summed, where the kernel counts them
    /// (`kernel.bpf_stats_enabled`: off by default, as it costs two clock reads a run).
    pub fn program_run_time(&self) -> Option<ProgramRunTime> {
        program_run_time(&self.ebpf)
    }

    /// The calls counted in the kernel, when they are.
    pub fn kernel_counts(&mut self) -> Option<&mut KernelCounts> {
        self.kernel_counts.as_mut()
    }

    /// The ring buffer, handed to the reader once.
    pub fn take_ring(&mut self) -> Option<RingBuf<MapData>> {
        self.ring.take()
    }
}

/// The syscalls' flags with each read/write-family syscall's I/O slot (from 1, in the order of
/// `io_slots`) in their top byte, where the kernel reads it with the flags.
fn with_io_slots(flags: &[(u32, u32)], io_slots: &[u32]) -> Result<Vec<(u32, u32)>> {
    if io_slots.len() > IO_SLOTS as usize {
        bail!("{} read/write-family syscalls, room for {IO_SLOTS}", io_slots.len());
    }
    let mut flags: std::collections::BTreeMap<u32, u32> = flags.iter().copied().collect();
    for (slot, &nr) in io_slots.iter().enumerate() {
        *flags.entry(nr).or_default() |= (slot as u32 + 1) << SYSCALL_IO_SLOT_SHIFT;
    }
    Ok(flags.into_iter().collect())
}

/// The struct member offsets the programs read at, from the kernel's BTF: `task_struct.pid`
/// for the scheduler programs, the addresses and ports of `struct sock` for the TCP state one.
fn btf_offsets(data: &[u8], sched: bool, net: bool, fds: bool, cgroup_walk: bool) -> Result<(Vec<(&'static str, u32)>, KernelFeatures)> {
    let btf = KernelBtf::parse(data).with_context(|| format!("cannot parse {BTF_PATH}"))?;
    let offset = |name: &str, member: &str| btf.member_offset(name, member);
    let features = KernelFeatures::from_btf(&btf)?;
    let mut offsets = Vec::new();
    if cgroup_walk {
        // current->cgroups->dfl_cgrp, its level, and its ancestors: ids before 6.2, pointers
        // (whose kernfs node has the id) after.
        let ids = btf.has_member("cgroup", "ancestor_ids");
        offsets.push(("CGROUP_ANCESTRY", if ids { 1 } else { 2 }));
        offsets.push(("TASK_CGROUPS_OFFSET", offset("task_struct", "cgroups")?));
        offsets.push(("CSS_SET_DFL_CGRP_OFFSET", offset("css_set", "dfl_cgrp")?));
        offsets.push(("CGROUP_LEVEL_OFFSET", offset("cgroup", "level")?));
        offsets.push(("CGROUP_ANCESTORS_OFFSET", offset("cgroup", if ids { "ancestor_ids" } else { "ancestors" })?));
        if !ids {
            offsets.push(("CGROUP_KN_OFFSET", offset("cgroup", "kn")?));
            offsets.push(("KERNFS_NODE_ID_OFFSET", offset("kernfs_node", "id")?));
        }
    }
    // Without the socket tracepoints, a socket syscall's socket is read through its fd.
    let socket_from_fd = net && !features.socket_tracepoints;
    // The fd table's offsets, for fd kinds and for the sockets of fds (those accept returns).
    if fds || net {
        // current->files->fdt->fd[fd]->f_inode->i_mode: what an fd is, for counting I/O by fd
        // kind in the kernel.
        for (global, name, member) in [
            ("TASK_FILES_OFFSET", "task_struct", "files"),
            ("FILES_FDT_OFFSET", "files_struct", "fdt"),
            ("FDT_MAX_FDS_OFFSET", "fdtable", "max_fds"),
            ("FDT_FD_OFFSET", "fdtable", "fd"),
            ("FILE_INODE_OFFSET", "file", "f_inode"),
            ("INODE_MODE_OFFSET", "inode", "i_mode"),
        ] {
            offsets.push((global, offset(name, member)?));
        }
    }
    if net {
        offsets.push(("NET_ON", 1));
        offsets.push(("FILE_PRIVATE_DATA_OFFSET", offset("file", "private_data")?));
        offsets.push(("SOCKET_SK_OFFSET", offset("socket", "sk")?));
    }
    if socket_from_fd {
        offsets.push(("SOCKET_FROM_FD", 1));
    }
    if sched {
        offsets.push(("TASK_PID_OFFSET", offset("task_struct", "pid")?));
        offsets.push(("TASK_COMM_OFFSET", offset("task_struct", "comm")?));
        if !features.switch_prev_state {
            offsets.push(("SWITCH_HAS_PREV_STATE", 0));
            offsets.push(("TASK_STATE_OFFSET", offset("task_struct", features.task_state_member)?));
        }
    }
    if net {
        // `struct sock` begins with its `struct sock_common`, but BTF says where.
        let common = offset("sock", "__sk_common")?;
        offsets.push(("SK_PROTOCOL_OFFSET", offset("sock", "sk_protocol")?));
        for (global, member) in [
            ("SK_FAMILY_OFFSET", "skc_family"),
            ("SK_NUM_OFFSET", "skc_num"),
            ("SK_DPORT_OFFSET", "skc_dport"),
            ("SK_RCV_SADDR_OFFSET", "skc_rcv_saddr"),
            ("SK_DADDR_OFFSET", "skc_daddr"),
            ("SK_V6_RCV_SADDR_OFFSET", "skc_v6_rcv_saddr"),
            ("SK_V6_DADDR_OFFSET", "skc_v6_daddr"),
        ] {
            offsets.push((global, common + offset("sock_common", member)?));
        }
    }
    Ok((offsets, features))
}

/// One line for a program the kernel would not load: the verifier's reason (its full log at
/// debug level, `RUST_LOG=debug`), not its whole log.
fn refused(program: &str, error: &aya::programs::ProgramError) -> anyhow::Error {
    let text = error.to_string();
    log::debug!("{program}: {text}");
    let skip = ["verification time", "stack depth", "processed ", ": "];
    let reason = text.lines().rev().map(str::trim).find(|l| !l.is_empty() && !skip.iter().any(|s| l.starts_with(s)));
    let first = text.lines().next().unwrap_or_default();
    match reason.filter(|r| *r != first) {
        Some(reason) => anyhow!("the kernel refused the {program} program: {reason}"),
        None => anyhow!("the kernel refused the {program} program: {first}"),
    }
}

/// Attaches the classic tracepoint program named like its tracepoint.
fn attach_tracepoint(ebpf: &mut Ebpf, category: &str, name: &str, times: &mut StartupTimes) -> Result<()> {
    let program: &mut TracePoint = ebpf.program_mut(name).with_context(|| format!("program {name}"))?.try_into()?;
    program.load().map_err(|e| refused(name, &e))?;
    times.lap("load and verify");
    program.attach(category, name).with_context(|| format!("cannot attach to tracepoint {category}:{name}"))?;
    times.lap("attach");
    Ok(())
}

/// Attaches BTF tracepoint program `program` to tracepoint `hook`.
fn attach_btf_tracepoint(ebpf: &mut Ebpf, btf: &Btf, program: &str, hook: &str, times: &mut StartupTimes) -> Result<()> {
    let loaded: &mut BtfTracePoint = ebpf.program_mut(program).with_context(|| format!("program {program}"))?.try_into()?;
    loaded.load(hook, btf).map_err(|e| refused(program, &e))?;
    times.lap("load and verify");
    loaded.attach().with_context(|| format!("cannot attach to tracepoint {hook}"))?;
    times.lap("attach");
    Ok(())
}

fn attach_syscall_tracepoints(ebpf: &mut Ebpf, btf: &Btf, times: &mut StartupTimes) -> Result<()> {
    for name in ["sys_exit", "sys_enter"] {
        attach_btf_tracepoint(ebpf, btf, name, name, times)?;
    }
    Ok(())
}

/// fentry/fexit (`hook` Fentry) or kprobes/kretprobes (Kprobe) on the handler of each syscall of
/// `selected`.
fn attach_handlers(ebpf: &mut Ebpf, btf: &Btf, hook: AttachMode, selected: Option<&SyscallSet>, times: &mut StartupTimes) -> Result<()> {
    let selected = selected.context("needs -e trace=")?;
    let handlers = syscall_handlers(selected, btf)?;
    match hook {
        AttachMode::Fentry => attach_fentry(ebpf, btf, &handlers, times),
        _ => attach_kprobes(ebpf, &handlers, times),
    }
}

/// Detaches and unloads whatever per-syscall programs were attached before one failed.
fn unload_handlers(ebpf: &mut Ebpf) {
    for slot in 0..FENTRY_SLOTS {
        if let Some(Ok(entry)) = ebpf.program_mut(&format!("fentry_{slot}")).map(<&mut FEntry>::try_from) {
            let _ = entry.unload();
        }
        if let Some(Ok(exit)) = ebpf.program_mut(&format!("fexit_{slot}")).map(<&mut FExit>::try_from) {
            let _ = exit.unload();
        }
    }
    for name in ["syscall_kprobe", "syscall_kretprobe"] {
        if let Some(Ok(program)) = ebpf.program_mut(name).map(<&mut KProbe>::try_from) {
            let _ = program.unload();
        }
    }
}

/// One kretprobe and one kprobe program, each attached to every handler; the kretprobes first,
/// so that no call entered in between has its entry without its return.
fn attach_kprobes(ebpf: &mut Ebpf, handlers: &[(u32, String)], times: &mut StartupTimes) -> Result<()> {
    let (nr_exit, nr_exit_group) = syscall_table::never_returning();
    for (name, returns) in [("syscall_kretprobe", true), ("syscall_kprobe", false)] {
        let program: &mut KProbe = ebpf.program_mut(name).with_context(|| format!("program {name}"))?.try_into()?;
        program.load().map_err(|e| refused(name, &e))?;
        times.lap("load and verify");
        for (nr, function) in handlers {
            if returns && (*nr == nr_exit || *nr == nr_exit_group) {
                continue; // never returns: the entry reports it
            }
            program.attach(function, 0).with_context(|| format!("cannot attach a kprobe to {function}"))?;
        }
        times.lap("attach");
    }
    Ok(())
}

/// The kernel function that implements each selected syscall, by number.
fn syscall_handlers(selected: &SyscallSet, btf: &Btf) -> Result<Vec<(u32, String)>> {
    selected
        .iter()
        .map(|nr| {
            let name = syscall_table::name(nr).unwrap_or("?");
            syscall_table::handler_candidates(name)
                .into_iter()
                .find(|function| btf.id_by_type_name_kind(function, BtfKind::Func).is_ok())
                .map(|function| (nr, function))
                .with_context(|| format!("no handler for syscall {name} in the kernel's BTF"))
        })
        .collect()
}

fn attach_fentry(ebpf: &mut Ebpf, btf: &Btf, handlers: &[(u32, String)], times: &mut StartupTimes) -> Result<()> {
    if handlers.len() > FENTRY_SLOTS as usize {
        bail!("{} syscalls to hook (with those that make and free fds); fentry handles at most {FENTRY_SLOTS}", handlers.len());
    }
    let mut numbers: Array<_, u32> = Array::try_from(ebpf.map_mut("FENTRY_NRS").context("map FENTRY_NRS")?)?;
    for (slot, (nr, _)) in handlers.iter().enumerate() {
        numbers.set(slot as u32, nr, 0)?;
    }
    // Some kernels refuse tracing programs outright (seen: 6.18 with lockdown=integrity and
    // no kprobes: EPERM with an empty verifier log): timed_attach says what to do instead.
    let (nr_exit, nr_exit_group) = syscall_table::never_returning();
    for (slot, (nr, function)) in handlers.iter().enumerate() {
        let entry: &mut FEntry = ebpf.program_mut(&format!("fentry_{slot}")).context("fentry program")?.try_into()?;
        let loaded = entry.load(function, btf);
        timed_attach(loaded, || entry.attach().map(drop), "fentry", function, times)?;
        if *nr == nr_exit || *nr == nr_exit_group {
            continue; // never returns: the kernel refuses fexit there, and the entry reports it
        }
        let exit: &mut FExit = ebpf.program_mut(&format!("fexit_{slot}")).context("fexit program")?.try_into()?;
        let loaded = exit.load(function, btf);
        timed_attach(loaded, || exit.attach().map(drop), "fexit", function, times)?;
    }
    Ok(())
}

/// After a program's load: attaches it, timing both; a refused load gets one line that says
/// what to do instead.
fn timed_attach(
    loaded: Result<(), aya::programs::ProgramError>,
    attach: impl FnOnce() -> Result<(), aya::programs::ProgramError>,
    kind: &str,
    function: &str,
    times: &mut StartupTimes,
) -> Result<()> {
    if let Err(e) = loaded {
        log::debug!("{kind} load: {e}");
        bail!("this kernel refused an {kind} program for {function}");
    }
    times.lap("load and verify");
    attach().with_context(|| format!("cannot attach {kind} to {function}"))?;
    times.lap("attach");
    Ok(())
}

/// Reference programs for the benchmark, on the hooks the tracer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferenceProbes {
    /// Empty programs: what attaching alone costs (the floor).
    Empty,
    /// Programs that only read the clock, as a latency measurement must at entry and exit.
    Clock,
    /// The clock reads and the pairing of each exit with its entry (a per-thread slot).
    Paired,
    /// Paired, and an event per call through the ring buffer (64 MiB; the caller drains it).
    Ring,
    /// Paired, and calls, total and a log-linear histogram per syscall in per-CPU maps.
    Aggregate,
}

/// Attaches reference programs and nothing else. Detached when the returned value is dropped.
pub fn attach_reference_probes(kind: ReferenceProbes) -> Result<Ebpf> {
    let (enter, exit) = match kind {
        ReferenceProbes::Empty => ("floor_sys_enter", "floor_sys_exit"),
        ReferenceProbes::Clock => ("clock_sys_enter", "clock_sys_exit"),
        ReferenceProbes::Paired => ("paired_sys_enter", "paired_sys_exit"),
        ReferenceProbes::Ring => ("paired_sys_enter", "ring_sys_exit"),
        ReferenceProbes::Aggregate => ("paired_sys_enter", "agg_sys_exit"),
    };
    check_privileges()?;
    let btf = Btf::from_sys_fs().context("cannot read the kernel's BTF")?;
    let mut loader = EbpfLoader::new();
    loader.btf(Some(&btf)).map_max_entries("EVENTS", 64 << 20);
    let mut ebpf = loader.load(EBPF_OBJECT).map_err(|e| anyhow!("cannot load the eBPF programs: {e}"))?;
    for (program, hook) in [(enter, "sys_enter"), (exit, "sys_exit")] {
        attach_btf_tracepoint(&mut ebpf, &btf, program, hook, &mut StartupTimes::default())?;
    }
    Ok(ebpf)
}

/// Whether per-syscall `hook`s (fentry or kprobes) attach here: its programs loaded and attached
/// on `read`'s handler, then detached (some kernels refuse them: lockdown, no ftrace, no kprobes).
pub fn per_syscall_hook_attaches(hook: AttachMode) -> Result<()> {
    let btf = Btf::from_sys_fs().context("cannot read the kernel's BTF")?;
    let mut ebpf = EbpfLoader::new().btf(Some(&btf)).load(EBPF_OBJECT).map_err(|e| anyhow!("cannot load the eBPF programs: {e}"))?;
    let read = syscall_table::number("read").context("no read syscall")?;
    let mut selected = SyscallSet::empty();
    selected.insert(read);
    attach_handlers(&mut ebpf, &btf, hook, Some(&selected), &mut StartupTimes::default())
}

/// Root, or CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN), checked up front for a clear message.
pub fn check_privileges() -> Result<()> {
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_PERFMON: u32 = 38;
    const CAP_BPF: u32 = 39;
    let status = fs::read_to_string("/proc/self/status").context("cannot read /proc/self/status")?;
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    let has = |cap: u32| effective & (1 << cap) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        Ok(())
    } else {
        bail!("tracer needs root (or CAP_BPF and CAP_PERFMON) to load eBPF programs; try sudo")
    }
}

/// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; newer ones use the memory cgroup,
/// and the raise may be refused without CAP_SYS_RESOURCE, which is fine there.
fn raise_memlock_limit() {
    let unlimited = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) } != 0 {
        log::debug!("cannot raise RLIMIT_MEMLOCK: {}", std::io::Error::last_os_error());
    }
}

fn read_pid_max() -> Result<u32> {
    let text = fs::read_to_string("/proc/sys/kernel/pid_max").context("cannot read /proc/sys/kernel/pid_max")?;
    text.trim().parse().context("cannot parse /proc/sys/kernel/pid_max")
}

/// Makes sure tracefs is mounted: classic tracepoints are found through it.
fn ensure_tracefs() -> Result<()> {
    if Path::new(TRACEFS).join("events").exists() {
        return Ok(());
    }
    nix::mount::mount(Some("nodev"), TRACEFS, Some("tracefs"), nix::mount::MsFlags::empty(), None::<&str>)
        .with_context(|| format!("tracefs is not mounted and mounting it on {TRACEFS} failed"))
}

/// Offsets of fields in a classic tracepoint's record, from its tracefs format file, paired
/// with the names of the globals that carry them to the kernel programs.
fn field_offsets(category: &str, name: &str, fields: &[(&'static str, &str)]) -> Result<Vec<(&'static str, u32)>> {
    ensure_tracefs()?;
    let path = Path::new(TRACEFS).join(format!("events/{category}/{name}/format"));
    let format = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    fields
        .iter()
        .map(|(global, field)| {
            // "field:__u8 saddr[4];" / "field:pid_t pid;"
            let needle = format!(" {field};");
            format
                .lines()
                .find(|line| line.contains(&needle))
                .and_then(|line| line.split("offset:").nth(1))
                .and_then(|rest| rest.split(';').next())
                .and_then(|n| n.trim().parse().ok())
                .map(|offset| (*global, offset))
                .with_context(|| format!("no field '{field}' in {}", path.display()))
        })
        .collect()
}
