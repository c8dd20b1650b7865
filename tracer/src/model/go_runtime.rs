//! What can be known from outside about a Go process: the Go version and modules its binary was
//! built with (its `.go.buildinfo` section), and the GOMAXPROCS its runtime chose, for a note when
//! a Go service runs more Ps than its cgroup's CPU quota allows (CFS then throttles it).
//!
//! GOMAXPROCS itself lives in the runtime's memory: here it is derived the way the runtime derives
//! it at start (the environment, else its default), which the program may still change itself.

use anyhow::{bail, Context, Result};
use std::ops::Range;

use object::{
    elf,
    read::elf::{FileHeader, ProgramHeader, SectionHeader},
    Endianness, ReadRef,
};

/// What a Go binary's build info section says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoBuild {
    /// The Go that built it, e.g. "go1.19.8".
    pub version: String,
    /// Module path of the main package, e.g. "tracer-tests/slowsleep" (its package path when it has no module).
    pub main_module: Option<String>,
    /// Paths of the modules it links, replaced ones by the path they replace.
    pub deps: Vec<String>,
    /// GODEBUG defaults built in (the `DefaultGODEBUG` build setting: from go.mod's go line and godebug settings),
    /// e.g. "containermaxprocs=0,updatemaxprocs=0"; empty if none.
    pub default_godebug: String,
}

/// The offset of `goid` in the runtime's `g` of a binary built by `version` (`go1.19.8`), for
/// the versions whose layout is known and whose `g` the kernel finds in a register (amd64 keeps
/// it in r14 from Go 1.17, the register ABI; arm64 in x28). From 1.17 to 1.22, `goid` follows
/// `stack`, `stackguard0/1`, `_panic`, `_defer`, `m`, `sched` (a 7-word `gobuf`), `syscallsp`,
/// `syscallpc`, `stktopsp`, `param`, `atomicstatus` and `stackLock`: 152 (Go 1.19's DWARF says
/// so). Go 1.23 added `syscallbp`; later layouts are not assumed: their calls carry no goroutine.
pub fn goid_offset(version: &str) -> Option<u32> {
    let minor: u32 = version.strip_prefix("go1.")?.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    (17..=22).contains(&minor).then_some(152)
}

/// Where the GOMAXPROCS figure comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoMaxProcsSource {
    /// GOMAXPROCS=n in /proc/PID/environ.
    Environment,
    /// Go < 1.25 default (or 1.25+ with containermaxprocs=0): the CPUs in the process's affinity mask.
    CpusAllowed,
    /// Go >= 1.25 default: min(CPUs allowed, max(2, ceil(cgroup CPU quota))) when a quota is known.
    CgroupAware,
    /// Links go.uber.org/automaxprocs: the program changes it itself; unknown from outside.
    SetAtRunTime,
}

/// A running Go program, as far as /proc tells.
#[derive(Clone, Debug)]
pub struct GoProcess {
    pub pid: u32,
    pub build: GoBuild,
    /// None when it cannot be known (SetAtRunTime).
    pub gomaxprocs: Option<u32>,
    pub source: GoMaxProcsSource,
    /// From /proc/PID/status Threads:, a hint only (Ms, not Ps: blocked syscalls add threads).
    pub threads: u32,
    /// From /proc/PID/status Cpus_allowed_list.
    pub cpus_allowed: u32,
}

/// A Go process the trace found, with what its note needs.
#[derive(Clone, Debug)]
pub struct GoSeen {
    pub go: GoProcess,
    pub comm: String,
    /// Its cgroup's CPU quota in CPUs, if it has one.
    pub quota_cpus: Option<f64>,
}

const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER_SIZE: usize = 32;
const ALIGN: usize = 16;
/// Flags bit set by Go 1.18+: the strings follow the header instead of being pointed at.
const FLAG_INLINE: u8 = 2;
/// As much as Go's debug/buildinfo searches for the header: the linker puts it at the start.
const SEARCH_SIZE: usize = 64 * 1024;
/// The first Go whose default GOMAXPROCS follows the cgroup's CPU quota.
const CGROUP_AWARE: (u32, u32) = (1, 25);
/// Modules that set GOMAXPROCS from the cgroup themselves, at start.
const RUNTIME_SETTERS: &[&str] = &["go.uber.org/automaxprocs"];

