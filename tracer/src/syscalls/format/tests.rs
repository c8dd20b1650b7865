use tracer_common::slow::SLOW_USER_BYTES;

use super::*;
use crate::syscalls::args::{user_arg, UserArg};

const ENOENT: i64 = -2;
const EBADF: i64 = -9;
const EAGAIN: i64 = -11;
const EFAULT: i64 = -14;
const EINVAL: i64 = -22;

fn view<'a>(name: &'a str, args: [u64; 6], ret: i64) -> CallView<'a> {
    CallView { name, args, ret, path: None, addr: None }
}

fn line(name: &str, args: [u64; 6], ret: i64) -> String {
    format_call(&view(name, args, ret), &|_| None)
}

fn with_path(name: &str, args: [u64; 6], ret: i64, path: &[u8]) -> String {
    format_call(&CallView { path: Some(path), ..view(name, args, ret) }, &|_| None)
}

fn with_addr(name: &str, args: [u64; 6], ret: i64, addr: &[u8]) -> String {
    format_call(&CallView { addr: Some(addr), ..view(name, args, ret) }, &|_| None)
}

fn n(v: i64) -> u64 {
    v as u64
}

fn c(v: i32) -> u64 {
    v as u32 as u64
}

fn sockaddr_in(port: u16, ip: [u8; 4]) -> Vec<u8> {
    let mut b = (libc::AF_INET as u16).to_ne_bytes().to_vec();
    b.extend(port.to_be_bytes());
    b.extend(ip);
    b.extend([0; 8]);
    b
}

const AT_FDCWD: u64 = libc::AT_FDCWD as i64 as u64;

#[test]
fn brief_examples() {
    let openat = CallView {
        path: Some(b"/nonexistent/tracer-test"),
        ..view("openat", [n(-100), 0x1000, libc::O_RDONLY as u64, 0, 0, 0], -2)
    };
    assert_eq!(
        format_call(&openat, &|_| None),
        r#"openat(AT_FDCWD, "/nonexistent/tracer-test", O_RDONLY) = -1 ENOENT (No such file or directory)"#
    );
    let pipe = |fd| (fd == 7).then(|| "pipe".to_string());
    assert_eq!(format_call(&view("read", [7, 0x7ffd0000, 1, 0, 0, 0], 1), &pipe), "read(7<pipe>, 1) = 1");
    assert_eq!(
        with_addr("connect", [3, 0x7ffd0000, 16, 0, 0, 0], 0, &sockaddr_in(8080, [127, 0, 0, 1])),
        r#"connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16) = 0"#
    );
}

