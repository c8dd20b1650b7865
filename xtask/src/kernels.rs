//! Debian's stock kernels for the VM matrix: fetched once with a private apt configuration (the
//! machine's own apt set-up is left untouched) and cached outside the clone, so that a fresh
//! clone on the same machine finds them. A cached kernel needs no network, and says nothing.
//!
//! Cache layout, one directory per series (written under a staging name, renamed when complete):
//!
//! ```text
//! /var/cache/tracer-vm/kernels/6.12/kernel.info       release=…, version=…, package=…
//!                                    vmlinuz
//!                                    modules/NN-NAME.ko  what the initramfs loads, in order
//! ```
use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context, Result};

/// The kernel lines the matrix runs, with the Debian suite that ships each.
pub const SERIES: &[(&str, &str)] = &[("5.10", "bullseye"), ("6.1", "bookworm"), ("6.12", "trixie")];

const CACHE: &str = "/var/cache/tracer-vm/kernels";
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// Modules the initramfs needs to mount the host's root over 9p (with their dependencies).
/// Changing this list needs a new cache layout: bump the directory name in `CACHE`.
const MODULES: &[&str] = &["virtio_pci", "9pnet_virtio", "9p"];

/// A cached kernel, ready to boot.
pub struct Kernel {
    /// "6.12"
    pub series: String,
    /// `uname -r`: "6.12.117+deb13-amd64"
    pub release: String,
    /// Upstream version: "6.12.117"
    pub version: String,
    pub vmlinuz: PathBuf,
    /// Modules to insmod, in order.
    pub modules: Vec<PathBuf>,
}

/// The cached kernel of `series`, fetched first if it is not cached.
pub fn ensure(series: &str) -> Result<Kernel> {
    let Some(&(_, suite)) = SERIES.iter().find(|(name, _)| *name == series) else {
        let known: Vec<&str> = SERIES.iter().map(|(name, _)| *name).collect();
        bail!("no kernel series {series}: the matrix knows {}", known.join(", "));
    };
    let dir = Path::new(CACHE).join(series);
    if !dir.join("kernel.info").exists() {
        fetch(series, suite, &dir).with_context(|| format!("cannot fetch Debian's {series} kernel"))?;
    }
    load(series, &dir)
}

fn load(series: &str, dir: &Path) -> Result<Kernel> {
    let info = fs::read_to_string(dir.join("kernel.info")).context("read kernel.info")?;
    let field = |key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .map(str::to_string)
            .with_context(|| format!("{} has no {key}", dir.join("kernel.info").display()))
    };
    let mut modules: Vec<PathBuf> =
        fs::read_dir(dir.join("modules"))?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    modules.sort();
    Ok(Kernel {
        series: series.to_string(),
        release: field("release")?,
        version: field("version")?,
        vmlinuz: dir.join("vmlinuz"),
        modules,
    })
}

