//! Exports and `tracer compare`, end to end: real traces of a workload whose latency we set.
use std::{fs, path::PathBuf, process::Command};

use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
use hdrhistogram::{
    serialization::{interval_log::IntervalLogIterator, interval_log::LogEntry, Deserializer},
    Histogram,
};
use tracer_tests::{parse_duration_ns, trace, tracer, workload_bin};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tracer-export-test-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Traces `workload pipe-sleep READS SLEEP_MS` (each read blocks SLEEP_MS) with extra args.
fn trace_sleeping_reads(reads: &str, sleep_ms: &str, extra: &[&str]) -> tracer_tests::Summary {
    let cmd = workload_bin();
    let mut args = vec!["-e", "trace=read"];
    args.extend(extra);
    args.extend(["--", cmd.to_str().unwrap(), "pipe-sleep", reads, sleep_ms]);
    let (summary, output) = trace(&args);
    assert!(output.status.success(), "{output:?}");
    summary
}

/// `tracer compare ARGS`; these runs have 20 calls of interest, so keys with 10 count (not
/// the few reads of the dynamic loader) unless ARGS give their own `--min-count`.
fn compare(args: &[&str]) -> (i32, String, String) {
    let min_count: &[&str] = if args.contains(&"--min-count") { &[] } else { &["--min-count", "10"] };
    let out = tracer().arg("compare").args(min_count).args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn json(path: &PathBuf) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn decode(encoded: &str) -> Histogram<u64> {
    Deserializer::new().deserialize(&mut BASE64.decode(encoded).unwrap().as_slice()).unwrap()
}

fn key<'a>(export: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    export["keys"].as_array().unwrap().iter().find(|k| k["key"] == name).unwrap_or_else(|| panic!("no key {name}"))
}

