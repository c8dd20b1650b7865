//! CPU quota and CFS throttling read from real cgroups (as root): one with a quota of 0.2 CPUs
//! and three busy processes is throttled, one without a quota under the same load is not. The
//! cgroups are v2 ones when the cpu controller is on v2, else v1 ones (a hybrid system).
use std::{
    fs,
    io::Write,
    os::unix::process::CommandExt,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tracer_tests::{trace_attached, QuotaCgroup, Waiting};
use tracer::{
    model::cpu_quota::CpuLimit,
    report::summary::throttling_line,
    host::cgroup_cpu::{CpuCgroup, ThrottleWatch},
    host::cgroupfs as target,
};

/// Three busy processes in new cgroups, killed and the cgroups removed when dropped, even when
/// an assertion failed.
struct Workload {
    shell: Child,
    cgroup: QuotaCgroup,
    v1: bool,
}

impl Workload {
    /// `sh` waits for a line before it starts the `yes` processes: they are forked once it has
    /// been moved, and are born in its cgroups.
    fn start(name: &str, quota: Option<u64>) -> Workload {
        let cgroup = QuotaCgroup::new(name, quota);
        let shell = Command::new("sh")
            .args(["-c", "read go || exit; yes >/dev/null & yes >/dev/null & yes >/dev/null & wait"])
            .stdin(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("start sh");
        let v1 = cgroup.v1;
        let mut workload = Workload { shell, cgroup, v1 };
        workload.cgroup.enter(workload.shell.id());
        writeln!(workload.shell.stdin.as_mut().unwrap(), "go").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while workload.pids().len() < 4 {
            assert!(Instant::now() < deadline, "the yes processes did not start in {}", workload.cpu_dir().display());
            std::thread::sleep(Duration::from_millis(10));
        }
        workload
    }

    fn cpu_dir(&self) -> &Path {
        self.cgroup.cpu_dir()
    }

    fn pids(&self) -> Vec<u32> {
        target::cgroup_processes(self.cpu_dir())
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        // The yes processes first, for sh to reap them and exit: killed with it, they would
        // linger as zombies of whoever inherits them. Without its line, sh exits at once.
        drop(self.shell.stdin.take());
        for pid in self.pids().into_iter().filter(|&pid| pid != self.shell.id()) {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut exited = false;
        while !exited && Instant::now() < deadline {
            exited = self.shell.try_wait().map_or(true, |status| status.is_some());
            std::thread::sleep(Duration::from_millis(10));
        }
        if !exited {
            // The whole process group: sh and whatever it started.
            unsafe { libc::kill(-(self.shell.id() as i32), libc::SIGKILL) };
            let _ = self.shell.wait();
        }
    }
}

/// The cgroup tracer would read for the workload, checked from every one of its processes and
/// from its v2 directory.
fn found_cgroup(workload: &Workload) -> CpuCgroup {
    let want = CpuCgroup { dir: workload.cpu_dir().to_path_buf(), v1: workload.v1 };
    for pid in workload.pids() {
        assert_eq!(CpuCgroup::of_pid(pid).unwrap(), Some(want.clone()), "process {pid}");
    }
    let v2_dir = workload.cgroup.v2_dir();
    assert_eq!(CpuCgroup::of_v2_dir(v2_dir).unwrap(), Some(want.clone()), "from the v2 directory {}", v2_dir.display());
    want
}

#[test]
fn a_quota_of_a_fifth_of_a_cpu_throttles_three_busy_processes() {
    let workload = Workload::start("quota", Some(20000));
    let cgroup = found_cgroup(&workload);
    let limit = cgroup.limit().unwrap();
    assert_eq!(limit, CpuLimit { quota_us: Some(20000), period_us: 100000 });
    assert_eq!(limit.cpus(), Some(0.2));

    let before = cgroup.stat().unwrap();
    let mut watch = ThrottleWatch::start([cgroup.clone()]).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let delta = cgroup.stat().unwrap().since(&before);
    let throttling = watch.read().remove(0);
    assert!(delta.nr_throttled > 0 && delta.throttled_ns > 0, "{delta:?}");
    assert!(delta.nr_periods >= delta.nr_throttled, "{delta:?}");
    assert!(throttling.nr_throttled > 0 && throttling.throttled_ns > 0, "{throttling:?}");
    // Ten periods in the second; with three times the quota's demand, most of them throttled.
    assert!(throttling.nr_periods >= 5 && throttling.nr_throttled * 2 >= throttling.nr_periods, "{throttling:?}");
    let line = throttling_line(&throttling);
    let want = format!("cpu quota 0.20 CPUs (20000us per 100000us) in {}: throttled in ", workload.cpu_dir().display());
    assert!(line.starts_with(&want), "{line}");
}

#[test]
fn no_quota_no_throttling_under_the_same_load() {
    let workload = Workload::start("noquota", None);
    let cgroup = found_cgroup(&workload);
    let limit = cgroup.limit().unwrap();
    assert_eq!((limit.quota_us, limit.cpus()), (None, None));

    let mut watch = ThrottleWatch::start([cgroup]).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let throttling = watch.read().remove(0);
    assert_eq!((throttling.nr_throttled, throttling.throttled_ns), (0, 0), "{throttling:?}");
    assert!(throttling_line(&throttling).starts_with("no cpu quota in "), "{}", throttling_line(&throttling));
}

/// The tracer's own report: three threads of CPU-bound reads in a cgroup with a fifth of a CPU
/// are throttled, and their waits are run-queue waits of most of a 100 ms period; without the
/// quota, on this machine's two CPUs, neither. (The syscalls' own split shows less of it: CFS
/// throttles a task at its next resched point, mostly its return to user mode, after the
/// syscall's exit.)
#[test]
fn tracer_reports_the_throttling_and_the_run_queue_wait_it_causes() {
    let run = |quota: Option<u64>| {
        let cgroup = QuotaCgroup::new(if quota.is_some() { "e2e-quota" } else { "e2e-free" }, quota);
        let workload = Waiting::spawn(&["spread-read", "3", "5000"]);
        cgroup.enter(workload.pid());
        let summary = trace_attached(&workload, &["-e", "trace=read"]);
        drop(workload);
        summary
    };
    // The reading threads: the main thread only starts and joins them.
    let workers = |summary: &tracer_tests::Summary| -> Vec<u64> {
        let mut rows: Vec<&tracer_tests::ThreadRow> = summary.threads.iter().collect();
        rows.sort_by_key(|row| std::cmp::Reverse(row.switches));
        rows.iter().take(3).map(|row| row.runq_p99_ns).collect()
    };
    let throttled = run(Some(20000));
    let line = throttled.text.lines().find(|l| l.trim_start().starts_with("cpu quota 0.20 CPUs")).unwrap_or_else(|| panic!("no quota line:\n{}", throttled.text));
    let periods: Vec<u64> = line.split("throttled in ").nth(1).unwrap().split(" periods").next().unwrap().split(" of ").map(|n| n.parse().unwrap()).collect();
    assert!(periods[0] > 0 && periods[0] <= periods[1], "{line}");
    assert_eq!(throttled.calls("read"), 15000);
    let runq = workers(&throttled);
    assert!(runq.len() == 3 && runq.iter().all(|&ns| ns >= 50_000_000), "run-queue p99 of each reader under a fifth of a CPU: {runq:?}\n{}", throttled.text);

    let free = run(None);
    assert!(!free.text.contains("cpu quota"), "no quota, never throttled: nothing to say\n{}", free.text);
    assert_eq!(free.calls("read"), 15000);
    let mut runq_free = workers(&free);
    // Relative: what else runs on the machine adds run-queue wait to both, and three readers
    // on two CPUs wait for each other (once, one reader's p99 was 64 ms without the quota).
    runq_free.sort();
    let (least_throttled, middle_free) = (runq.iter().min().unwrap(), runq_free[runq_free.len() / 2]);
    assert!(*least_throttled > middle_free, "run-queue p99 of the readers: {runq:?} with the quota, {runq_free:?} without\n{}", free.text);
}

/// A Go program in a cgroup with a fifth of a CPU: the summary, the export and the metrics name
/// its GOMAXPROCS (from its environment, else Go 1.19's default: the CPUs it may run on) and
/// say it disagrees with the quota.
#[test]
fn a_go_program_with_more_ps_than_its_quota_gets_a_note() {
    let (binary, dir) = tracer_tests::go_program("slowsleep");
    let cpus = std::thread::available_parallelism().unwrap().get();
    for gomaxprocs in [Some("8"), None] {
        let cgroup = QuotaCgroup::new("go", Some(20000));
        // Moved into the cgroup before it execs the program (30 sleeps of 50 ms), by a shell that
        // waits for its line.
        let mut shell = Command::new("sh");
        shell.args(["-c", &format!("read go && exec {} 30 50", binary.display())]).stdin(Stdio::piped()).env_remove("GOMAXPROCS");
        if let Some(n) = gomaxprocs {
            shell.env("GOMAXPROCS", n);
        }
        let mut shell = shell.spawn().unwrap();
        cgroup.enter(shell.id());
        let pid = shell.id().to_string();
        let export = dir.join("go.json");
        let tracer = tracer_tests::Attached::start(&["-e", "trace=nanosleep", "--export", export.to_str().unwrap(), "-p", &pid]);
        writeln!(shell.stdin.as_mut().unwrap(), "go").unwrap();
        let (summary, output) = tracer.finish_within(Duration::from_secs(30));
        assert!(output.status.success(), "{output:?}");
        assert!(shell.wait().unwrap().success());
        let (procs, why) = match gomaxprocs {
            Some(n) => (n.to_string(), "set in its environment".to_string()),
            None => (cpus.to_string(), "Go's default before 1.25".to_string()),
        };
        let note = summary.text.lines().find(|l| l.trim_start().starts_with("note: pid ")).unwrap_or_else(|| panic!("no note:\n{}", summary.text));
        assert!(note.contains(&format!("GOMAXPROCS {procs} (")) && note.contains(&why) && note.contains("against a CPU quota of 0.20 CPUs"), "{note}");
        let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(&export).unwrap()).unwrap();
        let go = &json["go"][0];
        assert_eq!((go["gomaxprocs"].as_u64(), go["quota_cpus"].as_f64()), (Some(procs.parse().unwrap()), Some(0.2)), "{json}");
        assert!(go["go_version"].as_str().unwrap().starts_with("go1."), "{json}");
    }
    fs::remove_dir_all(dir).unwrap();
}
