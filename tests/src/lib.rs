//! Helpers for the privileged end-to-end tests: find the binaries, run the tracer, parse its
//! summary. The tests load real eBPF programs; they need root and fail (not skip) without it.
use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, ChildStderr, Command, ExitStatus, Output, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

/// A binary of the workspace, from the target directory this test runs from
/// (`target/<profile>/deps/<test>` → `target/<profile>/<name>`). `cargo xtask test` builds them.
fn workspace_bin(name: &str) -> PathBuf {
    let bin = target_profile_dir().join(name);
    assert!(bin.exists(), "{} is missing: build the workspace first (cargo xtask test does)", bin.display());
    bin
}

/// `target/<profile>`, from the test binary's path (`target/<profile>/deps/<test>`).
fn target_profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>").to_path_buf()
}

pub fn tracer_bin() -> PathBuf {
    workspace_bin("tracer")
}

pub fn workload_bin() -> PathBuf {
    workspace_bin("workload")
}

pub fn tracer() -> Command {
    let mut cmd = Command::new(tracer_bin());
    cmd.stdin(Stdio::null());
    cmd
}

pub fn workload() -> Command {
    Command::new(workload_bin())
}

/// A workload started with `--wait-signal SCENARIO`: it has blocked SIGUSR1 and said so, and
/// runs its scenario once [`Waiting::go`] sends the signal. A test attaches the tracer in
/// between, so what is counted starts after "attached", however slow the machine. Killed if
/// the test fails first.
pub struct Waiting {
    child: Child,
    /// Kept open, so that what the scenario prints (a few lines) does not meet a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Waiting {
    pub fn spawn(scenario: &[&str]) -> Self {
        let mut child =
            workload().arg("--wait-signal").args(scenario).stdout(Stdio::piped()).spawn().expect("spawn workload");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).expect("read from workload");
        assert_eq!(line, "ready\n", "workload did not start");
        // In the wait for sure: tests can count on that call being in progress at attach.
        wait_until_blocked_in(child.id(), libc::SYS_rt_sigtimedwait);
        Self { child, _stdout: stdout }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn go(&self) {
        assert_eq!(unsafe { libc::kill(self.pid() as i32, libc::SIGUSR1) }, 0, "signal the workload");
    }

    pub fn wait(mut self) -> ExitStatus {
        self.child.wait().expect("wait for workload")
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the main thread of `pid` sits inside syscall `nr` (the first field of
/// `/proc/PID/syscall`, which the kernel fills in only for a task blocked in a syscall).
pub fn wait_until_blocked_in(pid: u32, nr: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        if state.split_whitespace().next() == Some(&nr.to_string()) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "pid {pid} never blocked in syscall {nr}: {state}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// One row of the scheduler table: run-queue latency of a thread.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadRow {
    pub tid: u32,
    pub switches: u64,
    pub runq_p50_ns: u64,
    pub runq_p99_ns: u64,
    pub runq_max_ns: u64,
    /// The thread's name: the rest of the row.
    pub name: String,
}

/// One row of the summary table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    pub calls: u64,
    pub errors: u64,
    pub total_ns: u64,
    /// p50, p90, p99, p99.9, max; `None` for calls that never return.
    pub percentiles_ns: Option<[u64; 5]>,
}

#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub rows: HashMap<String, Row>,
    /// (syscall, errno name) → count.
    pub errnos: HashMap<(String, String), u64>,
    /// syscall → (on-CPU %, run queue %, blocked %) of its total time.
    pub split: HashMap<String, (f64, f64, f64)>,
    /// syscall → calls that were in progress when tracing began (counted, no latency).
    pub in_flight: HashMap<String, u64>,
    /// Scheduler table, one row per thread.
    pub threads: Vec<ThreadRow>,
    pub received: u64,
    pub lost: u64,
    /// Calls counted in the kernel, without an event.
    pub kernel_calls: u64,
    pub processes: u64,
    pub text: String,
}

impl Summary {
    pub fn calls(&self, syscall: &str) -> u64 {
        self.rows.get(syscall).map_or(0, |r| r.calls)
    }