/// One line (no trailing newline) when GOMAXPROCS and the quota disagree: gomaxprocs > ceil(quota_cpus).
/// `runq_share` is the fraction (0..1) of the traced syscalls' time that was run-queue wait (None if not measured).
/// None when they agree or when gomaxprocs is unknown (SetAtRunTime: we cannot know).
pub fn quota_note(go: &GoProcess, quota_cpus: f64, runq_share: Option<f64>) -> Option<String> {
    let procs = go.gomaxprocs?;
    if !(quota_cpus.is_finite() && quota_cpus > 0.0) {
        return None;
    }
    let limit = ceiling(quota_cpus);
    if procs <= limit {
        return None;
    }
    let cgroup_aware_go = go_version(&go.build.version).is_some_and(|v| v >= CGROUP_AWARE);
    // Go 1.25's default goes no lower than 2 Ps, so it only meets a quota of more than 1 CPU.
    let default_fits = limit >= 2;
    let set = format!("Set GOMAXPROCS={limit}");
    let (why, advice) = match go.source {
        GoMaxProcsSource::Environment if cgroup_aware_go && default_fits => {
            ("set in its environment", format!("{set} or unset it (Go 1.25+ follows the quota)"))
        }
        GoMaxProcsSource::Environment => ("set in its environment", set),
        GoMaxProcsSource::CpusAllowed if cgroup_aware_go => (
            "the CPUs it may run on: containermaxprocs=0 turns Go's cgroup-aware default off",
            match default_fits {
                true => format!("{set} or drop containermaxprocs=0 (GODEBUG, or a go.mod go line before 1.25)"),
                false => set,
            },
        ),
        GoMaxProcsSource::CpusAllowed => (
            "Go's default before 1.25: the CPUs it may run on",
            if default_fits { format!("{set} or use Go 1.25+ (cgroup-aware default)") } else { set },
        ),
        GoMaxProcsSource::CgroupAware if procs == 2 => ("Go's cgroup-aware default, which goes no lower than 2", set),
        GoMaxProcsSource::CgroupAware => ("Go's cgroup-aware default", set),
        GoMaxProcsSource::SetAtRunTime => return None,
    };
    let build = &go.build;
    let name = match &build.main_module {
        Some(module) => format!("{}, {module}", build.version),
        None => build.version.clone(),
    };
    let mut note = format!("pid {} ({name}): GOMAXPROCS {procs} ({why}) against a CPU quota of {quota_cpus:.2} CPUs", go.pid);
    if let Some(share) = runq_share.filter(|s| s.is_finite()) {
        note += &format!("; {:.0}% of its syscalls' time was run-queue wait", share.clamp(0.0, 1.0) * 100.0);
    }
    note += &format!(". {advice}.");
    Some(note)
}

/// GOMAXPROCS as the runtime sets it at start, and where that comes from.
pub fn gomaxprocs(build: &GoBuild, environ: &[u8], cpus_allowed: u32, quota_cpus: Option<f64>) -> (Option<u32>, GoMaxProcsSource) {
    let env = env_var(environ, "GOMAXPROCS");
    // The runtime ignores a value that is not a positive integer and uses its default.
    if let Some(n) = env.and_then(go_atoi).filter(|&n| n > 0) {
        return (Some(n as u32), GoMaxProcsSource::Environment);
    }
    // automaxprocs leaves GOMAXPROCS alone when the environment has it, even a value the runtime ignored.
    if env.is_none() && build.deps.iter().any(|dep| RUNTIME_SETTERS.contains(&dep.as_str())) {
        return (None, GoMaxProcsSource::SetAtRunTime);
    }
    // Only containermaxprocs turns the cgroup-aware default off; updatemaxprocs=0 only stops its later updates.
    let containermaxprocs = godebug(build.default_godebug.as_bytes(), env_var(environ, "GODEBUG"), "containermaxprocs");
    if go_version(&build.version).is_some_and(|v| v >= CGROUP_AWARE) && containermaxprocs.is_none_or(|n| n > 0) {
        let quota = quota_cpus.filter(|q| q.is_finite() && *q > 0.0);
        let procs = quota.map_or(cpus_allowed, |q| cpus_allowed.min(ceiling(q).max(2)));
        return (Some(procs), GoMaxProcsSource::CgroupAware);
    }
    (Some(cpus_allowed), GoMaxProcsSource::CpusAllowed)
}

fn ceiling(cpus: f64) -> u32 {
    cpus.ceil() as u32
}

/// A GODEBUG setting as the runtime reads it at start: the built-in defaults, then the environment's; the last
/// value that parses wins.
fn godebug(default: &[u8], env: Option<&[u8]>, key: &str) -> Option<i32> {
    [Some(default), env]
        .into_iter()
        .flatten()
        .flat_map(|settings| settings.split(|&b| b == b','))
        .filter_map(|setting| setting.strip_prefix(key.as_bytes())?.strip_prefix(b"="))
        .filter_map(go_atoi)
        .next_back()
}

