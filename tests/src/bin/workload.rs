//! A process whose syscalls are known exactly, for the end-to-end tests and the benchmark.
//!
//! Every scenario makes its syscalls through libc directly (no buffering), so the counts the
//! tracer reports can be asserted exactly. `--wait-signal` makes it print `ready` and wait for
//! SIGUSR1 first, so a test can attach the tracer to a running process before the counted part
//! starts, and know that it has (no sleeps: a test's result must not depend on the machine's
//! speed).
use std::{ffi::CString, io::Write, thread, time::Duration};

fn usage() -> ! {
    eprintln!(
        "usage: workload [--wait-signal] SCENARIO\n\
         scenarios:\n  \
         rw READS WRITES BAD_CLOSES MISSING_OPENS   read /dev/zero, write /dev/null, close(-1) (EBADF), open a missing file (ENOENT)\n  \
         pipe-sleep READS SLEEP_MS                 each read blocks on a pipe whose writer sleeps SLEEP_MS first\n  \
         fd-reuse ROUNDS                            ROUNDS times, one fd number read as a file, then as a pipe (after a\n\
         \x20                                          close), a file (after dup2 onto it), a pipe (after close_range)\n  \
         would-block FAILED OK                      on an empty non-blocking pipe, Unix socket and loopback TCP connection:\n\
         \x20                                          FAILED reads each (EAGAIN), then OK times a 16-byte write and read\n\
         \x20                                          and a close of a dup'd fd each\n  \
         getppid N                                  N getppid calls\n  \
         fork N                                     a child process makes N getppid calls; the parent only waits\n  \
         forks CHILDREN N                           CHILDREN children one after the other, each making N getppid calls\n  \
         sleep MS                                   sleep, then exit\n  \
         stdin-bytes N                              N reads of one byte each from stdin\n  \
         slow-mix ITER FAST                         ITER times: FAST one-byte reads of /dev/zero, then one nanosleep of 1ns\n\
         \x20                                          (which takes the timer slack, 50us: the one slow call in FAST + 1)\n  \
         slow-reads FAST SLOW SLEEP_MS              FAST reads of /dev/zero, then SLOW reads from slow_reader, each on a pipe\n\
         \x20                                          whose writer sleeps SLEEP_MS first\n  \
         accept N                                   listen on a loopback port (printed), accept N connections, read one byte from each\n  \
         cpu-read THREADS READS                     THREADS threads pinned to the last CPU, each READS reads of 1 MiB from /dev/zero\n  \
         spread-read THREADS READS                  the same, on whichever CPUs the scheduler picks\n  \
         tcp-echo CONNS MSGS SIZE [PAUSE_MS]        a loopback echo server thread; the client connects CONNS times and\n\
         \x20                                          sends MSGS messages of SIZE bytes on each, reading every echo back\n\
         \x20                                          (pausing PAUSE_MS after the first echo of each)\n  \
         tcp-reuse CONNS                            CONNS connections in a row from one client port (bound, SO_REUSEADDR) to\n\
         \x20                                          a loopback server that answers and closes first\n  \
         accept-fork                                a loopback server accepts and hands the connection to a forked\n\
         \x20                                          worker, which answers a forked client's request\n  \
         threads THREADS N                          THREADS threads started together, each making N getppid calls\n  \
         lost-thread-ends FIRST THEN NAPS           FIRST threads nap, then end while the test has stopped the tracer\n\
         \x20                                          (says stop and ended, each time waits for a stdin line); THEN threads nap NAPS times\n  \
         naps N US                                  N nanosleeps of US microseconds each\n  \
         paced N ROUNDS MS                          ROUNDS times: N getppid calls, then a nanosleep of MS milliseconds\n  \
         sockets CONNS ROUNDS                       CONNS loopback connections held open at once; ROUNDS times, one byte\n\
         \x20                                          sent on each and read at the other end\n  \
         forks-timed CHILDREN N                     forks, printing its own elapsed time\n\
         \x20                                          (threads, sockets and tcp-echo print theirs too: \"elapsed S s\")\n  \
         renames CHILDREN N                         renames itself before each of CHILDREN children, each of which takes\n\
         \x20                                          a name of its own and makes N getppid calls\n  \
         code-from FILE CALLS MS                    maps FILE executable and CALLS times calls its code at offset 4096\n\
         \x20                                          with a timespec of MS ms (a nanosleep written there by a test)"
    );
    std::process::exit(2)
}

