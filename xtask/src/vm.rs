//! Commands run in a QEMU VM on one of Debian's stock kernels, the way aya tests itself.
//!
//! The VM's root is this machine's root filesystem, shared read-only over 9p, so the
//! workspace's binaries run in it unchanged, from the same paths. A second, writable 9p share
//! (a fresh directory under /tmp) carries the plan in and the results out:
//!
//! - host: writes `spec` (cwd, environment, jobs), builds an initramfs (static busybox, the
//!   kernel's 9p modules, `/init`) and starts QEMU (TCG: this machine's KVM cannot run stock
//!   kernels), then streams each job's output as it grows and kills QEMU at the deadline;
//! - `/init`: loads the modules, mounts the shares and the kernel file systems, and chroots
//!   into the host's root to run a copy of this xtask binary as `__vm-guest`, PID 1 of the VM;
//! - guest: closes every fd above 2, runs the jobs one after another (each with only fds
//!   0, 1 and 2, in its own process group, killed at its own timeout), writes `N.out` and
//!   `N.rc` for each, and powers the VM off.
use std::{
    fs,
    io::{Read, Seek, SeekFrom, Write},
    os::unix::process::{CommandExt, ExitStatusExt},
    path::{Path, PathBuf},
    process::{Command, ExitCode, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use crate::kernels::Kernel;

/// Where the writable share is mounted in the VM (a tmpfs the init script makes there).
const GUEST_OUT: &str = "/run/tracer-vm";
/// 9p message size: the most the virtio transport takes (fewer round trips for big reads).
const MSIZE: u32 = 512_000;

pub struct Job {
    /// Shown to people; files are named by index.
    pub name: String,
    pub argv: Vec<String>,
    pub timeout: Duration,
}

pub struct Spec {
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub jobs: Vec<Job>,
    /// Host directories the jobs need besides the cwd and their programs' directories. The VM
    /// mounts /tmp and /run afresh; what is needed from under them is bound in from the host.
    pub paths: Vec<PathBuf>,
}

pub struct Machine {
    pub cpus: u32,
    pub memory_mib: u32,
    /// The whole VM, boot to power-off; QEMU is killed after it.
    pub timeout: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub enum JobEnd {
    Exited(i32),
    Signaled(i32),
    TimedOut,
    /// The VM ended (or was killed) before the job did.
    NotRun,
}

pub struct Outcome {
    /// One per job: how it ended and what it printed.
    pub jobs: Vec<(JobEnd, String)>,
    /// Why the VM did not run every job, with the tail of its serial console; `None` when it did.
    pub failure: Option<String>,
    pub wall: Duration,
}

impl Spec {
    /// The caller's cwd and a plain root environment with the caller's PATH.
    pub fn here(jobs: Vec<Job>) -> Result<Self> {
        let mut env = vec![("HOME".to_string(), "/root".to_string()), ("USER".to_string(), "root".to_string())];
        for key in ["PATH", "LANG", "TERM", "RUST_BACKTRACE", "RUST_LOG"] {
            if let Ok(value) = std::env::var(key) {
                env.push((key.to_string(), value));
            }
        }
        Ok(Self { cwd: std::env::current_dir().context("current dir")?, env, jobs, paths: Vec::new() })
    }

    fn encode(&self) -> String {
        let mut text = format!("cwd\t{}\n", escape(&self.cwd.to_string_lossy()));
        for (key, value) in &self.env {
            text += &format!("env\t{}\t{}\n", escape(key), escape(value));
        }
        for job in &self.jobs {
            let argv: Vec<String> = job.argv.iter().map(|a| escape(a)).collect();
            text += &format!("job\t{}\t{}\t{}\n", escape(&job.name), job.timeout.as_secs(), argv.join("\t"));
        }
        text
    }

    fn decode(text: &str) -> Result<Self> {
        let mut spec = Spec { cwd: PathBuf::from("/"), env: Vec::new(), jobs: Vec::new(), paths: Vec::new() };
        for line in text.lines() {
            let fields: Vec<String> = line.split('\t').map(unescape).collect();
            match fields.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                ["cwd", cwd] => spec.cwd = PathBuf::from(cwd),
                ["env", key, value] => spec.env.push((key.to_string(), value.to_string())),
                ["job", name, timeout, argv @ ..] if !argv.is_empty() => spec.jobs.push(Job {
                    name: name.to_string(),
                    timeout: Duration::from_secs(timeout.parse()?),
                    argv: argv.iter().map(|a| a.to_string()).collect(),
                }),
                _ => bail!("bad spec line {line:?}"),
            }
        }
        Ok(spec)
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n")
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// `cargo xtask vm --kernel SERIES [--cpus N] [--memory MIB] [--timeout SECS] -- COMMAND...`:
/// COMMAND's output as it comes, and its exit status as ours.
pub fn command(args: &[String]) -> Result<ExitCode> {
    const USAGE: &str = "usage: cargo xtask vm --kernel SERIES [--cpus N] [--memory MIB] [--timeout SECS] -- COMMAND...";
    let (options, argv) = match args.iter().position(|a| a == "--") {
        Some(at) => (&args[..at], &args[at + 1..]),
        None => bail!("{USAGE}"),
    };
    let mut series = None;
    let mut machine = Machine { cpus: 2, memory_mib: 4096, timeout: Duration::from_secs(3600) };
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let value = options.next().with_context(|| format!("{option} needs a value\n{USAGE}"))?;
        let number = || value.parse::<u64>().with_context(|| format!("{option} {value}: not a number"));
        match option.as_str() {
            "--kernel" => series = Some(value.clone()),
            "--cpus" => machine.cpus = number()? as u32,
            "--memory" => machine.memory_mib = number()? as u32,
            "--timeout" => machine.timeout = Duration::from_secs(number()?),
            _ => bail!("unknown option {option}\n{USAGE}"),
        }
    }
    let (Some(series), false) = (series, argv.is_empty()) else { bail!("{USAGE}") };
    let kernel = crate::kernels::ensure(&series)?;
    let name = argv[0].clone();
    let spec = Spec::here(vec![Job { name, argv: argv.to_vec(), timeout: machine.timeout }])?;
    let outcome = run(&kernel, &machine, &spec, &|_, line| println!("{line}"))?;
    if let Some(failure) = outcome.failure {
        bail!("{failure}");
    }
    match &outcome.jobs[0].0 {
        JobEnd::Exited(code) => Ok(ExitCode::from(*code as u8)),
        JobEnd::Signaled(signal) => Ok(ExitCode::from(128 + *signal as u8)),
        JobEnd::TimedOut => bail!("{} was killed after {} s", argv[0], machine.timeout.as_secs()),
        JobEnd::NotRun => bail!("{} did not run", argv[0]),
    }
}

/// Boots `kernel`, runs the jobs of `spec` in it and powers it off. `line` gets each line the
/// jobs print, as they print it, with the job's index.
pub fn run(kernel: &Kernel, machine: &Machine, spec: &Spec, line: &dyn Fn(usize, &str)) -> Result<Outcome> {
    let started = Instant::now();
    sweep_stale();
    static VMS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = VMS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let work = std::env::temp_dir().join(format!("tracer-vm-{}-{n}-{}", std::process::id(), kernel.series));
    let _ = fs::remove_dir_all(&work);
    let out = work.join("out");
    fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    let result = boot(kernel, machine, spec, &work, line);
    if std::env::var_os("TRACER_VM_KEEP").is_none() {
        let _ = fs::remove_dir_all(&work);
    } else {
        eprintln!("xtask: VM files kept in {}", work.display());
    }
    let (jobs, failure) = result?;
    Ok(Outcome { jobs, failure, wall: started.elapsed() })
}

/// Removes what VMs of xtask processes that are gone (killed, say) left in the temp dir.
fn sweep_stale() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("tracer-vm-").and_then(|rest| rest.split('-').next()) else { continue };
        // Gone, or a zombie nobody reaped yet.
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let alive = stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z'));
        if pid.parse::<u32>().is_ok() && !alive {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

type Results = (Vec<(JobEnd, String)>, Option<String>);

fn boot(kernel: &Kernel, machine: &Machine, spec: &Spec, work: &Path, line: &dyn Fn(usize, &str)) -> Result<Results> {
    let out = work.join("out");
    fs::write(out.join("spec"), spec.encode())?;
    // This very binary runs the jobs in the VM. A copy, through the share: `cargo xtask test`
    // rebuilds the workspace, xtask included, so the file it was started from may be gone.
    fs::copy("/proc/self/exe", out.join("xtask")).context("copy /proc/self/exe")?;
    let initramfs = work.join("initramfs.cpio");
    fs::write(&initramfs, initramfs_image(kernel, &shadowed_paths(spec))?)?;
    let console = work.join("console");

    let mut qemu = Command::new("qemu-system-x86_64");
    // One host thread for all vCPUs: with multi-threaded TCG, Debian's 6.12 twice died of an
    // "Oops: int3" in a dozen runs, hitting a breakpoint the kernel had put in while patching
    // its text (text_poke_bp, as tracepoints are switched on and off). Single-threaded, it
    // never did, and the tests ran as fast: they keep about one vCPU busy.
    qemu.args(["-accel", "tcg,thread=single", "-cpu", "max", "-nodefaults", "-display", "none", "-no-reboot"])
        .args(["-smp", &machine.cpus.to_string(), "-m", &format!("{}M", machine.memory_mib)])
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-kernel")
        .arg(&kernel.vmlinuz)
        .arg("-initrd")
        .arg(&initramfs)
        // The whole boot log goes to the console file: shown only when the VM fails.
        .args(["-append", "console=ttyS0 panic=-1"])
        .args(["-virtfs", "local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap"])
        .arg("-virtfs")
        .arg(format!("local,path={},mount_tag=out,security_model=none", out.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(work.join("qemu.log"))?);
    // QEMU goes when xtask goes, killed or not: a VM left behind could run until it hangs.
    unsafe {
        qemu.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = qemu.spawn().context("cannot start qemu-system-x86_64 (cargo xtask setup installs it)")?;

    let deadline = Instant::now() + machine.timeout;
    let mut tail = Tail::default();
    let mut timed_out = false;
    let status = loop {
        let status = child.try_wait()?;
        tail.follow(&out, spec.jobs.len(), line);
        if let Some(status) = status {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            timed_out = true;
            break child.wait()?;
        }
        thread::sleep(Duration::from_millis(200));
    };
    tail.finish(&out, spec.jobs.len(), line);

    let mut jobs = Vec::new();
    for i in 0..spec.jobs.len() {
        let end = match fs::read_to_string(out.join(format!("{i}.rc"))) {
            Ok(rc) => parse_end(&rc),
            Err(_) => JobEnd::NotRun,
        };
        let text = fs::read(out.join(format!("{i}.out"))).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        jobs.push((end, text));
    }
    let failure = if timed_out || jobs.iter().any(|(end, _)| *end == JobEnd::NotRun) {
        let why = if timed_out {
            format!("the VM did not finish within {} s and was killed", machine.timeout.as_secs())
        } else {
            let qemu_log = fs::read_to_string(work.join("qemu.log")).unwrap_or_default();
            format!("the VM stopped before its jobs were done (qemu {status}){}", indent(&qemu_log))
        };
        let why = match fs::read_to_string(out.join("guest-error")) {
            Ok(error) => format!("{why}; xtask in the VM said: {}", error.trim()),
            Err(_) => why,
        };
        let console = fs::read(&console).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        let last: Vec<&str> = console.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
        Some(format!("{why}; the end of its serial console:\n{}", indent(&last.join("\n"))))
    } else {
        None
    };
    Ok((jobs, failure))
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("\n    {l}")).collect()
}

fn parse_end(rc: &str) -> JobEnd {
    let rc = rc.trim();
    if let Some(code) = rc.strip_prefix("exit ").and_then(|c| c.parse().ok()) {
        JobEnd::Exited(code)
    } else if let Some(signal) = rc.strip_prefix("signal ").and_then(|c| c.parse().ok()) {
        JobEnd::Signaled(signal)
    } else if rc == "timeout" {
        JobEnd::TimedOut
    } else {
        JobEnd::NotRun
    }
}

/// Follows the jobs' output files, which the guest fills one after another over 9p.
#[derive(Default)]
struct Tail {
    job: usize,
    offset: u64,
    partial: String,
}

impl Tail {
    fn follow(&mut self, out: &Path, jobs: usize, line: &dyn Fn(usize, &str)) {
        while self.job < jobs {
            // Read the rc first: once it is there, the output is complete.
            let done = out.join(format!("{}.rc", self.job)).exists();
            self.read(out, line);
            if !done {
                return;
            }
            if !self.partial.is_empty() {
                line(self.job, &std::mem::take(&mut self.partial));
            }
            self.job += 1;
            self.offset = 0;
        }
    }

    fn finish(&mut self, out: &Path, jobs: usize, line: &dyn Fn(usize, &str)) {
        self.follow(out, jobs, line);
        if self.job < jobs && !self.partial.is_empty() {
            line(self.job, &std::mem::take(&mut self.partial));
        }
    }

    fn read(&mut self, out: &Path, line: &dyn Fn(usize, &str)) {
        let Ok(mut file) = fs::File::open(out.join(format!("{}.out", self.job))) else { return };
        let mut bytes = Vec::new();
        if file.seek(SeekFrom::Start(self.offset)).is_err() || file.read_to_end(&mut bytes).is_err() {
            return;
        }
        self.offset += bytes.len() as u64;
        self.partial += &String::from_utf8_lossy(&bytes);
        while let Some(end) = self.partial.find('\n') {
            let rest = self.partial.split_off(end + 1);
            let whole = std::mem::replace(&mut self.partial, rest);
            line(self.job, whole.trim_end_matches('\n'));
        }
    }
}

/// The init script: 9p modules, the host's root read-only, the kernel file systems inside it,
/// then this xtask as PID 1 of the VM. On any failure it says why on the console and powers off.
fn init_script(shadowed: &[PathBuf]) -> String {
    let binds: String = shadowed
        .iter()
        .map(|path| {
            let path = sh_quote(&path.to_string_lossy());
            format!("$b mkdir -p .{path} && $b mount -o bind /host{path} .{path} || fail \"cannot bind {path}\"\n")
        })
        .collect();
    format!(
        r#"#!/bin/busybox sh
b=/bin/busybox
fail() {{ echo "init: $*"; $b poweroff -f; }}
$b mount -t proc proc /proc
$b mount -t sysfs sys /sys
$b mount -t devtmpfs dev /dev
for m in /m/*; do [ -e "$m" ] || continue; $b insmod "$m" || fail "insmod $m failed"; done
$b mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize={MSIZE},cache=loose root /newroot || fail "cannot mount the host's root"
cd /newroot || fail "no /newroot"
$b mount -t proc proc proc
$b mount -t sysfs sys sys
$b mount -t devtmpfs dev dev
$b mkdir -p dev/pts dev/shm
$b mount -t devpts devpts dev/pts
$b mount -t tmpfs shm dev/shm
$b mkdir -p /host/tmp /host/run
$b mount -o bind tmp /host/tmp
$b mount -o bind run /host/run
$b mount -t tmpfs tmp tmp
$b mount -t tmpfs run run
{binds}$b mount -t cgroup2 cgroup2 sys/fs/cgroup
# As systemd does: every controller available to child cgroups (the cpu quota tests need cpu).
for c in $($b cat sys/fs/cgroup/cgroup.controllers); do echo "+$c" > sys/fs/cgroup/cgroup.subtree_control; done
$b mount -t tracefs tracefs sys/kernel/tracing
$b mount -t debugfs debugfs sys/kernel/debug
$b mount -t bpf bpf sys/fs/bpf
$b mkdir -p .{GUEST_OUT}
$b mount -t 9p -o trans=virtio,version=9p2000.L,msize={MSIZE} out .{GUEST_OUT} || fail "cannot mount the output share"
$b ip link set lo up
# As switch_root does: the host's root becomes this namespace's root (not a chroot below it),
# so that what the tests do with mount namespaces (pivot_root) works as on a real system.
$b mount --move . / || fail "cannot move the host's root to /"
exec $b chroot . {GUEST_OUT}/xtask __vm-guest {GUEST_OUT}
"#
    )
}

/// What the jobs need from under /tmp and /run, which the VM mounts afresh: the cwd, the
/// programs' directories and `spec.paths`; outermost first, none inside another.
fn shadowed_paths(spec: &Spec) -> Vec<PathBuf> {
    let programs = spec.jobs.iter().filter_map(|job| Path::new(&job.argv[0]).parent().map(Path::to_path_buf));
    let mut paths: Vec<PathBuf> = [spec.cwd.clone()]
        .into_iter()
        .chain(programs)
        .chain(spec.paths.iter().cloned())
        .filter(|p| p.is_absolute() && ["/tmp", "/run"].iter().any(|top| p.starts_with(top) && p != Path::new(top)))
        .collect();
    paths.sort();
    paths.dedup();
    let mut outermost: Vec<PathBuf> = Vec::new();
    for path in paths {
        if !outermost.iter().any(|o| path.starts_with(o)) {
            outermost.push(path);
        }
    }
    outermost
}

fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// A newc cpio archive: /bin/busybox (static), /init, the kernel's modules under /m, and the
/// directories and /dev/console the kernel and the script need.
fn initramfs_image(kernel: &Kernel, shadowed: &[PathBuf]) -> Result<Vec<u8>> {
    let busybox = fs::read("/bin/busybox").context("read /bin/busybox (cargo xtask setup installs busybox-static)")?;
    let mut cpio = Cpio::default();
    for dir in ["bin", "dev", "host", "m", "newroot", "proc", "sys"] {
        cpio.entry(dir, 0o040755, &[], 0);
    }
    cpio.entry("dev/console", 0o020600, &[], libc::makedev(5, 1));
    cpio.entry("bin/busybox", 0o100755, &busybox, 0);
    cpio.entry("init", 0o100755, init_script(shadowed).as_bytes(), 0);
    for module in &kernel.modules {
        let name = module.file_name().unwrap().to_string_lossy();
        cpio.entry(&format!("m/{name}"), 0o100644, &fs::read(module)?, 0);
    }
    Ok(cpio.finish())
}

#[derive(Default)]
struct Cpio {
    bytes: Vec<u8>,
    inode: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: libc::dev_t) {
        self.inode += 1;
        let (major, minor) = (libc::major(rdev), libc::minor(rdev));
        let nlink = if mode & 0o170000 == 0o040000 { 2 } else { 1 };
        let fields = [self.inode, mode, 0, 0, nlink, 0, data.len() as u32, 0, 0, major, minor, name.len() as u32 + 1, 0];
        self.bytes.extend_from_slice(b"070701");
        for field in fields {
            self.bytes.extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[], 0);
        self.bytes
    }
}

/// `xtask __vm-guest DIR`: PID 1 of the VM. Runs the jobs of DIR/spec and powers off.
pub fn guest(dir: &Path) -> ! {
    // Whatever the init script had open (its own script, for one) must not reach the jobs.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    if let Err(err) = guest_jobs(dir) {
        eprintln!("xtask guest: {err:#}");
        let _ = fs::write(dir.join("guest-error"), format!("{err:#}\n"));
    }
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    loop {
        thread::sleep(Duration::from_secs(1));
    }
}

fn guest_jobs(dir: &Path) -> Result<()> {
    let spec = Spec::decode(&fs::read_to_string(dir.join("spec")).context("read the spec")?)?;
    // Here too, not only in the jobs: a relative program path is then the caller's.
    std::env::set_current_dir(&spec.cwd).with_context(|| format!("no {} in the VM", spec.cwd.display()))?;
    for (i, job) in spec.jobs.iter().enumerate() {
        let output = fs::File::create(dir.join(format!("{i}.out")))?;
        let end = guest_job(&spec, job, &output);
        let rc = match end {
            JobEnd::Exited(code) => format!("exit {code}"),
            JobEnd::Signaled(signal) => format!("signal {signal}"),
            JobEnd::TimedOut => {
                let _ = writeln!(&output, "xtask vm: {} killed after {} s", job.name, job.timeout.as_secs());
                "timeout".to_string()
            }
            JobEnd::NotRun => "not run".to_string(),
        };
        drop(output);
        fs::write(dir.join(format!("{i}.rc")), rc + "\n")?;
    }
    Ok(())
}

fn guest_job(spec: &Spec, job: &Job, output: &fs::File) -> JobEnd {
    let spawned = output.try_clone().and_then(|stderr| {
        Command::new(&job.argv[0])
            .args(&job.argv[1..])
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.cwd)
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(stderr)
            .process_group(0)
            .spawn()
    });
    let child = match spawned {
        Ok(child) => child,
        Err(err) => {
            let _ = writeln!(&*output, "xtask vm: cannot run {}: {err}", job.argv[0]);
            return JobEnd::Exited(127);
        }
    };
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + job.timeout;
    let end = loop {
        // As PID 1, reap every orphan too, or they would stay zombies (and in /proc).
        let mut status = 0;
        let reaped = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if reaped == pid {
            let status = std::process::ExitStatus::from_raw(status);
            break match (status.code(), status.signal()) {
                (Some(code), _) => JobEnd::Exited(code),
                (None, Some(signal)) => JobEnd::Signaled(signal),
                _ => JobEnd::NotRun,
            };
        }
        if reaped > 0 {
            continue;
        }
        if Instant::now() >= deadline {
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            unsafe { libc::waitpid(pid, &mut status, 0) };
            break JobEnd::TimedOut;
        }
        thread::sleep(Duration::from_millis(20));
    };
    // What the job left running in its group goes with it.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_under_tmp_or_run_is_bound_in_outermost_first() {
        let job = |program: &str| Job { name: String::new(), argv: vec![program.into()], timeout: Duration::ZERO };
        let spec = Spec {
            cwd: PathBuf::from("/tmp/clone"),
            env: Vec::new(),
            jobs: vec![job("/tmp/clone/target/release/deps/net-1"), job("/usr/bin/true"), job("sh"), job("/run/x/y")],
            paths: vec![PathBuf::from("/tmp"), PathBuf::from("/work/main")],
        };
        assert_eq!(shadowed_paths(&spec), [PathBuf::from("/run/x"), PathBuf::from("/tmp/clone")]);
        assert_eq!(sh_quote("/tmp/it's"), r"'/tmp/it'\''s'");
    }

    #[test]
    fn a_spec_survives_tabs_newlines_and_backslashes() {
        let spec = Spec {
            paths: Vec::new(),
            cwd: PathBuf::from("/work/a b"),
            env: vec![("PATH".into(), "/bin:/usr/bin".into())],
            jobs: vec![Job {
                name: "sh".into(),
                argv: vec!["sh".into(), "-c".into(), "printf 'a\\tb\n'\t\\".into(), String::new()],
                timeout: Duration::from_secs(7),
            }],
        };
        let back = Spec::decode(&spec.encode()).unwrap();
        assert_eq!(back.cwd, spec.cwd);
        assert_eq!(back.env, spec.env);
        assert_eq!(back.jobs[0].argv, spec.jobs[0].argv);
        assert_eq!(back.jobs[0].timeout, spec.jobs[0].timeout);
    }
}
