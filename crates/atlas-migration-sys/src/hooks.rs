//! The one hand-written seam of this crate: [`set_media_types`] sets the versioned `Accept`
//! and `Content-Type` that each operation requires (from [`operations`](crate::operations));
//! Atlas answers 406 without them, and progenitor itself only knows `application/json`.
//!
//! Higher crates (such as `atlas-migration`) send with their own transport and call
//! [`set_media_types`] themselves. The generated `Client` (feature `client`) calls it before
//! every request through `Hooks`, its inner value.

use crate::operations::Operation;

/// The inner value of the generated client. It holds nothing today; it exists so the
/// generated client runs [`set_media_types`] before every request.
#[cfg(feature = "client")]
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    _private: (),
}

#[cfg(feature = "client")]
impl Hooks {
    /// The hooks: set each operation's versioned media types, send the request as it is.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Sets the versioned media types of `operation` on `request`: `Accept` always, and
/// `Content-Type` when the request has a body.
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

#[cfg(feature = "client")]
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
}
