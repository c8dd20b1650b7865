//! The benchmark's reference programs (feature `bench`): an object of their own, loaded and
//! attached alone on the tracer's syscall hooks.
use anyhow::{anyhow, Context, Result};
use aya::{
    maps::{MapData, RingBuf},
    Btf, Ebpf, EbpfLoader,
};
use tracer_common::reference::REF_EVENTS;

use super::{attach::attach_btf_tracepoint, probes::check_privileges, startup::StartupTimes};

static REFERENCE_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/reference.bpf.o"));

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
    /// Paired, and calls, total and a log-linear histogram per syscall counted in the kernel,
    /// in per-CPU maps.
    KernelCounts,
}

/// Attaches reference programs and nothing else. Detached when the returned value is dropped.
pub fn attach_reference_probes(kind: ReferenceProbes) -> Result<Ebpf> {
    let (enter, exit) = match kind {
        ReferenceProbes::Empty => ("floor_sys_enter", "floor_sys_exit"),
        ReferenceProbes::Clock => ("clock_sys_enter", "clock_sys_exit"),
        ReferenceProbes::Paired => ("paired_sys_enter", "paired_sys_exit"),
        ReferenceProbes::Ring => ("paired_sys_enter", "ring_sys_exit"),
        ReferenceProbes::KernelCounts => ("paired_sys_enter", "counts_sys_exit"),
    };
    check_privileges()?;
    let btf = Btf::from_sys_fs().context("cannot read the kernel's BTF")?;
    let mut ebpf = EbpfLoader::new().btf(Some(&btf)).load(REFERENCE_OBJECT).map_err(|e| anyhow!("cannot load the reference programs: {e}"))?;
    for (program, hook) in [(enter, "sys_enter"), (exit, "sys_exit")] {
        attach_btf_tracepoint(&mut ebpf, &btf, program, hook, &mut StartupTimes::default())?;
    }
    Ok(ebpf)
}

/// The ring buffer of [`ReferenceProbes::Ring`], for the caller to drain.
pub fn take_ring(ebpf: &mut Ebpf) -> Result<RingBuf<MapData>> {
    Ok(RingBuf::try_from(ebpf.take_map(REF_EVENTS).with_context(|| format!("map {REF_EVENTS}"))?)?)
}
