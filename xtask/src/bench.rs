//! Overhead benchmark: a syscall storm run side by side untraced, under empty programs on the
//! same hooks (the floor), under tracer, under bpftrace, and untraced while tracer watches
//! another process (bystander). Only ratios measured in the same run are reported.
use std::{
    fmt::Write as _,
    fs,
    io::{BufRead, BufReader, Write as _},
    path::PathBuf,
    process::{Child, Command, Stdio},
    thread,
};

use anyhow::{bail, Context, Result};

use crate::workspace_root;

mod servers;

const DD_COUNT: u64 = 2_000_000;
const BPFTRACE_PROGRAM: &str = r#"tracepoint:raw_syscalls:sys_enter /comm == "dd"/ { @start[tid] = nsecs; }
tracepoint:raw_syscalls:sys_exit /@start[tid]/ { @usecs[args->id] = hist((nsecs - @start[tid]) / 1000); delete(@start[tid]); }"#;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Case {
    Untraced,
    Floor,
    Clock,
    Paired,
    Ring,
    KernelCounts,
    Tracer,
    TracerEvents,
    TracerSyscallsOnly,
    TracerSelected,
    TracerUnselected,
    TracerSlowIdle,
    Serve,
    Bpftrace,
    Bystander,
}

impl Case {
    /// The reference programs of the `floor` helper.
    fn is_reference(self) -> bool {
        matches!(self, Case::Floor | Case::Clock | Case::Paired | Case::Ring | Case::KernelCounts)
    }

    fn is_tracer(self) -> bool {
        matches!(self, Case::Tracer | Case::TracerEvents | Case::TracerSyscallsOnly | Case::TracerSelected | Case::TracerUnselected | Case::TracerSlowIdle | Case::Serve)
    }

    fn describe(self) -> &'static str {
        match self {
            Case::Untraced => "untraced",
            Case::Floor => "floor: empty programs on tracer's hooks (sys_enter/sys_exit BTF tracepoints)",
            Case::Clock => "floor + one bpf_ktime_get_ns() per program (the clock reads any latency tracer needs)",
            Case::Paired => "clock + each exit paired with its entry (a per-thread array slot): a latency, kept nowhere",
            Case::Ring => "paired + one 64-byte event per call through the ring buffer, drained on the other CPU",
            Case::KernelCounts => "paired + per-CPU calls, total and log-linear histogram per syscall, in the kernel",
            Case::Tracer => "tracer, every feature on (`tracer -- dd ...`: what needs no event counted in the kernel)",
            Case::TracerEvents => "tracer --events (every call through the ring buffer to the reader)",
            Case::TracerSyscallsOnly => "tracer --no-sched --no-net (syscall latency only)",
            Case::TracerSelected => "tracer -e trace=read,write",
            Case::TracerUnselected => "tracer -e trace=openat,close (dd's reads and writes not selected: what an unselected syscall costs)",
            Case::TracerSlowIdle => "tracer --slow 10ms --stacks (no call that slow: the threshold is checked in the kernel)",
            Case::Serve => "tracer serve --by comm (agent mode: metrics rendered every second, scraped by nobody)",
            Case::Bpftrace => "bpftrace, raw_syscalls tracepoints, in-kernel hist() per syscall, comm filter",
            Case::Bystander => "untraced dd while tracer traces another process (bystander)",
        }
    }
}

struct Measured {
    case: Case,
    seconds: Vec<f64>,
    note: String,
    /// Tracer's own CPU from attach, per round (`--own-usage`).
    tracer_cpu: Vec<f64>,
}

/// What `tracer --own-usage` says of itself: CPU seconds from attach, RSS at the end and at the
/// peak (MiB), and its kernel programs' seconds, when the kernel counted them.
#[derive(Default)]
struct OwnUsage {
    cpu: f64,
    rss: f64,
    peak_rss: f64,
    anonymous_rss: f64,
    programs: Option<f64>,
}

fn own_usage(stderr: &str) -> Option<OwnUsage> {
    let line = stderr.lines().find_map(|l| l.strip_prefix("tracer: own use: "))?;
    Some(OwnUsage {
        cpu: number_after(line, "CPU ")?,
        rss: number_after(line, "; RSS ").unwrap_or(f64::NAN),
        peak_rss: number_after(line, "(peak ").unwrap_or(f64::NAN),
        anonymous_rss: number_after(line, "anonymous ").unwrap_or(f64::NAN),
        programs: number_after(line, "kernel programs "),
    })
}

/// The number that follows `prefix` in `line`.
fn number_after(line: &str, prefix: &str) -> Option<f64> {
    let rest = &line[line.find(prefix)? + prefix.len()..];
    rest.trim_start().split(|c: char| !(c.is_ascii_digit() || c == '.')).next()?.parse().ok()
}

fn bin(name: &str) -> PathBuf {
    workspace_root().join("target/release").join(name)
}

/// dd pinned to CPU 1 in every case, so the tracer's reader has the other core and runs are
/// comparable.
fn dd_command() -> Vec<String> {
    ["taskset", "-c", "1", "dd", "if=/dev/zero", "of=/dev/null", "bs=1", &format!("count={DD_COUNT}")]
        .map(String::from)
        .to_vec()
}

/// dd's own "copied, X s" figure: start-up of the tracer is not part of it.
fn dd_seconds(stderr: &str) -> Result<f64> {
    stderr
        .lines()
        .find_map(|line| line.split("copied, ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no dd timing in:\n{stderr}"))
}

