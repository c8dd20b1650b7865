//! CPU quota and CFS throttling read from real cgroups (as root): one with a quota of 0.2 CPUs
//! and three busy processes is throttled, one without a quota under the same load is not. The
//! cgroups are v2 ones when the cpu controller is on v2, else v1 ones (a hybrid system).
use std::{
    fs,
    io::Write,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tracer::{
    model::cpu_quota::{render_line, CpuCgroup, CpuLimit, ThrottleWatch},
    run::target,
};

/// Where the cpu controller is, as the module finds it: a cgroup2 root that gives its children
/// cpu.max, else the v1 cpu hierarchy. `true` for v1.
fn cpu_hierarchy() -> (PathBuf, bool) {
    let has_cpu = |list: &str, sep: char| list.trim().split(sep).any(|w| w == "cpu");
    for root in target::cgroup2_mounts() {
        if fs::read_to_string(root.join("cgroup.subtree_control")).is_ok_and(|s| has_cpu(&s, ' ')) {
            return (root, false);
        }
    }
    let v1 = target::mounts().into_iter().find(|m| m.fs_type == "cgroup" && has_cpu(&m.super_options, ','));
    (v1.expect("a cpu controller, on cgroup v2 or v1").point, true)
}

/// Three busy processes in new cgroups, killed and the cgroups removed when dropped, even when
/// an assertion failed.
struct Workload {
    shell: Child,
    /// The cpu cgroup, then (hybrid systems) a v2 one the processes are in too.
    dirs: Vec<PathBuf>,
    v1: bool,
}

impl Workload {
    /// `sh` waits for a line before it starts the `yes` processes: they are forked once it has
    /// been moved, and are born in its cgroups.
    fn start(name: &str, quota: Option<&str>) -> Workload {
        let (hierarchy, v1) = cpu_hierarchy();
        let mut dirs = vec![hierarchy.join(format!("tracer-test-{name}-{}", std::process::id()))];
        if v1 {
            let unified = target::cgroup2_mounts().into_iter().next().expect("a cgroup2 mount");
            dirs.push(unified.join(format!("tracer-test-{name}-{}", std::process::id())));
        }
        let shell = Command::new("sh")
            .args(["-c", "read go || exit; yes >/dev/null & yes >/dev/null & yes >/dev/null & wait"])
            .stdin(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("start sh");
        let mut workload = Workload { shell, dirs, v1 };
        for dir in &workload.dirs {
            let _ = fs::remove_dir(dir);
            fs::create_dir(dir).unwrap_or_else(|e| panic!("create {} (as root): {e}", dir.display()));
        }
        if let Some(quota) = quota {
            let cpu = &workload.dirs[0];
            if v1 {
                fs::write(cpu.join("cpu.cfs_period_us"), "100000").unwrap();
                fs::write(cpu.join("cpu.cfs_quota_us"), quota).unwrap();
            } else {
                fs::write(cpu.join("cpu.max"), format!("{quota} 100000")).unwrap();
            }
        }
        for dir in &workload.dirs {
            fs::write(dir.join("cgroup.procs"), workload.shell.id().to_string()).expect("move sh into the cgroup");
        }
        writeln!(workload.shell.stdin.as_mut().unwrap(), "go").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while workload.pids().len() < 4 {
            assert!(Instant::now() < deadline, "the yes processes did not start in {}", workload.dirs[0].display());
            std::thread::sleep(Duration::from_millis(10));
        }
        workload
    }

    fn cpu_dir(&self) -> &Path {
        &self.dirs[0]
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
        // Dying processes may take a moment to leave the cgroups.
        let deadline = Instant::now() + Duration::from_secs(5);
        for dir in &self.dirs {
            while fs::remove_dir(dir).is_err() && dir.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
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
    let v2_dir = workload.dirs.last().unwrap();
    assert_eq!(CpuCgroup::of_v2_dir(v2_dir).unwrap(), Some(want.clone()), "from the v2 directory {}", v2_dir.display());
    want
}

#[test]
fn a_quota_of_a_fifth_of_a_cpu_throttles_three_busy_processes() {
    let workload = Workload::start("quota", Some("20000"));
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
    let line = render_line(&throttling);
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
    assert!(render_line(&throttling).starts_with("no cpu quota in "), "{}", render_line(&throttling));
}
