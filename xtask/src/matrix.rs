//! `cargo xtask test`: the host suite (every test, as before), then the privileged end-to-end
//! tests (tests/tests/*.rs) again inside a VM per kernel of the matrix: one boot per kernel,
//! every suite in it, one after another. With the host suite, the .deb's checks (dist.rs), on
//! the release build the VMs run anyway. The last line totals host, package and VMs.
use std::{
    process::{Command, ExitCode, Stdio},
    time::Duration,
};

use anyhow::{bail, Context, Result};

use crate::{
    cargo, dist, kernels, setup,
    vm::{self, JobEnd, Machine, Spec},
    workspace_root,
};

/// What the VMs leave to the host, and why: a suite (a file of tests/tests) or one test.
/// Everything else there runs in every VM: it asserts exact counts, bytes, names, errors and
/// fd kinds, which must hold on every kernel. The host suite runs all of it regardless.
const HOST_ONLY: &[(&str, &str)] = &[
    ("blocked_read_latency_lands_in_the_caused_band", "asserts a latency band (p50 90-400 ms), which TCG's clock stretches"),
    ("a_read_blocked_on_a_pipe_is_blocked_time", "asserts a share of time (blocked >= 95%), which emulation distorts"),
    ("reads_competing_for_one_cpu_wait_in_the_run_queue", "asserts run-queue shares, which emulation distorts"),
    ("a_read_alone_on_its_cpu_never_waits_beyond_noise", "asserts an idle CPU's run queue, but an emulated vCPU waits for its host thread"),
    ("blocked_pipe_reads_counted_in_the_kernel_agree_with_events", "asserts blocked shares (>= 90%) and two tracers' latencies at the tail, which emulation distorts (the exact I/O counts run in the VMs: io_by_fd_kind_counted_in_the_kernel_agrees_with_events)"),
    ("kernel_counted_latencies_agree_with_events", "asserts two tracers' latencies within 1.5%, which emulation's longer programs and extra preemptions break (the exact counts run in the VMs: kernel_counts_agree_with_events)"),
    ("by_comm_counted_in_the_kernel_agrees_with_events", "asserts two tracers' latencies agree within 5% and the reader places a process within a 150 ms pause"),
    ("tracer_reports_the_throttling_and_the_run_queue_wait_it_causes", "asserts that a CPU quota more than doubles the readers' run-queue p99; under TCG they wait long without one too"),
    ("renaming_and_forking_new_names_stays_within_the_group_and_thread_caps", "asserts the reader's caps under 2000 forks, which depend on no kernel and take a minute under TCG"),
    ("the_caps_count_what_they_turned_away_in_the_metrics", "asserts the reader's caps and their metrics under 2000 forks, which depend on no kernel and take a minute under TCG"),
];

const KERNELS: &str = "5.10,6.1,6.12";
/// One VM at a time, with 2 vCPUs (the sched tests want a second CPU). Two at once on this
/// 2-core machine took 4 minutes each instead of 3, and the 20 ms slow-call tests failed.
const VM_CPUS: u32 = 2;
const VM_MEMORY_MIB: u32 = 4096;
/// One suite in a VM; the whole VM (boot, every suite, power-off).
const SUITE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const VM_TIMEOUT: Duration = Duration::from_secs(12 * 60);

#[derive(Clone, Copy, Default)]
struct Counts {
    passed: u64,
    failed: u64,
}

