//! `tracer compare BASELINE.json CURRENT.json`: latency regression check for CI.
//! Percentiles are recomputed from the exported histograms, so any percentile can be checked.
//! Exit status: 0 within bounds, 1 regression found, 2 bad input.
use std::{collections::BTreeSet, fmt::Write as _, path::PathBuf};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;

use super::{
    export::{read_export, Export, KeyStats},
    format::format_ns,
};
use crate::{
    syscalls,
    syscalls::{fd_class::KEY_KINDS, format::escape, selection::Selection},
};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    Quantile(f64),
    Max,
    Mean,
}

impl Metric {
    fn value(self, histogram: &Histogram<u64>) -> f64 {
        match self {
            Metric::Quantile(q) => histogram.value_at_quantile(q) as f64,
            Metric::Max => histogram.max() as f64,
            Metric::Mean => histogram.mean(),
        }
    }
}

/// A `--max-regression` bound: `p99=10%`.
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    pub name: String,
    pub metric: Metric,
    pub max_increase_pct: f64,
}

pub fn parse_bound(text: &str) -> Result<Bound, String> {
    let (name, pct) = text.split_once('=').ok_or_else(|| format!("'{text}': expected METRIC=PERCENT, e.g. p99=10%"))?;
    let metric = match name {
        "max" => Metric::Max,
        "mean" | "avg" => Metric::Mean,
        _ => {
            let p: f64 = name
                .strip_prefix('p')
                .and_then(|p| p.parse().ok())
                .filter(|p| (0.0..=100.0).contains(p))
                .ok_or_else(|| format!("'{name}': metric must be pNN (p50, p99, p99.9), max or mean"))?;
            // Rounded so that p99.9 is exactly the quantile the summary uses (0.999).
            Metric::Quantile((p * 1e3).round() / 1e5)
        }
    };
    let max_increase_pct: f64 = pct
        .trim_end_matches('%')
        .parse()
        .ok()
        .filter(|v: &f64| *v >= 0.0)
        .ok_or_else(|| format!("'{pct}': expected a non-negative percentage, e.g. 10%"))?;
    Ok(Bound { name: name.to_string(), metric, max_increase_pct })
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Markdown,
}

#[derive(Clone, Debug, clap::Args)]
pub struct CompareArgs {
    /// Export of the reference run (tracer --export).
    pub baseline: PathBuf,
    /// Export of the run to check.
    pub current: PathBuf,
    /// Largest accepted increase of a metric, repeatable: p99=10% p50=20% p99.9=25% max=50%
    /// mean=10% (default: p99=10%).
    #[arg(long = "max-regression", value_name = "METRIC=PCT", value_parser = parse_bound)]
    pub bounds: Vec<Bound>,
    /// Ignore keys with fewer timed calls than this in either run (a p99 of a handful of
    /// calls is noise).
    #[arg(long = "min-count", default_value_t = 100)]
    pub min_count: u64,
    /// Only these keys, comma-separated: syscall names and %classes, network/I/O keys
    /// (socket:read, tcp:connect) or all of a kind (socket:*); %network includes socket:* and
    /// tcp:*.
    #[arg(long = "keys", value_delimiter = ',')]
    pub keys: Vec<String>,
    #[arg(long = "format", value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// One key's verdict on one metric.
#[derive(Clone, Debug)]
pub struct Check {
    pub key: String,
    pub metric: String,
    pub baseline: f64,
    pub current: f64,
    pub change_pct: f64,
    pub limit_pct: f64,
    pub regression: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Comparison {
    pub checks: Vec<Check>,
    /// Keys left out, with why: in one run only, or too few calls.
    pub skipped: Vec<(String, String)>,
}

impl Comparison {
    pub fn regressions(&self) -> usize {
        self.checks.iter().filter(|c| c.regression).count()
    }
}

/// Runs the command; returns the exit status (bad input is 2, with its one-line error).
pub fn run(args: &CompareArgs) -> i32 {
    match compare_files(args) {
        Ok((comparison, text)) => {
            print!("{text}");
            i32::from(comparison.regressions() > 0)
        }
        Err(err) => {
            eprintln!("tracer compare: {err:#}");
            2
        }
    }
}

fn compare_files(args: &CompareArgs) -> Result<(Comparison, String)> {
    let baseline = read_export(&args.baseline)?;
    let current = read_export(&args.current)?;
    let wanted = KeySelection::parse(&args.keys)?;
    let default_bounds = [Bound { name: "p99".into(), metric: Metric::Quantile(0.99), max_increase_pct: 10.0 }];
    let bounds = if args.bounds.is_empty() { &default_bounds[..] } else { &args.bounds[..] };
    let comparison = compare(&baseline, &current, bounds, args.min_count, wanted.as_ref())?;
    let text = render(&comparison, args.format, &args.baseline, &args.current);
    Ok((comparison, text))
}

/// The keys `--keys` selects: syscall names and %classes (as for `-e`), network/I/O keys by
/// name (`socket:read`) or kind (`socket:*`); `%network` also takes every `socket:` and `tcp:`
/// key.
#[derive(Clone, Debug, Default)]
pub struct KeySelection {
    syscalls: BTreeSet<String>,
    net_keys: BTreeSet<String>,
    net_kinds: BTreeSet<String>,
}

impl KeySelection {
    /// `None` selects every key.
    pub fn parse(items: &[String]) -> Result<Option<Self>> {
        if items.is_empty() {
            return Ok(None);
        }
        let mut selection = Self::default();
        let mut syscall_items = Vec::new();
        for item in items.iter().map(|item| item.trim()) {
            match item.split_once(':') {
                Some((kind, name)) if KEY_KINDS.contains(&kind) => {
                    if name == "*" {
                        selection.net_kinds.insert(kind.to_string());
                    } else {
                        selection.net_keys.insert(item.to_string());
                    }
                }
                Some((kind, _)) => bail!("--keys: unknown key kind '{kind}' in '{item}' (kinds: {})", KEY_KINDS.join(", ")),
                None => {
                    if item == "%network" {
                        selection.net_kinds.extend(["socket".to_string(), "tcp".to_string()]);
                    }
                    syscall_items.push(item);
                }
            }
        }
        if !syscall_items.is_empty() {
            let set = Selection::parse_list(&syscall_items).context("--keys")?;
            selection.syscalls = match set.shown() {
                Some(set) => set.iter().filter_map(syscalls::name).map(String::from).collect(),
                None => (0..tracer_common::syscalls::MAX_SYSCALLS).filter_map(syscalls::name).map(String::from).collect(),
            };
        }
        Ok(Some(selection))
    }

