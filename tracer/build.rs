//! Builds the kernel programs (`tracer-ebpf`) for `bpfel-unknown-none` so that the tracer binary
//! can embed them and needs no file at run time.
//!
//! The promised toolchain is stable; `-Z build-std=core` needs `RUSTC_BOOTSTRAP=1`, `rust-src`
//! and `bpf-linker` (`cargo xtask setup` installs both).
use std::{env, path::PathBuf, process::Command};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap();
    let ebpf_dir = root.join("tracer-ebpf");
    for watched in ["tracer-ebpf/src", "tracer-ebpf/Cargo.toml", "tracer-ebpf/Cargo.lock", "tracer-common/src"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target_dir = out_dir.join("ebpf-target");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    let mut cmd = Command::new(cargo);
    cmd.current_dir(&ebpf_dir)
        .args(["build", "--release", "--locked", "--target", "bpfel-unknown-none", "-Z", "build-std=core"])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        // Emit BTF for the programs' maps and functions (bpf-linker needs debug info for it).
        .env("CARGO_ENCODED_RUSTFLAGS", "-Cdebuginfo=2\x1f-Clink-arg=--btf");
    // Flags meant for the host build must not leak into the BPF build.
    for var in ["RUSTFLAGS", "RUSTC_WORKSPACE_WRAPPER", "RUSTC_WRAPPER", "CARGO_BUILD_TARGET", "CARGO_TARGET_DIR"] {
        cmd.env_remove(var);
    }
    for (key, _) in env::vars() {
        if key.starts_with("CARGO_FEATURE_") || key.starts_with("CARGO_CFG_") || key.starts_with("CARGO_PKG_") {
            cmd.env_remove(key);
        }
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("cannot run cargo for tracer-ebpf: {e}"));
    if !status.success() {
        panic!(
            "building the eBPF programs failed ({status}); run `cargo xtask setup` to install \
             bpf-linker and rust-src"
        );
    }
    let object = target_dir.join("bpfel-unknown-none/release/tracer-ebpf");
    std::fs::copy(&object, out_dir.join("tracer.bpf.o"))
        .unwrap_or_else(|e| panic!("cannot copy {}: {e}", object.display()));
}
