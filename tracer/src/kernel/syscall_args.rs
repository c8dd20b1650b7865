//! Which user-memory argument of a syscall the kernel copies for a slow call's line: the path
//! of open/stat/exec-family calls, the socket address of connect/bind/accept-family calls.