    pub fn row(&self, syscall: &str) -> &Row {
        self.rows.get(syscall).unwrap_or_else(|| panic!("no {syscall} row in:\n{}", self.text))
    }
}

/// Parses "1.23us", "50.1ms", "2.00s", "999ns".
pub fn parse_duration_ns(text: &str) -> u64 {
    let (number, scale) = if let Some(n) = text.strip_suffix("ns") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("us") {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e6)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e9)
    } else {
        panic!("not a duration: {text}")
    };
    (number.parse::<f64>().unwrap_or_else(|_| panic!("not a duration: {text}")) * scale).round() as u64
}

pub fn parse_summary(text: &str) -> Summary {
    let mut summary = Summary { text: text.to_string(), ..Default::default() };
    let mut section = 0;
    for line in text.lines() {
        if line.starts_with("---") {
            section += 1;
            continue;
        }
        if line.trim().is_empty() {
            // A blank line ends the scheduler tables; the network tables that follow are parsed
            // by the tests that need them.
            if section >= 4 {
                section = 6;
            }
            continue;
        }
        if let Some(list) = line.strip_prefix("in progress when tracing began ") {
            for entry in list.split_once(": ").expect("in-flight list").1.split(", ") {
                let (name, count) = entry.split_once(' ').expect("NAME COUNT");
                summary.in_flight.insert(name.to_string(), count.parse().unwrap());
            }
            continue;
        }
        if line.starts_with("errors by errno:") {
            section = 3;
            continue;
        }
        if line.starts_with("where the time went") {
            section = 4;
            continue;
        }
        if line.starts_with("scheduler, per thread") {
            section = 5;
            continue;
        }
        if let Some(rest) = line.strip_prefix("events: ") {
            // events: N received, M lost; traced Xs, P process(es)
            let words: Vec<&str> = rest.split([' ', ',', ';']).filter(|w| !w.is_empty()).collect();
            summary.received = words[0].parse().unwrap();
            summary.lost = words[2].parse().unwrap();
            summary.processes = words[6].parse().unwrap();
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        match section {
            1 => {
                // % time, total, calls, [errors], p50, p90, p99, p99.9, max, syscall
                let (calls, errors, rest) = if fields.len() == 10 {
                    (fields[2], fields[3].parse().unwrap(), &fields[4..9])
                } else {
                    (fields[2], 0, &fields[3..8])
                };
                let percentiles_ns = (rest[0] != "-").then(|| {
                    [0, 1, 2, 3, 4].map(|i| parse_duration_ns(rest[i]))
                });
                let row = Row { calls: calls.parse().unwrap(), errors, total_ns: parse_duration_ns(fields[1]), percentiles_ns };
                summary.rows.insert(fields.last().unwrap().to_string(), row);
            }
            // A slow call's line or frame printed late can fall in this section: only rows count.
            3 if fields.len() == 3 && fields[2].parse::<u64>().is_ok() => {
                summary.errnos.insert((fields[0].to_string(), fields[1].to_string()), fields[2].parse().unwrap());
            }
            5 if fields.len() >= 7 && fields[0] != "tid" && !line.starts_with("...") => {
                summary.threads.push(ThreadRow {
                    tid: fields[0].parse().unwrap(),
                    switches: fields[1].parse().unwrap(),
                    runq_p50_ns: parse_duration_ns(fields[2]),
                    runq_p99_ns: parse_duration_ns(fields[3]),
                    runq_max_ns: parse_duration_ns(fields[4]),
                    name: fields[7..].join(" "),
                });
            }
            4 if fields.len() == 5 && fields[1].ends_with('%') => {
                let pct = |f: &str| f.trim_end_matches('%').parse::<f64>().unwrap();
                summary.split.insert(fields[4].to_string(), (pct(fields[1]), pct(fields[2]), pct(fields[3])));
            }
            _ => {}
        }
    }
    summary
}

/// Longest a traced test run may take: a hung tracer fails its test instead of the whole CI job.
const TRACE_LIMIT: Duration = Duration::from_secs(120);

/// Runs the tracer to completion: its figures from its JSON export, its text from its summary
/// (on stderr, as strace's).
pub fn trace(args: &[&str]) -> (Summary, Output) {
    let export = ExportFile::for_args(args);
    let output = output_within(tracer().args(export.args(args)), TRACE_LIMIT);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "tracer panicked:\n{stderr}");
    (export.summary(&stderr), output)
}

