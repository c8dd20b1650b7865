//! Network and I/O view of the syscall events: read/write latency by what the fd is (socket,
//! pipe, file), and per TCP connection: addresses, accept and connect latency, bytes, time.
//!
//! Sockets are known exactly from the kernel (which socket a syscall used, and its addresses at
//! that moment). Other fds are resolved once through `/proc/PID/fd` and forgotten when closed.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

// The reader looks up every read and write here: a fast hash, not a DoS-resistant one.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use hdrhistogram::Histogram;
use tracer_common::net::SockTuple;

use crate::{
    host::Host,
    syscalls::{self, selection::Selection},
};

use crate::syscalls::fd_class::{class, classes, kind_of_kernel, Direction, FdKind, FD_KINDS, KINDS};
use super::{
    histogram::{new_coarse_histogram, new_histogram, record_connection_buckets, record_kernel_buckets, record_kernel_sizes, record_value, size_at_quantile},
};
use crate::kernel::{
    connection_counts::ConnectionDelta,
    event::{SocketRecord, SyscallRecord},
    kernel_counts::KernelIo,
};

/// Latency and bytes of one kind of operation (`read` on a socket, `write` on a pipe, ...).
#[derive(Clone, Debug)]
pub struct OpStats {
    pub latency: Histogram<u64>,
    pub total_ns: u64,
    pub errors: u64,
    pub bytes: u64,
    /// Bytes moved per successful call.
    pub sizes: Histogram<u64>,
    /// The smallest and largest of those sizes (`None` before the first).
    pub size_range: Option<(u64, u64)>,
    /// Calls of unknown latency (in progress when tracing began): not in `latency`.
    pub untimed: u64,
}

impl OpStats {
    fn new() -> Self {
        Self { latency: new_histogram(), total_ns: 0, errors: 0, bytes: 0, sizes: new_histogram(), size_range: None, untimed: 0 }
    }

    fn widen_sizes(&mut self, min: u64, max: u64) {
        let (low, high) = self.size_range.unwrap_or((min, max));
        self.size_range = Some((low.min(min), high.max(max)));
    }

    /// The size at quantile `q`: see [`size_at_quantile`].
    pub fn size_at(&self, q: f64) -> u64 {
        let (min, max) = self.size_range.unwrap_or_default();
        size_at_quantile(&self.sizes, q, min, max)
    }

    /// Every call, timed or not.
    pub fn calls(&self) -> u64 {
        self.latency.len() + self.untimed
    }

    fn record_call(&mut self, duration: Option<u64>) {
        match duration {
            Some(ns) => self.record_latency(ns),
            None => self.untimed += 1,
        }
    }

    fn record_latency(&mut self, ns: u64) {
        record_value(&mut self.latency, ns);
        self.total_ns += ns;
    }

    /// What happened between `before` and `self`, two since-start states of the same figures;
    /// all of `self` when the totals were reset in between.
    fn since(&self, before: &OpStats) -> OpStats {
        let mut interval = self.clone();
        let shrunk = self.latency.len() < before.latency.len()
            || self.total_ns < before.total_ns
            || self.errors < before.errors
            || self.untimed < before.untimed;
        if shrunk || interval.latency.subtract(&before.latency).is_err() {
            return self.clone();
        }
        interval.total_ns -= before.total_ns;
        interval.errors -= before.errors;
        interval.untimed -= before.untimed;
        interval
    }
}

/// One network or I/O figure under the stable name that exports, `compare --keys` and the
/// live view use: `socket:read`, `pipe:write`, `file:pread64`, `tcp:accept`, `tcp:connect`.
pub struct NetKey<'a> {
    pub key: String,
    pub stats: &'a OpStats,
    /// Whether bytes mean anything (read/write family; not accept or connect).
    pub moves_bytes: bool,
}

/// Last-interval figures of the network/I/O keys. The aggregator keeps these since the start
/// only (each event is recorded once, on the reader's hot path); an interval's figures are the
/// difference from the totals the previous interval saw.
#[derive(Default)]
pub struct NetIntervals {
    previous: HashMap<String, OpStats>,
}

