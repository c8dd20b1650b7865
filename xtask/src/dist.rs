//! `cargo xtask dist`: target/dist/tracer_<version>_<arch>.deb, installable like strace (no Rust
//! or LLVM on the target machine: the binary embeds its eBPF object).
//!
//! The tree is laid out here and packed with `dpkg-deb --build --root-owner-group`: dpkg-deb is
//! on every Debian machine, takes seconds, and reuses the release build the VM tests run, where
//! cargo-deb would be one more tool to compile and would still need the built binary run first
//! for the man pages and completions. Those come from the binary itself (`tracer __man DIR`,
//! `tracer completions SHELL`), so xtask does not depend on the tracer crate.
//!
//! [`check`] is the package's test, run by `cargo xtask test` with the host suite.
use std::{
    fmt::Write as _,
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{bail, ensure, Context, Result};

use crate::workspace_root;

const MAINTAINER: &str = "tracer authors <tracer@example.org>";
/// What lintian flags and is so by design, each with why.
const LINTIAN_OVERRIDES: &str = "usr/share/lintian/overrides/tracer";
const LINTIAN_OVERRIDES_TEXT: &str = "\
# unsafe-libyaml (libyaml translated to Rust, behind serde_yaml_ng: tracer serve --web-config)
# is linked in as every Rust crate is; there is no C libyaml in the binary to share.
tracer: embedded-library libyaml [usr/bin/tracer]
";

/// Per Debian 12's policy (and its lintian): units under /lib, which a merged /usr also reads.
const UNIT_PATH: &str = "lib/systemd/system/tracer.service";
const COMPLETIONS: &[(&str, &str)] = &[
    ("bash", "usr/share/bash-completion/completions/tracer"),
    ("zsh", "usr/share/zsh/vendor-completions/_tracer"),
    ("fish", "usr/share/fish/vendor_completions.d/tracer.fish"),
];
const DESCRIPTION: &str = "eBPF syscall latency tracer with strace -c habits
 tracer attaches eBPF programs to a process, a command, a cgroup, a systemd
 unit, a container or the whole machine and reports per-syscall latency
 percentiles (HdrHistogram), errors, on-CPU and blocked time, per-connection
 network figures and slow calls with their stacks, at near-zero overhead: most
 calls are counted in the kernel. `tracer top` is a live view, `tracer compare`
 checks two exports for regressions, and `tracer serve` runs it as a Prometheus
 agent (the systemd unit is installed, not enabled).
 .
 It needs root and a kernel with BTF (CONFIG_DEBUG_INFO_BTF=y, that is
 /sys/kernel/btf/vmlinux), as Debian's, Ubuntu's and most distributions'
 kernels are built; `tracer info` says what the running kernel offers.";

/// Version from tracer/Cargo.toml, and the dpkg architecture.
struct Meta {
    version: String,
    arch: String,
}

fn meta() -> Result<Meta> {
    let out = output(Command::new(cargo_bin()).args(["metadata", "--no-deps", "--format-version", "1"]).current_dir(workspace_root()))?;
    let metadata: serde_json::Value = serde_json::from_str(&out).context("cargo metadata")?;
    let version = metadata["packages"]
        .as_array()
        .and_then(|packages| packages.iter().find(|p| p["name"] == "tracer"))
        .and_then(|p| p["version"].as_str())
        .context("no tracer package in cargo metadata")?
        .to_string();
    let arch = output(Command::new("dpkg").arg("--print-architecture"))?.trim().to_string();
    Ok(Meta { version, arch })
}

fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Runs `cmd`, fails unless it succeeds; its stdout.
fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd.stderr(Stdio::piped()).output().with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn write(path: &Path, contents: impl AsRef<[u8]>, mode: u32) -> Result<()> {
    fs::create_dir_all(path.parent().unwrap())?;
    fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// `gzip -9n`, as Debian compresses man pages and changelogs (no name or time stamp inside).
fn gzip(data: &[u8], dest: &Path) -> Result<()> {
    use std::io::Write;
    let mut child = Command::new("gzip").arg("-9n").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().context("gzip")?;
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output()?;
    writer.join().unwrap()?;
    ensure!(out.status.success(), "gzip failed");
    write(dest, out.stdout, 0o644)
}

/// The release build (the one the VM tests run: the same command, so either reuses the other),
/// then [`build`].
pub fn release_and_package() -> Result<PathBuf> {
    crate::cargo(&["build", "--release", "--workspace", "--bins"])?;
    build()
}

/// Packs the release binary (target/release/tracer, built already) into
/// target/dist/tracer_<version>_<arch>.deb; its path.
pub fn build() -> Result<PathBuf> {
    let Meta { version, arch } = meta()?;
    let target = workspace_root().join("target");
    let binary = target.join("release/tracer");
    ensure!(binary.exists(), "{} is missing: cargo build --release first", binary.display());
    let dist = target.join("dist");
    let name = format!("tracer_{version}_{arch}");
    let root = dist.join(&name);
    if root.exists() {
        fs::remove_dir_all(&root)?;
    }
    fs::create_dir_all(&root)?;

    // The binary, stripped as dh_strip does (without the debug = 1 line tables, 31 MB instead of 89).
    let bin = root.join("usr/bin/tracer");
    fs::create_dir_all(bin.parent().unwrap())?;
    fs::copy(&binary, &bin)?;
    output(Command::new("strip").args(["--remove-section=.comment", "--remove-section=.note", "--strip-unneeded"]).arg(&bin))?;
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755))?;

    // Man pages and completions, from the binary's own clap definition.
    let pages = dist.join("man");
    if pages.exists() {
        fs::remove_dir_all(&pages)?;
    }
    output(Command::new(&bin).arg("__man").arg(&pages))?;
    let mut entries: Vec<_> = fs::read_dir(&pages)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let file = entry.file_name().into_string().map_err(|_| anyhow::anyhow!("odd man page name"))?;
        gzip(&fs::read(entry.path())?, &root.join(format!("usr/share/man/man1/{file}.gz")))?;
    }
    for (shell, path) in COMPLETIONS {
        let script = output(Command::new(&bin).args(["completions", shell]))?;
        write(&root.join(path), script, 0o644)?;
    }

    // The systemd unit, installed and not enabled (no maintainer script enables it).
    let unit = fs::read_to_string(workspace_root().join("tracer/systemd/tracer.service"))?;
    write(&root.join(UNIT_PATH), packaged_unit(&unit)?, 0o644)?;

    // /usr/share/doc/tracer: the copyright in Debian's machine-readable format, the changelog.
    let doc = root.join("usr/share/doc/tracer");
    write(&doc.join("copyright"), copyright()?, 0o644)?;
    gzip(changelog(&version)?.as_bytes(), &doc.join("changelog.gz"))?;
    write(&root.join(LINTIAN_OVERRIDES), LINTIAN_OVERRIDES_TEXT, 0o644)?;

    // DEBIAN/: control and md5sums.
    let depends = depends(&bin, &dist)?;
    let installed_kib: u64 = walk(&root)?.iter().map(|f| fs::metadata(f).map(|m| m.len().div_ceil(1024)).unwrap_or(0)).sum();
    let control = format!(
        "Package: tracer\nVersion: {version}\nArchitecture: {arch}\nMaintainer: {MAINTAINER}\n\
         Installed-Size: {installed_kib}\nDepends: {depends}\nSection: utils\nPriority: optional\n\
         Description: {DESCRIPTION}\n"
    );
    let mut files: Vec<String> =
        walk(&root)?.iter().map(|f| f.strip_prefix(&root).unwrap().to_string_lossy().into_owned()).collect();
    files.sort();
    let md5sums = output(Command::new("md5sum").args(&files).current_dir(&root))?;
    write(&root.join("DEBIAN/control"), control, 0o644)?;
    write(&root.join("DEBIAN/md5sums"), md5sums, 0o644)?;
    for dir in walk_dirs(&root)? {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
    }

    let deb = dist.join(format!("{name}.deb"));
    output(Command::new("dpkg-deb").args(["--build", "--root-owner-group"]).arg(&root).arg(&deb))?;
    Ok(deb)
}