/// The export a test's trace writes, for its figures: a test asserts on figures the export
/// carries, and on the text only where the text is the point. None where the test chose its own
/// `--export` or runs a subcommand.
pub struct ExportFile(Option<PathBuf>);

impl ExportFile {
    pub fn for_args(args: &[&str]) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let own = args.iter().any(|a| *a == "--export" || a.starts_with("--export="));
        let subcommand = args.first().is_some_and(|a| ["top", "serve", "compare", "info"].contains(a));
        if own || subcommand {
            return Self(None);
        }
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(Some(std::env::temp_dir().join(format!("tracer-test-export-{}-{n}.json", std::process::id()))))
    }

    /// `args` with `--export FILE` first (before any `--` and command).
    pub fn args(&self, args: &[&str]) -> Vec<String> {
        let mut all: Vec<String> = self.0.iter().flat_map(|path| ["--export".to_string(), path.display().to_string()]).collect();
        all.extend(args.iter().map(|a| a.to_string()));
        all
    }

    /// The summary's text, with the figures the export carries taken from it when it was written.
    pub fn summary(&self, text: &str) -> Summary {
        let mut summary = parse_summary(text);
        if let Some(json) = self.0.as_ref().and_then(|path| std::fs::read_to_string(path).ok()) {
            summary.take_figures_from_export(&json);
        }
        summary
    }
}

impl Drop for ExportFile {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Summary {
    /// Rows, errors by errno, time splits, in-flight calls and event counts, from an export.
    pub fn take_figures_from_export(&mut self, json: &str) {
        let export: serde_json::Value = serde_json::from_str(json).expect("the export is JSON");
        let (mut rows, mut errnos, mut split, mut in_flight) = (HashMap::new(), HashMap::new(), HashMap::new(), HashMap::new());
        for key in export["keys"].as_array().expect("keys") {
            if key["kind"] != "syscall" {
                continue;
            }
            let name = key["key"].as_str().unwrap().to_string();
            let field = |f: &str| key[f].as_u64().unwrap_or_else(|| panic!("{name}: no {f} in the export"));
            let timed = field("calls") > field("no_return") + field("in_flight");
            let percentiles_ns = timed.then(|| ["p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns"].map(field));
            rows.insert(name.clone(), Row { calls: field("calls"), errors: field("errors"), total_ns: field("total_ns"), percentiles_ns });
            for (errno, count) in key["errnos"].as_object().into_iter().flatten() {
                errnos.insert((name.clone(), errno.clone()), count.as_u64().unwrap());
            }
            // Absent with --no-sched: not measured.
            let total = field("total_ns");
            if total > 0 && key["on_cpu_ns"].is_u64() {
                let pct = |f: &str| field(f) as f64 * 100.0 / total as f64;
                split.insert(name.clone(), (pct("on_cpu_ns"), pct("runq_ns"), pct("blocked_ns")));
            }
            if field("in_flight") > 0 {
                in_flight.insert(name.clone(), field("in_flight"));
            }
        }
        (self.rows, self.errnos, self.split, self.in_flight) = (rows, errnos, split, in_flight);
        self.received = export["meta"]["events"].as_u64().expect("meta.events");
        self.lost = export["meta"]["lost_events"].as_u64().expect("meta.lost_events");
        self.kernel_calls = export["meta"]["kernel_calls"].as_u64().unwrap_or(0);
    }
}

/// `cmd.output()`, but the process is killed, and the test fails, after `limit`.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    use std::io::Read;
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let collect = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = collect(Box::new(child.stdout.take().unwrap()));
    let stderr = collect(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() }
}

/// A tracer running in the background, attached to a process; killed if a test fails first.
pub struct Attached {
    pub tracer: Child,
    stderr_lines: mpsc::Receiver<String>,
    forwarder: Option<thread::JoinHandle<()>>,
    export: ExportFile,
}

impl Drop for Attached {
    fn drop(&mut self) {
        let _ = self.tracer.kill();
        let _ = self.tracer.wait();
    }
}

impl Attached {
    /// Starts `tracer ARGS` and waits until it reports being attached.
    pub fn start(args: &[&str]) -> Self {
        let attached = Self::spawn(args);
        attached.wait_for_stderr("attached to process");
        attached
    }

