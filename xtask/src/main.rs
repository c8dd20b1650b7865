//! Project tasks: `cargo xtask setup | run | test | vm | bench | dist`.
//!
//! Every task first runs `setup`, which installs what building and loading eBPF needs here
//! (LLVM 22 for bpf-linker, bpf-linker, rust-src, tracefs, the tools the tests and the
//! benchmark drive, and QEMU for the kernel matrix) and does nothing, quietly, when all of it
//! is already present.
mod bench;
mod dist;
mod kernels;
mod matrix;
mod setup;
mod vm;

use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};

const USAGE: &str = "usage: cargo xtask <task>
  setup              install the toolchain pieces (idempotent)
  run [-- ARGS]      build and run tracer with ARGS (default: trace a demo dd workload)
  test [--kernels 5.10,6.1,6.12|none]
                     build everything and run all tests (unit and privileged end-to-end) on the
                     host, then the end-to-end ones in a VM per kernel; with --kernels, only
                     those VMs (none: only the host)
  vm --kernel SERIES [--cpus N] [--memory MIB] [--timeout SECS] -- COMMAND...
                     run COMMAND as root in a VM on Debian's kernel SERIES (5.10, 6.1, 6.12),
                     with this machine's root read-only and the current directory as cwd
  bench              measure overhead side by side; writes bench-results/ and BENCHMARKS.md
  dist [--check]     build target/dist/tracer_<version>_<arch>.deb (binary, man pages, shell
                     completions, systemd unit); --check: test it as `cargo xtask test` does";

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
        Some("test") => matrix::test(&args[1..]),
        Some("vm") => {
            setup::ensure()?;
            vm::command(&args[1..])
        }
        // PID 1 of a VM (see vm.rs); not for people.
        Some("__vm-guest") if args.len() == 2 => vm::guest(std::path::Path::new(&args[1])),
        Some("bench") => {
            setup::ensure()?;
            cargo(&["build", "--release", "--workspace", "--bins"])?;
            // The reference programs and their `floor` helper, which the product never carries.
            cargo(&["build", "--release", "--package", "xtask", "--features", "bench", "--bin", "floor"])?;
            bench::run().map(|()| ExitCode::SUCCESS)
        }
        Some("dist") if rest.is_empty() || rest == ["--check"] => {
            setup::ensure()?;
            let deb = dist::release_and_package()?;
            println!("{}", deb.display());
            if rest.is_empty() {
                return Ok(ExitCode::SUCCESS);
            }
            let failed = dist::check(&deb).iter().filter(|c| c.result.is_err()).count();
            Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
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