/// Every file under `dir` (not DEBIAN/), recursively.
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name() == "DEBIAN" {
            continue;
        }
        match entry.file_type()?.is_dir() {
            true => files.extend(walk(&entry.path())?),
            false => files.push(entry.path()),
        }
    }
    Ok(files)
}

fn walk_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = vec![dir.to_path_buf()];
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            dirs.extend(walk_dirs(&entry.path())?);
        }
    }
    Ok(dirs)
}

/// The repository's unit, with the binary where the package puts it.
fn packaged_unit(unit: &str) -> Result<String> {
    ensure!(unit.contains("ExecStart=/usr/local/bin/tracer "), "tracer.service: no ExecStart=/usr/local/bin/tracer line to point at /usr/bin");
    let mut out = String::new();
    let mut install_notes = false;
    for line in unit.lines() {
        // The comment's manual install steps are the package's work.
        if line.starts_with("# Install:") {
            out.push_str("# Installed by the tracer package, not enabled:  systemctl enable --now tracer\n");
            install_notes = true;
            continue;
        }
        if install_notes && line.starts_with("#  ") {
            continue;
        }
        install_notes = false;
        out.push_str(&line.replace("ExecStart=/usr/local/bin/tracer ", "ExecStart=/usr/bin/tracer "));
        out.push('\n');
    }
    Ok(out)
}