    /// Starts `tracer ARGS` without waiting for anything.
    pub fn spawn(args: &[&str]) -> Self {
        let export = ExportFile::for_args(args);
        let mut tracer = tracer()
            .args(export.args(args))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tracer");
        let (stderr_lines, forwarder) = forward_lines(tracer.stderr.take().unwrap());
        Self { tracer, stderr_lines, forwarder: Some(forwarder), export }
    }

    /// Waits for a line of stderr that contains `needle`, and returns it.
    pub fn wait_for_stderr(&self, needle: &str) -> String {
        let mut seen = Vec::new();
        loop {
            match self.stderr_lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("tracer never printed '{needle}'; stderr so far:\n{}", seen.join("\n")),
            }
        }
    }

    /// Waits for the tracer to end by itself; kills it and panics if it has not after `limit`.
    pub fn finish_within(mut self, limit: Duration) -> (Summary, Output) {
        let deadline = std::time::Instant::now() + limit;
        while self.tracer.try_wait().expect("wait for tracer").is_none() {
            if std::time::Instant::now() > deadline {
                let _ = self.tracer.kill();
                panic!("tracer still running {limit:?} after it was told to stop");
            }
            thread::sleep(Duration::from_millis(50));
        }
        self.finish()
    }

    /// Waits for the tracer to exit; its summary is what it printed on stderr since the line
    /// the last `wait_for_stderr` found.
    pub fn finish(mut self) -> (Summary, Output) {
        use std::io::Read;
        let mut stdout = Vec::new();
        self.tracer.stdout.take().unwrap().read_to_end(&mut stdout).expect("read tracer stdout");
        let status = self.tracer.wait().expect("wait for tracer");
        // The stream is closed: the forwarder has every line once it ends.
        self.forwarder.take().unwrap().join().expect("stderr forwarder");
        let rest: Vec<String> = self.stderr_lines.try_iter().collect();
        let stderr = rest.join("\n") + "\n";
        assert!(!stderr.contains("panicked"), "tracer panicked:\n{stderr}");
        (self.export.summary(&stderr), Output { status, stdout, stderr: stderr.into_bytes() })
    }
}

fn forward_lines(stderr: ChildStderr) -> (mpsc::Receiver<String>, thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let forwarder = thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (rx, forwarder)
}

/// Where cgroup2 is mounted: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid system.
pub fn cgroup2_root() -> PathBuf {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = mountinfo.lines().find(|l| l.split_once(" - ").is_some_and(|(_, fs)| fs.starts_with("cgroup2 "))).expect("a cgroup2 mount");
    PathBuf::from(line.split_whitespace().nth(4).unwrap())
}

/// A cgroup v2 directory made for one test, removed when it ends (its processes are gone by then).
pub struct TestCgroup {
    pub path: PathBuf,
}

