//! The load step: the object loaded with its maps sized and its load-time globals set (from the
//! options, the machine and the kernel's BTF). Nothing is attached yet.
use std::fs;

use anyhow::{anyhow, bail, Context, Result};
use aya::{Ebpf, EbpfLoader};
use tracer_common::{
    connections::{self, CONN_ROWS, CONN_ROW_WORDS},
    events,
    kernel_counts::{self, ERRNO_SLOTS, GROUP_ROWS, HIST_BUCKETS, IO_HIST_WORDS_PER_KIND, IO_KINDS},
    kprobe, net, process,
    sched::{self, THREAD_ROWS, THREAD_ROW_WORDS},
    slow,
    syscalls::{self, MAX_SYSCALLS},
    targets::{self, MAX_CGROUPS},
};

use super::{
    features::KernelFeatures,
    globals::Globals,
    offsets::{field_offsets, BtfThread},
    probes::{AttachMode, ProbeConfig},
    startup::StartupTimes,
};
use crate::syscalls::table;

static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tracer.bpf.o"));

/// Most per-thread slots: 2^18 × 80 bytes = 20 MiB, where `pid_max` is 4M. Tids that share a
/// slot and are in syscalls at once lose an event, counted as lost.
const MAX_SLOTS: u32 = 1 << 18;
/// With `--by`: processes placed in groups at once, for the kernel to count their calls per
/// group (about 1 MiB of map); past it, a process's calls are sent as events.
const MAX_GROUPED_PROCESSES: u32 = 16384;

/// Loads the object for `config`, with the struct offsets `btf` sends; also the kernel's
/// features found there.
pub fn load(config: &ProbeConfig, btf: &BtfThread, times: &mut StartupTimes) -> Result<(Ebpf, KernelFeatures)> {
    let pid_max = read_pid_max()?;
    let slots = pid_max.next_power_of_two().min(MAX_SLOTS);
    let mut globals = knobs(config, slots)?;
    if config.follow_forks {
        let fields = [(process::NEWTASK_PID_OFFSET, "pid"), (process::NEWTASK_FLAGS_OFFSET, "clone_flags")];
        for (global, offset) in field_offsets("task", "task_newtask", &fields)? {
            globals.set(global, offset);
        }
    }
    times.lap("field offsets");
    // Parses the kernel's BTF, as our thread does.
    let mut loader = EbpfLoader::new();
    times.lap("BTF parse");
    let (offsets, features) = btf.offsets()?;
    for (global, offset) in offsets {
        globals.set(global, offset);
    }
    size_maps(&mut loader, config, pid_max, slots);
    globals.apply(&mut loader);
    let ebpf = loader.load(EBPF_OBJECT).map_err(|e| anyhow!("cannot load the eBPF programs: {e}"))?;
    Ok((ebpf, features))
}

/// An object with no map sized and no global set, for probing what this kernel attaches.
pub fn load_unconfigured(btf: &aya::Btf) -> Result<Ebpf> {
    EbpfLoader::new().btf(Some(btf)).load(EBPF_OBJECT).map_err(|e| anyhow!("cannot load the eBPF programs: {e}"))
}

/// The globals that follow from the options and the machine (the BTF's offsets come apart).
fn knobs(config: &ProbeConfig, slots: u32) -> Result<Globals> {
    if config.cgroups.len() > MAX_CGROUPS {
        bail!("at most {MAX_CGROUPS} --cgroup targets");
    }
    let (mut cgroup_ids, mut cgroup_levels) = ([0u64; MAX_CGROUPS], [0u32; MAX_CGROUPS]);
    for (i, &(id, level)) in config.cgroups.iter().enumerate() {
        (cgroup_ids[i], cgroup_levels[i]) = (id, level);
    }
    let only_tgid = match config.tgids.as_slice() {
        [only] if !config.follow_forks && config.cgroups.is_empty() => *only,
        _ => 0,
    };
    let (nr_exit, nr_exit_group) = table::never_returning();
    let (nr_execve, nr_execveat) = table::exec_numbers();
    let slow = config.slow.as_ref();
    let mut globals = Globals::default();
    globals
        .set(syscalls::SLOT_MASK, slots - 1)
        .set(syscalls::FILTER_SYSCALLS, u32::from(config.selected.is_some()))
        .set(syscalls::NR_OFFSET, table::NR_PT_REGS_OFFSET)
        .set(syscalls::ARG_OFFSETS, table::ARG_PT_REGS_OFFSETS)
        .set(syscalls::NR_EXIT, nr_exit)
        .set(syscalls::NR_EXIT_GROUP, nr_exit_group)
        .set(syscalls::NR_EXECVE, nr_execve)
        .set(syscalls::NR_EXECVEAT, nr_execveat)
        .set(kprobe::REGS_COPY_BYTES, table::regs_bytes_read())
        .set(slow::SLOW_ON, u32::from(slow.is_some()))
        .set(slow::SLOW_NS, slow.map_or(0, |slow| slow.threshold_ns))
        .set(slow::SLOW_STACKS, slow.map_or(0, |slow| slow.stacks))
        .set(slow::G_REG_OFFSET, table::G_PT_REGS_OFFSET)
        .set(slow::SP_REG_OFFSET, table::SP_PT_REGS_OFFSET)
        .set(events::WAKEUP_BYTES, u64::from(config.ring_bytes / 8))
        .set(targets::ONLY_TGID, only_tgid)
        .set(targets::SELF_TGID, std::process::id())
        .set(targets::CGROUP_COUNT, config.cgroups.len() as u32)
        .set(targets::CGROUP_IDS, cgroup_ids)
        .set(targets::CGROUP_LEVELS, cgroup_levels)
        .set(kernel_counts::KERNEL_COUNTS_ON, u32::from(config.kernel_counts))
        .set(kernel_counts::GROUPS_ON, u32::from(config.counted_groups().is_some()))
        .set(connections::CONNECTIONS_ON, u32::from(config.counts_connections()))
        .set(sched::THREADS_ON, u32::from(config.counts_threads()))
        .set(net::NET_ON, u32::from(config.net))
        .set(net::CONNECT_IO_FLAGS, connect_io_flags(&config.io_slots));
    Ok(globals)
}

