//! What this kernel gives tracer, read from its BTF at start-up (as libbpf-tools probe with
//! `probe_tp_btf`), and which hook or read serves each feature here. A hook that only newer
//! kernels have is replaced, never required: each replacement is said in one line.
use anyhow::Result;

use super::btf::KernelBtf;

/// The optional hooks and kernel fields whose presence changes how a feature is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelFeatures {
    /// `sched_switch` passes `prev_state` (5.18+). Before, the switched-out task's state is read
    /// from the task itself.
    pub switch_prev_state: bool,
    /// The task state's member in `struct task_struct`: `__state` from 5.14, `state` before.
    pub task_state_member: &'static str,
    /// `sock_send_length`/`sock_recv_length` (6.3+) tell a socket syscall's socket. Before, it is
    /// read from the syscall's fd at exit (`file->private_data->sk`).
    pub socket_tracepoints: bool,
}

impl KernelFeatures {
    pub fn from_btf(btf: &KernelBtf) -> Result<Self> {
        Ok(Self {
            switch_prev_state: btf.tracepoint_arg_count("sched_switch")?.is_some_and(|args| args >= 4),
            task_state_member: if btf.has_member("task_struct", "__state") { "__state" } else { "state" },
            socket_tracepoints: btf.tracepoint_arg_count("sock_send_length")?.is_some()
                && btf.tracepoint_arg_count("sock_recv_length")?.is_some(),
        })
    }

    /// One line per feature this kernel serves another way than the newest kernels do, for
    /// the features asked for (`sched`: the scheduler split; `net`: sockets).
    pub fn replacements(&self, sched: bool, net: bool) -> Vec<String> {
        let mut lines = Vec::new();
        if sched && !self.switch_prev_state {
            lines.push(format!(
                "switched-out state read from task_struct.{}: this kernel's sched_switch has no prev_state (5.18+)",
                self.task_state_member
            ));
        }
        if net && !self.socket_tracepoints {
            lines.push(
                "sockets read from the syscall's fd at exit: this kernel has no sock_send_length/sock_recv_length tracepoints (6.3+)"
                    .to_string(),
            );
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_kernel_has_the_newest_hooks() {
        let data = super::super::btf::read("/sys/kernel/btf/vmlinux").unwrap();
        let features = KernelFeatures::from_btf(&KernelBtf::parse(&data).unwrap()).unwrap();
        assert_eq!(
            features,
            KernelFeatures { switch_prev_state: true, task_state_member: "__state", socket_tracepoints: true }
        );
        assert!(features.replacements(true, true).is_empty());
        let old = KernelFeatures { switch_prev_state: false, task_state_member: "state", socket_tracepoints: false };
        assert_eq!(old.replacements(true, true).len(), 2);
        assert!(old.replacements(false, false).is_empty());
    }
}
