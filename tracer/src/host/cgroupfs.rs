//! The cgroup hierarchies as this process sees them: mounts, the cgroup2 root, and the
//! processes in a cgroup.
use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

/// The root of the cgroup2 hierarchy (`--all` traces it: every process of the machine).
pub fn cgroup2_root() -> Result<PathBuf> {
    cgroup2_mounts().into_iter().min_by_key(|m| m.as_os_str().len()).context("no cgroup2 hierarchy is mounted (see /proc/self/mountinfo)")
}

/// Where cgroup2 is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on hybrid systems).
pub fn cgroup2_mounts() -> Vec<PathBuf> {
    mounts().into_iter().filter(|m| m.fs_type == "cgroup2").map(|m| m.point).collect()
}

/// One line of `/proc/self/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The directory of the filesystem that is mounted: `/` unless a subtree was (a cgroup
    /// namespace's, a bind mount's).
    pub root: PathBuf,
    pub point: PathBuf,
    pub fs_type: String,
    /// The filesystem's own options: for cgroup v1, the controllers of the hierarchy.
    pub super_options: String,
}

/// The mounts this process sees; none if `/proc/self/mountinfo` cannot be read.
pub fn mounts() -> Vec<Mount> {
    parse_mountinfo(&fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
}

/// The lines of a mountinfo file; a malformed one is left out.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            // "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu": optional
            // fields before the " - ", a variable number of them.
            let (mount, fs_part) = line.split_once(" - ")?;
            let mut mount = mount.split_whitespace().skip(3);
            let (root, point) = (mount.next()?, mount.next()?);
            let mut fs_part = fs_part.split_whitespace();
            let fs_type = fs_part.next()?.to_string();
            let super_options = fs_part.nth(1).unwrap_or_default().to_string();
            Some(Mount { root: unescape_mount_path(root), point: unescape_mount_path(point), fs_type, super_options })
        })
        .collect()
}

/// Mountinfo writes a space, tab, newline or backslash in a path as an octal escape (`\040`).
fn unescape_mount_path(field: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let (bytes, mut out, mut i) = (field.as_bytes(), Vec::with_capacity(field.len()), 0);
    while i < bytes.len() {
        let digit = |at: usize, max: u8| bytes.get(i + at).copied().filter(|c| (b'0'..=max).contains(c)).map(|c| c - b'0');
        match (bytes[i], digit(1, b'3'), digit(2, b'7'), digit(3, b'7')) {
            (b'\\', Some(a), Some(b), Some(c)) => {
                out.push(a << 6 | b << 3 | c);
                i += 4;
            }
            (byte, ..) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// The processes in `cgroup` and its descendants now.
pub fn cgroup_processes(cgroup: &Path) -> Vec<u32> {
    let mut pids: Vec<u32> = fs::read_to_string(cgroup.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    if let Ok(children) = fs::read_dir(cgroup) {
        for child in children.flatten().filter(|c| c.file_type().is_ok_and(|t| t.is_dir())) {
            pids.extend(cgroup_processes(&child.path()));
        }
    }
    pids
}

