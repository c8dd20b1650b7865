//! One slow call in strace's shape: `read(7<pipe>, 4096) = 1`.
