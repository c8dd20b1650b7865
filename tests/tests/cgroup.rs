//! `--cgroup`: every process in a cgroup v2 directory, and none outside it, filtered in the
//! kernel by cgroup id; processes started in it after the trace began are traced too.
use std::time::{Duration, Instant};

use tracer_tests::{tracer, Attached, TestCgroup, Waiting};

#[test]
fn every_process_inside_and_none_outside_including_one_started_later() {
    let cgroup = TestCgroup::new("inside");
    let (inside, outside) = (Waiting::spawn(&["getppid", "1000"]), Waiting::spawn(&["getppid", "1000"]));
    cgroup.enter(inside.pid());
    let tracer = Attached::spawn(&["-e", "trace=getppid", "--cgroup", cgroup.path.to_str().unwrap()]);
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
    std::fs::remove_dir(&cgroup.path).unwrap();
    let (summary, output) = tracer.finish_within(Duration::from_secs(20));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(summary.calls("getppid"), 1300, "inside and later, not outside:\n{}", summary.text);
    assert_eq!(summary.processes, 2, "{}", summary.text);
    assert!(String::from_utf8_lossy(&output.stderr).contains("the traced cgroup was removed"), "{output:?}");
}

#[test]
fn a_removed_cgroup_ends_the_trace() {
    let cgroup = TestCgroup::new("removed");
    let tracer = Attached::spawn(&["--cgroup", cgroup.path.to_str().unwrap()]);
    tracer.wait_for_stderr("attached to cgroup");
    let started = Instant::now();
    std::fs::remove_dir(&cgroup.path).unwrap();
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

#[test]
fn by_cgroup_splits_the_counts_and_a_removed_cgroup_says_what_it_saw() {
    let (first, second) = (TestCgroup::new("by-a"), TestCgroup::new("by-b"));
    let tracer = Attached::spawn(&[
        "-e",
        "trace=getppid",
        "--by",
        "cgroup",
        "--cgroup",
        first.path.to_str().unwrap(),
        "--cgroup",
        second.path.to_str().unwrap(),
    ]);
    tracer.wait_for_stderr(&format!("attached to cgroup {}", second.path.display()));
    // Short-lived: gone long before the reader could ask /proc where they were.
    for (cgroup, calls) in [(&first, "111"), (&second, "222"), (&second, "3")] {
        let workload = Waiting::spawn(&["getppid", calls]);
        cgroup.enter(workload.pid());
        workload.go();
        assert!(workload.wait().success());
    }
    std::fs::remove_dir(&first.path).unwrap();
    let line = tracer.wait_for_stderr("was removed");
    assert!(line.contains(&format!("cgroup {} was removed: 111 syscalls", first.path.display())) && line.ends_with(", 1 process"), "{line}");
    std::fs::remove_dir(&second.path).unwrap();
    let (summary, output) = tracer.finish_within(Duration::from_secs(20));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(summary.calls("getppid"), 336, "{}", summary.text);
    let section = |cgroup: &TestCgroup, processes: &str| {
        let text = &summary.text;
        let start = text.find(&format!("cgroup {} ({processes}):", cgroup.name())).unwrap_or_else(|| panic!("no section for {}:\n{text}", cgroup.name()));
        text[start..].lines().find(|l| l.ends_with(" getppid")).unwrap().split_whitespace().nth(2).unwrap().to_string()
    };
    assert_eq!(section(&first, "1 process"), "111");
    assert_eq!(section(&second, "2 processes"), "225");
}

/// `--unit` and `--container` find the cgroups systemd and container runtimes make, by name
/// (made here as a runtime would, under the cgroup2 hierarchy), and trace what runs in them.
#[test]
fn a_unit_and_a_container_are_found_by_name_and_traced() {
    let root = tracer_tests::cgroup2_root();
    let unit = format!("tracer-test-unit-{}", std::process::id());
    let id = format!("{:064x}", 0xfeed_0000_0000u64 + u64::from(std::process::id()));
    let slice = root.join("system.slice");
    let made_slice = !slice.exists();
    if made_slice {
        std::fs::create_dir(&slice).unwrap();
    }
    let unit_dir = slice.join(format!("{unit}.service"));
    let container_dir = slice.join(format!("docker-{id}.scope"));
    for dir in [&unit_dir, &container_dir] {
        let _ = std::fs::remove_dir(dir);
        std::fs::create_dir(dir).unwrap();
    }
    let run = |flag: &str, value: &str, dir: &std::path::Path, calls: &str| {
        let workload = Waiting::spawn(&["getppid", calls]);
        std::fs::write(dir.join("cgroup.procs"), workload.pid().to_string()).unwrap();
        let tracer = Attached::spawn(&["-e", "trace=getppid", flag, value]);
        tracer.wait_for_stderr(&format!("attached to cgroup {}", dir.display()));
        workload.go();
        assert!(workload.wait().success());
        std::fs::remove_dir(dir).unwrap();
        let (summary, output) = tracer.finish_within(Duration::from_secs(20));
        assert!(output.status.success(), "{output:?}");
        summary.calls("getppid")
    };
    assert_eq!(run("--unit", &unit, &unit_dir, "123"), 123);
    // As `docker ps` shows it: the first 12 hex digits.
    assert_eq!(run("--container", &id[..12], &container_dir, "45"), 45);
    if made_slice {
        let _ = std::fs::remove_dir(&slice);
    }
}

/// A Go program already running in a traced cgroup (its exec never seen): its program is looked
/// at on its first slow call, and its later slow calls name their goroutines, each one the
/// program printed for itself (`runtime.Stack`).
#[test]
fn a_go_program_running_before_the_trace_names_its_goroutines() {
    use std::{io::Read, process::{Command, Stdio}};
    let (binary, dir) = tracer_tests::go_program_built("goroutines", &["-ldflags=-s -w"]);
    let cgroup = TestCgroup::new("go");
    // Rounds of 3 goroutines, each a 40 ms nanosleep, until killed.
    let mut program = Command::new(&binary).args(["3", "1000000"]).stdout(Stdio::piped()).spawn().unwrap();
    cgroup.enter(program.id());
    let tracer = Attached::spawn(&["--slow", "30ms", "-e", "trace=nanosleep", "--cgroup", cgroup.path.to_str().unwrap()]);
    tracer.wait_for_stderr("attached to cgroup");
    let named: Vec<String> = (0..6).map(|_| tracer.wait_for_stderr(" goroutine ").rsplit_once(" goroutine ").unwrap().1.to_string()).collect();
    program.kill().unwrap();
    program.wait().unwrap();
    let mut printed = String::new();
    program.stdout.take().unwrap().read_to_string(&mut printed).unwrap();
    let printed: Vec<&str> = printed.lines().filter_map(|l| l.strip_prefix("goroutine ")).collect();
    for id in &named {
        assert!(printed.contains(&id.as_str()), "goroutine {id} was never printed by the program: {printed:?}");
    }
    std::fs::remove_dir(&cgroup.path).unwrap();
    let (_, output) = tracer.finish_within(Duration::from_secs(20));
    assert!(output.status.success(), "{output:?}");
    std::fs::remove_dir_all(dir).unwrap();
}
