//! `cargo xtask api [--check]`: the public API of each published crate as a sorted text file
//! under `api/`, so a change to it shows in review and an accidental one fails CI.
//!
//! The snapshot is read from the HTML of stable rustdoc (`cargo doc --no-deps`), not from
//! nightly's JSON: every item of `all.html`, every module and re-export, and from each item's
//! page its declaration, fields, variants, and the code headers of its impls ([`html`]).
//! Each line starts with the item's path, so an item's lines sort together.
//!
//! The docs are built with the optional public APIs ([`FEATURES`]) and the same command and
//! flags as CI's `cargo doc` step, so after that step this command finds them fresh.

pub mod html;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

/// The published crates whose API is recorded.
pub const CRATES: &[&str] = &[
    "atlas-migration",
    "atlas-migration-sys",
    "atlas-migration-httpmock",
    "atlas-migration-sim",
    "atlas-migration-postgres",
];

/// The features whose items are public API too. Left out: TLS choices (no items), `fuzzing`
/// (hidden entry points, not a stable API), and the binaries' `cli` features.
pub const FEATURES: &[&str] = &[
    "atlas-migration/metrics",
    "atlas-migration/atlas-cli",
    "atlas-migration/journal-conformance",
    "atlas-migration-sys/client",
    "atlas-migration-postgres/testkit",
];

/// Where the snapshots live, relative to the workspace root.
pub const DIR: &str = "api";

/// Rustdoc's flags when `RUSTDOCFLAGS` is not set: CI's, so its docs are reused.
const DEFAULT_RUSTDOCFLAGS: &str = "-D warnings";

/// The public API of one crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The crate's package name.
    pub name: &'static str,
    /// Every line, sorted, without duplicates.
    pub lines: Vec<String>,
    /// Public items: modules and the entries of `all.html`.
    pub items: usize,
    /// Inherent methods, and the methods traits of the crate declare.
    pub methods: usize,
}

impl Snapshot {
    /// The committed file's path, relative to the workspace root.
    pub fn file(&self) -> PathBuf {
        Path::new(DIR).join(format!("{}.txt", self.name))
    }

    /// The file's contents: a header naming the command and the features, then the lines.
    pub fn render(&self) -> String {
        let mut text = format!(
            "# The public API of {} (`cargo xtask api`; features: {}). Generated; do not edit.\n",
            self.name,
            FEATURES.join(", ")
        );
        for line in &self.lines {
            text.push_str(line);
            text.push('\n');
        }
        text
    }
}

/// What a run found.
#[derive(Debug, Clone)]
pub struct Report {
    /// One snapshot per crate of [`CRATES`].
    pub snapshots: Vec<Snapshot>,
    /// Files written (not in check mode).
    pub written: Vec<PathBuf>,
    /// Whether rustdoc had to document anything (false when CI's docs were reused).
    pub documented: bool,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for snapshot in &self.snapshots {
            writeln!(
                f,
                "{}: {} public items, {} methods ({} lines)",
                snapshot.name,
                snapshot.items,
                snapshot.methods,
                snapshot.lines.len()
            )?;
        }
        for path in &self.written {
            writeln!(f, "wrote {}", path.display())?;
        }
        Ok(())
    }
}

/// Documents the workspace, reads each crate's API, and writes (or, with `check`, compares)
/// the snapshots under `api/`.
pub fn run(root: &Path, check: bool) -> Result<Report> {
    let documented = document(root)?;
    let doc = target_directory(root)?.join("doc");
    let snapshots = CRATES
        .iter()
        .map(|name| snapshot(&doc, name))
        .collect::<Result<Vec<_>>>()?;
    let mut problems = Vec::new();
    let mut written = Vec::new();
    for snapshot in &snapshots {
        let path = root.join(snapshot.file());
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let rendered = snapshot.render();
        if committed == rendered {
            continue;
        }
        if check {
            problems.push(describe_change(snapshot, &committed));
        } else {
            std::fs::create_dir_all(root.join(DIR))
                .and_then(|()| std::fs::write(&path, rendered))
                .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
            written.push(path);
        }
    }
    if !problems.is_empty() {
        return Err(Error::multiline(format!(
            "the public API changed; if that is intended, run `cargo xtask api` and commit {DIR}/\n{}",
            problems.join("\n")
        )));
    }
    Ok(Report {
        snapshots,
        written,
        documented,
    })
}

/// `api/<crate>.txt: 2 lines added, 1 removed` and each line with `+` or `-`.
fn describe_change(snapshot: &Snapshot, committed: &str) -> String {
    let old: BTreeSet<&str> = committed.lines().filter(|l| !l.starts_with('#')).collect();
    let new: BTreeSet<&str> = snapshot.lines.iter().map(String::as_str).collect();
    let added: Vec<&&str> = new.difference(&old).collect();
    let removed: Vec<&&str> = old.difference(&new).collect();
    let mut text = format!(
        "{}: {} lines added, {} removed",
        snapshot.file().display(),
        added.len(),
        removed.len()
    );
    if added.is_empty() && removed.is_empty() {
        text.push_str(" (only the header differs)");
    }
    for line in added {
        text.push_str(&format!("\n  + {line}"));
    }
    for line in removed {
        text.push_str(&format!("\n  - {line}"));
    }
    text
}

