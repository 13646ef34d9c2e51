//! The committed files a run produces: comparing them with the work tree, and writing them
//! so that a failing run leaves every file untouched.

use std::path::Path;

use crate::{Error, Result};

/// One generated file: its path relative to the workspace root and its full contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Path relative to the workspace root.
    pub path: &'static str,
    /// Full contents.
    pub contents: String,
}

/// The outputs whose committed contents differ (or that do not exist yet).
pub fn changed<'a>(root: &Path, outputs: &'a [Output]) -> Vec<&'a Output> {
    outputs
        .iter()
        .filter(|output| {
            std::fs::read_to_string(root.join(output.path))
                .ok()
                .as_deref()
                != Some(output.contents.as_str())
        })
        .collect()
}

/// A short unified diff of the committed file against `output` (at most `max_lines`).
pub fn short_diff(root: &Path, output: &Output, max_lines: usize) -> String {
    let committed = std::fs::read_to_string(root.join(output.path)).unwrap_or_default();
    let diff = similar::TextDiff::from_lines(&committed, &output.contents);
    let text = diff
        .unified_diff()
        .context_radius(1)
        .header("committed", "regenerated")
        .to_string();
    let mut lines: Vec<&str> = text.lines().collect();
    let total = lines.len();
    lines.truncate(max_lines);
    let mut shown = lines.join("\n");
    if total > max_lines {
        shown.push_str(&format!("\n… {} more diff lines", total - max_lines));
    }
    shown
}

/// Writes every output through a temporary file beside it, renaming only once all are
/// written, so a failure part-way leaves the committed files as they were.
pub fn write_atomically(root: &Path, outputs: &[&Output]) -> Result<()> {
    let mut staged = Vec::with_capacity(outputs.len());
    for output in outputs {
        let target = root.join(output.path);
        let temporary = target.with_extension("regen-tmp");
        let written = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&temporary, &output.contents));
        if let Err(e) = written {
            staged
                .iter()
                .for_each(|(t, _): &(std::path::PathBuf, _)| drop(std::fs::remove_file(t)));
            let _ = std::fs::remove_file(&temporary);
            return Err(Error::new(format!("cannot write {}: {e}", output.path)));
        }
        staged.push((temporary, target));
    }
    for (temporary, target) in &staged {
        std::fs::rename(temporary, target)
            .map_err(|e| Error::new(format!("cannot replace {}: {e}", target.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_root(name: &str) -> std::path::PathBuf {
        let root =
            std::env::temp_dir().join(format!("xtask-outputs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        root
    }

    #[test]
    fn changed_lists_only_differing_files() {
        let root = temp_root("changed");
        std::fs::write(root.join("same.txt"), "a\n").unwrap();
        std::fs::write(root.join("other.txt"), "a\n").unwrap();
        let outputs = [
            Output {
                path: "same.txt",
                contents: "a\n".into(),
            },
            Output {
                path: "other.txt",
                contents: "b\n".into(),
            },
            Output {
                path: "new.txt",
                contents: "c\n".into(),
            },
        ];
        let names: Vec<_> = changed(&root, &outputs).iter().map(|o| o.path).collect();
        assert_eq!(names, ["other.txt", "new.txt"]);
        assert!(short_diff(&root, &outputs[1], 10).contains("-a\n+b"));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_committed_files_untouched() {
        let root = temp_root("atomic");
        std::fs::write(root.join("kept.txt"), "old\n").unwrap();
        // A directory where a file should go makes the second write fail.
        std::fs::create_dir_all(root.join("blocked.regen-tmp")).unwrap();
        let first = Output {
            path: "kept.txt",
            contents: "new\n".into(),
        };
        let second = Output {
            path: "blocked.txt",
            contents: "x\n".into(),
        };
        assert!(write_atomically(&root, &[&first, &second]).is_err());
        assert_eq!(
            std::fs::read_to_string(root.join("kept.txt")).unwrap(),
            "old\n"
        );
        assert!(!root.join("kept.regen-tmp").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
