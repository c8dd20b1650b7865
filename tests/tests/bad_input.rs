//! Bad input: one clear line on stderr, a non-zero exit, never a panic.
use std::process::Command;

use tracer_tests::{tracer, tracer_bin, workload_bin};

fn fails_with(args: &[&str], expected: &str) {
    let output = tracer().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{args:?} succeeded");
    assert!(stderr.contains(expected), "{args:?}: expected '{expected}' in stderr:\n{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line, got:\n{stderr}");
}

#[test]
fn pid_that_does_not_exist() {
    fails_with(&["-p", "999999999"], "no such process: 999999999");
}

#[test]
fn a_pid_is_a_positive_number_of_a_process_with_syscalls() {
    // Not clap's tip to write `-- -5`, which would run `-5` as a command.
    fails_with(&["-p", "-5"], "'-5' is not a PID: a PID is a positive number");
    fails_with(&["-p", "0"], "'0' is not a PID");
    // kthreadd: attached, it would make no syscall, and the trace would end saying nothing.
    fails_with(&["-p", "2"], "process 2 is a kernel thread");
}

#[test]
fn unknown_syscall_and_class() {
    let cmd = workload_bin();
    let cmd = cmd.to_str().unwrap();
    fails_with(&["-e", "trace=raed", "--", cmd, "getppid", "1"], "unknown syscall 'raed'");
    fails_with(&["-e", "trace=%netwrk", "--", cmd, "getppid", "1"], "unknown syscall class '%netwrk'");
    fails_with(&["-e", "signal=SIGINT", "--", cmd, "getppid", "1"], "unsupported qualifier 'signal'");
}

#[test]
fn command_not_found() {
    fails_with(&["--", "/nonexistent/command"], "command not found: /nonexistent/command");
    fails_with(&["--", "no-such-command-anywhere"], "command not found: no-such-command-anywhere");
}

#[test]
fn a_command_that_cannot_be_executed_says_why() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("tracer-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let noexec = dir.join("noexec644");
    std::fs::write(&noexec, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&noexec, std::fs::Permissions::from_mode(0o644)).unwrap();
    let garbage = dir.join("garbage");
    std::fs::write(&garbage, [0x7f, b'E', b'L', b'F', 0, 1, 2, 3]).unwrap();
    std::fs::set_permissions(&garbage, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (noexec, garbage) = (noexec.to_str().unwrap(), garbage.to_str().unwrap());
    fails_with(&["--", noexec], &format!("cannot execute {noexec}: Permission denied"));
    // Found, forked, released: the exec itself fails. No summary, exit 1.
    let output = tracer().args(["--", garbage]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // Its last line (older kernels' one-line notes of what serves instead come before it).
    assert_eq!(stderr.trim_end().lines().last(), Some(format!("tracer: cannot execute {garbage}: Exec format error").as_str()), "{stderr}");
    assert!(!stderr.contains("% time"), "no summary: {stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn nothing_to_trace() {
    fails_with(&[], "nothing to trace");
}

#[test]
fn without_privileges() {
    // Drop root and every capability, as an ordinary user would run it.
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"])
        .arg(tracer_bin())
        .args(["--", "/bin/true"])
        .output()
        .expect("setpriv (util-linux)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("needs root (or CAP_BPF and CAP_PERFMON)"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn bad_slow_call_options() {
    let cmd = workload_bin();
    let cmd = cmd.to_str().unwrap();
    fails_with(&["--slow", "abc", "--", cmd, "getppid", "1"], "invalid value 'abc' for '--slow <DURATION>'");
    fails_with(&["--slow", "10ms", "--stacks", "ls"], "'ls' is not a stack");
    fails_with(&["--stacks", "--", cmd, "getppid", "1"], "give --slow DURATION too");
    fails_with(&["--folded", "/tmp/x.folded", "--", cmd, "getppid", "1"], "give --slow DURATION too");
    let exit = tracer().args(["--slow", "abc", "--", cmd]).output().unwrap().status.code();
    assert_eq!(exit, Some(2), "a malformed command line exits 2");
}

#[test]
fn unknown_unit_and_container() {
    fails_with(&["--unit", "no-such-unit-here"], "no systemd unit no-such-unit-here");
    fails_with(&["--container", "abcdef0123"], "no container abcdef0123");
    fails_with(&["--container", "xyz"], "not a container id");
    fails_with(&["serve", "--otlp", "https://collector:4318", "--all"], "--otlp");
}
