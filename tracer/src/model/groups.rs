//! `--by cgroup|comm`: the syscall tables again, split per group of processes, with
//! a cap on how many groups there may be (so that an agent's memory and its metrics' label
//! cardinality stay bounded), and groups that ended dropped once they have been reported.
use std::path::{Path, PathBuf};

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::table::StatsTable;
use crate::{
    host::Host,
    kernel::{event::SyscallRecord, kernel_counts::KernelCalls},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// The traced cgroup a process is in (with several `--cgroup` targets), else its own cgroup.
    Cgroup,
    /// The process's name.
    Comm,
}

impl GroupBy {
    /// The label name in metrics and exports.
    pub fn label(self) -> &'static str {
        match self {
            GroupBy::Cgroup => "cgroup",
            GroupBy::Comm => "comm",
        }
    }
}

/// The group that processes go to once the cap is reached.
pub const OTHER: &str = "other";
/// The group of a process that was gone before it could be looked at, and whose end the
/// kernel's record did not name (it was lost, or its end has not come in two intervals).
pub const UNKNOWN: &str = "?";

/// Records held for processes that were gone when first seen, until their end's record names
/// them; past this, such processes go to [`UNKNOWN`] at once.
const MAX_HELD: usize = 100_000;



#[derive(Clone, Debug)]
pub struct Group {
    /// What it is shown as: a cgroup's last path component (its whole path below the hierarchy's
    /// root when two share one), or a process name.
    pub name: String,
    /// Its cgroup directory, for `--by cgroup`.
    pub cgroup: Option<PathBuf>,
    pub table: StatsTable,
    /// Processes seen in it, and of those, the ones still alive at the last look.
    pub processes: u64,
    alive: u64,
    /// The interval at whose end it was first found with no process left (and, for a cgroup,
    /// its directory gone).
    pub ended_at: Option<u64>,
}

/// A traced cgroup, as `--by cgroup` names it.
#[derive(Clone, Debug)]
pub struct CgroupName {
    /// Its path below the cgroup2 root, from the root: "/system.slice/nginx.service".
    pub relative: String,
    pub dir: PathBuf,
}

#[derive(Clone, Debug)]
pub struct Groups {
    pub by: GroupBy,
    /// The `--cgroup` targets, in the kernel's order (its tags count from 1).
    targets: Vec<CgroupName>,
    groups: Vec<Option<Group>>,
    by_key: HashMap<String, usize>,
    of_tgid: HashMap<u32, usize>,
    max: usize,
    /// Processes counted in [`OTHER`] because the cap was reached.
    pub overflowed: u64,
    /// Groups dropped after they ended and were reported.
    pub retired: u64,
    /// Processes gone before /proc could name them: their records, and the interval they came in.
    held: HashMap<u32, (u64, Vec<SyscallRecord>)>,
    held_records: usize,
    /// Traced processes not in a group yet, no record of theirs seen: placed at the end of
    /// the interval (by then a new process has exec'd into its own name), or by their end's
    /// record. Every traced process is in a group, so that the groups' processes add up to the
    /// trace's.
    pending: HashSet<u32>,
    interval: u64,
    /// The cgroup2 root, and its directories' paths by cgroup id (inode), for ended processes.
    cgroup_root: Option<PathBuf>,
    cgroup_paths: HashMap<u64, String>,
    /// What /proc says of processes.
    host: Host,
    /// What the kernel needs to know to count calls per group, since it was last told, in order.
    changes: Vec<GroupChange>,
    /// (group, syscall) pairs whose successful calls have been seen as events.
    seen: HashSet<(usize, u32)>,
}

/// What happened to the groups that the kernel must be told of, for it to count calls per
/// group instead of sending them; told in the order it happened (a pid may be gone and back,
/// a retired group's index given again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupChange {
    /// A group was dropped: the kernel's rows for it are free.
    Retired(usize),
    /// A process (by tgid) was put in a group.
    Placed(u32, usize),
    /// A process was found gone.
    Gone(u32),
    /// A (group, syscall) pair was seen succeed for the first time: the kernel can count it.
    Seen(usize, u32),
}

