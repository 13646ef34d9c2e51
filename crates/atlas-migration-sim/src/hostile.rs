//! Replies no well-behaved server sends, for the fault kinds that model hostile peers and
//! broken networks: a body dripped one byte at a time, a body padded far past any real
//! reply, and a reply naming another resource than the one asked for.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::errors::ApiError;

/// How a processed reply is spoiled on its way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spoil {
    /// One byte per interval.
    Drip(Duration),
    /// Padded with whitespace to this many bytes.
    Oversize(u64),
    /// `_id` replaced by another id.
    ForeignId,
    /// `groupId` replaced by another project's id.
    ForeignProject,
}

/// The largest body a spoiled reply starts from; real replies are a few kilobytes.
const MAX_ORIGINAL_BODY: usize = 1024 * 1024;

/// Size of each padding chunk of an oversize reply.
const PAD_CHUNK: usize = 64 * 1024;

/// An id no simulated resource has.
const FOREIGN_ID: &str = "0ff0ff0ff0ff0ff0ff0ff0ff";

/// Applies `spoil` to `resp` (a reply the handler produced).
pub(crate) async fn spoil(resp: Response, spoil: Spoil) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(original) = axum::body::to_bytes(body, MAX_ORIGINAL_BODY).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = match spoil {
        Spoil::ForeignId => Body::from(replace_field(&original, "_id")),
        Spoil::ForeignProject => Body::from(replace_field(&original, "groupId")),
        Spoil::Drip(interval) => streamed(move |tx| async move {
            for byte in original.iter() {
                tokio::time::sleep(interval).await;
                if tx.send(Bytes::copy_from_slice(&[*byte])).await.is_err() {
                    return;
                }
            }
        }),
        Spoil::Oversize(total) => streamed(move |tx| async move {
            let mut left = total.saturating_sub(original.len() as u64);
            if tx.send(original).await.is_err() {
                return;
            }
            let pad = Bytes::from(vec![b' '; PAD_CHUNK]);
            while left > 0 {
                let n = usize::try_from(left).unwrap_or(PAD_CHUNK).min(PAD_CHUNK);
                if tx.send(pad.slice(..n)).await.is_err() {
                    return;
                }
                left -= n as u64;
            }
        }),
    };
    Response::from_parts(parts, body)
}

/// The JSON `body` with its top-level `field` (when present) set to [`FOREIGN_ID`].
fn replace_field(body: &[u8], field: &str) -> Vec<u8> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut object)) => {
            if object.contains_key(field) {
                object.insert(field.to_owned(), Value::String(FOREIGN_ID.to_owned()));
            }
            serde_json::to_vec(&object).unwrap_or_default()
        }
        _ => body.to_vec(),
    }
}

/// A body fed chunk by chunk by `produce`, one chunk buffered at a time so a huge body
/// never sits in memory; the producer stops when the client goes away.
fn streamed<F, Fut>(produce: F) -> Body
where
    F: FnOnce(mpsc::Sender<Bytes>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(produce(tx));
    Body::new(ChannelBody(rx))
}

struct ChannelBody(mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}

/// A redirect to `location` with `status` (anything but a 3xx becomes 307).
pub(crate) fn redirect(status: u16, location: &str) -> Response {
    let status = StatusCode::from_u16(status)
        .ok()
        .filter(StatusCode::is_redirection)
        .unwrap_or(StatusCode::TEMPORARY_REDIRECT);
    let mut err = ApiError::new(status, "REDIRECTED", "Simulated redirect; not processed.");
    if let Ok(value) = HeaderValue::from_str(location) {
        err = err.header(header::LOCATION, value);
    }
    err.into_response()
}
