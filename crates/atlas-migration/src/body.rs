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
    // Most replies arrive in one chunk, kept as it is; only a second one starts a copy.
    let Some(first) = reply.chunk().await.map_err(BodyError::Transport)? else {
        return Ok(Bytes::new());
    };
    if first.len() > cap {
        return Err(BodyError::TooLarge);
    }
    let Some(mut chunk) = reply.chunk().await.map_err(BodyError::Transport)? else {
        return Ok(first);
    };
    let mut joined = BytesMut::from(&first[..]);
    loop {
        if joined.len().saturating_add(chunk.len()) > cap {
            return Err(BodyError::TooLarge);
        }
        joined.extend_from_slice(&chunk);
        match reply.chunk().await.map_err(BodyError::Transport)? {
            Some(next) => chunk = next,
            None => return Ok(joined.freeze()),
        }
    }
}
