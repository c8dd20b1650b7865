//! `tracer info`: what this kernel gives tracer and which hook serves each feature here, in the
//! spirit of `bpftrace --info` and `bpftool feature probe`. The programs are really loaded and
//! attached, every feature on, tracing no process: what it reports is what a trace would meet.
use std::{fs, path::Path};

use anyhow::{Context, Result};

use crate::{
    kernel::{
        btf,
        features::KernelFeatures,
        probes::{self, AttachMode, ProbeConfig, Probes, SlowConfig},
        startup::StartupTimes,
    },
    syscalls::fd_class::{io_slots, kernel_syscall_flags},
};

const BTF_PATH: &str = "/sys/kernel/btf/vmlinux";

/// Prints the report; exit status 1 when tracing is impossible here (no BTF, no privileges, or
/// the programs do not load), 0 otherwise.
pub fn run() -> Result<i32> {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!("{:<15}{} ({})", "kernel", release.trim(), std::env::consts::ARCH);
    if !Path::new(BTF_PATH).exists() {
        println!("{:<15}missing: {BTF_PATH} (tracer needs CONFIG_DEBUG_INFO_BTF=y)", "BTF");
        return Ok(1);
    }
    println!("{:<15}{BTF_PATH}", "BTF");
    if let Err(err) = probes::check_privileges() {
        println!("{:<15}{err:#}", "privileges");
        return Ok(1);
    }
    println!("{:<15}enough to load and attach programs", "privileges");
    let features = KernelFeatures::from_btf(&btf::KernelBtf::parse(&btf::read(BTF_PATH)?)?)?;
    for (feature, how) in hooks(&features) {
        println!("{feature:<15}{how}");
    }
    for (hook, name) in [(AttachMode::Fentry, "fentry"), (AttachMode::Kprobe, "kprobe")] {
        let how = match probes::per_syscall_hook_attaches(hook) {
            Ok(()) => format!("available: --attach {name} hooks only the selected syscalls' handlers"),
            Err(why) => format!("unavailable ({why:#})"),
        };
        println!("{name:<15}{how}");
    }
    let stats = fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled").map(|s| s.trim() == "1");
    let stats = match stats {
        Ok(true) => "on: --own-usage shows the programs' run time",
        Ok(false) => "off (sysctl kernel.bpf_stats_enabled=1 for --own-usage's program time)",
        Err(_) => "not in this kernel",
    };
    println!("{:<15}{stats}", "BPF stats");
    match load_everything() {
        Ok(replacements) => {
            for line in replacements {
                println!("{:<15}{line}", "on this kernel");
            }
            println!("{:<15}every program loads and attaches (all features, --slow --stacks kernel,user, a cgroup target)", "result");
            Ok(0)
        }
        Err(err) => {
            println!("{:<15}tracer cannot trace here: {err:#}", "result");
            Ok(1)
        }
    }
}

/// Each feature and the hook that serves it on this kernel.
fn hooks(features: &KernelFeatures) -> Vec<(&'static str, String)> {
    let state = match features.switch_prev_state {
        true => "prev_state argument".to_string(),
        false => format!("task_struct.{} (sched_switch has no prev_state before 5.18)", features.task_state_member),
    };
    let sockets = match features.socket_tracepoints {
        true => "BTF tracepoints sock_send_length, sock_recv_length".to_string(),
        false => "the syscall's fd at exit (no sock_send_length/sock_recv_length before 6.3)".to_string(),
    };
    vec![
        ("syscalls", "BTF tracepoints sys_enter, sys_exit (raw, typed arguments)".to_string()),
        ("scheduler", format!("BTF tracepoints sched_switch, sched_wakeup, sched_wakeup_new; state from the {state}")),
        ("sockets", sockets),
        ("TCP", "BTF tracepoint inet_sock_set_state (addresses at BTF offsets)".to_string()),
        ("fd kinds", "the inode's mode through current->files at BTF offsets".to_string()),
        ("-f", "tracepoint task:task_newtask (through tracefs)".to_string()),
        ("--by, cgroups", "BTF tracepoint sched_process_exit; a task's cgroup by bpf_get_current_ancestor_cgroup_id".to_string()),
        ("stacks", "bpf_get_stack".to_string()),
    ]
}

/// Loads and attaches every program a full-featured trace would, tracing no process: what
/// this kernel serves another way than the newest do, one line each.
fn load_everything() -> Result<Vec<String>> {
    let config = ProbeConfig {
        selected: None,
        attach: AttachMode::Tracepoint,
        follow_forks: true,
        sched_split: true,
        net: true,
        tgids: Vec::new(),
        ring_bytes: 1 << 20,
        syscall_flags: kernel_syscall_flags(true, true),
        slow: Some(SlowConfig {
            threshold_ns: 1_000_000,
            stacks: tracer_common::slow::STACKS_USER | tracer_common::slow::STACKS_KERNEL,
        }),
        // A cgroup no task is in: the cgroup filter is loaded, and matches nothing.
        cgroups: vec![(u64::MAX, 0)],
        process_exits: true,
        kernel_counts: true,
        groups: None,
        io_slots: io_slots(),
    };
    Probes::load(&config, &mut StartupTimes::default()).map(|probes| probes.replacements.clone()).context("loading the programs")
}
