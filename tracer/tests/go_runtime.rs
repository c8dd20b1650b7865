//! model::go_runtime against a real Go binary: the one tests/go/slowsleep builds with the Go installed here.
use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command},
    thread,
    time::{Duration, Instant},
};

use tracer::{
    host::go::{inspect, read_build_info},
    model::go_runtime::{quota_note, GoMaxProcsSource},
};

fn source_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/go/slowsleep")
}

fn go_build(dir: &Path) -> PathBuf {
    let binary = dir.join("slowsleep");
    let build = Command::new("go")
        .args(["build", "-o", binary.to_str().unwrap(), "."])
        .current_dir(source_dir())
        .env("GOCACHE", dir.join("cache"))
        .env("GOPATH", dir.join("gopath"))
        .env("GOFLAGS", "-mod=mod")
        .output()
        .expect("go (cargo xtask setup installs golang-go)");
    assert!(build.status.success(), "go build: {}", String::from_utf8_lossy(&build.stderr));
    binary
}

/// "go1.19.8" from "go version go1.19.8 linux/amd64".
fn go_version() -> String {
    let output = Command::new("go").arg("version").output().expect("go version");
    let text = String::from_utf8(output.stdout).unwrap();
    text.split_whitespace().nth(2).unwrap_or_else(|| panic!("go version said {text:?}")).to_string()
}

fn go_mod_module() -> String {
    let go_mod = fs::read_to_string(source_dir().join("go.mod")).unwrap();
    go_mod.lines().find_map(|l| l.strip_prefix("module ")).expect("a module line in go.mod").trim().to_string()
}

/// CPUs in a process's affinity mask, asked of the kernel rather than read from /proc.
fn affinity_cpus(pid: u32) -> u32 {
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(libc::sched_getaffinity(pid as libc::pid_t, size_of::<libc::cpu_set_t>(), &mut set), 0);
        libc::CPU_COUNT(&set) as u32
    }
}

/// A running child, killed when the test ends however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// slowsleep sleeping 40 × 50ms: alive for two seconds, long enough to be inspected.
fn run(binary: &Path, gomaxprocs: Option<&str>) -> Running {
    let mut command = Command::new(binary);
    command.args(["40", "50"]).env_remove("GOMAXPROCS").env_remove("GODEBUG");
    if let Some(n) = gomaxprocs {
        command.env("GOMAXPROCS", n);
    }
    let child = Running(command.spawn().expect("run slowsleep"));
    // spawn returns as the exec replaces the memory, a moment before /proc/PID/exe is the new file (and before
    // environ reads anything, which inspect waits for).
    let exe = format!("/proc/{}/exe", child.0.id());
    let started = Instant::now();
    while fs::read_link(&exe).ok().as_deref() != Some(binary) {
        assert!(started.elapsed() < Duration::from_secs(5), "{exe} is not {}", binary.display());
        thread::sleep(Duration::from_micros(100));
    }
    child
}

#[test]
fn a_go_binary_and_its_process() {
    let dir = tempfile::tempdir().unwrap();
    let binary = go_build(dir.path());

    let build = read_build_info(&binary).unwrap().expect("build info of a Go binary");
    assert_eq!(build.version, go_version());
    assert_eq!(build.main_module.as_deref(), Some(go_mod_module().as_str()));
    assert!(build.deps.is_empty(), "{:?}", build.deps);

    // Section headers stripped (as sstrip does): found in the first writable segment instead.
    let mut elf = fs::read(&binary).unwrap();
    assert_eq!(&elf[..6], b"\x7fELF\x02\x01", "a 64-bit little-endian ELF file");
    elf[0x28..0x30].fill(0); // e_shoff
    elf[0x3c..0x40].fill(0); // e_shnum, e_shstrndx
    let sectionless = dir.path().join("sectionless");
    fs::write(&sectionless, elf).unwrap();
    assert_eq!(read_build_info(&sectionless).unwrap().as_ref(), Some(&build));

    let child = run(&binary, Some("7"));
    let pid = child.0.id();
    let go = inspect(pid, Some(1.0)).unwrap().expect("a Go process");
    assert_eq!(go.pid, pid);
    assert_eq!(go.build, build);
    assert_eq!((go.gomaxprocs, go.source), (Some(7), GoMaxProcsSource::Environment));
    assert_eq!(go.cpus_allowed, affinity_cpus(pid));
    assert!(go.threads >= 1, "{go:?}");
    let note = quota_note(&go, 1.0, Some(0.25)).expect("7 Ps against 1 CPU");
    let name = format!("pid {pid} ({}, {}): ", build.version, go_mod_module());
    assert!(note.starts_with(&name), "{note}");
    assert!(note.contains("GOMAXPROCS 7 (set in its environment) against a CPU quota of 1.00 CPUs"), "{note}");
    assert!(note.contains("; 25% of its syscalls' time was run-queue wait"), "{note}");
    assert!(note.ends_with(". Set GOMAXPROCS=1."), "{note}");
    assert_eq!(quota_note(&go, 7.0, None), None);
    drop(child);

    // Not a positive integer: the runtime ignores it, and so does inspect.
    for (gomaxprocs, label) in [(None, "unset"), (Some("0"), "zero"), (Some("lots"), "not a number")] {
        let child = run(&binary, gomaxprocs);
        let pid = child.0.id();
        let go = inspect(pid, Some(1.0)).unwrap().expect("a Go process");
        let cpus = affinity_cpus(pid);
        assert_eq!(go.cpus_allowed, cpus, "{label}");
        assert_eq!((go.gomaxprocs, go.source), (Some(cpus), GoMaxProcsSource::CpusAllowed), "{label}");
        assert_eq!(quota_note(&go, f64::from(cpus), None), None, "{label}");
        if cpus > 1 {
            let note = quota_note(&go, 1.0, None).unwrap();
            let wanted =
                format!("GOMAXPROCS {cpus} (Go's default before 1.25: the CPUs it may run on) against a CPU quota of 1.00 CPUs");
            assert!(note.contains(&wanted), "{label}: {note}");
        }
    }

    // The binary deleted: /proc/PID/exe still reads the file the process runs.
    let child = run(&binary, None);
    fs::remove_file(&binary).unwrap();
    let go = inspect(child.0.id(), None).unwrap().expect("a Go process whose binary was deleted");
    assert_eq!(go.build, build);
}

#[test]
fn other_binaries_are_not_go() {
    assert_eq!(read_build_info(Path::new("/bin/true")).unwrap(), None);
    assert_eq!(read_build_info(&std::env::current_exe().unwrap()).unwrap(), None);
    assert!(read_build_info(Path::new("/nonexistent/binary")).is_err());
    // This test (Rust), a kernel thread (no executable), and no process at all.
    assert!(inspect(std::process::id(), Some(1.0)).unwrap().is_none());
    if fs::read_to_string("/proc/2/comm").is_ok_and(|comm| comm.trim() == "kthreadd") {
        assert!(inspect(2, Some(1.0)).unwrap().is_none());
    }
    assert!(inspect(i32::MAX as u32, Some(1.0)).unwrap().is_none());
}

#[test]
fn a_process_that_has_exited_is_not_inspected() {
    let mut child = Command::new("/bin/true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    assert!(inspect(pid, None).unwrap().is_none());
}
