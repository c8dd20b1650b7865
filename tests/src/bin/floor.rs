//! Benchmark helper: attaches reference programs to the tracer's hooks, says "ready" on
//! stdout, and detaches when stdin closes. `floor` attaches empty programs; `floor --clock`
//! programs that only read the clock.
use std::io::{Read, Write};

use tracer::kernel::probes::{attach_reference_probes, ReferenceProbes};

fn main() {
    let kind = match std::env::args().nth(1).as_deref() {
        None => ReferenceProbes::Empty,
        Some("--clock") => ReferenceProbes::Clock,
        Some(other) => {
            eprintln!("floor: unknown argument {other}; usage: floor [--clock]");
            std::process::exit(2);
        }
    };
    let probes = match attach_reference_probes(kind) {
        Ok(probes) => probes,
        Err(err) => {
            eprintln!("floor: {err:#}");
            std::process::exit(1);
        }
    };
    println!("ready");
    std::io::stdout().flush().unwrap();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(probes);
}