fn arg(args: &[String], i: usize) -> u64 {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or_else(|| usage())
}

fn check(ret: isize, what: &str) {
    if ret < 0 {
        panic!("{what} failed: {}", std::io::Error::last_os_error());
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--wait-signal") {
        args.remove(0);
        wait_for_sigusr1();
    }
    match args.first().map(String::as_str) {
        Some("rw") => read_write(arg(&args, 1), arg(&args, 2), arg(&args, 3), arg(&args, 4)),
        Some("pipe-sleep") => pipe_sleep(arg(&args, 1), arg(&args, 2)),
        Some("would-block") => would_block(arg(&args, 1), arg(&args, 2)),
        Some("fd-reuse") => (0..arg(&args, 1)).for_each(|_| fd_reuse()),
        Some("getppid") => getppid(arg(&args, 1)),
        Some("fork") => fork_child(arg(&args, 1)),
        Some("forks") => (0..arg(&args, 1)).for_each(|_| fork_child(arg(&args, 2))),
        Some("sleep") => thread::sleep(Duration::from_millis(arg(&args, 1))),
        Some("stdin-bytes") => stdin_bytes(arg(&args, 1)),
        Some("slow-reads") => slow_reads(arg(&args, 1), arg(&args, 2), arg(&args, 3)),
        Some("slow-mix") => slow_mix(arg(&args, 1), arg(&args, 2)),
        Some("accept") => accept(arg(&args, 1)),
        Some("cpu-read") => cpu_read(arg(&args, 1), arg(&args, 2), true),
        Some("spread-read") => cpu_read(arg(&args, 1), arg(&args, 2), false),
        Some("tcp-echo") => tcp_echo(arg(&args, 1), arg(&args, 2), arg(&args, 3) as usize, args.get(4).map_or(0, |_| arg(&args, 4))),
        Some("tcp-reuse") => tcp_reuse(arg(&args, 1)),
        Some("accept-fork") => accept_fork(),
        Some("threads") => threads(arg(&args, 1), arg(&args, 2)),
        Some("lost-thread-ends") => lost_thread_ends(arg(&args, 1), arg(&args, 2), arg(&args, 3)),
        Some("naps") => (0..arg(&args, 1)).for_each(|_| nap(arg(&args, 2))),
        Some("paced") => (0..arg(&args, 2)).for_each(|_| {
            getppid(arg(&args, 1));
            nap(arg(&args, 3) * 1000);
        }),
        Some("sockets") => sockets(arg(&args, 1), arg(&args, 2)),
        Some("forks-timed") => timed(|| (0..arg(&args, 1)).for_each(|_| fork_child(arg(&args, 2)))),
        Some("renames") => renames(arg(&args, 1), arg(&args, 2)),
        Some("code-from") => code_from(args.get(1).unwrap_or_else(|| usage()), arg(&args, 2), arg(&args, 3)),
        _ => usage(),
    }
    // Straight to exit_group: returning from main would add the runtime's own clean-up
    // syscalls (sigaltstack, munmap), and the tests count every syscall.
    unsafe { libc::_exit(0) }
}

/// Blocks SIGUSR1 (so that it cannot kill us before we wait), says `ready`, and waits for it.
fn wait_for_sigusr1() {
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        check(libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) as isize, "sigprocmask");
        let mut stdout = std::io::stdout();
        stdout.write_all(b"ready\n").and_then(|()| stdout.flush()).expect("write ready");
        check(libc::sigwaitinfo(&set, std::ptr::null_mut()) as isize, "sigwaitinfo");
    }
}

