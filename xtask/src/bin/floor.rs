//! Benchmark helper: attaches reference programs to the tracer's hooks, says "ready" on
//! stdout, and detaches when stdin closes. `floor` attaches empty programs; `--clock` programs
//! that only read the clock; `--paired` also pair each exit with its entry; `--ring` also send
//! an event per call through the ring buffer (drained here, the count printed at the end);
//! `--kernel-counts` instead count calls in a per-CPU histogram per syscall in the kernel.
//! `--pids P,Q,...` (after the kind) makes the paired programs look at those processes alone. With
//! `kernel.bpf_stats_enabled=1`, it prints its programs' run time as it detaches.
//!
//! Built only by `cargo xtask bench` (feature `bench`, which gives tracer the reference object).
use std::{
    io::{Read, Write},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
};

use tracer::kernel::{
    probes::program_run_time,
    reference::{attach_reference_probes, take_ring, ReferenceProbes},
};

const USAGE: &str = "usage: floor [--clock|--paired|--ring|--kernel-counts] [--pids P,Q,...]";

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let pids = match args.iter().position(|a| a == "--pids") {
        Some(at) => {
            let list = args.get(at + 1).cloned().unwrap_or_default();
            args.drain(at..(at + 2).min(args.len()));
            match list.split(',').map(str::parse).collect::<Result<Vec<u32>, _>>() {
                Ok(pids) => pids,
                Err(_) => {
                    eprintln!("floor: --pids wants a list of pids, not '{list}'; {USAGE}");
                    std::process::exit(2);
                }
            }
        }
        None => Vec::new(),
    };
    let kind = match args.first().map(String::as_str) {
        None => ReferenceProbes::Empty,
        Some("--clock") => ReferenceProbes::Clock,
        Some("--paired") => ReferenceProbes::Paired,
        Some("--ring") => ReferenceProbes::Ring,
        Some("--kernel-counts") => ReferenceProbes::KernelCounts,
        Some(other) => {
            eprintln!("floor: unknown argument {other}; {USAGE}");
            std::process::exit(2);
        }
    };
    let mut probes = match attach_reference_probes(kind, &pids) {
        Ok(probes) => probes,
        Err(err) => {
            eprintln!("floor: {err:#}");
            std::process::exit(1);
        }
    };
    let (done, received) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let drainer = matches!(kind, ReferenceProbes::Ring).then(|| {
        let mut ring = take_ring(&mut probes).expect("ring buffer");
        let (done, received) = (done.clone(), received.clone());
        // On the other CPU, as tracer's reader: polled, since the programs never wake it.
        std::thread::spawn(move || loop {
            let mut n = 0;
            while ring.next().is_some() {
                n += 1;
            }
            received.fetch_add(n, Ordering::Relaxed);
            if n == 0 {
                if done.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        })
    });
    println!("ready");
    std::io::stdout().flush().unwrap();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    // As `tracer --own-usage` says it, for the benchmark's rounds with BPF stats on.
    if let Some(programs) = program_run_time(&probes) {
        println!("floor: kernel programs {:.6}s in {} runs", programs.time.as_secs_f64(), programs.runs);
    }
    drop(probes);
    done.store(true, Ordering::Relaxed);
    if let Some(drainer) = drainer {
        let _ = drainer.join();
        eprintln!("floor: {} events received", received.load(Ordering::Relaxed));
    }
}
