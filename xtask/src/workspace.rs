//! Finding the workspace a run works on, at run time.
//!
//! The xtask binary may be shared by several checkouts (a global `build.target-dir`, git
//! worktrees with one `CARGO_TARGET_DIR`): Cargo hashes path packages relative to their
//! workspace, so checkout B can run the binary that checkout A built. A path baked in at
//! compile time (`env!("CARGO_MANIFEST_DIR")`) would then write into A. The workspace is
//! therefore found from the directory the command runs in.

use std::path::{Path, PathBuf};

use crate::names::NAMES_FILE;
use crate::{Error, Result};

/// The nearest directory at or above `start` that holds a `Cargo.toml` next to
/// `spec/operation-names.json`: the root of an atlas-migration workspace.
pub fn find_from(start: &Path) -> Result<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.toml").is_file() && dir.join(NAMES_FILE).is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            Error::new(format!(
                "no atlas-migration workspace at or above {} (looked for Cargo.toml beside {NAMES_FILE}); run `cargo xtask` inside a checkout or pass --root",
                start.display()
            ))
        })
}

/// The workspace around the current directory, as an absolute path.
pub fn current() -> Result<PathBuf> {
    let here = std::env::current_dir()
        .map_err(|e| Error::new(format!("cannot read the current directory: {e}")))?;
    find_from(&here)
}

/// `root` made absolute (relative to the current directory) and checked to be a workspace.
pub fn explicit(root: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(root)
        .map_err(|e| Error::new(format!("cannot resolve --root {}: {e}", root.display())))?;
    if !absolute.join(NAMES_FILE).is_file() {
        return Err(Error::new(format!(
            "--root {} is not an atlas-migration workspace (no {NAMES_FILE})",
            absolute.display()
        )));
    }
    Ok(absolute)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("xtask-ws-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("spec")).unwrap();
        std::fs::create_dir_all(root.join("crates/deep/src")).unwrap();
        std::fs::write(root.join("Cargo.toml"), "[workspace]\n").unwrap();
        std::fs::write(root.join(NAMES_FILE), "{}").unwrap();
        root
    }

    #[test]
    fn a_subdirectory_finds_its_workspace_root() {
        let root = scratch("sub");
        assert_eq!(find_from(&root.join("crates/deep/src")).unwrap(), root);
        assert_eq!(find_from(&root).unwrap(), root);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn outside_any_workspace_is_a_one_line_error() {
        let error = find_from(Path::new("/")).unwrap_err();
        assert!(
            error.message().starts_with("no atlas-migration workspace"),
            "{error}"
        );
    }

    #[test]
    fn an_explicit_root_must_be_a_workspace() {
        let root = scratch("explicit");
        assert_eq!(explicit(&root).unwrap(), root);
        let error = explicit(&root.join("crates")).unwrap_err();
        assert!(
            error
                .message()
                .contains("is not an atlas-migration workspace")
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
