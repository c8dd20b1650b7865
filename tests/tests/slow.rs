//! Slow calls, end to end: a workload whose slow calls are known (how many, how slow, from
//! which function), the lines tracer prints for them, their stacks, and the flame graph files.
use std::{path::PathBuf, process::Command};

use tracer_tests::{python_command, trace, workload_bin, Attached, Waiting};

/// The slow-call lines of `stderr` (`HH:MM:SS.uuuuuu [tid comm] call = ret <secs> ...`), each
/// with the stack lines (` > frame`) that follow it.
fn slow_lines(stderr: &str) -> Vec<(String, Vec<String>)> {
    let mut lines: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_summary = false;
    for line in stderr.lines() {
        if line.starts_with("% time") {
            in_summary = true; // the summary repeats the slowest calls: count the live lines only
        }
        if in_summary {
            continue;
        }
        if let Some(frame) = line.strip_prefix(" > ") {
            if let Some(last) = lines.last_mut() {
                last.1.push(frame.to_string());
            }
        } else if line.len() > 16 && line.as_bytes()[2] == b':' && line.as_bytes()[15] == b' ' && line.contains("] ") {
            lines.push((line.to_string(), Vec::new()));
        }
    }
    lines
}

/// [`slow_lines`] of a Go program, without the Go runtime's own nanosleeps: sysmon's `usleep`
/// (20 us to 10 ms, `rem` NULL), which a VM's run queue can make slow. The test programs'
/// `syscall.Nanosleep` passes `rem`.
fn go_program_lines(stderr: &str) -> Vec<(String, Vec<String>)> {
    slow_lines(stderr).into_iter().filter(|(line, _)| !(line.contains("] nanosleep(") && line.contains(", NULL) = "))).collect()
}

