//! `cargo xtask regen [--spec PATH|URL | --offline] [--check] [--verbose]`
//!
//! Turns the upstream Atlas Admin API v2 spec into this workspace's committed, generated
//! files: the trimmed and normalized spec, its lock, the sys client, its operation table and
//! the typed httpmock stubs. The workspace is the one around the current directory.
//!
//! `cargo xtask api [--check]` records the published crates' public API under `api/`.

use std::path::{Path, PathBuf};
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
        /// Regenerate from the committed spec/cloud-migration-service.json (no upstream
        /// document, no network): every committed generated file must come out the same.
        #[arg(long)]
        offline: bool,
        /// Compare with the committed files instead of writing; fail when stale.
        #[arg(long)]
        check: bool,
        /// Print each step as it runs.
        #[arg(long)]
        verbose: bool,
        /// Do not compile the workspace after writing (by default a regeneration that
        /// wrote files runs `cargo check --workspace --all-targets` and names each
        /// hand-written line that must change).
        #[arg(long)]
        no_compile: bool,
        /// The workspace whose files are compared or written (default: the one around the
        /// current directory).
        #[arg(long, hide = true)]
        root: Option<PathBuf>,
    },
    /// Check that each publishable crate's rust-version covers its normal dependency tree.
    Msrv,
    /// Record the public API of the published crates under api/, read from `cargo doc`.
    Api {
        /// Compare with the committed files instead of writing; fail naming each changed line.
        #[arg(long)]
        check: bool,
    },
    /// Time a cold `cargo build` of a throwaway crate using atlas-migration against the floor
    /// (reqwest + serde_json + tokio), per TLS feature. Takes tens of minutes; not for CI.
    BenchBuild {
        /// A TLS feature to measure (repeatable; default: rustls-aws-lc, rustls-ring,
        /// native-tls).
        #[arg(long)]
        tls: Vec<String>,
        /// How many builds of each crate, floor and dependent alternating.
        #[arg(long, default_value_t = 2)]
        runs: usize,
        /// `cargo build -j`.
        #[arg(long, default_value_t = 2)]
        jobs: usize,
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

/// Compiles the workspace after a regeneration wrote files, naming what must change.
fn compile_after_regen(root: &Path) -> ExitCode {
    println!("compiling the workspace against the regenerated code (--no-compile skips this)");
    match xtask::compile::check_workspace(root) {
        Ok(xtask::compile::Compiled::Clean) => {
            println!("the workspace compiles against the regenerated code");
            ExitCode::SUCCESS
        }
        Ok(xtask::compile::Compiled::Broken(errors)) => {
            eprintln!(
                "the regenerated code breaks hand-written code; change these ({}):",
                errors.len()
            );
            for error in &errors {
                eprintln!("  {error}");
            }
            ExitCode::FAILURE
        }
        Err(error) => fail(&error),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Regen {
            spec,
            offline,
            check,
            verbose,
            no_compile,
            root,
        } => {
            if offline && spec.is_some() {
                return fail(&xtask::Error::new(
                    "--offline regenerates from the committed spec; it takes no --spec",
                ));
            }
            let report = workspace_root(root.as_deref()).and_then(|workspace_root| {
                regen::run(&RegenOptions {
                    spec,
                    offline,
                    check,
                    verbose,
                    workspace_root,
                })
            });
            match report {
                Ok(report) => {
                    print!("{report}");
                    if check || no_compile || report.written.is_empty() {
                        return ExitCode::SUCCESS;
                    }
                    compile_after_regen(&report.root)
                }
                Err(error) => fail(&error),
            }
        }
        Command::Msrv => match workspace_root(None).and_then(|root| xtask::msrv::run(&root)) {
            Ok(findings) => {
                for finding in &findings {
                    println!("{finding}");
                }
                if findings.iter().all(|f| f.holds()) {
                    println!("msrv: every declared rust-version covers its dependency tree");
                    ExitCode::SUCCESS
                } else {
                    eprintln!(
                        "error: a crate's dependency tree needs a newer Rust than it declares"
                    );
                    ExitCode::FAILURE
                }
            }
            Err(error) => fail(&error),
        },
        Command::Api { check } => {
            match workspace_root(None).and_then(|root| xtask::api::run(&root, check)) {
                Ok(report) => {
                    print!("{report}");
                    if check && report.documented {
                        println!(
                            "note: rustdoc documented the crates again; a `cargo doc` step \
                             before this one reuses its work only with the same features \
                             ({}) and RUSTDOCFLAGS",
                            xtask::api::FEATURES.join(",")
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error),
            }
        }
        Command::BenchBuild { tls, runs, jobs } => {
            let bench = xtask::bench::check_runs(runs).and_then(|runs| {
                let tls = xtask::bench_build::select(&tls)?;
                xtask::bench_build::run(&workspace_root(None)?, &tls, runs, jobs.max(1))
            });
            match bench {
                Ok(bench) => {
                    print!("{bench}");
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error),
            }
        }
        Command::BenchRegen { spec, runs } => {
            match xtask::bench::check_runs(runs)
                .and_then(|runs| xtask::bench::regen_wall_time(&spec, &workspace_root(None)?, runs))
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

/// `--root` when given, else the workspace around the current directory; never a path
/// compiled into the binary.
fn workspace_root(root: Option<&Path>) -> xtask::Result<PathBuf> {
    match root {
        Some(root) => xtask::workspace::explicit(root),
        None => xtask::workspace::current(),
    }
}
