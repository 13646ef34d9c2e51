//! [`TransportError`]: the request could not be sent, or its reply not received.

use std::fmt;

use atlas_migration_sys::operations::Operation;

/// The request could not be sent, or its reply not received.
#[derive(Debug)]
pub(crate) struct TransportError {
    pub(super) source: reqwest::Error,
    pub(super) operation: Option<&'static Operation>,
}

impl TransportError {
    /// A transport failure during `operation` (`None` outside a call, e.g. building the
    /// HTTP client).
    pub(crate) fn new(source: reqwest::Error, operation: Option<&'static Operation>) -> Self {
        // Within a call the operation's path template names what failed; the concrete URL
        // may be another request's (the digest exchange's first leg, a token request).
        let source = if operation.is_some() {
            source.without_url()
        } else {
            source
        };
        Self { source, operation }
    }

    /// Whether the connection could not be opened (the request never left).
    pub(crate) fn is_connect(&self) -> bool {
        self.source.is_connect()
    }

    /// Whether the call ran out of time.
    pub(crate) fn is_timeout(&self) -> bool {
        self.source.is_timeout()
    }
}

/// The message names the failure and includes the HTTP client's own message; `source()`
/// continues below that (the HTTP client's causes), so a chain reads each message once.
impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("transport error")?;
        if let Some(op) = self.operation {
            write!(f, " during {} ({} {})", op.name, op.method, op.path)?;
        }
        write!(f, ": {}", self.source)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.source()
    }
}
