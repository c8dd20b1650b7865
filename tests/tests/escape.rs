//! Safe against what it traces: names and paths a traced process sets reach the operator's
//! terminal escaped as strace escapes them, and a process that keeps renaming itself or forking
//! new names grows nothing past the stated caps, which count what they turned away.
use std::time::{Duration, Instant};

use tracer_tests::{
    assert_no_control_bytes, churn_command, http_get, output_within, tracer, Attached, HOSTILE_NAME_ESCAPED, HOSTILE_PATH_ESCAPED,
};

#[test]
fn names_and_paths_of_the_traced_process_are_escaped_in_slow_lines_and_summary() {
    let mut args = vec!["--slow", "0", "-e", "trace=openat", "-f", "--by", "comm", "--"].into_iter().map(String::from).collect::<Vec<_>>();
    args.extend(tracer_tests::hostile_command(&["fork"]));
    let output = output_within(tracer().args(&args), Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_no_control_bytes("stderr (slow lines and summary)", &output.stderr);
    // The slow line: `[tid name] openat(AT_FDCWD, "path", O_RDONLY) = -1 ENOENT ...`.
    let slow = stderr.lines().find(|l| l.contains(HOSTILE_PATH_ESCAPED)).unwrap_or_else(|| panic!("no slow line of the hostile path:\n{stderr}"));
    assert!(slow.contains(&format!(" {HOSTILE_NAME_ESCAPED}] openat(")), "{slow}");
    // The scheduler table names the thread last; `--by comm` heads the group's table with it.
    assert!(stderr.lines().any(|l| l.ends_with(&format!(" {HOSTILE_NAME_ESCAPED}"))), "scheduler table:\n{stderr}");
    assert!(stderr.contains(&format!("\ncomm {HOSTILE_NAME_ESCAPED} (1 process")), "--by comm header:\n{stderr}");
}

/// Children forked by a process that renames itself in between.
const CHURN: usize = 2000;
const MAX_GROUPS: usize = 8;

/// Groups headed in a `--by comm` summary, and the processes it says overflowed the cap.
fn groups_and_overflow(stderr: &str) -> (usize, u64) {
    let groups = stderr.lines().filter(|l| l.starts_with("comm ")).count();
    let overflow = stderr
        .lines()
        .find_map(|l| l.strip_suffix(" processes beyond --max-groups are in the group \"other\""))
        .unwrap_or_else(|| panic!("no overflow line:\n{stderr}"));
    (groups, overflow.parse().unwrap())
}

#[test]
fn renaming_and_forking_new_names_stays_within_the_group_and_thread_caps() {
    let churn = CHURN.to_string();
    for view in ["trace", "top"] {
        let max = MAX_GROUPS.to_string();
        let mut args: Vec<String> = ["-f", "--by", "comm", "--max-groups", &max, "-e", "trace=openat", "--"].map(String::from).to_vec();
        if view == "top" {
            // Not a terminal: top writes its plain table each interval, the summary at the end.
            args.insert(0, "top".into());
        }
        args.extend(churn_command(&[&churn]));
        let output = output_within(tracer().args(&args), Duration::from_secs(300));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{view}: {stderr}");
        let (groups, overflow) = groups_and_overflow(&stderr);
        // The cap's groups, "other", and the parent's own.
        assert!(groups <= MAX_GROUPS + 2, "{view}: {groups} groups:\n{stderr}");
        assert!(overflow as usize >= CHURN - MAX_GROUPS - 2, "{view}: {overflow} overflowed:\n{stderr}");
        let more = stderr.lines().find_map(|l| l.strip_prefix("... and ")?.strip_suffix(" more threads")?.parse::<usize>().ok());
        // Each child sleeps once: a thread of the scheduler's table, capped at 256.
        assert!(more.is_some_and(|n| n >= CHURN - 256), "{view}: threads past the table's cap:\n{stderr}");
    }
}

#[test]
fn the_caps_count_what_they_turned_away_in_the_metrics() {
    let done = std::env::temp_dir().join(format!("tracer-test-{}-churned", std::process::id()));
    let _ = std::fs::remove_file(&done);
    let (churn, max) = (CHURN.to_string(), MAX_GROUPS.to_string());
    let mut args: Vec<String> =
        ["serve", "--listen", "127.0.0.1:0", "-i", "200ms", "-f", "--by", "comm", "--max-groups", &max, "-e", "trace=openat", "--"].map(String::from).to_vec();
    args.extend(churn_command(&[&churn, done.to_str().unwrap(), "30"]));
    let agent = Attached::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let line = agent.wait_for_stderr("serving metrics on http://");
    let addr = line.split("http://").nth(1).and_then(|rest| rest.strip_suffix("/metrics")).expect("address").to_string();
    let deadline = Instant::now() + Duration::from_secs(240);
    while !done.exists() {
        assert!(Instant::now() < deadline, "the churn never ended");
        std::thread::sleep(Duration::from_millis(200));
    }
    let value = |page: &str, series: &str| -> f64 {
        let line = page.lines().find(|l| l.starts_with(series)).unwrap_or_else(|| panic!("no {series}:\n{page}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    // Two intervals: every fork's figures are in.
    std::thread::sleep(Duration::from_millis(600));
    let (status, page) = http_get(&addr, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(value(&page, "tracer_groups{by=\"comm\"}") <= (MAX_GROUPS + 2) as f64, "{page}");
    // Groups whose processes ended are retired once scraped, which makes room: most, not all,
    // of the children overflowed.
    assert!(value(&page, "tracer_group_overflow_total") >= (CHURN / 2) as f64, "{page}");
    assert!(value(&page, "tracer_threads_dropped_total") >= (CHURN / 2) as f64, "{page}");
    assert!(value(&page, "process_resident_memory_bytes") < (256 << 20) as f64, "{page}");
    let _ = std::fs::remove_file(&done);
}
