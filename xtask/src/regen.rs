//! `cargo xtask regen`: load → trim → normalize → generate → compare or write.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::lock::{self, LOCK_FILE, Lock};
use crate::names::{self, NameMap};
use crate::normalize::{self, Notes};
use crate::outputs::{self, Output};
use crate::pins::{self, Pins};
use crate::source::{self, Input};
use crate::summary::{self, Summary};
use crate::{Error, Result, document, generate, trim, walk};

/// The trimmed and normalized spec, relative to the workspace root.
pub const SPEC_FILE: &str = "spec/cloud-migration-service.json";
/// The generated sys client.
pub const SYS_CLIENT: &str = "crates/atlas-migration-sys/src/generated.rs";
/// The generated operation table of the sys crate.
pub const SYS_OPERATIONS: &str = "crates/atlas-migration-sys/src/operations.rs";
/// The generated typed httpmock stubs.
pub const HTTPMOCK_STUBS: &str = "crates/atlas-migration-httpmock/src/generated.rs";

/// What `cargo xtask regen` was asked to do.
#[derive(Debug, Clone)]
pub struct RegenOptions {
    /// `--spec`: a path or URL; `None` for upstream's newest version. Ignored with `offline`.
    pub spec: Option<String>,
    /// `--offline`: regenerate from the committed `spec/cloud-migration-service.json`
    /// instead of an upstream document; the lock is neither compared nor written.
    pub offline: bool,
    /// `--check`: compare instead of writing.
    pub check: bool,
    /// `--verbose`: print step timings.
    pub verbose: bool,
    /// Where the committed files live.
    pub workspace_root: PathBuf,
}

/// Everything one run produces, in memory.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The files to commit, the lock last.
    pub outputs: Vec<Output>,
    /// The trimmed and normalized spec.
    pub spec: Value,
    /// What normalization noticed.
    pub notes: Notes,
    /// The identity of the input.
    pub lock: Lock,
    /// How long each step took.
    pub timings: Vec<(&'static str, Duration)>,
}

/// Runs every step in memory; nothing is written.
pub fn generate(input: &Input, names: &NameMap, pins: &Pins) -> Result<Generated> {
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |step: &'static str, timings: &mut Vec<_>| {
        timings.push((step, clock.elapsed()));
        clock = Instant::now();
    };
    let upstream = document::parse(&input.bytes)?;
    lap("parse", &mut timings);
    let mut spec = trim::trim(&upstream, trim::TAG)?;
    drop(upstream);
    let notes = normalize::normalize(&mut spec, names, pins)?;
    // Normalization can orphan components (an old `NoBody` schema); trim once more.
    let spec = walk::canonical(&trim::trim(&spec, trim::TAG)?);
    lap("trim + normalize", &mut timings);
    let openapi: openapiv3::OpenAPI = serde_json::from_value(spec.clone())
        .map_err(|e| Error::new(format!("the trimmed spec is not valid OpenAPI 3.0: {e}")))?;
    let client = generate::sys_client(&openapi)?;
    let stubs = generate::httpmock_stubs(&openapi, &spec)?;
    let table = generate::operations_table(&spec)?;
    lap("generate + format", &mut timings);
    let lock = Lock {
        source: input.name.clone(),
        sha256: lock::sha256_hex(&input.bytes),
        info_version: spec
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string(),
    };
    let mut spec_text = serde_json::to_string_pretty(&spec).expect("JSON values serialize");
    spec_text.push('\n');
    let outputs = vec![
        Output {
            path: SPEC_FILE,
            contents: spec_text,
        },
        Output {
            path: SYS_CLIENT,
            contents: client,
        },
        Output {
            path: SYS_OPERATIONS,
            contents: table,
        },
        Output {
            path: HTTPMOCK_STUBS,
            contents: stubs,
        },
        Output {
            path: LOCK_FILE,
            contents: lock.render(),
        },
    ];
    Ok(Generated {
        outputs,
        spec,
        notes,
        lock,
        timings,
    })
}