impl TestCgroup {
    pub fn new(name: &str) -> Self {
        let path = cgroup2_root().join(format!("tracer-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir(&path);
        std::fs::create_dir(&path).expect("create a cgroup (as root)");
        Self { path }
    }

    pub fn enter(&self, pid: u32) {
        std::fs::write(self.path.join("cgroup.procs"), pid.to_string()).expect("move a process into the cgroup");
    }

    /// The last component of its path: the name `--by cgroup` gives it.
    pub fn name(&self) -> String {
        self.path.file_name().unwrap().to_string_lossy().into_owned()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// GET `http://ADDR/PATH`: the status code and the body. HTTP/1.0, so that the server closes
/// the connection after the body (a test does not need a client library).
pub fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, body.to_string()))
}

/// Percent-encodes a query string value.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where the cpu controller is: a cgroup2 root that gives its children cpu.max, else the v1 cpu
/// hierarchy (a hybrid system). `true` for v1.
pub fn cpu_hierarchy() -> (PathBuf, bool) {
    use tracer::host::cgroupfs as target;
    let has_cpu = |list: &str, sep: char| list.trim().split(sep).any(|w| w == "cpu");
    for root in target::cgroup2_mounts() {
        if std::fs::read_to_string(root.join("cgroup.subtree_control")).is_ok_and(|s| has_cpu(&s, ' ')) {
            return (root, false);
        }
    }
    let v1 = target::mounts().into_iter().find(|m| m.fs_type == "cgroup" && has_cpu(&m.super_options, ','));
    (v1.expect("a cpu controller, on cgroup v2 or v1").point, true)
}

/// A cgroup with the cpu controller, with a CPU quota (QUOTA us per 100 ms) or none; on a hybrid
/// system a v1 cpu cgroup and a v2 one that processes enter together. Removed when dropped,
/// once its processes are gone (the test kills them first).
pub struct QuotaCgroup {
    /// The cpu cgroup, then (hybrid systems) the v2 one.
    pub dirs: Vec<PathBuf>,
    pub v1: bool,
}

impl QuotaCgroup {
    pub fn new(name: &str, quota_us: Option<u64>) -> Self {
        let (hierarchy, v1) = cpu_hierarchy();
        let dir_name = format!("tracer-test-{name}-{}", std::process::id());
        let mut dirs = vec![hierarchy.join(&dir_name)];
        if v1 {
            dirs.push(cgroup2_root().join(&dir_name));
        }
        for dir in &dirs {
            let _ = std::fs::remove_dir(dir);
            std::fs::create_dir(dir).unwrap_or_else(|e| panic!("create {} (as root): {e}", dir.display()));
        }
        if let Some(quota) = quota_us {
            let cpu = &dirs[0];
            if v1 {
                std::fs::write(cpu.join("cpu.cfs_period_us"), "100000").unwrap();
                std::fs::write(cpu.join("cpu.cfs_quota_us"), quota.to_string()).unwrap();
            } else {
                std::fs::write(cpu.join("cpu.max"), format!("{quota} 100000")).unwrap();
            }
        }
        Self { dirs, v1 }
    }

    pub fn cpu_dir(&self) -> &std::path::Path {
        &self.dirs[0]
    }

    /// The v2 directory (`--cgroup`): the cpu one itself on a pure v2 system.
    pub fn v2_dir(&self) -> &std::path::Path {
        self.dirs.last().unwrap()
    }

