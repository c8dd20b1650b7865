//! TCP, end to end: a loopback echo server and client from the workload, exact counts of
//! accepts and connects, bytes that match what was sent, addresses that match the ports used.
use std::{
    io::{BufRead, BufReader, Write},
    net::TcpStream,
};

use tracer_tests::{op_row, parse_duration_ns, trace, wait_until_blocked_in, workload, workload_bin, Attached, Waiting};

const CONNS: u64 = 5;
const MSGS: u64 = 10;
const SIZE: u64 = 1000;

/// A row of the connections table.
#[derive(Debug)]
struct Conn {
    local: String,
    peer: String,
    accepted: bool,
    connected: bool,
    calls: u64,
    sent: u64,
    received: u64,
    p99_ns: u64,
    /// "SEND/RECV" p50 sizes.
    sizes: String,
}

fn connections(text: &str) -> Vec<Conn> {
    text.lines()
        .skip_while(|l| !l.starts_with("TCP connections"))
        .skip_while(|l| !l.trim_start().starts_with("pid "))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Conn {
                local: f[1].to_string(),
                peer: f[2].to_string(),
                accepted: f[3] != "-",
                connected: f[4] != "-",
                calls: f[5].parse().unwrap(),
                sent: f[6].parse().unwrap(),
                received: f[7].parse().unwrap(),
                p99_ns: parse_duration_ns(f[9]),
                sizes: f[10].to_string(),
            }
        })
        .collect()
}

/// `-e` shows only what it selected: the accepts and connects the kernel delivers anyway (to
/// follow fds, and from the TCP state tracepoint) make no rows of their own.
#[test]
fn e_shows_no_accept_or_connect_it_did_not_select() {
    let cmd = workload_bin();
    let args = ["-e", "trace=sendto", "--", cmd.to_str().unwrap(), "tcp-echo", "2", "3", "100"];
    let (summary, output) = trace(&args);
    assert!(output.status.success(), "{output:?}");
    let text = &summary.text;
    assert_eq!(summary.rows.keys().collect::<Vec<_>>(), ["sendto"], "{text}");
    assert_eq!(op_row(text, "sendto", "socket")[2..4], ["12", "1200"], "{text}");
    let io_rows: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("I/O and network by operation"))
        .skip(2)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(io_rows.len(), 1, "only the sendto row:\n{text}");
}

/// The summary and its connections of a spawned workload `scenario` (children followed), traced
/// with calls counted in the kernel, then with every call an event.
fn both_ways(scenario: &[&str]) -> Vec<(String, Vec<Conn>)> {
    let cmd = workload_bin();
    [&[][..], &["--events"][..]]
        .iter()
        .map(|extra| {
            let mut args = extra.to_vec();
            args.extend(["-f", "--", cmd.to_str().unwrap()]);
            args.extend(scenario);
            let (summary, output) = trace(&args);
            assert!(output.status.success(), "{output:?}");
            let conns = connections(&summary.text);
            (summary.text, conns)
        })
        .collect()
}

/// A client that binds its port makes connection after connection on one 4-tuple, often at
/// the same socket address: each connection (established to close) is its own row.
#[test]
fn connections_that_reuse_a_4_tuple_are_rows_of_their_own() {
    const CONNS: usize = 5;
    for (text, conns) in both_ways(&["tcp-reuse", "5"]) {
        assert_eq!(conns.len(), 2 * CONNS, "each side of each connection:\n{text}");
        // Each side of each connection: one 4-byte request and one 6-byte answer.
        for c in &conns {
            assert_eq!(c.sent + c.received, 10, "{c:?}\n{text}");
        }
    }
}

/// A server that accepts and hands the connection to a forked worker (postgres's postmaster
/// does): the accept's wait stays with the connection, on the worker's row.
#[test]
fn an_accept_handed_to_another_process_stays_with_its_connection() {
    for (text, conns) in both_ways(&["accept-fork"]) {
        assert_eq!(conns.len(), 2, "{text}");
        let accepted: Vec<&Conn> = conns.iter().filter(|c| c.accepted).collect();
        let connected: Vec<&Conn> = conns.iter().filter(|c| c.connected).collect();
        assert_eq!((accepted.len(), connected.len()), (1, 1), "{text}");
        // The worker's calls: the request in, the answer out.
        assert_eq!((accepted[0].calls, accepted[0].sent, accepted[0].received), (2, 6, 4), "{text}");
    }
}