impl Groups {
    /// At most `max` groups (then [`OTHER`]); `targets` are the `--cgroup` targets.
    pub fn new(by: GroupBy, targets: Vec<CgroupName>, max: usize, cgroup_root: Option<PathBuf>) -> Self {
        Self {
            held: HashMap::default(),
            held_records: 0,
            pending: HashSet::default(),
            interval: 0,
            cgroup_root,
            cgroup_paths: HashMap::default(),
            host: Host::default(),
            by,
            targets,
            groups: Vec::new(),
            by_key: HashMap::default(),
            of_tgid: HashMap::default(),
            max: max.max(1),
            overflowed: 0,
            retired: 0,
            changes: Vec::new(),
            seen: HashSet::default(),
        }
    }

    /// Group indices there may be with a cap of `max` groups: those, [`OTHER`] and [`UNKNOWN`].
    pub fn indices(max: usize) -> usize {
        max.max(1) + 2
    }

    /// What the kernel must be told since the last call.
    pub fn take_changes(&mut self) -> Vec<GroupChange> {
        std::mem::take(&mut self.changes)
    }

    /// The kernel had no row left for the pair: it is asked for again at its next call.
    pub fn unsee(&mut self, index: usize, nr: u32) {
        self.seen.remove(&(index, nr));
    }

    /// Calls of group `index` the kernel counted.
    pub fn record_kernel(&mut self, index: usize, calls: &KernelCalls) {
        if let Some(Some(group)) = self.groups.get_mut(index) {
            group.table.record_kernel(calls);
        }
    }

    /// The kernel said which `--cgroup` target (from 1) a process's syscall came from.
    pub fn tag(&mut self, tgid: u32, target: u32) {
        if self.by != GroupBy::Cgroup || target == 0 || self.of_tgid.contains_key(&tgid) {
            return;
        }
        if let Some(cgroup) = self.targets.get(target as usize - 1).cloned() {
            let index = self.group_for(&cgroup.relative, Some(&cgroup.dir));
            self.settle(tgid, index);
        }
    }

    /// A process is traced (a target, a fork of one, or found in a traced cgroup), whether or
    /// not it makes a syscall that is shown.
    pub fn traced(&mut self, tgid: u32) {
        if !self.of_tgid.contains_key(&tgid) && !self.held.contains_key(&tgid) {
            self.pending.insert(tgid);
        }
    }

    /// Puts the traced processes that made no call seen yet in their groups; those already
    /// gone wait, as held processes do, for their end's record.
    pub fn place_pending(&mut self) {
        let interval = self.interval;
        for tgid in std::mem::take(&mut self.pending) {
            if !self.of_tgid.contains_key(&tgid) && !self.held.contains_key(&tgid) && self.index_of(tgid).is_none() {
                self.held.insert(tgid, (interval, Vec::new()));
            }
        }
    }

    pub fn record(&mut self, rec: &SyscallRecord) {
        match self.index_of(rec.tgid) {
            Some(index) => self.record_in(index, rec),
            None => self.hold(rec),
        }
    }

    fn record_in(&mut self, index: usize, rec: &SyscallRecord) {
        if let Some(group) = &mut self.groups[index] {
            group.table.record(rec);
            if rec.ret >= 0 && rec.duration_ns.is_some() && self.seen.insert((index, rec.nr)) {
                self.changes.push(GroupChange::Seen(index, rec.nr));
            }
        }
    }

    fn hold(&mut self, rec: &SyscallRecord) {
        self.held_records += 1;
        let interval = self.interval;
        self.held.entry(rec.tgid).or_insert_with(|| (interval, Vec::new())).1.push(*rec);
    }

    /// The kernel's record of a traced process's end: names the group of a process that was
    /// gone before /proc could be asked, and hands it what it did.
    pub fn exited(&mut self, tgid: u32, cgroup_id: u64, comm: &str) {
        // The kernel forgot it at its end, but the reader may have placed it after that.
        self.changes.push(GroupChange::Gone(tgid));
        if !self.pending.remove(&tgid) && !self.held.contains_key(&tgid) {
            return;
        }
        let index = match self.by {
            GroupBy::Comm => self.group_for(if comm.is_empty() { UNKNOWN } else { comm }, None),
            GroupBy::Cgroup => match self.cgroup_path(cgroup_id) {
                Some(relative) => self.group_of_cgroup(&relative),
                None => self.group_for(UNKNOWN, None),
            },
        };
        self.settle(tgid, index);
    }

    /// Puts a process in its group, with the records held for it.
    fn settle(&mut self, tgid: u32, index: usize) {
        self.join(tgid, index);
        if let Some((_, held)) = self.held.remove(&tgid) {
            self.held_records -= held.len();
            for rec in &held {
                self.record_in(index, rec);
            }
        }
    }