/// dpkg-shlibdeps' Depends for the binary (libc6 at the version its symbols need); it wants a
/// debian/control in its working directory.
fn depends(bin: &Path, dist: &Path) -> Result<String> {
    let work = dist.join("shlibdeps");
    write(&work.join("debian/control"), "Source: tracer\n\nPackage: tracer\nArchitecture: any\n", 0o644)?;
    let out = output(Command::new("dpkg-shlibdeps").arg("-O").arg(bin).current_dir(&work))?;
    let depends = out
        .lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .context("dpkg-shlibdeps printed no shlibs:Depends")?
        .trim()
        .to_string();
    ensure!(depends.contains("libc6 (>= "), "dpkg-shlibdeps gave no libc6 version: {depends}");
    Ok(depends)
}

fn copyright() -> Result<String> {
    let mit = fs::read_to_string(workspace_root().join("LICENSE-MIT")).context("LICENSE-MIT")?;
    let mut text = format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
         Upstream-Name: tracer\n\n\
         Files: *\n\
         Copyright: {} the tracer authors\n\
         License: MIT or Apache-2.0\n\n\
         License: MIT\n",
        copyright_years()?
    );
    for line in mit.lines() {
        match line.trim().is_empty() {
            true => text.push_str(" .\n"),
            false => writeln!(text, " {line}").unwrap(),
        }
    }
    text.push_str(
        "\nLicense: Apache-2.0\n \
         On Debian systems, the full text of the Apache License, Version 2.0 can be found in\n \
         /usr/share/common-licenses/Apache-2.0.\n",
    );
    Ok(text)
}

/// "2025-2026": the years of the first and the last commit; this year outside git.
fn copyright_years() -> Result<String> {
    let root = workspace_root();
    let years = output(Command::new("git").arg("-C").arg(&root).args(["log", "--format=%cd", "--date=format:%Y"]));
    let mut years: Vec<String> = years.map(|y| y.lines().map(str::to_string).collect()).unwrap_or_default();
    if years.is_empty() {
        years.push(output(Command::new("date").arg("+%Y"))?.trim().to_string());
    }
    years.sort();
    let (first, last) = (&years[0], &years[years.len() - 1]);
    Ok(if first == last { first.clone() } else { format!("{first}-{last}") })
}

/// One entry, in the Debian changelog format; dated by the commit built, else now.
fn changelog(version: &str) -> Result<String> {
    let root = workspace_root();
    let git = |args: &[&str]| output(Command::new("git").arg("-C").arg(&root).args(args).env("LC_ALL", "C")).ok().map(|s| s.trim().to_string());
    let commit = git(&["rev-parse", "--short=7", "HEAD"]);
    // "Sun, 06 Dec 2026 19:35:28 +0000", as `date -R` (the C locale's day and month names).
    let date = match git(&["-c", "log.showSignature=false", "log", "-1", "--format=%cd", "--date=format:%a, %d %b %Y %H:%M:%S %z"]) {
        Some(date) if !date.is_empty() => date,
        _ => output(Command::new("date").arg("-R"))?.trim().to_string(),
    };
    let built = commit.map(|c| format!(" (commit {c})")).unwrap_or_default();
    Ok(format!(
        "tracer ({version}) unstable; urgency=medium\n\n  * tracer {version}{built}.\n\n -- {MAINTAINER}  {date}\n"
    ))
}

/// One named check of the package: Ok, or what is wrong.
pub struct Check {
    pub name: &'static str,
    pub result: Result<()>,
}

