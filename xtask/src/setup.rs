//! Idempotent machine set-up. Each step checks first and acts only when something is missing.
use std::{path::Path, process::Command};

use anyhow::{bail, Context, Result};

/// Debian packages: LLVM 22 to build bpf-linker; bpftrace for the benchmark's comparison;
/// util-linux for `setpriv` (the no-privilege test); tmux for terminal tests; golang-go for
/// the Go program whose slow calls must show Go function names; strace and linux-perf for the
/// benchmark's side-by-side rows; prometheus, the real server that scrapes `tracer serve` in
/// the tests; for the kernel matrix's VMs, QEMU, kmod (depmod, to order the 9p modules),
/// busybox-static (the initramfs's shell) and xz-utils (the 6.12 kernel's modules are .ko.xz);
/// for `cargo xtask dist` and its checks, dpkg-dev (dpkg-shlibdeps computes Depends), man-db
/// (the pages must render without warnings), lintian, and zsh and fish (their completion
/// scripts must parse); bpftool, to check that nothing of tracer's is left in the kernel after
/// kill -9.
const APT_PACKAGES: &[&str] = &[
    "llvm-22-dev",
    "libpolly-22-dev",
    "bpftrace",
    "util-linux",
    "tmux",
    "golang-go",
    "strace",
    "linux-perf",
    "prometheus",
    // The web-config test makes its certificates with openssl and asks over https with curl.
    "openssl",
    "curl",
    "qemu-system-x86",
    "kmod",
    "busybox-static",
    "xz-utils",
    "bpftool",
    "dpkg-dev",
    "man-db",
    "lintian",
    "zsh",
    "fish",
    // The benchmark's real servers and their load tools.
    "nginx-light",
    "redis-server",
    "apache2-utils",
];
const BPF_LINKER_VERSION: &str = "0.13.0";
const LLVM_PREFIX: &str = "/usr/lib/llvm-22";

pub fn ensure() -> Result<()> {
    apt_packages()?;
    rust_src()?;
    bpf_linker()?;
    tracefs()
}

fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<()> {
    eprintln!("xtask setup: {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("{program} {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn apt_packages() -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|pkg| {
            let out = Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]).output();
            !matches!(out, Ok(o) if String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let noninteractive = [("DEBIAN_FRONTEND", "noninteractive")];
    run("apt-get", &["update", "-qq"], &noninteractive)?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    run("apt-get", &args, &noninteractive)
}

fn rust_src() -> Result<()> {
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output().context("rustc --print sysroot")?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    if Path::new(&sysroot).join("lib/rustlib/src/rust/library/core").exists() {
        return Ok(());
    }
    run("rustup", &["component", "add", "rust-src"], &[])
}

fn bpf_linker() -> Result<()> {
    let version = Command::new("bpf-linker").arg("--version").output();
    if matches!(&version, Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).contains(BPF_LINKER_VERSION)) {
        return Ok(());
    }
    // Default features want LLVM 23; Debian 12 ships 22. bpf-linker's build script looks for
    // the library under LLVM_PREFIX, llvm-sys for llvm-config under LLVM_SYS_221_PREFIX.
    run(
        "cargo",
        &["install", "--locked", "bpf-linker", "--version", BPF_LINKER_VERSION, "--no-default-features", "--features", "llvm-22"],
        &[("LLVM_PREFIX", LLVM_PREFIX), ("LLVM_SYS_221_PREFIX", LLVM_PREFIX)],
    )
}

/// The follow-forks tracepoint is found through tracefs, which a fresh machine may not mount.
fn tracefs() -> Result<()> {
    if Path::new("/sys/kernel/tracing/events").exists() {
        return Ok(());
    }
    run("mount", &["-t", "tracefs", "nodev", "/sys/kernel/tracing"], &[])
}