/// Runs the code a test wrote at offset 4096 of `path` (a nanosleep of the timespec it is
/// given), from a mapping of that file: a slow call whose innermost frame lies in a file the
/// test chose, such as a truncated ELF.
#[inline(never)]
fn code_from(path: &str, calls: u64, ms: u64) {
    let file = std::fs::File::open(path).expect("code file");
    let len = file.metadata().unwrap().len() as usize;
    use std::os::fd::AsRawFd;
    // SAFETY: a private read-only mapping of a whole file; the test wrote a function at 4096.
    let base = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_EXEC, libc::MAP_PRIVATE, file.as_raw_fd(), 0) };
    assert!(base != libc::MAP_FAILED, "mmap: {}", std::io::Error::last_os_error());
    let ts = libc::timespec { tv_sec: (ms / 1000) as libc::time_t, tv_nsec: ((ms % 1000) * 1_000_000) as libc::c_long };
    // SAFETY: the code at 4096 is `nanosleep(rdi/x0, NULL); return` (tracer_tests::code_file).
    let sleep: extern "C" fn(*const libc::timespec) -> isize = unsafe { std::mem::transmute(base.cast::<u8>().add(4096)) };
    for _ in 0..calls {
        check(sleep(&ts), "nanosleep");
    }
}

/// Fast reads, then slow ones from a function of known name, for the slow-call tests.
fn slow_reads(fast: u64, slow: u64, sleep_ms: u64) {
    let zero = open("/dev/zero", libc::O_RDONLY);
    for _ in 0..fast {
        check(raw_read(zero), "read");
    }
    let (read_end, writer) = sleepy_pipe(slow, sleep_ms);
    slow_reader(read_end, slow);
    writer.join().unwrap();
}

/// A storm with a known share of slow calls, for the benchmark; prints its own time.
fn slow_mix(iterations: u64, fast: u64) {
    let zero = open("/dev/zero", libc::O_RDONLY);
    let started = std::time::Instant::now();
    let nap = libc::timespec { tv_sec: 0, tv_nsec: 1 };
    for _ in 0..iterations {
        for _ in 0..fast {
            check(raw_read(zero), "read");
        }
        check(unsafe { libc::nanosleep(&nap, std::ptr::null_mut()) } as isize, "nanosleep");
    }
    println!("elapsed {:.6} s", started.elapsed().as_secs_f64());
}

/// The function the slow reads' stacks must name.
#[inline(never)]
fn slow_reader(fd: i32, reads: u64) {
    for _ in 0..reads {
        check(raw_read(fd), "read");
    }
}

/// read(fd, buf, 1) as one syscall instruction in a function with a frame: the stack walk
/// (frame pointers, which this workspace builds with) then reaches its caller. libc's read may
/// use the frame-pointer register for its own purposes on its slower, multi-threaded path.
#[inline(never)]
fn raw_read(fd: i32) -> isize {
    let mut byte = 0u8;
    let ret: isize;
    // SAFETY: read(2) into a live one-byte buffer; the asm clobbers only what it declares.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!("syscall", inlateout("rax") libc::SYS_read as isize => ret, in("rdi") fd as isize,
            in("rsi") &raw mut byte, in("rdx") 1usize, lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!("svc 0", in("x8") libc::SYS_read as isize, inlateout("x0") fd as isize => ret,
            in("x1") &raw mut byte, in("x2") 1usize, options(nostack));
    }
    ret
}

fn stdin_bytes(n: u64) {
    let mut byte = 0u8;
    for _ in 0..n {
        let got = unsafe { libc::read(0, (&raw mut byte).cast(), 1) };
        assert_eq!(got, 1, "stdin ended early");
    }
}

