//! Command line, with strace's habits: `-p`, `-f`, `-e trace=`, `-o`, `-S`, `--` before a
//! command. `tracer top` is the live view; `tracer compare` checks two exports.
use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::{
    kernel::probes::{AttachMode, SlowConfig},
    host::{cgroup_lookup, names},
    model::groups::GroupBy,
    syscalls::{format::escape, selection::Selection},
    report::{
        atomic_file,
        compare::{self, CompareArgs},
        export::{self, IntervalLogSink, RunInfo},
        prometheus::PrometheusSink,
        flamegraph, pprof,
        live,
        otlp,
        serve,
        sink::IntervalSink,
        format::format_ns,
        rows::SortKey,
    },
    run::session::{self, TraceOptions},
};

#[derive(Debug, Parser)]
#[command(
    name = "tracer",
    // "0.1.0 (abc1234)": the commit it was built from (build.rs), or the bare version outside git.
    version = env!("TRACER_VERSION"),
    about = "eBPF syscall latency tracer: per-syscall HdrHistogram percentiles at near-zero overhead",
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  tracer -p 1234                      # until Ctrl-C or the process exits\n  tracer -f -e trace=%network -p 1234\n  tracer -d 10s -o summary.txt -p 1234\n  tracer --export run.json -- ./bench\n  tracer top -p 1234                  # live view\n  tracer compare base.json run.json --max-regression p99=10%"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub trace: TraceArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Live terminal view, refreshed every interval (a plain periodic table when stdout is
    /// not a terminal). Keys: arrows/j/k select, s sort, p pause, r reset, tab view, q quit.
    Top(TraceArgs),
    /// Compare two exports; exit 0 within bounds, 1 on a regression, 2 on bad input.
    Compare(CompareArgs),
    /// Run as an agent until stopped: Prometheus metrics on /metrics, and /healthz.
    /// E.g. tracer serve --all --by cgroup, or tracer serve --cgroup /sys/fs/cgroup/system.slice/x.service
    Serve(ServeArgs),
    /// What this kernel gives tracer, and which hook serves each feature here; exit 1 when
    /// tracing is impossible (no BTF, no privileges, programs refused).
    Info,
    /// Print the completion script for a shell on stdout
    ///
    /// E.g. tracer completions bash > ~/.local/share/bash-completion/completions/tracer
    /// (the .deb installs them for bash, zsh and fish).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (tracer.1 and one per subcommand) into DIR; for packaging.
    #[command(name = "__man", hide = true)]
    Man { dir: PathBuf },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to answer scrapes on; loopback unless told otherwise.
    #[arg(long = "listen", value_name = "ADDR:PORT", default_value = "127.0.0.1:9464")]
    pub listen: std::net::SocketAddr,
    /// TLS and basic auth for /metrics, from a web configuration file in Prometheus
    /// exporter-toolkit's format (tls_server_config, basic_auth_users with bcrypt hashes), the
    /// file exporters take as --web.config.file.
    #[arg(long = "web-config", value_name = "FILE")]
    pub web_config: Option<PathBuf>,
    #[command(flatten)]
    pub trace: TraceArgs,
}

/// What a trace shows while it runs.
enum View {
    /// Nothing until the summary (slow calls as they come, if asked).
    Summary,
    /// `tracer top`.
    Live,
    /// `tracer serve`: where, and the web configuration file.
    Serve(std::net::SocketAddr, Option<PathBuf>),
}

#[derive(Debug, Clone, Args)]
pub struct TraceArgs {
    /// Trace these processes (all their threads); repeat or separate with commas.
    #[arg(short = 'p', long = "pid", value_name = "PID", value_delimiter = ',', allow_hyphen_values = true, value_parser = parse_pid)]
    pub pids: Vec<u32>,

    /// Trace every process in this cgroup v2 directory and below it, those started later too
    /// (filtered in the kernel by cgroup id); repeatable. Runs until Ctrl-C, -d, or the cgroup
    /// is removed.
    #[arg(long = "cgroup", value_name = "PATH")]
    pub cgroups: Vec<PathBuf>,

