//! Slow calls as people read them: one strace-shaped line per call as it completes (with
//! `-tt -T`'s time and duration, and where the time went), its stack as `strace -k` prints it,
//! and the summary's sections: the slowest calls whole, and the calls grouped by call site.
use std::{fmt::Write as _, io::Write};

use super::format::{format_ns, WallClock};
use crate::{
    model::slow::{SlowCall, SlowCalls},
    syscalls::format::escape,
};

/// `12:00:01.234567 [4711 worker] read(7<pipe>, 1) = 1 <0.050123> cpu 0% runq 1% blocked 99%`;
/// the split only where the scheduler programs measured it; a Go program's call ends with its
/// goroutine (`goroutine 18`, as `runtime.Stack` names it).
pub fn line(call: &SlowCall, clock: &WallClock, split: bool) -> String {
    let mut out = format!(
        "{} [{} {}] {} <{:.6}>",
        clock.time_of_day(call.start_ns),
        call.tid,
        escape(&call.comm),
        call.text,
        call.duration_ns as f64 / 1e9
    );
    if split && call.duration_ns > 0 {
        let pct = |ns: u64| 100.0 * ns.min(call.duration_ns) as f64 / call.duration_ns as f64;
        let blocked = pct(call.blocked_ns);
        let runq = pct(call.runq_ns).min(100.0 - blocked);
        let _ = write!(out, " cpu {:.0}% runq {runq:.0}% blocked {blocked:.0}%", 100.0 - blocked - runq);
    }
    if let Some(goroutine) = call.goroutine {
        let _ = write!(out, " goroutine {goroutine}");
    }
    out
}

/// The call's stack, innermost first, as `strace -k` shows it: ` > function (file:line)`;
/// kernel frames first, marked `[k]`.
pub fn stack_lines(call: &SlowCall) -> String {
    let mut out = String::new();
    for frame in &call.kernel_stack {
        let _ = writeln!(out, " > [k] {}", escape(&frame.function));
    }
    for frame in &call.user_stack {
        // The names are the traced binary's.
        let _ = writeln!(out, " > {}", escape(frame.to_string()));
    }
    out
}

/// Where the lines go while tracing: stderr, or the `-o` file (then the summary follows them).
pub struct SlowLines {
    out: Box<dyn Write + Send>,
    clock: WallClock,
    split: bool,
    failed: bool,
}

impl SlowLines {
    pub fn new(out: Box<dyn Write + Send>, clock: WallClock, split: bool) -> Self {
        Self { out, clock, split, failed: false }
    }

    pub fn print(&mut self, call: &SlowCall) {
        if self.failed {
            return;
        }
        let text = format!("{}\n{}", line(call, &self.clock, self.split), stack_lines(call));
        // A reader gone (a closed pipe) ends the lines, not the trace: the summary still counts.
        if self.out.write_all(text.as_bytes()).and_then(|()| self.out.flush()).is_err() {
            self.failed = true;
        }
    }

    /// The writer back, for the summary that follows the lines.
    pub fn into_inner(self) -> Box<dyn Write + Send> {
        self.out
    }
}

/// Frames shown for a call site in the grouped table.
const SITE_FRAMES: usize = 5;
/// Call sites shown.
const SITE_ROWS: usize = 20;

/// The summary's sections: the slowest calls whole, the calls by call site, and what could
/// not be had (records lost, stacks unreadable), never silent.
pub fn render(slow: &SlowCalls, lost_records: u64, clock: &WallClock, split: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nslow calls (at least {}): {}, {} in all; the {} slowest:",
        format_ns(slow.threshold_ns),
        slow.count,
        format_ns(slow.total_ns),
        slow.slowest.len()
    );
    for call in &slow.slowest {
        let _ = writeln!(out, "{}", line(call, clock, split));
        out.push_str(&stack_lines(call));
    }
    let sites = slow.sites();
    if sites.iter().any(|site| !site.user_stack.is_empty() || !site.kernel_stack.is_empty()) {
        let plural = if sites.len() == 1 { "" } else { "s" };
        let _ = writeln!(out, "\nslow calls by where they came from ({} call site{plural}, most time first; innermost frame first):", sites.len());
        let _ = writeln!(out, "{:>8} {:>9} {:>9}  stack", "calls", "total", "max");
        let shown = &sites[..sites.len().min(SITE_ROWS)];
        let stacks: Vec<Vec<&str>> = shown.iter().map(|site| site.user_stack.iter().map(|f| f.function.as_str()).collect()).collect();
        for (i, site) in shown.iter().enumerate() {
            let others: Vec<&[&str]> = stacks.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, s)| s.as_slice()).collect();
            let where_from = escape(site_label(&stacks[i], &others));
            let _ = writeln!(out, "{:>8} {:>9} {:>9}  {where_from}", site.count, format_ns(site.total_ns), format_ns(site.max_ns));
        }
    }
    let failures = slow.stack_failures;
    let mut missing = Vec::new();
    if lost_records > 0 {
        missing.push(format!("{lost_records} slow-call records lost (ring buffer full; those calls are counted in the tables, not here)"));
    }
    if failures.user_unreadable > 0 {
        missing.push(format!("{} user stacks unreadable", failures.user_unreadable));
    }
    if failures.user_truncated > 0 {
        missing.push(format!("{} user stacks cut after one frame (code without frame pointers)", failures.user_truncated));
    }
    if failures.kernel_unreadable > 0 {
        missing.push(format!("{} kernel stacks unreadable", failures.kernel_unreadable));
    }
    if failures.binaries_unreadable > 0 {
        let plural = if failures.binaries_unreadable == 1 { "binary's symbols" } else { "binaries' symbols" };
        missing.push(format!("{} {plural} unreadable (malformed; frames shown as module+offset)", failures.binaries_unreadable));
    }
    if !missing.is_empty() {
        let _ = writeln!(out, "warning: {}", missing.join("; "));
    }
    out
}

