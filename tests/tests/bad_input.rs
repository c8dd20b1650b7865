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