    /// Trace a systemd unit's processes: its cgroup (from systemctl, else found by name under
    /// the cgroup2 hierarchy); `nginx` means nginx.service. Repeatable.
    #[arg(long = "unit", value_name = "NAME")]
    pub units: Vec<String>,

    /// Trace a container's processes: its cgroup, found by the id (or a prefix of 4+ hex digits)
    /// in the names docker, containerd/CRI, CRI-O and podman give them. Repeatable.
    #[arg(long = "container", value_name = "ID")]
    pub containers: Vec<String>,

    /// Trace every process of the machine (the tracer itself excepted), those started later
    /// too: the root of the cgroup v2 hierarchy.
    #[arg(long = "all", conflicts_with_all = ["pids", "cgroups", "units", "containers", "command"])]
    pub all: bool,

    /// Split the tables, exports and metrics per group of processes: per cgroup (the traced
    /// cgroup a process is in, else its own) or per process name.
    #[arg(long = "by", value_enum, value_name = "cgroup|comm")]
    pub by: Option<GroupBy>,

    /// With --by: at most this many groups; processes of further groups are counted in one
    /// group named "other" (and in tracer_group_overflow_total).
    #[arg(long = "max-groups", value_name = "N", default_value_t = 50)]
    pub max_groups: usize,

    /// Also trace child processes created after the start (-ff is the same: one summary).
    #[arg(short = 'f', long = "follow-forks", action = clap::ArgAction::Count)]
    pub follow_forks: u8,

    /// strace's -c, -C and -w, accepted so that habits carry over: tracer always prints the
    /// summary, of wall-clock latencies, and never a line per call.
    /// Counted, so that they combine as in strace (`-c -w`, `-cw`).
    #[arg(short = 'c', short_alias = 'C', short_alias = 'w', hide = true, action = clap::ArgAction::Count)]
    pub strace_summary: u8,

    /// Do not attach the scheduler tracepoints (no on-CPU / run queue / blocked split; saves
    /// their cost on every context switch of the machine).
    #[arg(long = "no-sched")]
    pub no_sched: bool,

    /// Do not attach the socket tracepoints (no per-connection figures, no connect latency).
    #[arg(long = "no-net")]
    pub no_net: bool,

    /// Which syscalls to trace, strace style: trace=read,write  trace=%network  'trace=!close'
    /// trace=/^open (regex)  trace=?name (no error if unknown); classes: %network %file
    /// %process %memory %signal %ipc %desc.
    #[arg(short = 'e', value_name = "EXPR")]
    pub expressions: Vec<String>,

    /// Stop after this long: seconds (10), or with a unit (500ms, 2m).
    #[arg(short = 'd', long = "duration", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Write the summary to FILE instead of stderr.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Sort the summary by this column.
    #[arg(short = 'S', long = "sort-by", value_enum, default_value_t = SortKey::Time)]
    pub sort: SortKey,

    /// Write a JSON export (summary figures and full histograms) for `tracer compare`.
    #[arg(long = "export", value_name = "FILE.json")]
    pub export: Option<PathBuf>,

    /// Write an HdrHistogram interval log: one histogram per key (syscall or network/I/O key)
    /// per interval.
    #[arg(long = "interval-log", value_name = "FILE")]
    pub interval_log: Option<PathBuf>,

    /// Write Prometheus text exposition (rewritten every interval), for node-exporter's
    /// textfile collector.
    #[arg(long = "prometheus", value_name = "FILE.prom")]
    pub prometheus: Option<PathBuf>,

    /// Also push the metrics to an OpenTelemetry collector, as OTLP over plain HTTP (protobuf), e.g.
    /// http://127.0.0.1:4318/v1/metrics (the path defaults to /v1/metrics). Mostly for `tracer
    /// serve`; any run can.
    #[arg(long = "otlp", value_name = "URL")]
    pub otlp: Option<String>,

    /// With --otlp: how often to push (rounded to a multiple of -i); the final figures are
    /// pushed at the end too.
    #[arg(long = "otlp-interval", value_name = "DURATION", default_value = "10s", value_parser = parse_duration, requires = "otlp")]
    pub otlp_interval: Duration,

    /// Interval of the live view, the interval log and the Prometheus file: seconds (2), or with
    /// a unit (500ms).
    #[arg(short = 'i', long = "interval", default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,

