//! Reads the CPU quota and CFS throttling of the traced cgroups from the machine: cgroup v2
//! (`cpu.max`, `cpu.stat` with `throttled_usec`) and v1 (`cpu.cfs_quota_us`,
//! `cpu.cfs_period_us`, `cpu.stat` with `throttled_time` in ns); hybrid systems keep the cpu
//! controller on v1 while the tracer's cgroups are v2 ones.
use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{anyhow, bail, Context, Result};

use super::cgroupfs::{self, Mount};
use crate::model::cpu_quota::{CpuLimit, CpuStat, Throttling};

/// A cgroup whose CPU controller files can be read: v2 (cpu.max, cpu.stat) or v1
/// (cpu.cfs_quota_us, cpu.cfs_period_us, cpu.stat).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuCgroup {
    pub dir: PathBuf,
    pub v1: bool,
}

impl CpuCgroup {
    /// The CPU cgroup of a process (from /proc/PID/cgroup: the v2 path if its dir has cpu.max,
    /// else the v1 cpu controller's path). Ok(None) if it has no readable CPU controller.
    pub fn of_pid(pid: u32) -> Result<Option<CpuCgroup>> {
        let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).map_err(|_| anyhow!("no such process: {pid}"))?;
        let (v2, v1) = candidate_dirs(&text, &cgroupfs::mounts());
        if let Some(dir) = v2.into_iter().find(|dir| dir.join("cpu.max").is_file()) {
            return Ok(Some(CpuCgroup { dir, v1: false }));
        }
        // No cpu.cfs_quota_us: a kernel without CFS bandwidth control, nothing to read.
        Ok(v1.into_iter().find(|dir| dir.join("cpu.cfs_quota_us").is_file()).map(|dir| CpuCgroup { dir, v1: true }))
    }

    /// For a traced cgroup v2 directory: itself if it has cpu.max; else (hybrid systems) the v1
    /// cpu cgroup of the first process found in it or below (None if empty/none).
    pub fn of_v2_dir(dir: &Path) -> Result<Option<CpuCgroup>> {
        if !dir.is_dir() {
            bail!("no such cgroup: {}", dir.display());
        }
        if dir.join("cpu.max").is_file() {
            return Ok(Some(CpuCgroup { dir: dir.to_path_buf(), v1: false }));
        }
        // A process may exit between the listing and the look: the next one is asked then.
        Ok(cgroupfs::cgroup_processes(dir).into_iter().find_map(|pid| Self::of_pid(pid).ok().flatten()))
    }

    pub fn limit(&self) -> Result<CpuLimit> {
        if self.v1 {
            parse_v1_limit(&self.read("cpu.cfs_quota_us")?, &self.read("cpu.cfs_period_us")?)
        } else {
            parse_cpu_max(&self.read("cpu.max")?)
        }
        .with_context(|| format!("bad cpu quota in {}", self.dir.display()))
    }

    pub fn stat(&self) -> Result<CpuStat> {
        Ok(parse_cpu_stat(&self.read("cpu.stat")?, self.v1))
    }

    fn read(&self, file: &str) -> Result<String> {
        let path = self.dir.join(file);
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    }
}

/// Where a process's cgroups would be, from its /proc/PID/cgroup and the mounts: the v2
/// directories, then the v1 cpu controller's. Each has one per mount of its hierarchy.
fn candidate_dirs(proc_cgroup: &str, mounts: &[Mount]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut v2, mut v1) = (Vec::new(), Vec::new());
    for line in proc_cgroup.lines() {
        // "0::/system.slice/x.service" (v2), "4:cpu,cpuacct:/docker/abc" (v1).
        let mut fields = line.splitn(3, ':');
        let (Some(hierarchy), Some(controllers), Some(path)) = (fields.next(), fields.next(), fields.next()) else { continue };
        if hierarchy == "0" && controllers.is_empty() {
            v2.extend(mounts.iter().filter(|m| m.fs_type == "cgroup2").map(|m| join_cgroup_path(m, path)));
        } else if has_word(controllers, "cpu") {
            v1.extend(mounts.iter().filter(|m| is_v1_cpu_mount(m)).map(|m| join_cgroup_path(m, path)));
        }
    }
    (v2, v1)
}

