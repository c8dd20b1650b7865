//! Loading and attaching the kernel programs, in three steps: load (the object, its maps sized
//! and its globals set), maps (filled and taken), attach (feature by feature).
use std::{fs, path::Path, sync::atomic::Ordering, time::Duration};

use anyhow::{bail, Context, Result};
use aya::{maps::{MapData, RingBuf}, Btf, Ebpf};

use super::{attach, kernel_counts::KernelCounts, load, maps::Maps, offsets::BtfThread, startup::StartupTimes};
use crate::syscalls::set::SyscallSet;

pub(super) const BTF_PATH: &str = "/sys/kernel/btf/vmlinux";

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
    pub(super) fn per_syscall_hooks(self) -> &'static [AttachMode] {
        match self {
            AttachMode::Tracepoint => &[],
            AttachMode::Fentry => &[AttachMode::Fentry, AttachMode::Kprobe],
            AttachMode::Kprobe => &[AttachMode::Kprobe],
        }
    }

    pub(super) fn name(self) -> &'static str {
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

impl ProbeConfig {
    /// With `--by` and kernel counts: the groups the kernel counts calls for.
    pub fn counted_groups(&self) -> Option<u32> {
        self.groups.filter(|_| self.kernel_counts)
    }

    /// Whether TCP connections' calls are counted per connection (kernel counts with the
    /// socket tracepoints).
    pub fn counts_connections(&self) -> bool {
        self.kernel_counts && self.net
    }

    /// Whether threads' switches are counted per thread (kernel counts with the scheduler
    /// tracepoints).
    pub fn counts_threads(&self) -> bool {
        self.kernel_counts && self.sched_split
    }
}

/// `--slow`: carried as is from the command line to the kernel programs and the model.
#[derive(Clone, Copy, Debug)]
pub struct SlowConfig {
    pub threshold_ns: u64,
    /// `STACKS_USER` | `STACKS_KERNEL`, or 0.
    pub stacks: u32,
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
    maps: Maps,
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
        let kernel_btf = BtfThread::spawn(config, cgroup_walk);
        let (mut ebpf, features) = load::load(config, &kernel_btf, times)?;
        let maps = Maps::take(&mut ebpf, config)?;
        times.lap("maps");
        let btf = kernel_btf.join()?;
        times.lap("BTF parse");
        let mut replacements = features.replacements(config.sched_split, config.net);
        replacements.extend(attach::attach(&mut ebpf, &btf, config, &features, times)?);
        let mut probes = Self { ebpf, maps, replacements };
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

    /// With `--slow`: `tgid` runs a Go program whose `g` has `goid` at this offset (its slow
    /// calls carry their goroutine from now on; best effort: a full map leaves them without),
    /// or, `None`, a program whose goroutines are not known.
    pub fn goroutine_layout(&mut self, tgid: u32, goid_offset: Option<u32>) {
        if let Some(offsets) = &mut self.maps.goid_offsets {
            let _ = match goid_offset {
                Some(offset) => offsets.insert(tgid, offset, 0),
                None => offsets.remove(&tgid),
            };
        }
    }

    /// Stops tracing `tgid`, so that a later process reusing the pid is not traced.
    pub fn untrace(&mut self, tgid: u32) -> Result<()> {
        self.set_traced(tgid, false)
    }

    fn set_traced(&mut self, tgid: u32, on: bool) -> Result<()> {
        let word = self.maps.traced_word(tgid)?;
        let bit = 1u64 << (tgid % 64);
        match on {
            true => word.fetch_or(bit, Ordering::SeqCst),
            false => word.fetch_and(!bit, Ordering::SeqCst),
        };
        Ok(())
    }

    /// Events the kernel could not put in the ring buffer, summed over CPUs.
    pub fn lost_events(&self) -> Result<u64> {
        self.maps.lost_events()
    }

    /// Slow-call records that did not fit (their calls were still sent as plain events).
    pub fn lost_slow_records(&self) -> Result<u64> {
        self.maps.lost_slow_records()
    }

    /// TCP connections traced threads used, each counted once by the kernel.
    pub fn connections_seen(&self) -> Result<u64> {
        self.maps.connections_seen()
    }

    /// The loaded programs' run time and runs, summed, where the kernel counts them
    /// (`kernel.bpf_stats_enabled`: off by default, as it costs two clock reads a run).
    pub fn program_run_time(&self) -> Option<ProgramRunTime> {
        program_run_time(&self.ebpf)
    }

    /// The calls counted in the kernel, when they are.
    pub fn kernel_counts(&mut self) -> Option<&mut KernelCounts> {
        self.maps.kernel_counts.as_mut()
    }

    /// The ring buffer, handed to the reader once.
    pub fn take_ring(&mut self) -> Option<RingBuf<MapData>> {
        self.maps.ring.take()
    }
}

/// Whether per-syscall `hook`s (fentry or kprobes) attach here: its programs loaded and attached
/// on `read`'s handler, then detached (some kernels refuse them: lockdown, no ftrace, no kprobes).
pub fn per_syscall_hook_attaches(hook: AttachMode) -> Result<()> {
    let btf = Btf::from_sys_fs().context("cannot read the kernel's BTF")?;
    let mut ebpf = load::load_unconfigured(&btf)?;
    let read = crate::syscalls::number("read").context("no read syscall")?;
    let mut selected = SyscallSet::empty();
    selected.insert(read);
    attach::attach_handlers(&mut ebpf, &btf, hook, Some(&selected), &mut StartupTimes::default())
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