/// The first value of a variable in a NUL-separated environment, as the runtime's getenv finds it.
fn env_var<'a>(environ: &'a [u8], name: &str) -> Option<&'a [u8]> {
    environ.split(|&b| b == 0).find_map(|var| var.strip_prefix(name.as_bytes())?.strip_prefix(b"="))
}

/// The runtime's atoi32: an optional '-' and decimal digits, nothing else ("+3", " 3" do not parse).
fn go_atoi(s: &[u8]) -> Option<i32> {
    let (negative, digits) = match s.strip_prefix(b"-") {
        Some(digits) => (true, digits),
        None => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: i64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    i32::try_from(if negative { -n } else { n }).ok()
}

/// (major, minor) of a Go version: "go1.25.3", "go1.25rc1", "go1.22.0 X:loopvar", "devel go1.26-abcdef ...";
/// None for one without a version ("devel +abcdef ...": those predate Go 1.21).
fn go_version(version: &str) -> Option<(u32, u32)> {
    version.match_indices("go").find_map(|(at, _)| {
        let (major, rest) = leading_number(&version[at + 2..])?;
        let (minor, _) = leading_number(rest.strip_prefix('.')?)?;
        Some((major, minor))
    })
}

fn leading_number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    Some((s[..end].parse().ok()?, &s[end..]))
}

/// How many CPUs a list such as "0-3,8,10-11" (Cpus_allowed_list) names.
pub fn cpu_count(list: &str) -> Option<u32> {
    let list = list.trim();
    if list.is_empty() {
        return Some(0);
    }
    list.split(',').try_fold(0u32, |count, range| {
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let (first, last): (u32, u32) = (first.trim().parse().ok()?, last.trim().parse().ok()?);
        count.checked_add(last.checked_sub(first)? + 1)
    })
}

pub fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')).map(str::trim)
}

/// The most read of an executable at once: its headers and its build info (a few KiB in a real
/// binary) are read a range at a time, never the whole file (a Go binary is tens of MB, and the
/// traced side chooses its sizes and offsets).
pub const MAX_READ: u64 = 16 << 20;
/// The most read of the section or segment that holds the build info: the header is within its
/// first [`SEARCH_SIZE`] bytes, the strings after it (a module list is a few KiB).
const MAX_BLOB: u64 = SEARCH_SIZE as u64 + (1 << 20);

/// A file's bytes through `R`, refusing any read over [`MAX_READ`].
#[derive(Clone, Copy)]
struct Capped<R>(R);

impl<'data, R: ReadRef<'data>> ReadRef<'data> for Capped<R> {
    fn len(self) -> Result<u64, ()> {
        self.0.len()
    }
    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'data [u8], ()> {
        if size > MAX_READ {
            return Err(());
        }
        self.0.read_bytes_at(offset, size)
    }
    fn read_bytes_at_until(self, range: Range<u64>, delimiter: u8) -> Result<&'data [u8], ()> {
        let end = range.end.min(range.start.saturating_add(MAX_READ));
        self.0.read_bytes_at_until(range.start..end, delimiter)
    }
}

/// The Go build info of an ELF file: `data` is its bytes, or a [`object::ReadCache`] over the file
/// (only the headers and the build info are then read). Ok(None) when it is not a Go binary.
pub fn build_info<'data, R: ReadRef<'data>>(data: R) -> Result<Option<GoBuild>> {
    let data = Capped(data);
    if data.read_bytes_at(0, 5) != Ok(b"\x7fELF\x02") && data.read_bytes_at(0, 5) != Ok(b"\x7fELF\x01") {
        return Ok(None);
    }
    let found = if data.read_bytes_at(4, 1) == Ok(&[elf::ELFCLASS64]) {
        elf_build_info::<elf::FileHeader64<Endianness>, _>(data)
    } else {
        elf_build_info::<elf::FileHeader32<Endianness>, _>(data)
    };
    Ok(found.context("not a readable ELF file")?.map(|(version, modinfo)| parse_modinfo(version, &String::from_utf8_lossy(strip_sentinels(modinfo)))))
}

/// The version and module info strings, through the ELF headers (never the symbol tables).
fn elf_build_info<'data, Elf: FileHeader<Endian = Endianness>, R: ReadRef<'data>>(data: R) -> Result<Option<(String, &'data [u8])>> {
    let header = Elf::parse(data)?;
    let endian = header.endian()?;
    let loads: Vec<&Elf::ProgramHeader> = header.program_headers(endian, data)?.iter().filter(|p| p.p_type(endian) == elf::PT_LOAD).collect();
    let Some(blob) = find_header(header, endian, data, &loads)? else { return Ok(None) };
    // The bytes at a virtual address, read from the segment that holds them (only those bytes).
    let read = |address: u64, size: u64| {
        loads.iter().find_map(|segment| {
            let (offset, filesz) = segment.file_range(endian);
            let at = address.checked_sub(segment.p_vaddr(endian).into())?;
            (at.checked_add(size)? <= filesz).then(|| data.read_bytes_at(offset.checked_add(at)?, size).ok()).flatten()
        })
    };
    decode_header(blob, read).map(Some)
}

