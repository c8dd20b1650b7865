//! Builds the kernel programs (`tracer-ebpf`) for `bpfel-unknown-none` so that the tracer binary
//! can embed them and needs no file at run time.
//!
//! The promised toolchain is stable; `-Z build-std=core` needs `RUSTC_BOOTSTRAP=1`, `rust-src`
//! and `bpf-linker` (`cargo xtask setup` installs both).
//!
//! It also sets `TRACER_VERSION` for `tracer --version`: "0.1.0 (abc1234)", the commit the
//! binary was built from, or the bare version when built outside a git checkout.
use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap();
    version(root);
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

/// `TRACER_VERSION`: the package version, and the commit when `root` is the top of a git
/// checkout (not a tree unpacked inside some other repository). Reruns when HEAD moves.
fn version(root: &Path) {
    let version = env::var("CARGO_PKG_VERSION").unwrap();
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").arg("-C").arg(root).args(args).output().ok()?;
        let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (out.status.success() && !text.is_empty()).then_some(text)
    };
    let toplevel = git(&["rev-parse", "--show-toplevel"]).map(PathBuf::from);
    let same = |a: &Path, b: &Path| a.canonicalize().ok() == b.canonicalize().ok();
    let commit = match toplevel {
        Some(top) if same(&top, root) => git(&["rev-parse", "--short=7", "HEAD"]),
        _ => None,
    };
    if commit.is_some() {
        // HEAD (a branch name, or a commit when detached) and where a branch's commit is kept; in
        // a worktree HEAD is the worktree's own, the refs are the common directory's.
        let path = |args: &[&str]| git(args).map(|p| if Path::new(&p).is_absolute() { PathBuf::from(p) } else { root.join(p) });
        // Only files that exist: cargo reruns a script every build for a missing one.
        let mut watched = Vec::new();
        if let Some(git_dir) = path(&["rev-parse", "--git-dir"]) {
            watched.push(git_dir.join("HEAD"));
        }
        if let Some(common) = path(&["rev-parse", "--git-common-dir"]) {
            watched.push(common.join("packed-refs"));
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
                watched.push(common.join(branch));
            }
        }
        for file in watched.iter().filter(|f| f.is_file()) {
            println!("cargo:rerun-if-changed={}", file.display());
        }
    }
    match commit {
        Some(commit) => println!("cargo:rustc-env=TRACER_VERSION={version} ({commit})"),
        None => println!("cargo:rustc-env=TRACER_VERSION={version}"),
    }
}