/// `cargo xtask test [--kernels LIST|none]`: without the option, the host suite and then every
/// kernel; with it, only the VMs of the kernels listed (`none`: only the host suite).
pub fn test(args: &[String]) -> Result<ExitCode> {
    let (host, kernels) = match args {
        [] => (true, KERNELS.to_string()),
        [flag, list] if flag == "--kernels" => (list == "none", if list == "none" { String::new() } else { list.clone() }),
        [flag] if flag.starts_with("--kernels=") => {
            let list = &flag["--kernels=".len()..];
            (list == "none", if list == "none" { String::new() } else { list.to_string() })
        }
        _ => bail!("usage: cargo xtask test [--kernels 5.10,6.1,6.12|none]"),
    };
    let kernels: Vec<&str> = kernels.split(',').map(str::trim).filter(|k| !k.is_empty()).collect();
    for series in &kernels {
        if !kernels::SERIES.iter().any(|(name, _)| name == series) {
            let known: Vec<&str> = kernels::SERIES.iter().map(|(name, _)| *name).collect();
            bail!("no kernel series {series}: the matrix knows {} (or none)", known.join(", "));
        }
    }

    setup::ensure()?;
    // One build for everything: the host suite, the .deb and the VMs all use the release build
    // (under TCG a debug tracer takes 6 s to start, BTF parsed by unoptimised code, a release
    // one 1.3 s). Overflow checks are on in release too (Cargo.toml), so the tests still catch
    // arithmetic overflow. A second, debug, build cost 5 minutes of a cold run.
    cargo(&["build", "--release", "--workspace", "--bins"])?;
    let mut lines = Vec::new();
    let mut total = Counts::default();
    let mut ok = true;
    if host {
        let (counts, success) = host_suite()?;
        lines.push(format!("host: {} passed, {} failed", counts.passed, counts.failed));
        total.passed += counts.passed;
        total.failed += counts.failed;
        ok &= success;
        // The .deb, from the release build (the VMs' below then has nothing left to do).
        let counts = package_checks();
        lines.push(format!("dist: {} passed, {} failed", counts.passed, counts.failed));
        total.passed += counts.passed;
        total.failed += counts.failed;
    }
    if !kernels.is_empty() {
        let results = vm_suites(&kernels);
        // Nothing could run (no VM could start, say): one failure per kernel, so that the
        // last line does not read as a success.
        let results = results.unwrap_or_else(|err| {
            println!("xtask: no VM ran: {err:#}");
            let none = |series: &&str| (series.to_string(), Counts { passed: 0, failed: 1 }, " (not run)".to_string());
            kernels.iter().map(none).collect()
        });
        for (series, counts, line) in results {
            lines.push(format!("kernel {series}{line}: {} passed, {} failed", counts.passed, counts.failed));
            total.passed += counts.passed;
            total.failed += counts.failed;
        }
    }
    for line in lines {
        println!("{line}");
    }
    println!("tests: {} passed, {} failed", total.passed, total.failed);
    Ok(if ok && total.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Every test on the host, through `cargo test`, as before the matrix: its output passed
/// through, its "test result" lines added up. Whether cargo succeeded.
fn host_suite() -> Result<(Counts, bool)> {
    use std::io::{BufRead, BufReader};
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // The end-to-end tests attach real programs; run them one at a time so the latency
    // assertions do not compete for the two cores. --no-fail-fast: every test binary runs even
    // after one fails, so the total is the whole suite's, not the part before the first failure.
    let mut child = Command::new(cargo)
        .args(["test", "--release", "--workspace", "--no-fail-fast", "--", "--test-threads=1"])
        .current_dir(workspace_root())
        .stdout(Stdio::piped())
        .spawn()
        .context("run cargo test")?;
    let mut counts = Counts::default();
    let mut binaries = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line?;
        println!("{line}");
        if let Some(result) = test_result(&line) {
            counts.passed += result.passed;
            counts.failed += result.failed;
            binaries += 1;
        }
    }
    let status = child.wait()?;
    if binaries == 0 {
        println!("host: no test ran (the build failed)");
    }
    Ok((counts, status.success() && binaries > 0))
}

/// `cargo xtask dist` and the package's checks, counted as tests; a package that cannot be built
/// is one failure.
fn package_checks() -> Counts {
    match dist::release_and_package() {
        Ok(deb) => {
            let checks = dist::check(&deb);
            let failed = checks.iter().filter(|c| c.result.is_err()).count() as u64;
            for check in checks.iter().filter(|c| c.result.is_err()) {
                println!("dist: failed: {}", check.name);
            }
            Counts { passed: checks.len() as u64 - failed, failed }
        }
        Err(err) => {
            println!("dist: no package: {err:#}");
            Counts { passed: 0, failed: 1 }
        }
    }
}

/// "test result: FAILED. 30 passed; 2 failed; 0 ignored; …" → (30, 2)
fn test_result(line: &str) -> Option<Counts> {
    let rest = line.strip_prefix("test result: ")?;
    let count = |word: &str| {
        rest.split([';', '.'])
            .find_map(|part| part.trim().strip_suffix(word).and_then(|n| n.trim().parse::<u64>().ok()))
            .unwrap_or(0)
    };
    Some(Counts { passed: count(" passed"), failed: count(" failed") })
}

/// One test binary of tests/tests, as the VMs run it.
struct Suite {
    name: String,
    argv: Vec<String>,
    /// How many tests it runs in a VM (what is left to the host skipped).
    tests: u64,
}

/// The end-to-end suites in a VM per kernel, one kernel after another: (series, counts,
/// " (version)" or " (not run)").
fn vm_suites(kernels: &[&str]) -> Result<Vec<(String, Counts, String)>> {
    let (suites, left) = plan()?;
    let expected: u64 = suites.iter().map(|s| s.tests).sum();
    let machine = Machine { cpus: VM_CPUS, memory_mib: VM_MEMORY_MIB, timeout: VM_TIMEOUT };
    let mut results = Vec::new();
    for series in kernels {
        let prefix = format!("[{series}]");
        // A kernel that cannot be had, or a VM that cannot start: one line, all its tests failed.
        let not_run = |err: anyhow::Error| {
            println!("{prefix} not run: {err:#}");
            (series.to_string(), Counts { passed: 0, failed: expected }, " (not run)".to_string())
        };
        let kernel = match kernels::ensure(series) {
            Ok(kernel) => kernel,
            Err(err) => {
                results.push(not_run(err));
                continue;
            }
        };
        println!("{prefix} booting Debian's {} for {} suites", kernel.release, suites.len());
        for (name, why) in &left {
            println!("{prefix} left to the host: {name} — {why}");
        }
        let jobs = suites.iter().map(|s| vm::Job { name: s.name.clone(), argv: s.argv.clone(), timeout: SUITE_TIMEOUT });
        let current = std::cell::Cell::new(usize::MAX);
        let print = |job: usize, line: &str| {
            if current.replace(job) != job {
                println!("{prefix} ── {}", suites[job].name);
            }
            println!("{prefix} {line}");
        };
        let spec = Spec::here(jobs.collect()).map(|spec| Spec { paths: vec![workspace_root()], ..spec });
        let outcome = match spec.and_then(|spec| vm::run(&kernel, &machine, &spec, &print)) {
            Ok(outcome) => outcome,
            Err(err) => {
                results.push(not_run(err));
                continue;
            }
        };
        let counts = count(&prefix, &suites, &outcome);
        if let Some(failure) = &outcome.failure {
            println!("{prefix} {failure}");
        }
        println!("{prefix} VM done in {}: {} passed, {} failed", minutes(outcome.wall), counts.passed, counts.failed);
        results.push((series.to_string(), counts, format!(" ({})", kernel.version)));
    }
    Ok(results)
}

/// Adds up the suites' results in one VM; names what failed. A suite that gave no result
/// (killed, or the VM ended first) counts its tests that did not pass as failed.
fn count(prefix: &str, suites: &[Suite], outcome: &vm::Outcome) -> Counts {
    let mut total = Counts::default();
    let mut failures = Vec::new();
    for (suite, (end, output)) in suites.iter().zip(&outcome.jobs) {
        let result = output.lines().rev().find_map(test_result);
        let counts = match (end, result) {
            (JobEnd::Exited(_), Some(result)) => result,
            _ => {
                let passed = output.lines().filter(|l| l.starts_with("test ") && l.ends_with(" ... ok")).count() as u64;
                let how = match end {
                    JobEnd::Exited(code) => format!("exited {code} without a result"),
                    JobEnd::Signaled(signal) => format!("killed by signal {signal}"),
                    JobEnd::TimedOut => format!("still running after {} s, killed", SUITE_TIMEOUT.as_secs()),
                    JobEnd::NotRun => "did not finish: the VM ended first".to_string(),
                };
                failures.push(format!("{} ({how})", suite.name));
                Counts { passed, failed: suite.tests.saturating_sub(passed) }
            }
        };
        failures.extend(output.lines().filter_map(|l| {
            l.strip_prefix("test ").and_then(|t| t.strip_suffix(" ... FAILED")).map(|t| format!("{}::{t}", suite.name))
        }));
        total.passed += counts.passed;
        total.failed += counts.failed;
    }
    for failure in failures {
        println!("{prefix} failed: {failure}");
    }
    total
}

fn minutes(d: Duration) -> String {
    format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
}

/// (name, why) of what the VMs leave to the host.
type Left = Vec<(String, String)>;

/// The suites to run in the VMs (built here), and what is left to the host with why.
fn plan() -> Result<(Vec<Suite>, Left)> {
    let mut suites = Vec::new();
    let mut left = Left::new();
    let mut seen = Vec::new();
    for (name, exe) in test_executables()? {
        let list = |skips: &[&str]| -> Result<Vec<String>> {
            let mut cmd = Command::new(&exe);
            cmd.args(["--list", "--exact"]);
            for skip in skips {
                cmd.args(["--skip", skip]);
            }
            let out = cmd.output().with_context(|| format!("list the tests of {name}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            Ok(text.lines().filter_map(|l| l.strip_suffix(": test")).map(str::to_string).collect())
        };
        let all = list(&[])?;
        seen.extend(all.iter().cloned());
        seen.push(name.clone());
        if let Some((_, why)) = HOST_ONLY.iter().find(|(n, _)| *n == name) {
            left.push((format!("{name} (suite)"), why.to_string()));
            continue;
        }
        let skips: Vec<&str> = HOST_ONLY.iter().map(|(n, _)| *n).filter(|n| all.iter().any(|t| t == n)).collect();
        for skip in &skips {
            let why = HOST_ONLY.iter().find(|(n, _)| n == skip).unwrap().1;
            left.push((format!("{name}::{skip}"), why.to_string()));
        }
        let tests = list(&skips)?.len() as u64;
        let mut argv = vec![exe.clone(), "--test-threads=1".to_string(), "--exact".to_string()];
        for skip in skips {
            argv.extend(["--skip".to_string(), skip.to_string()]);
        }
        suites.push(Suite { name, argv, tests });
    }
    // A test renamed or split leaves a stale entry: say so, or it would run in the VMs unnoticed.
    for (name, _) in HOST_ONLY {
        if !seen.iter().any(|known| known == name) {
            println!("xtask: HOST_ONLY names {name}, which is no suite or test of tests/tests");
        }
    }
    Ok((suites, left))
}

/// (suite name, executable) of every test target of tests/tests, built here.
fn test_executables() -> Result<Vec<(String, String)>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["test", "--release", "--workspace", "--no-run", "--message-format=json"])
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .context("run cargo test --no-run")?;
    if !out.status.success() {
        bail!("cargo test --no-run failed ({})", out.status);
    }
    let tests_dir = workspace_root().join("tests/tests");
    let mut suites = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let target = &message["target"];
        let in_tests = target["src_path"].as_str().is_some_and(|p| std::path::Path::new(p).starts_with(&tests_dir));
        let is_test = target["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "test"));
        if let (true, true, Some(name), Some(exe)) = (in_tests, is_test, target["name"].as_str(), message["executable"].as_str()) {
            suites.push((name.to_string(), exe.to_string()));
        }
    }
    suites.sort();
    suites.dedup();
    Ok(suites)
}
