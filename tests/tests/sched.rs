//! Where each syscall's time went (on-CPU, run queue, blocked), against workloads whose answer
//! is known: a read blocked on a pipe, reads competing for one CPU, reads alone on a CPU.
use tracer_tests::{trace, workload_bin, Summary};

fn read_split(scenario: &[&str], extra: &[&str]) -> (Summary, (f64, f64, f64)) {
    let cmd = workload_bin();
    let mut args = vec!["-e", "trace=read"];
    args.extend(extra);
    args.push("--");
    args.push(cmd.to_str().unwrap());
    args.extend(scenario);
    let (summary, output) = trace(&args);
    assert!(output.status.success(), "{output:?}");
    let split = *summary.split.get("read").unwrap_or_else(|| panic!("no split for read:\n{}", summary.text));
    (summary, split)
}

#[test]
fn a_read_blocked_on_a_pipe_is_blocked_time() {
    let (summary, (on_cpu, runq, blocked)) = read_split(&["pipe-sleep", "5", "50"], &[]);
    assert!(blocked >= 95.0, "blocked {blocked}%:\n{}", summary.text);
    assert!(on_cpu + runq <= 5.0, "{}", summary.text);
}

#[test]
fn reads_competing_for_one_cpu_wait_in_the_run_queue() {
    // Three threads on CPU 0: each is runnable two thirds of the time it is not running.
    let (summary, (on_cpu, runq, blocked)) = read_split(&["cpu-read", "3", "2000"], &[]);
    assert!(runq >= 30.0, "run queue {runq}%:\n{}", summary.text);
    assert!(on_cpu >= 15.0, "on-CPU {on_cpu}%:\n{}", summary.text);
    assert!(blocked <= 5.0, "nothing blocks reading /dev/zero: {blocked}%:\n{}", summary.text);
    // Per thread: the three readers each wait for a CPU, milliseconds at a time (CFS slices).
    let waiting = summary.threads.iter().filter(|(_, switches, p99, _)| *switches > 0 && *p99 >= 1_000_000).count();
    assert!(waiting >= 3, "three threads queued for CPU 0:\n{}", summary.text);
}

#[test]
fn a_read_alone_on_its_cpu_never_waits_beyond_noise() {
    let (summary, (on_cpu, runq, blocked)) = read_split(&["cpu-read", "1", "2000"], &[]);
    assert!(runq <= 10.0, "run queue {runq}%:\n{}", summary.text);
    assert!(blocked <= 5.0, "{}", summary.text);
    assert!(on_cpu >= 85.0, "on-CPU {on_cpu}%:\n{}", summary.text);
    // No traced thread waits in the run queue beyond noise.
    assert!(!summary.threads.is_empty(), "{}", summary.text);
    for (tid, _, _, max) in &summary.threads {
        assert!(*max <= 5_000_000, "thread {tid} waited {max}ns for a CPU:\n{}", summary.text);
    }
}

#[test]
fn no_sched_leaves_the_split_out() {
    let cmd = workload_bin();
    let (summary, _) = trace(&["--no-sched", "-e", "trace=read", "--", cmd.to_str().unwrap(), "pipe-sleep", "2", "10"]);
    assert!(summary.split.is_empty() && !summary.text.contains("where the time went"), "{}", summary.text);
    assert!(summary.threads.is_empty(), "{}", summary.text);
    assert!(summary.calls("read") >= 2, "{}", summary.text);
}