    /// How to hook syscalls: the sys_enter/sys_exit tracepoints, or fentry/fexit (at most 64
    /// syscalls with those that make and free fds) or kprobes on the handlers of the syscalls
    /// selected with -e; fentry falls back to kprobes, both to the tracepoints, said in one line.
    #[arg(long = "attach", value_enum, default_value_t = AttachMode::Tracepoint)]
    pub attach: AttachMode,

    /// Show each call that takes at least this long, as it completes, one line in strace's
    /// shape (on stderr, or -o): 10ms, 1.5s, or a bare number of milliseconds (as perf trace's
    /// --duration); 0 shows every call.
    #[arg(long = "slow", value_name = "DURATION", value_parser = parse_slow)]
    pub slow: Option<Duration>,

    /// With --slow: each slow call also carries its stack, symbolized: user (the default),
    /// kernel, or kernel,user.
    #[arg(long = "stacks", value_name = "WHICH", num_args = 0..=1, default_missing_value = "user", value_parser = parse_stacks)]
    pub stacks: Option<u32>,

    /// With --slow: how many of the slowest calls the summary keeps whole.
    #[arg(long = "slowest", value_name = "N", default_value_t = 20)]
    pub slowest: usize,

    /// With --slow: write the slow calls' stacks as collapsed stacks (weight: ns), the input of
    /// flamegraph.pl, inferno and speedscope (implies --stacks user if not given).
    #[arg(long = "folded", value_name = "FILE")]
    pub folded: Option<PathBuf>,

    /// With --slow: draw the slow calls' stacks as a flame graph (implies --stacks user if not
    /// given).
    #[arg(long = "flamegraph", value_name = "FILE.svg")]
    pub flamegraph: Option<PathBuf>,

    /// With --slow: write the slow calls' stacks as a gzipped pprof profile (calls and their
    /// time, by syscall and thread), for `go tool pprof` (implies --stacks user if not given).
    #[arg(long = "pprof", value_name = "FILE")]
    pub pprof: Option<PathBuf>,

    /// Print where start-up time went (BTF parse, maps, program load and verification,
    /// attach, /proc scan) before "attached".
    #[arg(long = "startup-times")]
    pub startup_times: bool,

    /// Print, at the end, what tracing cost tracer itself: its CPU time from attach and per
    /// call or event, its RSS now and at the peak, and its kernel programs' run time where the
    /// kernel counts it (`sysctl kernel.bpf_stats_enabled=1`).
    #[arg(long = "own-usage")]
    pub own_usage: bool,

    /// Send every call through the ring buffer, as one event each. By default, successful
    /// calls under the --slow threshold that need no event of their own are counted in the
    /// kernel, in histograms: those of syscalls that neither make nor free fds (nor exec, nor
    /// clone), and reads and writes (on TCP connections, per connection once followed).
    #[arg(long = "events")]
    pub events: bool,

    /// Kernel ring-buffer size in MiB (a power of two; default 16, or 64 when every call is an
    /// event: --events; `tracer serve` 4, or 16 with --events: its memory stays resident for
    /// days). Lost events are counted and reported.
    #[arg(long = "buffer-size", value_name = "MiB")]
    pub buffer_mib: Option<u32>,

    /// Command to spawn and trace from its first syscall (`--` before it is optional, as in
    /// strace; needed for a command named like a subcommand, `tracer -- top`).
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Runs the tracer; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        None => trace(cli.trace, View::Summary),
        Some(Command::Top(args)) => trace(args, View::Live),
        Some(Command::Compare(args)) => Ok(compare::run(&args)),
        Some(Command::Serve(args)) => trace(args.trace, View::Serve(args.listen, args.web_config)),
        Some(Command::Info) => crate::run::info::run(),
        Some(Command::Completions { shell }) => crate::docs::completions(shell, &mut std::io::stdout().lock()).map(|()| 0),
        Some(Command::Man { dir }) => crate::docs::man_pages(&dir).map(|()| 0),
    }
}