#[test]
fn export_compare_passes_identical_and_fails_a_slowdown() {
    let dir = scratch("compare");
    let (base, slow) = (dir.join("base.json"), dir.join("slow.json"));
    trace_sleeping_reads("20", "10", &["--export", base.to_str().unwrap()]);
    trace_sleeping_reads("20", "40", &["--export", slow.to_str().unwrap()]);
    let (b, s) = (base.to_str().unwrap(), slow.to_str().unwrap());

    let (code, stdout, _) = compare(&[b, b, "--max-regression", "p50=10%", "--max-regression", "p99=10%"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("no regression"), "{stdout}");

    let (code, stdout, _) = compare(&[b, s, "--max-regression", "p50=20%", "--keys", "read,%network"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("REGRESSION") && stdout.contains("read"), "{stdout}");

    // The other way round is a speed-up: within bounds.
    let (code, stdout, _) = compare(&[s, b, "--max-regression", "p50=20%"]);
    assert_eq!(code, 0, "{stdout}");

    let (code, stdout, _) = compare(&[b, s, "--format", "markdown", "--max-regression", "p99=20%"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("| read | p99 |") && stdout.contains("**REGRESSION**"), "{stdout}");

    // Rare keys are ignored with --min-count; a comparison that checked nothing fails (2),
    // as does the default --min-count of 100 on these 20-call runs.
    let (code, stdout, _) = compare(&[b, s, "--min-count", "10", "--keys", "read,file:read"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("file:read") && stdout.contains("skipped: fewer than 10"), "file:read has a handful of calls:\n{stdout}");
    let (code, _, _) = compare(&[b, s, "--min-count", "1000"]);
    assert_eq!(code, 2);
    let out = tracer().args(["compare", b, s]).output().unwrap();
    let stderr2 = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr2}");
    assert!(stderr2.contains("nothing was compared"), "{stderr2}");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn compare_rejects_bad_files_with_exit_2() {
    let dir = scratch("bad");
    let good = dir.join("good.json");
    trace_sleeping_reads("3", "1", &["--export", good.to_str().unwrap()]);
    let g = good.to_str().unwrap();

    let text = fs::read_to_string(&good).unwrap();
    let truncated = dir.join("truncated.json");
    fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let mut value = json(&good);
    value["keys"][0]["histogram"] = "bm90IGEgaGlzdG9ncmFt".into();
    let corrupt = dir.join("corrupt.json");
    fs::write(&corrupt, value.to_string()).unwrap();
    value = json(&good);
    value["version"] = 99.into();
    let future = dir.join("future.json");
    fs::write(&future, value.to_string()).unwrap();

    for (file, expected) in [
        (truncated, "is not valid JSON"),
        (corrupt, "is corrupt"),
        (future, "has export version 99"),
        (dir.join("missing.json"), "cannot read"),
    ] {
        let (code, _, stderr) = compare(&[g, file.to_str().unwrap()]);
        assert_eq!(code, 2, "{}: {stderr}", file.display());
        assert!(stderr.contains(expected), "{}: {stderr}", file.display());
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn exported_histograms_reproduce_the_summary() {
    let dir = scratch("roundtrip");
    let export = dir.join("run.json");
    let summary = trace_sleeping_reads("10", "20", &["--export", export.to_str().unwrap()]);
    let value = json(&export);
    assert_eq!(value["schema"], "tracer-export");
    assert_eq!(value["version"], 1);
    assert_eq!(value["meta"]["lost_events"], 0);
    assert_eq!(value["meta"]["events"].as_u64(), Some(summary.received));
    // What the summary's last line says was counted in the kernel (the pipe reads, at least).
    let counted = summary.text.lines().last().and_then(|footer| footer.split("; ").last()).unwrap();
    let counted: u64 = counted.strip_suffix(" more calls counted in the kernel").unwrap_or("0").parse().unwrap();
    assert!(counted >= 10, "{}", summary.text);
    assert_eq!(value["meta"]["kernel_calls"].as_u64(), Some(counted), "{}", summary.text);
    assert!(value["meta"]["target"].as_str().unwrap().contains("pipe-sleep"));

    let read = key(&value, "read");
    let histogram = decode(read["histogram"].as_str().unwrap());
    assert_eq!(histogram.len(), summary.calls("read"));
    assert_eq!(read["calls"].as_u64(), Some(summary.calls("read")));
    let percentiles = summary.row("read").percentiles_ns.unwrap();
    for (quantile, field, shown) in [(0.5, "p50_ns", percentiles[0]), (0.99, "p99_ns", percentiles[2]), (0.999, "p999_ns", percentiles[3])] {
        let recomputed = histogram.value_at_quantile(quantile);
        assert_eq!(read[field].as_u64(), Some(recomputed), "{field}");
        // The summary shows three significant digits of the same value.
        let shown_again = parse_duration_ns(&tracer::report::format::format_ns(recomputed));
        assert_eq!(shown, shown_again, "{field}: summary {shown}, histogram {recomputed}");
    }
    assert_eq!(read["max_ns"].as_u64(), Some(histogram.max()));
    // Ten reads blocked ~20ms each: the median is one of them.
    assert!((18_000_000..=200_000_000).contains(&histogram.value_at_quantile(0.5)));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn interval_log_and_prometheus_add_up_to_the_summary() {
    let dir = scratch("logs");
    let (log, prom) = (dir.join("run.hlog"), dir.join("run.prom"));
    let summary = trace_sleeping_reads(
        "8",
        "50",
        &["-i", "100ms", "--interval-log", log.to_str().unwrap(), "--prometheus", prom.to_str().unwrap()],
    );
    let calls = summary.calls("read");
    assert!(calls >= 8);

    let text = fs::read(&log).unwrap();
    let mut intervals = std::collections::BTreeMap::<String, (u64, u64)>::new();
    for entry in IntervalLogIterator::new(&text) {
        if let LogEntry::Interval(h) = entry.expect("HdrHistogram's parser reads every line") {
            let tag = h.tag().expect("every line is tagged").as_str().to_string();
            let (lines, logged) = intervals.entry(tag).or_default();
            *lines += 1;
            *logged += decode(h.encoded_histogram()).len();
        }
    }
    let (read_lines, read_logged) = intervals.get("read").copied().unwrap_or_default();
    assert!(read_lines >= 3, "{read_lines} intervals of 100ms in a ~400ms run");
    assert_eq!(read_logged, calls, "the intervals add up to the total");
    // Network/I/O keys have their lines too: the 8 reads of the pipe, exactly.
    assert_eq!(intervals.get("pipe:read").map(|&(_, logged)| logged), Some(8), "{intervals:?}");
    assert!(intervals.keys().all(|tag| tag == "read" || tag.ends_with(":read")), "{intervals:?}");

    let prom = fs::read_to_string(&prom).unwrap();
    let metric = |line_start: &str| -> u64 {
        prom.lines().find(|l| l.starts_with(line_start)).unwrap_or_else(|| panic!("no {line_start} in\n{prom}")).rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(metric("tracer_syscall_duration_seconds_count{syscall=\"read\"}"), calls);
    assert_eq!(metric("tracer_syscall_duration_seconds_bucket{syscall=\"read\",le=\"+Inf\"}"), calls);
    assert!(metric("tracer_syscall_duration_seconds_bucket{syscall=\"read\",le=\"0.1\"}") >= 8);
    assert!(metric("tracer_syscall_duration_seconds_bucket{syscall=\"read\",le=\"0.025\"}") < 8, "{prom}");
    assert_eq!(metric("tracer_events_lost_total"), 0);
    // No temporary file is left behind.
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn top_without_a_terminal_prints_plain_tables() {
    let out = Command::new(tracer_tests::tracer_bin())
        .args(["top", "-i", "100ms", "-e", "trace=read", "--", workload_bin().to_str().unwrap(), "pipe-sleep", "4", "100"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.matches("--- ").count() >= 3, "periodic tables:\n{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("read ")), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("events: "), "the summary follows, on stderr:\n{stderr}");
    // Per-fd-kind rows show each interval's calls: over all the tables, exactly the 4 reads of
    // the pipe (the last table is the partial interval at the end).
    let pipe_reads: u64 = stdout
        .lines()
        .filter(|l| l.starts_with("pipe:read "))
        .map(|l| l.split_whitespace().nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(pipe_reads, 4, "{stdout}");
}

/// Each interval of `tracer top` shows a syscall's calls equal to the sum of its fd kinds' rows
/// (dd's reads and writes are of files, and its last words go to a pipe), and over the tables,
/// the writes to /dev/null are exactly dd's count. (A call
/// counted in the kernel between the reader's reads of its totals and of its histograms once
/// put it in the one row and not yet in the other: tens of calls apart at this rate.)
#[test]
fn top_intervals_agree_between_a_syscall_and_its_fd_kinds() {
    const WRITES: u64 = 2_000_000;
    let count = format!("count={WRITES}");
    let out = Command::new(tracer_tests::tracer_bin())
        .args(["top", "-i", "50ms", "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=1", &count])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let calls = |table: &str, row: &str| -> u64 {
        table.lines().find(|l| l.split_whitespace().next() == Some(row)).map_or(0, |l| l.split_whitespace().nth(2).unwrap().parse().unwrap())
    };
    let tables: Vec<&str> = stdout.split("--- ").skip(1).collect();
    assert!(tables.len() >= 4, "periodic tables:\n{stdout}");
    for table in &tables {
        for syscall in ["read", "write"] {
            let kinds: u64 = ["file", "pipe", "socket", "other"].iter().map(|kind| calls(table, &format!("{kind}:{syscall}"))).sum();
            assert_eq!(calls(table, syscall), kinds, "{syscall}:\n{table}");
        }
    }
    assert_eq!(tables.iter().map(|t| calls(t, "file:write")).sum::<u64>(), WRITES, "{stdout}");
}
