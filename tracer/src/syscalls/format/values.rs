//! One value in strace's notation: flags by name, pointers, modes, signals, C-escaped strings,
//! socket addresses and errors.
use std::{ffi::CStr, fmt::Write};

use super::{tables::*, Table};
use tracer_common::slow::SLOW_USER_BYTES;

use crate::syscalls::table::errno_name;

pub(super) fn lookup(table: Table, value: u64) -> Option<&'static str> {
    table.iter().find(|(v, _)| *v == value).map(|(_, name)| *name)
}

pub(super) fn name_at(names: &[&'static str], value: u64) -> Option<&'static str> {
    usize::try_from(value).ok().and_then(|i| names.get(i)).copied()
}

/// `%#llx`: the C format strace uses for raw values, so 0 is `0`, not `0x0`.
pub(super) fn hex(value: u64) -> String {
    if value == 0 { "0".to_string() } else { format!("{value:#x}") }
}

/// A pointer argument: `NULL` or its address.
pub(super) fn addr(value: u64) -> String {
    if value == 0 { "NULL".to_string() } else { format!("{value:#x}") }
}

/// `%#03o`, strace's mode format: `0644`, `000`.
pub(super) fn octal(value: u64) -> String {
    let digits = if value == 0 { "0".to_string() } else { format!("0{value:o}") };
    format!("{digits:0>3}")
}

/// A value from a table, or the number in hex with the table's `X_???` in a comment.
pub(super) fn xval(table: Table, value: u64, unknown: &str) -> String {
    lookup(table, value).map_or_else(|| format!("{} /* {unknown} */", hex(value)), str::to_string)
}

/// A value by index in a list of names, as [`xval`].
pub(super) fn xname(names: &[&'static str], value: u64, unknown: &str) -> String {
    name_at(names, value).map_or_else(|| format!("{} /* {unknown} */", hex(value)), str::to_string)
}

/// strace's printflags: the table's names whose bits are all set, in table order, then the remaining
/// bits in hex; 0 is the table's name for 0 or `0`; no known bit at all is hex with `unknown` as a
/// comment (without one when `unknown` is None).
pub(super) fn flags_with(table: Table, value: u64, unknown: Option<&str>) -> String {
    flags_in(&[table], value, unknown)
}

/// [`flags_with`] over several tables in turn.
pub(super) fn flags_in(tables: &[Table], value: u64, unknown: Option<&str>) -> String {
    if value == 0 {
        return tables.iter().find_map(|table| lookup(table, 0)).unwrap_or("0").to_string();
    }
    let mut rest = value;
    let mut names = Vec::new();
    for &(bits, name) in tables.iter().copied().flatten() {
        if rest == 0 {
            break;
        }
        if bits != 0 && rest & bits == bits {
            names.push(name);
            rest &= !bits;
        }
    }
    if names.is_empty() {
        return match unknown {
            Some(unknown) => format!("{} /* {unknown} */", hex(value)),
            None => hex(value),
        };
    }
    let mut out = names.join("|");
    if rest != 0 {
        let _ = write!(out, "|{rest:#x}");
    }
    out
}

pub(super) fn flags(table: Table, value: u64, unknown: &str) -> String {
    flags_with(table, value, Some(unknown))
}

/// open's flags: the access mode first, always, then the other flags.
pub(super) fn open_flags(value: u64) -> String {
    let value = value as u32 as u64;
    let mut out = O_ACCESS_MODES[(value & 3) as usize].to_string();
    let rest = value & !3;
    if rest != 0 {
        out.push('|');
        out.push_str(&flags_with(OPEN_FLAGS, rest, None));
    }
    out
}

/// mknod's mode: `S_IFCHR|0600`, or octal without a known file type.
pub(super) fn symbolic_mode(mode: u64) -> String {
    let mode = mode as u16 as u64;
    let ifmt = mode & libc::S_IFMT as u64;
    let kind = if ifmt == 0 { Some("") } else { lookup(FILE_TYPES, ifmt) };
    let Some(kind) = kind else { return octal(mode) };
    let mut out = String::new();
    if !kind.is_empty() {
        out.push_str(kind);
        out.push('|');
    }
    for (bit, name) in [(libc::S_ISUID, "S_ISUID|"), (libc::S_ISGID, "S_ISGID|"), (libc::S_ISVTX, "S_ISVTX|")] {
        if mode & bit as u64 != 0 {
            out.push_str(name);
        }
    }
    out.push_str(&octal(mode & 0o777));
    out
}

/// glibc's major()/minor() of a dev_t, as strace's makedev().
pub(super) fn makedev(dev: u64) -> String {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    format!("makedev({}, {})", hex(major), hex(minor))
}

pub(super) fn signal_name(sig: i32) -> Option<String> {
    match sig {
        0..=32 => Some(SIGNALS[sig as usize].to_string()),
        33..=SIGRTMAX => Some(format!("SIGRT_{}", sig - 32)),
        _ => None,
    }
}

/// A signal number: its name, or the number.
pub(super) fn signal(sig: i32) -> String {
    signal_name(sig).unwrap_or_else(|| sig.to_string())
}

/// A clockid by name; strace shows the negative ids of CPU and fd clocks as unsigned hex too.
pub(super) fn clock(id: u64) -> String {
    xname(&CLOCKS, id as u32 as u64, "CLOCK_???")
}

/// Text a traced process controls (a thread's name, a path, a cgroup's or a unit's name, a
/// symbol of its binary) as strace writes it: `\"`, `\\`, `\n` and friends, other bytes outside
/// printable ASCII in octal (`\33` for ESC, `\7` for BEL, `\303\251` for `é`). Whatever such
/// text reaches a terminal or a text file through goes through this, so that it cannot drive the
/// terminal (retitle, clear it) nor break a line; JSON, Prometheus and OTLP escape the raw text
/// their own way instead.
pub fn escape(text: impl AsRef<[u8]>) -> String {
    let bytes = text.as_ref();
    let mut out = String::with_capacity(bytes.len());
    escape_into(&mut out, bytes);
    out
}

/// Appends `bytes` with strace's C escapes ([`escape`]), three octal digits when an octal digit
/// follows.
pub(super) fn escape_into(out: &mut String, bytes: &[u8]) {
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\x0c' => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\x0b' => out.push_str("\\v"),
            b' '..=b'~' => out.push(c as char),
            _ => {
                out.push('\\');
                let full = matches!(bytes.get(i + 1), Some(b'0'..=b'7'));
                if full || c >> 6 != 0 {
                    out.push((b'0' + (c >> 6)) as char);
                }
                if full || c >> 3 != 0 {
                    out.push((b'0' + ((c >> 3) & 7)) as char);
                }
                out.push((b'0' + (c & 7)) as char);
            }
        }
    }
}

pub(super) fn quoted(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    escape_into(&mut out, bytes);
    out.push('"');
    out
}

/// Bytes up to the first NUL, or all of them.
pub(super) fn until_nul(bytes: &[u8]) -> &[u8] {
    bytes.iter().position(|&b| b == 0).map_or(bytes, |n| &bytes[..n])
}

/// A copied path, quoted; `...` follows one that filled the kernel's copy, which may have cut it (strace
/// does the same for a path longer than its buffer).
pub(super) fn quoted_path(raw: &[u8]) -> String {
    let text = until_nul(raw);
    let mut out = quoted(&text[..text.len().min(SLOW_USER_BYTES)]);
    if text.len() >= SLOW_USER_BYTES - 1 {
        out.push_str("...");
    }
    out
}

pub(super) fn u16_be(bytes: &[u8], at: usize) -> u16 {
    let mut b = [0; 2];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = bytes.get(at + i).copied().unwrap_or(0);
    }
    u16::from_be_bytes(b)
}

