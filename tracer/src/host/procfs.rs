//! The traced processes as /proc and the cgroup2 hierarchy show them.
use std::{collections::HashMap, fs, os::unix::fs::MetadataExt, path::Path};

use super::{names, ProcessFacts};

/// Answers the model from /proc.
pub struct ProcFs;

impl ProcessFacts for ProcFs {
    fn name(&self, pid: u32) -> Option<String> {
        names::process_name(pid)
    }

    fn exists(&self, pid: u32) -> bool {
        names::process_exists(pid)
    }

    fn cgroup(&self, pid: u32) -> Option<String> {
        process_cgroup(pid)
    }

    fn cgroup_paths(&self, root: &Path) -> HashMap<u64, String> {
        let mut paths = HashMap::new();
        walk_cgroups(root, root, 0, &mut paths);
        paths
    }

    fn fd_target(&self, tgid: u32, fd: i32) -> Option<String> {
        Some(fs::read_link(format!("/proc/{tgid}/fd/{fd}")).ok()?.to_string_lossy().into_owned())
    }

    fn open_fds(&self, tgid: u32) -> Option<Vec<i32>> {
        let dir = fs::read_dir(format!("/proc/{tgid}/fd")).ok()?;
        Some(dir.flatten().filter_map(|entry| entry.file_name().to_str()?.parse().ok()).collect())
    }
}

/// The process's cgroup v2 path, from the hierarchy's root: the "0::" line of /proc/PID/cgroup.
pub fn process_cgroup(tgid: u32) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{tgid}/cgroup")).ok()?;
    text.lines().find_map(|line| line.strip_prefix("0::")).map(|p| p.trim().to_string())
}

/// Records every cgroup directory below `dir` (at most 16 levels) by inode: its cgroup id.
fn walk_cgroups(root: &Path, dir: &Path, depth: usize, paths: &mut HashMap<u64, String>) {
    if let Ok(meta) = fs::metadata(dir) {
        let relative = dir.strip_prefix(root).map_or_else(|_| "/".to_string(), |rest| format!("/{}", rest.display()));
        paths.insert(meta.ino(), relative);
    }
    if depth >= 16 {
        return;
    }
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk_cgroups(root, &entry.path(), depth + 1, paths);
        }
    }
}
