//! What tracing cost the tracer itself (`--own-usage`): its CPU time from attach to the end, per
//! event received or call counted in the kernel, its peak memory, and, where the kernel counts them (`sysctl
//! kernel.bpf_stats_enabled=1`), its programs' run time. Nothing is measured on the hot path:
//! two getrusage calls and, at the end, one info query per program.
use std::{fmt::Write as _, time::Duration};

use crate::kernel::probes::ProgramRunTime;

/// The tracer's CPU time when tracing began.
pub struct OwnUsage {
    at_attach: Usage,
}

#[derive(Clone, Copy)]
struct Usage {
    user: Duration,
    system: Duration,
    peak_rss_kib: u64,
}

fn usage() -> Usage {
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF covers every thread.
    let mut raw: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut raw) };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Usage { user: time(raw.ru_utime), system: time(raw.ru_stime), peak_rss_kib: raw.ru_maxrss as u64 }
}

impl OwnUsage {
    pub fn start() -> Self {
        Self { at_attach: usage() }
    }

    /// One line: `tracer: own use: ...`.
    /// `calls`: events received and calls counted in the kernel.
    pub fn line(&self, calls: u64, programs: Option<ProgramRunTime>) -> String {
        let now = usage();
        let (user, system) = (now.user.saturating_sub(self.at_attach.user), now.system.saturating_sub(self.at_attach.system));
        let cpu = user + system;
        let mut line = format!(
            "tracer: own use: CPU {:.3}s from attach (user {:.3}s, system {:.3}s)",
            cpu.as_secs_f64(),
            user.as_secs_f64(),
            system.as_secs_f64()
        );
        if calls > 0 {
            let _ = write!(line, ", {:.0}ns per call or event", cpu.as_nanos() as f64 / calls as f64);
        }
        // Now and at the peak (start-up's BTF parse included): the ring buffer's pages count
        // once touched.
        let rss_kib = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
        if let Some(kib) = rss_kib {
            let _ = write!(line, "; RSS {:.1} MiB", kib as f64 / 1024.0);
        }
        let _ = write!(line, " (peak {:.1} MiB)", now.peak_rss_kib as f64 / 1024.0);
        match programs {
            Some(p) if p.runs > 0 => {
                let _ = write!(
                    line,
                    "; kernel programs {:.3}s in {} runs, {:.0}ns a run",
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
