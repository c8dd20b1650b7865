//! The maps step: the maps the programs read from their first run filled from the options, and
//! the ones userspace keeps taken from the object and wrapped.
use anyhow::{bail, Context, Result};
use aya::{
    maps::{Array, HashMap, Map, MapData, PerCpuArray, Queue, RingBuf},
    Ebpf,
};
use tracer_common::{
    connections,
    events::{self, CONNECTIONS_SEEN, LOST_EVENTS, LOST_SLOW},
    kernel_counts::{self, IO_SLOTS},
    net, sched, slow,
    syscalls::{self, MAX_SYSCALLS, SYSCALL_NEEDS_EVENT, SYSCALL_SOCKET_FD_ARG0, SYSCALL_WORDS},
    targets,
};

use super::{
    connection_counts::ConnectionCounts,
    kernel_counts::{GroupRows, KernelCounts},
    mapped::MappedWords,
    probes::ProbeConfig,
    thread_counts::ThreadCounts,
};

/// The maps userspace reads and writes while tracing.
pub struct Maps {
    traced: MappedWords,
    /// With `--slow`: the Go processes' `goid` offsets, by tgid.
    pub goid_offsets: Option<HashMap<MapData, u32, u32>>,
    /// The kernel's per-CPU tallies (`events::TALLIES`).
    tallies: PerCpuArray<MapData, u64>,
    pub ring: Option<RingBuf<MapData>>,
    pub kernel_counts: Option<KernelCounts>,
}

impl Maps {
    /// Fills the maps `config` sets, and takes the ones userspace keeps.
    pub fn take(ebpf: &mut Ebpf, config: &ProbeConfig) -> Result<Self> {
        fill(ebpf, config)?;
        let traced = MappedWords::new(Array::try_from(take(ebpf, targets::TRACED)?)?).context("cannot map the traced-process bitmap")?;
        let tallies = PerCpuArray::try_from(take(ebpf, events::TALLIES)?)?;
        let ring = Some(RingBuf::try_from(take(ebpf, events::EVENTS)?)?);
        let kernel_counts = match config.kernel_counts {
            true => Some(take_kernel_counts(ebpf, config)?),
            false => None,
        };
        let goid_offsets = match config.slow {
            Some(_) => Some(HashMap::try_from(take(ebpf, slow::GO_GOID_OFFSET)?)?),
            None => None,
        };
        Ok(Self { traced, goid_offsets, tallies, ring, kernel_counts })
    }

    /// The word of the traced-process bitmap that holds `tgid`'s bit.
    pub fn traced_word(&self, tgid: u32) -> Result<&std::sync::atomic::AtomicU64> {
        self.traced.word((tgid / 64) as usize).with_context(|| format!("pid {tgid} is above pid_max"))
    }

    /// Events the kernel could not put in the ring buffer, summed over CPUs.
    pub fn lost_events(&self) -> Result<u64> {
        self.tally(LOST_EVENTS)
    }

    /// Slow-call records that did not fit (their calls were still sent as plain events).
    pub fn lost_slow_records(&self) -> Result<u64> {
        self.tally(LOST_SLOW)
    }

    /// TCP connections traced threads used (counted once each by the kernel).
    pub fn connections_seen(&self) -> Result<u64> {
        self.tally(CONNECTIONS_SEEN)
    }

    fn tally(&self, index: u32) -> Result<u64> {
        Ok(self.tallies.get(&index, 0)?.iter().sum())
    }
}

fn take(ebpf: &mut Ebpf, name: &str) -> Result<Map> {
    ebpf.take_map(name).with_context(|| format!("map {name}"))
}

fn map_mut<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut Map> {
    ebpf.map_mut(name).with_context(|| format!("map {name}"))
}

fn mapped(ebpf: &mut Ebpf, name: &str) -> Result<MappedWords> {
    MappedWords::new(Array::try_from(take(ebpf, name)?)?).with_context(|| format!("cannot map {name}"))
}