fn trace(args: TraceArgs, view: View) -> Result<i32> {
    if args.pids.is_empty() && args.command.is_empty() && args.cgroups.is_empty() && args.units.is_empty() && args.containers.is_empty() && !args.all {
        bail!("nothing to trace: give -p PID, --cgroup PATH, --unit NAME, --container ID, --all or a command after --");
    }
    let options = trace_options(&args, &view)?;
    // A bad output path is found now, not after a long trace.
    for path in [&args.output, &args.export, &args.prometheus, &args.folded, &args.flamegraph, &args.pprof].into_iter().flatten() {
        atomic_file::check_writable(path)?;
    }
    let description = describe_run(&args, &options);
    let live_view = matches!(view, View::Live);
    let mut sinks = interval_sinks(&args, view, &description)?;
    // Slow calls are printed as they come (not in the live view, which shows them itself): to
    // -o, then followed by the summary, as strace -o holds the trace; else to stderr.
    let slow_out: Option<Box<dyn Write + Send>> = match (&options.slow, &args.output) {
        (None, _) => None,
        (Some(_), _) if live_view => None,
        (Some(_), Some(path)) => Some(Box::new(open_stream(path)?)),
        (Some(_), None) => Some(Box::new(std::io::stderr())),
    };
    let outcome = session::run(&options, &mut sinks, slow_out);
    // Whatever happened, give the terminal back before printing anything.
    drop(sinks);
    let mut outcome = outcome?;
    write_outputs(&args, &mut outcome, description)?;
    Ok(outcome.command_exit.unwrap_or(0))
}

/// The trace's options from the command line, checked.
fn trace_options(args: &TraceArgs, view: &View) -> Result<TraceOptions> {
    // Most calls are counted in the kernel, not sent: a quarter of the ring that every call
    // needs is room enough for the rest (the ring's pages are memory for as long as it runs).
    let every_call_sent = args.events;
    // An agent's ring is mapped twice (its pages appear twice in the RSS) for days: 4 MiB held
    // the soak's 345,000 events a second without a loss.
    let serve = matches!(view, View::Serve(..));
    let buffer_mib = args.buffer_mib.unwrap_or(match (every_call_sent, serve) {
        (true, false) => 64,
        (false, true) => 4,
        _ => 16,
    });
    if !buffer_mib.is_power_of_two() || buffer_mib > 1024 {
        bail!("--buffer-size must be a power of two between 1 and 1024 (MiB)");
    }
    if args.interval < Duration::from_millis(10) {
        bail!("--interval must be at least 10ms");
    }
    if args.otlp.is_some() && args.otlp_interval < Duration::from_millis(10) {
        bail!("--otlp-interval must be at least 10ms");
    }
    let selected = Selection::parse(&args.expressions).context("-e")?;
    // A PID given twice is one process.
    let mut pids = args.pids.clone();
    pids.sort_unstable();
    pids.dedup();
    Ok(TraceOptions {
        pids,
        command: args.command.clone(),
        follow_forks: args.follow_forks > 0,
        sched_split: !args.no_sched,
        net: !args.no_net,
        selected,
        attach: args.attach,
        duration: args.duration,
        ring_bytes: buffer_mib << 20,
        interval: args.interval,
        startup_times: args.startup_times,
        own_usage: args.own_usage,
        events: args.events,
        cgroups: match args.all {
            true => vec![crate::host::cgroupfs::cgroup2_root()?],
            false => {
                let mut cgroups = args.cgroups.clone();
                for unit in &args.units {
                    cgroups.push(cgroup_lookup::unit_cgroup(unit)?);
                }
                for id in &args.containers {
                    cgroups.push(cgroup_lookup::container_cgroup(id)?);
                }
                cgroups
            }
        },
        by: args.by,
        max_groups: args.max_groups,
        slowest: args.slowest,
        slow: match args.slow {
            None if args.stacks.is_some() || args.folded.is_some() || args.flamegraph.is_some() || args.pprof.is_some() => {
                bail!("--stacks, --folded, --flamegraph and --pprof are about slow calls: give --slow DURATION too")
            }
            None => None,
            Some(threshold) => {
                let wants_stacks = args.folded.is_some() || args.flamegraph.is_some() || args.pprof.is_some();
                let stacks = args.stacks.unwrap_or(if wants_stacks { tracer_common::slow::STACKS_USER } else { 0 });
                Some(SlowConfig { threshold_ns: threshold.as_nanos().min(u64::MAX as u128) as u64, stacks })
            }
        },
    })
}

