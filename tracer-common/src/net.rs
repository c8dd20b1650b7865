//! Sockets and TCP: which socket a traced thread's syscall used, its addresses (at offsets from
//! the kernel's BTF), and how long a connect took.

kernel_names! {
    maps: [SOCKETS, CONNECTING],
    globals: [
        NET_ON: u32,
        CONNECT_IO_FLAGS: u32,
        SOCKET_FROM_FD: u32,
        FILE_PRIVATE_DATA_OFFSET: u32,
        SOCKET_SK_OFFSET: u32,
        SK_PROTOCOL_OFFSET: u32,
        SK_FAMILY_OFFSET: u32,
        SK_NUM_OFFSET: u32,
        SK_DPORT_OFFSET: u32,
        SK_RCV_SADDR_OFFSET: u32,
        SK_DADDR_OFFSET: u32,
        SK_V6_RCV_SADDR_OFFSET: u32,
        SK_V6_DADDR_OFFSET: u32,
    ],
}

/// Addresses of a TCP socket, as the `sock:inet_sock_set_state` tracepoint reports them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SockTuple {
    /// AF_INET (2) or AF_INET6 (10).
    pub family: u16,
    /// Host byte order.
    pub sport: u16,
    pub dport: u16,
    /// Which connection at this socket's address: set when it connects or is established, so
    /// that a socket address reused for the same 4-tuple (a client that binds its port) makes
    /// a new connection, not more of the last one. 0: unknown.
    pub generation: u16,
    /// IPv4 addresses use the first 4 bytes.
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
}

/// A TCP socket's entry in `SOCKETS`, by socket address: its addresses, and the connection's
/// counting row (see `connections::CONN_ROWS`): one map for both, so that a connection's start
/// costs the kernel one insert and its close one write in place.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockEntry {
    pub tuple: SockTuple,
    /// A row of `CONN_HIST`, `CONN_NO_ROW` (established while tracing, no row yet) or
    /// `CONN_UNCOUNTED`.
    pub row: u32,
    /// The process the reader was last told uses the connection (0: none yet). Its first user
    /// counts the connection in `events::CONNECTIONS_SEEN`.
    pub user_tgid: u32,
}

/// A ring-buffer record about a socket: 88 bytes, told apart from `Event` by `kind`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockEvent {
    /// `EventKind::Socket` or `EventKind::Connect`.
    pub kind: u32,
    /// The fd the syscall used (-1 for a connect).
    pub fd: i32,
    pub tgid: u32,
    pub tid: u32,
    /// The kernel's socket address: identifies the connection while it lives.
    pub sk: u64,
    /// Connect: SYN sent until established. Socket: entry time of the syscall, which tells the
    /// reader whether the pair is newer than a close of the same fd by another thread, whose
    /// event may come later.
    pub latency_ns: u64,
    pub tuple: SockTuple,
    /// Socket: the row of `CONN_HIST` the call took for its TCP connection (see
    /// [`SockEntry::row`]), else `CONN_NO_ROW`.
    pub row: u32,
    /// Socket: the accept (its syscall number; 0 for none) that made this fd, counted in the
    /// kernel, and how long it waited: the accept's figures come with its socket.
    pub accept_nr: u32,
    pub accept_ns: u64,
}

/// A connect in progress, keyed by socket address.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnectStart {
    pub start_ns: u64,
    pub tgid: u32,
    pub tid: u32,
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: plain old data, `#[repr(C)]`, any bit pattern valid.
    unsafe impl aya::Pod for super::SockTuple {}
    unsafe impl aya::Pod for super::SockEntry {}
    unsafe impl aya::Pod for super::SockEvent {}
}