    pub fn contains(&self, key: &str) -> bool {
        match key.split_once(':') {
            Some((kind, _)) => self.net_keys.contains(key) || self.net_kinds.contains(kind),
            None => self.syscalls.contains(key),
        }
    }
}

/// A key's histogram: decoded already by `read_export`, else now.
fn histogram(key: &KeyStats) -> Result<std::borrow::Cow<'_, Histogram<u64>>> {
    Ok(match &key.latency {
        Some(latency) => std::borrow::Cow::Borrowed(latency),
        None => std::borrow::Cow::Owned(key.decode_histogram()?),
    })
}

pub fn compare<'a>(
    baseline: &'a Export,
    current: &'a Export,
    bounds: &[Bound],
    min_count: u64,
    wanted: Option<&KeySelection>,
) -> Result<Comparison> {
    let find = |export: &'a Export, key: &str| export.keys.iter().find(|k| k.key == key);
    let all_keys: BTreeSet<&str> = baseline.keys.iter().chain(&current.keys).map(|k| k.key.as_str()).collect();
    let mut comparison = Comparison::default();
    for key in all_keys {
        if wanted.is_some_and(|w| !w.contains(key)) {
            continue;
        }
        let (Some(base), Some(cur)) = (find(baseline, key), find(current, key)) else {
            let why = if find(baseline, key).is_none() { "only in current" } else { "only in baseline" };
            comparison.skipped.push((key.to_string(), why.to_string()));
            continue;
        };
        let (base_h, cur_h) = (histogram(base)?, histogram(cur)?);
        if base_h.is_empty() || cur_h.is_empty() {
            comparison.skipped.push((key.to_string(), "no timed calls (never returns)".to_string()));
            continue;
        }
        if base_h.len() < min_count || cur_h.len() < min_count {
            comparison.skipped.push((key.to_string(), format!("fewer than {min_count} timed calls")));
            continue;
        }
        for bound in bounds {
            let (b, c) = (bound.metric.value(&base_h), bound.metric.value(&cur_h));
            let change_pct = if b > 0.0 { (c - b) / b * 100.0 } else if c > 0.0 { f64::INFINITY } else { 0.0 };
            comparison.checks.push(Check {
                key: key.to_string(),
                metric: bound.name.clone(),
                baseline: b,
                current: c,
                change_pct,
                limit_pct: bound.max_increase_pct,
                regression: change_pct > bound.max_increase_pct,
            });
        }
    }
    if comparison.checks.is_empty() {
        // Passing a CI job that checked nothing would hide a broken benchmark or export.
        bail!(
            "nothing was compared: {} (check the files, --keys and --min-count)",
            match comparison.skipped.len() {
                0 => "no key selected".to_string(),
                n => format!("all {n} keys were skipped"),
            }
        );
    }
    Ok(comparison)
}

