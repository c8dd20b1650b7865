//! One slow call in strace's shape: `read(7<pipe>, 4096) = 1`.
//!
//! The conventions are strace 6's own (its decoders and xlat tables): flags by name in the kernel
//! header's order with unknown bits in hex, pointers as `0x...` or `NULL`, modes in octal, strings
//! C-escaped. Only the argument registers, the return value and one copied argument (a path or a
//! socket address, see [`user_arg`]) are known, so whatever strace reads from the tracee's memory
//! (buffers, structs, arrays) is shown as its pointer, and buffer arguments of the read/write
//! family are left out. Values that differ between x86_64 and aarch64 come from libc (or a cfg where
//! libc has none); the other tables are the kernel's uapi values, the same on both.
use call::Call;
pub use values::escape;

/// What is known of one finished call.
pub struct CallView<'a> {
    pub name: &'a str,
    pub args: [u64; 6],
    pub ret: i64,
    /// The path argument the kernel copied (UserArg::Path), up to its NUL if it has one; its bytes
    /// are escaped as strace escapes them (octal for non-ASCII), not decoded.
    pub path: Option<&'a [u8]>,
    /// The socket address the kernel copied (UserArg::Sockaddr): the argument of connect/bind/sendto,
    /// the result of accept/recvfrom/getpeername.
    pub addr: Option<&'a [u8]>,
}

/// `name(args) = result`, as strace prints it (without its -T duration, which the caller appends).
/// `describe_fd(fd)` names what an fd is ("pipe", "socket 10.0.0.2:5432", "/etc/passwd"), strace -y style:
/// an fd argument is printed `7<pipe>` when it returns Some, `7` otherwise. Fds returned by open/socket/accept
/// are printed plain.
pub fn format_call(view: &CallView, describe_fd: &dyn Fn(i32) -> Option<String>) -> String {
    let call = Call { v: view, describe_fd };
    format!("{}({}) = {}", view.name, call.args().join(", "), call.result())
}

/// A flag or value table: (bits, name), in strace's order, which decides how overlapping bits print.
pub(crate) type Table = &'static [(u64, &'static str)];

/// `(libc::X, "X")` table rows; `as u32` first so that a 32-bit flag with its top bit set (CLONE_IO) does
/// not sign-extend.
macro_rules! libc_rows {
    ($($name:ident),* $(,)?) => { &[$((libc::$name as u32 as u64, stringify!($name))),*] };
}

// After the macro: the tables use it.
mod arity;
mod call;
mod tables;
mod values;
#[cfg(test)]
mod tests;
