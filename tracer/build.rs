//! Builds the kernel programs (`tracer-ebpf`) for `bpfel-unknown-none` so that the tracer binary
//! can embed them and needs no file at run time, and checks the object's maps and globals
//! against the names tracer-common lists (the loader finds them by those names only).
//! With the `bench` feature, it also builds the benchmark's reference object.
//!
//! The promised toolchain is stable; `-Z build-std=core` needs `RUSTC_BOOTSTRAP=1`, `rust-src`
//! and `bpf-linker` (`cargo xtask setup` installs both).
//!
//! It also sets `TRACER_VERSION` for `tracer --version`: "0.1.0 (abc1234)", the commit the
//! binary was built from, or the bare version when built outside a git checkout.
use std::{
    collections::{BTreeMap, BTreeSet},
    env,
    path::{Path, PathBuf},
    process::Command,
};

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use tracer_common::names::Names;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap();
    version(root);
    for watched in ["tracer-ebpf/src", "tracer-ebpf/Cargo.toml", "tracer-ebpf/Cargo.lock", "tracer-common/src"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let ebpf = Ebpf { dir: root.join("tracer-ebpf"), target_dir: out_dir.join("ebpf-target") };

    let object = ebpf.build("tracer-ebpf", &[]);
    check_names(&object, tracer_common::OBJECT_NAMES);
    embed(&object, &out_dir.join("tracer.bpf.o"));
    if env::var_os("CARGO_FEATURE_BENCH").is_some() {
        let reference = ebpf.build("tracer-ebpf-reference", &["--features", "reference"]);
        check_names(&reference, &[("reference", tracer_common::reference::NAMES)]);
        embed(&reference, &out_dir.join("reference.bpf.o"));
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

/// The object as the binary embeds it: without its DWARF (bpf-linker needed it to make the BTF,
/// which stays; the loader reads none of it): 6 MiB instead of 29, of the binary's resident
/// pages and of its size. LLVM 22's objcopy is there with bpf-linker's LLVM; any other will do.
/// And without its BTF line info: see [`drop_line_info`].
fn embed(from: &Path, to: &Path) {
    let stripped = ["llvm-objcopy-22", "llvm-objcopy"]
        .iter()
        .any(|objcopy| Command::new(objcopy).arg("--strip-debug").arg(from).arg(to).status().is_ok_and(|s| s.success()));
    if !stripped {
        println!("cargo:warning=no llvm-objcopy: the eBPF object is embedded with its DWARF");
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("cannot copy {}: {e}", from.display()));
    }
    let mut data = std::fs::read(to).unwrap_or_else(|e| panic!("cannot read {}: {e}", to.display()));
    drop_line_info(&mut data);
    std::fs::write(to, data).unwrap_or_else(|e| panic!("cannot write {}: {e}", to.display()));
}

/// Empties the line info of the object's `.BTF.ext` (its header's `line_info_len` set to 0; the
/// function info and the BTF stay). aya's loader copies a section's whole line info for each
/// of its functions before keeping that function's lines: with ours, 110 MB at start-up, which
/// an agent's peak memory (and a container's limit) would have to allow for. What is lost:
/// source lines in a verifier log and in `bpftool prog dump`.
fn drop_line_info(object: &mut [u8]) {
    let at = {
        let file = object::File::parse(&*object).unwrap_or_else(|e| panic!("cannot parse the eBPF object: {e}"));
        let Some(section) = file.section_by_name(".BTF.ext") else { return };
        section.file_range().expect(".BTF.ext has data").0 as usize
    };
    // struct btf_ext_header: magic (0xeb9f), version, flags, hdr_len, func_info_off,
    // func_info_len, line_info_off, line_info_len, all little-endian here.
    assert_eq!(object[at..at + 2], 0xeb9fu16.to_le_bytes(), ".BTF.ext has BTF's magic");
    object[at + 20..at + 24].copy_from_slice(&0u32.to_le_bytes());
}

/// Fails the build unless the object at `path` has exactly the maps and globals of `features`,
/// each global at the size of its type.
fn check_names(path: &Path, features: &[(&str, Names)]) {
    let (maps, globals) = maps_and_globals(path);
    let mut problems = Vec::new();
    for (feature, names) in features {
        for map in names.maps {
            if !maps.contains_key(*map) {
                problems.push(format!("map `{map}` (tracer-common `{feature}`) is not a map of the object"));
            }
        }
        for (global, size) in names.globals {
            match globals.get(*global) {
                None => problems.push(format!("global `{global}` (tracer-common `{feature}`) is not a global of the object")),
                Some(&found) if found != *size as u64 => problems
                    .push(format!("global `{global}` (tracer-common `{feature}`) is {found} bytes in the object, {size} in tracer-common")),
                Some(_) => {}
            }
        }
    }
    let listed_maps: BTreeSet<&str> = features.iter().flat_map(|(_, names)| names.maps.iter().copied()).collect();
    let listed_globals: BTreeSet<&str> = features.iter().flat_map(|(_, names)| names.globals.iter().map(|(name, _)| *name)).collect();
    for map in maps.keys().filter(|map| !listed_maps.contains(map.as_str())) {
        problems.push(format!("map `{map}` of the object is listed in no feature of tracer-common"));
    }
    for global in globals.keys().filter(|global| !listed_globals.contains(global.as_str())) {
        problems.push(format!("global `{global}` of the object is listed in no feature of tracer-common"));
    }
    if !problems.is_empty() {
        let object = path.file_name().unwrap_or_default().to_string_lossy();
        eprintln!("error: the eBPF object `{object}` and the names tracer-common lists disagree (a misspelt or unlisted name?):");
        for problem in &problems {
            eprintln!("  {problem}");
        }
        std::process::exit(1);
    }
}

/// The object's maps (the global symbols of its `maps` section) and globals (those of its data
/// sections), each with its size.
fn maps_and_globals(path: &Path) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let file = object::File::parse(&*data).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()));
    let (mut maps, mut globals) = (BTreeMap::new(), BTreeMap::new());
    for symbol in file.symbols().filter(|s| s.is_global() && s.kind() == SymbolKind::Data) {
        let (Ok(name), Some(index)) = (symbol.name(), symbol.section_index()) else { continue };
        let section = file.section_by_index(index).ok().and_then(|s| s.name().ok().map(str::to_owned)).unwrap_or_default();
        if section == "maps" {
            maps.insert(name.to_string(), symbol.size());
        } else if [".rodata", ".data", ".bss"].iter().any(|prefix| section.starts_with(prefix)) {
            globals.insert(name.to_string(), symbol.size());
        }
    }
    (maps, globals)
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
