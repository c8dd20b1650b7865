//! Looks at the traced processes once each, on a thread of its own (a Go binary's build info is
//! read from its file, tens of MiB), for the Go runtime's GOMAXPROCS against the CPU quota of
//! the process's cgroup.
use std::{
    collections::HashSet,
    sync::{mpsc, Arc, Mutex},
};

use crate::{
    host::{cgroup_cpu::CpuCgroup, go, names},
    model::go_runtime::GoSeen,
};

/// Processes looked at, at most: a trace of many short-lived processes must not read a binary
/// for each.
const MAX_LOOKS: usize = 256;

pub struct GoWatch {
    asked: HashSet<u32>,
    to_look: mpsc::Sender<u32>,
    found: Arc<Mutex<Vec<GoSeen>>>,
    /// Looks finished, to wait for the last ones at the end.
    done: Arc<std::sync::atomic::AtomicUsize>,
}

impl Default for GoWatch {
    fn default() -> Self {
        let (to_look, pids) = mpsc::channel::<u32>();
        let found = Arc::new(Mutex::new(Vec::new()));
        let results = found.clone();
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let finished = done.clone();
        std::thread::spawn(move || {
            for pid in pids {
                let _counted = Finished(&finished);
                let quota_cpus = CpuCgroup::of_pid(pid).ok().flatten().and_then(|c| c.limit().ok()).and_then(|l| l.cpus());
                match go::inspect(pid, quota_cpus) {
                    Ok(Some(go)) => {
                        let comm = names::comm(pid);
                        if let Ok(mut found) = results.lock() {
                            found.push(GoSeen { go, comm, quota_cpus });
                        }
                    }
                    Ok(None) => {}
                    Err(e) => log::debug!("pid {pid}: {e:#}"),
                }
            }
        });
        Self { asked: HashSet::new(), to_look, found, done }
    }
}

/// Counts a look as finished however it ends.
struct Finished<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

impl GoWatch {
    /// Looks at `pid` once (after its exec: call it once the process has run for a while).
    pub fn look_at(&mut self, pid: u32) {
        if self.asked.len() < MAX_LOOKS && self.asked.insert(pid) {
            let _ = self.to_look.send(pid);
        }
    }

    /// Waits, at most `limit`, for the looks asked for to finish.
    pub fn settle(&self, limit: std::time::Duration) {
        let deadline = std::time::Instant::now() + limit;
        while self.done.load(std::sync::atomic::Ordering::Acquire) < self.asked.len() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// The Go processes found so far, by pid.
    pub fn found(&self) -> Vec<GoSeen> {
        let mut found = self.found.lock().map(|f| f.clone()).unwrap_or_default();
        found.sort_by_key(|seen| seen.go.pid);
        found
    }
}
