//! Reading reply bodies with a cap, so a huge or endless body never fills memory.

use bytes::{Bytes, BytesMut};

/// Most bytes of an error body the client reads; the rest is never buffered.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;

/// Most bytes of a success body the client accepts unless configured otherwise. Real
/// replies of this API are a few kilobytes; a larger one is refused as a decode error.
pub(crate) const DEFAULT_MAX_REPLY_SIZE: usize = 4 * 1024 * 1024;

/// Reads at most `cap` bytes of `reply`'s body; the rest is never buffered. A broken body
/// reads as what arrived before the break.
pub(crate) async fn read_capped(mut reply: reqwest::Response, cap: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < cap {
        match reply.chunk().await {
            Ok(Some(chunk)) => {
                let room = cap - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    body
}

/// Why a whole body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The connection broke before the body ended.
    Transport(reqwest::Error),
    /// The body is longer than the cap.
    TooLarge,
}

/// Reads the whole body of `reply`, refusing one longer than `cap` bytes as soon as it
/// passes the cap (a declared `Content-Length` over the cap is refused before reading).
pub(crate) async fn read_whole(
    mut reply: reqwest::Response,
    cap: usize,
) -> Result<Bytes, BodyError> {
    if reply
        .content_length()
        .is_some_and(|length| length > cap as u64)
    {
        return Err(BodyError::TooLarge);
    }
    // Most replies arrive in one chunk, kept as it is; a second one starts a copy.
    let mut first: Option<Bytes> = None;
    let mut joined = BytesMut::new();
    let mut length = 0usize;
    while let Some(chunk) = reply.chunk().await.map_err(BodyError::Transport)? {
        length = length.saturating_add(chunk.len());
        if length > cap {
            return Err(BodyError::TooLarge);
        }
        match first.take() {
            None if joined.is_empty() => first = Some(chunk),
            None => joined.extend_from_slice(&chunk),
            Some(earlier) => {
                joined.extend_from_slice(&earlier);
                joined.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| joined.freeze()))
}