/// The syscalls' flags, what slow calls copy, and the `-e` selection.
fn fill(ebpf: &mut Ebpf, config: &ProbeConfig) -> Result<()> {
    let mut flags: Array<_, u32> = Array::try_from(map_mut(ebpf, syscalls::SYSCALL_FLAGS)?)?;
    for (nr, value) in with_io_slots(&config.syscall_flags, &config.io_slots)? {
        flags.set(nr, value, 0)?;
    }
    if config.slow.is_some() {
        // What each syscall's slow record copies from user memory.
        let mut copies: Array<_, u32> = Array::try_from(map_mut(ebpf, slow::SLOW_USER_ARG)?)?;
        for (nr, how) in crate::syscalls::args::slow_copy_table() {
            copies.set(nr, how, 0)?;
        }
    }
    if let Some(selected) = &config.selected {
        let mut map: Array<_, u64> = Array::try_from(map_mut(ebpf, syscalls::SELECTED)?)?;
        for (index, word) in selected.words().iter().enumerate().take(SYSCALL_WORDS) {
            map.set(index as u32, word, 0)?;
        }
    }
    Ok(())
}

/// The kernel counts' maps, with the connections' and the groups' when they are counted.
fn take_kernel_counts(ebpf: &mut Ebpf, config: &ProbeConfig) -> Result<KernelCounts> {
    let totals = PerCpuArray::try_from(take(ebpf, kernel_counts::COUNT_TOTALS)?)?;
    let io_totals = PerCpuArray::try_from(take(ebpf, kernel_counts::IO_TOTALS)?)?;
    let (hist, io_hist) = (mapped(ebpf, kernel_counts::COUNT_HIST)?, mapped(ebpf, kernel_counts::IO_HIST)?);
    let errnos = mapped(ebpf, kernel_counts::COUNT_ERRNO)?;
    let mut counts = KernelCounts::new(totals, hist, errnos, io_totals, io_hist, config.io_slots.clone());
    if config.counts_connections() {
        let rows = HashMap::try_from(take(ebpf, net::SOCKETS)?)?;
        let free = Queue::try_from(take(ebpf, connections::CONN_FREE)?)?;
        let followed_all = Array::try_from(take(ebpf, connections::CONN_FOLLOWED_ALL)?)?;
        counts = counts.with_connections(ConnectionCounts::new(rows, free, followed_all, mapped(ebpf, connections::CONN_HIST)?)?);
    }
    if config.counts_threads() {
        let free = Queue::try_from(take(ebpf, sched::THREAD_FREE)?)?;
        let slots = Array::try_from(take(ebpf, syscalls::IN_FLIGHT)?)?;
        counts = counts.with_threads(ThreadCounts::new(free, mapped(ebpf, sched::THREAD_HIST)?, slots)?);
    }
    if let Some(groups) = config.counted_groups() {
        let group_of = HashMap::try_from(take(ebpf, kernel_counts::GROUP_OF)?)?;
        let rows = Array::try_from(take(ebpf, kernel_counts::GROUP_ROW)?)?;
        let mut countable = vec![true; MAX_SYSCALLS as usize];
        for &(nr, flags) in &config.syscall_flags {
            // Sent as events always, but for reads and writes.
            if flags & SYSCALL_NEEDS_EVENT != 0 && flags & SYSCALL_SOCKET_FD_ARG0 == 0 {
                countable[nr as usize] = false;
            }
        }
        counts = counts.with_groups(GroupRows::new(group_of, rows, groups, countable));
    }
    Ok(counts)
}

/// The syscalls' flags with each read/write-family syscall's I/O slot (from 1, in the order of
/// `io_slots`) in their top byte, where the kernel reads it with the flags.
fn with_io_slots(flags: &[(u32, u32)], io_slots: &[u32]) -> Result<Vec<(u32, u32)>> {
    if io_slots.len() > IO_SLOTS as usize {
        bail!("{} read/write-family syscalls, room for {IO_SLOTS}", io_slots.len());
    }
    let mut flags: std::collections::BTreeMap<u32, u32> = flags.iter().copied().collect();
    for (slot, &nr) in io_slots.iter().enumerate() {
        *flags.entry(nr).or_default() |= syscalls::io_slot_flags(slot as u32 + 1);
    }
    Ok(flags.into_iter().collect())
}
