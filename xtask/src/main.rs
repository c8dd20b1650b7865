//! Project tasks: `cargo xtask setup | run | test | bench`.
//!
//! Every task first runs `setup`, which installs what building and loading eBPF needs here
//! (LLVM 22 for bpf-linker, bpf-linker, rust-src, tracefs, and the tools the tests and the
//! benchmark drive) and does nothing, quietly, when all of it is already present.
mod bench;
mod kernels;
mod setup;
mod vm;

use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};

const USAGE: &str = "usage: cargo xtask <task>
  setup              install the toolchain pieces (idempotent)
  run [-- ARGS]      build and run tracer with ARGS (default: trace a demo dd workload)
  test               build everything and run all tests (unit and privileged end-to-end)
  vm --kernel SERIES [--cpus N] [--memory MIB] [--timeout SECS] -- COMMAND...
                     run COMMAND as root in a VM on Debian's kernel SERIES (5.10, 6.1, 6.12),
                     with this machine's root read-only and the current directory as cwd
  bench              measure overhead side by side; writes bench-results/ and BENCHMARKS.md";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str);
    let rest = args.iter().skip(1).skip_while(|a| *a == "--").cloned().collect::<Vec<_>>();
    match task {
        Some("setup") => setup::ensure().map(|()| ExitCode::SUCCESS),
        Some("run") => {
            setup::ensure()?;
            cargo(&["build", "--release", "--package", "tracer"])?;
            let args = if rest.is_empty() { demo_args() } else { rest };
            let status = Command::new(workspace_root().join("target/release/tracer"))
                .args(&args)
                .status()
                .context("run tracer")?;
            if !status.success() {
                bail!("tracer exited with {status}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some("test") => {
            setup::ensure()?;
            cargo(&["build", "--workspace", "--bins"])?;
            // The end-to-end tests attach real programs; run them one at a time so the latency
            // assertions do not compete for the two cores.
            // --no-fail-fast: every test binary runs even after one fails, so the total is the
            // whole suite's, not the part before the first failure.
            cargo_test(&["test", "--workspace", "--no-fail-fast", "--", "--test-threads=1"]).map(|()| ExitCode::SUCCESS)
        }
        Some("vm") => {
            setup::ensure()?;
            vm::command(&args[1..])
        }
        // PID 1 of a VM (see vm.rs); not for people.
        Some("__vm-guest") if args.len() == 2 => vm::guest(std::path::Path::new(&args[1])),
        Some("bench") => {
            setup::ensure()?;
            cargo(&["build", "--release", "--workspace", "--bins"])?;
            bench::run().map(|()| ExitCode::SUCCESS)
        }
        _ => bail!("{USAGE}"),
    }
}

fn demo_args() -> Vec<String> {
    eprintln!("xtask: no arguments given; tracing a demo workload (pass `-- -p PID` to trace a process)");
    ["--", "dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=200000"].map(String::from).to_vec()
}

pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo).args(args).current_dir(workspace_root()).status().context("run cargo")?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Runs `cargo test`, passing its output through, and ends with one line that totals every
/// test binary's "test result" line, so the last line says how many tests ran.
fn cargo_test(args: &[&str]) -> Result<()> {
    use std::io::{BufRead, BufReader};
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut child = Command::new(cargo)
        .args(args)
        .current_dir(workspace_root())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("run cargo test")?;
    let (mut passed, mut failed, mut binaries) = (0u64, 0u64, 0u64);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            let count = |word: &str| {
                rest.split([';', '.'])
                    .find_map(|part| part.trim().strip_suffix(word).and_then(|n| n.trim().parse::<u64>().ok()))
                    .unwrap_or(0)
            };
            passed += count(" passed");
            failed += count(" failed");
            binaries += 1;
        }
    }
    let status = child.wait()?;
    match binaries {
        0 => println!("tests: none ran (the build failed)"),
        _ => println!("tests: {passed} passed, {failed} failed"),
    }
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}