impl NetIntervals {
    /// Every key with its figures since the previous call.
    pub fn next<'a>(&mut self, net: &'a NetStats) -> Vec<(NetKey<'a>, OpStats)> {
        let keys = net.keys();
        let mut seen = HashMap::default();
        let intervals = keys
            .into_iter()
            .map(|key| {
                let interval = match self.previous.get(&key.key) {
                    Some(previous) => key.stats.since(previous),
                    None => key.stats.clone(),
                };
                seen.insert(key.key.clone(), key.stats.clone());
                (key, interval)
            })
            .collect();
        self.previous = seen;
        intervals
    }
}

/// What `tcp:accept` and `tcp:connect` measure, for the tables that show them.
pub const ACCEPT_MEANS: &str = "waiting in accept";
pub const CONNECT_MEANS: &str = "SYN sent to established";

/// One TCP connection of a traced process, from the first time its socket was seen.
#[derive(Clone, Debug)]
pub struct Connection {
    pub tgid: u32,
    pub tuple: SockTuple,
    /// A traced `accept` returned it.
    pub accepted: bool,
    /// How long that accept waited (unknown when it was in progress when tracing began).
    pub accept_ns: Option<u64>,
    /// SYN sent until established.
    pub connect_ns: Option<u64>,
    pub sent: u64,
    pub received: u64,
    /// Bytes per successful send and receive call.
    pub sent_sizes: Histogram<u64>,
    pub received_sizes: Histogram<u64>,
    /// Latency of the syscalls on it.
    pub latency: Histogram<u64>,
    pub total_ns: u64,
    /// Syscalls on it of unknown latency (in progress when tracing began).
    pub untimed: u64,
}

impl Connection {
    fn new(tgid: u32, tuple: SockTuple) -> Self {
        Self {
            tgid,
            tuple,
            accepted: false,
            accept_ns: None,
            connect_ns: None,
            sent: 0,
            received: 0,
            sent_sizes: new_coarse_histogram(),
            received_sizes: new_coarse_histogram(),
            latency: new_coarse_histogram(),
            total_ns: 0,
            untimed: 0,
        }
    }

    /// Every syscall on it, timed or not.
    pub fn calls(&self) -> u64 {
        self.latency.len() + self.untimed
    }

    pub fn local(&self) -> SocketAddr {
        SocketAddr::new(address(self.tuple.family, &self.tuple.saddr), self.tuple.sport)
    }

    pub fn peer(&self) -> SocketAddr {
        SocketAddr::new(address(self.tuple.family, &self.tuple.daddr), self.tuple.dport)
    }
}

fn address(family: u16, bytes: &[u8; 16]) -> IpAddr {
    const AF_INET6: u16 = 10;
    if family == AF_INET6 {
        IpAddr::V6(Ipv6Addr::from(*bytes))
    } else {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    }
}

/// Connections followed one by one (each has three histograms, of 2 significant digits, about
/// 25 KiB each): a bound for long traces of busy servers, as many as the kernel has rows for.
pub const MAX_CONNECTIONS: usize = tracer_common::connections::CONN_ROWS as usize;

#[derive(Clone, Debug, Default)]
pub struct NetStats {
    /// Figures by syscall number and what the fd is (index `nr * 4 + kind`): no hashing.
    ops: Vec<Option<OpStats>>,
    /// How long each successful `accept` waited.
    pub accepts: Option<OpStats>,
    /// SYN sent until established, per connection this process started.
    pub connects: Option<OpStats>,
    pub connections: Vec<Connection>,
    /// Connections past [`MAX_CONNECTIONS`]: not followed one by one (see
    /// [`NetStats::connections_seen`]).
    pub untracked_connections: u64,
    /// The connection each live socket belongs to (a socket address is reused after close).
    by_socket: HashMap<u64, usize>,
    /// What each (process, fd) is, and for a TCP socket its connection. One map, one lookup
    /// per read or write.
    fds: HashMap<(u32, i32), FdEntry>,
    /// Accepted fds whose socket is not known yet: how long the accept waited.
    pending_accepts: HashMap<(u32, i32), Option<u64>>,
    /// Paths of files opened by calls seen whole (`--slow`), for naming their fds.
    paths: HashMap<(u32, i32), String>,
    /// Kernel counting rows taken since the last look: (row, socket, connection if followed one
    /// by one), for the reader to know whose figures a row holds.
    rows_taken: Vec<(u32, u64, Option<usize>)>,
    /// The syscalls `-e` selected: others (the fd lifecycle calls the kernel adds, connects
    /// seen by the TCP state tracepoint) only serve to follow fds, and show nowhere.
    shown: Selection,
    /// What /proc says of fds.
    host: Host,
}