fn run_dd() -> Result<f64> {
    let dd = dd_command();
    let out = Command::new(&dd[0]).args(&dd[1..]).output().context("run dd")?;
    dd_seconds(&String::from_utf8_lossy(&out.stderr))
}

/// A helper process (reference programs, bpftrace, a tracer) and the lines it prints after
/// its `ready` line.
struct Helper {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Helper {
    /// Ctrl-C, as [`interrupt`].
    fn stop(self) -> Result<()> {
        interrupt(self.child)
    }

    /// Ctrl-C, then every line it printed after `ready` (a tracer's summary).
    fn stop_and_read(self) -> Result<Vec<String>> {
        interrupt(self.child)?;
        Ok(self.lines.iter().collect())
    }

    /// For the `floor` helper, which detaches when its stdin closes (a Ctrl-C would end it
    /// before it says what its programs took): the lines it printed after `ready`.
    fn close(mut self) -> Result<Vec<String>> {
        drop(self.child.stdin.take());
        self.child.wait()?;
        // The reader thread ends at the stream's end, which the helper's exit closes.
        Ok(self.lines.iter().collect())
    }
}

/// Spawns `cmd`, waits until `stream` (its stdout or stderr) prints a line containing `ready`,
/// and keeps draining that stream so the child never blocks on it.
fn spawn_until(mut cmd: Command, from_stderr: bool, ready: &'static str) -> Result<Helper> {
    if from_stderr {
        cmd.stderr(Stdio::piped()).stdout(Stdio::null());
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    }
    let mut child = cmd.stdin(Stdio::piped()).spawn().context("spawn")?;
    let stream: Box<dyn std::io::Read + Send> = if from_stderr {
        Box::new(child.stderr.take().unwrap())
    } else {
        Box::new(child.stdout.take().unwrap())
    };
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if sent {
                let _ = lines_tx.send(line);
            } else if line.contains(ready) {
                let _ = ready_tx.send(());
                sent = true;
            }
        }
    });
    ready_rx.recv_timeout(std::time::Duration::from_secs(60)).with_context(|| format!("never saw '{ready}'"))?;
    Ok(Helper { child, lines })
}

/// Ctrl-C for a helper (the tracer prints its summary and detaches), then waits for it.
fn interrupt(mut child: Child) -> Result<()> {
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    drop(child.stdin.take());
    child.wait()?;
    Ok(())
}

pub(crate) const BPF_STATS: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// One timed round of `case`: dd's seconds, and what a tracer said of its own use.
fn measure(case: Case, note: &mut String) -> Result<(f64, Option<OwnUsage>)> {
    if case.is_tracer() {
        return measure_tracer(case, note);
    }
    let seconds = match case {
        Case::Untraced => run_dd(),
        Case::Floor | Case::Clock | Case::Paired | Case::Ring | Case::KernelCounts => {
            let mut cmd = Command::new(bin("floor"));
            match case {
                Case::Clock => cmd.arg("--clock"),
                Case::Paired => cmd.arg("--paired"),
                Case::Ring => cmd.arg("--ring"),
                Case::KernelCounts => cmd.arg("--kernel-counts"),
                _ => &mut cmd,
            };
            let floor = spawn_until(cmd, false, "ready")?;
            let seconds = run_dd();
            // With BPF stats on, it says what its programs took, as a tracer does.
            let programs = floor.close()?.iter().find_map(|line| number_after(line, "floor: kernel programs "));
            return Ok((seconds?, programs.map(|programs| OwnUsage { programs: Some(programs), ..OwnUsage::default() })));
        }
        Case::Bpftrace => {
            let mut cmd = Command::new("bpftrace");
            cmd.args(["-e", BPFTRACE_PROGRAM]);
            let bpftrace = spawn_until(cmd, false, "Attaching")?;
            let seconds = run_dd();
            bpftrace.stop()?;
            seconds
        }
        Case::Bystander => {
            let mut other = Command::new("sleep").arg("600").spawn()?;
            let mut cmd = Command::new(bin("tracer"));
            cmd.args(["-p", &other.id().to_string()]);
            let tracer = spawn_until(cmd, true, "attached")?;
            let seconds = run_dd();
            tracer.stop()?;
            other.kill()?;
            other.wait()?;
            seconds
        }
        _ => unreachable!("tracer cases are measured by measure_tracer"),
    };
    Ok((seconds?, None))
}

/// One timed round of a tracer case: `tracer [OPTIONS] --own-usage -- dd ...`.
fn measure_tracer(case: Case, note: &mut String) -> Result<(f64, Option<OwnUsage>)> {
    let mut cmd = Command::new(bin("tracer"));
    match case {
        Case::Serve => cmd.args(["serve", "--listen", "127.0.0.1:0", "--by", "comm"]),
        Case::TracerSelected => cmd.args(["-e", "trace=read,write"]),
        Case::TracerEvents => cmd.arg("--events"),
        Case::TracerUnselected => cmd.args(["-e", "trace=openat,close"]),
        Case::TracerSlowIdle => cmd.args(["--slow", "10ms", "--stacks"]),
        Case::TracerSyscallsOnly => cmd.args(["--no-sched", "--no-net"]),
        _ => &mut cmd,
    };
    let out = cmd.arg("--own-usage").arg("--").args(dd_command()).output().context("run tracer")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("tracer failed: {stderr}");
    }
    if let Some(events) = stderr.lines().find(|l| l.starts_with("events: ")) {
        *note = events.to_string();
    }
    Ok((dd_seconds(&stderr)?, own_usage(&stderr)))
}

