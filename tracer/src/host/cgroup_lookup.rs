//! `--unit NAME` and `--container ID`: the cgroup v2 directory that systemd or a container
//! runtime made for them, to be traced like `--cgroup PATH`.
use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Result};

use super::cgroupfs::cgroup2_root;

/// How deep the searches go below the hierarchy's root: a user's app unit is at 5
/// (user.slice/user-1000.slice/user@1000.service/app.slice/x.service), a pod's container at 4.
const MAX_DEPTH: usize = 8;

/// The unit types systemd knows; a name without one of them is a service, as for systemctl.
const UNIT_TYPES: [&str; 11] =
    ["service", "scope", "slice", "socket", "mount", "swap", "target", "timer", "path", "device", "automount"];

/// The cgroup v2 directory of a systemd unit: `systemctl show -p ControlGroup --value NAME` when
/// systemctl answers with a non-empty path, else a search of the cgroup2 hierarchy for a
/// directory named NAME (".service" appended when it has no unit suffix) under system.slice,
/// user.slice (any depth) or the root.
pub fn unit_cgroup(name: &str) -> Result<PathBuf> {
    let unit = unit_name(name)?;
    let root = cgroup2_root()?;
    if let Some(path) = systemctl_control_group(&unit) {
        let dir = root.join(path.trim_start_matches('/'));
        if dir.is_dir() {
            return Ok(dir);
        }
    }
    unit_cgroup_in(&root, name)
}

/// The search part of [`unit_cgroup`], in the hierarchy mounted at `root`. A unit under
/// system.slice is preferred to one under user.slice, and that to one elsewhere.
pub fn unit_cgroup_in(root: &Path, name: &str) -> Result<PathBuf> {
    let unit = unit_name(name)?;
    let rank = |rel: &Path| match rel.components().next().and_then(|c| c.as_os_str().to_str()) {
        Some("system.slice") => 0,
        Some("user.slice") => 1,
        _ => 2,
    };
    let named = |rel: &PathBuf| rel.file_name().is_some_and(|n| n == unit.as_str());
    let matches: Vec<PathBuf> = directories(root).into_iter().filter(named).collect();
    let Some(best) = matches.iter().map(|rel| rank(rel)).min() else {
        bail!("no systemd unit {name}: no cgroup named {unit} under {}", root.display());
    };
    let best: Vec<&PathBuf> = matches.iter().filter(|rel| rank(rel) == best).collect();
    if let [only] = best[..] {
        return Ok(root.join(only));
    }
    // Two user managers with a unit of the same name, say.
    let list: Vec<String> = best.iter().map(|rel| rel.display().to_string()).collect();
    bail!("systemd unit {name} is ambiguous: cgroups {} under {} (pass --cgroup PATH)", list.join(", "), root.display());
}

/// NAME as systemd would read it: with ".service" unless it has a unit type.
fn unit_name(name: &str) -> Result<String> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        bail!("not a systemd unit name: {name:?}");
    }
    let has_type = name.rsplit_once('.').is_some_and(|(stem, suffix)| !stem.is_empty() && UNIT_TYPES.contains(&suffix));
    Ok(if has_type { name.to_string() } else { format!("{name}.service") })
}

/// systemctl's word for the unit's cgroup, relative to the hierarchy's root; None when it cannot
/// say (no systemd, a unit that is not running) or takes too long (a wedged D-Bus).
fn systemctl_control_group(unit: &str) -> Option<String> {
    let mut child = Command::new("systemctl")
        .args(["show", "-p", "ControlGroup", "--value", "--", unit])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(Some(_)) => return None,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    // One short line: it fit in the pipe while the child ran.
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut out).ok()?;
    let path = out.trim();
    (!path.is_empty()).then(|| path.to_string())
}

/// The cgroup v2 directory of a container, by full id or a unique prefix of at least 4 hex
/// digits: docker-ID.scope, docker/ID, cri-containerd-ID.scope, kubepods…/ID, crio-ID.scope or
/// libpod-ID.scope in the cgroup2 hierarchy.
pub fn container_cgroup(id: &str) -> Result<PathBuf> {
    container_cgroup_in(&cgroup2_root()?, id)
}