/// What is traced, in words: for the live view's title, the flame graph's and the export.
fn describe_run(args: &TraceArgs, options: &TraceOptions) -> String {
    if args.all {
        return "all processes".into();
    }
    let mut description = describe_target(&options.pids, &options.command);
    for cgroup in &options.cgroups {
        let sep = if description.is_empty() { "" } else { ", " };
        description = format!("{description}{sep}cgroup {}", cgroup.display());
    }
    description
}

/// What each interval goes to: interval log, Prometheus file, the agent's endpoint, OTLP, the
/// live view.
fn interval_sinks(args: &TraceArgs, view: View, description: &str) -> Result<Vec<Box<dyn IntervalSink>>> {
    // Checked before anything starts (the agent's endpoint, say).
    let otlp = match &args.otlp {
        Some(url) => Some(otlp::Endpoint::parse(url).map_err(|e| anyhow::anyhow!("--otlp: {e}"))?),
        None => None,
    };
    let started_at = std::time::SystemTime::now();
    let mut sinks: Vec<Box<dyn IntervalSink>> = Vec::new();
    if let Some(path) = &args.interval_log {
        sinks.push(Box::new(IntervalLogSink::create(path.clone(), started_at)?));
    }
    if let Some(path) = &args.prometheus {
        sinks.push(Box::new(PrometheusSink { path: path.clone() }));
    }
    if let View::Serve(addr, web_config) = &view {
        let web = web_config.as_deref().map(crate::report::web_config::WebConfig::load).transpose()?;
        let warning = serve::open_warning(*addr, web.as_ref());
        let server = serve::Server::start(*addr, args.interval, web)?;
        if let Some(warning) = warning {
            eprintln!("{warning}");
        }
        eprintln!("tracer: serving metrics on {}://{}/metrics", server.scheme, server.addr);
        sinks.push(Box::new(server.sink()));
    }
    if let Some(endpoint) = otlp {
        let url = endpoint.url.clone();
        let (sink, every) = otlp::OtlpSink::start(endpoint, args.otlp_interval, args.interval)?;
        eprintln!("tracer: pushing metrics to {url} every {} (OTLP)", humantime::format_duration(every));
        sinks.push(Box::new(sink));
    }
    if matches!(view, View::Live) {
        match std::io::stdout().is_terminal() {
            true => sinks.push(Box::new(live::TerminalView::start(escape(description), args.sort)?)),
            false => sinks.push(Box::new(live::TextView::new(args.sort))),
        }
    }
    Ok(sinks)
}

/// The summary (to -o or stderr), and the files asked for: folded stacks, flame graph, export.
fn write_outputs(args: &TraceArgs, outcome: &mut session::Outcome, description: String) -> Result<()> {
    let summary = outcome.summary(args.sort);
    match (&args.output, outcome.slow_out.take()) {
        (Some(path), Some(mut stream)) => {
            stream.write_all(summary.as_bytes()).with_context(|| format!("cannot write to {}", path.display()))?
        }
        (Some(path), None) => atomic_file::write_atomic(path, summary.as_bytes())?,
        // stderr, as strace's summary: a spawned command's own output on stdout stays its own.
        (None, _) => eprint!("{summary}"),
    }
    if let Some(slow) = &outcome.slow {
        let folded = flamegraph::folded(slow.weighted_stacks().iter().map(|(frames, ns)| (frames.as_slice(), *ns)));
        if let Some(path) = &args.folded {
            atomic_file::write_atomic(path, folded.as_bytes())?;
        }
        if let Some(path) = &args.flamegraph {
            let mut svg = Vec::new();
            let title = format!("slow calls (at least {}), {description}", format_ns(slow.threshold_ns));
            flamegraph::write_svg(&folded, &title, &mut svg)?;
            atomic_file::write_atomic(path, &svg)?;
        }
        if let Some(path) = &args.pprof {
            let unix_ns = |at: std::time::SystemTime| at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64);
            let (start, end) = (unix_ns(outcome.started_at), unix_ns(outcome.ended_at));
            atomic_file::write_atomic(path, &pprof::profile(slow, start, end.saturating_sub(start))?)?;
        }
    }
    let info = RunInfo {
        target: description,
        command_line: std::env::args().collect(),
        started_at: outcome.started_at,
        ended_at: outcome.ended_at,
        duration: outcome.facts.duration,
        lost: outcome.facts.lost,
        time_split: outcome.facts.sched_split,
    };
    if let Some(path) = &args.export {
        let slow = outcome.slow.as_ref().map(|slow| export::slow_export(slow, outcome.lost_slow, &outcome.clock));
        let go = outcome.go.iter().map(|seen| export::go_export(seen, outcome.runq_share())).collect();
        let extras = export::Extras { slow, groups: outcome.groups.as_ref(), throttling: outcome.throttling.clone(), go };
        export::write_export(path, &export::build_export(&outcome.totals, &outcome.net, extras, &info)?)
            .with_context(|| format!("cannot export to {}", path.display()))?;
    }
    Ok(())
}