/// The package's tests: its metadata and files, an install into a scratch root whose tracer runs,
/// man pages that render without warnings, completion scripts that parse, lintian without errors.
pub fn check(deb: &Path) -> Vec<Check> {
    let scratch = match tempdir("check") {
        Ok(dir) => dir,
        Err(err) => return vec![Check { name: "scratch directory", result: Err(err) }],
    };
    let installed = scratch.join("root");
    let mut results = Vec::new();
    let mut run = |name: &'static str, result: Result<()>| {
        match &result {
            Ok(()) => println!("dist check {name} ... ok"),
            Err(err) => println!("dist check {name} ... FAILED: {err:#}"),
        }
        results.push(Check { name, result });
    };
    run("dpkg-deb --info: control fields", check_info(deb));
    run("dpkg-deb --contents: the expected files, owned by root", check_contents(deb));
    run("dpkg --root install: tracer --version runs", check_install(deb, &installed));
    run("man pages render without warnings", check_man(&installed));
    run("completion scripts parse (bash, zsh, fish)", check_completions(&installed));
    run("lintian: no errors", check_lintian(deb));
    let _ = fs::remove_dir_all(&scratch);
    results
}

/// An empty /tmp/tracer-dist-LABEL.PID.
fn tempdir(label: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tracer-dist-{label}.{}", std::process::id()));
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn check_info(deb: &Path) -> Result<()> {
    let Meta { version, arch } = meta()?;
    let info = output(Command::new("dpkg-deb").arg("--info").arg(deb))?;
    let field = |name: &str| {
        info.lines().find_map(|l| l.trim_start().strip_prefix(&format!("{name}: ")).map(str::to_string))
    };
    for (name, want) in [("Package", "tracer"), ("Version", version.as_str()), ("Architecture", arch.as_str()), ("Priority", "optional")] {
        ensure!(field(name).as_deref() == Some(want), "{name}: {:?}, want {want}", field(name));
    }
    ensure!(matches!(field("Section").as_deref(), Some("utils" | "devel")), "Section: {:?}", field("Section"));
    ensure!(field("Maintainer").is_some(), "no Maintainer");
    let depends = field("Depends").context("no Depends")?;
    ensure!(depends.contains("libc6 (>= 2."), "Depends without a libc6 version: {depends}");
    ensure!(info.contains("CONFIG_DEBUG_INFO_BTF"), "the description does not say a kernel with BTF is needed");
    Ok(())
}

/// The paths the package must hold: the binary, a man page per subcommand `tracer --help` lists,
/// the completions, the unit, the copyright and changelog.
fn expected_files(help: &str) -> Vec<String> {
    let mut files: Vec<String> = vec!["/usr/bin/tracer".into(), "/usr/share/man/man1/tracer.1.gz".into()];
    let commands = help.lines().skip_while(|l| !l.starts_with("Commands:")).skip(1).take_while(|l| l.starts_with("  "));
    for name in commands.filter_map(|l| l.split_whitespace().next()).filter(|n| *n != "help") {
        files.push(format!("/usr/share/man/man1/tracer-{name}.1.gz"));
    }
    files.extend(COMPLETIONS.iter().map(|(_, path)| format!("/{path}")));
    files.push(format!("/{UNIT_PATH}"));
    files.push("/usr/share/doc/tracer/copyright".into());
    files.push("/usr/share/doc/tracer/changelog.gz".into());
    files.push(format!("/{LINTIAN_OVERRIDES}"));
    files.sort();
    files
}

fn check_contents(deb: &Path) -> Result<()> {
    let contents = output(Command::new("dpkg-deb").arg("--contents").arg(deb))?;
    // "-rwxr-xr-x root/root 1234 2026-01-01 00:00 ./usr/bin/tracer"
    let mut files = Vec::new();
    for line in contents.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        ensure!(fields.len() >= 6, "unexpected line: {line}");
        ensure!(fields[1] == "root/root", "not owned by root: {line}");
        if !fields[0].starts_with('d') {
            files.push(fields[5].trim_start_matches('.').to_string());
        }
    }
    files.sort();
    // Which subcommands there are, from the packaged binary itself.
    let help = packaged_help(deb)?;
    let want = expected_files(&help);
    ensure!(want.iter().any(|f| f.ends_with("tracer-top.1.gz")), "tracer --help lists no subcommands:\n{help}");
    let missing: Vec<&String> = want.iter().filter(|f| !files.contains(f)).collect();
    let extra: Vec<&String> = files.iter().filter(|f| !want.contains(f)).collect();
    ensure!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, unexpected {extra:?}");
    Ok(())
}