/// [`container_cgroup`] in the hierarchy mounted at `root`.
pub fn container_cgroup_in(root: &Path, id: &str) -> Result<PathBuf> {
    // As `kubectl get pod -o yaml` shows it: "containerd://ID".
    let given = id.trim();
    let id = given.rsplit_once("://").map_or(given, |(_, id)| id).to_ascii_lowercase();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("not a container id: {given:?} (hex digits, as docker ps shows them)");
    }
    if id.len() < 4 {
        bail!("container id {given} is too short: give at least 4 hex digits");
    }
    let mut matches: Vec<(&str, &str, PathBuf)> = Vec::new();
    let dirs = directories(root);
    for rel in &dirs {
        if let Some((full, runtime)) = container_of(rel).filter(|(full, _)| full.starts_with(&id)) {
            matches.push((full, runtime, rel.clone()));
        }
    }
    // One container with two directories named for it (a runtime nested in another): the outer one.
    matches.sort_by_key(|(full, _, rel)| (*full, rel.components().count()));
    matches.dedup_by_key(|(full, ..)| *full);
    match &matches[..] {
        [] => bail!(
            "no container {given}: no cgroup under {} is named for it \
             (docker-ID.scope, docker/ID, cri-containerd-ID.scope, kubepods.../ID, crio-ID.scope, libpod-ID.scope)",
            root.display()
        ),
        [(_, _, rel)] => Ok(root.join(rel)),
        several => {
            let list: Vec<String> = several.iter().map(|(full, runtime, _)| format!("{} ({runtime})", &full[..12])).collect();
            bail!("container id {given} is ambiguous: it starts {}; give more of it", list.join(", "))
        }
    }
}

/// The full container id a cgroup directory is named for, and which runtime names it so.
fn container_of(rel: &Path) -> Option<(&str, &'static str)> {
    const SCOPES: [(&str, &str); 4] =
        [("docker-", "docker"), ("cri-containerd-", "containerd"), ("crio-", "cri-o"), ("libpod-", "podman")];
    let name = rel.file_name()?.to_str()?;
    let scoped = SCOPES.iter().find_map(|(prefix, runtime)| {
        // Podman with the cgroupfs manager leaves out ".scope".
        name.strip_prefix(prefix).map(|rest| (rest.strip_suffix(".scope").unwrap_or(rest), *runtime))
    });
    // The conmon scopes (crio-conmon-ID.scope, libpod-conmon-ID.scope) are not hex: left out here.
    let (id, runtime) = match scoped {
        Some(found) => found,
        // The cgroupfs drivers: docker/ID, kubepods/burstable/podUID/ID.
        None if rel.parent().and_then(Path::file_name).is_some_and(|p| p == "docker") => (name, "docker"),
        None if rel.components().any(|c| c.as_os_str().to_str().is_some_and(|c| c.starts_with("kubepods"))) => (name, "kubepods"),
        None => return None,
    };
    let full = id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    full.then_some((id, runtime))
}

/// Every directory at most [`MAX_DEPTH`] below `root`, relative to it. Symlinks are not
/// followed (cgroupfs has none; a copy elsewhere could loop); unreadable directories are
/// skipped.
fn directories(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let Ok(entries) = fs::read_dir(root.join(&rel)) else { continue };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let child = rel.join(entry.file_name());
                if child.components().count() < MAX_DEPTH {
                    pending.push(child.clone());
                }
                found.push(child);
            }
        }
    }
    // Directory order is the filesystem's: sorted, the messages and choices do not vary.
    found.sort();
    found
}


