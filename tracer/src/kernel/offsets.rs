//! Where the programs read kernel data: struct member offsets from the kernel's BTF (parsed on
//! a thread of its own), and field offsets in a classic tracepoint's record from tracefs.
use std::{
    fs,
    path::Path,
    sync::mpsc::{self, Receiver},
    thread::JoinHandle,
};

use anyhow::{anyhow, Context, Result};
use aya::Btf;
use tracer_common::{fd_kinds, names::GlobalName, net, sched, targets};

use super::{
    btf::{self, KernelBtf},
    features::KernelFeatures,
    probes::{ProbeConfig, BTF_PATH},
};

const TRACEFS: &str = "/sys/kernel/tracing";

/// A `u32` global and its value.
pub type Offset = (GlobalName<u32>, u32);

/// The kernel's BTF, read and parsed on a thread of its own. It is parsed twice: by
/// `EbpfLoader::new()` for its relocations (aya keeps that copy private), and here for attaching
/// BTF tracepoints and for the struct offsets the programs read at; ours is parsed while the
/// loader parses its copy.
pub struct BtfThread {
    offsets: Receiver<Result<(Vec<Offset>, KernelFeatures)>>,
    parsed: JoinHandle<Result<Btf>>,
}

impl BtfThread {
    pub fn spawn(config: &ProbeConfig, cgroup_walk: bool) -> Self {
        let (offsets_tx, offsets) = mpsc::channel();
        let (sched, net) = (config.sched_split, config.net);
        let parsed = std::thread::spawn(move || -> Result<Btf> {
            let data = btf::read(BTF_PATH)?;
            let _ = offsets_tx.send(btf_offsets(&data, sched, net, cgroup_walk));
            Btf::parse(&data, object::Endianness::default()).context("cannot parse the kernel's BTF")
        });
        Self { offsets, parsed }
    }

    /// The struct offsets and the kernel's features, sent before aya's parse of the BTF.
    pub fn offsets(&self) -> Result<(Vec<Offset>, KernelFeatures)> {
        self.offsets.recv().map_err(|_| anyhow!("cannot read the kernel's BTF ({BTF_PATH})"))?
    }

    /// aya's parse of the BTF, for attaching.
    pub fn join(self) -> Result<Btf> {
        self.parsed.join().map_err(|_| anyhow!("BTF parser panicked"))?
    }
}

/// The struct member offsets the programs read at, from the kernel's BTF: `task_struct.pid`
/// for the scheduler programs, the addresses and ports of `struct sock` for the TCP state one.
fn btf_offsets(data: &[u8], sched: bool, net: bool, cgroup_walk: bool) -> Result<(Vec<Offset>, KernelFeatures)> {
    let btf = KernelBtf::parse(data).with_context(|| format!("cannot parse {BTF_PATH}"))?;
    let offset = |name: &str, member: &str| btf.member_offset(name, member);
    let features = KernelFeatures::from_btf(&btf)?;
    let mut offsets = Vec::new();
    if cgroup_walk {
        // current->cgroups->dfl_cgrp, its level, and its ancestors: ids before 6.2, pointers
        // (whose kernfs node has the id) after.
        let ids = btf.has_member("cgroup", "ancestor_ids");
        offsets.push((targets::CGROUP_ANCESTRY, if ids { 1 } else { 2 }));
        offsets.push((targets::TASK_CGROUPS_OFFSET, offset("task_struct", "cgroups")?));
        offsets.push((targets::CSS_SET_DFL_CGRP_OFFSET, offset("css_set", "dfl_cgrp")?));
        offsets.push((targets::CGROUP_LEVEL_OFFSET, offset("cgroup", "level")?));
        offsets.push((targets::CGROUP_ANCESTORS_OFFSET, offset("cgroup", if ids { "ancestor_ids" } else { "ancestors" })?));
        if !ids {
            offsets.push((targets::CGROUP_KN_OFFSET, offset("cgroup", "kn")?));
            offsets.push((targets::KERNFS_NODE_ID_OFFSET, offset("kernfs_node", "id")?));
        }
    }
    // current->files->fdt->fd[fd]->f_inode->i_mode: what an fd is, for reads and writes counted
    // in the kernel by fd kind, and told with each one sent (the reader's /proc may be too
    // late: the fd closed, or another file); the sockets of fds too.
    for (global, name, member) in [
        (fd_kinds::TASK_FILES_OFFSET, "task_struct", "files"),
        (fd_kinds::FILES_FDT_OFFSET, "files_struct", "fdt"),
        (fd_kinds::FDT_MAX_FDS_OFFSET, "fdtable", "max_fds"),
        (fd_kinds::FDT_FD_OFFSET, "fdtable", "fd"),
        (fd_kinds::FILE_INODE_OFFSET, "file", "f_inode"),
        (fd_kinds::INODE_MODE_OFFSET, "inode", "i_mode"),
    ] {
        offsets.push((global, offset(name, member)?));
    }
    if sched {
        offsets.push((sched::TASK_PID_OFFSET, offset("task_struct", "pid")?));
        offsets.push((sched::TASK_COMM_OFFSET, offset("task_struct", "comm")?));
        if !features.switch_prev_state {
            offsets.push((sched::SWITCH_HAS_PREV_STATE, 0));
            offsets.push((sched::TASK_STATE_OFFSET, offset("task_struct", features.task_state_member)?));
        }
    }
    if net {
        // Without the socket tracepoints, a socket syscall's socket is read through its fd.
        if !features.socket_tracepoints {
            offsets.push((net::SOCKET_FROM_FD, 1));
        }
        offsets.push((net::FILE_PRIVATE_DATA_OFFSET, offset("file", "private_data")?));
        offsets.push((net::SOCKET_SK_OFFSET, offset("socket", "sk")?));
        // `struct sock` begins with its `struct sock_common`, but BTF says where.
        let common = offset("sock", "__sk_common")?;
        offsets.push((net::SK_PROTOCOL_OFFSET, offset("sock", "sk_protocol")?));
        for (global, member) in [
            (net::SK_FAMILY_OFFSET, "skc_family"),
            (net::SK_NUM_OFFSET, "skc_num"),
            (net::SK_DPORT_OFFSET, "skc_dport"),
            (net::SK_RCV_SADDR_OFFSET, "skc_rcv_saddr"),
            (net::SK_DADDR_OFFSET, "skc_daddr"),
            (net::SK_V6_RCV_SADDR_OFFSET, "skc_v6_rcv_saddr"),
            (net::SK_V6_DADDR_OFFSET, "skc_v6_daddr"),
        ] {
            offsets.push((global, common + offset("sock_common", member)?));
        }
    }
    Ok((offsets, features))
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
/// with the globals that carry them to the kernel programs.
pub fn field_offsets(category: &str, name: &str, fields: &[(GlobalName<u32>, &str)]) -> Result<Vec<Offset>> {
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