#[derive(Clone, Copy, Debug)]
struct FdEntry {
    kind: FdKind,
    /// For a TCP socket, its connection (other sockets have no recorded addresses).
    connection: Option<usize>,
    /// Entry time of the latest syscall that named this socket. A close that started after it
    /// ends the entry; one that started before it is an older close (of the fd's previous
    /// socket, in another thread) whose event arrived late.
    since_ns: u64,
}

impl NetStats {
    /// Figures for the syscalls `shown` selects.
    pub fn new(shown: Selection) -> Self {
        Self { shown, ..Self::default() }
    }

    fn shows(&self, nr: u32) -> bool {
        self.shown.shows(nr)
    }

    /// Figures by (syscall name, fd kind), sorted.
    pub fn ops(&self) -> Vec<((&'static str, FdKind), &OpStats)> {
        let mut ops: Vec<_> = self
            .ops
            .iter()
            .enumerate()
            .filter_map(|(index, op)| {
                let name = classes().get(index / FD_KINDS)?.name;
                Some(((name, KINDS[index % FD_KINDS]), op.as_ref()?))
            })
            .collect();
        ops.sort_by(|a, b| a.0.cmp(&b.0));
        ops
    }

    /// Every figure under its stable name, sorted by name.
    pub fn keys(&self) -> Vec<NetKey<'_>> {
        let mut keys: Vec<NetKey> = self
            .ops()
            .into_iter()
            .map(|((name, kind), stats)| NetKey { key: format!("{kind}:{name}"), stats, moves_bytes: true })
            .collect();
        for (key, stats) in [("tcp:accept", &self.accepts), ("tcp:connect", &self.connects)] {
            if let Some(stats) = stats {
                keys.push(NetKey { key: key.to_string(), stats, moves_bytes: false });
            }
        }
        keys.sort_by(|a, b| a.key.cmp(&b.key));
        keys
    }

    pub fn is_empty(&self) -> bool {
        self.ops.iter().all(Option::is_none) && self.accepts.is_none() && self.connects.is_none()
    }

    /// A syscall used socket `rec.sk` through `rec.fd` (the kernel sends this before the
    /// syscall's own event).
    pub fn on_socket(&mut self, rec: &SocketRecord) {
        let since_ns = rec.latency_ns;
        if rec.tuple.family == 0 {
            self.fds.insert((rec.tgid, rec.fd), FdEntry { kind: FdKind::Socket, connection: None, since_ns });
            return;
        }
        let id = self.connection_for(rec.tgid, rec.sk, &rec.tuple);
        self.fds.insert((rec.tgid, rec.fd), FdEntry { kind: FdKind::Socket, connection: id, since_ns });
        if let Some(id) = id {
            // Its row is the process's that uses it last (a server's worker, not the acceptor).
            self.connections[id].tgid = rec.tgid;
        }
        if let Some(row) = rec.row {
            self.rows_taken.push((row, rec.sk, id));
        }
        // An accept counted in the kernel: its wait comes with the socket it made.
        if let Some((nr, wait_ns)) = rec.accept {
            if self.shows(nr) {
                self.accepts.get_or_insert_with(OpStats::new).record_call(Some(wait_ns));
            }
            if let Some(connection) = id.map(|id| &mut self.connections[id]) {
                if !connection.accepted {
                    (connection.accepted, connection.accept_ns) = (true, Some(wait_ns));
                }
            }
        }
        if let Some(accept_ns) = self.pending_accepts.remove(&(rec.tgid, rec.fd)) {
            if let Some(connection) = id.map(|id| &mut self.connections[id]) {
                if !connection.accepted {
                    (connection.accepted, connection.accept_ns) = (true, accept_ns);
                }
            }
        }
    }

    pub fn on_connect(&mut self, rec: &SocketRecord) {
        if !syscalls::number("connect").is_some_and(|connect| self.shows(connect)) {
            return;
        }
        self.connects.get_or_insert_with(OpStats::new).record_latency(rec.latency_ns);
        if let Some(id) = self.connection_for(rec.tgid, rec.sk, &rec.tuple) {
            self.connections[id].connect_ns = Some(rec.latency_ns);
        }
    }