    /// The path of a cgroup by id, from a walk of the hierarchy (again when an id is new).
    fn cgroup_path(&mut self, id: u64) -> Option<String> {
        if !self.cgroup_paths.contains_key(&id) {
            let root = self.cgroup_root.clone()?;
            self.cgroup_paths = self.host.cgroup_paths(&root).into_iter().collect();
        }
        self.cgroup_paths.get(&id).cloned()
    }

    /// The groups, largest total time first.
    pub fn sorted(&self) -> Vec<&Group> {
        let mut groups: Vec<&Group> = self.groups.iter().flatten().collect();
        let time = |g: &Group| g.table.syscalls().map(|(_, s)| s.total_ns).sum::<u64>();
        groups.sort_by(|a, b| time(b).cmp(&time(a)).then_with(|| a.name.cmp(&b.name)));
        groups
    }

    /// The group of a traced cgroup, by its path from the hierarchy's root.
    pub fn of_cgroup(&self, relative: &str) -> Option<&Group> {
        self.groups.get(*self.by_key.get(relative)?)?.as_ref()
    }

    /// Forgets the figures (the live view's `r`), not which process is in which group.
    pub fn reset(&mut self) {
        for group in self.groups.iter_mut().flatten() {
            group.table = StatsTable::compact();
        }
    }

    /// Once per interval (the `n`th): forgets processes that exited, marks groups with none left
    /// as ended, and with `retire`, drops the groups that had ended by an earlier interval (their
    /// last figures have been reported).
    pub fn end_interval(&mut self, n: u64, retire: bool) {
        self.place_pending();
        self.interval = n;
        // Processes whose end's record has not come in two intervals (lost, or not sent).
        let stale: Vec<u32> = self.held.iter().filter(|(_, (since, _))| *since + 2 <= n).map(|(&tgid, _)| tgid).collect();
        for tgid in stale {
            self.exited(tgid, 0, UNKNOWN);
        }
        let mut alive = vec![0u64; self.groups.len()];
        let (changes, host) = (&mut self.changes, &self.host);
        self.of_tgid.retain(|&tgid, &mut index| {
            let exists = host.exists(tgid);
            if exists {
                alive[index] += 1;
            } else {
                changes.push(GroupChange::Gone(tgid));
            }
            exists
        });
        for (index, slot) in self.groups.iter_mut().enumerate() {
            let Some(group) = slot else { continue };
            group.alive = alive[index];
            let gone = group.alive == 0 && group.cgroup.as_ref().is_none_or(|dir| !dir.exists());
            match (gone, group.ended_at) {
                (false, _) => group.ended_at = None,
                (true, None) => group.ended_at = Some(n),
                (true, Some(ended)) if retire && ended < n => {
                    self.by_key.retain(|_, &mut i| i != index);
                    *slot = None;
                    self.retired += 1;
                    self.seen.retain(|&(group, _)| group != index);
                    self.changes.push(GroupChange::Retired(index));
                }
                (true, Some(_)) => {}
            }
        }
    }

    /// The group of a process: known, or found now from /proc; `None` when the process is gone
    /// (its records wait for its end's record).
    fn index_of(&mut self, tgid: u32) -> Option<usize> {
        if let Some(&index) = self.of_tgid.get(&tgid) {
            return Some(index);
        }
        if self.held.contains_key(&tgid) {
            return None;
        }
        let found = match self.by {
            GroupBy::Comm => self.host.name(tgid).map(|comm| self.group_for(&comm, None)),
            GroupBy::Cgroup => self.host.cgroup(tgid).map(|relative| self.group_of_cgroup(&relative)),
        };
        let index = match found {
            Some(index) => index,
            None if self.held_records < MAX_HELD => return None,
            None => self.group_for(UNKNOWN, None),
        };
        self.join(tgid, index);
        Some(index)
    }

    /// The group of a process in the cgroup at `relative`: the traced cgroup it is in or below
    /// (the kernel tags them only when there are several), else its own. Not the hierarchy's
    /// root (`--all`): there, its own.
    fn group_of_cgroup(&mut self, relative: &str) -> usize {
        let target = self
            .targets
            .iter()
            .filter(|t| t.relative != "/" && is_below(relative, &t.relative))
            .max_by_key(|t| t.relative.len())
            .cloned();
        match target {
            Some(t) => self.group_for(&t.relative, Some(&t.dir)),
            None => {
                let dir = self.cgroup_root.as_ref().map(|root| root.join(relative.trim_start_matches('/')));
                self.group_for(relative, dir.as_deref())
            }
        }
    }

