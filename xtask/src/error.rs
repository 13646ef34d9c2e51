//! The one error type of the xtask: a single line that says what went wrong.

use std::fmt;

/// A failed regeneration step, as one printable line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

/// Result of an xtask step.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with the given message; newlines are folded so it stays one line.
    pub fn new(message: impl Into<String>) -> Self {
        let message: String = message.into();
        Self(message.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// An error with a message of several lines (used by `--check` to show diffs).
    pub fn multiline(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}