/// A server blocked in accept from the start: a test attaches while it waits, then connects.
fn accept(conns: u64) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut stdout = std::io::stdout();
    writeln!(stdout, "port {}", listener.local_addr().unwrap().port()).and_then(|()| stdout.flush()).expect("write port");
    use std::os::fd::AsRawFd;
    for _ in 0..conns {
        let fd = unsafe { libc::accept4(listener.as_raw_fd(), std::ptr::null_mut(), std::ptr::null_mut(), 0) };
        check(fd as isize, "accept4");
        let mut byte = 0u8;
        check(unsafe { libc::read(fd, (&raw mut byte).cast(), 1) }, "read");
        check(unsafe { libc::close(fd) } as isize, "close");
    }
}

fn open(path: &str, flags: i32) -> i32 {
    let path = CString::new(path).unwrap();
    unsafe { libc::open(path.as_ptr(), flags) }
}

fn read_write(reads: u64, writes: u64, bad_closes: u64, missing_opens: u64) {
    let zero = open("/dev/zero", libc::O_RDONLY);
    let null = open("/dev/null", libc::O_WRONLY);
    assert!(zero >= 0 && null >= 0, "open /dev/zero, /dev/null");
    let mut byte = 0u8;
    for _ in 0..reads {
        check(unsafe { libc::read(zero, (&raw mut byte).cast(), 1) }, "read");
    }
    for _ in 0..writes {
        check(unsafe { libc::write(null, (&raw const byte).cast(), 1) }, "write");
    }
    for _ in 0..bad_closes {
        assert_eq!(unsafe { libc::close(-1) }, -1);
    }
    for _ in 0..missing_opens {
        assert_eq!(open("/nonexistent/tracer-test", libc::O_RDONLY), -1);
    }
}

/// One fd number that is a file, a pipe, a file and a pipe again, freed each time another way
/// (close, dup2 onto it, close_range): a one-byte read of each (2 of /dev/zero, 2 of a pipe,
/// after a one-byte write to it).
fn fd_reuse() {
    let zero = || open("/dev/zero", libc::O_RDONLY);
    let read_one = |fd: i32| check(unsafe { libc::read(fd, [0u8; 1].as_mut_ptr().cast(), 1) }, "read");
    let pipe_at = |expected: i32| {
        let mut fds = [0; 2];
        check(unsafe { libc::pipe(fds.as_mut_ptr()) } as isize, "pipe");
        assert_eq!(fds[0], expected, "the pipe's read end takes the freed number");
        check(unsafe { libc::write(fds[1], b"x".as_ptr().cast(), 1) }, "write");
        read_one(fds[0]);
        fds[1]
    };
    let fd = zero();
    read_one(fd);
    check(unsafe { libc::close(fd) } as isize, "close");
    let write_end = pipe_at(fd);
    let other = zero();
    check(unsafe { libc::dup2(other, fd) } as isize, "dup2");
    read_one(fd);
    check(unsafe { libc::syscall(libc::SYS_close_range, fd, fd, 0) } as isize, "close_range");
    let second_write_end = pipe_at(fd);
    for end in [fd, write_end, other, second_write_end] {
        check(unsafe { libc::close(end) } as isize, "close");
    }
}

/// Reads that find nothing to read, as an event loop makes them: `failed` reads of an empty
/// non-blocking pipe (read), Unix socket and loopback TCP connection (recv, recvfrom), each
/// EAGAIN, then `ok` rounds on each of a 16-byte write (write, send), a read and a close of a
/// dup'd fd, in one thread.
fn would_block(failed: u64, ok: u64) {
    use std::os::fd::AsRawFd;
    let mut pipe = [0; 2];
    check(unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_NONBLOCK) } as isize, "pipe2");
    let (unix_a, unix_b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    // (read end, write end, whether a socket)
    let ends = [(pipe[0], pipe[1], false), (unix_a.as_raw_fd(), unix_b.as_raw_fd(), true), (client.as_raw_fd(), server.as_raw_fd(), true)];
    let mut buffer = [0u8; 16];
    for &(read_end, write_end, socket) in &ends {
        let read = |buffer: &mut [u8; 16], flags: i32| unsafe {
            match socket {
                true => libc::recv(read_end, buffer.as_mut_ptr().cast(), 16, flags),
                false => libc::read(read_end, buffer.as_mut_ptr().cast(), 16),
            }
        };
        for _ in 0..failed {
            let ret = read(&mut buffer, libc::MSG_DONTWAIT);
            assert!(ret == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN), "a read that would block");
        }
        for _ in 0..ok {
            let sent = unsafe {
                match socket {
                    true => libc::send(write_end, b"0123456789abcdef".as_ptr().cast(), 16, 0),
                    false => libc::write(write_end, b"0123456789abcdef".as_ptr().cast(), 16),
                }
            };
            assert_eq!(sent, 16, "write");
            // Loopback and Unix sockets hand the bytes over within the send; a pipe within the
            // write. Blocking, to be sure of it all the same.
            assert_eq!(read(&mut buffer, 0), 16, "read");
            // A close, as a server closes its files between requests: the tracer may not take
            // what it knew of an fd from before it.
            check(unsafe { libc::close(libc::dup(read_end)) } as isize, "close");
        }
    }
}