/// The build info header and what follows it, where Go's debug/buildinfo looks: at a 16-byte boundary near the
/// start of `.go.buildinfo`.
fn find_header<'data, Elf: FileHeader, R: ReadRef<'data>>(
    header: &Elf,
    endian: Elf::Endian,
    data: R,
    loads: &[&Elf::ProgramHeader],
) -> Result<Option<&'data [u8]>> {
    let sections = header.sections(endian, data)?;
    let (offset, size) = match sections.section_by_name(endian, b".go.buildinfo") {
        Some((_, section)) if section.sh_type(endian) == elf::SHT_NOBITS => return Ok(None),
        Some((_, section)) => section.file_range(endian).unwrap_or((0, 0)),
        // Section headers stripped (sstrip): in the first writable, non-executable segment, as Go does.
        None if sections.iter().all(|s| sections.section_name(endian, s).map_or(true, <[u8]>::is_empty)) => {
            match loads.iter().find(|s| s.p_flags(endian) & (elf::PF_W | elf::PF_X) == elf::PF_W) {
                Some(segment) => segment.file_range(endian),
                None => return Ok(None),
            }
        }
        None => return Ok(None),
    };
    let data = data.read_bytes_at(offset, size.min(MAX_BLOB)).map_err(|()| anyhow::anyhow!("cannot read the build info at {offset:#x}"))?;
    let start = (0..data.len().min(SEARCH_SIZE))
        .step_by(ALIGN)
        .find(|&at| data.len() - at >= HEADER_SIZE && data[at..].starts_with(MAGIC));
    Ok(start.map(|at| &data[at..]))
}

/// The version and modinfo strings of a build info header at `blob[0]`; `read` gives the file's bytes at a
/// virtual address, for the format before Go 1.18, which points at Go string headers.
fn decode_header<'a>(blob: &'a [u8], read: impl Fn(u64, u64) -> Option<&'a [u8]>) -> Result<(String, &'a [u8])> {
    let (ptr_size, flags) = (usize::from(blob[14]), blob[15]);
    let (version, modinfo) = if flags & FLAG_INLINE != 0 {
        let (version, rest) = inline_string(&blob[HEADER_SIZE..]).context("truncated version string")?;
        let (modinfo, _) = inline_string(rest).context("truncated module info")?;
        (version, modinfo)
    } else {
        if ptr_size != 4 && ptr_size != 8 {
            bail!("pointer size {ptr_size}");
        }
        let pointer = |b: &[u8]| {
            let mut bytes = [0u8; 8];
            if flags & 1 != 0 {
                bytes[8 - ptr_size..].copy_from_slice(&b[..ptr_size]);
                u64::from_be_bytes(bytes)
            } else {
                bytes[..ptr_size].copy_from_slice(&b[..ptr_size]);
                u64::from_le_bytes(bytes)
            }
        };
        let string_at = |address: u64| -> Result<&'a [u8]> {
            if address == 0 {
                // Filled in by relocations at load time: a position-independent binary of Go before 1.18.
                bail!("the build info's string pointers are zero in the file");
            }
            let header = read(address, 2 * ptr_size as u64).with_context(|| format!("no string header at {address:#x}"))?;
            let (data, len) = (pointer(header), pointer(&header[ptr_size..]));
            if len == 0 {
                return Ok(&[]);
            }
            read(data, len).with_context(|| format!("no string of {len} bytes at {data:#x}"))
        };
        (string_at(pointer(&blob[16..]))?, string_at(pointer(&blob[16 + ptr_size..]))?)
    };
    if version.is_empty() {
        bail!("no Go version in the build info");
    }
    Ok((String::from_utf8_lossy(version).into_owned(), modinfo))
}

/// Go's uvarint (encoding/binary): 7 bits a byte, low ones first; the value and the bytes it took, None if
/// truncated or over 64 bits.
fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        if i == 9 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some((value, i + 1));
        }
    }
    None
}

/// A uvarint-length-prefixed string, and the bytes after it.
fn inline_string(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, n) = uvarint(b)?;
    let rest = &b[n..];
    let len = usize::try_from(len).ok().filter(|&len| len <= rest.len())?;
    Some(rest.split_at(len))
}