/// The `<0.050123>` duration of a line, in seconds.
fn seconds(line: &str) -> f64 {
    let start = line.rfind('<').expect("a duration");
    let end = start + line[start..].find('>').expect("a duration");
    line[start + 1..end].parse().unwrap_or_else(|_| panic!("not a duration in {line}"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tracer-slow-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// 3 reads that block 50 ms on a pipe, among 2,000 fast reads of /dev/zero.
const SLOW_READS: [&str; 4] = ["slow-reads", "2000", "3", "50"];

/// 100 reads of a Unix socket that find their byte waiting, then one that waits 30 ms for it.
const UNIX_SOCKET_PY: &str = r#"
import socket, threading, time
a, b = socket.socketpair()
for _ in range(100):
    b.send(b"x"); a.recv(1)
def late():
    time.sleep(0.03); b.send(b"y")
writer = threading.Thread(target=late); writer.start()
a.recv(1)
writer.join()
"#;

/// A slow call on a Unix socket whose fast calls were counted in the kernel, which needed no
/// record of the socket for them: its line and its I/O row still say it is a socket.
#[test]
fn a_slow_call_on_a_socket_counted_until_then_is_a_socket_call() {
    let command = python_command("unix-socket.py", UNIX_SOCKET_PY, &[]);
    let mut args = vec!["--slow", "10ms", "-e", "trace=recvfrom", "--"];
    args.extend(command.iter().map(String::as_str));
    let (summary, output) = trace(&args);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines = slow_lines(&stderr);
    assert!(!lines.is_empty() && lines.iter().all(|(line, _)| line.contains("] recvfrom(3<socket>, 1, ")), "{stderr}");
    let recvfrom_rows: Vec<&str> = summary.text.lines().filter(|l| l.starts_with("recvfrom ")).collect();
    assert!(recvfrom_rows.len() == 1 && recvfrom_rows[0].split_whitespace().take(3).eq(["recvfrom", "socket", "101"]), "{}", summary.text);
}

#[test]
fn exactly_the_slow_reads_are_printed_with_fd_size_and_duration() {
    let cmd = workload_bin();
    let mut args = vec!["--slow", "20ms", "-e", "trace=read", "--", cmd.to_str().unwrap()];
    args.extend(SLOW_READS);
    let (summary, output) = trace(&args);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines = slow_lines(&stderr);
    assert_eq!(lines.len(), 3, "three slow reads, no fast one:\n{stderr}");
    for (line, frames) in &lines {
        assert!(line.contains("] read(") && line.contains("<pipe>, 1) = 1 <"), "{line}");
        let secs = seconds(line);
        assert!((0.045..=0.5).contains(&secs), "a 50 ms wait took {secs}s: {line}");
        assert!(frames.is_empty(), "no stacks unless asked: {frames:?}");
        // Blocked on the pipe for the writer's 50 ms, as the scheduler programs measured it: in
        // time, not in share, since an emulated or loaded machine stretches the rest of the call.
        let blocked_share: f64 = line.split(" blocked ").nth(1).and_then(|rest| rest.split('%').next()?.parse().ok()).unwrap_or_else(|| panic!("no blocked share: {line}"));
        assert!(secs * blocked_share / 100.0 >= 0.045, "blocked {blocked_share}% of {secs}s: {line}");
    }
    // Every read is still counted (the dynamic loader's too), the 3 slow ones on the pipe.
    assert!(summary.calls("read") >= 2003, "{}", summary.text);
    let pipe_reads = summary.text.lines().find(|l| l.starts_with("read ") && l.split_whitespace().nth(1) == Some("pipe"));
    assert_eq!(pipe_reads.and_then(|l| l.split_whitespace().nth(2)), Some("3"), "{}", summary.text);
    assert!(summary.text.contains("slow calls (at least 20.0ms): 3, "), "{}", summary.text);
    // The footer, with lost events, is what people look for last: after the slow-call sections.
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("events: ") && last.contains(" 0 lost"), "last line: {last}\n{stderr}");
}

#[test]
fn stacks_name_the_function_group_the_calls_and_draw_them() {
    let dir = temp_dir("stacks");
    let (folded, svg, export) = (dir.join("slow.folded"), dir.join("slow.svg"), dir.join("run.json"));
    let cmd = workload_bin();
    let mut args = vec!["--slow", "20ms", "--stacks", "-e", "trace=read", "--folded", folded.to_str().unwrap()];
    args.extend(["--export", export.to_str().unwrap()]);
    args.extend(["--flamegraph", svg.to_str().unwrap(), "--", cmd.to_str().unwrap()]);
    args.extend(SLOW_READS);
    let (summary, output) = trace(&args);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines = slow_lines(&stderr);
    assert_eq!(lines.len(), 3, "{stderr}");
    for (line, frames) in &lines {
        assert!(frames.iter().any(|f| f.contains("slow_reader")), "no slow_reader in the stack of {line}: {frames:?}");
    }
    // One call site, three calls.
    let site = summary
        .text
        .lines()
        .skip_while(|l| !l.starts_with("slow calls by where they came from"))
        .find(|l| l.contains("slow_reader"))
        .unwrap_or_else(|| panic!("no call site with slow_reader:\n{}", summary.text));
    assert_eq!(site.split_whitespace().next(), Some("3"), "{site}");

    // Collapsed stacks: `frames weight`, the weights adding up to the three calls' time.
    let text = std::fs::read_to_string(&folded).unwrap();
    let mut total_ns = 0u64;
    for line in text.lines() {
        let (frames, weight) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not folded: {line}"));
        assert!(!frames.is_empty() && frames.split(';').all(|f| !f.is_empty()), "{line}");
        total_ns += weight.parse::<u64>().unwrap_or_else(|_| panic!("weight of {line}"));
    }
    assert!(text.contains("slow_reader"), "{text}");
    let printed_ns: f64 = lines.iter().map(|(line, _)| seconds(line) * 1e9).sum();
    assert!((total_ns as f64 - printed_ns).abs() < 3_000.0, "folded {total_ns} ns, lines {printed_ns} ns");

    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<?xml") && picture.contains("<svg") && picture.trim_end().ends_with("</svg>"), "not an SVG");
    assert!(picture.contains("slow_reader"), "the flame graph names the function");
    assert_eq!(picture.matches("<g").count(), picture.matches("</g>").count(), "unbalanced SVG groups");

    // The export carries the slow calls and their call sites.
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let slow = &json["slow"];
    assert_eq!(slow["count"], 3, "{slow}");
    assert_eq!(slow["slowest"].as_array().unwrap().len(), 3, "{slow}");
    assert!(slow["slowest"][0]["call"].as_str().unwrap().starts_with("read(") , "{slow}");
    let sites = slow["sites"].as_array().unwrap();
    let site = sites.iter().find(|s| s["user_stack"].to_string().contains("slow_reader")).expect("a slow_reader site");
    assert_eq!(site["count"], 3, "{slow}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_path_shows_the_path_and_enoent() {
    let cmd = workload_bin();
    let (_, output) = trace(&["--slow", "0", "-e", "trace=openat,execve", "--", cmd.to_str().unwrap(), "rw", "0", "0", "0", "2"]);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let missing: Vec<_> = slow_lines(&stderr)
        .into_iter()
        .filter(|(line, _)| line.contains(r#"openat(AT_FDCWD, "/nonexistent/tracer-test", O_RDONLY) = -1 ENOENT (No such file or directory) <"#))
        .collect();
    assert_eq!(missing.len(), 2, "{stderr}");
    // --slow 0 is every call: the successful opens are there too, with their fds.
    assert!(stderr.contains(r#"openat(AT_FDCWD, "/dev/zero", O_RDONLY) = 3"#), "{stderr}");
    // A successful exec replaced the memory its path was in: it was taken at entry.
    assert!(stderr.contains(&format!(r#"execve("{}", 0x"#, cmd.display())), "{stderr}");
}

#[test]
fn a_connect_shows_the_address_it_connected_to() {
    let cmd = workload_bin();
    let (_, output) = trace(&["--slow", "0", "-e", "trace=connect", "--", cmd.to_str().unwrap(), "tcp-echo", "1", "1", "10"]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let port = stdout.lines().find_map(|l| l.strip_prefix("server-port ")).expect("server port");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let connects: Vec<_> = slow_lines(&stderr).into_iter().filter(|(line, _)| line.contains("] connect(")).collect();
    assert_eq!(connects.len(), 1, "{stderr}");
    let wanted = format!(r#"{{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr("127.0.0.1")}}, 16) = 0"#);
    assert!(connects[0].0.contains(&wanted), "{} lacks {wanted}", connects[0].0);
}

#[test]
fn a_go_program_shows_its_go_function_names() {
    let (binary, dir) = tracer_tests::go_program("slowsleep");
    let (summary, output) =
        trace(&["-f", "--slow", "20ms", "--stacks", "-e", "trace=nanosleep", "--", binary.to_str().unwrap(), "3", "50"]);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let sleeps: Vec<_> = go_program_lines(&stderr).into_iter().filter(|(line, _)| line.contains("] nanosleep(")).collect();
    assert_eq!(sleeps.len(), 3, "{stderr}");
    for (line, frames) in &sleeps {
        assert!(frames.iter().any(|f| f.starts_with("main.handler")), "no main.handler in the stack of {line}: {frames:?}");
    }
    assert!(summary.text.contains("main.handler"), "{}", summary.text);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The frames of a slow nanosleep name Go's functions with their lines, `main.handler` first
/// among the program's own.
fn assert_go_frames(stderr: &str, calls: usize) {
    let sleeps: Vec<_> = go_program_lines(stderr).into_iter().filter(|(line, _)| line.contains("] nanosleep(")).collect();
    assert_eq!(sleeps.len(), calls, "{stderr}");
    sleeps.iter().for_each(assert_go_named);
}

/// A slow line's frames name Go's `main.handler` and `main.main` with their lines.
fn assert_go_named((line, frames): &(String, Vec<String>)) {
    assert!(frames.iter().any(|f| f.starts_with("main.handler (main.go:")), "no main.handler with its line in the stack of {line}: {frames:?}");
    assert!(frames.iter().any(|f| f.starts_with("main.main (main.go:")), "{line}: {frames:?}");
}

/// Built as production Go services are (`-ldflags "-s -w"`: no symbol table, no DWARF): the
/// names and lines come from the binary's `.gopclntab`. Spawned (it exits right after its last
/// slow call) and attached.
#[test]
fn a_stripped_go_program_is_named_from_its_own_table() {
    let (binary, dir) = tracer_tests::go_program_built("slowsleep", &["-ldflags=-s -w"]);
    let symbols = Command::new("nm").arg(&binary).output().unwrap();
    assert!(!symbols.status.success() || symbols.stdout.is_empty(), "the binary still has symbols");

    let (summary, output) = trace(&["--slow", "20ms", "--stacks", "-e", "trace=nanosleep", "--", binary.to_str().unwrap(), "1", "30"]);
    assert!(output.status.success(), "{output:?}");
    assert_go_frames(&String::from_utf8_lossy(&output.stderr), 1);
    assert!(!summary.text.contains("execve"), "exec is delivered for the stacks, not shown:\n{}", summary.text);

    // Long enough for a VM's slow attach; the trace lasts a second of it.
    let mut program = Command::new(&binary).args(["1000", "30"]).spawn().unwrap();
    let tracer = Attached::start(&["--slow", "20ms", "--stacks", "-e", "trace=nanosleep", "-d", "1", "-p", &program.id().to_string()]);
    let (_, output) = tracer.finish();
    let _ = program.kill();
    let _ = program.wait();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let calls = go_program_lines(&stderr).len();
    assert!(calls >= 10, "{stderr}");
    assert_go_frames(&stderr, calls);
    std::fs::remove_dir_all(dir).unwrap();

    // Position-independent (as Debian builds Go programs): the table is `.data.rel.ro.gopclntab`.
    let (binary, dir) = tracer_tests::go_program_built("slowsleep", &["-buildmode=pie", "-ldflags=-s -w"]);
    // Living long enough for its map to be read, under a VM's emulation too: a hint can name
    // only a program linked at fixed addresses.
    let (_, output) = trace(&["--slow", "20ms", "--stacks", "-e", "trace=nanosleep", "--", binary.to_str().unwrap(), "2", "300"]);
    assert!(output.status.success(), "{output:?}");
    assert_go_frames(&String::from_utf8_lossy(&output.stderr), 2);
    std::fs::remove_dir_all(dir).unwrap();
}

/// `--pprof`: a profile `go tool pprof` reads, whose calls and time are the slow calls'.
#[test]
fn pprof_profiles_open_in_go_tool_pprof() {
    let (binary, dir) = tracer_tests::go_program_built("slowsleep", &["-ldflags=-s -w"]);
    let profile = dir.join("slow.pb.gz");
    let (_, output) =
        trace(&["--slow", "20ms", "--pprof", profile.to_str().unwrap(), "-e", "trace=nanosleep", "--", binary.to_str().unwrap(), "4", "30"]);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines = go_program_lines(&stderr);
    assert_eq!(lines.len(), 4, "{stderr}");
    // Each line ends `<0.030111> ...`: seconds, to the microsecond.
    let slow_ns: f64 = lines.iter().map(|(line, _)| line.split('<').nth(1).and_then(|t| t.split('>').next()).unwrap().parse::<f64>().unwrap() * 1e9).sum();
    let top = |index: &str| {
        let out = Command::new("go")
            .args(["tool", "pprof", "-top", &format!("-sample_index={index}"), profile.to_str().unwrap()])
            .env("GOCACHE", std::env::temp_dir().join("tracer-go-cache"))
            .output()
            .expect("go tool pprof");
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // `flat flat% sum% cum cum% name`: main.handler is never the leaf, so its cum is read.
        let cum = text.lines().find(|l| l.trim_end().ends_with(" main.handler")).unwrap_or_else(|| panic!("{text}"));
        cum.split_whitespace().nth(3).unwrap().to_string()
    };
    assert_eq!(top("calls"), "4");
    let time = top("time");
    let ms: f64 = time.strip_suffix("ms").unwrap_or_else(|| panic!("{time}")).parse().unwrap();
    assert!((ms * 1e6 - slow_ns).abs() <= slow_ns / 100.0, "pprof {ms}ms, slow lines {slow_ns}ns");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Each slow call of a Go program names its goroutine, the number `runtime.Stack` gives it: six
/// goroutines print theirs, then each makes a slow nanosleep (stripped, as built for
/// production: the layout comes from the binary's Go version).
#[test]
fn a_go_programs_slow_calls_name_their_goroutines() {
    let (binary, dir) = tracer_tests::go_program_built("goroutines", &["-ldflags=-s -w"]);
    let (_, output) = trace(&["--slow", "30ms", "-e", "trace=nanosleep", "--", binary.to_str().unwrap(), "6"]);
    assert!(output.status.success(), "{output:?}");
    let printed: std::collections::BTreeSet<String> =
        String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| l.strip_prefix("goroutine ").map(String::from)).collect();
    assert_eq!(printed.len(), 6, "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let sleeps: Vec<_> = go_program_lines(&stderr).into_iter().map(|(line, _)| line).filter(|line| line.contains("] nanosleep(")).collect();
    let named: std::collections::BTreeSet<String> =
        sleeps.iter().map(|line| line.rsplit_once(" goroutine ").unwrap_or_else(|| panic!("no goroutine: {line}")).1.to_string()).collect();
    assert_eq!(named, printed, "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A spawned program that exits right after its only slow call: its map is read at its exec,
/// while it lives, even when `-e` leaves exec out.
#[test]
fn a_spawned_program_that_exits_after_its_slow_call_is_named() {
    let (binary, dir) = tracer_tests::go_program("slowsleep");
    let (_, output) = trace(&["--slow", "20ms", "--stacks", "-e", "trace=nanosleep", "--", binary.to_str().unwrap(), "1", "30"]);
    assert!(output.status.success(), "{output:?}");
    assert_go_frames(&String::from_utf8_lossy(&output.stderr), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A stripped binary that is not Go (the workload, without its symbols): module+offset
/// frames, and no lookup counted as failed.
#[test]
fn a_stripped_program_that_is_not_go_shows_module_and_offset() {
    let dir = std::env::temp_dir().join(format!("tracer-stripped-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stripped = dir.join("stripped-workload");
    std::fs::copy(workload_bin(), &stripped).unwrap();
    assert!(Command::new("strip").arg(&stripped).status().unwrap().success());
    // Three slow reads: the process lives on after the first, whose stack is named meanwhile.
    let (_, output) = trace(&["--slow", "20ms", "--stacks", "-e", "trace=read", "--", stripped.to_str().unwrap(), "slow-reads", "0", "3", "50"]);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines = slow_lines(&stderr);
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(lines[0].1.iter().any(|f| f.starts_with("stripped-workload+0x")), "{stderr}");
    assert!(!lines[0].0.contains("goroutine"), "not a Go program: {}", lines[0].0);
    assert!(!stderr.contains("symbols unreadable"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A process in a container names its files from its own root: the paths in its maps are its
/// mount namespace's, read here through /proc/PID/root, not from the same path on the host,
/// where there is no such file (or another one). The container: a mount namespace whose root
/// is a directory holding a static Go program (`unshare`, `pivot_root`).
#[test]
fn a_program_in_a_container_is_named_from_its_own_root() {
    let (binary, dir) = tracer_tests::go_program("slowsleep");
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("srv")).unwrap();
    std::fs::create_dir_all(root.join("old")).unwrap();
    let inside = "/srv/tracer-test-only-in-the-container";
    assert!(!std::path::Path::new(inside).exists());
    std::fs::copy(&binary, root.join(&inside[1..])).unwrap();
    let container = format!(
        "mount --make-rprivate / && mount --bind {root} {root} && cd {root} && pivot_root . old && exec {inside} 10 50",
        root = root.display()
    );
    let (_, output) = trace(&[
        "-f", "--slow", "20ms", "--stacks", "-e", "trace=nanosleep", "--", "unshare", "--mount", "sh", "-c", &container,
    ]);
    assert!(output.status.success(), "{output:?}");
    assert_go_frames(&String::from_utf8_lossy(&output.stderr), 10);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Malformed binaries among the traced processes cost their names, not the trace: a Go binary
/// whose table does not hold together, and a truncated ELF file a process runs code from. A
/// sound program traced alongside is named, and the summary counts the two files.
#[test]
fn malformed_binaries_cost_their_names_not_the_trace() {
    let (stripped, dir) = tracer_tests::go_program_built("slowsleep", &["-ldflags=-s -w"]);
    let broken_go = dir.join("broken-go");
    std::fs::write(&broken_go, tracer_tests::with_broken_go_table(&std::fs::read(&stripped).unwrap())).unwrap();
    std::fs::set_permissions(&broken_go, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let truncated = dir.join("truncated.so");
    std::fs::write(&truncated, tracer_tests::code_file(&std::fs::read(workload_bin()).unwrap())).unwrap();
    let (sound, sound_dir) = tracer_tests::go_program("slowsleep");
    // Half a second each: a process's map is read while it lives, under a VM's emulation too.
    let script = format!(
        "{} 10 50 && {} code-from {} 10 50 && {} 10 50",
        broken_go.display(),
        workload_bin().display(),
        truncated.display(),
        sound.display()
    );
    let (summary, output) = trace(&["-f", "--slow", "20ms", "--stacks", "-e", "trace=nanosleep", "--", "sh", "-c", &script]);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The workload's code passes no `rem` either: its lines are kept, the Go runtime's are not.
    let (lines, go_lines) = (slow_lines(&stderr), go_program_lines(&stderr));
    let of = |comm: &'static str| {
        let lines = if comm == "workload" { &lines } else { &go_lines };
        lines.iter().filter(move |(line, _)| line.contains(&format!(" {comm}]")))
    };
    for comm in ["broken-go", "workload", "slowsleep"] {
        assert_eq!(of(comm).count(), 10, "{comm}: {stderr}");
    }
    for (line, frames) in of("broken-go") {
        assert!(frames.iter().all(|f| !f.starts_with("main.")), "a broken table names nothing: {line} {frames:?}");
    }
    assert!(of("broken-go").any(|(_, frames)| frames.iter().any(|f| f.starts_with("broken-go+0x"))), "{stderr}");
    assert!(of("workload").any(|(_, frames)| frames.first().is_some_and(|f| f.starts_with("truncated.so+0x1"))), "{stderr}");
    assert!(of("workload").any(|(_, frames)| frames.iter().any(|f| f.starts_with("workload::main"))), "the workload's own frames are named: {stderr}");
    of("slowsleep").for_each(assert_go_named);
    assert!(summary.text.contains("warning: 2 binaries' symbols unreadable"), "{}", summary.text);
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(sound_dir).unwrap();
}

/// With `-e`, only the selected calls have lines: the calls that make and free fds, delivered
/// to follow them, do not.
#[test]
fn every_call_of_the_selection_and_no_other() {
    let cmd = workload_bin();
    let (summary, output) = trace(&["--slow", "0", "-e", "trace=write", "--", cmd.to_str().unwrap(), "rw", "0", "25", "3", "2"]);
    assert!(output.status.success(), "{output:?}");
    let lines = slow_lines(&String::from_utf8_lossy(&output.stderr));
    assert_eq!(lines.len(), 25, "{lines:?}");
    assert!(lines.iter().all(|(line, _)| line.contains("] write(")), "{lines:?}");
    assert_eq!(summary.calls("write"), 25, "{}", summary.text);
}

#[test]
fn nothing_slow_is_said_so() {
    let cmd = workload_bin();
    let (summary, output) = trace(&["--slow", "10s", "--", cmd.to_str().unwrap(), "getppid", "1000"]);
    assert!(output.status.success(), "{output:?}");
    assert!(slow_lines(&String::from_utf8_lossy(&output.stderr)).is_empty());
    assert!(summary.text.contains("slow calls (at least 10.0s): 0, 0ns in all"), "{}", summary.text);
    assert_eq!(summary.calls("getppid"), 1000);
}

#[test]
fn slow_calls_of_an_attached_process() {
    // -p: the workload waits for its go signal, sent once tracer is attached.
    let target = Waiting::spawn(&SLOW_READS);
    let pid = target.pid().to_string();
    let tracer = Attached::start(&["--slow", "20ms", "--stacks", "-e", "trace=read", "-p", &pid]);
    target.go();
    assert!(target.wait().success());
    let (summary, output) = tracer.finish();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines = slow_lines(&stderr);
    assert_eq!(lines.len(), 3, "{stderr}");
    for (line, frames) in &lines {
        assert!(line.contains("<pipe>, 1) = 1 <"), "{line}");
        assert!(frames.iter().any(|f| f.contains("slow_reader")), "{line}: {frames:?}");
    }
    assert!(summary.text.contains("slow calls (at least 20.0ms): 3, "), "{}", summary.text);
}
