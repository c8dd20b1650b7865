//! The processes to trace: existing PIDs, cgroups, or a command spawned stopped before `execve`
//! so that it is traced from its first syscall without ptrace.
use std::{
    ffi::CString,
    fs,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};

use crate::host::cgroupfs::cgroup2_mounts;
use nix::{
    sys::{
        signal::{kill, Signal},
        wait::{waitpid, WaitStatus},
    },
    unistd::{fork, ForkResult, Pid},
};

/// A cgroup v2 directory whose processes are traced, descendants included.
#[derive(Clone, Debug)]
pub struct CgroupTarget {
    pub path: PathBuf,
    /// What `bpf_get_current_cgroup_id()` returns for it: the directory's inode number.
    pub id: u64,
    /// Its depth below the hierarchy's root (the root is 0), for the kernel's ancestor check.
    pub level: u32,
    /// Its path from the hierarchy's root, as /proc/PID/cgroup shows it: "/system.slice/x".
    pub relative: String,
}

/// Resolves `--cgroup PATH`.
pub fn resolve_cgroup(path: &Path) -> Result<CgroupTarget> {
    use std::os::unix::fs::MetadataExt;
    let resolved = fs::canonicalize(path).map_err(|_| anyhow::anyhow!("no such cgroup: {}", path.display()))?;
    let on_cgroup2 = nix::sys::statfs::statfs(&resolved)
        .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
    if !on_cgroup2 || !resolved.is_dir() {
        bail!(
            "{} is not a cgroup v2 directory (tracer filters by the unified hierarchy's cgroup ids; a cgroup v1 one cannot be traced)",
            path.display()
        );
    }
    let root = cgroup2_mounts()
        .into_iter()
        .filter(|mount| resolved.starts_with(mount))
        .max_by_key(|mount| mount.as_os_str().len())
        .with_context(|| format!("{}: no cgroup2 mount holds it", path.display()))?;
    let below = resolved.strip_prefix(&root).unwrap_or(Path::new(""));
    let level = below.components().count() as u32;
    let relative = format!("/{}", below.display());
    let id = fs::metadata(&resolved).with_context(|| format!("cannot read {}", path.display()))?.ino();
    Ok(CgroupTarget { path: resolved, id, level, relative })
}

/// Resolves `-p` arguments to tgids. A thread id stands for its whole process.
pub fn resolve_pid(pid: u32) -> Result<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|_| anyhow::anyhow!("no such process: {pid}"))?;
    if is_kernel_thread(pid) {
        bail!("process {pid} is a kernel thread: it makes no syscalls to trace");
    }
    let tgid = status
        .lines()
        .find_map(|line| line.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("cannot read the thread group of process {pid}"))?;
    Ok(tgid)
}

/// Whether `pid` is a kernel thread: `PF_KTHREAD` in its flags, the ninth field of
/// `/proc/PID/stat` (counted after the name, which may hold spaces and parentheses).
fn is_kernel_thread(pid: u32) -> bool {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    // state, ppid, pgrp, session, tty_nr, tpgid, flags
    after_name.split_whitespace().nth(6).and_then(|flags| flags.parse::<u64>().ok()).is_some_and(|flags| flags & PF_KTHREAD != 0)
}

/// A forked child stopped, before `execve`, until [`SpawnedChild::release`].
///
/// It waits stopped (SIGSTOP), not inside a syscall: a syscall it sat in would return once
/// the child is traced, and be counted as the command's, in progress when tracing began.
pub struct SpawnedChild {
    pub pid: u32,
    /// The file it execs (found as `execvp` would), absolute.
    pub program_path: PathBuf,
    stopped: bool,
    /// The command as given, for a failed exec's message.
    program: String,
    /// Read end of a close-on-exec pipe: end of file once the exec succeeded, or the errno of
    /// the exec that failed.
    exec_status: OwnedFd,
}

