//! Benchmark helper: attaches empty programs to the tracer's hooks (the "floor"), says "ready"
//! on stdout, and detaches when stdin closes.
use std::io::{Read, Write};

fn main() {
    let probes = match tracer::probes::attach_empty_probes() {
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
