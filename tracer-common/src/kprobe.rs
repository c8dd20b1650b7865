//! Per-syscall kprobes (`--attach kprobe`, or where fentry is refused).

kernel_names! {
    maps: [KPROBE_REGS, REGS_COPY],
    globals: [REGS_COPY_BYTES: u32],
}