#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";
    const OTHER: &str = "3f4e11112222333344445555666677778888999900001111222233334444aaaa";

    /// A hierarchy in a temp dir with these directories.
    fn tree(dirs: &[&str]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for dir in dirs {
            fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        root
    }

    #[test]
    fn unit_names_get_service_unless_they_have_a_type() {
        assert_eq!(unit_name("nginx").unwrap(), "nginx.service");
        assert_eq!(unit_name("nginx.service").unwrap(), "nginx.service");
        assert_eq!(unit_name("session-2.scope").unwrap(), "session-2.scope");
        assert_eq!(unit_name("user-1000.slice").unwrap(), "user-1000.slice");
        assert_eq!(unit_name("-.slice").unwrap(), "-.slice");
        assert_eq!(unit_name("my.app").unwrap(), "my.app.service");
        assert_eq!(unit_name("getty@tty1").unwrap(), "getty@tty1.service");
        for bad in ["", ".", "..", "a/b", "../x"] {
            assert!(unit_name(bad).unwrap_err().to_string().starts_with("not a systemd unit name"), "{bad:?}");
        }
    }

    #[test]
    fn units_under_system_slice_user_slice_and_the_root() {
        let root = tree(&[
            "init.scope",
            "system.slice/nginx.service",
            "system.slice/system-getty.slice/getty@tty1.service",
            "user.slice/user-1000.slice/user@1000.service/app.slice/x.service",
            "user.slice/user-1000.slice/session-2.scope",
        ]);
        let r = root.path();
        assert_eq!(unit_cgroup_in(r, "nginx").unwrap(), r.join("system.slice/nginx.service"));
        assert_eq!(unit_cgroup_in(r, "nginx.service").unwrap(), r.join("system.slice/nginx.service"));
        assert_eq!(unit_cgroup_in(r, "getty@tty1").unwrap(), r.join("system.slice/system-getty.slice/getty@tty1.service"));
        assert_eq!(unit_cgroup_in(r, "x").unwrap(), r.join("user.slice/user-1000.slice/user@1000.service/app.slice/x.service"));
        assert_eq!(unit_cgroup_in(r, "session-2.scope").unwrap(), r.join("user.slice/user-1000.slice/session-2.scope"));
        assert_eq!(unit_cgroup_in(r, "user-1000.slice").unwrap(), r.join("user.slice/user-1000.slice"));
        assert_eq!(unit_cgroup_in(r, "init.scope").unwrap(), r.join("init.scope"));
    }

    #[test]
    fn a_system_unit_comes_before_a_user_one_of_the_same_name_and_two_users_are_ambiguous() {
        let root = tree(&[
            "system.slice/foo.service",
            "user.slice/user-1000.slice/user@1000.service/app.slice/foo.service",
            "user.slice/user-1000.slice/user@1000.service/app.slice/bar.service",
            "user.slice/user-1001.slice/user@1001.service/app.slice/bar.service",
        ]);
        assert_eq!(unit_cgroup_in(root.path(), "foo").unwrap(), root.path().join("system.slice/foo.service"));
        let err = unit_cgroup_in(root.path(), "bar").unwrap_err().to_string();
        assert!(err.starts_with("systemd unit bar is ambiguous: cgroups user.slice/user-1000.slice/"), "{err}");
        assert!(err.contains("user@1001.service/app.slice/bar.service") && !err.contains('\n'), "{err}");
    }

    #[test]
    fn an_unknown_unit_is_one_clear_line() {
        let root = tree(&["system.slice/nginx.service"]);
        let err = unit_cgroup_in(root.path(), "nope").unwrap_err().to_string();
        assert_eq!(err, format!("no systemd unit nope: no cgroup named nope.service under {}", root.path().display()));
        // A file of that name is not a cgroup.
        fs::write(root.path().join("system.slice/file.service"), "").unwrap();
        assert!(unit_cgroup_in(root.path(), "file").is_err());
    }

    #[test]
    fn unit_cgroup_without_such_a_unit_searches_and_says_where() {
        let Some(root) = crate::host::cgroupfs::cgroup2_mounts().into_iter().next() else { return };
        let err = unit_cgroup("tracer-test-no-such-unit").unwrap_err().to_string();
        let want = "no systemd unit tracer-test-no-such-unit: no cgroup named tracer-test-no-such-unit.service under";
        assert_eq!(err, format!("{want} {}", root.display()));
    }

    #[test]
    fn docker_with_the_systemd_driver() {
        let root = tree(&[
            "system.slice/docker.service",
            "system.slice/containerd.service",
            &format!("system.slice/docker-{ID}.scope"),
            &format!("system.slice/docker-{OTHER}.scope"),
        ]);
        let want = root.path().join(format!("system.slice/docker-{ID}.scope"));
        assert_eq!(container_cgroup_in(root.path(), ID).unwrap(), want);
        assert_eq!(container_cgroup_in(root.path(), &ID[..12]).unwrap(), want, "as docker ps shows it");
        assert_eq!(container_cgroup_in(root.path(), "3f4e5").unwrap(), want, "a unique prefix");
        assert_eq!(container_cgroup_in(root.path(), &ID[..12].to_uppercase()).unwrap(), want);
        assert_eq!(container_cgroup_in(root.path(), &format!("docker://{ID}")).unwrap(), want, "as kubectl shows it");
    }

    #[test]
    fn docker_with_the_cgroupfs_driver() {
        let root = tree(&[&format!("docker/{ID}"), "docker/buildkit", "system.slice/docker.service"]);
        assert_eq!(container_cgroup_in(root.path(), &ID[..12]).unwrap(), root.path().join(format!("docker/{ID}")));
        // A 64-digit name elsewhere is not a container's.
        let stray = tree(&[&format!("somewhere/{ID}")]);
        assert!(container_cgroup_in(stray.path(), &ID[..12]).is_err());
    }

    #[test]
    fn kubepods_with_containerd_and_cri_o() {
        let pod = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_5f60_7182_9a0b_c1d2e3f40516.slice";
        let root = tree(&[&format!("{pod}/cri-containerd-{ID}.scope"), &format!("{pod}/cri-containerd-{}.scope", "ab".repeat(32))]);
        assert_eq!(container_cgroup_in(root.path(), &ID[..12]).unwrap(), root.path().join(format!("{pod}/cri-containerd-{ID}.scope")));

        let cgroupfs = tree(&[&format!("kubepods/burstable/pod1b2c3d4e-5f60-7182-9a0b-c1d2e3f40516/{ID}")]);
        let want = cgroupfs.path().join(format!("kubepods/burstable/pod1b2c3d4e-5f60-7182-9a0b-c1d2e3f40516/{ID}"));
        assert_eq!(container_cgroup_in(cgroupfs.path(), &ID[..8]).unwrap(), want);

        // CRI-O's conmon scope carries the id too, and is not the container.
        let crio = tree(&[&format!("{pod}/crio-{ID}.scope"), &format!("{pod}/crio-conmon-{ID}.scope")]);
        assert_eq!(container_cgroup_in(crio.path(), &ID[..12]).unwrap(), crio.path().join(format!("{pod}/crio-{ID}.scope")));
    }

    #[test]
    fn podman_rootful_rootless_and_cgroupfs() {
        let root = tree(&[
            &format!("machine.slice/libpod-{ID}.scope/container"),
            &format!("machine.slice/libpod-conmon-{ID}.scope"),
        ]);
        assert_eq!(container_cgroup_in(root.path(), &ID[..12]).unwrap(), root.path().join(format!("machine.slice/libpod-{ID}.scope")));
        let rootless = format!("user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope");
        let root = tree(&[&rootless]);
        assert_eq!(container_cgroup_in(root.path(), &ID[..12]).unwrap(), root.path().join(rootless));
        let root = tree(&[&format!("libpod_parent/libpod-{ID}")]);
        assert_eq!(container_cgroup_in(root.path(), &ID[..12]).unwrap(), root.path().join(format!("libpod_parent/libpod-{ID}")));
    }

    #[test]
    fn an_ambiguous_prefix_lists_the_matches_shortened() {
        let root = tree(&[&format!("system.slice/docker-{ID}.scope"), &format!("machine.slice/libpod-{OTHER}.scope")]);
        let err = container_cgroup_in(root.path(), "3f4e").unwrap_err().to_string();
        assert_eq!(err, "container id 3f4e is ambiguous: it starts 3f4e11112222 (podman), 3f4e5d6c7b8a (docker); give more of it");
    }

    #[test]
    fn bad_short_and_unknown_ids() {
        let root = tree(&[&format!("system.slice/docker-{ID}.scope")]);
        let err = container_cgroup_in(root.path(), "3f4").unwrap_err().to_string();
        assert_eq!(err, "container id 3f4 is too short: give at least 4 hex digits");
        let err = container_cgroup_in(root.path(), "my-container").unwrap_err().to_string();
        assert!(err.starts_with("not a container id: \"my-container\""), "{err}");
        assert!(container_cgroup_in(root.path(), "").is_err());
        let err = container_cgroup_in(root.path(), "beef").unwrap_err().to_string();
        assert!(err.starts_with(&format!("no container beef: no cgroup under {} is named for it", root.path().display())), "{err}");
        assert!(!err.contains('\n'));
        assert!(container_cgroup_in(root.path(), &format!("{ID}0")).is_err(), "longer than any id");
    }

    #[test]
    fn the_search_is_bounded_and_follows_no_symlinks() {
        let deep = format!("a/b/c/d/e/f/g/docker-{ID}.scope");
        let too_deep = format!("a/b/c/d/e/f/g/h/docker-{OTHER}.scope");
        let root = tree(&[&deep, &too_deep]);
        assert_eq!(container_cgroup_in(root.path(), "3f4e").unwrap(), root.path().join(deep), "depth 8 is searched, 9 not");

        let elsewhere = tree(&[&format!("docker-{ID}.scope")]);
        let root = tree(&["system.slice"]);
        std::os::unix::fs::symlink(elsewhere.path(), root.path().join("system.slice/link")).unwrap();
        std::os::unix::fs::symlink(root.path(), root.path().join("system.slice/loop")).unwrap();
        assert!(container_cgroup_in(root.path(), &ID[..12]).is_err());
        assert!(unit_cgroup_in(root.path(), "loop").is_err());
    }
}