/// Opens `-o` for lines written as they come: a file is created or truncated, a FIFO or device
/// written in place.
fn open_stream(path: &std::path::Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("cannot write to {}", path.display()))
}

/// `--slow`: a bare number is milliseconds, as perf trace's `--duration`; otherwise humantime.
/// A PID: clap would take `-5` for an option and suggest `-- -5`, which runs `-5` as a command.
fn parse_pid(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(format!("'{text}' is not a PID: a PID is a positive number")),
    }
}

fn parse_slow(text: &str) -> Result<Duration, String> {
    let parsed = match text.parse::<f64>() {
        Ok(ms) => Duration::try_from_secs_f64(ms / 1000.0).ok(),
        Err(_) => humantime::parse_duration(text).ok(),
    };
    parsed.ok_or_else(|| "expected milliseconds (10) or a number with a unit (500us, 10ms, 1s)".to_string())
}

/// `--stacks`: `user`, `kernel`, or both, comma-separated.
fn parse_stacks(text: &str) -> Result<u32, String> {
    text.split(',').try_fold(0, |parts, part| match part.trim() {
        "user" | "u" => Ok(parts | tracer_common::slow::STACKS_USER),
        "kernel" | "k" => Ok(parts | tracer_common::slow::STACKS_KERNEL),
        other => Err(format!("'{other}' is not a stack: expected user, kernel or kernel,user (a command after --stacks needs -- before it)")),
    })
}

/// A bare number is seconds, as for perf's and timeout's durations; otherwise humantime.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let parsed = match text.parse::<f64>() {
        Ok(secs) => Duration::try_from_secs_f64(secs).ok(),
        Err(_) => humantime::parse_duration(text).ok(),
    };
    parsed.ok_or_else(|| "expected seconds (10) or a number with a unit (500ms, 2m, 1h)".to_string())
}

/// "pid 1234 (nginx)" or "command: ./server --port 80".
fn describe_target(pids: &[u32], command: &[String]) -> String {
    let mut parts: Vec<String> = pids.iter().map(|pid| format!("pid {pid} ({})", names::comm(*pid))).collect();
    if !command.is_empty() {
        parts.push(format!("command: {}", command.join(" ")));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straces_summary_flags_combine_as_in_strace() {
        for args in [&["tracer", "-c", "-w", "-p", "1"][..], &["tracer", "-cw", "-f", "-p", "1"], &["tracer", "-C", "-c", "-p", "1"]] {
            assert!(Cli::try_parse_from(args).is_ok(), "{args:?}");
        }
    }

    #[test]
    fn durations_are_seconds_unless_they_say_otherwise() {
        assert_eq!(parse_duration("4"), Ok(Duration::from_secs(4)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_slow("10"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_slow("0"), Ok(Duration::ZERO));
        assert_eq!(parse_slow("250us"), Ok(Duration::from_micros(250)));
        assert!(parse_slow("abc").is_err());
        assert_eq!(parse_stacks("kernel,user"), Ok(tracer_common::slow::STACKS_USER | tracer_common::slow::STACKS_KERNEL));
        assert!(parse_stacks("./server").is_err());
    }
}