    /// The connection of socket `sk`: the known one if the addresses agree (a connect's
    /// socket has no local port until the SYN is sent), else a new one; `None` past
    /// [`MAX_CONNECTIONS`] (its I/O still counts by fd kind).
    fn connection_for(&mut self, tgid: u32, sk: u64, tuple: &SockTuple) -> Option<usize> {
        if let Some(&id) = self.by_socket.get(&sk) {
            let known = &mut self.connections[id].tuple;
            let same_peer = known.family == tuple.family && known.daddr == tuple.daddr && known.dport == tuple.dport;
            let same_connection = known.generation == tuple.generation || known.generation == 0 || tuple.generation == 0;
            if same_peer && same_connection && (known.sport == tuple.sport || known.sport == 0 || tuple.sport == 0) {
                if known.sport == 0 {
                    *known = *tuple;
                }
                return Some(id);
            }
        }
        if self.follows_no_more() {
            return None;
        }
        self.connections.push(Connection::new(tgid, *tuple));
        let id = self.connections.len() - 1;
        self.by_socket.insert(sk, id);
        Some(id)
    }

    /// Forgets the fds of processes that have exited (an exit closes them without a close
    /// syscall), so that a long trace of many short-lived processes stays bounded.
    pub fn forget_exited(&mut self) {
        let tgids: std::collections::BTreeSet<u32> =
            self.fds.keys().chain(self.pending_accepts.keys()).chain(self.paths.keys()).map(|&(tgid, _)| tgid).collect();
        for tgid in tgids.into_iter().filter(|&tgid| !self.host.exists(tgid)) {
            self.fds.retain(|&(t, _), _| t != tgid);
            self.pending_accepts.retain(|&(t, _), _| t != tgid);
            self.paths.retain(|&(t, _), _| t != tgid);
        }
    }

    /// Forgets the figures (the live view's `r`) but not what each fd is: the kernel does not
    /// name a socket again while its thread keeps using it.
    pub fn reset_figures(&mut self) {
        self.ops.clear();
        self.accepts = None;
        self.connects = None;
        for connection in &mut self.connections {
            *connection = Connection::new(connection.tgid, connection.tuple);
        }
    }

    /// Classifies every fd `tgid` has now, from `/proc`: fds it had before it was traced (a
    /// spawned command's stdout, say) are then known even if the process has exited by the
    /// time the reader sees them used. Sockets are left as they are: the kernel names those.
    pub fn learn_fds(&mut self, tgid: u32) {
        let Some(open) = self.host.open_fds(tgid) else { return };
        let open: HashSet<i32> = open.into_iter().collect();
        // A socket still open keeps what the kernel said of it; anything else is looked at anew.
        self.fds.retain(|&(owner, fd), entry| owner != tgid || (entry.kind == FdKind::Socket && open.contains(&fd)));
        self.paths.retain(|&(owner, fd), _| owner != tgid || open.contains(&fd));
        // A socket the kernel named keeps its entry; only the others are looked up.
        for fd in open {
            if self.fds.contains_key(&(tgid, fd)) {
                continue;
            }
            let kind = self.resolve_fd(tgid, fd, false);
            self.fds.insert((tgid, fd), FdEntry { kind, connection: None, since_ns: 0 });
        }
    }