/// `tracer --help` of the binary inside the package.
fn packaged_help(deb: &Path) -> Result<String> {
    let dir = tempdir("help")?;
    output(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&dir))?;
    let help = output(Command::new(dir.join("usr/bin/tracer")).arg("--help"));
    let _ = fs::remove_dir_all(&dir);
    help
}

fn check_install(deb: &Path, root: &Path) -> Result<()> {
    let Meta { version, .. } = meta()?;
    let admin = root.join("var/lib/dpkg");
    for dir in ["updates", "info"] {
        fs::create_dir_all(admin.join(dir))?;
    }
    fs::write(admin.join("status"), "")?;
    // libc6 is not in the scratch database: --force-depends.
    output(Command::new("dpkg").arg(format!("--root={}", root.display())).args(["--force-depends", "--install"]).arg(deb))?;
    let status = output(Command::new("dpkg").arg(format!("--root={}", root.display())).args(["--status", "tracer"]))?;
    ensure!(status.contains("Status: install ok installed"), "dpkg says:\n{status}");
    let shown = output(Command::new(root.join("usr/bin/tracer")).arg("--version"))?;
    let want = format!("tracer {version}");
    ensure!(shown.trim() == want || shown.starts_with(&format!("{want} (")), "tracer --version says {shown:?}, want {want}");
    let unit = fs::read_to_string(root.join(UNIT_PATH))?;
    ensure!(unit.contains("ExecStart=/usr/bin/tracer "), "the unit does not run /usr/bin/tracer");
    ensure!(!root.join("etc/systemd/system/multi-user.target.wants/tracer.service").exists(), "the unit was enabled");
    Ok(())
}

fn check_man(root: &Path) -> Result<()> {
    let dir = root.join("usr/share/man/man1");
    let mut problems = Vec::new();
    let mut pages: Vec<PathBuf> = fs::read_dir(&dir)?.map(|e| e.map(|e| e.path())).collect::<std::io::Result<_>>()?;
    pages.sort();
    ensure!(!pages.is_empty(), "no man pages in {}", dir.display());
    for page in &pages {
        let out = Command::new("man")
            .args(["--warnings", "-l", "-E", "UTF-8"])
            .arg(page)
            .env("MANWIDTH", "80")
            .stdin(Stdio::null())
            .output()
            .context("run man")?;
        let name = page.file_name().unwrap().to_string_lossy();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || !stderr.trim().is_empty() {
            problems.push(format!("{name} ({}): {}", out.status, stderr.trim()));
        } else if !String::from_utf8_lossy(&out.stdout).contains("NAME") {
            problems.push(format!("{name}: rendered without a NAME section"));
        }
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

fn check_completions(root: &Path) -> Result<()> {
    for (shell, path) in COMPLETIONS {
        let file = root.join(path);
        output(Command::new(shell).arg("-n").arg(&file)).with_context(|| format!("{shell} -n {path}"))?;
    }
    // Loaded, they complete: bash registers a function, fish offers the subcommands.
    let bash = root.join(COMPLETIONS[0].1);
    output(Command::new("bash").arg("-c").arg(r#"source "$1" && complete -p tracer"#).arg("bash").arg(&bash))
        .context("bash: the script registers no completion for tracer")?;
    let fish = root.join(COMPLETIONS[2].1);
    let offered = output(Command::new("fish").args(["--no-config", "-c"]).arg(format!("source '{}'; complete -C 'tracer '", fish.display())))?;
    ensure!(offered.lines().any(|l| l.starts_with("top")), "fish offers no `top` after `tracer `: {offered}");
    Ok(())
}

fn check_lintian(deb: &Path) -> Result<()> {
    let out = Command::new("lintian").args(["--fail-on", "error", "--tag-display-limit", "0"]).arg(deb).output().context("run lintian")?;
    let report = String::from_utf8_lossy(&out.stdout);
    for line in report.lines() {
        println!("  lintian: {line}");
    }
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E: ")).collect();
    ensure!(out.status.success() && errors.is_empty(), "lintian ({}): {}", out.status, errors.join("\n"));
    Ok(())
}