/// A native-endian field; bytes past the end of a short copy read as 0, as strace zero-fills its buffer.
pub(super) fn u32_ne(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = bytes.get(at + i).copied().unwrap_or(0);
    }
    u32::from_ne_bytes(b)
}

pub(super) fn ipv4(b: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// glibc's inet_ntop(AF_INET6): the longest run (first of equals) of two or more zero groups becomes
/// `::`, and `::a.b.c.d` / `::ffff:a.b.c.d` show their IPv4 address.
pub(super) fn ipv6(b: [u8; 16]) -> String {
    let words: Vec<u16> = b.chunks_exact(2).map(|w| u16::from_be_bytes([w[0], w[1]])).collect();
    let (mut best, mut cur): ((usize, usize), Option<(usize, usize)>) = ((0, 0), None);
    for (i, &w) in words.iter().enumerate() {
        if w == 0 {
            let run = cur.map_or((i, 1), |(start, len)| (start, len + 1));
            cur = Some(run);
            if run.1 > best.1 {
                best = run;
            }
        } else {
            cur = None;
        }
    }
    let best = (best.1 >= 2).then_some(best);
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if let Some((start, len)) = best {
            if i == start {
                out.push(':');
                i += len;
                if i == 8 {
                    out.push(':');
                }
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6 && best.is_some_and(|(start, len)| start == 0 && (len == 6 || (len == 5 && words[5] == 0xffff))) {
            out.push_str(&ipv4([b[12], b[13], b[14], b[15]]));
            break;
        }
        let _ = write!(out, "{:x}", words[i]);
        i += 1;
    }
    out
}

/// strace's sin6_scope_id for link-local addresses: `if_nametoindex("eth0")` when the interface exists.
pub(super) fn interface(index: u32) -> String {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: the buffer holds IF_NAMESIZE bytes, as if_indextoname requires; it NUL-terminates on success.
    let found = unsafe { !libc::if_indextoname(index, name.as_mut_ptr()).is_null() };
    if !found {
        return index.to_string();
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into the buffer.
    let name = unsafe { CStr::from_ptr(name.as_ptr()) };
    format!("if_nametoindex({})", quoted(name.to_bytes()))
}

/// A struct sockaddr of `b.len()` bytes (at least 2), as strace's print_sockaddr.
pub(super) fn sockaddr(b: &[u8]) -> String {
    let b = &b[..b.len().min(128)];
    let family = u16::from_ne_bytes([b.first().copied().unwrap_or(0), b.get(1).copied().unwrap_or(0)]) as u64;
    let mut out = format!("{{sa_family={}", xname(&ADDRESS_FAMILIES, family, "AF_???"));
    if b.len() > 2 {
        out.push_str(", ");
        match family {
            AF_UNIX => {
                // sun_path is 108 bytes; an abstract name starts with a NUL and may hold more.
                let path = &b[2..b.len().min(110)];
                if path[0] != 0 {
                    let _ = write!(out, "sun_path={}", quoted(until_nul(path)));
                } else {
                    let _ = write!(out, "sun_path=@{}", quoted(&path[1..]));
                }
            }
            AF_INET if b.len() >= 16 => {
                let _ = write!(
                    out,
                    "sin_port=htons({}), sin_addr=inet_addr(\"{}\")",
                    u16_be(b, 2),
                    ipv4([b[4], b[5], b[6], b[7]])
                );
            }
            AF_INET6 if b.len() >= 24 => {
                let mut a = [0; 16];
                a.copy_from_slice(&b[8..24]);
                let _ = write!(
                    out,
                    "sin6_port=htons({}), sin6_flowinfo=htonl({}), inet_pton(AF_INET6, \"{}\", &sin6_addr)",
                    u16_be(b, 2),
                    u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                    ipv6(a)
                );
                // The scope id follows only in a full sockaddr_in6.
                if b.len() > 24 {
                    let scope = u32_ne(b, 24);
                    let link_local = (a[0] == 0xfe && a[1] & 0xc0 == 0x80) || (a[0] == 0xff && a[1] & 0x0f == 0x02);
                    let scope = if link_local { interface(scope) } else { scope.to_string() };
                    let _ = write!(out, ", sin6_scope_id={scope}");
                }
            }
            AF_NETLINK if b.len() >= 12 => {
                let pad = u16::from_ne_bytes([b[2], b[3]]);
                if pad != 0 {
                    let _ = write!(out, "nl_pad={pad:#x}, ");
                }
                let groups = u32_ne(b, 8);
                // %#08x: C prints 0 without its 0x.
                let groups = if groups == 0 { "00000000".to_string() } else { format!("{groups:#08x}") };
                let _ = write!(out, "nl_pid={}, nl_groups={groups}", u32_ne(b, 4) as i32);
            }
            _ => {
                let _ = write!(out, "sa_data={}", quoted(&b[2..]));
            }
        }
    }
    out.push('}');
    out
}

/// The text glibc's strerror gives, which strace prints; nix's descriptions are the kernel's comments
/// ("Try again" where strace says "Resource temporarily unavailable").
pub(super) fn strerror(errno: i32) -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: the buffer is valid for its length; strerror_r (XSI) NUL-terminates what it writes.
    let rc = unsafe { libc::strerror_r(errno, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return format!("Unknown error {errno}");
    }
    // SAFETY: strerror_r succeeded, so the buffer holds a NUL-terminated string.
    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

/// `-1 ENOENT (No such file or directory)`, or strace's `? ERESTARTSYS (...)` for the codes of a call a
/// signal interrupted.
pub(super) fn error(errno: i32) -> String {
    let restart = match errno {
        512 => Some("ERESTARTSYS (To be restarted if SA_RESTART is set)"),
        513 => Some("ERESTARTNOINTR (To be restarted)"),
        514 => Some("ERESTARTNOHAND (To be restarted if no handler)"),
        516 => Some("ERESTART_RESTARTBLOCK (Interrupted by signal)"),
        _ => None,
    };
    if let Some(restart) = restart {
        return format!("? {restart}");
    }
    // errno_name falls back to `E<n>` for the numbers libc does not name.
    let name = errno_name(errno);
    let name = if name == format!("E{errno}") { lookup(KERNEL_ERRNOS, errno as u64).map(str::to_string) } else { Some(name) };
    match name {
        Some(name) => format!("-1 {name} ({})", strerror(errno)),
        None => format!("-1 (errno {errno})"),
    }
}

/// statx's flags: the sync type, always named, then the AT_ flags.
pub(super) fn statx_flags(value: u64) -> String {
    let value = value as u32 as u64;
    let mut out = flags_with(STATX_SYNC, value & 0x6000, None);
    let rest = value & !0x6000;
    if rest != 0 {
        out.push('|');
        out.push_str(&flags_with(AT_FLAGS, rest, None));
    }
    out
}

pub(super) fn mmap_flags(value: u64) -> String {
    let kind = value & 0xf;
    let mut out = lookup(MAP_TYPES, kind).map_or_else(|| format!("{} /* MAP_??? */", hex(kind)), str::to_string);
    let huge = value & MAP_HUGE_MASK;
    let rest = value & !0xf & !MAP_HUGE_MASK;
    if rest != 0 {
        out.push('|');
        out.push_str(&flags_in(&[MAP_FLAGS_LOW, MAP_X86, MAP_FLAGS_HIGH], rest, None));
    }
    if huge != 0 {
        let _ = write!(out, "|{}<<MAP_HUGE_SHIFT", huge >> MAP_HUGE_SHIFT);
    }
    out
}

pub(super) fn mount_flags(value: u64) -> String {
    // Old callers put a magic number in the high bits.
    const MS_MGC_VAL: u64 = 0xc0ed0000;
    const MS_MGC_MSK: u64 = 0xffff0000;
    if value & MS_MGC_MSK == MS_MGC_VAL {
        let rest = value & !MS_MGC_MSK;
        return if rest == 0 { "MS_MGC_VAL".to_string() } else { format!("MS_MGC_VAL|{}", flags(MOUNT_FLAGS, rest, "MS_???")) };
    }
    flags(MOUNT_FLAGS, value, "MS_???")
}

pub(super) fn swap_flags(value: u64) -> String {
    let value = value as u32 as u64;
    let (priority, rest) = (value & 0x7fff, value & !0x7fff);
    if rest == 0 { priority.to_string() } else { format!("{}|{priority}", flags(SWAP_FLAGS, rest, "SWAP_FLAG_???")) }
}

pub(super) fn socket_option(level: u64, option: u64, set: bool) -> String {
    let extra = if set { SO_SET_ONLY } else { SO_GET_ONLY };
    match level {
        1 => match lookup(SO_OPTIONS, option).or_else(|| lookup(extra, option)) {
            Some(name) => name.to_string(),
            None => format!("{} /* SO_??? */", hex(option)),
        },
        0 => xval(IP_OPTIONS, option, "IP_???"),
        41 => xval(IPV6_OPTIONS, option, "IPV6_???"),
        6 => match option.checked_sub(1).and_then(|i| name_at(&TCP_OPTIONS, i)) {
            Some(name) => name.to_string(),
            None => format!("{} /* TCP_??? */", hex(option)),
        },
        17 => xval(UDP_OPTIONS, option, "UDP_???"),
        270 => match option.checked_sub(1).and_then(|i| name_at(&NETLINK_OPTIONS, i)) {
            Some(name) => name.to_string(),
            None => format!("{} /* NETLINK_??? */", hex(option)),
        },
        _ => option.to_string(),
    }
}

pub(super) fn futex_op(op: u32) -> String {
    let cmd = op & 127;
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let known = op & !(127 | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) == 0;
    // Only the waits take a clock.
    let clock_ok = !realtime || matches!(cmd, 0 | 9 | 11);
    match name_at(&FUTEX_CMDS, cmd as u64) {
        Some("FUTEX_FD") if known && !realtime && private => "FUTEX_FD|FUTEX_PRIVATE_FLAG".to_string(),
        Some(name) if known && clock_ok => {
            let mut out = name.to_string();
            if private {
                out.push_str("_PRIVATE");
            }
            if realtime {
                out.push_str("|FUTEX_CLOCK_REALTIME");
            }
            out
        }
        _ => format!("{} /* FUTEX_??? */", hex(op as u64)),
    }
}

/// FUTEX_WAKE_OP's encoded operation: `FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1`.
pub(super) fn futex_wake_op(val3: u32) -> String {
    let mut out = String::new();
    if (val3 >> 28) & 8 != 0 {
        out.push_str("FUTEX_OP_OPARG_SHIFT<<28|");
    }
    let op = (val3 >> 28) & 7;
    match name_at(&FUTEX_WAKE_OPS, op as u64) {
        Some(name) => out.push_str(name),
        None => out.push_str(&hex(op as u64)),
    }
    out.push_str("<<28");
    if name_at(&FUTEX_WAKE_OPS, op as u64).is_none() {
        out.push_str(" /* FUTEX_OP_??? */");
    }
    let _ = write!(out, "|{}<<12|", hex(((val3 >> 12) & 0xfff) as u64));
    let cmp = (val3 >> 24) & 0xf;
    match name_at(&FUTEX_WAKE_CMPS, cmp as u64) {
        Some(name) => {
            let _ = write!(out, "{name}<<24");
        }
        None => {
            let _ = write!(out, "{}<<24 /* FUTEX_OP_CMP_??? */", hex(cmp as u64));
        }
    }
    let _ = write!(out, "|{}", hex((val3 & 0xfff) as u64));
    out
}

/// An ioctl request: its name, or strace's `_IOC(dir, type, nr, size)` decomposition.
pub(super) fn ioctl_request(code: u32) -> String {
    if let Some(name) = lookup(IOCTLS, code as u64) {
        return name.to_string();
    }
    let dir = flags(IOC_DIRS, (code >> 30) as u64, "_IOC_???");
    let (kind, nr, size) = ((code >> 8) & 0xff, code & 0xff, (code >> 16) & 0x3fff);
    format!("_IOC({dir}, {}, {}, {})", hex(kind as u64), hex(nr as u64), hex(size as u64))
}

