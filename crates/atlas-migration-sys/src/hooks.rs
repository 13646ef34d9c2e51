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

/// Sets the versioned media types of `operation` on a request's `headers`: `Accept` always,
/// and `Content-Type` when the request `has_body`.
///
/// Takes the `http` crate's header map (what `reqwest::Request::headers_mut` returns) rather
/// than a reqwest request, so that this crate needs no HTTP client of its own unless its
/// feature `client` asks for one.
///
/// ```
/// use atlas_migration_sys::hooks::set_media_types;
/// use atlas_migration_sys::operations::GET_MIGRATION;
///
/// let mut headers = http::HeaderMap::new();
/// set_media_types(&mut headers, &GET_MIGRATION, false);
/// assert_eq!(headers[http::header::ACCEPT], GET_MIGRATION.response_media_type);
/// assert!(!headers.contains_key(http::header::CONTENT_TYPE));
/// ```
pub fn set_media_types(headers: &mut http::HeaderMap, operation: &Operation, has_body: bool) {
    headers.insert(
        http::header::ACCEPT,
        http::HeaderValue::from_static(operation.response_media_type),
    );
    match operation.request_media_type {
        Some(media_type) if has_body => {
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(media_type),
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
        let has_body = request.body().is_some();
        set_media_types(request.headers_mut(), operation, has_body);
        Ok(())
    }
}
