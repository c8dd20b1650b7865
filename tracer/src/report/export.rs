//! Exports: the JSON export (versioned, with full histograms) and HdrHistogram interval logs,
//! each file written whole (atomic_file.rs).
use std::{
    collections::BTreeMap,
    fs,
    io::Write,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use anyhow::{bail, Context, Result};
use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
use hdrhistogram::{
    serialization::{interval_log, Deserializer, Serializer, V2DeflateSerializer},
    Histogram,
};
use serde::{Deserialize, Serialize};

use super::{
    atomic_file::{write_atomic, AtomicFile},
    format::WallClock,
    rows::{sorted_rows, SortKey},
    sink::{Control, IntervalSink, Tick},
};
use crate::{
    syscalls,
    model::{
        table::StatsTable,
        cpu_quota::Throttling,
        go_runtime::{self, GoMaxProcsSource, GoSeen},
        groups::Groups,
        histogram::SIGNIFICANT_DIGITS,
        net::{NetIntervals, NetStats},
        slow::{Frame, SlowCalls},
    },
};

pub const SCHEMA: &str = "tracer-export";
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON export. Version 1; docs/export.md documents every field.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Export {
    pub schema: String,
    pub version: u32,
    pub meta: Meta,
    pub keys: Vec<KeyStats>,
    /// With `--slow`: the slow calls (absent otherwise, and in exports before it was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow: Option<SlowExport>,
    /// CPU quota and CFS throttling of the traced cgroups over the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttling: Vec<Throttling>,
    /// The Go programs among the traced processes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub go: Vec<GoExport>,
}

/// A Go program: what its binary and /proc say of its GOMAXPROCS, and the note if it disagrees
/// with its cgroup's CPU quota.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GoExport {
    pub pid: u32,
    pub comm: String,
    pub go_version: String,
    pub module: Option<String>,
    /// Absent when it cannot be known from outside (set at run time by the program).
    pub gomaxprocs: Option<u32>,
    /// "environment", "cpus_allowed", "cgroup_aware" or "set_at_run_time".
    pub gomaxprocs_source: String,
    pub cpus_allowed: u32,
    pub threads: u32,
    pub quota_cpus: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

pub fn go_export(seen: &GoSeen, runq_share: Option<f64>) -> GoExport {
    let g = &seen.go;
    GoExport {
        pid: g.pid,
        comm: seen.comm.clone(),
        go_version: g.build.version.clone(),
        module: g.build.main_module.clone(),
        gomaxprocs: g.gomaxprocs,
        gomaxprocs_source: match g.source {
            GoMaxProcsSource::Environment => "environment",
            GoMaxProcsSource::CpusAllowed => "cpus_allowed",
            GoMaxProcsSource::CgroupAware => "cgroup_aware",
            GoMaxProcsSource::SetAtRunTime => "set_at_run_time",
        }
        .into(),
        cpus_allowed: g.cpus_allowed,
        threads: g.threads,
        quota_cpus: seen.quota_cpus,
        note: seen.quota_cpus.and_then(|quota| go_runtime::quota_note(g, quota, runq_share)),
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SlowExport {
    pub threshold_ns: u64,
    pub count: u64,
    pub total_ns: u64,
    /// Slow-call records the ring buffer had no room for (the calls are in `keys`).
    pub lost_records: u64,
    /// The slowest calls, slowest first.
    pub slowest: Vec<SlowCallExport>,
    /// Slow calls by call site (distinct stack), the most total time first.
    pub sites: Vec<SlowSiteExport>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SlowCallExport {
    /// Local time of day of the call's entry, as the line shows it.
    pub time: String,
    pub tgid: u32,
    pub tid: u32,
    pub comm: String,
    /// The call in strace's shape: `read(3<pipe>, 1) = 1`.
    pub call: String,
    pub duration_ns: u64,
    pub blocked_ns: u64,
    pub runq_ns: u64,
    /// A Go program's goroutine (`goroutine N` of `runtime.Stack`), where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goroutine: Option<u64>,
    /// Innermost frame first: `function (file:line)`.
    pub user_stack: Vec<String>,
    pub kernel_stack: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SlowSiteExport {
    pub count: u64,
    pub total_ns: u64,
    pub max_ns: u64,
    pub user_stack: Vec<String>,
    pub kernel_stack: Vec<String>,
}

fn frame_names(frames: &[Frame]) -> Vec<String> {
    frames.iter().map(Frame::to_string).collect()
}

/// The export's `slow` field.
pub fn slow_export(slow: &SlowCalls, lost_records: u64, clock: &WallClock) -> SlowExport {
    SlowExport {
        threshold_ns: slow.threshold_ns,
        count: slow.count,
        total_ns: slow.total_ns,
        lost_records,
        slowest: slow
            .slowest
            .iter()
            .map(|c| SlowCallExport {
                time: clock.time_of_day(c.start_ns),
                tgid: c.tgid,
                tid: c.tid,
                comm: c.comm.clone(),
                call: c.text.clone(),
                duration_ns: c.duration_ns,
                blocked_ns: c.blocked_ns,
                runq_ns: c.runq_ns,
                goroutine: c.goroutine,
                user_stack: frame_names(&c.user_stack),
                kernel_stack: frame_names(&c.kernel_stack),
            })
            .collect(),
        sites: slow
            .sites()
            .into_iter()
            .map(|s| SlowSiteExport {
                count: s.count,
                total_ns: s.total_ns,
                max_ns: s.max_ns,
                user_stack: frame_names(&s.user_stack),
                kernel_stack: frame_names(&s.kernel_stack),
            })
            .collect(),
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    /// What was traced: "pid 1234 (nginx)" or "command: ./server --port 80".
    pub target: String,
    /// The tracer's own command line.
    pub command_line: Vec<String>,
    /// `uname -r` of the traced machine.
    pub kernel: String,
    pub start: String,
    pub end: String,
    pub duration_s: f64,
    pub events: u64,
    /// Calls counted in the kernel, without an event of their own (absent from older exports).
    #[serde(default)]
    pub kernel_calls: u64,
    pub lost_events: u64,
    pub significant_digits: u8,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyGroup {
    /// "cgroup" or "comm".
    pub by: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyStats {
    /// The syscall name, or a network/I/O key: `socket:read`, `pipe:write`, `tcp:connect`.
    pub key: String,
    /// "syscall"; "io" for a read/write-family syscall on one kind of fd; "tcp" for accept
    /// waits and connect (SYN to established) times.
    pub kind: String,
    pub calls: u64,
    pub errors: u64,
    /// Calls that never returned (`exit_group`); they are not in the histogram.
    pub no_return: u64,
    /// Calls already in progress when tracing began: in `calls` and `errors`, not in the
    /// histogram (their latency is unknown). Absent (0) in exports before it was added.
    #[serde(default)]
    pub in_flight: u64,
    pub total_ns: u64,
    /// Of `total_ns`: on a CPU, waiting in the run queue, blocked. Absent with --no-sched
    /// (not measured), and from I/O keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_cpu_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runq_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_ns: Option<u64>,
    pub mean_ns: f64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    pub errnos: BTreeMap<String, u64>,
    /// With `--by`: the group whose figures these are (the key is then "GROUP/KEY"); absent for
    /// the totals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<KeyGroup>,
    /// Bytes moved, for "io" keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The latency histogram (ns): HdrHistogram V2 deflate encoding, base64.
    pub histogram: String,
    /// `histogram`, decoded by [`read_export`].
    #[serde(skip)]
    pub latency: Option<Histogram<u64>>,
}

impl KeyStats {
    pub fn decode_histogram(&self) -> Result<Histogram<u64>> {
        let bytes = BASE64.decode(&self.histogram).with_context(|| format!("key {}: histogram is not base64", self.key))?;
        decode_histogram(&bytes).with_context(|| format!("key {}", self.key))
    }

    /// A key's figures from its histogram; the caller fills in what the histogram cannot say.
    fn from_histogram(key: &str, kind: &str, latency: &Histogram<u64>, total_ns: u64) -> Result<Self> {
        let q = |quantile| latency.value_at_quantile(quantile);
        Ok(Self {
            key: key.to_string(),
            kind: kind.to_string(),
            calls: latency.len(),
            errors: 0,
            no_return: 0,
            in_flight: 0,
            total_ns,
            on_cpu_ns: None,
            runq_ns: None,
            blocked_ns: None,
            mean_ns: latency.mean(),
            p50_ns: q(0.5),
            p90_ns: q(0.9),
            p99_ns: q(0.99),
            p999_ns: q(0.999),
            max_ns: latency.max(),
            errnos: BTreeMap::new(),
            group: None,
            bytes: None,
            histogram: encode_histogram(latency)?,
            latency: None,
        })
    }
}

/// Cookies of HdrHistogram's V2 encoding, plain and deflated (with its 8-byte word flag).
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_DEFLATE_COOKIE: u32 = 0x1c84_9314;
/// Bytes of the V2 header: cookie, payload length, normalizing offset, significant digits,
/// lowest and highest trackable values, integer-to-double ratio.
const V2_HEADER: usize = 40;
/// The largest V2 encoding accepted, inflated: one of tracer's histograms (3 significant
/// digits, at most ~56k counters of at most 9 bytes) takes at most ~500 KiB.
const MAX_HISTOGRAM_BYTES: usize = 4 << 20;

/// An HdrHistogram in its serialized form (V2, deflated or not): an export's `histogram`
/// fields and an interval log's lines carry them, base64-encoded. The header is checked before
/// hdrhistogram reads it, which would allocate what its length field says (up to 4 GiB, from
/// a 40-byte input) and a counts array as precise as its significant digits ask (up to 5).
pub fn decode_histogram(bytes: &[u8]) -> Result<Histogram<u64>> {
    use std::io::Read;
    let word = |b: &[u8], at: usize| b.get(at..at + 4).map(|w| u32::from_be_bytes(w.try_into().unwrap()));
    let inflated;
    let v2 = if word(bytes, 0) == Some(V2_DEFLATE_COOKIE) {
        let len = word(bytes, 4).context("histogram: truncated")? as usize;
        let deflated = bytes[8..].get(..len).context("histogram: truncated")?;
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(deflated)
            .take(MAX_HISTOGRAM_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .context("histogram does not inflate")?;
        if out.len() > MAX_HISTOGRAM_BYTES {
            bail!("histogram: over {MAX_HISTOGRAM_BYTES} bytes inflated");
        }
        inflated = out;
        &inflated[..]
    } else {
        bytes
    };
    if word(v2, 0) == Some(V2_COOKIE) {
        let (payload, digits) = word(v2, 4).zip(word(v2, 12)).context("histogram: truncated")?;
        if payload as usize > v2.len().saturating_sub(V2_HEADER) {
            bail!("histogram: a payload of {payload} bytes in {} bytes", v2.len());
        }
        if digits > u32::from(SIGNIFICANT_DIGITS) {
            bail!("histogram: {digits} significant digits (tracer's have {SIGNIFICANT_DIGITS})");
        }
    }
    Deserializer::new().deserialize(&mut &v2[..]).map_err(|e| anyhow::anyhow!("histogram does not decode: {e:?}"))
}

pub fn encode_histogram(histogram: &Histogram<u64>) -> Result<String> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot encode a histogram: {e:?}"))?;
    Ok(BASE64.encode(bytes))
}

/// Facts about the run that the export's metadata records.
pub struct RunInfo {
    pub target: String,
    pub command_line: Vec<String>,
    pub started_at: SystemTime,
    pub ended_at: SystemTime,
    pub duration: Duration,
    pub lost: u64,
    /// Whether a call's time was split into on-CPU, run queue and blocked (not `--no-sched`).
    pub time_split: bool,
}

/// What an export holds besides the totals.
pub struct Extras<'a> {
    pub slow: Option<SlowExport>,
    pub groups: Option<&'a Groups>,
    pub throttling: Vec<Throttling>,
    pub go: Vec<GoExport>,
}

pub fn build_export(totals: &StatsTable, net: &NetStats, extras: Extras, info: &RunInfo) -> Result<Export> {
    let mut keys = syscall_keys(totals, None, info.time_split)?;
    if let Some(groups) = extras.groups {
        for group in groups.sorted() {
            keys.extend(syscall_keys(&group.table, Some(KeyGroup { by: groups.by.label().into(), name: group.name.clone() }), info.time_split)?);
        }
    }
    for net_key in net.keys() {
        let kind = if net_key.moves_bytes { "io" } else { "tcp" };
        let mut key = KeyStats::from_histogram(&net_key.key, kind, &net_key.stats.latency, net_key.stats.total_ns)?;
        key.calls = net_key.stats.calls();
        key.in_flight = net_key.stats.untimed;
        key.errors = net_key.stats.errors;
        key.bytes = net_key.moves_bytes.then_some(net_key.stats.bytes);
        keys.push(key);
    }
    Ok(Export {
        schema: SCHEMA.into(),
        version: SCHEMA_VERSION,
        meta: Meta {
            target: info.target.clone(),
            command_line: info.command_line.clone(),
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string(),
            start: humantime::format_rfc3339_millis(info.started_at).to_string(),
            end: humantime::format_rfc3339_millis(info.ended_at).to_string(),
            duration_s: info.duration.as_secs_f64(),
            events: totals.events,
            kernel_calls: totals.kernel_calls,
            lost_events: info.lost,
            significant_digits: SIGNIFICANT_DIGITS,
        },
        keys,
        slow: extras.slow,
        throttling: extras.throttling,
        go: extras.go,
    })
}

/// One key per syscall of a table; a group's keys are named "GROUP/SYSCALL".
fn syscall_keys(table: &StatsTable, group: Option<KeyGroup>, time_split: bool) -> Result<Vec<KeyStats>> {
    let mut keys = Vec::new();
    for (name, stats) in sorted_rows(table, SortKey::Name) {
        let key_name = match &group {
            Some(group) => format!("{}/{name}", group.name),
            None => name.to_string(),
        };
        let mut key = KeyStats::from_histogram(&key_name, "syscall", &stats.latency, stats.total_ns)?;
        key.calls = stats.calls;
        key.errors = stats.errors;
        key.no_return = stats.no_return;
        key.in_flight = stats.in_flight;
        if time_split {
            (key.on_cpu_ns, key.runq_ns, key.blocked_ns) = (Some(stats.on_cpu_ns()), Some(stats.runq_ns), Some(stats.blocked_ns));
        }
        key.errnos = stats.errnos.iter().map(|(errno, n)| (syscalls::errno_name(*errno), *n)).collect();
        key.group = group.clone();
        keys.push(key);
    }
    Ok(keys)
}

pub fn write_export(path: &Path, export: &Export) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(export)?;
    json.push(b'\n');
    write_atomic(path, &json)
}

/// The largest export read. Exports are passed around (CI artifacts), so they are input like
/// any other; a tracer export of 50 groups' syscalls and fd kinds takes a few MB.
const MAX_EXPORT_BYTES: u64 = 256 << 20;
/// The most histogram counters an export may decode to, all keys together (8 bytes each:
/// 512 MiB). One histogram is bounded by its checked header (about 1 MiB at most), but a file
/// of many small keys whose headers claim the widest range would otherwise take a thousand
/// times its size.
const MAX_EXPORT_COUNTERS: usize = 64 << 20;

/// Reads and validates an export: bad input is one clear error.
pub fn read_export(path: &Path) -> Result<Export> {
    use std::io::Read;
    let file = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut text = Vec::new();
    file.take(MAX_EXPORT_BYTES + 1).read_to_end(&mut text).with_context(|| format!("cannot read {}", path.display()))?;
    if text.len() as u64 > MAX_EXPORT_BYTES {
        bail!("{} is over {} MiB: not an export of tracer's", path.display(), MAX_EXPORT_BYTES >> 20);
    }
    parse_export(&text, &path.display().to_string())
}

/// Validates an export's bytes, its histograms decoded; `name` (the file's) starts the errors.
pub fn parse_export(text: &[u8], name: &str) -> Result<Export> {
    let value: serde_json::Value = serde_json::from_slice(text).with_context(|| format!("{name} is not valid JSON"))?;
    if value.get("schema").and_then(|s| s.as_str()) != Some(SCHEMA) {
        bail!("{name} is not a tracer export (no \"schema\": \"{SCHEMA}\")");
    }
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version != u64::from(SCHEMA_VERSION) {
        bail!("{name} has export version {version}; this tracer reads version {SCHEMA_VERSION}");
    }
    let mut export: Export = serde_json::from_value(value).with_context(|| format!("{name} is not a valid tracer export"))?;
    let mut counters = 0usize;
    for key in &mut export.keys {
        let histogram = key.decode_histogram().with_context(|| format!("{name} is corrupt"))?;
        counters += histogram.distinct_values();
        if counters > MAX_EXPORT_COUNTERS {
            bail!("{name}: its histograms take over {} MiB decoded: not an export of tracer's", (MAX_EXPORT_COUNTERS * 8) >> 20);
        }
        key.latency = Some(histogram);
    }
    Ok(export)
}

/// HdrHistogram interval log: one line per interval per syscall, tagged with its name, readable
/// by HdrHistogram's own tools (HistogramLogProcessor and friends). Latencies in ns; the max
/// column is in seconds (max value divisor 1e9). Appended to a temporary file next to the
/// target, renamed into place at the end: an interrupted run leaves no half-written log.
pub struct IntervalLogSink {
    file: Option<AtomicFile>,
    net_intervals: NetIntervals,
}

impl IntervalLogSink {
    pub fn create(path: PathBuf, started_at: SystemTime) -> Result<Self> {
        let mut file = AtomicFile::create(path)?;
        write!(
            file,
            "#[Histogram log format version 1.3]\n#[tracer interval log: latencies in ns, tags are syscall names and network/I/O keys]\n\
             #[StartTime: {:.3} (seconds since epoch), {}]\n\
             \"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
            started_at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64(),
            humantime::format_rfc3339_millis(started_at),
        )?;
        Ok(Self { file: Some(file), net_intervals: NetIntervals::default() })
    }
}

impl IntervalSink for IntervalLogSink {
    fn on_interval(&mut self, tick: &Tick) -> Result<Control> {
        let Some(file) = self.file.as_mut() else { return Ok(Control::Continue) };
        let mut serializer = V2DeflateSerializer::new();
        let mut out = Vec::new();
        {
            let mut writer = interval_log::IntervalLogWriterBuilder::new()
                .with_max_value_divisor(1e9)
                .begin_log_with(&mut out, &mut serializer)?;
            let mut write = |tag: &str, latency: &Histogram<u64>| -> Result<()> {
                if !latency.is_empty() {
                    writer
                        .write_histogram(latency, tick.start, tick.length, interval_log::Tag::new(tag))
                        .map_err(|e| anyhow::anyhow!("interval log: {e:?}"))?;
                }
                Ok(())
            };
            for (name, stats) in sorted_rows(tick.interval, SortKey::Name) {
                write(name, &stats.latency)?;
            }
            for (key, interval) in self.net_intervals.next(tick.net) {
                write(&key.key, &interval.latency)?;
            }
        }
        // The writer starts with a header of its own; the file already has one.
        let text = String::from_utf8(out)?;
        for line in text.lines().filter(|line| !line.starts_with('#') && !line.starts_with("\"StartTimestamp\"")) {
            writeln!(file, "{line}")?;
        }
        Ok(Control::Continue)
    }

    fn finish(&mut self) -> Result<()> {
        match self.file.take() {
            Some(file) => file.commit(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing: hdrhistogram sizes a buffer from the payload length field (4 GiB from
    /// 40 bytes) and a counts array from the significant digits (48 MiB at 5): refused first.
    #[test]
    fn refuses_histograms_that_would_cost_memory() {
        for (name, bytes) in crate::fuzz::corpus("histogram") {
            match name.strip_prefix("regress-") {
                Some(_) => assert!(decode_histogram(&bytes).is_err(), "{name}"),
                None => assert!(!decode_histogram(&bytes).unwrap().is_empty(), "{name}"),
            }
        }
    }

    /// Fuzz target: a serialized histogram, as an export's `histogram` fields and an interval
    /// log's lines carry it (tracer writes interval logs, it does not read them back), decoded
    /// and asked what `tracer compare` and the summary ask.
    #[test]
    fn fuzz_histogram() {
        crate::fuzz::fuzz("histogram", |bytes| {
            if let Ok(histogram) = decode_histogram(bytes) {
                let _ = (histogram.len(), histogram.mean(), histogram.max(), histogram.min(), histogram.stdev());
                for quantile in [0.0, 0.5, 0.99, 0.999, 1.0] {
                    histogram.value_at_quantile(quantile);
                }
                let _ = encode_histogram(&histogram);
            }
        });
    }
}

#[cfg(test)]
mod limits {
    use super::*;

    /// Many keys, each a histogram whose range is the widest (one value near 2^62): each a few
    /// dozen bytes, together more counters than any export of tracer's decodes to.
    #[test]
    fn refuses_exports_whose_histograms_would_cost_memory() {
        let template = crate::fuzz::corpus("export").into_iter().find(|(name, _)| name == "plain.json").unwrap().1;
        let mut value: serde_json::Value = serde_json::from_slice(&template).unwrap();
        let mut wide = crate::model::histogram::new_histogram();
        wide.record(1 << 62).unwrap();
        let key = {
            let mut key = value["keys"][0].clone();
            key["histogram"] = serde_json::Value::String(encode_histogram(&wide).unwrap());
            key
        };
        value["keys"] = serde_json::Value::Array(vec![key; MAX_EXPORT_COUNTERS / wide.distinct_values() + 1]);
        let err = parse_export(&serde_json::to_vec(&value).unwrap(), "over").unwrap_err();
        assert!(err.to_string().contains("take over 512 MiB decoded"), "{err:#}");
    }
}
