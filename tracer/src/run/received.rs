//! What came through the ring buffer, by kind of record (and syscall records by syscall and
//! outcome), told at the end with `TRACER_LOG=debug`: the records are tracer's cost above the
//! calls counted in the kernel, and this says which calls and hooks still send them.
use std::fmt::Write as _;

use rustc_hash::FxHashMap;

use crate::{kernel::event::Record, syscalls};

#[derive(Default)]
pub struct Received {
    /// By kind of record, in the order first seen.
    kinds: Vec<(&'static str, u64)>,
    /// Syscall records: (succeeded, failed) by syscall number.
    syscalls: FxHashMap<u32, (u64, u64)>,
}

/// Syscalls named in the line, those with the most records first.
const SYSCALLS_SHOWN: usize = 8;

impl Received {
    pub fn count(&mut self, record: &Record) {
        let kind = match record {
            Record::Syscall(rec) => {
                let counts = self.syscalls.entry(rec.nr).or_default();
                if rec.returned && rec.ret < 0 { counts.1 += 1 } else { counts.0 += 1 }
                "syscall"
            }
            Record::Slow(_) => "slow call",
            Record::Fork { .. } => "fork",
            Record::Sched(_) => "switch",
            Record::Socket(_) => "socket",
            Record::Connect(_) => "connect",
            Record::ProcessExit { .. } => "process end",
            Record::ThreadRow(_) => "thread row",
            Record::ThreadGone(_) => "thread end",
        };
        match self.kinds.iter_mut().find(|(name, _)| *name == kind) {
            Some((_, count)) => *count += 1,
            None => self.kinds.push((kind, 1)),
        }
    }

    /// `syscall 1200 (recvfrom failed 1000, clone 100, ...), socket 30, ...`; empty when none.
    pub fn line(&self) -> String {
        let mut line = String::new();
        for (kind, count) in &self.kinds {
            let _ = write!(line, "{}{kind} {count}", if line.is_empty() { "" } else { ", " });
            if *kind == "syscall" {
                let _ = write!(line, " ({})", self.by_syscall());
            }
        }
        line
    }

    fn by_syscall(&self) -> String {
        let mut parts: Vec<(u64, String)> = Vec::new();
        for (&nr, &(succeeded, failed)) in &self.syscalls {
            let name = syscalls::name(nr).map_or_else(|| format!("syscall {nr}"), str::to_string);
            parts.extend([(succeeded, name.clone()), (failed, format!("{name} failed"))].into_iter().filter(|&(count, _)| count > 0));
        }
        parts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let rest: u64 = parts.iter().skip(SYSCALLS_SHOWN).map(|(count, _)| count).sum();
        let mut shown: Vec<String> = parts.iter().take(SYSCALLS_SHOWN).map(|(count, name)| format!("{name} {count}")).collect();
        if rest > 0 {
            shown.push(format!("others {rest}"));
        }
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::event::SyscallRecord;

    fn call(nr: u32, ret: i64) -> Record {
        Record::Syscall(SyscallRecord {
            nr,
            tgid: 1,
            tid: 1,
            start_ns: 0,
            duration_ns: Some(1),
            returned: true,
            ret,
            arg0: 0,
            blocked_ns: 0,
            runq_ns: 0,
            fd_kind: None,
        })
    }

    #[test]
    fn syscall_records_are_told_by_syscall_and_outcome_most_first() {
        let mut received = Received::default();
        assert_eq!(received.line(), "");
        let read = syscalls::number("read").unwrap();
        let close = syscalls::number("close").unwrap();
        for record in [call(read, -11), call(read, -11), call(read, 5), call(close, 0), call(read, -11)] {
            received.count(&record);
        }
        received.count(&Record::Fork { parent_tgid: 1, child_pid: 2 });
        assert_eq!(received.line(), "syscall 5 (read failed 3, close 1, read 1), fork 1");
    }
}