    /// Moves a process (all its threads; those it starts later are born inside) in.
    pub fn enter(&self, pid: u32) {
        for dir in &self.dirs {
            std::fs::write(dir.join("cgroup.procs"), pid.to_string()).unwrap_or_else(|e| panic!("move {pid} into {}: {e}", dir.display()));
        }
    }
}

impl Drop for QuotaCgroup {
    fn drop(&mut self) {
        // Dying processes may take a moment to leave the cgroups.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        for dir in &self.dirs {
            while std::fs::remove_dir(dir).is_err() && dir.exists() && std::time::Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Traces a [`Waiting`] workload with `-p` and `args` from before its start to its exit; the
/// summary.
pub fn trace_attached(workload: &Waiting, args: &[&str]) -> Summary {
    let pid = workload.pid().to_string();
    let mut all = args.to_vec();
    all.extend(["-p", &pid]);
    let tracer = Attached::start(&all);
    workload.go();
    let (summary, output) = tracer.finish_within(Duration::from_secs(60));
    assert!(output.status.success(), "{output:?}");
    summary
}

/// Builds the Go program tests/go/NAME with the machine's Go (Debian's golang-go); returns the
/// binary and the directory to remove after.
pub fn go_program(name: &str) -> (PathBuf, PathBuf) {
    go_program_built(name, &[])
}

/// [`go_program`] built with `go build FLAGS` (`-ldflags=-s -w`: stripped, as production
/// builds are).
pub fn go_program_built(name: &str, flags: &[&str]) -> (PathBuf, PathBuf) {
    // A directory of each call's own: the tests of a suite run at once, and each removes its
    // directory when done (one shared by two tests was gone under the other's feet).
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tracer-go-{name}-{}-{}-{call}", flags.len(), std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let binary = dir.join(name);
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("go").join(name);
    // Built once a run of the suites: the host suite builds and leaves a copy in the target
    // directory; the VMs, where a build takes minutes under emulation and the target directory
    // is read-only, take that copy while it is newer than the program's source.
    let key: String = flags.concat().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let kept = target_profile_dir().join("go-test-programs").join(format!("{name}{key}"));
    if newer_than_its_source(&kept, &source) {
        std::fs::copy(&kept, &binary).unwrap();
        return (binary, dir);
    }
    let build = Command::new("go")
        .arg("build")
        .args(flags)
        .args(["-o", binary.to_str().unwrap(), "."])
        .current_dir(&source)
        // One build cache for every test: under a VM's emulation a cold build takes a minute,
        // a cached one seconds (Go's cache is safe for concurrent builds).
        .env("GOCACHE", std::env::temp_dir().join("tracer-go-cache"))
        .env("GOPATH", dir.join("gopath"))
        .env("GOFLAGS", "-mod=mod")
        .output()
        .expect("go (cargo xtask setup installs golang-go)");
    assert!(build.status.success(), "go build: {}", String::from_utf8_lossy(&build.stderr));
    // Best effort: a read-only target directory (a VM's) keeps nothing.
    let staged = kept.with_extension(std::process::id().to_string());
    let kept_now = std::fs::create_dir_all(kept.parent().unwrap()).and_then(|()| std::fs::copy(&binary, &staged)).and_then(|_| std::fs::rename(&staged, &kept));
    if kept_now.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    (binary, dir)
}

/// Whether `built` exists and is newer than every file of the Go program at `source`.
fn newer_than_its_source(built: &std::path::Path, source: &std::path::Path) -> bool {
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let Some(built_at) = modified(built) else { return false };
    std::fs::read_dir(source).into_iter().flatten().flatten().all(|entry| modified(&entry.path()).is_some_and(|at| at <= built_at))
}

/// A file for `workload code-from`: `head` (up to 4096 bytes, e.g. a truncated ELF file's
/// first page) and, at offset 4096, a function `nanosleep(arg, NULL)`.
pub fn code_file(head: &[u8]) -> Vec<u8> {
    #[cfg(target_arch = "x86_64")]
    let code: &[u8] = &[
        0x31, 0xf6, // xor esi, esi
        0xb8, 0x23, 0, 0, 0, // mov eax, 35 (nanosleep)
        0x0f, 0x05, // syscall
        0xc3, // ret
    ];
    #[cfg(target_arch = "aarch64")]
    let code: &[u8] = &[
        0x01, 0x00, 0x80, 0xd2, // mov x1, #0
        0xa8, 0x0c, 0x80, 0xd2, // mov x8, #101 (nanosleep)
        0x01, 0x00, 0x00, 0xd4, // svc #0
        0xc0, 0x03, 0x5f, 0xd6, // ret
    ];
    let mut file = head[..head.len().min(4096)].to_vec();
    file.resize(4096, 0);
    file.extend_from_slice(code);
    file.resize(8192, 0);
    file
}

/// A Go binary whose `.gopclntab` does not hold together: its function count (the header's
/// first word) made absurd. Go's runtime does not read that word, so the program still runs.
pub fn with_broken_go_table(binary: &[u8]) -> Vec<u8> {
    let word = |at: usize, size: usize| -> usize {
        let mut bytes = [0u8; 8];
        bytes[..size].copy_from_slice(&binary[at..at + size]);
        u64::from_le_bytes(bytes) as usize
    };
    // ELF64 section headers: e_shoff at 0x28, e_shentsize/e_shnum/e_shstrndx at 0x3a.
    let (shoff, shentsize, shnum, shstrndx) = (word(0x28, 8), word(0x3a, 2), word(0x3c, 2), word(0x3e, 2));
    let section = |i: usize| shoff + i * shentsize;
    let names = word(section(shstrndx) + 0x18, 8);
    let table = (0..shnum)
        .find(|&i| binary[names + word(section(i), 4)..].starts_with(b".gopclntab\0"))
        .map(|i| word(section(i) + 0x18, 8))
        .expect("a Go binary has .gopclntab");
    let mut broken = binary.to_vec();
    broken[table + 8..table + 16].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    broken
}

/// A row of the summary's I/O table (`read file ...`), split into its columns.
pub fn op_row<'a>(text: &'a str, op: &str, kind: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| !l.starts_with("I/O and network by operation"))
        .find(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 2 && f[0] == op && f[1] == kind
        })
        .unwrap_or_else(|| panic!("no {op}/{kind} row in:\n{text}"))
        .split_whitespace()
        .collect()
}

