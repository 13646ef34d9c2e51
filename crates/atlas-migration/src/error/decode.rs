//! [`DecodeError`]: a success reply that could not be decoded.

use std::fmt;

use super::snippet;

/// A success response whose body could not be decoded.
#[derive(Debug, Clone)]
pub(crate) struct DecodeError {
    pub(super) kind: DecodeKind,
    pub(super) operation: &'static str,
    pub(super) status: Option<u16>,
    pub(super) message: String,
    pub(super) snippet: Option<String>,
}

/// Why a success reply was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeKind {
    /// It is not what the spec describes.
    Malformed,
    /// It is longer than the client accepts.
    TooLarge,
    /// It describes another resource than the one asked for.
    Mismatched,
}

impl DecodeError {
    /// `snippet_of` is `None` for operations whose replies carry secrets.
    pub(crate) fn new(
        operation: &'static str,
        status: Option<u16>,
        message: impl Into<String>,
        snippet_of: Option<&[u8]>,
    ) -> Self {
        Self {
            kind: DecodeKind::Malformed,
            operation,
            status,
            message: message.into(),
            snippet: snippet_of.map(snippet),
        }
    }

    /// The status of the reply this was decoded from, when the error did not say.
    pub(crate) fn of_reply(mut self, status: u16) -> Self {
        self.status = self.status.or(Some(status));
        self
    }

    /// The same error, of another kind.
    pub(crate) fn of_kind(mut self, kind: DecodeKind) -> Self {
        self.kind = kind;
        self
    }

    /// Whether the reply was refused for being longer than
    /// [`ClientBuilder::max_reply_size`](crate::ClientBuilder::max_reply_size) allows (it
    /// was not read further).
    pub(crate) fn is_too_large(&self) -> bool {
        self.kind == DecodeKind::TooLarge
    }

    /// Whether the reply describes another resource than the one asked for (another `_id`
    /// or project): it was not returned, as it may be another migration's state.
    pub(crate) fn is_mismatched(&self) -> bool {
        self.kind == DecodeKind::Mismatched
    }

    /// The start of the body (at most 200 characters), when it is safe to show.
    pub(crate) fn snippet(&self) -> Option<&str> {
        self.snippet.as_deref()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not decode the {} reply", self.operation)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(s) = &self.snippet {
            write!(f, "; body starts {s:?}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}