/// A v1 hierarchy with the cpu controller: "cpu" itself among its options, not only cpuacct
/// or cpuset.
fn is_v1_cpu_mount(mount: &Mount) -> bool {
    mount.fs_type == "cgroup" && has_word(&mount.super_options, "cpu")
}

fn has_word(list: &str, word: &str) -> bool {
    list.split(',').any(|w| w == word)
}

/// The directory of cgroup `path` under `mount`; the path is from the hierarchy's root, the
/// mount may show only a subtree of it (a container's).
fn join_cgroup_path(mount: &Mount, path: &str) -> PathBuf {
    let path = Path::new(path);
    let relative = path.strip_prefix(&mount.root).unwrap_or(path);
    mount.point.join(relative.strip_prefix("/").unwrap_or(relative))
}

/// v2 `cpu.max`: "max 100000" or "20000 100000".
fn parse_cpu_max(text: &str) -> Result<CpuLimit> {
    let mut fields = text.split_whitespace();
    let (Some(quota), Some(period), None) = (fields.next(), fields.next(), fields.next()) else {
        bail!("cpu.max is {:?}, not \"QUOTA PERIOD\"", text.trim());
    };
    let quota_us = match quota {
        "max" => None,
        quota => Some(quota.parse().map_err(|_| anyhow!("cpu.max quota is {quota:?}, not a number or \"max\""))?),
    };
    let period_us = period.parse().map_err(|_| anyhow!("cpu.max period is {period:?}, not a number"))?;
    Ok(CpuLimit { quota_us, period_us })
}

/// v1 `cpu.cfs_quota_us` ("-1" for none) and `cpu.cfs_period_us`.
fn parse_v1_limit(quota: &str, period: &str) -> Result<CpuLimit> {
    let (quota, period) = (quota.trim(), period.trim());
    let quota: i64 = quota.parse().map_err(|_| anyhow!("cpu.cfs_quota_us is {quota:?}, not a number"))?;
    let period_us = period.parse().map_err(|_| anyhow!("cpu.cfs_period_us is {period:?}, not a number"))?;
    // Any negative quota means none; the kernel writes -1.
    Ok(CpuLimit { quota_us: u64::try_from(quota).ok(), period_us })
}


/// the cpu controller has only the usage lines) counts as zero.
fn parse_cpu_stat(text: &str, v1: bool) -> CpuStat {
    let mut stat = CpuStat::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(' ') else { continue };
        let Ok(value) = value.trim().parse::<u64>() else { continue };
        match key {
            "nr_periods" => stat.nr_periods = value,
            "nr_throttled" => stat.nr_throttled = value,
            "throttled_time" if v1 => stat.throttled_ns = value,
            "throttled_usec" if !v1 => stat.throttled_ns = value.saturating_mul(1000),
            _ => {}
        }
    }
    stat
}


fn throttling(cgroup: &CpuCgroup, limit: CpuLimit, stat: CpuStat) -> Throttling {
Throttling {
        cgroup: cgroup.dir.display().to_string(),
        quota_us: limit.quota_us,
        period_us: limit.period_us,
        nr_periods: stat.nr_periods,
        nr_throttled: stat.nr_throttled,
        throttled_ns: stat.throttled_ns,
    }
}


/// Watches a set of CpuCgroups: `start()` snapshots cpu.stat; `read()` returns a Throttling per
/// cgroup with deltas since start (and `read_interval()` since the previous call), tolerating a
/// cgroup that disappeared (its last figures are kept).
#[derive(Default)]
pub struct ThrottleWatch {
    watched: Vec<Watched>,
}

