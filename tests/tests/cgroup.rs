//! `--cgroup`: every process in a cgroup v2 directory, and none outside it, filtered in the
//! kernel by cgroup id; processes started in it after the trace began are traced too.
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use tracer_tests::{tracer, Attached, Waiting};

/// Where cgroup2 is mounted: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid system.
fn cgroup2_root() -> PathBuf {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = mountinfo.lines().find(|l| l.split_once(" - ").is_some_and(|(_, fs)| fs.starts_with("cgroup2 "))).expect("a cgroup2 mount");
    PathBuf::from(line.split_whitespace().nth(4).unwrap())
}

/// A cgroup made for one test, removed when it ends (its processes are gone by then).
struct TestCgroup(PathBuf);

impl TestCgroup {
    fn new(name: &str) -> Self {
        let path = cgroup2_root().join(format!("tracer-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir(&path);
        std::fs::create_dir(&path).expect("create a cgroup (as root)");
        Self(path)
    }

    fn enter(&self, pid: u32) {
        std::fs::write(self.0.join("cgroup.procs"), pid.to_string()).expect("move a process into the cgroup");
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn every_process_inside_and_none_outside_including_one_started_later() {
    let cgroup = TestCgroup::new("inside");
    let (inside, outside) = (Waiting::spawn(&["getppid", "1000"]), Waiting::spawn(&["getppid", "1000"]));
    cgroup.enter(inside.pid());
    let tracer = Attached::spawn(&["-e", "trace=getppid", "--cgroup", cgroup.0.to_str().unwrap()]);
    tracer.wait_for_stderr("attached to cgroup");
    inside.go();
    outside.go();
    assert!(inside.wait().success() && outside.wait().success());
    // Started after the trace began, then moved in before it does its part.
    let later = Waiting::spawn(&["getppid", "300"]);
    cgroup.enter(later.pid());
    later.go();
    assert!(later.wait().success());
    // Removing the (now empty) cgroup ends the trace, with its summary.
    std::fs::remove_dir(&cgroup.0).unwrap();
    let (summary, output) = tracer.finish_within(Duration::from_secs(20));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(summary.calls("getppid"), 1300, "inside and later, not outside:\n{}", summary.text);
    assert_eq!(summary.processes, 2, "{}", summary.text);
    assert!(String::from_utf8_lossy(&output.stderr).contains("the traced cgroup was removed"), "{output:?}");
}

#[test]
fn a_removed_cgroup_ends_the_trace() {
    let cgroup = TestCgroup::new("removed");
    let tracer = Attached::spawn(&["--cgroup", cgroup.0.to_str().unwrap()]);
    tracer.wait_for_stderr("attached to cgroup");
    let started = Instant::now();
    std::fs::remove_dir(&cgroup.0).unwrap();
    let (summary, output) = tracer.finish_within(Duration::from_secs(20));
    assert!(output.status.success(), "{output:?}");
    assert!(summary.text.contains("events: 0 received, 0 lost"), "{}", summary.text);
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_path_that_is_not_a_cgroup_is_one_line() {
    for (path, expected) in [("/tmp", "/tmp is not a cgroup v2 directory"), ("/nonexistent/cgroup", "no such cgroup: /nonexistent/cgroup")] {
        let output = tracer().args(["--cgroup", path]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected) && stderr.trim_end().lines().count() == 1, "{stderr}");
    }
}