    /// A syscall's event. One of unknown latency (in flight when tracing began) counts as a
    /// call and moves its bytes, but adds no time.
    pub fn on_syscall(&mut self, rec: &SyscallRecord) {
        if !rec.returned {
            return;
        }
        let duration = rec.duration_ns;
        let Some(class) = classes().get(rec.nr as usize) else { return };
        if class.exec && rec.ret == 0 {
            // Close-on-exec fds closed without a close event: look again.
            self.learn_fds(rec.tgid);
            return;
        }
        let fd = rec.arg0 as i32;
        if rec.ret >= 0 && class.returns_fd {
            // What was known of the number is stale, unless this very call named it (the
            // socket of an accepted fd, sent just before the accept).
            let named_by_this_call = self.fds.get(&(rec.tgid, rec.ret as i32)).is_some_and(|e| e.since_ns >= rec.start_ns);
            if !named_by_this_call {
                self.forget_fd(rec.tgid, rec.ret as i32);
            }
            if class.opens_path {
                // Known now, even if the fd is closed before anyone could look in /proc. A
                // close of the number's previous file ended before this open did.
                let since_ns = rec.start_ns + duration.unwrap_or(0);
                self.fds.insert((rec.tgid, rec.ret as i32), FdEntry { kind: FdKind::File, connection: None, since_ns });
            }
        }
        if class.accept && rec.ret >= 0 {
            if self.shows(rec.nr) {
                self.accepts.get_or_insert_with(OpStats::new).record_call(duration);
            }
            // The kernel named the accepted fd's socket just before: the wait is its
            // connection's, whichever process (a forked worker) goes on to use it.
            let connection = self.fds.get(&(rec.tgid, rec.ret as i32)).and_then(|entry| entry.connection);
            match connection.map(|id| &mut self.connections[id]) {
                Some(connection) if !connection.accepted => (connection.accepted, connection.accept_ns) = (true, duration),
                Some(_) => {}
                None => {
                    self.pending_accepts.insert((rec.tgid, rec.ret as i32), duration);
                }
            }
        }
        if class.close && rec.ret == 0 {
            // The fd is free from inside the close, before its event is written: another
            // thread may already have a new socket on it, named by an earlier-arriving event.
            let newer = self.fds.get(&(rec.tgid, fd)).is_some_and(|e| e.since_ns > rec.start_ns);
            if !newer {
                self.forget_fd(rec.tgid, fd);
            }
        }
        if class.close_range && rec.ret == 0 {
            // close_range(first, last, flags): the last bound is not in the event; forget every
            // fd from the first on, to be looked at anew when next used.
            let freed = |&(owner, other): &(u32, i32)| owner == rec.tgid && other >= fd;
            self.fds.retain(|key, _| !freed(key));
            self.pending_accepts.retain(|key, _| !freed(key));
            self.paths.retain(|key, _| !freed(key));
        }
        let Some(direction) = class.direction else { return };
        // What the kernel saw the fd was, but for sockets, which it names with their
        // connection; else what is known of the fd, or /proc's word (for an fd first seen in a
        // call already in progress at attach, even a socket: the kernel could not name it).
        let (connection, kind) = match rec.fd_kind.map(kind_of_kernel).filter(|&kind| kind != FdKind::Socket) {
            Some(kind) => {
                self.fds
                    .entry((rec.tgid, fd))
                    .and_modify(|entry| (entry.kind, entry.connection) = (kind, None))
                    .or_insert(FdEntry { kind, connection: None, since_ns: 0 });
                (None, kind)
            }
            None => self.fd_info(rec.tgid, fd, duration.is_none()),
        };
        let bytes = rec.ret.max(0) as u64;
        let op = self.op_mut(rec.nr, kind);
        op.record_call(duration);
        op.bytes += bytes;
        let succeeded = rec.ret >= 0;
        if succeeded {
            record_value(&mut op.sizes, bytes);
            op.widen_sizes(bytes, bytes);
        } else {
            op.errors += 1;
        }
        if let Some(id) = connection {
            let c = &mut self.connections[id];
            match duration {
                Some(ns) => {
                    record_value(&mut c.latency, ns);
                    c.total_ns += ns;
                }
                None => c.untimed += 1,
            }
            let (total, sizes) = match direction {
                Direction::Send => (&mut c.sent, &mut c.sent_sizes),
                Direction::Receive => (&mut c.received, &mut c.received_sizes),
            };
            *total += bytes;
            if succeeded {
                record_value(sizes, bytes);
            }
        }
    }

    /// The figures of syscall `nr` on fds of `kind`, made at first use.
    fn op_mut(&mut self, nr: u32, kind: FdKind) -> &mut OpStats {
        let index = nr as usize * FD_KINDS + kind as usize;
        if self.ops.len() <= index {
            self.ops.resize(index + 1, None);
        }
        self.ops[index].get_or_insert_with(OpStats::new)
    }

    /// The kernel saw traced threads use `seen` TCP connections, each counted once however
    /// often records name it (its connect, its accept, each thread's uses, again after any
    /// close): those not followed one by one are the rest.
    pub fn connections_seen(&mut self, seen: u64) {
        self.untracked_connections = seen.saturating_sub(self.connections.len() as u64);
    }

    /// Whether no more connections will be followed one by one.
    pub fn follows_no_more(&self) -> bool {
        self.connections.len() >= MAX_CONNECTIONS
    }

    /// (row, socket, connection) taken since the last call.
    pub fn take_rows_taken(&mut self) -> Vec<(u32, u64, Option<usize>)> {
        std::mem::take(&mut self.rows_taken)
    }