/// A call site's frames as its row shows them (innermost first): its innermost `SITE_FRAMES`;
/// or, where another row shares those, its innermost two, then the frames from where it parts
/// from the row most like it, so that rows that differ show where.
fn site_label(frames: &[&str], others: &[&[&str]]) -> String {
    if frames.is_empty() {
        return "(no user stack)".to_string();
    }
    let shared = others.iter().map(|other| frames.iter().zip(other.iter()).take_while(|(a, b)| a == b).count()).max().unwrap_or(0);
    let more = |shown_to: usize| if frames.len() > shown_to { " < ..." } else { "" };
    if shared < SITE_FRAMES.min(frames.len()) || shared >= frames.len() {
        let head = &frames[..frames.len().min(SITE_FRAMES)];
        return head.join(" < ") + more(head.len());
    }
    let tail_end = frames.len().min(shared + SITE_FRAMES - 2);
    format!("{} < ... < {}{}", frames[..2].join(" < "), frames[shared..tail_end].join(" < "), more(tail_end))
}

/// Writes to a shared buffer, for tests of what was printed.
#[cfg(test)]
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(test)]
impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod site_tests {
    use super::site_label;

    #[test]
    fn rows_that_share_their_innermost_frames_show_where_they_part() {
        let scheduler = ["runtime.futex", "runtime.notesleep", "runtime.stopm", "runtime.findRunnable", "runtime.schedule"];
        let a: Vec<&str> = scheduler.iter().copied().chain(["runtime.park_m", "runtime.mcall"]).collect();
        let b: Vec<&str> = scheduler.iter().copied().chain(["runtime.goschedImpl", "runtime.gosched_m", "runtime.mcall"]).collect();
        assert_eq!(
            site_label(&a, &[&b]),
            "runtime.futex < runtime.notesleep < ... < runtime.park_m < runtime.mcall"
        );
        assert_eq!(
            site_label(&b, &[&a]),
            "runtime.futex < runtime.notesleep < ... < runtime.goschedImpl < runtime.gosched_m < runtime.mcall"
        );
        // Rows that part early keep their innermost frames.
        let c = ["read", "main.reader", "main.main"];
        assert_eq!(site_label(&c, &[&a]), "read < main.reader < main.main");
        assert_eq!(site_label(&a, &[&c]), "runtime.futex < runtime.notesleep < runtime.stopm < runtime.findRunnable < runtime.schedule < ...");
        assert_eq!(site_label(&[], &[&a]), "(no user stack)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::slow::Frame;

    fn call() -> SlowCall {
        SlowCall {
            tgid: 10,
            tid: 11,
            comm: "worker".into(),
            start_ns: 1_000,
            duration_ns: 50_000_000,
            blocked_ns: 45_000_000,
            runq_ns: 1_000_000,
            text: "read(3<pipe>, 1) = 1".into(),
            user_stack: vec![
                Frame { function: "read".into(), location: None },
                Frame { function: "slow_reader".into(), location: Some("workload.rs:10".into()) },
            ],
            kernel_stack: vec![Frame { function: "pipe_read".into(), location: None }],
            goroutine: None,
        }
    }

    #[test]
    fn a_line_in_strace_shape_with_the_split() {
        let clock = WallClock::now();
        let text = line(&call(), &clock, true);
        assert!(text.ends_with("[11 worker] read(3<pipe>, 1) = 1 <0.050000> cpu 8% runq 2% blocked 90%"), "{text}");
        let go = SlowCall { goroutine: Some(18), ..call() };
        assert!(line(&go, &clock, true).ends_with("blocked 90% goroutine 18"));
        assert_eq!(text.as_bytes()[2], b':', "{text}");
        assert_eq!(stack_lines(&call()), " > [k] pipe_read\n > read\n > slow_reader (workload.rs:10)\n");
    }

    #[test]
    fn printed_lines_and_the_summary() {
        let captured = Captured::default();
        let mut lines = SlowLines::new(Box::new(captured.clone()), WallClock::now(), false);
        lines.print(&call());
        let printed = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(printed.contains("read(3<pipe>, 1) = 1 <0.050000>\n > [k] pipe_read\n"), "{printed}");
        let mut slow = SlowCalls::new(20_000_000, 20);
        slow.record(call());
        slow.record(call());
        let text = render(&slow, 1, &WallClock::now(), false);
        assert!(text.contains("slow calls (at least 20.0ms): 2, 100ms in all; the 2 slowest:"), "{text}");
        assert!(text.contains("       2     100ms    50.0ms  read < slow_reader\n"), "{text}");
        assert!(text.contains("warning: 1 slow-call records lost"), "{text}");
    }
}
