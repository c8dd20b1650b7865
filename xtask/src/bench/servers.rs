//! Real servers from Debian, loaded on loopback by their own benchmark tools, untraced and
//! traced side by side (issue "real servers at the cost of the clock"): nginx under `ab`
//! without keepalive (a short connection a request) and redis under `redis-benchmark` (long
//! connections). Interleaved rounds, medians; the throughput ratio to untraced, the events the
//! tracer received per request and its reader's CPU per request.
use std::{
    fmt::Write as _,
    fs,
    path::PathBuf,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use super::{bin, median, number_after, own_usage, spawn_until};

const NGINX_PORT: u16 = 18080;
const REDIS_PORT: u16 = 16379;
const NGINX_REQUESTS: u64 = 20_000;
const REDIS_REQUESTS: u64 = 200_000;
/// The nginx test page: 5.5 KB, as in the issue's measurements.
const PAGE_BYTES: usize = 5632;
/// bpftrace's bare per-syscall histogram, for the servers' pids (`PIDS` replaced).
const BPFTRACE_SERVERS: &str = r#"tracepoint:raw_syscalls:sys_enter /PIDS/ { @start[tid] = nsecs; }
tracepoint:raw_syscalls:sys_exit /@start[tid]/ { @usecs[args->id] = hist((nsecs - @start[tid]) / 1000); delete(@start[tid]); }"#;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum How {
    Untraced,
    Tracer,
    Events,
    SyscallsOnly,
    /// The `floor` helper's empty programs on tracer's syscall hooks: what attaching costs.
    Floor,
    /// The `floor` helper's bare pid-filtered latency histogram: a pid check, the clock pair
    /// and a per-CPU histogram per syscall (what any latency tracer pays, at the least).
    Reference,
    Bpftrace,
}

impl How {
    const ALL: [How; 7] = [How::Untraced, How::Tracer, How::Events, How::SyscallsOnly, How::Floor, How::Reference, How::Bpftrace];

    fn describe(self) -> &'static str {
        match self {
            How::Untraced => "untraced",
            How::Tracer => "`tracer -p PIDS` (every feature)",
            How::Events => "`tracer --events -p PIDS`",
            How::SyscallsOnly => "`tracer --no-net --no-sched -p PIDS`",
            How::Floor => "floor: empty programs on tracer's sys_enter/sys_exit hooks, every process",
            How::Reference => "reference: pid filter, clock pair, per-CPU histogram per syscall (`floor --kernel-counts --pids`)",
            How::Bpftrace => "bpftrace, raw_syscalls, per-syscall `hist()`, pid filter",
        }
    }

    fn tracer_options(self) -> Option<&'static [&'static str]> {
        match self {
            How::Tracer => Some(&[]),
            How::Events => Some(&["--events"]),
            How::SyscallsOnly => Some(&["--no-net", "--no-sched"]),
            How::Untraced | How::Floor | How::Reference | How::Bpftrace => None,
        }
    }
}

/// Each round's figures: requests per second, the machine's busy CPU (µs a request), and a
/// tracer's events and reader CPU (a request).
#[derive(Default)]
struct Round {
    rate: Vec<f64>,
    busy_cpu: Vec<f64>,
    events: Vec<f64>,
    reader_cpu: Vec<f64>,
}