/// What a run did, for printing.
#[derive(Debug, Clone)]
pub struct Report {
    /// The change summary, when outputs changed.
    pub summary: Option<Summary>,
    /// Files written (empty in check mode or when up to date).
    pub written: Vec<&'static str>,
    /// What normalization noticed.
    pub notes: Notes,
    /// Step timings, shown with `--verbose`.
    pub timings: Option<Vec<(&'static str, Duration)>>,
    /// Whether this was a `--check` run.
    pub check: bool,
    /// The workspace the run worked on (absolute), so written paths print in full.
    pub root: PathBuf,
}

/// Runs `cargo xtask regen` with `options`.
pub fn run(options: &RegenOptions) -> Result<Report> {
    let started = Instant::now();
    let root = &options.workspace_root;
    let names = names::load(root)?;
    let pins = pins::load(root)?;
    let input = if options.offline {
        source::committed(root, SPEC_FILE)?
    } else {
        source::load(options.spec.as_deref())?
    };
    let loaded = started.elapsed();
    let mut generated = generate(&input, &names, &pins)?;
    generated.timings.insert(0, ("load", loaded));
    if options.offline {
        // The lock names the upstream document; the committed spec is not one.
        generated.outputs.retain(|output| output.path != LOCK_FILE);
    }
    if options.check {
        check(root, &generated, !options.offline)?;
    }
    let changed = outputs::changed(root, &generated.outputs);
    let summary = (!changed.is_empty()).then(|| summarize_against_committed(root, &generated.spec));
    let written = if options.check || changed.is_empty() {
        Vec::new()
    } else {
        outputs::write_atomically(root, &changed)?;
        changed.iter().map(|o| o.path).collect()
    };
    generated.timings.push(("total", started.elapsed()));
    Ok(Report {
        summary,
        written,
        notes: generated.notes,
        timings: options.verbose.then_some(generated.timings),
        check: options.check,
        root: root.clone(),
    })
}

fn summarize_against_committed(root: &Path, new: &Value) -> Summary {
    let old: Option<Value> = std::fs::read(root.join(SPEC_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    summary::summarize(old.as_ref(), new)
}

/// Fails, naming each stale file with a short diff, unless the committed files are exactly
/// what this input generates and (for an upstream input, `compare_lock`) the lock names this
/// input's sha256.
fn check(root: &Path, generated: &Generated, compare_lock: bool) -> Result<()> {
    let mut problems = Vec::new();
    match Lock::read(root) {
        _ if !compare_lock => {}
        Some(committed) if committed.sha256 == generated.lock.sha256 => {}
        Some(committed) => problems.push(format!(
            "{LOCK_FILE}: the input's sha256 is {} but the lock records {} ({})",
            generated.lock.sha256, committed.sha256, committed.source
        )),
        None => problems.push(format!("{LOCK_FILE}: missing or unreadable")),
    }
    let code_outputs: Vec<Output> = generated
        .outputs
        .iter()
        .filter(|o| o.path != LOCK_FILE)
        .cloned()
        .collect();
    for stale in outputs::changed(root, &code_outputs) {
        problems.push(format!(
            "{} is stale:\n{}",
            stale.path,
            outputs::short_diff(root, stale, 40)
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::multiline(format!(
        "generated files are out of date; run `cargo xtask regen --spec <the same input>`\n{}",
        problems.join("\n")
    )))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(summary) = &self.summary {
            write!(f, "{summary}")?;
        }
        for warning in &self.notes.pin_warnings {
            writeln!(f, "warning: {warning}")?;
        }
        for note in &self.notes.unmapped_operations {
            writeln!(f, "note: {note}")?;
        }
        for step in &self.notes.idle_steps {
            writeln!(
                f,
                "note: normalization step `{step}` found nothing to change"
            )?;
        }
        match (self.check, self.written.is_empty()) {
            (true, _) => writeln!(
                f,
                "generated files in {} are up to date",
                self.root.display()
            )?,
            (false, true) => writeln!(
                f,
                "generated files in {} were already up to date",
                self.root.display()
            )?,
            (false, false) => {
                for path in &self.written {
                    writeln!(f, "wrote {}", self.root.join(path).display())?;
                }
            }
        }
        if let Some(timings) = &self.timings {
            for (step, duration) in timings {
                writeln!(f, "  {step}: {:.1} ms", duration.as_secs_f64() * 1000.0)?;
            }
        }
        Ok(())
    }
}