    fn join(&mut self, tgid: u32, index: usize) {
        self.pending.remove(&tgid);
        self.of_tgid.insert(tgid, index);
        self.changes.push(GroupChange::Placed(tgid, index));
        if let Some(group) = &mut self.groups[index] {
            group.processes += 1;
            group.alive += 1;
            group.ended_at = None;
        }
    }

    /// The group for `key` (a cgroup's relative path, or a name), made if new and room is left.
    fn group_for(&mut self, key: &str, cgroup: Option<&Path>) -> usize {
        if let Some(&index) = self.by_key.get(key) {
            return index;
        }
        let live_groups = self.groups.iter().flatten().filter(|g| g.name != OTHER).count();
        let (key, cgroup) = if live_groups >= self.max {
            self.overflowed += 1;
            if let Some(&index) = self.by_key.get(OTHER) {
                return index;
            }
            (OTHER, None)
        } else {
            (key, cgroup)
        };
        let short = match self.by {
            GroupBy::Cgroup if key != OTHER && key != UNKNOWN => key.rsplit('/').find(|c| !c.is_empty()).unwrap_or("/"),
            _ => key,
        };
        let taken = self.groups.iter().flatten().any(|g| g.name == short);
        let name = if taken { key.to_string() } else { short.to_string() };
        let group = Group {
            name,
            cgroup: cgroup.map(Path::to_path_buf),
            table: StatsTable::compact(),
            processes: 0,
            alive: 0,
            ended_at: None,
        };
        let index = match self.groups.iter().position(Option::is_none) {
            Some(free) => {
                self.groups[free] = Some(group);
                free
            }
            None => {
                self.groups.push(Some(group));
                self.groups.len() - 1
            }
        };
        self.by_key.insert(key.to_string(), index);
        index
    }
}

