use clap::{error::ErrorKind, Parser};

fn main() {
    tracer::host::contain::install_hook();
    tracer::report::warnings::install();
    let cli = match tracer::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => err.exit(),
        Err(err) => {
            // One line, like every other bad input; exit 2 as usual for a malformed command line.
            let rendered = err.to_string();
            let message: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
                .filter(|line| !line.is_empty())
                .collect();
            eprintln!("tracer: {} (see tracer --help)", message.join(" ").trim_start_matches("error: "));
            std::process::exit(2);
        }
    };
    match tracer::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("tracer: {err:#}");
            std::process::exit(1);
        }
    }
}