/// The loopback network storms: (label, tcp-echo arguments).
const NET_STORMS: [(&str, [&str; 3]); 2] = [
    ("2,000 short connections, one 64-byte echo each", ["2000", "1", "64"]),
    ("one connection, 50,000 echoes of 16 bytes", ["1", "50000", "16"]),
];

/// The workload's own "elapsed X s" line.
fn elapsed_seconds(stdout: &str) -> Result<f64> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("elapsed "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no elapsed time in:\n{stdout}"))
}

/// One network storm, untraced or under tracer (`options`: `None` untraced) with every feature
/// on; returns seconds and, when traced, the summary's events line.
/// The storm runs pinned to CPU 1, client and server threads alike, as dd does: on these VMs
/// a halted vCPU takes tens of microseconds to wake (guest halt polling is off), which made an
/// unpinned untraced storm up to 15x slower than with both CPUs busy, so that tracing seemed to
/// speed it up. Pinned, every wake-up is a switch on a busy CPU and the ratio is the tracer's.
fn net_storm(args: &[&str], options: Option<&[&str]>) -> Result<(f64, String)> {
    let tracer = bin("tracer");
    let prefix: Vec<&str> = match options {
        Some(options) => [tracer.to_str().unwrap()].into_iter().chain(options.iter().copied()).chain(["--"]).collect(),
        None => Vec::new(),
    };
    let mut workload_args = vec!["tcp-echo"];
    workload_args.extend(args);
    let (seconds, stderr) = pinned_workload(&prefix, &workload_args)?;
    let events = stderr.lines().find(|l| l.starts_with("events: ")).unwrap_or("").to_string();
    Ok((seconds, events))
}

/// `PREFIX taskset -c 1 workload ARGS` (PREFIX: a tracer and its options, or nothing): the
/// workload's own elapsed time, and what went to stderr (a tracer's summary).
fn pinned_workload(prefix: &[&str], args: &[&str]) -> Result<(f64, String)> {
    let mut cmd = match prefix.split_first() {
        Some((program, options)) => {
            let mut cmd = Command::new(program);
            cmd.args(options).arg("taskset");
            cmd
        }
        None => Command::new("taskset"),
    };
    let out = cmd.args(["-c", "1"]).arg(bin("workload")).args(args).stdin(Stdio::null()).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        bail!("{prefix:?} workload {args:?} failed: {stderr}");
    }
    Ok((elapsed_seconds(&String::from_utf8_lossy(&out.stdout))?, stderr))
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