/// `connect`'s I/O slot, as the syscalls' flags carry it (0: none).
fn connect_io_flags(io_slots: &[u32]) -> u32 {
    let slot = table::number("connect").and_then(|connect| io_slots.iter().position(|&nr| nr == connect));
    slot.map_or(0, |slot| tracer_common::syscalls::io_slot_flags(slot as u32 + 1))
}

/// The maps' sizes (the object's are placeholders): from `pid_max` and the options, the maps
/// of a feature that is off at their smallest.
fn size_maps(loader: &mut EbpfLoader, config: &ProbeConfig, pid_max: u32, slots: u32) {
    let counts = config.kernel_counts;
    let groups = config.counted_groups();
    let connections = config.counts_connections();
    let threads = config.counts_threads();
    let io_hist_words = config.io_slots.len() as u32 * IO_KINDS * IO_HIST_WORDS_PER_KIND;
    loader
        .map_max_entries(targets::TRACED, pid_max.div_ceil(64))
        .map_max_entries(syscalls::IN_FLIGHT, slots)
        .map_max_entries(events::EVENTS, config.ring_bytes)
        .map_max_entries(kernel_counts::COUNT_HIST, if counts { MAX_SYSCALLS * HIST_BUCKETS } else { 1 })
        .map_max_entries(kernel_counts::COUNT_ERRNO, if counts { GROUP_ROWS * ERRNO_SLOTS } else { 1 })
        // Sized for the read/write-family syscalls there are (19 on x86_64), not the room.
        .map_max_entries(kernel_counts::IO_HIST, if counts { io_hist_words } else { 1 })
        .map_max_entries(kernel_counts::GROUP_OF, if groups.is_some() { MAX_GROUPED_PROCESSES } else { 1 })
        .map_max_entries(kernel_counts::GROUP_ROW, groups.map_or(1, |groups| groups * MAX_SYSCALLS))
        .map_max_entries(connections::CONN_FREE, if connections { CONN_ROWS } else { 1 })
        .map_max_entries(connections::CONN_HIST, if connections { CONN_ROWS * CONN_ROW_WORDS } else { 1 })
        .map_max_entries(sched::THREAD_FREE, if threads { THREAD_ROWS } else { 1 })
        .map_max_entries(sched::THREAD_HIST, if threads { THREAD_ROWS * THREAD_ROW_WORDS } else { 1 })
        // The kprobes' saved registers, by thread slot, only where kprobes may be used.
        .map_max_entries(kprobe::KPROBE_REGS, if config.attach == AttachMode::Tracepoint { 1 } else { slots });
}

fn read_pid_max() -> Result<u32> {
    let text = fs::read_to_string("/proc/sys/kernel/pid_max").context("cannot read /proc/sys/kernel/pid_max")?;
    text.trim().parse().context("cannot parse /proc/sys/kernel/pid_max")
}

#[cfg(test)]
mod tests {
    use aya_obj::generated::{BPF_CALL, BPF_JMP, BPF_PSEUDO_CALL};

    /// The programs that run on every syscall, socket call or context switch call no BPF
    /// subprogram: a call and its return go through the return thunks of CPUs with return-stack
    /// mitigations (dd's sys_exit took 8 ns a run more as one).
    #[test]
    fn hot_programs_call_no_subprograms() {
        let object = aya_obj::Object::parse(super::EBPF_OBJECT).unwrap();
        let hot = ["sys_enter", "sys_exit", "sched_switch", "sched_wakeup", "sock_send_length", "sock_recv_length"];
        let hooks = ["syscall_kprobe", "syscall_kretprobe", "fentry_0", "fexit_0"];
        for name in hot.into_iter().chain(hooks) {
            let program = object.programs.get(name).unwrap_or_else(|| panic!("no program {name}"));
            let function = &object.functions[&program.function_key()];
            let is_subprogram_call = |insn: &&aya_obj::generated::bpf_insn| {
                u32::from(insn.code & 0x07) == BPF_JMP && u32::from(insn.code & 0xf0) == BPF_CALL && u32::from(insn.src_reg()) == BPF_PSEUDO_CALL
            };
            assert_eq!(function.instructions.iter().filter(is_subprogram_call).count(), 0, "{name} calls a subprogram");
        }
    }
}
