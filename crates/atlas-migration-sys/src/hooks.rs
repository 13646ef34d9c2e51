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

/// Sets the versioned media types of `operation` on `request`. Atlas answers 406 without
/// them; progenitor itself only knows `application/json`.
pub fn set_media_types(request: &mut reqwest::Request, operation: &Operation) {
    let headers = request.headers_mut();
    headers.insert(
        reqwest::header::ACCEPT,
        reqwest::header::HeaderValue::from_static(operation.response_media_type),
    );
    match operation.request_media_type {
        Some(media_type) if request.body().is_some() => {
            request.headers_mut().insert(
                reqwest::header::CONTENT_TYPE,
                reqwest::header::HeaderValue::from_static(media_type),
            );
        }
        _ => {}
    }
}

impl progenitor_client::ClientHooks<Hooks> for crate::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &progenitor_client::OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let operation = crate::operations::operation(info.operation_id).ok_or_else(|| {
            progenitor_client::Error::InvalidRequest(format!(
                "operation `{}` is missing from the operation table",
                info.operation_id
            ))
        })?;
        set_media_types(request, operation);
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &progenitor_client::OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        use progenitor_client::ClientInfo;
        match (
            &self.inner().executor,
            crate::operations::operation(info.operation_id),
        ) {
            (Some(executor), Some(operation)) => {
                executor.execute(self.client(), request, operation).await
            }
            _ => self.client().execute(request).await,
        }
    }
}
