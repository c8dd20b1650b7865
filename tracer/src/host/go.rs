//! A Go program's build info and GOMAXPROCS inputs, read from its binary and /proc (the
//! decoding and the arithmetic are the model's: [`crate::model::go_runtime`]).
use std::{fs, io, path::Path, thread, time::Duration};

use anyhow::{Context, Result};
use object::ReadCache;

use crate::model::go_runtime::{build_info, cpu_count, gomaxprocs, status_field, GoBuild, GoProcess};

/// Reads `.go.buildinfo` of an ELF file; Ok(None) when the file is not a Go binary (no such section / no magic),
/// which is also what a Go before 1.13 (no build info) looks like. Only its headers and build info are read, a
/// range at a time (at most [`MAX_READ`](crate::model::go_runtime::MAX_READ) at once), never the whole file.
pub fn read_build_info(exe: &Path) -> Result<Option<GoBuild>> {
    let file = fs::File::open(exe).with_context(|| format!("cannot read {}", exe.display()))?;
    build_info(&ReadCache::new(file)).with_context(|| format!("{}: cannot read its Go build info", exe.display()))
}

/// Ok(None) if the process is not a Go program (or is gone). `quota_cpus` is the cgroup's CPU quota in CPUs
/// (quota/period) if it has one.
pub fn inspect(pid: u32, quota_cpus: Option<f64>) -> Result<Option<GoProcess>> {
    // Through /proc/PID/exe: the file it runs, even if deleted or replaced since.
    let exe = match fs::File::open(format!("/proc/{pid}/exe")) {
        Ok(exe) => ReadCache::new(exe),
        Err(e) if gone(&e) => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read /proc/{pid}/exe")),
    };
    let Some(build) = build_info(&exe).with_context(|| format!("/proc/{pid}/exe: cannot read its Go build info"))? else {
        return Ok(None);
    };
    drop(exe);
    let (Some(status), Some(environ)) = (read_proc(pid, "status")?, read_environ(pid)?) else { return Ok(None) };
    let status = String::from_utf8_lossy(&status);
    let field = |name| status_field(&status, name).with_context(|| format!("no {name} in /proc/{pid}/status"));
    let threads = field("Threads")?.parse().with_context(|| format!("/proc/{pid}/status: bad Threads"))?;
    let list = field("Cpus_allowed_list")?;
    let cpus_allowed = cpu_count(list).with_context(|| format!("/proc/{pid}/status: bad Cpus_allowed_list {list:?}"))?;
    let (gomaxprocs, source) = gomaxprocs(&build, &environ, cpus_allowed, quota_cpus);
    Ok(Some(GoProcess { pid, build, gomaxprocs, source, threads, cpus_allowed }))
}

/// The environment the process started with. Just after an exec, until the kernel has laid out the new stack,
/// environ reads empty, and so does cmdline (never empty after): a process seen that early is waited for.
fn read_environ(pid: u32) -> Result<Option<Vec<u8>>> {
    for _ in 0..100 {
        let Some(environ) = read_proc(pid, "environ")? else { return Ok(None) };
        if !environ.is_empty() {
            return Ok(Some(environ));
        }
        let Some(cmdline) = read_proc(pid, "cmdline")? else { return Ok(None) };
        if !cmdline.is_empty() {
            return Ok(Some(environ));
        }
        thread::sleep(Duration::from_millis(1));
    }
    Ok(Some(Vec::new()))
}

/// A /proc file of the process; None when the process (or this file of it) is gone.
fn read_proc(pid: u32, name: &str) -> Result<Option<Vec<u8>>> {
    let path = format!("/proc/{pid}/{name}");
    match fs::read(&path) {
        Ok(data) => Ok(Some(data)),
        Err(e) if gone(&e) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {path}")),
    }
}

/// ENOENT: no such process, or one without an executable (a kernel thread, a zombie); ESRCH: it exited meanwhile.
fn gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH)
}


#[cfg(test)]
mod tests {
    use super::*;

    /// An executable of 8 GiB (sparse) whose `.go.buildinfo` section claims 4 GiB at its end:
    /// an error, from a few small reads, never the file or the section in memory.
    #[test]
    fn a_huge_binary_is_not_read_whole() {
        let (_, elf) = crate::fuzz::corpus("go_buildinfo").into_iter().find(|(name, _)| name == "go118.elf").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge");
        let build = |elf: &[u8]| {
            fs::write(&path, elf).unwrap();
            fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(8 << 30).unwrap();
            crate::fuzz::largest_allocation(|| read_build_info(&path))
        };
        let (found, largest) = build(&elf);
        assert!(found.unwrap().is_some() && largest < 1 << 20, "{largest}");
        // Section header 2 (.go.buildinfo): its offset and size (64-bit ELF: sh_offset at 24, sh_size at 32).
        let shoff = u64::from_le_bytes(elf[0x28..0x30].try_into().unwrap()) as usize;
        let mut huge = elf.clone();
        huge[shoff + 2 * 64 + 24..][..8].copy_from_slice(&(4u64 << 30).to_le_bytes());
        huge[shoff + 2 * 64 + 32..][..8].copy_from_slice(&(4u64 << 30).to_le_bytes());
        let (found, largest) = build(&huge);
        // Only the section's first 1 MiB + 64 KiB are read: zeros, no build info.
        assert!(largest <= 2 << 20, "{largest}");
        assert_eq!(found.unwrap(), None);
    }
}