    /// A TCP connection's calls the kernel counted: each histogram bucket at its middle (within
    /// 3.2% of every value in it).
    pub fn record_kernel_connection(&mut self, delta: &ConnectionDelta) {
        let Some(c) = self.connections.get_mut(delta.connection) else { return };
        c.total_ns += delta.total_ns;
        c.sent += delta.sent;
        c.received += delta.received;
        for (histogram, buckets) in [(&mut c.latency, &delta.latency), (&mut c.sent_sizes, &delta.sent_sizes), (&mut c.received_sizes, &delta.received_sizes)] {
            record_connection_buckets(histogram, buckets);
        }
    }

    /// Reads and writes the kernel counted on fds of one kind (of sockets: by operation; a
    /// connection's are in [`NetStats::record_kernel_connection`]).
    pub fn record_kernel_io(&mut self, io: &KernelIo) {
        let (accept, connect) = (class(io.nr).accept, class(io.nr).connect);
        if accept || connect {
            // Waits in accept, and SYN-to-established times, of connections not followed one
            // by one.
            if self.shows(io.nr) {
                let stats = if accept { &mut self.accepts } else { &mut self.connects };
                let stats = stats.get_or_insert_with(OpStats::new);
                stats.total_ns += io.totals.total_ns;
                record_kernel_buckets(&mut stats.latency, &io.latency, Some(io.totals.max_ns));
            }
            return;
        }
        let op = self.op_mut(io.nr, kind_of_kernel(io.kind));
        op.total_ns += io.totals.total_ns;
        op.bytes += io.totals.bytes;
        op.errors += io.totals.errors;
        record_kernel_buckets(&mut op.latency, &io.latency, Some(io.totals.max_ns));
        record_kernel_sizes(&mut op.sizes, &io.bytes);
        if io.totals.succeeded() > 0 {
            op.widen_sizes(io.totals.min_bytes, io.totals.max_bytes);
        }
    }

    /// What fd `fd` of `tgid` is, as strace -y shows it: `socket 10.0.0.2:5432` (its peer),
    /// `socket`, `pipe`, or a file's path (looked up now, so it is the path while the fd is open).
    pub fn describe_fd(&self, tgid: u32, fd: i32) -> Option<String> {
        if fd < 0 {
            return None;
        }
        match self.fds.get(&(tgid, fd)) {
            Some(FdEntry { connection: Some(id), .. }) => return Some(format!("socket {}", self.connections[*id].peer())),
            Some(FdEntry { kind: FdKind::Socket, .. }) => return Some("socket".into()),
            Some(FdEntry { kind: FdKind::Pipe, .. }) => return Some("pipe".into()),
            _ => {}
        }
        if let Some(path) = self.paths.get(&(tgid, fd)) {
            return Some(path.clone());
        }
        let known_file = self.fds.get(&(tgid, fd)).is_some_and(|e| e.kind == FdKind::File);
        let (kind, target) = self.fd_link(tgid, fd)?;
        Some(match kind {
            // /proc looked too late: the number is something else now.
            _ if known_file && kind != FdKind::File => "file".into(),
            FdKind::Pipe | FdKind::Socket => kind.name().into(),
            FdKind::File | FdKind::Other => target, // a path, or anon_inode:[eventfd] and kin
        })
    }

    /// The connection (if a TCP socket) and kind of an fd; a non-socket fd is resolved once.
    fn fd_info(&mut self, tgid: u32, fd: i32, socket_from_proc: bool) -> (Option<usize>, FdKind) {
        let entry = match self.fds.get(&(tgid, fd)) {
            Some(entry) => *entry,
            None => {
                let entry = FdEntry { kind: self.resolve_fd(tgid, fd, socket_from_proc), connection: None, since_ns: 0 };
                *self.fds.entry((tgid, fd)).or_insert(entry)
            }
        };
        (entry.connection, entry.kind)
    }

    /// The fd was closed or now names something new: forget what it was, including an accept
    /// whose connection never did I/O (else a later socket on that fd would inherit its wait).
    fn forget_fd(&mut self, tgid: u32, fd: i32) {
        self.fds.remove(&(tgid, fd));
        self.pending_accepts.remove(&(tgid, fd));
        self.paths.remove(&(tgid, fd));
    }