struct Watched {
    cgroup: CpuCgroup,
    limit: CpuLimit,
    start: CpuStat,
    /// Where the last interval ended.
    interval_start: CpuStat,
    /// The last cpu.stat read: kept when the cgroup is gone.
    last: CpuStat,
}

impl ThrottleWatch {
    /// Snapshots each cgroup's quota and counters (a cgroup given twice is watched once). An
    /// error names the cgroup whose files cannot be read.
    pub fn start(cgroups: impl IntoIterator<Item = CpuCgroup>) -> Result<ThrottleWatch> {
        let mut watch = ThrottleWatch { watched: Vec::new() };
        for cgroup in cgroups {
            watch.add(cgroup)?;
        }
        Ok(watch)
    }

    pub fn is_empty(&self) -> bool {
        self.watched.is_empty()
    }

    /// Watches one more cgroup from now on (once).
    pub fn add(&mut self, cgroup: CpuCgroup) -> Result<()> {
        if !self.watched.iter().any(|w| w.cgroup == cgroup) {
            let (limit, stat) = (cgroup.limit()?, cgroup.stat()?);
            self.watched.push(Watched { cgroup, limit, start: stat, interval_start: stat, last: stat });
        }
        Ok(())
    }

    /// Each cgroup's quota now and its throttling since `start()`.
    pub fn read(&mut self) -> Vec<Throttling> {
        self.watched
            .iter_mut()
            .map(|w| {
                w.refresh();
                throttling(&w.cgroup, w.limit, w.last.since(&w.start))
            })
            .collect()
    }

    /// Each cgroup's quota now and its throttling since the previous call (or `start()`).
    pub fn read_interval(&mut self) -> Vec<Throttling> {
        self.watched
            .iter_mut()
            .map(|w| {
                w.refresh();
                let delta = w.last.since(&w.interval_start);
                w.interval_start = w.last;
                throttling(&w.cgroup, w.limit, delta)
            })
            .collect()
    }
}