#[test]
fn fds_are_described() {
    let describe = |fd: i32| match fd {
        3 => Some("socket 10.0.0.2:5432".to_string()),
        4 => Some("/tmp/a\nb\"c".to_string()),
        -100 | -1 => Some("never asked".to_string()),
        _ => None,
    };
    let format = |name, args, ret| format_call(&view(name, args, ret), &describe);
    assert_eq!(format("read", [3, 1, 4096, 0, 0, 0], 312), "read(3<socket 10.0.0.2:5432>, 4096) = 312");
    assert_eq!(format("write", [4, 1, 1, 0, 0, 0], 1), r#"write(4</tmp/a\nb\"c>, 1) = 1"#);
    assert_eq!(format("dup2", [3, 9, 0, 0, 0, 0], 9), "dup2(3<socket 10.0.0.2:5432>, 9) = 9");
    assert_eq!(format("close", [n(-1), 0, 0, 0, 0, 0], EBADF), "close(-1) = -1 EBADF (Bad file descriptor)");
    assert_eq!(
        format("newfstatat", [AT_FDCWD, 0, 0x1000, 0, 0, 0], EFAULT),
        "newfstatat(AT_FDCWD, NULL, 0x1000, 0) = -1 EFAULT (Bad address)"
    );
    // The fds calls return are plain numbers.
    assert_eq!(format("dup", [4, 0, 0, 0, 0, 0], 3), r#"dup(4</tmp/a\nb\"c>) = 3"#);
}

#[test]
fn paths() {
    let cases: [(&[u8], &str); 4] = [
        (b"/etc/passwd\0garbage", r#""/etc/passwd""#),
        (b"a\"b\\c\n\t\x01\x017\xffz", r#""a\"b\\c\n\t\1\0017\377z""#),
        (b"/tmp/\xc3\xa9t\xc3\xa9", r#""/tmp/\303\251t\303\251""#),
        (b"", r#""""#),
    ];
    for (raw, shown) in cases {
        let expected = format!("openat(77, {shown}, O_RDONLY) = -1 EBADF (Bad file descriptor)");
        assert_eq!(with_path("openat", [77, 0x1000, 0, 0, 0, 0], EBADF, raw), expected);
    }
    // Not copied: the pointer; NULL as NULL.
    assert_eq!(
        line("openat", [AT_FDCWD, 0x1000, 3, 0, 0, 0], EFAULT),
        "openat(AT_FDCWD, 0x1000, O_ACCMODE) = -1 EFAULT (Bad address)"
    );
    assert_eq!(
        with_path("openat", [AT_FDCWD, 0, 0, 0, 0, 0], EFAULT, b"x"),
        "openat(AT_FDCWD, NULL, O_RDONLY) = -1 EFAULT (Bad address)"
    );
    // Only the argument the kernel copies is the copied path.
    assert_eq!(
        with_path("rename", [0x1000, 0x2000, 0, 0, 0, 0], ENOENT, b"/a"),
        r#"rename("/a", 0x2000) = -1 ENOENT (No such file or directory)"#
    );
    // A path that filled the kernel's copy may have been cut.
    let long = vec![b'a'; SLOW_USER_BYTES + 40];
    let shown = with_path("chdir", [0x1000, 0, 0, 0, 0, 0], 0, &long);
    assert_eq!(shown, format!("chdir(\"{}\"...) = 0", "a".repeat(SLOW_USER_BYTES)));
    let mut full = vec![b'b'; SLOW_USER_BYTES - 1];
    full.push(0);
    let shown = with_path("chdir", [0x1000, 0, 0, 0, 0, 0], 0, &full);
    assert_eq!(shown, format!("chdir(\"{}\"...) = 0", "b".repeat(SLOW_USER_BYTES - 1)));
    let shown = with_path("chdir", [0x1000, 0, 0, 0, 0, 0], 0, &full[SLOW_USER_BYTES - 200..]);
    assert_eq!(shown, format!("chdir(\"{}\") = 0", "b".repeat(199)));
}

#[test]
fn open_family() {
    let o = |flags: i32| flags as u64;
    let cases = [
        (
            [AT_FDCWD, 1, o(libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC), 0o644, 0, 0],
            r#"openat(AT_FDCWD, "/p", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = 3"#,
        ),
        (
            [AT_FDCWD, 1, o(libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_DIRECTORY), 0, 0, 0],
            r#"openat(AT_FDCWD, "/p", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = 3"#,
        ),
        (
            [n(-5), 1, o(libc::O_RDWR | libc::O_EXCL | libc::O_TMPFILE), 0o600, 0, 0],
            r#"openat(-5, "/p", O_RDWR|O_EXCL|O_TMPFILE, 0600) = 3"#,
        ),
        (
            [AT_FDCWD, 1, o(libc::O_RDWR | libc::O_APPEND | libc::O_SYNC | libc::O_NOFOLLOW | libc::O_PATH | 0x40000000), 0, 0, 0],
            r#"openat(AT_FDCWD, "/p", O_RDWR|O_APPEND|O_SYNC|O_NOFOLLOW|O_PATH|0x40000000) = 3"#,
        ),
        (
            [AT_FDCWD, 1, o(libc::O_DSYNC | libc::O_DIRECT | libc::O_NOCTTY | libc::O_ASYNC), 0, 0, 0],
            r#"openat(AT_FDCWD, "/p", O_RDONLY|O_NOCTTY|O_DSYNC|O_DIRECT|FASYNC) = 3"#,
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(with_path("openat", args, 3, b"/p"), expected);
    }
    assert_eq!(
        with_path("open", [1, o(libc::O_CREAT | libc::O_WRONLY), 0o755, 0, 0, 0], ENOENT, b"/y"),
        r#"open("/y", O_WRONLY|O_CREAT, 0755) = -1 ENOENT (No such file or directory)"#
    );
    assert_eq!(with_path("creat", [1, 0o4755, 0, 0, 0, 0], 4, b"/y"), r#"creat("/y", 04755) = 4"#);
    assert_eq!(with_path("openat2", [AT_FDCWD, 1, 0x1000, 24, 0, 0], 5, b"/y"), r#"openat2(AT_FDCWD, "/y", 0x1000, 24) = 5"#);
}

#[test]
fn read_write_family() {
    let cases = [
        ("write", [4, 1, 4096, 0, 0, 0], EFAULT, "write(4, 4096) = -1 EFAULT (Bad address)"),
        ("read", [3, 1, 10, 0, 0, 0], EAGAIN, "read(3, 10) = -1 EAGAIN (Resource temporarily unavailable)"),
        ("pread64", [5, 1, 10, 12345, 0, 0], 10, "pread64(5, 10, 12345) = 10"),
        ("pwrite64", [5, 1, 10, n(-1), 0, 0], EINVAL, "pwrite64(5, 10, -1) = -1 EINVAL (Invalid argument)"),
        ("readv", [5, 1, 3, 0, 0, 0], 100, "readv(5, 3) = 100"),
        ("writev", [5, 1, 3, 0, 0, 0], 100, "writev(5, 3) = 100"),
        ("preadv", [5, 1, 3, 100, 0, 0], 1, "preadv(5, 3, 100) = 1"),
        ("pwritev2", [5, 1, 3, n(-1), 0, 0x12], 1, "pwritev2(5, 3, -1, RWF_DSYNC|RWF_APPEND) = 1"),
        ("sendfile", [6, 5, 0, 4096, 0, 0], 4096, "sendfile(6, 5, NULL, 4096) = 4096"),
        ("sendfile", [6, 5, 0x1000, 4096, 0, 0], EFAULT, "sendfile(6, 5, 0x1000, 4096) = -1 EFAULT (Bad address)"),
        ("splice", [6, 0, 5, 0x1000, 65536, 5], 10, "splice(6, NULL, 5, 0x1000, 65536, SPLICE_F_MOVE|SPLICE_F_MORE) = 10"),
        ("sendmsg", [6, 0x1000, 0x4000, 0, 0, 0], 5, "sendmsg(6, 0x1000, MSG_NOSIGNAL) = 5"),
        ("recvmsg", [6, 0x1000, 0x40000100, 0, 0, 0], 5, "recvmsg(6, 0x1000, MSG_WAITALL|MSG_CMSG_CLOEXEC) = 5"),
        (
            "recvfrom",
            [6, 1, 100, 0x4040, 0, 0],
            EAGAIN,
            "recvfrom(6, 100, MSG_DONTWAIT|MSG_NOSIGNAL, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)",
        ),
        (
            "recvfrom",
            [6, 1, 100, 0x100000, 0x2000, 0x3000],
            EBADF,
            "recvfrom(6, 100, 0x100000 /* MSG_??? */, 0x2000, 0x3000) = -1 EBADF (Bad file descriptor)",
        ),
    ];
    for (name, args, ret, expected) in cases {
        assert_eq!(line(name, args, ret), expected);
    }
    let from = sockaddr_in(4444, [10, 1, 2, 3]);
    assert_eq!(
        with_addr("recvfrom", [6, 1, 16, 0x40, 0x2000, 0x3000], 2, &from),
        r#"recvfrom(6, 16, MSG_DONTWAIT, {sa_family=AF_INET, sin_port=htons(4444), sin_addr=inet_addr("10.1.2.3")}, [16]) = 2"#
    );
    assert_eq!(
        with_addr("sendto", [6, 1, 10, 0x40, 0x2000, 16], 10, &from),
        r#"sendto(6, 10, MSG_DONTWAIT, {sa_family=AF_INET, sin_port=htons(4444), sin_addr=inet_addr("10.1.2.3")}, 16) = 10"#
    );
    assert_eq!(
        line("sendto", [6, 1, 10, 0, 0, 0], -89),
        "sendto(6, 10, 0, NULL, 0) = -1 EDESTADDRREQ (Destination address required)"
    );
}

#[test]
fn sockets() {
    let cases = [
        (
            "socket",
            [c(libc::AF_INET), c(libc::SOCK_STREAM | libc::SOCK_CLOEXEC), 6, 0, 0, 0],
            7,
            "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 7",
        ),
        (
            "socket",
            [c(libc::AF_INET6), c(libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC), 0, 0, 0, 0],
            8,
            "socket(AF_INET6, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 8",
        ),
        ("socket", [1, 5, 0, 0, 0, 0], 9, "socket(AF_UNIX, SOCK_SEQPACKET, 0) = 9"),
        (
            "socket",
            [16, c(libc::SOCK_RAW | libc::SOCK_CLOEXEC), 0, 0, 0, 0],
            11,
            "socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) = 11",
        ),
        ("socket", [17, 3, 0x300, 0, 0, 0], 13, "socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) = 13"),
        (
            "socket",
            [99, 15, 0, 0, 0, 0],
            -97,
            "socket(0x63 /* AF_??? */, 0xf /* SOCK_??? */, 0) = -1 EAFNOSUPPORT (Address family not supported by protocol)",
        ),
        (
            "socket",
            [2, 0x101, 999, 0, 0, 0],
            EINVAL,
            "socket(AF_INET, SOCK_STREAM|0x100 /* SOCK_??? */, 0x3e7 /* IPPROTO_??? */) = -1 EINVAL (Invalid argument)",
        ),
        ("listen", [5, 4096, 0, 0, 0, 0], 0, "listen(5, 4096) = 0"),
        ("shutdown", [5, 1, 0, 0, 0, 0], 0, "shutdown(5, SHUT_WR) = 0"),
        ("shutdown", [5, 7, 0, 0, 0, 0], EINVAL, "shutdown(5, 0x7 /* SHUT_??? */) = -1 EINVAL (Invalid argument)"),
        ("accept", [5, 0, 0, 0, 0, 0], 6, "accept(5, NULL, NULL) = 6"),
        (
            "accept4",
            [5, 0, 0, c(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK), 0, 0],
            6,
            "accept4(5, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK) = 6",
        ),
        (
            "accept4",
            [5, 0x1000, 0x2000, 0, 0, 0],
            EAGAIN,
            "accept4(5, 0x1000, 0x2000, 0) = -1 EAGAIN (Resource temporarily unavailable)",
        ),
        ("setsockopt", [5, 1, 2, 0x1000, 4, 0], 0, "setsockopt(5, SOL_SOCKET, SO_REUSEADDR, 0x1000, 4) = 0"),
        ("setsockopt", [5, 6, 1, 0x1000, 4, 0], 0, "setsockopt(5, SOL_TCP, TCP_NODELAY, 0x1000, 4) = 0"),
        ("setsockopt", [5, 41, 26, 0x1000, 4, 0], 0, "setsockopt(5, SOL_IPV6, IPV6_V6ONLY, 0x1000, 4) = 0"),
        ("setsockopt", [5, 1, 26, 0x1000, 16, 0], 0, "setsockopt(5, SOL_SOCKET, SO_ATTACH_FILTER, 0x1000, 16) = 0"),
        (
            "setsockopt",
            [5, 1, 999, 0x1000, 4, 0],
            -92,
            "setsockopt(5, SOL_SOCKET, 0x3e7 /* SO_??? */, 0x1000, 4) = -1 ENOPROTOOPT (Protocol not available)",
        ),
        (
            "setsockopt",
            [5, 1234, 5, 0x1000, 4, 0],
            -92,
            "setsockopt(5, 0x4d2 /* SOL_?? */, 5, 0x1000, 4) = -1 ENOPROTOOPT (Protocol not available)",
        ),
        ("getsockopt", [5, 1, 4, 0x1000, 0x2000, 0], 0, "getsockopt(5, SOL_SOCKET, SO_ERROR, 0x1000, 0x2000) = 0"),
        ("getsockopt", [5, 1, 26, 0x1000, 0x2000, 0], 0, "getsockopt(5, SOL_SOCKET, SO_GET_FILTER, 0x1000, 0x2000) = 0"),
    ];
    for (name, args, ret, expected) in cases {
        assert_eq!(line(name, args, ret), expected);
    }
    assert_eq!(
        with_addr("accept4", [5, 0x1000, 0x2000, c(libc::SOCK_CLOEXEC), 0, 0], 26, &sockaddr_in(33476, [127, 0, 0, 1])),
        r#"accept4(5, {sa_family=AF_INET, sin_port=htons(33476), sin_addr=inet_addr("127.0.0.1")}, [16], SOCK_CLOEXEC) = 26"#
    );
    assert_eq!(
        with_addr("getpeername", [5, 0x1000, 0x2000, 0, 0, 0], 0, &[1, 0]),
        "getpeername(5, {sa_family=AF_UNIX}, [2]) = 0"
    );
    // After a failure the kernel wrote nothing: the pointers.
    assert_eq!(
        with_addr("getsockname", [5, 0x1000, 0x2000, 0, 0, 0], EBADF, &[2, 0]),
        "getsockname(5, 0x1000, 0x2000) = -1 EBADF (Bad file descriptor)"
    );
}

#[test]
fn socket_addresses() {
    let mut in6 = (libc::AF_INET6 as u16).to_ne_bytes().to_vec();
    in6.extend(443u16.to_be_bytes());
    in6.extend(5u32.to_be_bytes());
    in6.extend(std::net::Ipv6Addr::LOCALHOST.octets());
    in6.extend(0u32.to_ne_bytes());
    let mut unix = vec![1, 0];
    unix.extend(b"/run/x.sock\0\0\0");
    let mut abstract_name = vec![1, 0, 0];
    abstract_name.extend(b"abstract\n1");
    let ipv6 = |text: &str| {
        let mut b = in6.clone();
        b[8..24].copy_from_slice(&text.parse::<std::net::Ipv6Addr>().unwrap().octets());
        b
    };
    let cases: [(Vec<u8>, &str); 11] = [
        (
            in6.clone(),
            r#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(5), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}"#,
        ),
        (
            in6[..24].to_vec(),
            r#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(5), inet_pton(AF_INET6, "::1", &sin6_addr)}"#,
        ),
        (
            ipv6("2001:db8::ff00:42:8329"),
            r#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(5), inet_pton(AF_INET6, "2001:db8::ff00:42:8329", &sin6_addr), sin6_scope_id=0}"#,
        ),
        (
            ipv6("::ffff:10.1.2.3"),
            r#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(5), inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6_addr), sin6_scope_id=0}"#,
        ),
        (
            ipv6("::1.2.3.4"),
            r#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(5), inet_pton(AF_INET6, "::1.2.3.4", &sin6_addr), sin6_scope_id=0}"#,
        ),
        (
            ipv6("1:0:0:2:0:0:0:3"),
            r#"{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(5), inet_pton(AF_INET6, "1:0:0:2::3", &sin6_addr), sin6_scope_id=0}"#,
        ),
        (unix.clone(), r#"{sa_family=AF_UNIX, sun_path="/run/x.sock"}"#),
        (abstract_name, r#"{sa_family=AF_UNIX, sun_path=@"abstract\n1"}"#),
        (vec![16, 0, 0, 0, 0x39, 0x30, 0, 0, 5, 0, 0, 0], "{sa_family=AF_NETLINK, nl_pid=12345, nl_groups=0x000005}"),
        (sockaddr_in(8080, [127, 0, 0, 1])[..8].to_vec(), r#"{sa_family=AF_INET, sa_data="\37\220\177\0\0\1"}"#),
        (vec![0x99, 0, 1, 2, 3, 0x37], r#"{sa_family=0x99 /* AF_??? */, sa_data="\1\2\0037"}"#),
    ];
    for (bytes, shown) in cases {
        let len = bytes.len() as u64;
        assert_eq!(with_addr("bind", [5, 0x1000, len, 0, 0, 0], 0, &bytes), format!("bind(5, {shown}, {len}) = 0"));
    }
    assert_eq!(
        with_addr("connect", [5, 0x1000, 16, 0, 0, 0], EBADF, &[2]),
        "connect(5, 0x1000, 16) = -1 EBADF (Bad file descriptor)"
    );
    assert_eq!(
        with_addr("connect", [5, 0x1000, 1, 0, 0, 0], EINVAL, &[2, 0]),
        "connect(5, 0x1000, 1) = -1 EINVAL (Invalid argument)"
    );
    assert_eq!(line("connect", [5, 0x1000, 16, 0, 0, 0], EFAULT), "connect(5, 0x1000, 16) = -1 EFAULT (Bad address)");
    // A shorter length than the copy: only that much is the address.
    assert_eq!(
        with_addr("connect", [5, 0x1000, 7, 0, 0, 0], EBADF, &unix),
        r#"connect(5, {sa_family=AF_UNIX, sun_path="/run/"}, 7) = -1 EBADF (Bad file descriptor)"#
    );
}

#[test]
fn garbage_never_panics() {
    // xorshift: deterministic and dependency-free.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut names: Vec<&str> = vec!["no_such_call", "", "exit", "rt_sigreturn"];
    names.extend(syscalls::x86_64::Sysno::iter().map(|s| s.name()));
    names.extend(syscalls::aarch64::Sysno::iter().map(|s| s.name()));
    let describe = |fd: i32| (fd % 3 == 0).then(|| "\u{7f}<weird>\0".to_string());
    for name in names {
        for round in 0..40 {
            let mut args = [0u64; 6];
            for arg in &mut args {
                *arg = match next() % 4 {
                    0 => next() % 16,
                    1 => next() as u32 as u64,
                    2 => ((next() % 2048) as i64 - 1024) as u64,
                    _ => next(),
                };
            }
            let ret = match round % 4 {
                0 => -((next() % 4200) as i64),
                1 => next() as i64,
                2 => i64::MIN,
                _ => (next() % 100) as i64,
            };
            let mut bytes = vec![0u8; (next() % 300) as usize];
            bytes.iter_mut().for_each(|b| *b = next() as u8);
            if bytes.len() >= 2 && round % 3 == 0 {
                bytes[0] = [1, 2, 10, 16, 17, 44, 99][round % 7];
                bytes[1] = 0;
            }
            let call = CallView { name, args, ret, path: Some(&bytes), addr: Some(&bytes) };
            let shown = format_call(&call, &describe);
            assert!(shown.starts_with(name) && !shown.contains('\n'), "{shown}");
        }
    }
}

#[test]
fn every_copied_argument_is_shown() {
    let mut names: Vec<&str> = syscalls::x86_64::Sysno::iter().map(|s| s.name()).collect();
    names.extend(syscalls::aarch64::Sysno::iter().map(|s| s.name()));
    let address = sockaddr_in(5432, [10, 0, 0, 2]);
    for name in names {
        let mut args = [0x7ffd0000; 6];
        let (shown, expected) = match user_arg(name) {
            UserArg::None => continue,
            UserArg::Path { arg } => {
                args[usize::from(arg)] = 0x7ffd1000;
                (with_path(name, args, 0, b"/marker"), "\"/marker\"")
            }
            UserArg::Sockaddr { len, len_is_ptr, .. } => {
                if !len_is_ptr {
                    args[usize::from(len)] = 16;
                }
                (with_addr(name, args, 0, &address), r#"inet_addr("10.0.0.2")"#)
            }
        };
        assert!(shown.contains(expected), "{shown}");
    }
}

#[test]
fn futex() {
    let cases = [
        (
            [0x1000, 128, 2, 0, 0, 0],
            EAGAIN,
            "futex(0x1000, FUTEX_WAIT_PRIVATE, 2, NULL) = -1 EAGAIN (Resource temporarily unavailable)",
        ),
        ([0x1000, 0, 0, 0x2000, 0, 0], -110, "futex(0x1000, FUTEX_WAIT, 0, 0x2000) = -1 ETIMEDOUT (Connection timed out)"),
        ([0x1000, 129, 1, 0, 0, 0], 1, "futex(0x1000, FUTEX_WAKE_PRIVATE, 1) = 1"),
        (
            [0x1000, 128 | 256 | 9, 0, 0x2000, 0, 0xffffffff],
            0,
            "futex(0x1000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, 0x2000, FUTEX_BITSET_MATCH_ANY) = 0",
        ),
        ([0x1000, 9, 0, 0, 0, 5], 0, "futex(0x1000, FUTEX_WAIT_BITSET, 0, NULL, 0x5) = 0"),
        (
            [0x1000, 128 | 10, 1, 0, 0, 0xffffffff],
            0,
            "futex(0x1000, FUTEX_WAKE_BITSET_PRIVATE, 1, FUTEX_BITSET_MATCH_ANY) = 0",
        ),
        ([0x1000, 128 | 6, 0, 0, 0, 0], 0, "futex(0x1000, FUTEX_LOCK_PI_PRIVATE, NULL) = 0"),
        ([0x1000, 7, 0, 0, 0, 0], 0, "futex(0x1000, FUTEX_UNLOCK_PI) = 0"),
        (
            [0x1000, 128 | 5, 1, 1, 0x2000, 0x04000001],
            1,
            "futex(0x1000, FUTEX_WAKE_OP_PRIVATE, 1, 1, 0x2000, FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1) = 1",
        ),
        (
            [0x1000, 5, 1, 1, 0x2000, 0xffffffff],
            EFAULT,
            "futex(0x1000, FUTEX_WAKE_OP, 1, 1, 0x2000, FUTEX_OP_OPARG_SHIFT<<28|0x7<<28 /* FUTEX_OP_??? */|0xfff<<12|0xf<<24 /* FUTEX_OP_CMP_??? */|0xfff) = -1 EFAULT (Bad address)",
        ),
        ([0x1000, 128 | 3, 1, 10, 0x2000, 0], 0, "futex(0x1000, FUTEX_REQUEUE_PRIVATE, 1, 10, 0x2000) = 0"),
        ([0x1000, 4, 1, 10, 0x2000, 7], 0, "futex(0x1000, FUTEX_CMP_REQUEUE, 1, 10, 0x2000, 7) = 0"),
        ([0x1000, 11, 1, 0x3000, 0x2000, 7], 0, "futex(0x1000, FUTEX_WAIT_REQUEUE_PI, 1, 0x3000, 0x2000) = 0"),
        ([0x1000, 0x101, 1, 0, 0, 0], -38, "futex(0x1000, 0x101 /* FUTEX_??? */, 1) = -1 ENOSYS (Function not implemented)"),
        (
            [0x1000, 99, 1, 0x3000, 0x2000, 7],
            -38,
            "futex(0x1000, 0x63 /* FUTEX_??? */, 1, 0x3000, 0x2000, 0x7) = -1 ENOSYS (Function not implemented)",
        ),
        (
            [0x1000, 130, 1, 0, 0, 0],
            -38,
            "futex(0x1000, FUTEX_FD|FUTEX_PRIVATE_FLAG, 1) = -1 ENOSYS (Function not implemented)",
        ),
    ];
    for (args, ret, expected) in cases {
        assert_eq!(line("futex", args, ret), expected);
    }
}

#[test]
fn polling_and_sleeping() {
    let cases = [
        ("epoll_create1", [c(libc::EPOLL_CLOEXEC), 0, 0, 0, 0, 0], 4, "epoll_create1(EPOLL_CLOEXEC) = 4"),
        ("epoll_ctl", [4, 1, 5, 0x1000, 0, 0], 0, "epoll_ctl(4, EPOLL_CTL_ADD, 5, 0x1000) = 0"),
        ("epoll_ctl", [4, 2, 5, 0, 0, 0], 0, "epoll_ctl(4, EPOLL_CTL_DEL, 5, NULL) = 0"),
        ("epoll_wait", [4, 0x1000, 128, n(-1), 0, 0], 1, "epoll_wait(4, 0x1000, 128, -1) = 1"),
        ("epoll_pwait", [4, 0x1000, 128, 1000, 0, 8], 0, "epoll_pwait(4, 0x1000, 128, 1000, NULL, 8) = 0"),
        ("epoll_pwait2", [4, 0x1000, 128, 0x2000, 0x3000, 8], 0, "epoll_pwait2(4, 0x1000, 128, 0x2000, 0x3000, 8) = 0"),
        ("poll", [0x1000, 2, 1000, 0, 0, 0], 0, "poll(0x1000, 2, 1000) = 0 (Timeout)"),
        ("poll", [0x1000, 2, n(-1), 0, 0, 0], 1, "poll(0x1000, 2, -1) = 1"),
        ("ppoll", [0x1000, 2, 0, 0, 8, 0], 1, "ppoll(0x1000, 2, NULL, NULL, 8) = 1"),
        ("select", [5, 0x1000, 0x2000, 0x3000, 0x4000, 0], 0, "select(5, 0x1000, 0x2000, 0x3000, 0x4000) = 0 (Timeout)"),
        ("pselect6", [5, 0x1000, 0, 0, 0x4000, 0x3000], 1, "pselect6(5, 0x1000, NULL, NULL, 0x4000, 0x3000) = 1"),
        ("nanosleep", [0x1000, 0, 0, 0, 0, 0], 0, "nanosleep(0x1000, NULL) = 0"),
        ("clock_nanosleep", [1, 0, 0x1000, 0x2000, 0, 0], 0, "clock_nanosleep(CLOCK_MONOTONIC, 0, 0x1000, 0x2000) = 0"),
        ("clock_nanosleep", [0, 1, 0x1000, 0, 0, 0], 0, "clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, 0x1000, NULL) = 0"),
        (
            "clock_nanosleep",
            [99, 3, 0x1000, 0, 0, 0],
            EINVAL,
            "clock_nanosleep(0x63 /* CLOCK_??? */, TIMER_ABSTIME|0x2, 0x1000, NULL) = -1 EINVAL (Invalid argument)",
        ),
        (
            "clock_nanosleep",
            [n(-6), 0, 0x1000, 0, 0, 0],
            EINVAL,
            "clock_nanosleep(0xfffffffa /* CLOCK_??? */, 0, 0x1000, NULL) = -1 EINVAL (Invalid argument)",
        ),
    ];
    for (name, args, ret, expected) in cases {
        assert_eq!(line(name, args, ret), expected);
    }
}

#[test]
fn signals() {
    let cases = [
        ("kill", [1234, 15, 0, 0, 0, 0], 0, "kill(1234, SIGTERM) = 0"),
        ("kill", [1234, 0, 0, 0, 0, 0], -3, "kill(1234, 0) = -1 ESRCH (No such process)"),
        ("kill", [1234, 32, 0, 0, 0, 0], 0, "kill(1234, SIGRTMIN) = 0"),
        ("kill", [1234, 34, 0, 0, 0, 0], 0, "kill(1234, SIGRT_2) = 0"),
        ("kill", [1234, 64, 0, 0, 0, 0], 0, "kill(1234, SIGRT_32) = 0"),
        ("kill", [1234, 65, 0, 0, 0, 0], EINVAL, "kill(1234, 65) = -1 EINVAL (Invalid argument)"),
        ("kill", [n(-1), n(-3), 0, 0, 0, 0], EINVAL, "kill(-1, -3) = -1 EINVAL (Invalid argument)"),
        ("tgkill", [100, 101, 10, 0, 0, 0], 0, "tgkill(100, 101, SIGUSR1) = 0"),
        ("tkill", [101, 9, 0, 0, 0, 0], 0, "tkill(101, SIGKILL) = 0"),
        ("rt_sigaction", [2, 0x1000, 0x2000, 8, 0, 0], 0, "rt_sigaction(SIGINT, 0x1000, 0x2000, 8) = 0"),
        (
            "rt_sigaction",
            [99, 0, 0x2000, 8, 0, 0],
            EINVAL,
            "rt_sigaction(99, NULL, 0x2000, 8) = -1 EINVAL (Invalid argument)",
        ),
        ("rt_sigprocmask", [0, 0x1000, 0x2000, 8, 0, 0], 0, "rt_sigprocmask(SIG_BLOCK, 0x1000, 0x2000, 8) = 0"),
        ("rt_sigprocmask", [2, 0, 0x2000, 8, 0, 0], 0, "rt_sigprocmask(SIG_SETMASK, NULL, 0x2000, 8) = 0"),
        (
            "rt_sigprocmask",
            [7, 0x1000, 0, 8, 0, 0],
            EINVAL,
            "rt_sigprocmask(0x7 /* SIG_??? */, 0x1000, NULL, 8) = -1 EINVAL (Invalid argument)",
        ),
        ("rt_sigtimedwait", [0x1000, 0, 0, 8, 0, 0], 15, "rt_sigtimedwait(0x1000, NULL, NULL, 8) = 15 (SIGTERM)"),
        (
            "rt_sigtimedwait",
            [0x1000, 0x2000, 0x3000, 8, 0, 0],
            EAGAIN,
            "rt_sigtimedwait(0x1000, 0x2000, 0x3000, 8) = -1 EAGAIN (Resource temporarily unavailable)",
        ),
        ("rt_sigreturn", [1, 2, 3, 4, 5, 6], 0, "rt_sigreturn() = 0"),
        (
            "rt_sigsuspend",
            [0x1000, 8, 0, 0, 0, 0],
            -514,
            "rt_sigsuspend(0x1000, 8) = ? ERESTARTNOHAND (To be restarted if no handler)",
        ),
    ];
    for (name, args, ret, expected) in cases {
        assert_eq!(line(name, args, ret), expected);
    }
}

#[test]
fn results() {
    let cases = [
        ("read", [3, 1, 10, 0, 0, 0], -512, "read(3, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)"),
        (
            "clone",
            [c(libc::SIGCHLD), 0, 0, 0, 0, 0],
            -513,
            "clone(child_stack=NULL, flags=SIGCHLD) = ? ERESTARTNOINTR (To be restarted)",
        ),
        (
            "nanosleep",
            [0x1000, 0x2000, 0, 0, 0, 0],
            -516,
            "nanosleep(0x1000, 0x2000) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)",
        ),
        ("ioctl", [3, 0x5401, 0x1000, 0, 0, 0], -515, "ioctl(3, TCGETS, 0x1000) = -1 ENOIOCTLCMD (Unknown error 515)"),
        ("read", [3, 1, 10, 0, 0, 0], -524, "read(3, 10) = -1 ENOTSUPP (Unknown error 524)"),
        ("read", [3, 1, 10, 0, 0, 0], -4000, "read(3, 10) = -1 (errno 4000)"),
        ("read", [3, 1, 10, 0, 0, 0], -4096, "read(3, 10) = -4096"),
        ("exit_group", [0, 0, 0, 0, 0, 0], 0, "exit_group(0) = ?"),
        ("exit", [n(-1), 0, 0, 0, 0, 0], 0, "exit(-1) = ?"),
        ("brk", [0, 0, 0, 0, 0, 0], 0x560a4c2f4000, "brk(NULL) = 0x560a4c2f4000"),
        ("getpid", [0, 0, 0, 0, 0, 0], 6338, "getpid() = 6338"),
        ("gettid", [0, 0, 0, 0, 0, 0], 6338, "gettid() = 6338"),
        ("getppid", [0, 0, 0, 0, 0, 0], 6335, "getppid() = 6335"),
        ("sched_yield", [0, 0, 0, 0, 0, 0], 0, "sched_yield() = 0"),
        ("umask", [0o22, 0, 0, 0, 0, 0], 0o22, "umask(022) = 022"),
    ];
    for (name, args, ret, expected) in cases {
        assert_eq!(line(name, args, ret), expected);
    }
}

#[test]
fn processes() {
    let cases = [
        ("wait4", [n(-1), 0, 1, 0, 0, 0], -10, "wait4(-1, NULL, WNOHANG, NULL) = -1 ECHILD (No child processes)"),
        (
            "wait4",
            [123, 0x1000, 0x4000000b, 0x2000, 0, 0],
            123,
            "wait4(123, 0x1000, WNOHANG|WSTOPPED|WCONTINUED|__WALL, 0x2000) = 123",
        ),
        ("waitid", [1, 123, 0x1000, 5, 0, 0], 0, "waitid(P_PID, 123, 0x1000, WNOHANG|WEXITED, NULL) = 0"),
        (
            "waitid",
            [9, 99, 0x1000, 0x100, 0, 0],
            EINVAL,
            "waitid(0x9 /* P_??? */, 99, 0x1000, 0x100 /* W??? */, NULL) = -1 EINVAL (Invalid argument)",
        ),
        ("clone3", [0x1000, 88, 0, 0, 0, 0], 1235, "clone3(0x1000, 88) = 1235"),
        (
            "clone",
            [c(libc::CLONE_NEWNS | libc::CLONE_FS | libc::SIGCHLD), 0, 0, 0, 0, 0],
            EINVAL,
            "clone(child_stack=NULL, flags=CLONE_FS|CLONE_NEWNS|SIGCHLD) = -1 EINVAL (Invalid argument)",
        ),
        (
            "clone",
            [c(libc::CLONE_THREAD) | 0x400000, 0x1000, 0, 0, 0, 0],
            EINVAL,
            "clone(child_stack=0x1000, flags=CLONE_THREAD|0x400000) = -1 EINVAL (Invalid argument)",
        ),
        (
            "execve",
            [0x1000, 0x2000, 0x3000, 0, 0, 0],
            ENOENT,
            "execve(0x1000, 0x2000, 0x3000) = -1 ENOENT (No such file or directory)",
        ),
        ("prctl", [15, 0x1000, 0, 0, 0, 0], 0, "prctl(PR_SET_NAME, 0x1000) = 0"),
        ("prctl", [1, 9, 0, 0, 0, 0], 0, "prctl(PR_SET_PDEATHSIG, SIGKILL) = 0"),
        ("prctl", [3, 0, 0, 0, 0, 0], 1, "prctl(PR_GET_DUMPABLE) = 1 (SUID_DUMP_USER)"),
        ("prctl", [38, 1, 0, 0, 0, 0], 0, "prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) = 0"),
        ("prctl", [39, 0, 0, 0, 0, 0], 0, "prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) = 0"),
        ("prctl", [23, 12, 0, 0, 0, 0], 1, "prctl(PR_CAPBSET_READ, CAP_NET_ADMIN) = 1"),
        ("prctl", [22, 2, 0x1000, 0, 0, 0], 0, "prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, 0x1000) = 0"),
        (
            "prctl",
            [0x53564d41, 0, 0x1000, 4096, 0x2000, 0],
            0,
            "prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x1000, 4096, 0x2000) = 0",
        ),
        (
            "prctl",
            [0x9999, 1, 2, 3, 4, 0],
            EINVAL,
            "prctl(0x9999 /* PR_??? */, 0x1, 0x2, 0x3, 0x4) = -1 EINVAL (Invalid argument)",
        ),
    ];
    for (name, args, ret, expected) in cases {
        assert_eq!(line(name, args, ret), expected);
    }
    assert_eq!(
        with_path("execve", [0x1000, 0x2000, 0x3000, 0, 0, 0], 0, b"/bin/true"),
        r#"execve("/bin/true", 0x2000, 0x3000) = 0"#
    );
}

#[test]
#[cfg(target_arch = "x86_64")]
fn clone_thread_x86_64() {
    let flags = libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM
        | libc::CLONE_SETTLS
        | libc::CLONE_PARENT_SETTID
        | libc::CLONE_CHILD_CLEARTID;
    assert_eq!(
        line("clone", [c(flags), 0x7f00, 0x7f10, 0x7f20, 0x7f30, 0], 1235),
        "clone(child_stack=0x7f00, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|\
         CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=0x7f10, tls=0x7f30, child_tidptr=0x7f20) = 1235"
    );
    let flags = libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID | libc::SIGCHLD;
    assert_eq!(
        line("clone", [c(flags), 0, 0, 0x7f20, 0, 0], 1236),
        "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f20) = 1236"
    );
}

#[test]
fn files() {
    let cases = [
        ("close", [3, 0, 0, 0, 0, 0], 0, "close(3) = 0"),
        ("dup", [3, 0, 0, 0, 0, 0], 4, "dup(3) = 4"),
        ("dup2", [3, 100, 0, 0, 0, 0], 100, "dup2(3, 100) = 100"),
        ("dup3", [3, 100, c(libc::O_CLOEXEC), 0, 0, 0], 100, "dup3(3, 100, O_CLOEXEC) = 100"),
        ("dup3", [3, 100, 0, 0, 0, 0], 100, "dup3(3, 100, 0) = 100"),
        ("fcntl", [3, 3, 0, 0, 0, 0], 0x800, "fcntl(3, F_GETFL) = 0x800 (flags O_RDONLY|O_NONBLOCK)"),
        ("fcntl", [3, 1, 0, 0, 0, 0], 0, "fcntl(3, F_GETFD) = 0"),
        ("fcntl", [3, 1, 0, 0, 0, 0], 1, "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)"),
        ("fcntl", [3, 2, 1, 0, 0, 0], 0, "fcntl(3, F_SETFD, FD_CLOEXEC) = 0"),
        ("fcntl", [3, 4, c(libc::O_RDONLY | libc::O_NONBLOCK), 0, 0, 0], 0, "fcntl(3, F_SETFL, O_RDONLY|O_NONBLOCK) = 0"),
        ("fcntl", [3, 7, 0x1000, 0, 0, 0], 0, "fcntl(3, F_SETLKW, 0x1000) = 0"),
        ("fcntl", [3, 1030, 3, 0, 0, 0], 5, "fcntl(3, F_DUPFD_CLOEXEC, 3) = 5"),
        ("fcntl", [3, 1032, 0, 0, 0, 0], 65536, "fcntl(3, F_GETPIPE_SZ) = 65536"),
        ("fcntl", [3, 1033, 9, 0, 0, 0], 0, "fcntl(3, F_ADD_SEALS, F_SEAL_SEAL|F_SEAL_WRITE) = 0"),
        ("fcntl", [3, 0x999, 0x1234, 0, 0, 0], EINVAL, "fcntl(3, 0x999 /* F_??? */, 0x1234) = -1 EINVAL (Invalid argument)"),
        ("ioctl", [1, 0x5401, 0x1000, 0, 0, 0], 0, "ioctl(1, TCGETS, 0x1000) = 0"),
        ("ioctl", [3, 0x541b, 0x1000, 0, 0, 0], 0, "ioctl(3, FIONREAD, 0x1000) = 0"),
        (
            "ioctl",
            [3, 0xc0081234, 0x1000, 0, 0, 0],
            -25,
            "ioctl(3, _IOC(_IOC_READ|_IOC_WRITE, 0x12, 0x34, 0x8), 0x1000) = -1 ENOTTY (Inappropriate ioctl for device)",
        ),
        (
            "ioctl",
            [3, 0x1234, 0, 0, 0, 0],
            -25,
            "ioctl(3, _IOC(_IOC_NONE, 0x12, 0x34, 0), 0) = -1 ENOTTY (Inappropriate ioctl for device)",
        ),
        ("lseek", [3, 0, 0, 0, 0, 0], 0, "lseek(3, 0, SEEK_SET) = 0"),
        ("lseek", [3, n(-100), 2, 0, 0, 0], 900, "lseek(3, -100, SEEK_END) = 900"),
        ("fsync", [3, 0, 0, 0, 0, 0], 0, "fsync(3) = 0"),
        ("fdatasync", [3, 0, 0, 0, 0, 0], 0, "fdatasync(3) = 0"),
        ("ftruncate", [3, 4096, 0, 0, 0, 0], 0, "ftruncate(3, 4096) = 0"),
        ("fstat", [3, 0x1000, 0, 0, 0, 0], 0, "fstat(3, 0x1000) = 0"),
        ("flock", [3, 6, 0, 0, 0, 0], EAGAIN, "flock(3, LOCK_EX|LOCK_NB) = -1 EAGAIN (Resource temporarily unavailable)"),
        ("getdents64", [3, 0x1000, 32768, 0, 0, 0], 0, "getdents64(3, 0x1000, 32768) = 0"),
    ];
    for (name, args, ret, expected) in cases {
        assert_eq!(line(name, args, ret), expected);
    }
}

#[test]
#[cfg(target_arch = "x86_64")]
fn largefile_x86_64() {
    assert_eq!(line("fcntl", [3, 3, 0, 0, 0, 0], 0x8002), "fcntl(3, F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)");
}

#[test]
fn path_calls() {
    let cases = [
        ("newfstatat", [AT_FDCWD, 1, 0x1000, 0, 0, 0], "newfstatat(AT_FDCWD, \"/p\", 0x1000, 0)"),
        ("newfstatat", [3, 1, 0x1000, 0x1100, 0, 0], "newfstatat(3, \"/p\", 0x1000, AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH)"),
        (
            "statx",
            [AT_FDCWD, 1, 0x100, 0x7ff, 0x1000, 0],
            "statx(AT_FDCWD, \"/p\", AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, 0x1000)",
        ),
        ("statx", [3, 1, 0x5000, 0xfff, 0x1000, 0], "statx(3, \"/p\", AT_STATX_DONT_SYNC|AT_EMPTY_PATH, STATX_ALL, 0x1000)"),
        (
            "statx",
            [3, 1, 0, 0x1003, 0x1000, 0],
            "statx(3, \"/p\", AT_STATX_SYNC_AS_STAT, STATX_TYPE|STATX_MODE|STATX_MNT_ID, 0x1000)",
        ),
        ("stat", [1, 0x1000, 0, 0, 0, 0], "stat(\"/p\", 0x1000)"),
        ("access", [1, 6, 0, 0, 0, 0], "access(\"/p\", R_OK|W_OK)"),
        ("access", [1, 0, 0, 0, 0, 0], "access(\"/p\", F_OK)"),
        ("faccessat2", [AT_FDCWD, 1, 1, 0x300, 0, 0], "faccessat2(AT_FDCWD, \"/p\", X_OK, AT_SYMLINK_NOFOLLOW|AT_EACCESS)"),
        ("execveat", [3, 1, 0x1000, 0x2000, 0x1000, 0], "execveat(3, \"/p\", 0x1000, 0x2000, AT_EMPTY_PATH)"),
        ("readlinkat", [AT_FDCWD, 1, 0x1000, 4096, 0, 0], "readlinkat(AT_FDCWD, \"/p\", 0x1000, 4096)"),
        ("unlinkat", [AT_FDCWD, 1, 0x200, 0, 0, 0], "unlinkat(AT_FDCWD, \"/p\", AT_REMOVEDIR)"),
        ("mkdir", [1, 0o1777, 0, 0, 0, 0], "mkdir(\"/p\", 01777)"),
        (
            "renameat2",
            [AT_FDCWD, 1, AT_FDCWD, 0x1000, 5, 0],
            "renameat2(AT_FDCWD, \"/p\", AT_FDCWD, 0x1000, RENAME_NOREPLACE|RENAME_WHITEOUT)",
        ),
        ("chmod", [1, 0, 0, 0, 0, 0], "chmod(\"/p\", 000)"),
        ("chown", [1, 1000, c(-1), 0, 0, 0], "chown(\"/p\", 1000, -1)"),
        ("fchownat", [AT_FDCWD, 1, 1, 2, 0x100, 0], "fchownat(AT_FDCWD, \"/p\", 1, 2, AT_SYMLINK_NOFOLLOW)"),
        ("symlinkat", [1, AT_FDCWD, 0x1000, 0, 0, 0], "symlinkat(\"/p\", AT_FDCWD, 0x1000)"),
        ("mknod", [1, 0o20600, 0x103, 0, 0, 0], "mknod(\"/p\", S_IFCHR|0600, makedev(0x1, 0x3))"),
        ("mknod", [1, 0o14644, 0, 0, 0, 0], "mknod(\"/p\", S_IFIFO|S_ISUID|0644)"),
        (
            "mknodat",
            [AT_FDCWD, 1, 0o60600, 0x10010307, 0, 0],
            "mknodat(AT_FDCWD, \"/p\", S_IFBLK|0600, makedev(0x103, 0x10007))",
        ),
        ("mknodat", [AT_FDCWD, 1, 0o100000, 0, 0, 0], "mknodat(AT_FDCWD, \"/p\", S_IFREG|000)"),
        ("utimensat", [AT_FDCWD, 1, 0x1000, 0x100, 0, 0], "utimensat(AT_FDCWD, \"/p\", 0x1000, AT_SYMLINK_NOFOLLOW)"),
        ("setxattr", [1, 0x1000, 0x2000, 100, 1, 0], "setxattr(\"/p\", 0x1000, 0x2000, 100, XATTR_CREATE)"),
        (
            "inotify_add_watch",
            [3, 1, 0x100000a, 0, 0, 0],
            "inotify_add_watch(3, \"/p\", IN_MODIFY|IN_CLOSE_WRITE|IN_ONLYDIR)",
        ),
        ("umount2", [1, 2, 0, 0, 0, 0], "umount2(\"/p\", MNT_DETACH)"),
        ("swapon", [1, 0x18005, 0, 0, 0, 0], "swapon(\"/p\", SWAP_FLAG_PREFER|SWAP_FLAG_DISCARD|5)"),
        ("mount", [0x1000, 1, 0x2000, 0x5000, 0, 0], "mount(0x1000, \"/p\", 0x2000, MS_BIND|MS_REC, NULL)"),
        ("mount", [0x1000, 1, 0x2000, 0xc0ed0000, 0, 0], "mount(0x1000, \"/p\", 0x2000, MS_MGC_VAL, NULL)"),
        ("quotactl", [0x80000700, 1, 1000, 0x1000, 0, 0], "quotactl(QCMD(Q_GETQUOTA, USRQUOTA), \"/p\", 1000, 0x1000)"),
        ("quotactl", [0x80000101, 1, 0, 0, 0, 0], "quotactl(QCMD(Q_SYNC, GRPQUOTA), \"/p\")"),
        (
            "fanotify_mark",
            [3, 0x11, 0x40000028, n(-1), 1, 0],
            "fanotify_mark(3, FAN_MARK_ADD|FAN_MARK_MOUNT, FAN_CLOSE_WRITE|FAN_OPEN|FAN_ONDIR, FAN_NOFD, \"/p\")",
        ),
        ("name_to_handle_at", [AT_FDCWD, 1, 0x1000, 0x2000, 0, 0], "name_to_handle_at(AT_FDCWD, \"/p\", 0x1000, 0x2000, 0)"),
    ];
    for (name, args, expected) in cases {
        let path_arg = match user_arg(name) {
            UserArg::Path { arg } => usize::from(arg),
            other => panic!("{name}: {other:?}"),
        };
        let mut args = args;
        args[path_arg] = 0x7ffd0000;
        assert_eq!(with_path(name, args, 0, b"/p"), format!("{expected} = 0"), "{name}");
    }
}

#[test]
fn memory() {
    let rw = c(libc::PROT_READ | libc::PROT_WRITE);
    let anon = c(libc::MAP_PRIVATE | libc::MAP_ANONYMOUS);
    let cases = [
        (
            "mmap",
            [0, 4096, rw, anon, n(-1), 0],
            0x7f6bff744000,
            "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f6bff744000",
        ),
        (
            "mmap",
            [0, 8192, 1, 1, 5, 0x10000],
            EBADF,
            "mmap(NULL, 8192, PROT_READ, MAP_SHARED, 5, 0x10000) = -1 EBADF (Bad file descriptor)",
        ),
        (
            "mmap",
            [0x10000000, 4096, 0, anon | c(libc::MAP_FIXED | libc::MAP_NORESERVE | libc::MAP_STACK), n(-1), 0],
            0x10000000,
            "mmap(0x10000000, 4096, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_NORESERVE|MAP_STACK, -1, 0) = 0x10000000",
        ),
        (
            "mmap",
            [0, 4096, 1, 0xf | 0x40000 | (21 << 26), 5, 0],
            EINVAL,
            "mmap(NULL, 4096, PROT_READ, 0xf /* MAP_??? */|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, 5, 0) = -1 EINVAL (Invalid argument)",
        ),
        (
            "mmap",
            [0, 4096, 5 | 0x100, 0, 5, 0],
            EINVAL,
            "mmap(NULL, 4096, PROT_READ|PROT_EXEC|0x100, MAP_FILE, 5, 0) = -1 EINVAL (Invalid argument)",
        ),
        ("munmap", [0x1000, 4096, 0, 0, 0, 0], 0, "munmap(0x1000, 4096) = 0"),
        ("mprotect", [0x1000, 4096, rw, 0, 0, 0], 0, "mprotect(0x1000, 4096, PROT_READ|PROT_WRITE) = 0"),
        ("madvise", [0x1000, 4096, 4, 0, 0, 0], 0, "madvise(0x1000, 4096, MADV_DONTNEED) = 0"),
        (
            "madvise",
            [0x1000, 4096, 77, 0, 0, 0],
            EINVAL,
            "madvise(0x1000, 4096, 0x4d /* MADV_??? */) = -1 EINVAL (Invalid argument)",
        ),
        (
            "mremap",
            [0x1000, 4096, 8192, 3, 0x2000, 0],
            0x2000,
            "mremap(0x1000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x2000) = 0x2000",
        ),
        ("mremap", [0x1000, 4096, 8192, 1, 0x2000, 0], 0x5000, "mremap(0x1000, 4096, 8192, MREMAP_MAYMOVE) = 0x5000"),
        ("getrandom", [0x1000, 16, 1, 0, 0, 0], 16, "getrandom(0x1000, 16, GRND_NONBLOCK) = 16"),
        (
            "getrandom",
            [0x1000, 16, 0xe, 0, 0, 0],
            EINVAL,
            "getrandom(0x1000, 16, GRND_RANDOM|GRND_INSECURE|0x8) = -1 EINVAL (Invalid argument)",
        ),
        ("pipe2", [0x1000, c(libc::O_CLOEXEC), 0, 0, 0, 0], 0, "pipe2(0x1000, O_CLOEXEC) = 0"),
        (
            "eventfd2",
            [0, c(libc::EFD_CLOEXEC | libc::EFD_NONBLOCK), 0, 0, 0, 0],
            17,
            "eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 17",
        ),
        ("io_uring_enter", [7, 1, 1, 1, 0, 8], 1, "io_uring_enter(7, 1, 1, IORING_ENTER_GETEVENTS, NULL, 8) = 1"),
        (
            "io_uring_enter",
            [7, 0, 1, 9, 0x1000, 24],
            0,
            "io_uring_enter(7, 0, 1, IORING_ENTER_GETEVENTS|IORING_ENTER_EXT_ARG, 0x1000, 24) = 0",
        ),
    ];
    for (name, args, ret, expected) in cases {
        assert_eq!(line(name, args, ret), expected);
    }
}

#[test]
fn others_are_raw() {
    assert_eq!(line("kcmp", [1, 2, 3, 0, 0, 0], -1), "kcmp(0x1, 0x2, 0x3, 0, 0) = -1 EPERM (Operation not permitted)");
    assert_eq!(line("no_such_call", [1, 0, 0, 0, 0, 0xff], 0), "no_such_call(0x1, 0, 0, 0, 0, 0xff) = 0");
    // A path-family call without its own format still shows its path.
    assert_eq!(
        with_path("open_tree", [n(-100), 0x1000, 1, 0, 0, 0], 3, b"/p"),
        r#"open_tree(0xffffffffffffff9c, "/p", 0x1) = 3"#
    );
}

#[test]
fn text_a_traced_process_controls_is_escaped_as_strace_escapes_it() {
    use super::escape;
    assert_eq!(escape(b"ev\x1b[31mil\x07"), r"ev\33[31mil\7");
    assert_eq!(escape(b"/tmp/\x1b]0;pwned\x07\x1b[2J/none"), r"/tmp/\33]0;pwned\7\33[2J/none");
    assert_eq!(escape("a\tb\\\"\n\r\x7f"), r#"a\tb\\\"\n\r\177"#);
    // Three digits where a digit follows, as C needs; not UTF-8 (or not ASCII) in octal.
    assert_eq!(escape(b"\x1b1\xff"), r"\0331\377");
    assert_eq!(escape("café"), r"caf\303\251");
    assert_eq!(escape("postgres: walwriter"), "postgres: walwriter");
}
