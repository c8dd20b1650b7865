//! The syscall ABI of this architecture, in one place: numbers and names ([`table`]), sets of
//! them ([`set`]), `-e` and what the kernel must deliver for it ([`selection`]), what each call
//! does with fds ([`fd_class`]), which argument a slow call's record copies ([`args`]), and a
//! call in strace's notation ([`format`]). The kernel, the model and the reports all use it.
pub mod args;
pub mod fd_class;
pub mod format;
pub mod selection;
pub mod set;
pub mod table;
pub use table::{all, errno_name, name, number};