pub fn render(comparison: &Comparison, format: Format, baseline: &std::path::Path, current: &std::path::Path) -> String {
    let mut out = String::new();
    let header = ["key", "metric", "baseline", "current", "change", "limit", "status"];
    let rows: Vec<[String; 7]> = comparison
        .checks
        .iter()
        .map(|c| {
            [
                // A key may carry a group's name (`--by comm`): the traced process's own text.
                escape(&c.key),
                c.metric.clone(),
                format_ns(c.baseline.round() as u64),
                format_ns(c.current.round() as u64),
                format!("{:+.1}%", c.change_pct),
                format!("+{}%", c.limit_pct),
                if c.regression { "REGRESSION".into() } else { "ok".into() },
            ]
        })
        .collect();
    let verdict = match comparison.regressions() {
        0 => "no regression".to_string(),
        n => format!("{n} regression{}", if n == 1 { "" } else { "s" }),
    };
    match format {
        Format::Text => {
            let _ = writeln!(out, "baseline: {}\ncurrent:  {}\n", baseline.display(), current.display());
            let _ = writeln!(out, "{:<20} {:>7} {:>10} {:>10} {:>9} {:>7}  {}", header[0], header[1], header[2], header[3], header[4], header[5], header[6]);
            for r in &rows {
                let _ = writeln!(out, "{:<20} {:>7} {:>10} {:>10} {:>9} {:>7}  {}", r[0], r[1], r[2], r[3], r[4], r[5], r[6]);
            }
            for (key, why) in &comparison.skipped {
                let _ = writeln!(out, "{:<20} skipped: {why}", escape(key));
            }
            let _ = writeln!(out, "\n{verdict}");
        }
        Format::Markdown => {
            let _ = writeln!(out, "### Latency comparison: {verdict}\n");
            let _ = writeln!(out, "Baseline `{}`, current `{}`.\n", baseline.display(), current.display());
            let _ = writeln!(out, "| {} |", header.join(" | "));
            let _ = writeln!(out, "|{}|", ["---"; 7].join("|"));
            for r in &rows {
                let status = if r[6] == "ok" { "ok".to_string() } else { format!("**{}**", r[6]) };
                let _ = writeln!(out, "| {} | {} | {} | {} | {} | {} | {status} |", r[0], r[1], r[2], r[3], r[4], r[5]);
            }
            if !comparison.skipped.is_empty() {
                let skipped: Vec<String> = comparison.skipped.iter().map(|(k, why)| format!("`{}` ({why})", escape(k))).collect();
                let _ = writeln!(out, "\nSkipped: {}.", skipped.join(", "));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bounds() {
        assert_eq!(parse_bound("p99=10%").unwrap(), Bound { name: "p99".into(), metric: Metric::Quantile(0.99), max_increase_pct: 10.0 });
        assert_eq!(parse_bound("p99.9=25").unwrap().metric, Metric::Quantile(0.999));
        assert_eq!(parse_bound("max=50%").unwrap().metric, Metric::Max);
        assert!(parse_bound("p99").is_err());
        assert!(parse_bound("p101=1%").is_err());
        assert!(parse_bound("p99=-3%").is_err());
        assert!(parse_bound("median=3%").is_err());
    }

    #[test]
    fn key_selection_takes_syscalls_network_keys_and_kinds() {
        let keys = |items: &[&str]| KeySelection::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap().unwrap();
        let network = keys(&["%network"]);
        assert!(network.contains("accept4") && network.contains("socket:read") && network.contains("tcp:connect"));
        assert!(!network.contains("read") && !network.contains("pipe:read"));
        let some = keys(&["read", "pipe:write", "file:*"]);
        assert!(some.contains("read") && some.contains("pipe:write") && some.contains("file:pread64"));
        assert!(!some.contains("write") && !some.contains("pipe:read") && !some.contains("socket:read"));
        assert!(KeySelection::parse(&["disk:read".to_string()]).is_err());
        assert!(KeySelection::parse(&["reed".to_string()]).is_err());
        assert!(KeySelection::parse(&[]).unwrap().is_none());
    }

    /// Fuzz target: an export as a user passes it to `tracer compare`, read and compared both
    /// ways with a real one, whose figures it shares: an error or a verdict, never a panic.
    #[test]
    fn fuzz_export_and_compare() {
        let (_, seed) = crate::fuzz::corpus("export").into_iter().find(|(name, _)| name == "slow.json").unwrap();
        let real = super::super::export::parse_export(&seed, "slow.json").unwrap();
        let bounds: Vec<Bound> = ["p50=0%", "p99.9=10%", "max=1%", "mean=5%", "p0=0%", "p100=0%"].iter().map(|b| parse_bound(b).unwrap()).collect();
        let wanted = KeySelection::parse(&["%network".to_string(), "read".to_string()]).unwrap();
        crate::fuzz::fuzz("export", |text| {
            let Ok(export) = super::super::export::parse_export(text, "fuzzed.json") else { return };
            for (baseline, current) in [(&real, &export), (&export, &real), (&export, &export)] {
                for wanted in [None, wanted.as_ref()] {
                    if let Ok(comparison) = compare(baseline, current, &bounds, 0, wanted) {
                        let _ = comparison.regressions();
                        for format in [Format::Text, Format::Markdown] {
                            render(&comparison, format, std::path::Path::new("a.json"), std::path::Path::new("b.json"));
                        }
                    }
                }
            }
        });
    }
}
