//! Command line, with strace's habits: `-p`, `-f`, `-e trace=`, `-o`, `-S`, `--` before a command.
use std::{fs, io::Write, path::PathBuf, time::Duration};

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::{
    filter,
    probes::AttachMode,
    session::{self, TraceOptions},
    summary::SortKey,
};

#[derive(Debug, Parser)]
#[command(
    name = "tracer",
    version,
    about = "eBPF syscall latency tracer: per-syscall HdrHistogram percentiles at near-zero overhead",
    after_help = "Examples:\n  tracer -p 1234                      # until Ctrl-C or the process exits\n  tracer -f -e trace=%network -p 1234\n  tracer -d 10s -o summary.txt -p 1234\n  tracer -- dd if=/dev/zero of=/dev/null bs=1 count=100000"
)]
pub struct Cli {
    /// Trace these processes (all their threads); repeat or separate with commas.
    #[arg(short = 'p', long = "pid", value_name = "PID", value_delimiter = ',')]
    pub pids: Vec<u32>,

    /// Also trace child processes created after the start.
    #[arg(short = 'f', long = "follow-forks")]
    pub follow_forks: bool,

    /// Which syscalls to trace, strace style: trace=read,write  trace=%network  trace=!close
    /// (classes: %network %file %process %memory %signal %ipc %desc).
    #[arg(short = 'e', value_name = "EXPR")]
    pub expressions: Vec<String>,

    /// Stop after this long (e.g. 10s, 500ms, 2m).
    #[arg(short = 'd', long = "duration", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,

    /// Write the summary to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Sort the summary by this column.
    #[arg(short = 'S', long = "sort-by", value_enum, default_value_t = SortKey::Time)]
    pub sort: SortKey,

    /// How to hook syscalls: the sys_enter/sys_exit tracepoints, or fentry/fexit on the
    /// handlers of the syscalls selected with -e (at most 64; needs a kernel that allows it).
    #[arg(long = "attach", value_enum, default_value_t = AttachMode::Tracepoint)]
    pub attach: AttachMode,

    /// Kernel ring-buffer size in MiB (a power of two). Lost events are counted and reported.
    #[arg(long = "buffer-size", value_name = "MiB", default_value_t = 64)]
    pub buffer_mib: u32,

    /// Command to spawn and trace from its first syscall (after `--`).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Runs the tracer; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    if cli.pids.is_empty() && cli.command.is_empty() {
        bail!("nothing to trace: give -p PID or a command after --");
    }
    if !cli.buffer_mib.is_power_of_two() || cli.buffer_mib > 1024 {
        bail!("--buffer-size must be a power of two between 1 and 1024 (MiB)");
    }
    let selected = filter::parse_expressions(&cli.expressions)?;
    let options = TraceOptions {
        pids: cli.pids,
        command: cli.command,
        follow_forks: cli.follow_forks,
        selected,
        attach: cli.attach,
        duration: cli.duration,
        ring_bytes: cli.buffer_mib << 20,
    };
    let outcome = session::run(&options)?;
    let summary = outcome.summary(cli.sort);
    match &cli.output {
        Some(path) => fs::write(path, summary).with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(summary.as_bytes()).context("cannot write the summary")?,
    }
    Ok(outcome.command_exit.unwrap_or(0))
}