fn fetch(series: &str, suite: &str, dir: &Path) -> Result<()> {
    let mirror = debian_mirror()?;
    let staging = dir.with_file_name(format!(".{series}.{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let result = fetch_into(series, suite, &mirror, &staging);
    if result.is_ok() {
        // Another run may have finished the same kernel meanwhile: theirs is as good as ours.
        if fs::rename(&staging, dir).is_err() && dir.join("kernel.info").exists() {
            let _ = fs::remove_dir_all(&staging);
            return Ok(());
        }
    }
    let _ = fs::remove_dir_all(&staging);
    result
}

fn fetch_into(series: &str, suite: &str, mirror: &str, staging: &Path) -> Result<()> {
    let apt = staging.join("apt");
    for sub in ["lists/partial", "cache/archives/partial", "debs"] {
        fs::create_dir_all(apt.join(sub)).with_context(|| format!("create {}", apt.join(sub).display()))?;
    }
    let sources = apt.join("sources.list");
    fs::write(&sources, format!("deb [signed-by={KEYRING}] {mirror} {suite} main\n"))?;
    let apt_options = [
        format!("Dir::Etc::sourcelist={}", sources.display()),
        "Dir::Etc::sourceparts=-".to_string(),
        format!("Dir::State::Lists={}", apt.join("lists").display()),
        format!("Dir::Cache={}", apt.join("cache").display()),
        // Downloads land in a root-owned directory; apt's _apt sandbox user could not write there.
        "APT::Sandbox::User=root".to_string(),
    ];
    // (stdout, stderr) of an apt command that succeeded.
    let apt_run = |program: &str, args: &[&str], cwd: &Path| -> Result<(String, String)> {
        let mut cmd = Command::new(program);
        for option in &apt_options {
            cmd.arg("-o").arg(option);
        }
        let out = cmd.args(args).current_dir(cwd).output().with_context(|| format!("cannot run {program}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            bail!("{program} {} failed ({}): {}", args.join(" "), out.status, last_line(&stderr));
        }
        Ok((String::from_utf8_lossy(&out.stdout).into_owned(), stderr))
    };

    // apt-get update succeeds when it cannot download, with a warning.
    let (_, update_warnings) = apt_run("apt-get", &["-qq", "update"], staging)?;
    // The plain flavour only ("-rt-amd64" and "-cloud-amd64" are others; cloud has no 9p).
    let pattern = format!("^linux-image-{}[.-][^-]*(-[0-9]+)?-amd64-unsigned$", series.replace('.', "\\."));
    let (names, _) = apt_run("apt-cache", &["search", "--names-only", &pattern], staging)?;
    let Some(package) = names.lines().filter_map(|l| l.split_whitespace().next()).max_by_key(|n| numbers(n)) else {
        if let Some(failed) = update_warnings.lines().find(|l| l.contains("Failed to fetch")) {
            bail!("apt-get update: {}", failed.trim_start_matches("W: ").split_whitespace().collect::<Vec<_>>().join(" "));
        }
        bail!("{mirror} {suite} has no package matching {pattern}");
    };
    eprintln!("xtask: fetching Debian's {series} kernel ({package}, {suite})");
    apt_run("apt-get", &["-qq", "download", package], &apt.join("debs"))?;
    let deb = fs::read_dir(apt.join("debs"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .context("apt-get download left no .deb")?;
    let root = staging.join("root");
    run("dpkg-deb", &["-x".as_ref(), deb.as_os_str(), root.as_os_str()])?;
    let deb_version = output("dpkg-deb", &["-f".as_ref(), deb.as_os_str(), "Version".as_ref()])?;
    // "6.12.117-1" → "6.12.117": the upstream part, before the Debian revision.
    let version = deb_version.trim().rsplit_once('-').map_or(deb_version.trim(), |(v, _)| v).to_string();

    let release = fs::read_dir(root.join("boot"))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("vmlinuz-").map(str::to_string))
        .next()
        .context("the package has no boot/vmlinuz-*")?;
    let base = if root.join("lib/modules").join(&release).is_dir() { root.clone() } else { root.join("usr") };
    run("depmod", &["-b".as_ref(), base.as_os_str(), release.as_ref()])?;
    let module_dir = base.join("lib/modules").join(&release);
    let order = module_order(&fs::read_to_string(module_dir.join("modules.dep")).context("read modules.dep")?);

    let modules = staging.join("modules");
    fs::create_dir_all(&modules)?;
    for (i, relative) in order.iter().enumerate() {
        let name = Path::new(relative).file_name().unwrap().to_string_lossy().to_string();
        let source = module_dir.join(relative);
        let target = modules.join(format!("{:02}-{}", i + 10, name.trim_end_matches(".xz")));
        if name.ends_with(".ko.xz") {
            let out = Command::new("xz").arg("-dc").arg(&source).output().context("cannot run xz")?;
            if !out.status.success() {
                bail!("xz -dc {} failed", source.display());
            }
            fs::write(&target, out.stdout)?;
        } else if name.ends_with(".ko") {
            fs::copy(&source, &target)?;
        } else {
            bail!("{relative}: a module compression this does not know");
        }
    }
    fs::rename(root.join("boot").join(format!("vmlinuz-{release}")), staging.join("vmlinuz"))?;
    fs::remove_dir_all(&root)?;
    fs::remove_dir_all(&apt)?;
    fs::write(staging.join("kernel.info"), format!("release={release}\nversion={version}\npackage={package}\n"))?;
    Ok(())
}

/// The `MODULES` and what they need, dependencies first, as paths relative to the module
/// directory. A module missing from modules.dep is built in.
fn module_order(modules_dep: &str) -> Vec<String> {
    fn add(modules_dep: &str, name: &str, order: &mut Vec<String>) {
        let Some((path, deps)) = modules_dep.lines().find_map(|line| {
            let (path, deps) = line.split_once(':')?;
            (module_name(path) == name.replace('-', "_")).then_some((path, deps))
        }) else {
            return;
        };
        for dep in deps.split_whitespace() {
            add(modules_dep, &module_name(dep), order);
        }
        if !order.iter().any(|p| p == path) {
            order.push(path.to_string());
        }
    }
    let mut order = Vec::new();
    for name in MODULES {
        add(modules_dep, name, &mut order);
    }
    order
}

/// "kernel/net/9p/9pnet_virtio.ko.xz" → "9pnet_virtio"
fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split(".ko").next().unwrap_or(file).replace('-', "_")
}

/// The numbers in a package name, to order ABIs: "linux-image-5.10.0-32-amd64-unsigned" → [5, 10, 0, 32, 64].
fn numbers(name: &str) -> Vec<u64> {
    name.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).filter_map(|s| s.parse().ok()).collect()
}

/// The Debian archive this machine's apt uses: the first `URIs:` (deb822) or `deb` line whose
/// URI ends in /debian. Read at run time, so that no mirror is written into the project.
fn debian_mirror() -> Result<String> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut parts: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "sources" || e == "list"))
            .collect();
        parts.sort();
        files.extend(parts);
    }
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else { continue };
        let uris = text.lines().flat_map(|line| {
            let line = line.trim();
            let words: Vec<&str> = if let Some(rest) = line.strip_prefix("URIs:") {
                rest.split_whitespace().collect()
            } else if let Some(rest) = line.strip_prefix("deb ") {
                // deb [options] URI suite components
                let rest = rest.trim_start();
                let rest = if rest.starts_with('[') { rest.split_once(']').map_or("", |(_, r)| r) } else { rest };
                rest.split_whitespace().take(1).collect()
            } else {
                Vec::new()
            };
            words.into_iter().map(|w| w.trim_end_matches('/').to_string()).collect::<Vec<_>>()
        });
        if let Some(uri) = uris.into_iter().find(|u| u.ends_with("/debian")) {
            return Ok(uri);
        }
    }
    bail!("no Debian archive (a URI ending in /debian) in /etc/apt/sources.list or /etc/apt/sources.list.d")
}