impl SpawnedChild {
    /// Forks; the child execs `argv` once released. Call before any thread is started: after
    /// fork the child only runs async-signal-safe code (signal, raise, execv, write, _exit).
    pub fn spawn(argv: &[String]) -> Result<Self> {
        let program = find_program(&argv[0])?;
        let path = CString::new(program.as_os_str().as_encoded_bytes()).context("command contains a NUL byte")?;
        let args: Vec<CString> =
            argv.iter().map(|a| CString::new(a.as_bytes())).collect::<Result<_, _>>().context("argument contains a NUL byte")?;
        let mut ends = [0; 2];
        if unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            bail!("cannot create a pipe: {}", std::io::Error::last_os_error());
        }
        let (exec_status, exec_failed) = unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
        match unsafe { fork() }.context("fork")? {
            ForkResult::Child => {
                // The tracer's Ctrl-C and SIGTERM handlers were copied by fork: until execve
                // (which resets them), a signal must act on the command as it would after.
                // Rust ignores SIGPIPE at startup; the command must get the default back.
                unsafe {
                    libc::signal(libc::SIGINT, libc::SIG_DFL);
                    libc::signal(libc::SIGTERM, libc::SIG_DFL);
                    libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                    // Continued by release(). If the tracer dies first, the kernel sends the
                    // orphaned, stopped child SIGHUP (and SIGCONT), which ends it.
                    libc::raise(libc::SIGSTOP);
                }
                let _ = nix::unistd::execv(&path, &args);
                // The parent says why, in one line, and ends the trace.
                let errno = nix::errno::Errno::last_raw().to_ne_bytes();
                unsafe {
                    libc::write(exec_failed.as_raw_fd(), errno.as_ptr().cast(), errno.len());
                    libc::_exit(127)
                }
            }
            ForkResult::Parent { child } => {
                drop(exec_failed);
                let program_path = std::path::absolute(&program).unwrap_or(program);
                let spawned = Self { pid: child.as_raw() as u32, program_path, stopped: true, program: argv[0].clone(), exec_status };
                match waitpid(child, Some(nix::sys::wait::WaitPidFlag::WUNTRACED)).context("wait for the command to stop")? {
                    WaitStatus::Stopped(..) => Ok(spawned),
                    status => bail!("the command's process did not wait for the tracer ({status:?})"),
                }
            }
        }
    }

    /// Lets the child exec its command, and waits until it did; an exec that failed (not an
    /// executable, no permission) is an error that names the command and why.
    pub fn release(&mut self) -> Result<()> {
        if std::mem::take(&mut self.stopped) {
            kill(Pid::from_raw(self.pid as i32), Signal::SIGCONT).context("cannot release the spawned command")?;
            let mut errno = [0u8; 4];
            let read = loop {
                match nix::unistd::read(self.exec_status.as_raw_fd(), &mut errno) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    other => break other,
                }
            };
            if read == Ok(errno.len()) {
                let why = nix::errno::Errno::from_raw(i32::from_ne_bytes(errno)).desc();
                bail!("cannot execute {}: {why}", self.program);
            }
        }
        Ok(())
    }

    /// Reaps the child once it has exited: its exit code, or 128 + signal like a shell.
    pub fn exit_code(&self) -> Option<i32> {
        match waitpid(Pid::from_raw(self.pid as i32), Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => Some(code),
            Ok(WaitStatus::Signaled(_, signal, _)) => Some(128 + signal as i32),
            _ => None,
        }
    }
}

impl Drop for SpawnedChild {
    fn drop(&mut self) {
        // Never released (the tracer failed to start): the command must not run untraced.
        if self.stopped {
            let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(self.pid as i32), None);
        }
    }
}

/// `execvp`'s search, done in the parent so "command not found" is a clear error up front.
fn find_program(name: &str) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let is_executable =
        |p: &Path| fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false);
    if name.contains('/') {
        let path = PathBuf::from(name);
        return match fs::metadata(&path) {
            _ if is_executable(&path) => Ok(path),
            Ok(meta) if meta.is_dir() => bail!("cannot execute {name}: Is a directory"),
            Ok(_) => bail!("cannot execute {name}: Permission denied"),
            Err(_) => bail!("command not found: {name}"),
        };
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&search)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
        .with_context(|| format!("command not found: {name}"))
}

/// A pidfd: becomes readable when the process has exited. `None` if it is already gone.
pub fn pidfd(pid: u32) -> Option<OwnedFd> {
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