/// A process that names itself [`HOSTILE_NAME`] and opens a path with terminal escapes in it
/// (the "Safe against what it traces" repro). `fork`: a child does it once and exits; `loop
/// SECONDS`: the process itself, every 100 ms.
const HOSTILE_PY: &str = r#"
import ctypes, os, sys, time
libc = ctypes.CDLL(None)
def hostile():
    libc.prctl(15, b"ev\x1b[31mil\x07", 0, 0, 0)
    # Switched out and back under the new name: the scheduler's record carries it.
    time.sleep(0.05)
    try:
        os.open(b"/tmp/\x1b]0;pwned\x07\x1b[2J/none", os.O_RDONLY)
    except OSError:
        pass
if sys.argv[1] == "fork":
    pid = os.fork()
    if pid == 0:
        hostile()
        os._exit(0)
    os.waitpid(pid, 0)
else:
    end = time.time() + float(sys.argv[2])
    while time.time() < end:
        hostile()
"#;

/// Renames itself and forks a child of a name of its own, `N` times; then, given a file and
/// seconds, creates the file and sleeps that long (for a scrape before it ends).
const CHURN_PY: &str = r#"
import ctypes, os, sys, time
libc = ctypes.CDLL(None)
for i in range(int(sys.argv[1])):
    libc.prctl(15, b"self%d" % i, 0, 0, 0)
    pid = os.fork()
    if pid == 0:
        libc.prctl(15, b"child%d" % i, 0, 0, 0)
        # Off the CPU and back: a record for the scheduler's per-thread table.
        time.sleep(0.001)
        try:
            os.open(b"/nonexistent/churn", os.O_RDONLY)
        except OSError:
            pass
        os._exit(0)
    os.waitpid(pid, 0)
if len(sys.argv) > 3:
    open(sys.argv[2], "w").close()
    time.sleep(float(sys.argv[3]))
"#;

/// The name the hostile workload gives itself, as `/proc/PID/comm` has it.
pub const HOSTILE_NAME: &[u8] = b"ev\x1b[31mil\x07";
/// The name and the path as strace escapes them.
pub const HOSTILE_NAME_ESCAPED: &str = r"ev\33[31mil\7";
pub const HOSTILE_PATH_ESCAPED: &str = r#""/tmp/\33]0;pwned\7\33[2J/none""#;

/// A python3 script of this file, written out once per test process.
fn python_script(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("tracer-test-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write the workload script");
    path
}

/// `python3 HOSTILE_PY ARGS`, as the arguments of a command to trace.
pub fn hostile_command(args: &[&str]) -> Vec<String> {
    python_command("hostile.py", HOSTILE_PY, args)
}

/// `python3 CHURN_PY ARGS`, likewise.
pub fn churn_command(args: &[&str]) -> Vec<String> {
    python_command("churn.py", CHURN_PY, args)
}

/// `python3 SCRIPT ARGS` for script `text` (written out as `name`), as the arguments of a command
/// to trace: the interpreter itself, not a shim in front of it (pyenv's is a shell script), so
/// that the trace is of the script and its children only.
pub fn python_command(name: &str, text: &str, args: &[&str]) -> Vec<String> {
    let script = python_script(name, text);
    let found = Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output().expect("python3");
    let python = String::from_utf8(found.stdout).expect("a path").trim().to_string();
    [python.as_str(), script.to_str().unwrap()].into_iter().chain(args.iter().copied()).map(String::from).collect()
}

/// Fails where `bytes` hold a control byte but a newline (ESC, BEL, CR, DEL...): what a traced
/// process could drive the operator's terminal with.
pub fn assert_no_control_bytes(what: &str, bytes: &[u8]) {
    if let Some(at) = bytes.iter().position(|&b| (b < 0x20 && b != b'\n') || b == 0x7f) {
        let before = String::from_utf8_lossy(&bytes[..at]);
        let line = before.lines().last().unwrap_or("");
        panic!("a raw control byte {:#04x} in {what}, after {line:?}:\n{}", bytes[at], String::from_utf8_lossy(bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration_ns("999ns"), 999);
        assert_eq!(parse_duration_ns("1.23us"), 1230);
        assert_eq!(parse_duration_ns("50.1ms"), 50_100_000);
        assert_eq!(parse_duration_ns("2.00s"), 2_000_000_000);
    }
}