fn run(program: &str, args: &[&std::ffi::OsStr]) -> Result<()> {
    output(program, args).map(drop)
}

fn output(program: &str, args: &[&std::ffi::OsStr]) -> Result<String> {
    let out = Command::new(program).args(args).output().with_context(|| format!("cannot run {program}"))?;
    if !out.status.success() {
        bail!("{program} failed ({}): {}", out.status, last_line(&String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn last_line(text: &str) -> &str {
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("(no message)").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_come_after_what_they_need() {
        let dep = "kernel/fs/9p/9p.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/fs/netfs/netfs.ko.xz\n\
                   kernel/net/9p/9pnet.ko.xz:\n\
                   kernel/fs/netfs/netfs.ko.xz:\n\
                   kernel/net/9p/9pnet_virtio.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/drivers/virtio/virtio_ring.ko.xz\n\
                   kernel/drivers/virtio/virtio_ring.ko.xz:\n";
        // virtio_pci is missing: built in.
        assert_eq!(
            module_order(dep),
            [
                "kernel/net/9p/9pnet.ko.xz",
                "kernel/drivers/virtio/virtio_ring.ko.xz",
                "kernel/net/9p/9pnet_virtio.ko.xz",
                "kernel/fs/netfs/netfs.ko.xz",
                "kernel/fs/9p/9p.ko.xz"
            ]
        );
    }

    #[test]
    fn the_newest_abi_has_the_largest_numbers() {
        let names = ["linux-image-6.12.57+deb13-amd64-unsigned", "linux-image-6.12.117+deb13-amd64-unsigned"];
        assert_eq!(names.iter().max_by_key(|n| numbers(n)), Some(&names[1]));
    }
}