/// A pipe whose writer thread writes `writes` bytes, sleeping `sleep_ms` before each: its read
/// end, and the writer.
fn sleepy_pipe(writes: u64, sleep_ms: u64) -> (i32, thread::JoinHandle<()>) {
    let mut fds = [0; 2];
    check(unsafe { libc::pipe(fds.as_mut_ptr()) } as isize, "pipe");
    let [read_end, write_end] = fds;
    let writer = thread::spawn(move || {
        for _ in 0..writes {
            thread::sleep(Duration::from_millis(sleep_ms));
            check(unsafe { libc::write(write_end, b"x".as_ptr().cast(), 1) }, "write");
        }
    });
    (read_end, writer)
}

fn pipe_sleep(reads: u64, sleep_ms: u64) {
    let (read_end, writer) = sleepy_pipe(reads, sleep_ms);
    let mut byte = 0u8;
    for _ in 0..reads {
        check(unsafe { libc::read(read_end, (&raw mut byte).cast(), 1) }, "read");
    }
    writer.join().unwrap();
}

fn getppid(n: u64) {
    for _ in 0..n {
        unsafe { libc::getppid() };
    }
}

fn nap(us: u64) {
    let request = libc::timespec { tv_sec: (us / 1_000_000) as libc::time_t, tv_nsec: (us % 1_000_000 * 1000) as libc::c_long };
    check(unsafe { libc::nanosleep(&request, std::ptr::null_mut()) } as isize, "nanosleep");
}

/// Names that never repeat, from a process and its children: what a hostile or careless
/// program can do to a tracer that keeps something per name.
fn renames(children: u64, n: u64) {
    let me = std::process::id();
    let rename = |name: String| {
        let name = CString::new(name).unwrap();
        check(unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) } as isize, "prctl");
    };
    for i in 0..children {
        rename(format!("p{me}-{i}"));
        in_child(|| {
            rename(format!("c{me}-{i}"));
            getppid(n);
        });
    }
}

fn fork_child(n: u64) {
    in_child(|| getppid(n));
}

/// Runs `work` in a child process, and waits for it.
fn in_child(work: impl FnOnce()) {
    match unsafe { libc::fork() } {
        0 => {
            work();
            unsafe { libc::_exit(0) }
        }
        child if child > 0 => {
            let mut status = 0;
            check(unsafe { libc::waitpid(child, &mut status, 0) } as isize, "waitpid");
        }
        _ => panic!("fork failed"),
    }
}

