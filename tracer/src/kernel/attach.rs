//! The attach step: each feature's programs loaded (verified) and attached, the syscalls by the
//! hook asked for or the next one that works here.
use anyhow::{anyhow, bail, Context, Result};
use aya::{
    maps::Array,
    programs::{BtfTracePoint, FEntry, FExit, KProbe, TracePoint},
    Btf, Ebpf,
};
use aya_obj::btf::BtfKind;
use tracer_common::fentry;

use super::{
    features::KernelFeatures,
    probes::{AttachMode, ProbeConfig},
    startup::StartupTimes,
};
use crate::syscalls::{set::SyscallSet, table};

/// Attaches every program `config` asks for; what this kernel serves another way than asked,
/// one line each.
pub fn attach(ebpf: &mut Ebpf, btf: &Btf, config: &ProbeConfig, features: &KernelFeatures, times: &mut StartupTimes) -> Result<Vec<String>> {
    let replacements = attach_syscalls(ebpf, btf, config, times)?.into_iter().collect();
    if config.follow_forks {
        attach_tracepoint(ebpf, "task", "task_newtask", times)?;
    }
    if config.process_exits {
        attach_btf_tracepoint(ebpf, btf, "sched_process_exit", "sched_process_exit", times)?;
    }
    if config.sched_split {
        for name in ["sched_switch", "sched_wakeup", "sched_wakeup_new"] {
            attach_btf_tracepoint(ebpf, btf, name, name, times)?;
        }
    }
    if config.net {
        attach_btf_tracepoint(ebpf, btf, "inet_sock_set_state", "inet_sock_set_state", times)?;
        if features.socket_tracepoints {
            for name in ["sock_send_length", "sock_recv_length"] {
                attach_btf_tracepoint(ebpf, btf, name, name, times)?;
            }
        }
    }
    Ok(replacements)
}

/// fentry, then kprobes, where asked and possible; otherwise the tracepoints. A hook other than
/// the one asked for is said in one line, with why.
fn attach_syscalls(ebpf: &mut Ebpf, btf: &Btf, config: &ProbeConfig, times: &mut StartupTimes) -> Result<Option<String>> {
    let mut refused = Vec::new();
    let mut hooked = AttachMode::Tracepoint;
    for &hook in config.attach.per_syscall_hooks() {
        match attach_handlers(ebpf, btf, hook, config.selected.as_ref(), times) {
            Ok(()) => {
                hooked = hook;
                break;
            }
            Err(why) => {
                unload_handlers(ebpf);
                refused.push(format!("{}: {why:#}", hook.name()));
            }
        }
    }
    if hooked == AttachMode::Tracepoint {
        let stacks = config.slow.as_ref().is_some_and(|slow| slow.stacks != 0);
        attach_syscall_tracepoints(ebpf, btf, times).map_err(|e| match stacks {
            true => e.context("with --stacks (bpf_get_stack); try without it"),
            false => e,
        })?;
    }
    Ok((!refused.is_empty()).then(|| format!("syscalls hooked by {} ({})", hooked.name(), refused.join("; "))))
}

/// One line for a program the kernel would not load: the verifier's reason (its full log at
/// debug level, `TRACER_LOG=debug`), not its whole log.
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
pub(super) fn attach_btf_tracepoint(ebpf: &mut Ebpf, btf: &Btf, program: &str, hook: &str, times: &mut StartupTimes) -> Result<()> {
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
pub(super) fn attach_handlers(ebpf: &mut Ebpf, btf: &Btf, hook: AttachMode, selected: Option<&SyscallSet>, times: &mut StartupTimes) -> Result<()> {
    let selected = selected.context("needs -e trace=")?;
    let handlers = syscall_handlers(selected, btf)?;
    match hook {
        AttachMode::Fentry => attach_fentry(ebpf, btf, &handlers, times),
        _ => attach_kprobes(ebpf, &handlers, times),
    }
}

/// Detaches and unloads whatever per-syscall programs were attached before one failed.
fn unload_handlers(ebpf: &mut Ebpf) {
    for slot in 0..fentry::FENTRY_SLOTS {
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
    let (nr_exit, nr_exit_group) = table::never_returning();
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
            let name = crate::syscalls::name(nr).unwrap_or("?");
            table::handler_candidates(name)
                .into_iter()
                .find(|function| btf.id_by_type_name_kind(function, BtfKind::Func).is_ok())
                .map(|function| (nr, function))
                .with_context(|| format!("no handler for syscall {name} in the kernel's BTF"))
        })
        .collect()
}

fn attach_fentry(ebpf: &mut Ebpf, btf: &Btf, handlers: &[(u32, String)], times: &mut StartupTimes) -> Result<()> {
    if handlers.len() > fentry::FENTRY_SLOTS as usize {
        bail!("{} syscalls to hook (with those that make and free fds); fentry handles at most {}", handlers.len(), fentry::FENTRY_SLOTS);
    }
    let mut numbers: Array<_, u32> = Array::try_from(ebpf.map_mut(fentry::FENTRY_NRS).with_context(|| format!("map {}", fentry::FENTRY_NRS))?)?;
    for (slot, (nr, _)) in handlers.iter().enumerate() {
        numbers.set(slot as u32, nr, 0)?;
    }
    // Some kernels refuse tracing programs outright (seen: 6.18 with lockdown=integrity and
    // no kprobes: EPERM with an empty verifier log): timed_attach says what to do instead.
    let (nr_exit, nr_exit_group) = table::never_returning();
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
