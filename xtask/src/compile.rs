//! After a regeneration: does the hand-written code still compile against what was written?
//! When it does not, the report names each file and line to change, so a spec update is a
//! list of edits rather than a wall of compiler output.

use std::path::Path;
use std::process::Command;

use crate::{Error, Result};

/// The outcome of compiling the workspace after a regeneration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiled {
    /// Every crate and target compiled.
    Clean,
    /// It did not: one `file:line:column: error…` line per error the compiler reported.
    Broken(Vec<String>),
}

/// Runs `cargo check` over the whole workspace (all targets) in `root`.
pub fn check_workspace(root: &Path) -> Result<Compiled> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "check",
            "--workspace",
            "--all-targets",
            "--quiet",
            "--message-format=short",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| Error::new(format!("cannot run cargo check: {e}")))?;
    if output.status.success() {
        return Ok(Compiled::Clean);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Ok(Compiled::Broken(error_lines(&stderr)))
}

/// The compiler's short-format error lines (`path:line:column: error[…]: message`); all of
/// its output when it printed none (a failure before compiling, such as a manifest error).
fn error_lines(stderr: &str) -> Vec<String> {
    let errors: Vec<String> = stderr
        .lines()
        .filter(|line| line.contains(": error"))
        .map(str::to_owned)
        .collect();
    if errors.is_empty() {
        stderr.lines().map(str::to_owned).collect()
    } else {
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_lines_that_name_a_file_and_line() {
        let stderr = "\
crates/atlas-migration/src/convert.rs:121:44: error[E0308]: mismatched types
warning: unused import
error: could not compile `atlas-migration` (lib) due to 1 previous error
";
        assert_eq!(
            error_lines(stderr),
            ["crates/atlas-migration/src/convert.rs:121:44: error[E0308]: mismatched types"]
        );
        assert_eq!(
            error_lines("error: manifest broken"),
            ["error: manifest broken"]
        );
    }
}