/// `relative` is `ancestor` or below it, by whole path components.
fn is_below(relative: &str, ancestor: &str) -> bool {
    Path::new(relative).starts_with(Path::new(ancestor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(tgid: u32, nr: u32) -> SyscallRecord {
        SyscallRecord { nr, tgid, tid: tgid, start_ns: 0, duration_ns: Some(100), returned: true, ret: 0, arg0: 0, blocked_ns: 0, runq_ns: 0, fd_kind: None }
    }

    fn targets() -> Vec<CgroupName> {
        ["/a/web.service", "/b/web.service", "/db"]
            .iter()
            .map(|r| CgroupName { relative: r.to_string(), dir: PathBuf::from(format!("/sys/fs/cgroup{r}")) })
            .collect()
    }

    #[test]
    fn kernel_tags_name_the_target_and_short_names_stay_unique() {
        let mut groups = Groups::new(GroupBy::Cgroup, targets(), 10, None);
        groups.tag(100, 1);
        groups.tag(200, 2);
        groups.tag(300, 3);
        groups.tag(301, 3);
        for tgid in [100, 200, 300, 301, 301] {
            groups.record(&call(tgid, 0));
        }
        let names: Vec<(String, u64, u64)> = groups
            .groups
            .iter()
            .flatten()
            .map(|g| (g.name.clone(), g.processes, g.table.get(0).map_or(0, |s| s.calls)))
            .collect();
        assert_eq!(names, vec![("web.service".into(), 1, 1), ("/b/web.service".into(), 1, 1), ("db".into(), 2, 3)]);
        assert_eq!(groups.sorted()[0].name, "db");
    }

    #[test]
    fn the_cap_sends_new_groups_to_other_and_counts_them() {
        let mut groups = Groups::new(GroupBy::Cgroup, targets(), 2, None);
        for (tgid, target) in [(1, 1), (2, 2), (3, 3), (4, 3)] {
            groups.tag(tgid, target);
            groups.record(&call(tgid, 0));
        }
        let names: Vec<&str> = groups.groups.iter().flatten().map(|g| g.name.as_str()).collect();
        assert_eq!(names, vec!["web.service", "/b/web.service", OTHER]);
        assert_eq!(groups.overflowed, 2);
        assert_eq!(groups.groups[2].as_ref().unwrap().table.get(0).unwrap().calls, 2);
    }

    #[test]
    fn ended_groups_are_dropped_only_after_they_were_reported() {
        // Pids that cannot exist (above the kernel's pid_max limit of 2^22).
        let mut groups = Groups::new(GroupBy::Comm, Vec::new(), 10, None);
        let index = groups.group_for("short-lived", None);
        groups.join(5_000_000, index);
        let me = std::process::id();
        let mine = groups.group_for("me", None);
        groups.join(me, mine);
        groups.end_interval(1, true);
        assert_eq!(groups.groups[index].as_ref().unwrap().ended_at, Some(1), "ended, still reported once");
        groups.end_interval(2, false);
        assert!(groups.groups[index].is_some(), "not retired while its last figures were not served");
        groups.end_interval(3, true);
        assert!(groups.groups[index].is_none());
        assert_eq!(groups.retired, 1);
        assert!(groups.groups[mine].as_ref().is_some_and(|g| g.ended_at.is_none()), "a live process keeps its group");
        // The name can come back as a new group.
        assert_eq!(groups.group_for("short-lived", None), index);
    }

    #[test]
    fn a_process_gone_before_it_was_seen_is_named_by_its_end() {
        let mut groups = Groups::new(GroupBy::Comm, Vec::new(), 10, None);
        let gone = 5_000_001; // above pid_max's limit: never in /proc
        groups.record(&call(gone, 0));
        groups.record(&call(gone, 0));
        assert!(groups.sorted().is_empty(), "held until its end names it");
        groups.exited(gone, 0, "short");
        let group = groups.sorted()[0];
        assert_eq!((group.name.as_str(), group.table.get(0).unwrap().calls), ("short", 2));
        // One whose end never comes goes to "?" after two intervals, counted still.
        groups.record(&call(gone + 1, 0));
        groups.end_interval(1, false);
        assert_eq!(groups.sorted().len(), 1);
        groups.end_interval(2, false);
        assert!(groups.sorted().iter().any(|g| g.name == UNKNOWN && g.table.get(0).unwrap().calls == 1));
        assert_eq!(groups.held_records, 0);
    }

    #[test]
    fn the_kernel_is_told_of_placements_first_successes_and_retired_groups_in_order() {
        let mut groups = Groups::new(GroupBy::Comm, Vec::new(), 10, None);
        let me = std::process::id();
        let mine = groups.group_for("me", None);
        groups.join(me, mine);
        groups.record(&call(me, 39));
        groups.record(&call(me, 39));
        groups.record(&SyscallRecord { ret: -2, ..call(me, 2) });
        // Once a pair, and failures need events anyway.
        assert_eq!(groups.take_changes(), vec![GroupChange::Placed(me, mine), GroupChange::Seen(mine, 39)]);
        assert!(groups.take_changes().is_empty());
        // A process gone before it was looked at: placed with its records, then gone again.
        let gone = 5_000_002;
        groups.record(&call(gone, 39));
        groups.exited(gone, 0, "short");
        let short = groups.by_key["short"];
        assert_eq!(groups.take_changes(), vec![GroupChange::Gone(gone), GroupChange::Placed(gone, short), GroupChange::Seen(short, 39)]);
        groups.end_interval(1, true);
        groups.end_interval(2, true);
        assert_eq!(groups.take_changes(), vec![GroupChange::Gone(gone), GroupChange::Retired(short)]);
        // Its index, given again, is new to the kernel: the pair is seen anew.
        let again = groups.group_for("again", None);
        assert_eq!(again, short);
        groups.join(me, again);
        groups.record(&call(me, 39));
        assert_eq!(groups.take_changes(), vec![GroupChange::Placed(me, again), GroupChange::Seen(again, 39)]);
        // A pair the kernel had no row for is asked for again.
        groups.unsee(again, 39);
        groups.record(&call(me, 39));
        assert_eq!(groups.take_changes(), vec![GroupChange::Seen(again, 39)]);
    }

    #[test]
    fn own_cgroup_of_a_process_outside_the_targets() {
        let mut groups = Groups::new(GroupBy::Cgroup, Vec::new(), 10, Some(PathBuf::from("/sys/fs/cgroup")));
        groups.record(&call(std::process::id(), 0));
        let own = crate::host::procfs::process_cgroup(std::process::id()).unwrap();
        let group = groups.groups.iter().flatten().next().unwrap();
        assert_eq!(group.name, own.rsplit('/').find(|c| !c.is_empty()).unwrap_or("/"));
        assert!(is_below("/a/b", "/a") && !is_below("/ab", "/a") && is_below("/a", "/"));
    }
}