#[test]
fn echo_server_and_client_counted_exactly() {
    let cmd = workload_bin();
    let (summary, output) = trace(&["--", cmd.to_str().unwrap(), "tcp-echo", &CONNS.to_string(), &MSGS.to_string(), &SIZE.to_string()]);
    assert!(output.status.success(), "{output:?}");
    let text = &summary.text;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let port = |prefix: &str| -> Vec<String> {
        stdout.lines().filter_map(|l| l.strip_prefix(prefix)).map(|p| format!("127.0.0.1:{p}")).collect()
    };
    let server = port("server-port ").pop().expect("server port");
    let clients = port("client-port ");
    assert_eq!(clients.len() as u64, CONNS);

    // Exact counts: the syscalls, and the accepts/connects the network section saw.
    assert_eq!(summary.calls("accept4") + summary.calls("accept"), CONNS, "{text}");
    assert_eq!(summary.calls("connect"), CONNS, "{text}");
    assert_eq!(op_row(text, "accept", "socket")[2], CONNS.to_string());
    assert_eq!(op_row(text, "connect", "socket")[2], CONNS.to_string());

    // Bytes: each side sends and receives MSGS * SIZE per connection.
    let per_conn = MSGS * SIZE;
    let total = 2 * CONNS * per_conn;
    assert_eq!(op_row(text, "sendto", "socket")[3], total.to_string(), "{text}");
    assert_eq!(op_row(text, "recvfrom", "socket")[3], total.to_string(), "{text}");

    let conns = connections(text);
    assert_eq!(conns.len() as u64, 2 * CONNS, "{text}");
    let accepted: Vec<&Conn> = conns.iter().filter(|c| c.accepted).collect();
    let connected: Vec<&Conn> = conns.iter().filter(|c| c.connected).collect();
    assert_eq!((accepted.len() as u64, connected.len() as u64), (CONNS, CONNS), "{text}");
    for c in &conns {
        assert_eq!((c.sent, c.received), (per_conn, per_conn), "bytes of {c:?}:\n{text}");
    }
    // Addresses: the server side's peers are the client ports, the client side's peer the server.
    let mut peers: Vec<String> = accepted.iter().map(|c| c.peer.clone()).collect();
    let mut locals: Vec<String> = connected.iter().map(|c| c.local.clone()).collect();
    let mut expected = clients.clone();
    peers.sort();
    locals.sort();
    expected.sort();
    assert_eq!(peers, expected, "{text}");
    assert_eq!(locals, expected, "{text}");
    assert!(accepted.iter().all(|c| c.local == server) && connected.iter().all(|c| c.peer == server), "{text}");
}

#[test]
fn no_net_leaves_connections_out() {
    let cmd = workload_bin();
    let (summary, output) = trace(&["--no-net", "--", cmd.to_str().unwrap(), "tcp-echo", "2", "2", "100"]);
    assert!(output.status.success(), "{output:?}");
    assert!(connections(&summary.text).is_empty(), "{}", summary.text);
    assert_eq!(summary.calls("connect"), 2);
}

