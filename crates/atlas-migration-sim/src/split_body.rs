//! A reply body sent in two parts with a pause between them, as a server that flushes a
//! reply's headers before the rest of its body does. A client that drops such a body unread
//! cannot reuse the connection: the rest has not arrived yet, so the connection is closed.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use hyper::body::Frame;

/// The body of `response` re-sent chunked: its first byte at once, the rest after `pause`.
pub(crate) async fn split(response: Response, pause: Duration) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(mut whole) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let first = whole.split_to(whole.len().min(1));
    let body = SplitBody {
        first: Some(first),
        rest: Some(whole),
        pause: Box::pin(tokio::time::sleep(pause)),
    };
    Response::from_parts(parts, Body::new(body))
}

/// Yields `first`, then `rest` once `pause` has elapsed.
struct SplitBody {
    first: Option<Bytes>,
    rest: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl hyper::body::Body for SplitBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        if self.rest.is_none() {
            return Poll::Ready(None);
        }
        match self.pause.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(self.rest.take().map(|rest| Ok(Frame::data(rest)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_none()
    }
}