/// Runs `cargo doc --workspace --no-deps --locked` with [`FEATURES`]; true when rustdoc had
/// work to do (CI's doc step, run with the same features, leaves none).
fn document(root: &Path) -> Result<bool> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let flags = std::env::var("RUSTDOCFLAGS").unwrap_or_else(|_| DEFAULT_RUSTDOCFLAGS.into());
    let output = Command::new(cargo)
        .args(["doc", "--workspace", "--no-deps", "--locked", "--features"])
        .arg(FEATURES.join(","))
        .env("RUSTDOCFLAGS", flags)
        .current_dir(root)
        .output()
        .map_err(|e| Error::new(format!("cannot run cargo doc: {e}")))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(Error::multiline(format!("cargo doc failed:\n{stderr}")));
    }
    Ok(stderr
        .lines()
        .any(|line| line.trim_start().starts_with("Documenting ")))
}

/// Cargo's target directory for this workspace (honours `CARGO_TARGET_DIR`).
fn target_directory(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .output()
        .map_err(|e| Error::new(format!("cannot run cargo metadata: {e}")))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| Error::new(format!("cargo metadata printed no JSON: {e}")))?;
    metadata
        .get("target_directory")
        .and_then(serde_json::Value::as_str)
        .map(PathBuf::from)
        .ok_or_else(|| Error::new("cargo metadata names no target_directory"))
}

/// Reads one crate's API from its documentation in `doc` (`target/doc`).
pub fn snapshot(doc: &Path, name: &'static str) -> Result<Snapshot> {
    let ident = name.replace('-', "_");
    let dir = doc.join(&ident);
    let read = |page: &Path| {
        std::fs::read_to_string(dir.join(page)).map_err(|e| {
            Error::new(format!(
                "cannot read {} (documented?): {e}",
                dir.join(page).display()
            ))
        })
    };
    let mut lines = Vec::new();
    let mut items = 0;
    let mut methods = 0;

    // Modules and re-exports, from the crate root down. Only pages linked from this run's
    // module pages and `all.html` are read, so pages left over from removed items are not.
    let mut modules = vec![(PathBuf::from("index.html"), ident.clone())];
    while let Some((page, path)) = modules.pop() {
        let module = html::module_page(&read(&page)?);
        let base = page.parent().map(Path::to_path_buf).unwrap_or_default();
        for (child, href) in module.modules {
            lines.push(format!("{path}::{child}: pub mod {child}"));
            items += 1;
            modules.push((base.join(href), format!("{path}::{child}")));
        }
        for reexport in module.reexports {
            lines.push(format!("{path}: {reexport}"));
        }
    }

    for entry in html::all_items(&read(Path::new("all.html"))?) {
        let path = format!("{ident}::{}", entry.path);
        items += 1;
        for member in html::item_page(&read(Path::new(&entry.href))?, entry.kind(), &ident) {
            methods += usize::from(member.method);
            lines.push(format!("{path}: {}", member.text));
        }
    }
    lines.sort();
    lines.dedup();
    Ok(Snapshot {
        name,
        lines,
        items,
        methods,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_snapshot_names_the_added_and_removed_lines() {
        let snapshot = Snapshot {
            name: "demo",
            lines: vec![
                "demo::A: pub struct A;".into(),
                "demo::C: pub fn c()".into(),
            ],
            items: 2,
            methods: 0,
        };
        let committed = "# header\ndemo::A: pub struct A;\ndemo::B: pub fn b()\n";
        let text = describe_change(&snapshot, committed);
        assert!(
            text.starts_with("api/demo.txt: 1 lines added, 1 removed"),
            "{text}"
        );
        assert!(text.contains("\n  + demo::C: pub fn c()"), "{text}");
        assert!(text.contains("\n  - demo::B: pub fn b()"), "{text}");
    }

    #[test]
    fn a_crate_snapshot_walks_modules_and_every_listed_item() {
        let doc = std::env::temp_dir().join(format!("xtask-api-{}", std::process::id()));
        let dir = doc.join("fixture");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/api");
        std::fs::create_dir_all(dir.join("shapes")).unwrap();
        for page in [
            "all.html",
            "index.html",
            "struct.Widget.html",
            "enum.Shape.html",
            "trait.Paint.html",
            "type.Alias.html",
        ] {
            std::fs::copy(fixtures.join(page), dir.join(page)).unwrap();
        }
        std::fs::write(dir.join("shapes/index.html"), "<html></html>").unwrap();
        std::fs::write(
            dir.join("shapes/struct.Corner.html"),
            "<pre class=\"rust item-decl\"><code>pub struct Corner;</code></pre>",
        )
        .unwrap();
        let snapshot = snapshot(&doc, "fixture").unwrap();
        std::fs::remove_dir_all(&doc).unwrap();
        assert_eq!(snapshot.items, 6, "a module and five items");
        assert_eq!(
            snapshot.methods, 3,
            "Widget::new, Paint::paint, Paint::repaint"
        );
        for line in [
            "fixture: pub use std::fmt::Write;",
            "fixture::shapes: pub mod shapes",
            "fixture::shapes::Corner: pub struct Corner;",
            "fixture::Alias: pub type Alias = Widget<u8>;",
            "fixture::Paint: required-methods: fn paint(&self, colour: &str) -> bool",
        ] {
            assert!(snapshot.lines.iter().any(|l| l == line), "{line}");
        }
        let mut sorted = snapshot.lines.clone();
        sorted.sort();
        assert_eq!(sorted, snapshot.lines);
    }
}