/// CPU-bound syscalls on one CPU (the last one, so a test can keep the tracer off it): with
/// more than one thread they must queue for it. The main thread only waits for them.
/// THREADS threads each reading 1 MiB from /dev/zero READS times: CPU-bound syscalls. All on
/// the last CPU with `pinned` (they wait for each other in the run queue), else wherever the
/// scheduler puts them.
fn cpu_read(threads: u64, reads: u64, pinned: bool) {
    // Only when pinned: std reads the cgroup's cpu files to answer, reads the tests would count.
    let cpu = if pinned { thread::available_parallelism().map_or(1, |n| n.get()) - 1 } else { 0 };
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            thread::spawn(move || {
                let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
                unsafe { libc::CPU_SET(cpu, &mut set) };
                if pinned {
                    check(unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) } as isize, "sched_setaffinity");
                }
                let zero = open("/dev/zero", libc::O_RDONLY);
                let mut buffer = vec![0u8; 1 << 20];
                for _ in 0..reads {
                    check(unsafe { libc::read(zero, buffer.as_mut_ptr().cast(), buffer.len()) }, "read");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
}

/// Loopback TCP with known counts: CONNS accepts and connects, MSGS * SIZE bytes each way per
/// connection. Prints the server's port and each client port, for the tests to match.
fn tcp_echo(conns: u64, msgs: u64, size: usize, pause_ms: u64) {
    use std::{
        io::{Read, Write},
        net::{Shutdown, TcpListener, TcpStream},
    };
    let started = std::time::Instant::now();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server_port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        for _ in 0..conns {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let n = stream.read(&mut buffer).expect("server read");
                if n == 0 {
                    break;
                }
                stream.write_all(&buffer[..n]).expect("server write");
            }
        }
    });
    let message = vec![b'x'; size];
    let mut echo = vec![0u8; size];
    let mut out = String::new();
    for _ in 0..conns {
        let mut stream = TcpStream::connect(("127.0.0.1", server_port)).expect("connect");
        out.push_str(&format!("client-port {}\n", stream.local_addr().unwrap().port()));
        for sent in 0..msgs {
            stream.write_all(&message).expect("client write");
            stream.read_exact(&mut echo).expect("client read");
            if sent == 0 && pause_ms > 0 {
                thread::sleep(Duration::from_millis(pause_ms));
            }
        }
        stream.shutdown(Shutdown::Write).expect("shutdown");
        assert_eq!(stream.read(&mut echo).expect("read EOF"), 0);
    }
    server.join().unwrap();
    // Its own time, like dd's, so that a benchmark does not count the tracer's start-up.
    out.push_str(&format!("elapsed {:.6} s\n", started.elapsed().as_secs_f64()));
    print!("server-port {server_port}\n{out}");
    std::io::stdout().flush().unwrap();
}

/// Connections that reuse one 4-tuple: the client binds the same port each time; the server
/// answers and closes first, so the client's side is free again at once.
fn tcp_reuse(conns: u64) {
    use std::{
        io::{Read, Write},
        net::TcpListener,
        os::fd::FromRawFd,
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server_port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        for _ in 0..conns {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut request = [0u8; 4];
            stream.read_exact(&mut request).expect("server read");
            stream.write_all(b"answer").expect("server write");
        }
    });
    let address = |port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be() },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let mut client_port = 0u16;
    for _ in 0..conns {
        let stream = unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            check(fd as isize, "socket");
            let on: libc::c_int = 1;
            let on_ptr = (&raw const on).cast();
            check(libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, on_ptr, 4) as isize, "setsockopt");
            let local = address(client_port);
            check(libc::bind(fd, (&raw const local).cast(), len) as isize, "bind");
            let server = address(server_port);
            check(libc::connect(fd, (&raw const server).cast(), len) as isize, "connect");
            std::net::TcpStream::from_raw_fd(fd)
        };
        client_port = stream.local_addr().unwrap().port();
        let mut stream = stream;
        stream.write_all(b"ask!").expect("client write");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("client read");
        assert_eq!(answer, b"answer");
    }
    server.join().unwrap();
    println!("client-port {client_port}");
}