#[test]
fn network_keys_are_exported_and_compared() {
    let dir = std::env::temp_dir().join(format!("tracer-net-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (export, prom) = (dir.join("net.json"), dir.join("net.prom"));
    let cmd = workload_bin();
    let (summary, output) = trace(&[
        "--export",
        export.to_str().unwrap(),
        "--prometheus",
        prom.to_str().unwrap(),
        "--",
        cmd.to_str().unwrap(),
        "tcp-echo",
        &CONNS.to_string(),
        &MSGS.to_string(),
        &SIZE.to_string(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    let key = |name: &str| {
        json["keys"].as_array().unwrap().iter().find(|k| k["key"] == name).unwrap_or_else(|| panic!("no key {name}:\n{json:#}")).clone()
    };
    assert_eq!(key("tcp:accept")["calls"], CONNS, "{}", summary.text);
    assert_eq!(key("tcp:connect")["calls"], CONNS);
    assert_eq!(key("tcp:connect")["kind"], "tcp");
    let total = 2 * CONNS * MSGS * SIZE;
    assert_eq!(key("socket:sendto")["bytes"], total);
    assert_eq!(key("socket:recvfrom")["bytes"], total);
    assert_eq!(key("socket:sendto")["kind"], "io");

    let prom = std::fs::read_to_string(&prom).unwrap();
    assert!(prom.contains(&format!("tracer_io_duration_seconds_count{{op=\"tcp:connect\"}} {CONNS}\n")), "{prom}");

    // `--keys %network` compares the socket and TCP keys and the network syscalls, not pipes.
    let out = tracer_tests::tracer()
        .args(["compare", export.to_str().unwrap(), export.to_str().unwrap(), "--keys", "%network", "--min-count", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for name in ["tcp:accept", "tcp:connect", "socket:sendto", "socket:recvfrom", "connect"] {
        assert!(stdout.lines().any(|l| l.starts_with(&format!("{name} "))), "no {name} row:\n{stdout}");
    }
    assert!(!stdout.contains("pipe:") && !stdout.lines().any(|l| l.starts_with("write ")), "{stdout}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_accept_in_progress_at_attach_is_counted() {
    // A server already blocked in accept when tracer attaches, then N connections: strace -c
    // counts N accepts (its attach restarts the call), and so must we, one of them without a
    // latency.
    const N: u64 = 4;
    let mut server = workload().args(["accept", &N.to_string()]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port: u16 = line.trim().strip_prefix("port ").expect("port line").parse().unwrap();
    let pid = server.id();
    wait_until_blocked_in(pid, libc::SYS_accept4);
    let tracer = Attached::start(&["-p", &pid.to_string()]);
    for _ in 0..N {
        TcpStream::connect(("127.0.0.1", port)).unwrap().write_all(b"x").unwrap();
    }
    assert!(server.wait().unwrap().success());
    let (summary, output) = tracer.finish();
    assert!(output.status.success(), "{output:?}");
    let text = &summary.text;
    assert_eq!(summary.calls("accept4"), N, "{text}");
    assert_eq!(summary.in_flight.get("accept4"), Some(&1), "{text}");
    assert_eq!(op_row(text, "accept", "socket")[2], N.to_string(), "{text}");
    assert_eq!(summary.calls("read"), N, "{text}");
    assert_eq!(op_row(text, "read", "socket")[2..4], [N.to_string(), N.to_string()], "{text}");
    // Every connection the server accepted is in the table, the first with an unknown wait.
    let accepted: Vec<Conn> = connections(text).into_iter().filter(|c| c.accepted).collect();
    assert_eq!(accepted.len() as u64, N, "{text}");
    let unknown_waits = text.lines().skip_while(|l| !l.starts_with("TCP connections")).filter(|l| l.split_whitespace().nth(3) == Some("?"));
    assert_eq!(unknown_waits.count(), 1, "{text}");
}

/// A connection's reads and writes are counted in the kernel, in a row of the connection's,
/// from its first call: two tracers attached at once, one with `--events`, see each
/// connection's calls and bytes alike, and its p99 and sizes within the kernel buckets'
/// precision.
#[test]
fn connections_counted_in_the_kernel_agree_with_events() {
    const MSGS: u64 = 3000;
    let workload = Waiting::spawn(&["tcp-echo", "2", &MSGS.to_string(), "512", "300"]);
    let pid = workload.pid().to_string();
    // Without the scheduler's events (two context switches a message), only calls are sent.
    let (counted, sent) = (Attached::start(&["--no-sched", "-p", &pid]), Attached::start(&["--no-sched", "--events", "-p", &pid]));
    workload.go();
    assert!(workload.wait().success());
    let (kernel, events) = (counted.finish().0, sent.finish().0);
    let by_key = |text: &str| -> std::collections::BTreeMap<(String, String), Conn> {
        connections(text).into_iter().map(|c| ((c.local.clone(), c.peer.clone()), c)).collect()
    };
    let (k, e) = (by_key(&kernel.text), by_key(&events.text));
    assert_eq!(k.len(), 4, "{}", kernel.text);
    assert_eq!(k.keys().collect::<Vec<_>>(), e.keys().collect::<Vec<_>>(), "{}\n{}", kernel.text, events.text);
    for (key, c) in &k {
        let other = &e[key];
        assert_eq!((c.calls, c.sent, c.received), (other.calls, other.sent, other.received), "{key:?}\n{}\n{}", kernel.text, events.text);
        assert_eq!((c.sent, c.received), (MSGS * 512, MSGS * 512), "{key:?}\n{}", kernel.text);
        // Within the kernel buckets' 3.2%, HdrHistogram's 1%, and what two tracers' clock reads
        // around the same call may differ by.
        let (p99, e_p99) = (c.p99_ns, other.p99_ns);
        assert!(p99.abs_diff(e_p99) as f64 <= 0.1 * p99.max(e_p99) as f64 + 20_000.0, "{key:?} p99\n{}\n{}", kernel.text, events.text);
        let size = |s: &str| -> Vec<f64> { s.split('/').map(|n| n.parse().unwrap()).collect() };
        for (a, b) in size(&c.sizes).iter().zip(size(&other.sizes)) {
            assert!((a - b).abs() <= 0.045 * a.max(b), "{key:?} sizes {} against {}\n{}\n{}", c.sizes, other.sizes, kernel.text, events.text);
        }
    }
    // The connections' calls were counted, not sent.
    assert!(kernel.received * 4 < events.received && events.received > 4 * MSGS * 2, "{}\n{}", kernel.text, events.text);
    for (op, kind) in [("sendto", "socket"), ("recvfrom", "socket")] {
        let (ko, eo) = (op_row(&kernel.text, op, kind), op_row(&events.text, op, kind));
        assert_eq!((ko[2], ko[3]), (eo[2], eo[3]), "{op}\n{}\n{}", kernel.text, events.text);
    }
}

/// Reads that would block (EAGAIN), which event loops make by the thousand, are counted in the
/// kernel by their fd's kind as other reads are, their errno in their syscall's row, and on a
/// TCP connection in its row: the calls, errors and bytes the events give, with no record each,
/// nor one for a Unix socket, which has no connection for the reader to learn of.
#[test]
fn reads_that_would_block_counted_in_the_kernel_agree_with_events() {
    const FAILED: u64 = 1000;
    const OK: u64 = 100;
    let workload = Waiting::spawn(&["would-block", &FAILED.to_string(), &OK.to_string()]);
    let pid = workload.pid().to_string();
    let dir = std::env::temp_dir().join(format!("tracer-would-block-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exports = [dir.join("kernel.json"), dir.join("events.json")];
    let export = |i: usize| exports[i].to_str().unwrap().to_string();
    let (counted, sent) = (
        Attached::start(&["--no-sched", "--export", &export(0), "-p", &pid]),
        Attached::start(&["--no-sched", "--events", "--export", &export(1), "-p", &pid]),
    );
    workload.go();
    assert!(workload.wait().success());
    let (kernel, events) = (counted.finish().0, sent.finish().0);
    let texts = format!("{}\n{}", kernel.text, events.text);
    // The I/O rows' errors, which the export gives (the summary does not print them).
    for path in &exports {
        let value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let key = |name: &str| value["keys"].as_array().unwrap().iter().find(|k| k["key"] == name).unwrap_or_else(|| panic!("{name} in {}", path.display())).clone();
        for (name, calls, errors) in [("pipe:read", FAILED + OK, FAILED), ("socket:recvfrom", 2 * (FAILED + OK), 2 * FAILED)] {
            let key = key(name);
            assert_eq!((key["calls"].as_u64(), key["errors"].as_u64()), (Some(calls), Some(errors)), "{name} in {}\n{texts}", path.display());
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
    // Each failed read was a record of its own before: 3,000.
    assert!(kernel.received < 50 && events.received > 3 * FAILED, "{texts}");
    for summary in [&kernel, &events] {
        let text = &summary.text;
        // (syscall, fd kind, calls, bytes, errors): a pipe's reads, then a Unix socket's and a
        // TCP connection's.
        for (op, kind, calls, bytes, errors) in [("read", "pipe", FAILED + OK, 16 * OK, FAILED), ("recvfrom", "socket", 2 * (FAILED + OK), 32 * OK, 2 * FAILED)] {
            assert_eq!(op_row(text, op, kind)[2..4], [calls.to_string(), bytes.to_string()], "{op} {kind}\n{text}");
            // Every size the successful reads', none the failures'.
            assert_eq!(op_row(text, op, kind)[7..], ["16", "16"], "{op} {kind}\n{text}");
            assert_eq!((summary.row(op).calls, summary.row(op).errors), (calls, errors), "{op}\n{text}");
            assert_eq!(summary.errnos.get(&(op.to_string(), "EAGAIN".to_string())), Some(&errors), "{op}\n{text}");
        }
    }
    assert_eq!(kernel.errnos, events.errnos, "{texts}");
    // The client's side reads, the server's side writes: the sizes are the successful calls'.
    let by_calls = |text: &str| -> Vec<(u64, u64, u64, String)> {
        let mut rows: Vec<_> = connections(text).iter().map(|c| (c.calls, c.sent, c.received, c.sizes.clone())).collect();
        rows.sort();
        rows
    };
    let expected = [(OK, 16 * OK, 0, "16/0".to_string()), (FAILED + OK, 0, 16 * OK, "0/16".to_string())];
    assert_eq!(by_calls(&kernel.text), expected, "{texts}");
    assert_eq!(by_calls(&kernel.text), by_calls(&events.text), "{texts}");
}

/// Connections that live a few milliseconds, fewer than the kernel has rows for: every read
/// and write is counted in the kernel, in its connection's row, from the connection's first
/// call (not once the reader has seen it), so are the accepts and closes, and each
/// connection's figures are exact.
#[test]
fn short_connections_are_counted_in_the_kernel_from_their_first_call() {
    const CONNS: u64 = 200;
    let cmd = workload_bin();
    let (summary, output) = trace(&["--no-sched", "--", cmd.to_str().unwrap(), "tcp-echo", &CONNS.to_string(), "3", "100"]);
    assert!(output.status.success(), "{output:?}");
    let text = &summary.text;
    let io_calls = summary.calls("sendto") + summary.calls("recvfrom");
    assert_eq!(io_calls, CONNS * 14, "{text}");
    assert!(summary.kernel_calls >= io_calls, "{} calls counted in the kernel, {io_calls} reads and writes\n{text}", summary.kernel_calls);
    // The accepts, sockets and closes too: what reaches the reader is a few records a
    // connection, not one a call (19): its connect's, its accepted socket's (with the accept's
    // wait), the client's first write's (which takes the connection's row), and the client's
    // last read, after the kernel saw the connection close, with its socket's. Not the socket
    // again at every close of another fd.
    assert!(summary.received < 6 * CONNS, "{} records for {CONNS} connections\n{text}", summary.received);
    assert!(text.contains(&format!("TCP connections, most time in syscalls first ({} in all)", 2 * CONNS)), "{text}");
    // The busiest first: a connection short of calls or given another's would show here.
    for c in connections(text) {
        assert_eq!((c.calls, c.sent, c.received), (7, 300, 300), "{c:?}\n{text}");
    }
}

/// Short connections, one after the other, many closed before the reader could follow them
/// and their socket addresses reused by the next: each connection keeps its own figures (none
/// gets a later one's calls), and those not followed one by one are counted once each, counted
/// in the kernel or with every call an event (whose sockets are named again after every close).
#[test]
fn short_connections_keep_their_own_figures() {
    const CONNS: u64 = 1500;
    let cmd = workload_bin();
    let conns = CONNS.to_string();
    for events in [&[][..], &["--events"]] {
        let mut args = events.to_vec();
        args.extend(["--", cmd.to_str().unwrap(), "tcp-echo", &conns, "3", "100"]);
        short_connections_figures(CONNS, &trace(&args));
    }
}

/// Past the connections the reader follows one by one, a connection needs no record: its
/// connect's time and its accept's wait, its reads and writes are counted in the kernel, by
/// operation, and the connection itself as seen. Each connection pauses, so that most come
/// after the reader has told the kernel it follows no more.
#[test]
fn connections_past_the_followed_ones_send_no_records() {
    const CONNS: u64 = 2000;
    let cmd = workload_bin();
    let traced = trace(&["--no-sched", "--", cmd.to_str().unwrap(), "tcp-echo", &CONNS.to_string(), "3", "100", "1"]);
    short_connections_figures(CONNS, &traced);
    let (summary, text) = (&traced.0, &traced.0.text);
    let followed = tracer::model::net::MAX_CONNECTIONS as u64;
    for op in ["accept", "connect"] {
        assert_eq!(op_row(text, op, "socket")[2], CONNS.to_string(), "{op}\n{text}");
    }
    // The followed ones' records (about 5 a connection, both sides followed: 2,560), and those
    // of the tenth of a second before the kernel is told. A connect record a connection after
    // them would be 1,488 more; each side's socket record, 2 more.
    assert!(summary.received < 3 * followed, "{} records for {CONNS} connections\n{text}", summary.received);
}

/// `conns` short connections' figures, each side of each: the counts of those followed one by
/// one and not, and each one's bytes.
fn short_connections_figures(conns: u64, (summary, output): &(tracer_tests::Summary, std::process::Output)) {
    assert!(output.status.success(), "{output:?}");
    let text = &summary.text;
    let followed = (tracer::model::net::MAX_CONNECTIONS as u64).min(2 * conns);
    assert!(text.contains(&format!("TCP connections, most time in syscalls first ({followed} in all)")), "{text}");
    // Those followed and those not add up to the connections there were: each side of each.
    assert!(text.contains(&format!("(and {} more not followed one by one", 2 * conns - followed)), "{text}");
    // The busiest first: a connection given another's calls would lead the table.
    for c in connections(text) {
        assert_eq!((c.sent, c.received), (300, 300), "{c:?}\n{text}");
    }
    for op in ["sendto", "recvfrom"] {
        assert_eq!(op_row(text, op, "socket")[3], (2 * conns * 300).to_string(), "{text}");
    }
}
