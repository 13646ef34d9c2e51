//! The one hand-written seam of this crate: how a higher crate (auth, retries) takes over
//! sending the requests the generated client builds.
//!
//! The generated [`Client`](crate::Client) always sets the versioned `Accept` and
//! `Content-Type` its operation requires (from [`operations`](crate::operations)). Sending is
//! delegated to an [`Executor`] when one is installed; without one the client behaves like a
//! plain progenitor client.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::operations::Operation;

/// The future an [`Executor`] returns.
pub type ExecFuture<'a> =
    Pin<Box<dyn Future<Output = reqwest::Result<reqwest::Response>> + Send + 'a>>;

/// Sends one prepared request of a known operation.
///
/// Implemented by higher crates to add authentication, retries and tracing.
pub trait Executor: Send + Sync + 'static {
    /// Sends `request` (already carrying the operation's media types) with `http`.
    fn execute<'a>(
        &'a self,
        http: &'a reqwest::Client,
        request: reqwest::Request,
        operation: &'static Operation,
    ) -> ExecFuture<'a>;
}

/// The inner value of the generated client: an optional [`Executor`].
#[derive(Clone, Default)]
pub struct Hooks {
    executor: Option<Arc<dyn Executor>>,
}

impl Hooks {
    /// Hooks that send every request as it is.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hooks that hand every request to `executor`.
    pub fn with_executor(executor: Arc<dyn Executor>) -> Self {
        Self {
            executor: Some(executor),
        }
    }

    /// The installed executor, if any.
    pub fn executor(&self) -> Option<&Arc<dyn Executor>> {
        self.executor.as_ref()
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("executor", &self.executor.as_ref().map(|_| "installed"))
            .finish()
    }
}
