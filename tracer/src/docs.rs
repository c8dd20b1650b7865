//! Man pages and shell completions, generated from the clap definition ([`crate::cli::Cli`]) so
//! that they list exactly the options the binary takes. `cargo xtask dist` runs the built binary
//! (`tracer __man DIR`, `tracer completions SHELL`) to put them in the .deb.
use std::{io::Write, path::Path};

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;

/// The completion script for `shell` (bash, zsh, fish, elvish, powershell).
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<()> {
    clap_complete::generate(shell, &mut Cli::command(), "tracer", out);
    out.flush().context("cannot write the completion script")
}

/// Writes `tracer.1` and `tracer-SUBCOMMAND.1` for every subcommand shown in `--help` into
/// `dir` (created if needed).
pub fn man_pages(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir).with_context(|| format!("cannot write man pages into {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_per_visible_subcommand_and_none_for_hidden_ones() {
        let dir = tempfile::tempdir().unwrap();
        man_pages(dir.path()).unwrap();
        let mut pages: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        pages.sort();
        assert_eq!(pages, ["tracer-compare.1", "tracer-completions.1", "tracer-info.1", "tracer-serve.1", "tracer-top.1", "tracer.1"]);
    }
}
