use clap::Parser;

fn main() {
    let cli = tracer::cli::Cli::parse();
    match tracer::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("tracer: {err:#}");
            std::process::exit(1);
        }
    }
}