pub fn run() -> Result<()> {
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    if std::env::var("BENCH_ONLY").as_deref() == Ok("startup") {
        // A quick look while working on start-up; BENCHMARKS.md is left as it is.
        print!("{}", startup(rounds)?);
        return Ok(());
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("plain") {
        print!("{}", plain_storm(rounds)?);
        return Ok(());
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("scale") {
        print!("{}", scale(rounds)?);
        return Ok(());
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("servers") {
        print!("{}", servers::servers(rounds.min(5))?);
        return Ok(());
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("soak") {
        print!("{}", agent_soak()?);
        return Ok(());
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("gostacks") {
        print!("{}", go_stacks(rounds)?);
        return Ok(());
    }
    let storm_only = std::env::var("BENCH_ONLY").as_deref() == Ok("storm");
    let have_bpftrace = Command::new("bpftrace").arg("--version").output().is_ok();
    let mut cases = vec![
        Case::Untraced,
        Case::Floor,
        Case::Clock,
        Case::Paired,
        Case::Ring,
        Case::KernelCounts,
        Case::Tracer,
        Case::TracerEvents,
        Case::TracerSyscallsOnly,
        Case::TracerSelected,
        Case::TracerUnselected,
        Case::TracerSlowIdle,
        Case::Serve,
        Case::Bystander,
    ];
    if have_bpftrace {
        cases.push(Case::Bpftrace);
    }
    let mut results: Vec<Measured> =
        cases.iter().map(|&case| Measured { case, seconds: vec![], note: String::new(), tracer_cpu: vec![] }).collect();
    // Interleaved rounds, so drift on a noisy machine spreads over every case alike.
    for round in 1..=rounds {
        for result in results.iter_mut() {
            let (seconds, usage) = measure(result.case, &mut result.note)?;
            eprintln!("bench: round {round}/{rounds} {:?}: {seconds:.3}s", result.case);
            result.seconds.push(seconds);
            result.tracer_cpu.extend(usage.map(|u| u.cpu));
        }
    }
    // The kernel programs' run time, from more rounds of each case that has programs of its own
    // (tracer's and the references) with the kernel's BPF run-time stats on: they add two clock
    // reads a run, the same to each, so these rounds are not timed. Far less noisy than dd's
    // time, and blind to what the programs cost outside themselves. The median of three
    // interleaved rounds: one round's figure moved by 20 ns a syscall from run to run.
    const STATS_ROUNDS: usize = 3;
    let mut program_seconds: Vec<(Case, Vec<f64>)> =
        results.iter().map(|r| r.case).filter(|c| c.is_tracer() || c.is_reference()).map(|case| (case, Vec::new())).collect();
    if fs::write(BPF_STATS, "1").is_ok() {
        for _ in 0..STATS_ROUNDS {
            for (case, seconds) in program_seconds.iter_mut() {
                if let Ok((_, Some(OwnUsage { programs: Some(programs), .. }))) = measure(*case, &mut String::new()) {
                    seconds.push(programs);
                }
            }
        }
        let _ = fs::write(BPF_STATS, "0");
    }
    let programs_of = |case: Case| program_seconds.iter().find(|(c, s)| *c == case && !s.is_empty()).map(|(_, s)| median(s));
    let untraced = median(&results[0].seconds);
    let floor = median(&results[1].seconds) / untraced;
    let mut table = String::new();
    let _ = writeln!(table, "Workload: `taskset -c 1 dd if=/dev/zero of=/dev/null bs=1 count={DD_COUNT}` ({} read+write syscalls), dd's own time, median of {rounds} interleaved rounds.\n", 2 * DD_COUNT);
    let clock = results.iter().find(|r| r.case == Case::Clock).map_or(f64::NAN, |r| median(&r.seconds) / untraced);
    let _ = writeln!(table, "| how it ran | ratio to untraced | above the clock pair | cost in floors | kernel programs, ns a syscall (BPF stats) | programs above the clock's | tracer's reader, ms per million syscalls | notes |");
    let _ = writeln!(table, "|---|---|---|---|---|---|---|---|");
    let per_syscall = 1e9 / (2 * DD_COUNT) as f64; // seconds -> ns a syscall (= ms per million)
    let untraced_ns = untraced * per_syscall;
    let clock_programs = programs_of(Case::Clock);
    for result in &results {
        let ratio = median(&result.seconds) / untraced;
        let floors = if result.case == Case::Untraced { "0".into() } else { format!("{:.2}", (ratio - 1.0) / (floor - 1.0)) };
        let above = format!("{:+.2}x", ratio - clock);
        let (programs, programs_above) = match (programs_of(result.case), clock_programs) {
            (Some(own), Some(clock)) => {
                let above = (own - clock) * per_syscall;
                (format!("{:.0}", own * per_syscall), format!("{above:+.0} ns ({:+.2}x)", above / untraced_ns))
            }
            (Some(own), None) => (format!("{:.0}", own * per_syscall), String::new()),
            _ => (String::new(), String::new()),
        };
        let reader = match result.tracer_cpu.is_empty() {
            true => String::new(),
            false => format!("{:.0}", median(&result.tracer_cpu) * per_syscall),
        };
        let _ = writeln!(table, "| {} | {ratio:.2}x | {above} | {floors} | {programs} | {programs_above} | {reader} | {} |", result.case.describe(), result.note);
    }
    let machine = format!(
        "{} cores, kernel {}",
        thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim()
    );
    let _ = writeln!(table, "\nMachine: {machine}. Untraced median: {untraced:.3}s. \"Cost in floors\" = (ratio - 1) / (floor ratio - 1). Tracer's reader: its whole process's CPU from attach (`--own-usage`), median of the timed rounds. Kernel programs: their run time, median of 3 untimed rounds with `kernel.bpf_stats_enabled=1`, whose own two clock reads a run are in every row alike; \"above the clock's\" subtracts the clock-only programs' and divides by an untraced syscall's time.");
    if storm_only {
        // A quick look at the storm alone; BENCHMARKS.md is left as it is.
        print!("{table}");
        return Ok(());
    }

    let _ = writeln!(table, "\nLoopback network storms (`taskset -c 1 workload tcp-echo`: client and server threads on CPU 1; its own time), untraced and under tracer with every feature on (syscalls, scheduler split, sockets), by default and with every call sent (`--events`), median of {rounds} interleaved rounds:\n");
    let _ = writeln!(table, "| storm | ratio to untraced | events | --events | events |");
    let _ = writeln!(table, "|---|---|---|---|---|");
    let mut raw_net = Vec::new();
    for (label, args) in NET_STORMS {
        let (mut plain, mut traced, mut sent, mut events, mut sent_events) = (Vec::new(), Vec::new(), Vec::new(), String::new(), String::new());
        for round in 1..=rounds {
            plain.push(net_storm(&args, None)?.0);
            let (seconds, line) = net_storm(&args, Some(&[]))?;
            events = line;
            traced.push(seconds);
            let (every, line) = net_storm(&args, Some(&["--events"]))?;
            sent.push(every);
            sent_events = line;
            eprintln!("bench: round {round}/{rounds} {label}: {:.3}s untraced, {seconds:.3}s traced, {every:.3}s --events", plain.last().unwrap());
        }
        let ratio = |v: &[f64]| median(v) / median(&plain);
        let _ = writeln!(table, "| {label} | {:.2}x | {events} | {:.2}x | {sent_events} |", ratio(&traced), ratio(&sent));
        raw_net.push(format!("  {{\"case\": \"{label}\", \"untraced\": {plain:?}, \"traced\": {traced:?}, \"events\": {sent:?}}}"));
    }

    table.push_str(&servers::servers(rounds.min(5))?);
    table.push_str(&plain_storm(rounds)?);
    table.push_str(&slow_storm(rounds)?);
    table.push_str(&go_stacks(rounds)?);
    table.push_str(&scale(rounds)?);
    table.push_str(&startup(rounds)?);
    table.push_str(&agent_soak()?);

    let dir = workspace_root().join("bench-results");
    fs::create_dir_all(&dir)?;
    fs::write(dir.join("latest.md"), &table)?;
    let mut raw: Vec<String> = results
        .iter()
        .map(|r| format!("  {{\"case\": \"{:?}\", \"seconds\": {:?}}}", r.case, r.seconds))
        .collect();
    raw.extend(raw_net);
    fs::write(dir.join("latest.json"), format!("[\n{}\n]\n", raw.join(",\n")))?;
    update_benchmarks_md(&table)?;
    std::io::stdout().write_all(table.as_bytes())?;
    Ok(())
}

/// What naming a stripped Go program's frames from its `.gopclntab` costs the reader: its CPU
/// (`--own-usage`) with and without `--stacks`, for one slow call (the table read and parsed,
/// first names) and for many from the same site (names cached), each call a 0 ns nanosleep
/// made slow by `--slow 0`.
fn go_stacks(rounds: usize) -> Result<String> {
    const CALLS: usize = 5000;
    let dir = std::env::temp_dir().join("tracer-bench-go");
    fs::create_dir_all(&dir)?;
    let binary = dir.join("slowsleep");
    let built = Command::new("go")
        .args(["build", "-ldflags=-s -w", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(workspace_root().join("tests/go/slowsleep"))
        .env("GOCACHE", std::env::temp_dir().join("tracer-go-cache"))
        .env("GOFLAGS", "-mod=mod")
        .status()
        .context("go build (cargo xtask setup installs golang-go)")?;
    if !built.success() {
        bail!("go build of tests/go/slowsleep failed");
    }
    let reader_cpu = |stacks: bool, calls: usize| -> Result<f64> {
        let mut cmd = Command::new(bin("tracer"));
        cmd.args(["--slow", "0", "-e", "trace=nanosleep", "--own-usage"]);
        if stacks {
            cmd.arg("--stacks");
        }
        let out = cmd.arg("--").arg(&binary).args([calls.to_string().as_str(), "0"]).stdout(Stdio::null()).output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || !stderr.contains("events: ") || !stderr.contains(" 0 lost") {
            bail!("tracer on the Go program failed or lost events: {stderr}");
        }
        Ok(own_usage(&stderr).context("no --own-usage line")?.cpu)
    };
    let mut costs: [Vec<f64>; 4] = Default::default();
    for round in 1..=rounds {
        for (i, (stacks, calls)) in [(false, 1), (true, 1), (false, CALLS), (true, CALLS)].into_iter().enumerate() {
            costs[i].push(reader_cpu(stacks, calls)?);
        }
        eprintln!("bench: round {round}/{rounds} go stacks");
    }
    let first = median(&costs[1]) - median(&costs[0]);
    let cached = (median(&costs[3]) - median(&costs[2]) - first) / (CALLS - 1) as f64;
    let mut table = String::new();
    let _ = writeln!(table, "
Stacks of a stripped Go program (`tests/go/slowsleep` built with `-ldflags \"-s -w\"`: frames named from its `.gopclntab`), `tracer --slow 0 -e trace=nanosleep [--stacks]`, the reader's CPU (`--own-usage`), medians of {rounds} rounds:\n");
    let _ = writeln!(table, "| slow calls | reader CPU without --stacks | with --stacks | --stacks per slow call |");
    let _ = writeln!(table, "|---|---|---|---|");
    let _ = writeln!(table, "| 1 (first: table read and parsed) | {:.1} ms | {:.1} ms | {:.2} ms |", median(&costs[0]) * 1e3, median(&costs[1]) * 1e3, first * 1e3);
    let _ = writeln!(
        table,
        "| {CALLS} (the same site: names cached) | {:.1} ms | {:.1} ms | {:.1} us after the first |",
        median(&costs[2]) * 1e3,
        median(&costs[3]) * 1e3,
        cached * 1e6
    );
    Ok(table)
}

/// The slow-call storm: 1% of its calls are slow (a nanosleep among 99 fast reads), traced
/// with `--slow` and stacks, side by side with strace -T -f and perf trace --duration, each as
/// a ratio to the untraced workload.
fn slow_storm(rounds: usize) -> Result<String> {
    // strace takes ~120x as long as the untraced storm: kept small so that its rounds take
    // seconds, not minutes.
    const ITERATIONS: &str = "1000";
    const FAST: &str = "99";
    let storm = |prefix: &[&str]| -> Result<(f64, String)> {
        let (seconds, stderr) = pinned_workload(prefix, &["slow-mix", ITERATIONS, FAST])?;
        let note = stderr.lines().find(|l| l.starts_with("events: ")).unwrap_or("").to_string();
        // "slow calls (at least 20.0us): 1017, 85.2ms in all; the 20 slowest:" without its tail.
        let slow = stderr.lines().find(|l| l.starts_with("slow calls (")).and_then(|l| l.split(';').next()).unwrap_or("").to_string();
        Ok((seconds, if slow.is_empty() { note } else { format!("{note}; {slow}") }))
    };
    let tracer = bin("tracer");
    let tracer = tracer.to_str().unwrap();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("untraced", vec![]),
        ("tracer --slow 20us --stacks (a line and a stack for each of the 1,000 slow calls)", vec![tracer, "--slow", "20us", "--stacks", "--"]),
        ("strace -T -f (every call, to /dev/null)", vec!["strace", "-T", "-f", "-o", "/dev/null", "--"]),
        ("perf trace --duration 0.02 (calls of 20us or more)", vec!["perf", "trace", "--duration", "0.02", "-o", "/dev/null", "--"]),
    ];
    let mut seconds: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    let mut notes = vec![String::new(); cases.len()];
    for round in 1..=rounds {
        for (i, (label, prefix)) in cases.iter().enumerate() {
            let (secs, note) = storm(prefix)?;
            eprintln!("bench: round {round}/{rounds} slow-mix {label}: {secs:.3}s");
            seconds[i].push(secs);
            if !note.is_empty() {
                notes[i] = note;
            }
        }
    }
    let untraced = median(&seconds[0]);
    let mut table = String::new();
    let _ = writeln!(table, "\nSlow-call storm (`taskset -c 1 workload slow-mix {ITERATIONS} {FAST}`: {ITERATIONS} times 99 one-byte reads and one 1 ns nanosleep, which takes the 50 us timer slack: 1% of 100,000 calls slow; its own time), median of {rounds} interleaved rounds:\n");
    let _ = writeln!(table, "| how it ran | ratio to untraced | notes |");
    let _ = writeln!(table, "|---|---|---|");
    for (i, (label, _)) in cases.iter().enumerate() {
        let ratio = median(&seconds[i]) / untraced;
        let note = match i {
            1 => {
                let events: f64 = notes[i].strip_prefix("events: ").and_then(|rest| rest.split(' ').next()?.parse().ok()).unwrap_or(0.0);
                let traced = events + kernel_counted(&notes[i]);
                format!("{}; {:.2} M calls and events traced per second", notes[i], traced / median(&seconds[i]) / 1e6)
            }
            _ => String::new(),
        };
        let _ = writeln!(table, "| {label} | {ratio:.2}x | {note} |");
    }
    Ok(table)
}

/// A storm of a syscall that needs no event of its own (getppid): counted in the kernel by
/// default, against every call sent (`--events`) and the clock pair's floor.
fn plain_storm(rounds: usize) -> Result<String> {
    const ARGS: [&str; 3] = ["threads", "1", "4000000"];
    let tracer = bin("tracer");
    let tracer = tracer.to_str().unwrap();
    let cases: [(&str, &[&str]); 4] = [
        ("untraced", &[]),
        ("floor + the clock pair (empty programs that read the clock)", &[]),
        ("tracer (counted in the kernel)", &[tracer, "--own-usage", "--"]),
        ("tracer --events (every call through the ring buffer)", &[tracer, "--events", "--own-usage", "--"]),
    ];
    let mut seconds: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    let mut notes = vec![(String::new(), Vec::new()); cases.len()];
    for round in 1..=rounds {
        for (i, (label, prefix)) in cases.iter().enumerate() {
            let (secs, stderr) = if i == 1 {
                let mut cmd = Command::new(bin("floor"));
                cmd.arg("--clock");
                let floor = spawn_until(cmd, false, "ready")?;
                let measured = pinned_workload(&[], &ARGS);
                floor.close()?;
                measured?
            } else {
                pinned_workload(prefix, &ARGS)?
            };
            eprintln!("bench: round {round}/{rounds} getppid storm {label}: {secs:.3}s");
            seconds[i].push(secs);
            if let Some(events) = stderr.lines().find(|l| l.starts_with("events: ")) {
                notes[i].0 = events.to_string();
            }
            notes[i].1.extend(own_usage(&stderr).map(|u| u.cpu));
        }
    }
    let untraced = median(&seconds[0]);
    let mut table = String::new();
    let _ = writeln!(table, "\nA storm of a syscall that needs no event (`taskset -c 1 workload threads 1 4000000`: 4,000,000 getppid calls; its own time), median of {rounds} interleaved rounds:\n");
    let _ = writeln!(table, "| how it ran | ratio to untraced | tracer's CPU per million syscalls | notes |");
    let _ = writeln!(table, "|---|---|---|---|");
    for (i, (label, _)) in cases.iter().enumerate() {
        let cpu = match notes[i].1.is_empty() {
            true => String::new(),
            false => format!("{:.0} ms", median(&notes[i].1) * 1e3 / 4.0),
        };
        let _ = writeln!(table, "| {label} | {:.2}x | {cpu} | {} |", median(&seconds[i]) / untraced, notes[i].0);
    }
    Ok(table)
}

/// "...; N more calls counted in the kernel" at the end of the summary's events line.
fn kernel_counted(events: &str) -> f64 {
    events.split("; ").find_map(|part| part.strip_suffix(" more calls counted in the kernel")?.parse().ok()).unwrap_or(0.0)
}

/// The scale rows: many threads, many short-lived processes, many open sockets; each untraced
/// and under tracer with every feature on, interleaved, with tracer's events, losses and memory.
fn scale(rounds: usize) -> Result<String> {
    let rows: [(&str, &[&str], &[&str]); 3] = [
        ("a process with 1,000 threads, 2,000 getppid calls each (`workload threads 1000 2000`)", &["threads", "1000", "2000"], &[]),
        ("`-f` over 1,000 short-lived processes, 50 getppid calls each (`workload forks-timed 1000 50`)", &["forks-timed", "1000", "50"], &["-f"]),
        ("10,000 open sockets: 5,000 loopback connections, one byte each way twice (`workload sockets 5000 2`)", &["sockets", "5000", "2"], &[]),
    ];
    let tracer = bin("tracer");
    let mut table = String::new();
    let _ = writeln!(table, "\nScale (each workload pinned to CPU 1, its own time), untraced and under tracer with every feature on, median of {rounds} interleaved rounds:\n");
    let _ = writeln!(table, "| workload | ratio to untraced | calls and events traced per second (events) | lost | tracer RSS at the end (peak), anonymous at the end | tracer CPU per call or event |");
    let _ = writeln!(table, "|---|---|---|---|---|---|");
    for (label, args, options) in rows {
        let mut prefix = vec![tracer.to_str().unwrap()];
        prefix.extend(options);
        prefix.extend(["--own-usage", "--"]);
        let (mut plain, mut traced, mut last) = (Vec::new(), Vec::new(), (String::new(), OwnUsage::default()));
        for round in 1..=rounds {
            plain.push(pinned_workload(&[], args)?.0);
            let (seconds, stderr) = pinned_workload(&prefix, args)?;
            traced.push(seconds);
            let events = stderr.lines().find(|l| l.starts_with("events: ")).unwrap_or("").to_string();
            last = (events, own_usage(&stderr).unwrap_or_default());
            eprintln!("bench: round {round}/{rounds} scale {args:?}: {:.3}s untraced, {seconds:.3}s traced", plain.last().unwrap());
        }
        let (events, usage) = last;
        // "events: N received, L lost; traced T s, ..."
        let field = |i: usize| -> f64 { events.split(' ').nth(i).and_then(|s| s.trim_end_matches([',', 's']).parse().ok()).unwrap_or(f64::NAN) };
        let (received, lost, traced_for) = (field(1), field(3), field(6).max(f64::MIN_POSITIVE));
        let counted = kernel_counted(&events);
        let _ = writeln!(
            table,
            "| {label} | {:.2}x | {:.2} M ({:.2} M) | {lost} | {:.1} MiB ({:.1} MiB), {:.1} MiB | {:.0} ns |",
            median(&traced) / median(&plain),
            (received + counted) / traced_for / 1e6,
            received / traced_for / 1e6,
            usage.rss,
            usage.peak_rss,
            usage.anonymous_rss,
            usage.cpu * 1e9 / (received + counted)
        );
    }
    Ok(table)
}

/// Start-up, measured from the outside (exec until tracer says "attached", which it says once
/// every program is attached and the target's next syscall will be seen) and from the inside
/// (`--startup-times`, phase by phase), with the exec-to-exit time of tracer and of bpftrace
/// side by side. Returns the table's lines.
fn startup(rounds: usize) -> Result<String> {
    let mut target = Command::new("sleep").arg("600").spawn()?;
    let pid = target.id().to_string();
    let (mut attached, mut tracer_exit, mut bpftrace_exit) = (Vec::new(), Vec::new(), Vec::new());
    let mut phases: Vec<(String, Vec<f64>)> = Vec::new();
    let have_bpftrace = Command::new("bpftrace").arg("--version").output().is_ok();
    for round in 1..=rounds {
        // exec until "attached", and the phases tracer reports.
        let started = std::time::Instant::now();
        let mut tracer = Command::new(bin("tracer"))
            .args(["--startup-times", "-p", &pid])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut lines = BufReader::new(tracer.stderr.take().unwrap()).lines();
        let mut breakdown = String::new();
        for line in lines.by_ref() {
            let line = line?;
            if let Some(rest) = line.strip_prefix("tracer: start-up: ") {
                breakdown = rest.to_string();
            }
            if line.contains("attached to process") {
                break;
            }
        }
        attached.push(started.elapsed().as_secs_f64() * 1e3);
        unsafe { libc::kill(tracer.id() as i32, libc::SIGINT) };
        thread::spawn(move || lines.for_each(drop));
        tracer.wait()?;
        for part in breakdown.split(", ") {
            let Some((name, ms)) = part.rsplit_once(' ') else { continue };
            let ms: f64 = ms.trim_end_matches("ms").parse().with_context(|| format!("start-up line: {breakdown}"))?;
            match phases.iter_mut().find(|(n, _)| n == name) {
                Some((_, values)) => values.push(ms),
                None => phases.push((name.to_string(), vec![ms])),
            }
        }
        // exec to exit, tracer and bpftrace, one after the other.
        let started = std::time::Instant::now();
        let out = Command::new(bin("tracer")).args(["-p", &pid, "-d", "1ms"]).stdin(Stdio::null()).output()?;
        if !out.status.success() {
            bail!("tracer -d 1ms failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        tracer_exit.push(started.elapsed().as_secs_f64() * 1e3);
        if have_bpftrace {
            let started = std::time::Instant::now();
            let out = Command::new("bpftrace")
                .args(["-e", "tracepoint:syscalls:sys_enter_getppid { } BEGIN { exit(); }"])
                .stdin(Stdio::null())
                .output()?;
            if !out.status.success() {
                bail!("bpftrace failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            bpftrace_exit.push(started.elapsed().as_secs_f64() * 1e3);
        }
        eprintln!("bench: round {round}/{rounds} start-up: {:.1}ms to attached", attached.last().unwrap());
    }
    target.kill()?;
    target.wait()?;
    let mut table = String::new();
    let _ = writeln!(table, "\nStart-up, median of {rounds} rounds (tracing a sleeping process; release build):\n");
    let _ = writeln!(table, "| what | time | notes |");
    let _ = writeln!(table, "|---|---|---|");
    let inside: f64 = phases.iter().find(|(n, _)| n == "total").map_or(0.0, |(_, v)| median(v));
    let parts: Vec<String> =
        phases.iter().filter(|(n, _)| n != "total").map(|(n, v)| format!("{n} {:.1}ms", median(v))).collect();
    let _ = writeln!(
        table,
        "| tracer: exec to \"attached\" (`tracer -p PID`) | {:.1} ms | inside tracer {inside:.1} ms: {}; the rest is exec, the dynamic loader and argument parsing |",
        median(&attached),
        parts.join(", ")
    );
    let _ = writeln!(table, "| tracer: exec to exit (`tracer -p PID -d 1ms`) | {:.1} ms | start-up, 1 ms of tracing, detaching, summary |", median(&tracer_exit));
    if have_bpftrace {
        let _ = writeln!(
            table,
            "| bpftrace: exec to exit, one tracepoint (`bpftrace -e 'tracepoint:syscalls:sys_enter_getppid {{ }} BEGIN {{ exit(); }}'`) | {:.1} ms | {:.2}x tracer's exec to exit |",
            median(&bpftrace_exit),
            median(&bpftrace_exit) / median(&tracer_exit)
        );
    }
    Ok(table)
}

/// Replaces the generated part of BENCHMARKS.md, between its two markers.
/// The agent over a long busy stretch: `tracer serve --all --by comm`, scraped every second,
/// while short-lived processes and connections come and go (batches of 1,000 forks, each child
/// making 50 syscalls; 200 loopback connections of 20 echoed messages each; 200 children that
/// each take a name never seen before, from a parent that renames itself before each), for
/// BENCH_SOAK_MINUTES (10). Its RSS is sampled from /proc every 10 s: it must level off, not
/// grow with the processes, connections and names seen (groups are capped by --max-groups).
fn agent_soak() -> Result<String> {
    use std::time::{Duration, Instant};
    let minutes: f64 = std::env::var("BENCH_SOAK_MINUTES").ok().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let mut cmd = Command::new(bin("tracer"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--all", "--by", "comm"]);
    cmd.stderr(Stdio::piped()).stdout(Stdio::null()).stdin(Stdio::piped());
    let mut agent = cmd.spawn().context("spawn tracer serve")?;
    let mut lines = BufReader::new(agent.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().context("tracer serve ended before serving")??;
        if let Some(rest) = line.split("serving metrics on http://").nth(1) {
            break rest.trim_end_matches("/metrics").to_string();
        }
    };
    thread::spawn(move || lines.for_each(drop));
    let rss_kib = |pid: u32| -> u64 {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok()).unwrap_or(0)
    };
    let scrape = |addr: &str| -> Result<String> {
        use std::io::Read;
        let mut stream = std::net::TcpStream::connect(addr)?;
        write!(stream, "GET /metrics HTTP/1.0\r\n\r\n")?;
        let mut page = String::new();
        stream.read_to_string(&mut page)?;
        Ok(page)
    };
    let metric = |page: &str, name: &str| -> f64 {
        page.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().parse().ok()).unwrap_or(f64::NAN)
    };
    let started = Instant::now();
    let (mut samples, mut batches, mut next_sample, mut next_scrape) = (Vec::new(), 0u64, Duration::ZERO, Duration::ZERO);
    let mut page = String::new();
    while started.elapsed().as_secs_f64() < minutes * 60.0 {
        let status = Command::new(bin("workload")).args(["forks", "1000", "50"]).status()?;
        if !status.success() {
            bail!("workload forks failed");
        }
        let echo = Command::new(bin("workload")).args(["tcp-echo", "200", "20", "512"]).stdout(Stdio::null()).status()?;
        if !echo.success() {
            bail!("workload tcp-echo failed");
        }
        if !Command::new(bin("workload")).args(["renames", "200", "20"]).status()?.success() {
            bail!("workload renames failed");
        }
        batches += 1;
        if started.elapsed() >= next_scrape {
            page = scrape(&addr)?;
            next_scrape += Duration::from_secs(1);
        }
        if started.elapsed() >= next_sample {
            samples.push((started.elapsed().as_secs(), rss_kib(agent.id())));
            next_sample += Duration::from_secs(10);
        }
    }
    thread::sleep(Duration::from_secs(2));
    page = scrape(&addr).unwrap_or(page);
    samples.push((started.elapsed().as_secs(), rss_kib(agent.id())));
    interrupt(agent)?;
    let (processes, connections) = (batches * 1203, batches * 200);
    let (first, last) = (samples[1.min(samples.len() - 1)].1, samples.last().unwrap().1);
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(out, "\nAgent soak: `tracer serve --all --by comm`, scraped every second, for {minutes} min while {processes} short-lived processes ran and {connections} loopback connections came and went, {} of the processes under a name never seen before ({batches} batches of `workload forks 1000 50`, `workload tcp-echo 200 20 512` and `workload renames 200 20`):\n", batches * 201);
    let _ = writeln!(out, "| agent RSS at 10 s | at the end | peak | events received | calls counted in the kernel | lost | agent CPU | groups retired | groups at the end | processes over --max-groups |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    let _ = writeln!(
        out,
        "| {:.1} MiB | {:.1} MiB | {:.1} MiB | {} | {} | {} | {:.1} s | {} | {} | {} |",
        first as f64 / 1024.0,
        last as f64 / 1024.0,
        peak as f64 / 1024.0,
        metric(&page, "tracer_events_total "),
        metric(&page, "tracer_kernel_counted_calls_total "),
        metric(&page, "tracer_events_lost_total "),
        metric(&page, "process_cpu_seconds_total "),
        metric(&page, "tracer_groups_retired_total "),
        metric(&page, "tracer_groups{by=\"comm\"} "),
        metric(&page, "tracer_group_overflow_total "),
    );
    // A sample a minute, and the last.
    let trail: Vec<String> = samples
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 6 == 0 || *i == samples.len() - 1)
        .map(|(_, (s, kib))| format!("{s}s {:.1}", *kib as f64 / 1024.0))
        .collect();
    let _ = writeln!(out, "\nRSS samples (MiB): {}", trail.join(", "));
    Ok(out)
}

fn update_benchmarks_md(table: &str) -> Result<()> {
    const BEGIN: &str = "<!-- bench:begin -->";
    const END: &str = "<!-- bench:end -->";
    let path = workspace_root().join("BENCHMARKS.md");
    let text = fs::read_to_string(&path).unwrap_or_else(|_| format!("# Benchmarks\n\n{BEGIN}\n{END}\n"));
    let (Some(start), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        bail!("BENCHMARKS.md lacks the {BEGIN} / {END} markers");
    };
    let updated = format!("{}{BEGIN}\n{table}{END}{}", &text[..start], &text[end + END.len()..]);
    fs::write(path, updated)?;
    Ok(())
}