    /// A call seen whole opened `path` as `fd` (call before its event is recorded, which
    /// would otherwise forget the fd's previous name after this one).
    pub fn name_fd(&mut self, tgid: u32, fd: i32, path: String) {
        self.paths.insert((tgid, fd), path);
    }

    /// What a non-socket fd `fd` of process `tgid` is, from `/proc`. The reader sees events a
    /// little after they happen, so an fd closed meanwhile is unknown ("other"), and one reused
    /// since is misread; sockets never are, the kernel names them. A socket found here without the
    /// kernel having named it is such a reused fd: "other", unless `socket_from_proc` (the kernel
    /// could not have named it).
    fn resolve_fd(&self, tgid: u32, fd: i32, socket_from_proc: bool) -> FdKind {
        match self.fd_link(tgid, fd) {
            Some((FdKind::Socket, _)) if !socket_from_proc => FdKind::Other,
            Some((kind, _)) => kind,
            None => FdKind::Other,
        }
    }

    /// What `/proc/PID/fd/FD` says fd `fd` of `tgid` is, and the link itself; `None` once it is
    /// closed or the process is gone.
    fn fd_link(&self, tgid: u32, fd: i32) -> Option<(FdKind, String)> {
        let target = self.host.fd_target(tgid, fd)?;
        let kind = if target.starts_with("pipe:") {
            FdKind::Pipe
        } else if target.starts_with("socket:") {
            FdKind::Socket
        } else if target.starts_with('/') {
            FdKind::File
        } else {
            FdKind::Other
        };
        Some((kind, target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls;

    fn syscall(name: &str, fd: u64, ret: i64, ns: u64) -> SyscallRecord {
        SyscallRecord {
            nr: syscalls::number(name).unwrap(),
            tgid: 1,
            tid: 1,
            start_ns: 0,
            duration_ns: Some(ns),
            returned: true,
            ret,
            arg0: fd,
            blocked_ns: 0,
            runq_ns: 0,
            fd_kind: None,
        }
    }

    fn tuple(sport: u16, dport: u16) -> SockTuple {
        SockTuple { family: 2, sport, dport, saddr: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], daddr: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], generation: 0 }
    }

    fn socket(fd: i32, sk: u64, t: SockTuple) -> SocketRecord {
        SocketRecord { tgid: 1, tid: 1, fd, sk, latency_ns: 0, tuple: t, row: None, accept: None }
    }

    /// A process that accepted a connection on fd 5 (socket 0xaa, peer port 40000) after
    /// waiting 1000 ns, and read 100 bytes from it.
    fn accepted_and_read() -> NetStats {
        let mut net = NetStats::default();
        net.on_syscall(&syscall("accept4", 3, 5, 1000));
        net.on_socket(&socket(5, 0xaa, tuple(8080, 40000)));
        net.on_syscall(&syscall("read", 5, 100, 50));
        net
    }

    #[test]
    fn accepted_connection_gets_its_accept_latency_bytes_and_addresses() {
        let mut net = accepted_and_read();
        net.on_syscall(&syscall("write", 5, 100, 70));
        assert_eq!(net.connections.len(), 1);
        let c = &net.connections[0];
        assert_eq!((c.accept_ns, c.sent, c.received, c.total_ns), (Some(1000), 100, 100, 120));
        // In the bucket of 100 (1 significant digit: [96, 104)).
        assert_eq!(c.sent_sizes.len(), 1);
        assert!(c.received_sizes.equivalent(c.received_sizes.max(), 100));
        assert_eq!(c.peer().to_string(), "127.0.0.1:40000");
        assert_eq!(c.local().port(), 8080);
        assert!(net.ops().iter().any(|((name, kind), op)| *name == "read" && *kind == FdKind::Socket && op.bytes == 100));
        assert_eq!(net.accepts.as_ref().unwrap().latency.len(), 1);

        // Closed, and the socket address reused for another peer: a new connection.
        net.on_syscall(&syscall("close", 5, 0, 10));
        net.on_socket(&socket(5, 0xaa, tuple(8080, 40001)));
        assert_eq!(net.connections.len(), 2);
    }

    #[test]
    fn connections_past_the_followed_ones_are_the_kernels_count_less_those() {
        let mut net = NetStats::default();
        for i in 0..MAX_CONNECTIONS as u64 {
            net.on_socket(&socket(3, 0x1000 + i * 64, tuple(20000 + i as u16, 80)));
        }
        // Named again and again: followed no more, counted by the kernel only.
        for _ in 0..5 {
            net.on_socket(&socket(4, 0x100_0000, tuple(50000, 80)));
        }
        assert_eq!(net.connections.len(), MAX_CONNECTIONS);
        net.connections_seen(MAX_CONNECTIONS as u64 + 2);
        assert_eq!(net.untracked_connections, 2);
    }

    #[test]
    fn a_late_close_of_another_thread_keeps_the_new_socket() {
        let mut net = NetStats::default();
        // Thread 2's close of fd 6 started at t=100; thread 1 reused fd 6 for a new socket from
        // t=150, and its events came first.
        net.on_socket(&SocketRecord { latency_ns: 150, ..socket(6, 0xcc, tuple(50000, 80)) });
        net.on_syscall(&SyscallRecord { start_ns: 100, tid: 2, ..syscall("close", 6, 0, 10) });
        net.on_syscall(&syscall("sendto", 6, 10, 10));
        assert_eq!(net.connections[0].sent, 10, "the late close did not drop the new socket");
        // A close that started after the socket was named does end it.
        net.on_syscall(&SyscallRecord { start_ns: 200, ..syscall("close", 6, 0, 10) });
        net.on_syscall(&syscall("sendto", 6, 10, 10));
        assert_eq!(net.connections[0].sent, 10);
    }

    #[test]
    fn an_accept_without_io_is_not_inherited_by_the_next_socket_on_its_fd() {
        let mut net = NetStats::default();
        net.on_syscall(&syscall("accept4", 3, 5, 1000));
        net.on_syscall(&syscall("close", 5, 0, 10));
        net.on_syscall(&syscall("socket", 2, 5, 10));
        net.on_socket(&socket(5, 0xdd, tuple(51000, 80)));
        assert_eq!(net.connections[0].accept_ns, None);
    }

    #[test]
    fn connect_fills_in_the_local_port() {
        let mut net = NetStats::default();
        net.on_socket(&socket(4, 0xbb, tuple(0, 80)));
        net.on_connect(&SocketRecord { latency_ns: 300, ..socket(-1, 0xbb, tuple(51000, 80)) });
        assert_eq!(net.connections.len(), 1);
        assert_eq!((net.connections[0].tuple.sport, net.connections[0].connect_ns), (51000, Some(300)));
    }

    #[test]
    fn a_file_opened_by_the_process_is_a_file_even_once_closed() {
        // /proc/1/fd/99999 does not exist: the kind must come from the open.
        let mut net = NetStats::default();
        net.on_syscall(&syscall("openat", u64::MAX, 99_999, 500));
        net.on_syscall(&syscall("read", 99_999, 10, 40));
        net.on_syscall(&syscall("read", 99_999, -9, 40));
        let ops = net.ops();
        let ((_, kind), op) = ops.iter().find(|((name, _), _)| *name == "read").unwrap();
        assert_eq!((*kind, op.latency.len(), op.errors, op.total_ns), (FdKind::File, 2, 1, 80));
        let keys: Vec<String> = net.keys().into_iter().map(|k| k.key).collect();
        assert_eq!(keys, ["file:read"]);
    }

    #[test]
    fn fds_a_process_already_has_are_learnt_from_proc() {
        let mut fds = [0; 2];
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let me = std::process::id();
        let mut net = NetStats::default();
        net.learn_fds(me);
        // Closed before the read is seen, as a short-lived process's fds are: still known.
        unsafe { libc::close(fds[0]) };
        unsafe { libc::close(fds[1]) };
        net.on_syscall(&SyscallRecord { tgid: me, ..syscall("read", fds[0] as u64, 1, 10) });
        assert_eq!(net.keys().into_iter().map(|k| k.key).collect::<Vec<_>>(), ["pipe:read"]);
    }

    #[test]
    fn a_reset_forgets_figures_not_what_fds_are() {
        let mut net = accepted_and_read();
        net.reset_figures();
        assert!(net.keys().is_empty() && net.connections[0].received == 0);
        // The kernel does not name the socket again: the reader must still know it.
        net.on_syscall(&syscall("read", 5, 7, 50));
        assert_eq!(net.keys().into_iter().map(|k| k.key).collect::<Vec<_>>(), ["socket:read"]);
        assert_eq!(net.connections[0].received, 7);
    }
}