/// The module info inside the 16-byte sentinels cmd/go puts around it; empty without them. Go's own test: at
/// least 33 bytes and a newline before the closing sentinel (the sentinels' bytes are not checked).
fn strip_sentinels(modinfo: &[u8]) -> &[u8] {
    let n = modinfo.len();
    if n >= 33 && modinfo[n - 17] == b'\n' {
        &modinfo[16..n - 16]
    } else {
        &[]
    }
}

/// Lines of tab-separated fields: "path", "mod", "dep", "=>" (replaces the line before), "build".
fn parse_modinfo(version: String, modinfo: &str) -> GoBuild {
    let (mut path, mut module, mut deps, mut default_godebug) = (None, None, Vec::new(), String::new());
    for line in modinfo.lines() {
        let mut fields = line.split('\t');
        match (fields.next(), fields.next().filter(|f| !f.is_empty())) {
            (Some("path"), Some(p)) => path = Some(p.to_string()),
            (Some("mod"), Some(m)) => module = Some(m.to_string()),
            (Some("dep"), Some(d)) => deps.push(d.to_string()),
            (Some("build"), Some(setting)) => {
                if let Some(value) = setting.strip_prefix("DefaultGODEBUG=") {
                    default_godebug = value.to_string();
                }
            }
            // "=>": a replaced module keeps the path it is imported by.
            _ => {}
        }
    }
    GoBuild { version, main_module: module.or(path), deps, default_godebug }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goid_offsets_only_for_layouts_known() {
        assert_eq!(goid_offset("go1.19.8"), Some(152));
        assert_eq!(goid_offset("go1.17"), Some(152));
        assert_eq!(goid_offset("go1.22rc1"), Some(152));
        for unknown in ["go1.16.15", "go1.23.0", "go1.25.1", "devel go1.23-abc", "go2.0", ""] {
            assert_eq!(goid_offset(unknown), None, "{unknown}");
        }
    }

    const START: &[u8] = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6";
    const END: &[u8] = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2";

    fn framed(text: &str) -> Vec<u8> {
        [START, text.as_bytes(), END].concat()
    }

    fn build(version: &str, deps: &[&str], default_godebug: &str) -> GoBuild {
        GoBuild {
            version: version.to_string(),
            main_module: Some("example.com/svc".to_string()),
            deps: deps.iter().map(|d| d.to_string()).collect(),
            default_godebug: default_godebug.to_string(),
        }
    }

    fn process(version: &str, gomaxprocs: Option<u32>, source: GoMaxProcsSource) -> GoProcess {
        GoProcess { pid: 1234, build: build(version, &[], ""), gomaxprocs, source, threads: 20, cpus_allowed: 16 }
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_count("0-1"), Some(2));
        assert_eq!(cpu_count("0,2-3"), Some(3));
        assert_eq!(cpu_count("5"), Some(1));
        assert_eq!(cpu_count("0-3,8,10-11\n"), Some(7));
        assert_eq!(cpu_count(""), Some(0));
        assert_eq!(cpu_count("3-1"), None);
        assert_eq!(cpu_count("0-x"), None);
    }

    #[test]
    fn status_fields() {
        let status = "Name:\tsvc\nThreads:\t9\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n";
        assert_eq!(status_field(status, "Threads"), Some("9"));
        assert_eq!(status_field(status, "Cpus_allowed_list"), Some("0-1"));
        assert_eq!(status_field(status, "Cpus_allowed"), Some("3"));
        assert_eq!(status_field(status, "Mems_allowed_list"), None);
    }

    #[test]
    fn go_versions() {
        assert_eq!(go_version("go1.19.8"), Some((1, 19)));
        assert_eq!(go_version("go1.25"), Some((1, 25)));
        assert_eq!(go_version("go1.25.3"), Some((1, 25)));
        assert_eq!(go_version("go1.25rc1"), Some((1, 25)));
        assert_eq!(go_version("go1.22.0 X:loopvar"), Some((1, 22)));
        assert_eq!(go_version("devel go1.26-a1b2c3d4 Tue Jan 6 10:00:00 2026 +0000"), Some((1, 26)));
        assert_eq!(go_version("devel +b7a85e0003 Fri Nov 13 2020"), None);
        assert_eq!(go_version("go1"), None);
        assert!(go_version("go1.9.7").unwrap() < CGROUP_AWARE);
        assert!(go_version("go1.100").unwrap() > CGROUP_AWARE);
    }

    #[test]
    fn uvarints() {
        assert_eq!(uvarint(&[0x08, 0xff]), Some((8, 1)));
        assert_eq!(uvarint(&[0xf6, 0x02]), Some((374, 2)));
        assert_eq!(uvarint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), Some((u64::MAX, 10)));
        assert_eq!(uvarint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]), None);
        assert_eq!(uvarint(&[0x80]), None);
        assert_eq!(uvarint(&[]), None);
        assert_eq!(inline_string(b"\x03abcdef"), Some((&b"abc"[..], &b"def"[..])));
        assert_eq!(inline_string(b"\x07abc"), None);
    }

    #[test]
    fn sentinels_are_stripped() {
        let text = "path\texample.com/svc/cmd\nmod\texample.com/svc\t(devel)\t\n";
        assert_eq!(strip_sentinels(&framed(text)), text.as_bytes());
        // Too short to hold both sentinels, or no newline before the closing one: no module info.
        assert_eq!(strip_sentinels(&framed("")), b"");
        assert_eq!(strip_sentinels(&framed("path\tx")), b"");
    }

    #[test]
    fn module_info() {
        let text = "path\texample.com/svc/cmd/svc\n\
                    mod\texample.com/svc\tv1.2.3\th1:abc=\n\
                    dep\tgo.uber.org/automaxprocs\tv1.5.3\th1:def=\n\
                    dep\tgolang.org/x/sys\tv0.1.0\n\
                    =>\t../sys\t(devel)\t\n\
                    build\t-compiler=gc\n\
                    build\tDefaultGODEBUG=containermaxprocs=0,updatemaxprocs=0\n\
                    build\tGOARCH=amd64\n";
        let build = parse_modinfo("go1.25.1".to_string(), text);
        assert_eq!(build.version, "go1.25.1");
        assert_eq!(build.main_module.as_deref(), Some("example.com/svc"));
        assert_eq!(build.deps, ["go.uber.org/automaxprocs", "golang.org/x/sys"]);
        assert_eq!(build.default_godebug, "containermaxprocs=0,updatemaxprocs=0");
        // `go run x.go`, or GOPATH mode: a package path and no module.
        let build = parse_modinfo("go1.19.8".to_string(), "path\tcommand-line-arguments\nbuild\t-compiler=gc\n");
        assert_eq!(build.main_module.as_deref(), Some("command-line-arguments"));
        assert!(build.deps.is_empty() && build.default_godebug.is_empty());
        assert_eq!(parse_modinfo("go1.12".to_string(), "").main_module, None);
    }

    fn header(ptr_size: u8, flags: u8) -> Vec<u8> {
        let mut header = MAGIC.to_vec();
        header.extend([ptr_size, flags]);
        header.resize(HEADER_SIZE, 0);
        header
    }

    #[test]
    fn inline_header() {
        let modinfo = framed("path\tslowsleep\nmod\tslowsleep\t(devel)\t\n");
        let mut blob = header(8, FLAG_INLINE);
        blob.extend(b"\x08go1.19.8");
        blob.push(modinfo.len() as u8);
        blob.extend(&modinfo);
        let (version, info) = decode_header(&blob, |_, _| None).unwrap();
        assert_eq!((version.as_str(), info), ("go1.19.8", &modinfo[..]));
        // The varint says more than there is.
        blob.truncate(HEADER_SIZE + 20);
        assert!(decode_header(&blob, |_, _| None).is_err());
    }

    #[test]
    fn pointer_header() {
        // Go before 1.18: two pointers to Go string headers (data pointer, length) elsewhere in the data.
        fn memory<'a>(base: u64, bytes: &'a [u8]) -> impl Fn(u64, u64) -> Option<&'a [u8]> {
            move |address, size| {
                let at = usize::try_from(address.checked_sub(base)?).ok()?;
                bytes.get(at..at.checked_add(usize::try_from(size).ok()?)?)
            }
        }
        let modinfo = framed("path\tex.com/a\nmod\tex.com/a\t(devel)\t\ndep\tex.com/b\tv1.0.0\th1:x=\n");
        // Little-endian, 8-byte pointers: headers at 0x1000 and 0x1010, strings at 0x1020 and 0x1030.
        let mut data = Vec::new();
        for word in [0x1020, 8, 0x1030, modinfo.len() as u64] {
            data.extend(u64::to_le_bytes(word));
        }
        data.extend(b"go1.16.3");
        data.resize(0x30, 0);
        data.extend(&modinfo);
        let mut blob = header(8, 0);
        blob[16..24].copy_from_slice(&0x1000u64.to_le_bytes());
        blob[24..32].copy_from_slice(&0x1010u64.to_le_bytes());
        let (version, info) = decode_header(&blob, memory(0x1000, &data)).unwrap();
        let build = parse_modinfo(version, std::str::from_utf8(strip_sentinels(info)).unwrap());
        assert_eq!(build.version, "go1.16.3");
        assert_eq!(build.main_module.as_deref(), Some("ex.com/a"));
        assert_eq!(build.deps, ["ex.com/b"]);
        // Big-endian, 4-byte pointers, no module info.
        let mut data = Vec::new();
        for word in [0x2010u32, 6, 0, 0] {
            data.extend(u32::to_be_bytes(word));
        }
        data.extend(b"go1.13");
        let mut blob = header(4, 1);
        blob[16..20].copy_from_slice(&0x2000u32.to_be_bytes());
        blob[20..24].copy_from_slice(&0x2008u32.to_be_bytes());
        let (version, info) = decode_header(&blob, memory(0x2000, &data)).unwrap();
        assert_eq!((version.as_str(), info), ("go1.13", &b""[..]));
        // Pointers left for the dynamic loader to fill in.
        assert!(decode_header(&header(8, 0), |_, _| None).is_err());
        assert!(decode_header(&header(3, 0), |_, _| None).is_err());
    }

    #[test]
    fn not_elf_is_not_go() {
        assert_eq!(build_info(&b"#!/bin/sh\necho hi\n"[..]).unwrap(), None);
        assert_eq!(build_info(&b""[..]).unwrap(), None);
    }

    #[test]
    fn environment_values() {
        let environ = b"HOME=/root\0GOMAXPROCS=7\0GOMAXPROCS=3\0GODEBUG=x=1\0";
        assert_eq!(env_var(environ, "GOMAXPROCS"), Some(&b"7"[..]));
        assert_eq!(env_var(environ, "GODEBUG"), Some(&b"x=1"[..]));
        assert_eq!(env_var(environ, "GOMAXPROC"), None);
        assert_eq!(go_atoi(b"007"), Some(7));
        assert_eq!(go_atoi(b"-2"), Some(-2));
        for bad in [&b""[..], b"+3", b" 3", b"3 ", b"abc", b"99999999999", b"-"] {
            assert_eq!(go_atoi(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(godebug(b"containermaxprocs=0,updatemaxprocs=0", None, "containermaxprocs"), Some(0));
        assert_eq!(godebug(b"containermaxprocs=0", Some(b"containermaxprocs=1"), "containermaxprocs"), Some(1));
        assert_eq!(godebug(b"", Some(b"containermaxprocs=0,containermaxprocs=x"), "containermaxprocs"), Some(0));
        assert_eq!(godebug(b"xcontainermaxprocs=0", Some(b"updatemaxprocs=0"), "containermaxprocs"), None);
    }

    #[test]
    fn where_gomaxprocs_comes_from() {
        use GoMaxProcsSource::*;
        let old = build("go1.19.8", &[], "");
        let new = build("go1.25.3", &[], "");
        assert_eq!(gomaxprocs(&old, b"GOMAXPROCS=7\0", 16, Some(2.0)), (Some(7), Environment));
        assert_eq!(gomaxprocs(&new, b"GOMAXPROCS=7\0", 16, Some(2.0)), (Some(7), Environment));
        // Values the runtime ignores: its default.
        for bad in ["0", "-1", "+3", "four", ""] {
            let environ = format!("GOMAXPROCS={bad}\0");
            assert_eq!(gomaxprocs(&old, environ.as_bytes(), 16, Some(2.0)), (Some(16), CpusAllowed), "{bad}");
        }
        assert_eq!(gomaxprocs(&old, b"", 16, Some(2.0)), (Some(16), CpusAllowed));
        assert_eq!(gomaxprocs(&new, b"", 16, None), (Some(16), CgroupAware));
        assert_eq!(gomaxprocs(&new, b"", 16, Some(2.5)), (Some(3), CgroupAware));
        assert_eq!(gomaxprocs(&new, b"", 16, Some(0.5)), (Some(2), CgroupAware));
        assert_eq!(gomaxprocs(&new, b"", 1, Some(0.5)), (Some(1), CgroupAware));
        assert_eq!(gomaxprocs(&new, b"", 4, Some(32.0)), (Some(4), CgroupAware));
        assert_eq!(gomaxprocs(&new, b"GODEBUG=containermaxprocs=0\0", 16, Some(2.0)), (Some(16), CpusAllowed));
        assert_eq!(gomaxprocs(&new, b"GODEBUG=updatemaxprocs=0\0", 16, Some(2.0)), (Some(2), CgroupAware));
        // A go.mod go line before 1.25 builds the old default in; the environment can still turn it back on.
        let pinned = build("go1.25.3", &[], "containermaxprocs=0,updatemaxprocs=0");
        assert_eq!(gomaxprocs(&pinned, b"", 16, Some(2.0)), (Some(16), CpusAllowed));
        assert_eq!(gomaxprocs(&pinned, b"GODEBUG=containermaxprocs=1\0", 16, Some(2.0)), (Some(2), CgroupAware));
        let automaxprocs = build("go1.19.8", &["go.uber.org/automaxprocs"], "");
        assert_eq!(gomaxprocs(&automaxprocs, b"", 16, Some(2.0)), (None, SetAtRunTime));
        assert_eq!(gomaxprocs(&automaxprocs, b"GOMAXPROCS=4\0", 16, Some(2.0)), (Some(4), Environment));
        assert_eq!(gomaxprocs(&automaxprocs, b"GOMAXPROCS=x\0", 16, Some(2.0)), (Some(16), CpusAllowed));
    }

    #[test]
    fn a_note_when_gomaxprocs_exceeds_the_quota() {
        let go = process("go1.19.8", Some(16), GoMaxProcsSource::CpusAllowed);
        assert_eq!(
            quota_note(&go, 2.0, Some(0.41)).unwrap(),
            "pid 1234 (go1.19.8, example.com/svc): GOMAXPROCS 16 (Go's default before 1.25: the CPUs it may run on) \
             against a CPU quota of 2.00 CPUs; 41% of its syscalls' time was run-queue wait. \
             Set GOMAXPROCS=2 or use Go 1.25+ (cgroup-aware default)."
        );
        // Not measured: nothing said of it. Under 2 CPUs, Go 1.25's default would not meet the quota either.
        assert_eq!(
            quota_note(&go, 0.5, None).unwrap(),
            "pid 1234 (go1.19.8, example.com/svc): GOMAXPROCS 16 (Go's default before 1.25: the CPUs it may run on) \
             against a CPU quota of 0.50 CPUs. Set GOMAXPROCS=1."
        );
        let mut go = process("go1.19.8", Some(7), GoMaxProcsSource::Environment);
        go.build.main_module = None;
        assert_eq!(
            quota_note(&go, 1.0, Some(0.0)).unwrap(),
            "pid 1234 (go1.19.8): GOMAXPROCS 7 (set in its environment) against a CPU quota of 1.00 CPUs; \
             0% of its syscalls' time was run-queue wait. Set GOMAXPROCS=1."
        );
        let go = process("go1.25.0", Some(8), GoMaxProcsSource::Environment);
        assert!(quota_note(&go, 4.0, None).unwrap().ends_with("Set GOMAXPROCS=4 or unset it (Go 1.25+ follows the quota)."));
        let go = process("go1.25.0", Some(16), GoMaxProcsSource::CpusAllowed);
        let note = quota_note(&go, 4.0, None).unwrap();
        assert!(note.contains("(the CPUs it may run on: containermaxprocs=0 turns Go's cgroup-aware default off)"), "{note}");
        assert!(note.ends_with("Set GOMAXPROCS=4 or drop containermaxprocs=0 (GODEBUG, or a go.mod go line before 1.25)."));
        let go = process("go1.25.0", Some(2), GoMaxProcsSource::CgroupAware);
        assert_eq!(
            quota_note(&go, 0.5, Some(1.5)).unwrap(),
            "pid 1234 (go1.25.0, example.com/svc): GOMAXPROCS 2 (Go's cgroup-aware default, which goes no lower than 2) \
             against a CPU quota of 0.50 CPUs; 100% of its syscalls' time was run-queue wait. Set GOMAXPROCS=1."
        );
    }

    #[test]
    fn no_note_when_they_agree_or_gomaxprocs_is_unknown() {
        let go = |n| process("go1.19.8", Some(n), GoMaxProcsSource::CpusAllowed);
        assert_eq!(quota_note(&go(2), 2.0, Some(0.5)), None);
        assert_eq!(quota_note(&go(2), 1.5, Some(0.5)), None);
        assert_eq!(quota_note(&go(1), 4.0, None), None);
        assert!(quota_note(&go(3), 2.0, None).is_some());
        assert!(quota_note(&go(3), 2.5, None).is_none());
        assert_eq!(quota_note(&go(3), 0.0, None), None);
        assert_eq!(quota_note(&go(3), f64::NAN, None), None);
        assert_eq!(quota_note(&process("go1.19.8", None, GoMaxProcsSource::SetAtRunTime), 1.0, Some(0.9)), None);
    }

    /// Fuzz target: a traced program's executable, as the reader (root) reads its Go build info.
    #[test]
    fn fuzz_go_buildinfo() {
        for (name, elf) in crate::fuzz::corpus("go_buildinfo").into_iter().filter(|(name, _)| !name.starts_with("regress-")) {
            let build = build_info(&elf[..]).unwrap().unwrap_or_else(|| panic!("{name}: no build info"));
            assert!(build.version.starts_with("go1.1") && build.main_module.is_some(), "{name}: {build:?}");
        }
        crate::fuzz::fuzz("go_buildinfo", |elf| {
            let _ = build_info(elf);
        });
    }
}