/// A server that accepts, then hands the connection to a forked worker (as postgres's
/// postmaster does); the client is a forked process too. Raw syscalls only after each fork.
fn accept_fork() {
    use std::os::fd::AsRawFd;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    let wait = |child: libc::pid_t| {
        let mut status = 0;
        check(unsafe { libc::waitpid(child, &mut status, 0) } as isize, "waitpid");
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child failed");
    };
    let client = unsafe { libc::fork() };
    if client == 0 {
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            let server = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: port.to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be() },
                sin_zero: [0; 8],
            };
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let mut answer = [0u8; 6];
            let ok = libc::connect(fd, (&raw const server).cast(), len) == 0
                && libc::write(fd, b"ask!".as_ptr().cast(), 4) == 4
                && libc::recv(fd, answer.as_mut_ptr().cast(), 6, libc::MSG_WAITALL) == 6;
            libc::_exit(if ok { 0 } else { 1 })
        }
    }
    let accepted = unsafe { libc::accept(listener.as_raw_fd(), std::ptr::null_mut(), std::ptr::null_mut()) };
    check(accepted as isize, "accept");
    let worker = unsafe { libc::fork() };
    if worker == 0 {
        unsafe {
            let mut request = [0u8; 4];
            let ok = libc::recv(accepted, request.as_mut_ptr().cast(), 4, libc::MSG_WAITALL) == 4
                && libc::write(accepted, b"answer".as_ptr().cast(), 6) == 6;
            libc::_exit(if ok { 0 } else { 1 })
        }
    }
    unsafe { libc::close(accepted) };
    wait(worker);
    wait(client);
}

/// Runs `work`, then prints its own elapsed time, so that a benchmark leaves out the tracer's
/// start-up.
fn timed(work: impl FnOnce()) {
    let started = std::time::Instant::now();
    work();
    println!("elapsed {:.6} s", started.elapsed().as_secs_f64());
}

fn threads(threads: u64, n: u64) {
    let start = std::sync::Arc::new(std::sync::Barrier::new(threads as usize + 1));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                getppid(n);
            })
        })
        .collect();
    timed(|| {
        start.wait();
        workers.into_iter().for_each(|w| w.join().unwrap());
    });
}

/// Threads whose ends the tracer cannot hear of: `first` threads nap once (a switch-in: each
/// takes a thread row), then wait; the workload says `stop` and waits for a line on stdin (the
/// test stops the tracer), fills the tracer's ring with getppid calls, ends the threads, says
/// `ended` and waits for a line (the tracer resumed). Four seconds later, `then` threads nap
/// `naps` times each, 1 ms a nap.
fn lost_thread_ends(first: u64, then: u64, naps: u64) {
    use std::io::BufRead;
    let line = || {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).expect("read stdin");
    };
    let end = std::sync::Arc::new(std::sync::Barrier::new(first as usize + 1));
    let waiting: Vec<_> = (0..first)
        .map(|_| {
            let end = end.clone();
            thread::spawn(move || {
                nap(100_000);
                end.wait();
            })
        })
        .collect();
    nap(1_000_000);
    // Rust's stdout flushes at each newline: the test reads these at once.
    println!("stop");
    line();
    getppid(200_000);
    end.wait();
    waiting.into_iter().for_each(|w| w.join().unwrap());
    println!("ended");
    line();
    nap(4_000_000);
    let napping: Vec<_> = (0..then).map(|_| thread::spawn(move || (0..naps).for_each(|_| nap(1000)))).collect();
    napping.into_iter().for_each(|w| w.join().unwrap());
}

fn sockets(conns: u64, rounds: u64) {
    use std::{
        io::{Read, Write},
        net::{TcpListener, TcpStream},
    };
    // Two fds a connection, beyond the usual soft limit of 1,024.
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    check(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } as isize, "getrlimit");
    limit.rlim_cur = limit.rlim_max.min(2 * conns + 64);
    check(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } as isize, "setrlimit");
    timed(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let mut pairs = Vec::with_capacity(conns as usize);
        for _ in 0..conns {
            let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            let (server, _) = listener.accept().expect("accept");
            pairs.push((client, server));
        }
        let mut byte = [0u8; 1];
        for _ in 0..rounds {
            for (client, server) in &mut pairs {
                client.write_all(b"x").expect("write");
                server.read_exact(&mut byte).expect("read");
            }
        }
    });
}
