//! The benchmark's reference programs (feature `bench`): an object of their own, loaded and
//! attached alone on the tracer's syscall hooks.
use anyhow::{anyhow, Context, Result};
use aya::{
    maps::{MapData, RingBuf},
    Btf, Ebpf, EbpfLoader,
};
use tracer_common::reference::{REF_EVENTS, REF_FILTERED, REF_TGIDS};

use super::{attach::attach_btf_tracepoint, globals::Globals, probes::check_privileges, startup::StartupTimes};

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

/// The most processes the paired programs can be told to look at alone.
pub const REFERENCE_MAX_PIDS: usize = 4; // REF_TGIDS's length

/// Attaches reference programs and nothing else; the paired ones look only at `pids` if any
/// (at most [`REFERENCE_MAX_PIDS`]). Detached when the returned value is dropped.
pub fn attach_reference_probes(kind: ReferenceProbes, pids: &[u32]) -> Result<Ebpf> {
    let (enter, exit) = match kind {
        ReferenceProbes::Empty => ("floor_sys_enter", "floor_sys_exit"),
        ReferenceProbes::Clock => ("clock_sys_enter", "clock_sys_exit"),
        ReferenceProbes::Paired => ("paired_sys_enter", "paired_sys_exit"),
        ReferenceProbes::Ring => ("paired_sys_enter", "ring_sys_exit"),
        ReferenceProbes::KernelCounts => ("paired_sys_enter", "counts_sys_exit"),
    };
    check_privileges()?;
    let btf = Btf::from_sys_fs().context("cannot read the kernel's BTF")?;
    if pids.len() > REFERENCE_MAX_PIDS {
        return Err(anyhow!("the reference programs look at {REFERENCE_MAX_PIDS} processes at most, not {}", pids.len()));
    }
    let mut tgids = [0u32; REFERENCE_MAX_PIDS];
    tgids[..pids.len()].copy_from_slice(pids);
    let mut globals = Globals::default();
    globals.set(REF_FILTERED, u32::from(!pids.is_empty())).set(REF_TGIDS, tgids);
    let mut loader = EbpfLoader::new();
    loader.btf(Some(&btf));
    globals.apply(&mut loader);
    let mut ebpf = loader.load(REFERENCE_OBJECT).map_err(|e| anyhow!("cannot load the reference programs: {e}"))?;
    for (program, hook) in [(enter, "sys_enter"), (exit, "sys_exit")] {
        attach_btf_tracepoint(&mut ebpf, &btf, program, hook, &mut StartupTimes::default())?;
    }
    Ok(ebpf)
}

/// The ring buffer of [`ReferenceProbes::Ring`], for the caller to drain.
pub fn take_ring(ebpf: &mut Ebpf) -> Result<RingBuf<MapData>> {
    Ok(RingBuf::try_from(ebpf.take_map(REF_EVENTS).with_context(|| format!("map {REF_EVENTS}"))?)?)
}