impl Watched {
    /// Reads the files again; a quota may change during the trace. Unreadable: the cgroup is
    /// gone, and what was last read stands.
    fn refresh(&mut self) {
        if let Ok(stat) = self.cgroup.stat() {
            self.last = stat;
        }
        if let Ok(limit) = self.cgroup.limit() {
            self.limit = limit;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::cgroupfs::parse_mountinfo;

    const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpuset rw,relatime shared:9 - cgroup cgroup rw,cpuset
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn cpu_max_with_and_without_a_quota() {
        assert_eq!(parse_cpu_max("max 100000\n").unwrap(), CpuLimit { quota_us: None, period_us: 100000 });
        let limit = parse_cpu_max("20000 100000\n").unwrap();
        assert_eq!(limit, CpuLimit { quota_us: Some(20000), period_us: 100000 });
        assert_eq!(limit.cpus(), Some(0.2));
        assert_eq!(parse_cpu_max("max 100000").unwrap().cpus(), None);
        assert_eq!(parse_cpu_max("150000 50000").unwrap().cpus(), Some(3.0));
    }

    #[test]
    fn bad_cpu_max_is_an_error_not_a_panic() {
        for bad in ["", "max", "20000", "lots 100000", "20000 soon", "1 2 3"] {
            let err = parse_cpu_max(bad).unwrap_err().to_string();
            assert!(err.starts_with("cpu.max") && !err.contains('\n'), "{bad:?}: {err}");
        }
        assert_eq!(CpuLimit { quota_us: Some(5), period_us: 0 }.cpus(), None, "no division by zero");
    }

    #[test]
    fn v1_quota_of_minus_one_is_no_limit() {
        assert_eq!(parse_v1_limit("-1\n", "100000\n").unwrap(), CpuLimit { quota_us: None, period_us: 100000 });
        assert_eq!(parse_v1_limit("20000\n", "100000\n").unwrap().cpus(), Some(0.2));
        assert!(parse_v1_limit("", "100000").is_err());
        assert!(parse_v1_limit("20000", "x").is_err());
    }

    #[test]
    fn cpu_stat_v1_is_in_ns_v2_in_us() {
        let v1 = "nr_periods 52\nnr_throttled 47\nthrottled_time 3810000000\nnr_bursts 0\nburst_time 0\n";
        assert_eq!(parse_cpu_stat(v1, true), CpuStat { nr_periods: 52, nr_throttled: 47, throttled_ns: 3_810_000_000 });
        let v2 = "usage_usec 1000\nuser_usec 800\nsystem_usec 200\nnr_periods 52\nnr_throttled 47\nthrottled_usec 3810000\n\
nr_bursts 0\nburst_usec 0\n";
        assert_eq!(parse_cpu_stat(v2, false), CpuStat { nr_periods: 52, nr_throttled: 47, throttled_ns: 3_810_000_000 });
        // v2 without the cpu controller: only usage.
        assert_eq!(parse_cpu_stat("usage_usec 1000\nuser_usec 800\nsystem_usec 200\n", false), CpuStat::default());
        assert_eq!(parse_cpu_stat("nr_periods lots\ngarbage\n", true), CpuStat::default());
    }

    #[test]
    fn deltas_saturate() {
        let earlier = CpuStat { nr_periods: 10, nr_throttled: 4, throttled_ns: 1000 };
        let later = CpuStat { nr_periods: 15, nr_throttled: 6, throttled_ns: 3000 };
        assert_eq!(later.since(&earlier), CpuStat { nr_periods: 5, nr_throttled: 2, throttled_ns: 2000 });
        assert_eq!(earlier.since(&later), CpuStat::default(), "counters that went back: zero");
    }

    #[test]
    fn v1_cpu_mount_is_the_one_with_cpu_as_a_word() {
        let mounts = parse_mountinfo(HYBRID_MOUNTINFO);
        let cpu: Vec<_> = mounts.iter().filter(|m| is_v1_cpu_mount(m)).map(|m| m.point.clone()).collect();
        assert_eq!(cpu, [PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")], "not cpuset, not cpuacct alone");
    }

    #[test]
    fn dirs_of_a_process_on_a_hybrid_system() {
        let mounts = parse_mountinfo(HYBRID_MOUNTINFO);
        let proc_cgroup = "12:cpuset:/\n4:cpu,cpuacct:/tracer/x\n3:cpuacct:/elsewhere\n1:name=systemd:/system.slice/a.service\n\
0::/system.slice/a.service\n";
        let (v2, v1) = candidate_dirs(proc_cgroup, &mounts);
        assert_eq!(v2, [PathBuf::from("/sys/fs/cgroup/unified/system.slice/a.service")]);
        assert_eq!(v1, [PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/tracer/x")]);
    }

    #[test]
    fn dirs_of_a_process_on_a_pure_v2_system_and_in_a_mounted_subtree() {
        let v2_only = parse_mountinfo("29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
        let (v2, v1) = candidate_dirs("0::/user.slice/user-1000.slice/session-2.scope\n", &v2_only);
        assert_eq!(v2, [PathBuf::from("/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope")]);
        assert!(v1.is_empty());
        // Inside a container whose v1 mount shows only its own subtree.
        let container = parse_mountinfo("500 499 0:29 /docker/abc /sys/fs/cgroup/cpu ro - cgroup cgroup rw,cpu\n");
        let (_, v1) = candidate_dirs("3:cpu:/docker/abc/inner\n", &container);
        assert_eq!(v1, [PathBuf::from("/sys/fs/cgroup/cpu/inner")]);
        // Root cgroup, malformed lines.
        let (v2, _) = candidate_dirs("0::/\nnonsense\n", &v2_only);
        assert_eq!(v2, [PathBuf::from("/sys/fs/cgroup")]);
    }

    #[test]
    fn mountinfo_paths_are_unescaped() {
        let mounts = parse_mountinfo("41 31 0:38 / /mnt/my\\040cgroups\\134x rw - cgroup2 cgroup2 rw\n42 31 0:39 / /a\\9 rw - x x\n");
        assert_eq!(mounts[0].point, PathBuf::from("/mnt/my cgroups\\x"));
        assert_eq!(mounts[1].point, PathBuf::from("/a\\9"), "not an escape: kept");
        assert_eq!((mounts[0].super_options.as_str(), mounts[1].super_options.as_str()), ("rw", ""), "none given: none");
    }

    /// A v1-style cgroup in a temp dir, its counters written by the test.
    fn fake_v1(dir: &Path, stat: CpuStat) {
        fs::write(dir.join("cpu.cfs_quota_us"), "20000\n").unwrap();
        fs::write(dir.join("cpu.cfs_period_us"), "100000\n").unwrap();
        let CpuStat { nr_periods, nr_throttled, throttled_ns } = stat;
        let text = format!("nr_periods {nr_periods}\nnr_throttled {nr_throttled}\nthrottled_time {throttled_ns}\n");
        fs::write(dir.join("cpu.stat"), text).unwrap();
    }

    #[test]
    fn watch_gives_deltas_and_keeps_a_removed_cgroups_figures() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("x");
        fs::create_dir(&dir).unwrap();
        fake_v1(&dir, CpuStat { nr_periods: 100, nr_throttled: 50, throttled_ns: 1000 });
        let cgroup = CpuCgroup { dir: dir.clone(), v1: true };
        let mut watch = ThrottleWatch::start([cgroup.clone(), cgroup.clone()]).unwrap();
        assert_eq!(watch.read().len(), 1, "watched once");

        fake_v1(&dir, CpuStat { nr_periods: 110, nr_throttled: 58, throttled_ns: 5000 });
        let interval = &watch.read_interval()[0];
        assert_eq!((interval.nr_periods, interval.nr_throttled, interval.throttled_ns), (10, 8, 4000));
        assert_eq!((interval.quota_us, interval.period_us), (Some(20000), 100000));

        fake_v1(&dir, CpuStat { nr_periods: 115, nr_throttled: 60, throttled_ns: 6000 });
        let interval = &watch.read_interval()[0];
        assert_eq!((interval.nr_periods, interval.nr_throttled, interval.throttled_ns), (5, 2, 1000));

        fs::remove_dir_all(&dir).unwrap();
        let total = &watch.read()[0];
        assert_eq!((total.nr_periods, total.nr_throttled, total.throttled_ns), (15, 10, 5000), "the last figures");
        assert_eq!(total.cgroup, dir.display().to_string());
        let interval = &watch.read_interval()[0];
        assert_eq!((interval.nr_periods, interval.nr_throttled), (0, 0), "nothing since");
    }

    #[test]
    fn watch_start_names_an_unreadable_cgroup() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = CpuCgroup { dir: tmp.path().join("gone"), v1: false };
        let err = format!("{:#}", ThrottleWatch::start([missing]).err().unwrap());
        assert!(err.contains("gone/cpu.max") && !err.contains('\n'), "{err}");
        assert!(ThrottleWatch::start([]).unwrap().is_empty());
    }

    #[test]
    fn of_v2_dir_uses_its_own_cpu_max_and_refuses_a_missing_dir() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("cpu.max"), "max 100000\n").unwrap();
        let found = CpuCgroup::of_v2_dir(tmp.path()).unwrap();
        assert_eq!(found, Some(CpuCgroup { dir: tmp.path().to_path_buf(), v1: false }));
        assert_eq!(found.unwrap().limit().unwrap().cpus(), None);
        assert!(CpuCgroup::of_v2_dir(&tmp.path().join("nope")).unwrap_err().to_string().starts_with("no such cgroup"));
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(CpuCgroup::of_v2_dir(empty.path()).unwrap(), None, "no cpu.max, no process");
    }

    #[test]
    fn of_pid_of_a_process_that_is_not_there() {
        assert_eq!(CpuCgroup::of_pid(u32::MAX).unwrap_err().to_string(), format!("no such process: {}", u32::MAX));
    }
}
