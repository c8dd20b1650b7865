//! What tracing cost the tracer itself (`--own-usage`): its CPU time from attach to the end, per
//! event received or call counted in the kernel, its memory now and at the peak, and, where the
//! kernel counts them (`sysctl kernel.bpf_stats_enabled=1`), its programs' run time. Nothing is
//! measured on the hot path: its usage is read at attach and at the end, with one info query per
//! program.
use std::fmt::Write as _;

use crate::kernel::probes::ProgramRunTime;

/// The tracer process's use so far: user and system CPU of every thread (getrusage), resident
/// memory now (/proc/self/statm) and at its peak.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessUsage {
    pub user: std::time::Duration,
    pub system: std::time::Duration,
    pub resident_bytes: u64,
    /// Of `resident_bytes`, the anonymous part (heap, stacks). The rest is file-backed: the
    /// binary, and the kernel's maps mapped in (the ring buffer, twice, and the histograms),
    /// memory the kernel holds for the maps whether mapped or not.
    pub anonymous_bytes: u64,
    pub peak_resident_bytes: u64,
}

impl ProcessUsage {
    pub fn now() -> Self {
        // statm: size, resident, shared (file-backed), ... in pages.
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let field = |n: usize| -> u64 { statm.split_whitespace().nth(n).and_then(|v| v.parse().ok()).unwrap_or(0) };
        let (pages, shared) = (field(1), field(2));
        // SAFETY: sysconf and getrusage only write the struct they are given.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        let time = |t: libc::timeval| std::time::Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        Self {
            user: time(usage.ru_utime),
            system: time(usage.ru_stime),
            resident_bytes: pages * page,
            anonymous_bytes: pages.saturating_sub(shared) * page,
            // ru_maxrss is in KiB.
            peak_resident_bytes: usage.ru_maxrss as u64 * 1024,
        }
    }
}

/// The tracer's CPU time when tracing began.
pub struct OwnUsage {
    at_attach: ProcessUsage,
}

impl OwnUsage {
    pub fn start() -> Self {
        Self { at_attach: ProcessUsage::now() }
    }

    /// One line: `tracer: own use: ...`.
    /// `calls`: events received and calls counted in the kernel.
    pub fn line(&self, calls: u64, programs: Option<ProgramRunTime>) -> String {
        let now = ProcessUsage::now();
        let (user, system) = (now.user.saturating_sub(self.at_attach.user), now.system.saturating_sub(self.at_attach.system));
        let cpu = user + system;
        // To the microsecond, as getrusage gives it: a short trace's cost is a few milliseconds.
        let mut line = format!(
            "tracer: own use: CPU {:.6}s from attach (user {:.6}s, system {:.6}s)",
            cpu.as_secs_f64(),
            user.as_secs_f64(),
            system.as_secs_f64()
        );
        if calls > 0 {
            let _ = write!(line, ", {:.0}ns per call or event", cpu.as_nanos() as f64 / calls as f64);
        }
        // Now and at the peak (start-up's BTF parse included); the kernel's maps that the reader
        // maps in count in it, so the anonymous part is told apart.
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        let _ = write!(
            line,
            "; RSS {:.1} MiB (peak {:.1} MiB), anonymous {:.1} MiB (the rest: the binary and the kernel's maps, mapped in)",
            mib(now.resident_bytes),
            mib(now.peak_resident_bytes),
            mib(now.anonymous_bytes)
        );
        match programs {
            Some(p) if p.runs > 0 => {
                let _ = write!(
                    line,
                    "; kernel programs {:.6}s in {} runs, {:.0}ns a run",
                    p.time.as_secs_f64(),
                    p.runs,
                    p.time.as_nanos() as f64 / p.runs as f64
                );
            }
            Some(_) => line.push_str("; kernel programs: no runs"),
            None => line.push_str("; kernel programs not counted (sysctl kernel.bpf_stats_enabled=1 counts them, at two clock reads a run)"),
        }
        line
    }
}
