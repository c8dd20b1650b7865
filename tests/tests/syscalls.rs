//! End-to-end: real kernel programs, a workload whose syscalls we know, exact assertions.
use std::{
    io::Write,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use tracer_tests::{op_row, trace, wait_until_blocked_in, workload, workload_bin, Attached, Waiting};

const MS: u64 = 1_000_000;

/// Starts a workload waiting for a signal, attaches the tracer, then lets the workload run.
fn attach_and_run(tracer_args: &[&str], scenario: &[&str]) -> (tracer_tests::Summary, std::process::Output) {
    let target = Waiting::spawn(scenario);
    let pid = target.pid().to_string();
    let mut args = tracer_args.to_vec();
    args.extend(["-p", &pid]);
    let tracer = Attached::start(&args);
    target.go();
    assert!(target.wait().success(), "workload failed");
    tracer.finish()
}

#[test]
fn attached_pid_exact_counts_and_errors() {
    let (summary, output) = attach_and_run(&[], &["rw", "1000", "2000", "7", "5"]);
    assert!(output.status.success(), "{:?}", output);
    assert_eq!(summary.calls("read"), 1000, "{}", summary.text);
    assert_eq!(summary.calls("write"), 2000, "{}", summary.text);
    let close = summary.row("close");
    assert_eq!((close.calls, close.errors), (7, 7), "{}", summary.text);
    assert_eq!(summary.errnos.get(&("close".into(), "EBADF".into())), Some(&7));
    // Two successful opens (/dev/zero, /dev/null) and five of a missing file.
    let openat = summary.row("openat");
    assert_eq!((openat.calls, openat.errors), (7, 5), "{}", summary.text);
    assert_eq!(summary.errnos.get(&("openat".into(), "ENOENT".into())), Some(&5));
    assert_eq!(summary.calls("exit_group"), 1);
    assert_eq!(summary.row("read").errors, 0);
    assert_eq!(summary.lost, 0);
    assert_eq!(summary.processes, 1);
    // The wait for the go signal was in progress at attach: one call, of unknown latency.
    assert_eq!(summary.calls("rt_sigtimedwait"), 1, "{}", summary.text);
    assert!(summary.row("rt_sigtimedwait").percentiles_ns.is_none(), "{}", summary.text);
    assert_eq!(summary.in_flight, [("rt_sigtimedwait".to_string(), 1)].into(), "{}", summary.text);
}

#[test]
fn a_read_in_progress_at_attach_is_counted_without_a_latency() {
    // The reader is blocked in read on a pipe before tracer attaches; then N bytes come, one
    // read each. strace -c would count N (its attach restarts the call); so must we.
    const N: usize = 5;
    let mut target = Killed(workload().args(["stdin-bytes", &N.to_string()]).stdin(Stdio::piped()).spawn().unwrap());
    let pid = target.0.id();
    wait_until_blocked_in(pid, libc::SYS_read);
    let tracer = Attached::start(&["-e", "trace=read", "-p", &pid.to_string()]);
    let mut stdin = target.0.stdin.take().unwrap();
    // One byte per read, however the writes and reads interleave.
    stdin.write_all(&[b'x'; N]).unwrap();
    assert!(target.0.wait().unwrap().success());
    let (summary, output) = tracer.finish();
    assert!(output.status.success(), "{output:?}");
    let read = summary.row("read");
    assert_eq!(read.calls, N as u64, "{}", summary.text);
    assert_eq!(summary.in_flight.get("read"), Some(&1), "{}", summary.text);
    // The histogram holds the N-1 timed reads only: the in-flight one's wait is unknown.
    assert!(read.percentiles_ns.is_some(), "{}", summary.text);
    let pipe_reads = summary.text.lines().find(|l| l.starts_with("read ") && l.split_whitespace().nth(1) == Some("pipe"));
    let pipe_reads = pipe_reads.unwrap_or_else(|| panic!("no read/pipe row:\n{}", summary.text));
    assert_eq!(pipe_reads.split_whitespace().nth(2), Some(N.to_string().as_str()), "{}", summary.text);
    assert_eq!(pipe_reads.split_whitespace().nth(3), Some(N.to_string().as_str()), "bytes:\n{}", summary.text);
}

#[test]
fn blocked_read_latency_lands_in_the_caused_band() {
    // Each read waits for a writer that sleeps 100ms first.
    let (summary, _) = attach_and_run(&["-e", "trace=read"], &["pipe-sleep", "5", "100"]);
    let read = summary.row("read");
    assert_eq!(read.calls, 5, "{}", summary.text);
    let [p50, p90, p99, p999, max] = read.percentiles_ns.unwrap();
    assert!((90 * MS..=400 * MS).contains(&p50), "p50 {p50} outside 90..400ms:\n{}", summary.text);
    assert!(p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max);
    assert!(max <= 1000 * MS, "max {max}:\n{}", summary.text);
    assert_eq!(summary.rows.len(), 1, "only read selected:\n{}", summary.text);
}

#[test]
fn spawned_command_is_traced_from_execve() {
    let (summary, output) = trace(&["--", workload_bin().to_str().unwrap(), "getppid", "500"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(summary.calls("execve"), 1, "{}", summary.text);
    assert_eq!(summary.calls("getppid"), 500, "{}", summary.text);
    assert_eq!(summary.calls("exit_group"), 1);
    assert!(summary.row("exit_group").percentiles_ns.is_none(), "exit_group has no latency");
}

#[test]
fn exit_status_of_the_spawned_command_is_returned() {
    // `workload` with no scenario prints usage and exits 2.
    let (_, output) = trace(&["--", workload_bin().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn children_are_traced_only_with_follow_forks() {
    let cmd = workload_bin();
    let args = ["-e", "trace=getppid,wait4,clone,clone3", "--", cmd.to_str().unwrap(), "fork", "300"];
    let (without, _) = trace(&args);
    assert_eq!(without.calls("getppid"), 0, "child traced without -f:\n{}", without.text);
    assert_eq!(without.processes, 1);
    assert!(without.calls("wait4") >= 1, "{}", without.text);

    let mut with_f = vec!["-f"];
    with_f.extend(args);
    let (with, _) = trace(&with_f);
    assert_eq!(with.calls("getppid"), 300, "{}", with.text);
    assert_eq!(with.processes, 2, "{}", with.text);
    // The child's own return from the fork is the parent's call, not a second one.
    assert_eq!(with.calls("clone") + with.calls("clone3"), 1, "{}", with.text);
    assert!(with.in_flight.is_empty(), "{}", with.text);
}

#[test]
fn every_child_of_a_fork_loop_is_traced() {
    // Children get consecutive pids, so an exited child's bit and the next child's share a
    // bitmap word: clearing the one must not erase the other (it once did, now and then).
    let cmd = workload_bin();
    let (summary, output) = trace(&["-f", "-e", "trace=getppid", "--", cmd.to_str().unwrap(), "forks", "300", "20"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(summary.calls("getppid"), 300 * 20, "{}", summary.text);
    assert_eq!(summary.processes, 301, "{}", summary.text);
}

/// "Processes" means the processes traced, whether or not they made a shown call: with `--by`,
/// each is in a group, and the groups' processes add up to the footer's. Here `-e` shows only
/// the sleep: the two `true` children make no shown call, and end before the reader asks /proc.
#[test]
fn the_groups_processes_add_up_to_the_traces() {
    let (summary, output) = trace(&["-f", "--by", "comm", "-e", "trace=nanosleep,clock_nanosleep", "--", "sh", "-c", "/bin/true; /bin/true; sleep 0.1"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(summary.processes, 4, "{}", summary.text);
    let groups: Vec<(&str, u64)> = summary
        .text
        .lines()
        .filter_map(|line| line.strip_prefix("comm "))
        .filter_map(|rest| {
            let (name, count) = rest.split_once(" (")?;
            Some((name, count.split_whitespace().next()?.parse().ok()?))
        })
        .collect();
    assert_eq!(groups.iter().map(|(_, n)| n).sum::<u64>(), 4, "{}", summary.text);
    assert!(groups.contains(&("true", 2)) && groups.contains(&("sleep", 1)), "{}", summary.text);
}

#[test]
fn e_filter_keeps_only_the_selected_syscalls() {
    let cmd = workload_bin();
    let (only_write, _) = trace(&["-e", "trace=write", "--", cmd.to_str().unwrap(), "rw", "10", "20", "0", "0"]);
    assert_eq!(only_write.rows.keys().collect::<Vec<_>>(), vec!["write"], "{}", only_write.text);
    assert_eq!(only_write.calls("write"), 20);

    let (not_write, _) = trace(&["-e", "trace=!write", "--", cmd.to_str().unwrap(), "rw", "10", "20", "3", "0"]);
    assert_eq!(not_write.calls("write"), 0, "{}", not_write.text);
    assert!(not_write.calls("read") >= 10);
    assert_eq!(not_write.row("close").errors, 3);

    let (file_class, _) = trace(&["-e", "trace=%file", "--", cmd.to_str().unwrap(), "rw", "10", "20", "0", "4"]);
    assert!(file_class.calls("openat") >= 6 && file_class.calls("read") == 0, "{}", file_class.text);
    let enoent = file_class.errnos.get(&("openat".into(), "ENOENT".into())).copied().unwrap_or(0);
    assert!(enoent >= 4, "{}", file_class.text);
}

#[test]
fn other_processes_never_appear() {
    // A bystander hammering getppid while the traced command makes exactly 100 of them.
    let mut bystander = workload().args(["getppid", "100000000"]).spawn().unwrap();
    let (summary, _) = trace(&["-e", "trace=getppid", "--", workload_bin().to_str().unwrap(), "getppid", "100"]);
    bystander.kill().unwrap();
    bystander.wait().unwrap();
    assert_eq!(summary.calls("getppid"), 100, "{}", summary.text);
}

#[test]
fn pid_exiting_mid_run_ends_the_trace_with_a_summary() {
    // The target exits only once the tracer is attached, however long that takes.
    let target = Waiting::spawn(&["sleep", "0"]);
    let pid = target.pid().to_string();
    let started = Instant::now();
    let tracer = Attached::start(&["-p", &pid]);
    target.go();
    target.wait();
    let (summary, output) = tracer.finish();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(summary.calls("exit_group"), 1, "{}", summary.text);
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn duration_and_output_file() {
    let mut target = workload().args(["sleep", "10000"]).spawn().unwrap();
    let dir = std::env::temp_dir().join(format!("tracer-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("summary.txt");
    let (_, output) = trace(&["-d", "300ms", "-o", file.to_str().unwrap(), "-p", &target.id().to_string()]);
    target.kill().unwrap();
    target.wait().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout.is_empty(), "summary went to -o, not stdout");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("events: "), "nor stderr");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("events: ") && text.contains("0 lost"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn output_to_a_fifo_or_through_a_symlink_keeps_what_is_there() {
    // `-o /dev/null` once put a regular file in /dev/null's place (a temp file renamed over it).
    // A FIFO stands for any device here, and a symlink must stay a symlink.
    let dir = std::env::temp_dir().join(format!("tracer-test-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let (real, link) = (dir.join("summary.txt"), dir.join("link.txt"));
    std::fs::write(&real, "old").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let cmd = workload_bin();
    for out in [&fifo, &link] {
        let (_, output) = trace(&["-o", out.to_str().unwrap(), "--", cmd.to_str().unwrap(), "sleep", "1"]);
        assert!(output.status.success(), "{output:?}");
    }
    use std::os::unix::fs::FileTypeExt;
    // Checked before waiting for the reader, which would wait forever on a FIFO renamed away.
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
    assert!(reader.join().unwrap().contains("events: "), "the summary went into the FIFO");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "still a symlink");
    assert!(std::fs::read_to_string(&real).unwrap().contains("events: "), "the link's target got the summary");
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 3, "no temporary file left: {leftovers:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The processes running `workload ARGS` (not the tracer, whose command line contains it too).
fn running_workload(args: &str) -> Option<String> {
    let pattern = format!("^{} {args}$", workload_bin().display());
    let out = std::process::Command::new("pgrep").args(["-a", "-f", &pattern]).output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_spawned_command_is_stopped_with_the_trace() {
    // -d: the command gets SIGTERM when the duration is over (as with `timeout`), and the
    // run, which did what was asked, exits 0.
    let cmd = workload_bin();
    let started = Instant::now();
    let (summary, output) = trace(&["-d", "300ms", "--", cmd.to_str().unwrap(), "sleep", "987651"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    assert!(summary.text.contains("events: "), "{}", summary.text);
    assert_eq!(running_workload("sleep 987651"), None, "the command was left running");

    // SIGTERM to tracer: passed on, and the command's status (killed by SIGTERM) returned.
    let tracer = Attached::spawn(&["--", cmd.to_str().unwrap(), "sleep", "987652"]);
    // The command runs once tracing has started.
    let deadline = Instant::now() + Duration::from_secs(20);
    while running_workload("sleep 987652").is_none() {
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    nix_kill(tracer.tracer.id(), libc::SIGTERM);
    let (summary, output) = tracer.finish_within(Duration::from_secs(15));
    assert_eq!(output.status.code(), Some(128 + libc::SIGTERM), "{output:?}");
    assert!(summary.text.contains("events: "), "{}", summary.text);
    assert_eq!(running_workload("sleep 987652"), None, "the command was left running");
}

#[test]
fn ctrl_c_prints_the_summary() {
    let mut target = workload().args(["sleep", "10000"]).spawn().unwrap();
    let tracer = Attached::start(&["-p", &target.id().to_string()]);
    nix_kill(tracer.tracer.id(), libc::SIGINT);
    let (summary, output) = tracer.finish();
    target.kill().unwrap();
    target.wait().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(summary.text.contains("events: "), "{}", summary.text);
}

#[test]
fn ctrl_c_is_answered_while_the_ring_buffer_never_empties() {
    // Two processes in getppid loops on two CPUs write events at least as fast as the reader
    // takes them, so every drain stops at its batch limit with records still waiting. The
    // reader must still see the signal (it once spun in that state for minutes).
    let busy: Vec<_> = (0..2).map(|_| Killed(workload().args(["getppid", "100000000000"]).spawn().unwrap())).collect();
    let pids = format!("{},{}", busy[0].0.id(), busy[1].0.id());
    let tracer = Attached::start(&["--no-sched", "-e", "trace=getppid", "-p", &pids]);
    std::thread::sleep(Duration::from_secs(2));
    nix_kill(tracer.tracer.id(), libc::SIGINT);
    let (summary, output) = tracer.finish_within(Duration::from_secs(20));
    assert!(output.status.success(), "{output:?}");
    assert!(summary.calls("getppid") > 100_000, "{}", summary.text);
}

/// A background process killed when the test ends, even on a failed assertion.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nix_kill(pid: u32, signal: i32) {
    assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0);
}

/// fentry and kprobes give the tables the tracepoints give. dd's writes to /dev/null, which it
/// dup2s onto its stdout (a pipe until then), are file writes; its three status lines on stderr
/// are pipe writes. Where the kernel refuses a hook (this project's own machines refuse both),
/// one line says so and the next serves (fentry, kprobes, tracepoints); in the kernel matrix's
/// VMs, each serves itself.
#[test]
fn fentry_and_kprobes_give_the_same_tables_as_the_tracepoints() {
    let run = |attach: &str| {
        trace(&["--attach", attach, "-e", "trace=read,write", "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=1000"])
    };
    let (tracepoints, _) = run("tracepoint");
    for attach in ["fentry", "kprobe"] {
        let (hooked, output) = run(attach);
        assert!(output.status.success(), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        if let Some(line) = stderr.lines().find(|line| line.contains("syscalls hooked by")) {
            // The kernel's refusal, not a handler that tracer failed to find.
            assert!(line.contains("refused") || line.contains("cannot attach"), "{line}");
            assert!(!line.contains("no handler"), "{line}");
        }
        for summary in [&tracepoints, &hooked] {
            assert_eq!(op_row(&summary.text, "write", "file")[2..4], ["1000", "1000"], "{}", summary.text);
            assert_eq!(op_row(&summary.text, "write", "pipe")[2], "3", "{}", summary.text);
            assert_eq!(summary.calls("write"), 1003, "{}", summary.text);
            assert_eq!(summary.rows.len(), 2, "only the selected syscalls are shown:\n{}", summary.text);
        }
        assert_eq!(op_row(&hooked.text, "read", "file")[2..4], op_row(&tracepoints.text, "read", "file")[2..4]);
    }
}

#[test]
fn lost_events_are_counted_never_silent() {
    // A stopped reader and a 1 MiB ring buffer: most of 300,000 syscalls cannot fit. Every one
    // of them must be either received or counted lost.
    const CALLS: u64 = 300_000;
    let target = Waiting::spawn(&["getppid", &CALLS.to_string()]);
    let pid = target.pid().to_string();
    // --no-sched: scheduler events would share the ring buffer and the count.
    // --events: every call through the ring buffer, none counted in the kernel.
    let tracer = Attached::start(&["--events", "--no-sched", "--buffer-size", "1", "-p", &pid]);
    nix_kill(tracer.tracer.id(), libc::SIGSTOP);
    target.go();
    assert!(target.wait().success());
    nix_kill(tracer.tracer.id(), libc::SIGCONT);
    let (summary, output) = tracer.finish();
    assert!(output.status.success(), "{output:?}");
    assert!(summary.lost > 0, "a stopped reader must lose events:\n{}", summary.text);
    assert!(summary.text.contains("warning: ") && summary.text.contains("events were lost"), "{}", summary.text);
    // The wait for the go signal (in progress at attach), the getppid calls and the final
    // exit_group: nothing else happens after the trigger.
    assert_eq!(summary.received + summary.lost, 1 + CALLS + 1, "{}", summary.text);
}

/// `--own-usage` reports the tracer's own cost; with the kernel's BPF stats on, its programs'
/// runs include at least an entry and an exit for each of the workload's calls.
#[test]
fn own_usage_counts_the_programs_runs() {
    const STATS: &str = "/proc/sys/kernel/bpf_stats_enabled";
    let before = std::fs::read_to_string(STATS).unwrap();
    std::fs::write(STATS, "1").unwrap();
    let cmd = workload_bin();
    let (summary, output) = trace(&["--own-usage", "--no-sched", "--no-net", "-e", "trace=getppid", "--", cmd.to_str().unwrap(), "getppid", "5000"]);
    std::fs::write(STATS, before.trim()).unwrap();
    assert_eq!(summary.calls("getppid"), 5000, "{}", summary.text);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.lines().find_map(|l| l.strip_prefix("tracer: own use: CPU ")).unwrap_or_else(|| panic!("{stderr}"));
    let runs: u64 = line
        .split("kernel programs ")
        .nth(1)
        .and_then(|rest| rest.split(" in ").nth(1)?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no program runs in: {line}"));
    assert!(runs >= 10_000, "{runs} runs for 5,000 traced calls: {line}");
    assert!(line.contains("per call or event") && line.contains("; RSS "), "{line}");
}

/// What tracer and its libraries log goes to stderr, one `tracer: LEVEL: ...` line each, at the
/// level `TRACER_LOG` asks: nothing in a plain trace nor at `debug` but tracer's own, aya's
/// relocations too at `trace`.
#[test]
fn log_messages_are_lines_on_stderr_at_the_level_asked() {
    let stderr_at = |level: Option<&str>| {
        let mut cmd = tracer_tests::tracer();
        if let Some(level) = level {
            cmd.env("TRACER_LOG", level);
        }
        let output = cmd.args(["-e", "trace=getppid", "--"]).arg(workload_bin()).args(["getppid", "10"]).output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let logged = |stderr: &str, prefix: &str| stderr.lines().filter(|l| l.starts_with(prefix)).count();
    let plain = stderr_at(None);
    assert_eq!(logged(&plain, "tracer: warning: ") + logged(&plain, "tracer: debug: "), 0, "{plain}");
    let debug = stderr_at(Some("debug"));
    assert_eq!(logged(&debug, "tracer: debug: aya"), 0, "{debug}");
    let trace = stderr_at(Some("trace"));
    assert!(logged(&trace, "tracer: debug: aya_obj::relocation: ") > 100, "{}", trace.chars().take(2000).collect::<String>());
    // The summary as ever, after them.
    assert_eq!(tracer_tests::parse_summary(&trace).calls("getppid"), 10);
}

/// `kill -9` of tracer leaves nothing in the kernel: its programs and maps are held only by its
/// file descriptors (nothing pinned), so they go with the process, and the next trace starts
/// cleanly. Checked with Debian's bpftool, as an operator would.
#[test]
fn kill_9_leaves_no_program_or_map_behind() {
    let ids = |what: &str| -> Vec<(u64, String)> {
        let out = Command::new("bpftool").args(["-j", what, "list"]).output().expect("bpftool (cargo xtask setup installs it)");
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("bpftool {what} list: {e}"));
        list.as_array().unwrap().iter().map(|p| (p["id"].as_u64().unwrap(), p["name"].as_str().unwrap_or("").to_string())).collect()
    };
    let newest = |what: &str| ids(what).iter().map(|(id, _)| *id).max().unwrap_or(0);
    let (prog_floor, map_floor) = (newest("prog"), newest("map"));
    let waiting = Waiting::spawn(&["getppid", "10"]);
    let tracer = Attached::start(&["-p", &waiting.pid().to_string()]);
    let ours = |what: &str, floor: u64| -> Vec<(u64, String)> { ids(what).into_iter().filter(|(id, _)| *id > floor).collect() };
    let (progs, maps) = (ours("prog", prog_floor), ours("map", map_floor));
    assert!(progs.iter().any(|(_, name)| name == "sys_exit") && maps.iter().any(|(_, name)| name == "EVENTS"), "{progs:?} {maps:?}");
    nix_kill(tracer.tracer.id(), libc::SIGKILL);
    drop(tracer); // reaps it
    // The kernel frees them once the last reference goes (after an RCU grace period).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let left = loop {
        let (p, m) = (ids("prog"), ids("map"));
        let left: Vec<&(u64, String)> = progs.iter().chain(&maps).filter(|o| p.contains(o) || m.contains(o)).collect();
        if left.is_empty() || std::time::Instant::now() > deadline {
            break format!("{left:?}");
        }
        thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(left, "[]", "left behind after kill -9");
    // The next one starts cleanly and counts exactly.
    let summary = tracer_tests::trace_attached(&waiting, &["-e", "trace=getppid"]);
    assert_eq!(summary.calls("getppid"), 10, "{}", summary.text);
}

/// With every call an event, a pipe made after tracing began by a process that is gone before
/// the reader looks (a shell pipeline's) is still a pipe, and its reader's /dev/null a file:
/// the kernel tags each read and write with what its fd is at the call, which /proc can no
/// longer say.
#[test]
fn a_gone_process_pipe_is_a_pipe_with_every_call_an_event() {
    let (summary, output) = trace(&["--events", "-f", "-e", "trace=read,write", "--", "sh", "-c", "echo hi | cat > /dev/null"]);
    assert!(output.status.success(), "{output:?}");
    let text = &summary.text;
    // echo's "hi\n" into the pipe; cat's two reads of it (the line, then the end) and its
    // write of the line to /dev/null.
    for (op, kind, calls, bytes) in [("write", "pipe", "1", "3"), ("read", "pipe", "2", "3"), ("write", "file", "1", "3")] {
        let row = op_row(text, op, kind);
        assert_eq!((row[2], row[3]), (calls, bytes), "{op} {kind}:\n{text}");
    }
    assert!(!text.lines().any(|l| l.starts_with("read       other") || l.starts_with("write      other")), "{text}");
}
