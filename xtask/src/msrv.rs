//! `cargo xtask msrv`: the declared `rust-version` of each publishable workspace crate must be
//! at least the newest `rust-version` declared anywhere in its normal dependency tree, so
//! the MSRV in the manifests (and the README) is the one users really need.
//!
//! It reads `cargo metadata`, whose resolve graph covers every target platform, so the check
//! is conservative: a Windows-only dependency counts too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::process::Command;

use serde_json::Value;

use crate::{Error, Result};

/// A `major.minor[.patch]` Rust version, compared numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RustVersion(u32, u32, u32);

impl RustVersion {
    /// Parses `1.88` or `1.88.0`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().unwrap_or(Some(0))?;
        parts.next().is_none().then_some(Self(major, minor, patch))
    }
}

impl fmt::Display for RustVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.2 {
            0 => write!(f, "{}.{}", self.0, self.1),
            patch => write!(f, "{}.{}.{patch}", self.0, self.1),
        }
    }
}

/// The check's finding for one workspace crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateMsrv {
    /// The workspace crate.
    pub name: String,
    /// Its declared `rust-version`.
    pub declared: RustVersion,
    /// How many crates its normal dependency tree holds (itself included).
    pub tree_size: usize,
    /// The newest `rust-version` in that tree and the crates that declare it.
    pub newest: (RustVersion, Vec<String>),
}

impl CrateMsrv {
    /// Whether the declared version covers the whole tree.
    pub fn holds(&self) -> bool {
        self.newest.0 <= self.declared
    }
}

impl fmt::Display for CrateMsrv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: declares {}; {} crates in its normal dependency tree, newest rust-version {} ({})",
            self.name,
            self.declared,
            self.tree_size,
            self.newest.0,
            self.newest.1.join(", ")
        )
    }
}

/// Checks every publishable workspace member of `metadata` (`cargo metadata` output).
pub fn check_metadata(metadata: &Value) -> Result<Vec<CrateMsrv>> {
    let malformed = |what: &str| Error::new(format!("cargo metadata output has no {what}"));
    let packages: BTreeMap<&str, &Value> = metadata["packages"]
        .as_array()
        .ok_or_else(|| malformed("packages"))?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let normal_deps: BTreeMap<&str, Vec<&str>> = metadata["resolve"]["nodes"]
        .as_array()
        .ok_or_else(|| malformed("resolve graph"))?
        .iter()
        .filter_map(|node| {
            let deps = node["deps"]
                .as_array()?
                .iter()
                .filter(|dep| {
                    dep["dep_kinds"]
                        .as_array()
                        .is_some_and(|kinds| kinds.iter().any(|kind| kind["kind"].is_null()))
                })
                .filter_map(|dep| dep["pkg"].as_str())
                .collect();
            Some((node["id"].as_str()?, deps))
        })
        .collect();
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .ok_or_else(|| malformed("workspace members"))?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut findings = Vec::new();
    for &member in &members {
        let Some(package) = packages.get(member) else {
            continue;
        };
        let publishable = !package["publish"]
            .as_array()
            .is_some_and(|registries| registries.is_empty());
        if !publishable {
            continue;
        }
        let name = package["name"].as_str().unwrap_or(member).to_string();
        let declared = declared_version(package)
            .ok_or_else(|| Error::new(format!("{name} declares no valid rust-version")))?;
        let tree = dependency_tree(member, &normal_deps);
        let mut newest = (RustVersion(0, 0, 0), Vec::new());
        // Workspace crates inherit one rust-version; each is checked as a root of its own.
        for id in tree.iter().filter(|id| !members.contains(*id)) {
            let Some(dependency) = packages.get(id) else {
                continue;
            };
            let Some(version) = declared_version(dependency) else {
                continue;
            };
            let label = format!(
                "{} {}",
                dependency["name"].as_str().unwrap_or(id),
                dependency["version"].as_str().unwrap_or("?")
            );
            if version > newest.0 {
                newest = (version, vec![label]);
            } else if version == newest.0 {
                newest.1.push(label);
            }
        }
        newest.1.sort();
        findings.push(CrateMsrv {
            name,
            declared,
            tree_size: tree.len(),
            newest,
        });
    }
    Ok(findings)
}

fn declared_version(package: &Value) -> Option<RustVersion> {
    package["rust_version"]
        .as_str()
        .and_then(RustVersion::parse)
}

fn dependency_tree<'a>(root: &'a str, deps: &BTreeMap<&'a str, Vec<&'a str>>) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut pending = vec![root];
    while let Some(id) = pending.pop() {
        if seen.insert(id) {
            pending.extend(deps.get(id).into_iter().flatten().copied());
        }
    }
    seen
}

/// Runs `cargo metadata` for the workspace at `root` and checks it.
pub fn run(root: &std::path::Path) -> Result<Vec<CrateMsrv>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root)
        .output()
        .map_err(|e| Error::new(format!("cannot run cargo metadata: {e}")))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| Error::new(format!("cargo metadata printed invalid JSON: {e}")))?;
    check_metadata(&metadata)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn metadata(declared: &str, dependency: &str) -> Value {
        json!({
            "workspace_members": ["app", "tool"],
            "packages": [
                {"id": "app", "name": "app", "version": "0.1.0", "rust_version": declared, "publish": null},
                {"id": "tool", "name": "tool", "version": "0.1.0", "rust_version": "1.60", "publish": []},
                {"id": "lib", "name": "lib", "version": "2.0.0", "rust_version": dependency},
                {"id": "old", "name": "old", "version": "1.0.0", "rust_version": null},
                {"id": "dev", "name": "dev", "version": "1.0.0", "rust_version": "1.99"}
            ],
            "resolve": {"nodes": [
                {"id": "app", "deps": [
                    {"pkg": "lib", "dep_kinds": [{"kind": null}]},
                    {"pkg": "dev", "dep_kinds": [{"kind": "dev"}]}
                ]},
                {"id": "tool", "deps": [{"pkg": "dev", "dep_kinds": [{"kind": null}]}]},
                {"id": "lib", "deps": [{"pkg": "old", "dep_kinds": [{"kind": null}]}]},
                {"id": "old", "deps": []},
                {"id": "dev", "deps": []}
            ]}
        })
    }

    #[test]
    fn a_declared_version_covering_the_tree_holds() {
        let findings = check_metadata(&metadata("1.88", "1.88.0")).unwrap();
        assert_eq!(findings.len(), 1, "unpublished members are not checked");
        let app = &findings[0];
        assert!(app.holds(), "{app}");
        assert_eq!(app.tree_size, 3, "dev-dependencies are not in the tree");
        assert_eq!(app.newest.1, ["lib 2.0.0"]);
    }

    #[test]
    fn a_dependency_needing_a_newer_rust_fails() {
        let findings = check_metadata(&metadata("1.85", "1.88")).unwrap();
        assert!(!findings[0].holds());
        assert!(
            findings[0]
                .to_string()
                .contains("newest rust-version 1.88 (lib 2.0.0)")
        );
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(RustVersion::parse("1.100").unwrap() > RustVersion::parse("1.99.9").unwrap());
        assert_eq!(RustVersion::parse("1.88.0"), RustVersion::parse("1.88"));
        assert_eq!(RustVersion::parse("1.x"), None);
        assert_eq!(RustVersion::parse("1.2.3.4"), None);
    }
}
