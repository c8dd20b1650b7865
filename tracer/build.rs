//! Builds the kernel programs (`tracer-ebpf`) for `bpfel-unknown-none` so that the tracer binary
//! can embed them and needs no file at run time. With the `bench` feature, it also builds the
//! benchmark's reference object.
//!
//! The promised toolchain is stable; `-Z build-std=core` needs `RUSTC_BOOTSTRAP=1`, `rust-src`
//! and `bpf-linker` (`cargo xtask setup` installs both).
use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap();
    for watched in ["tracer-ebpf/src", "tracer-ebpf/Cargo.toml", "tracer-ebpf/Cargo.lock", "tracer-common/src"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let ebpf = Ebpf { dir: root.join("tracer-ebpf"), target_dir: out_dir.join("ebpf-target") };

    let object = ebpf.build("tracer-ebpf", &[]);
    copy(&object, &out_dir.join("tracer.bpf.o"));
    if env::var_os("CARGO_FEATURE_BENCH").is_some() {
        let reference = ebpf.build("tracer-ebpf-reference", &["--features", "reference"]);
        copy(&reference, &out_dir.join("reference.bpf.o"));
    }
}

struct Ebpf {
    dir: PathBuf,
    target_dir: PathBuf,
}

impl Ebpf {
    /// Builds binary `bin` of tracer-ebpf (with `args`): the path of its object.
    fn build(&self, bin: &str, args: &[&str]) -> PathBuf {
        let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&self.dir)
            .args(["build", "--release", "--locked", "--target", "bpfel-unknown-none", "-Z", "build-std=core", "--bin", bin])
            .args(args)
            .arg("--target-dir")
            .arg(&self.target_dir)
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
        self.target_dir.join("bpfel-unknown-none/release").join(bin)
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("cannot copy {}: {e}", from.display()));
}