/// The machine's busy CPU time so far, in seconds: user, nice, system, irq and softirq of every
/// CPU (`/proc/stat`). What a load and its tracer cost the machine, whichever CPU ran what,
/// beside the rate, which follows how the load tool and the server happen to share two CPUs (on
/// these machines, no steadier than the rate). Idle, I/O wait and the time the hypervisor stole
/// are left out.
fn busy_cpu_seconds() -> Result<f64> {
    let stat = fs::read_to_string("/proc/stat").context("read /proc/stat")?;
    let line = stat.lines().next().filter(|l| l.starts_with("cpu ")).context("no cpu line in /proc/stat")?;
    let ticks: Vec<u64> = line.split_whitespace().skip(1).filter_map(|t| t.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal ...
    let busy: u64 = [0, 1, 2, 5, 6].iter().filter_map(|&i| ticks.get(i)).sum();
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    Ok(busy as f64 / hz.max(1) as f64)
}

/// Each round's value of a case over the untraced case's in the same round, then their median
/// and range: rounds drift together (the host's load), and a ratio taken within a round cancels
/// most of that.
fn paired_ratio(traced: &[f64], untraced: &[f64]) -> (f64, f64, f64) {
    let ratios: Vec<f64> = traced.iter().zip(untraced).map(|(t, u)| t / u).collect();
    let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (median(&ratios), low, high)
}

/// A server started for the benchmark, stopped (and waited for) when dropped.
struct Server {
    child: Child,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Server {
    /// The server's processes: its own pid and its children's (nginx's workers).
    fn pids(&self) -> Vec<u32> {
        let pid = self.child.id();
        let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        std::iter::once(pid).chain(children.split_whitespace().filter_map(|p| p.parse().ok())).collect()
    }
}

/// Fails when something already listens on 127.0.0.1:`port` (the benchmark would load it
/// instead of its own server).
fn port_free(port: u16) -> Result<()> {
    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        bail!("127.0.0.1:{port} is in use: the benchmark starts its own server there");
    }
    Ok(())
}

fn scratch(name: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tracer-bench-{name}-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Waits until something accepts on 127.0.0.1:`port`.
fn wait_for_port(port: u16) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("nothing listens on 127.0.0.1:{port}");
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// nginx in the foreground with 2 workers, serving the test page on loopback.
fn start_nginx() -> Result<Server> {
    port_free(NGINX_PORT)?;
    let dir = scratch("nginx")?;
    fs::write(dir.join("page.html"), "x".repeat(PAGE_BYTES))?;
    let d = dir.display();
    let conf = format!(
        "worker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\ndaemon off;\n\
         events {{ worker_connections 1024; }}\n\
         http {{ access_log off; client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; \
         uwsgi_temp_path {d}; scgi_temp_path {d};\n server {{ listen 127.0.0.1:{NGINX_PORT}; root {d}; }} }}\n"
    );
    fs::write(dir.join("nginx.conf"), conf)?;
    let child = Command::new("nginx")
        .args(["-e", &format!("{d}/error.log"), "-c"])
        .arg(dir.join("nginx.conf"))
        .stdin(Stdio::null())
        .spawn()
        .context("start nginx (cargo xtask setup installs nginx-light)")?;
    let server = Server { child, dir };
    wait_for_port(NGINX_PORT)?;
    // The master forks its workers before they accept; wait for both.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.pids().len() < 3 {
        if Instant::now() > deadline {
            bail!("nginx started no workers");
        }
        thread::sleep(Duration::from_millis(20));
    }
    Ok(server)
}

fn start_redis() -> Result<Server> {
    port_free(REDIS_PORT)?;
    let dir = scratch("redis")?;
    let child = Command::new("redis-server")
        .args(["--port", &REDIS_PORT.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("start redis-server (cargo xtask setup installs redis-server)")?;
    let server = Server { child, dir };
    wait_for_port(REDIS_PORT)?;
    Ok(server)
}

/// `ab` without keepalive: requests per second.
fn nginx_load() -> Result<f64> {
    let url = format!("http://127.0.0.1:{NGINX_PORT}/page.html");
    let out = Command::new("ab").args(["-q", "-n", &NGINX_REQUESTS.to_string(), "-c", "10", &url]).output().context("run ab")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.lines().any(|l| l.starts_with("Failed requests:") && number_after(l, "Failed requests:") != Some(0.0)) {
        bail!("ab saw failed requests:\n{text}");
    }
    text.lines().find_map(|l| number_after(l, "Requests per second:")).with_context(|| format!("no rate from ab:\n{text}"))
}

/// `redis-benchmark -t get,set`: requests per second over both tests (their harmonic mean:
/// each test makes as many requests).
fn redis_load() -> Result<f64> {
    let out = Command::new("redis-benchmark")
        .args(["-p", &REDIS_PORT.to_string(), "-q", "-n", &REDIS_REQUESTS.to_string(), "-c", "20", "-t", "get,set"])
        .output()
        .context("run redis-benchmark")?;
    let text = String::from_utf8_lossy(&out.stdout);
    // Progress lines end in \r; the result lines read "SET: 95693.78 requests per second, ...".
    let rates: Vec<f64> = text
        .split(['\n', '\r'])
        .filter(|l| l.contains("requests per second") && !l.contains("rps="))
        .filter_map(|l| l.split_once(": ").and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok()))
        .collect();
    if rates.len() != 2 {
        bail!("expected a SET and a GET rate from redis-benchmark:\n{text}");
    }
    Ok(2.0 / rates.iter().map(|r| 1.0 / r).sum::<f64>())
}

/// One round of `how` on a running server: its rate under `load`, and a tracer's events and
/// reader CPU.
fn round(how: How, pids: &[u32], load: &dyn Fn() -> Result<f64>) -> Result<(f64, Option<(f64, f64)>)> {
    let list = pids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    if let Some(options) = how.tracer_options() {
        let mut cmd = Command::new(bin("tracer"));
        cmd.args(options).args(["--own-usage", "-p", &list]);
        let tracer = spawn_until(cmd, true, "attached")?;
        // One "attached" line a process, printed together.
        thread::sleep(Duration::from_millis(200));
        let rate = load();
        let lines = tracer.stop_and_read()?;
        let text = lines.join("\n");
        let events = text.lines().find_map(|l| number_after(l, "events: ")).with_context(|| format!("no events line:\n{text}"))?;
        let cpu = own_usage(&text).map_or(f64::NAN, |usage| usage.cpu);
        return Ok((rate?, Some((events, cpu))));
    }
    if matches!(how, How::Floor | How::Reference) {
        let mut cmd = Command::new(bin("floor"));
        if how == How::Reference {
            cmd.args(["--kernel-counts", "--pids", &list]);
        }
        let floor = spawn_until(cmd, false, "ready")?;
        let rate = load();
        floor.close()?;
        return Ok((rate?, None));
    }
    if how == How::Bpftrace {
        let filter = pids.iter().map(|pid| format!("pid == {pid}")).collect::<Vec<_>>().join(" || ");
        let mut cmd = Command::new("bpftrace");
        cmd.args(["-e", &BPFTRACE_SERVERS.replace("PIDS", &filter)]);
        let bpftrace = spawn_until(cmd, false, "Attaching")?;
        let rate = load();
        bpftrace.stop()?;
        return Ok((rate?, None));
    }
    Ok((load()?, None))
}

/// The run time (ns) of every BPF program loaded on the machine, by program id, from `bpftool
/// prog show` (counted while `kernel.bpf_stats_enabled` is 1): tracer's, the floor's and
/// bpftrace's alike.
fn programs_ns() -> Option<std::collections::HashMap<u64, u64>> {
    let out = Command::new("bpftool").args(["prog", "show", "-j"]).output().ok()?;
    let programs: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(programs.as_array()?.iter().filter_map(|program| Some((program["id"].as_u64()?, program["run_time_ns"].as_u64()?))).collect())
}

/// What the programs loaded at `after` ran since `before`: by id, so that the programs of a
/// tracer of the round before, still being unloaded at `before`, do not count against the
/// round's (its sum came out below the start's, and the row read 0).
fn programs_ran(before: &std::collections::HashMap<u64, u64>, after: &std::collections::HashMap<u64, u64>) -> u64 {
    after.iter().map(|(id, &ns)| ns.saturating_sub(before.get(id).copied().unwrap_or(0))).sum()
}

/// A server to measure: its label, how to start it, its load (requests per second) and the
/// requests a load makes.
type ServerCase = (&'static str, fn() -> Result<Server>, fn() -> Result<f64>, u64);

/// The servers' table, `rounds` interleaved rounds of every way each runs.
pub fn servers(rounds: usize) -> Result<String> {
    let have_bpftrace = Command::new("bpftrace").arg("--version").output().is_ok();
    let hows: Vec<How> = How::ALL.into_iter().filter(|&how| how != How::Bpftrace || have_bpftrace).collect();
    let mut table = String::new();
    let _ = writeln!(table, "\nReal servers from Debian on loopback, traced by pid while their own load tool runs, {rounds} interleaved rounds. The ratios are each round's figure over the untraced one of the same round, their median and range. Busy CPU is the whole machine's (user, system, irq, softirq; not idle or stolen) while the load ran, tracer's reader included. Events and reader CPU are per request, medians; \"cost against bpftrace's\" is the cost (1 - ratio) as a share of bpftrace's; the BPF programs' time (every program on the machine, through `bpftool prog show`) comes from one more round with the kernel's BPF stats on, whose own clock reads are in every row alike.\n");
    let servers: [ServerCase; 2] = [
        ("nginx, 2 workers, 5.5 KB page, `ab -n 20000 -c 10` (no keepalive)", start_nginx, nginx_load, NGINX_REQUESTS),
        ("redis-server, `redis-benchmark -n 200000 -c 20 -t get,set`", start_redis, redis_load, 2 * REDIS_REQUESTS),
    ];
    for (label, start, load, requests) in servers {
        let server = start()?;
        let pids = server.pids();
        // A first load warms the server's caches and the page cache alike for every case.
        load()?;
        let mut results: Vec<(How, Round)> = hows.iter().map(|&how| (how, Round::default())).collect();
        for n in 1..=rounds {
            for (how, round_figures) in results.iter_mut() {
                let busy = std::cell::Cell::new(0.0);
                let timed = || {
                    let before = busy_cpu_seconds()?;
                    let rate = load();
                    busy.set(busy_cpu_seconds()? - before);
                    rate
                };
                let (rate, traced) = round(*how, &pids, &timed)?;
                let busy_us = busy.get() * 1e6 / requests as f64;
                eprintln!("bench: round {n}/{rounds} {label}: {how:?} {rate:.0} req/s, busy CPU {busy_us:.1} µs a request");
                round_figures.rate.push(rate);
                round_figures.busy_cpu.push(busy_us);
                if let Some((events, cpu)) = traced {
                    round_figures.events.push(events / requests as f64);
                    round_figures.reader_cpu.push(cpu * 1e6 / requests as f64);
                }
            }
        }
        // One more round, untimed, with the kernel's BPF stats on (they add two clock reads to
        // every run): the programs' time a request, steadier than the rates.
        let mut program_ns: Vec<Option<f64>> = vec![None; results.len()];
        if fs::write(super::BPF_STATS, "1").is_ok() {
            for ((how, _), ns) in results.iter().zip(program_ns.iter_mut()) {
                let took = std::cell::Cell::new(None);
                let measured = || {
                    let before = programs_ns();
                    let rate = load();
                    took.set(before.zip(programs_ns()).map(|(before, after)| programs_ran(&before, &after) as f64 / requests as f64));
                    rate
                };
                if *how != How::Untraced && round(*how, &pids, &measured).is_ok() {
                    *ns = took.get();
                }
            }
            let _ = fs::write(super::BPF_STATS, "0");
        }
        drop(server);
        let untraced = &results[0].1;
        let bpftrace_cost = results.iter().find(|(how, _)| *how == How::Bpftrace).map(|(_, r)| 1.0 - paired_ratio(&r.rate, &untraced.rate).0);
        let _ = writeln!(table, "{label}:\n");
        let _ = writeln!(table, "| how it ran | req/s | ratio (rounds' range) | busy CPU, µs per request | CPU against untraced (range) | events per request | reader CPU, µs per request | cost against bpftrace's | BPF programs, ns per request |");
        let _ = writeln!(table, "|---|---|---|---|---|---|---|---|---|");
        for ((how, figures), programs) in results.iter().zip(&program_ns) {
            let (ratio, low, high) = paired_ratio(&figures.rate, &untraced.rate);
            let (cpu_ratio, cpu_low, cpu_high) = paired_ratio(&figures.busy_cpu, &untraced.busy_cpu);
            let per_request = |v: &[f64], digits: usize| if v.is_empty() { String::new() } else { format!("{:.*}", digits, median(v)) };
            let against = match bpftrace_cost {
                Some(cost) if *how != How::Untraced && cost > 0.0 => format!("{:.2}", (1.0 - ratio) / cost),
                _ => String::new(),
            };
            let programs = programs.map_or(String::new(), |ns| format!("{ns:.0}"));
            let _ = writeln!(
                table,
                "| {} | {:.0} | {ratio:.3} ({low:.3}-{high:.3}) | {} | {cpu_ratio:.3} ({cpu_low:.3}-{cpu_high:.3}) | {} | {} | {against} | {programs} |",
                how.describe(),
                median(&figures.rate),
                per_request(&figures.busy_cpu, 1),
                per_request(&figures.events, 2),
                per_request(&figures.reader_cpu, 1)
            );
        }
        let _ = writeln!(table);
    }
    Ok(table)
}
