//! `cargo xtask regen [--spec PATH|URL] [--check] [--verbose]`
//!
//! Turns the upstream Atlas Admin API v2 spec into this workspace's committed, generated
//! files: the trimmed and normalized spec, its lock, the sys client, its operation table and
//! the typed httpmock stubs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use xtask::regen::{self, RegenOptions};

#[derive(Parser)]
#[command(name = "xtask", about = "atlas-migration project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate the trimmed spec and the generated crates from the upstream spec.
    Regen {
        /// Upstream spec: a file path or an https URL (YAML or JSON). Default: the newest
        /// version that upstream's versions.json lists.
        #[arg(long)]
        spec: Option<String>,
        /// Compare with the committed files instead of writing; fail when stale.
        #[arg(long)]
        check: bool,
        /// Print each step as it runs.
        #[arg(long)]
        verbose: bool,
        /// The workspace whose files are compared or written (default: this workspace).
        #[arg(long, hide = true)]
        root: Option<PathBuf>,
    },
    /// Time a full regeneration against PyYAML parsing the same file (build with --release).
    BenchRegen {
        /// The upstream spec to time (a path).
        #[arg(long)]
        spec: String,
        /// How many runs of each; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Regen {
            spec,
            check,
            verbose,
            root,
        } => {
            let options = RegenOptions {
                spec,
                check,
                verbose,
                workspace_root: root.unwrap_or_else(workspace_root),
            };
            match regen::run(&options) {
                Ok(report) => {
                    print!("{report}");
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error),
            }
        }
        Command::BenchRegen { spec, runs } => {
            match xtask::bench::check_runs(runs)
                .and_then(|runs| xtask::bench::regen_wall_time(&spec, &workspace_root(), runs))
            {
                Ok(bench) => {
                    print!("{bench}");
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error),
            }
        }
    }
}

fn fail(error: &xtask::Error) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}
