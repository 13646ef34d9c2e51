//! The start of a body as printable text, for error messages.

/// Most characters of a body quoted in an error message.
pub(crate) const SNIPPET_CHARS: usize = 200;

/// The start of `body` as text: lossy UTF-8, control characters replaced, capped.
pub(crate) fn snippet(body: &[u8]) -> String {
    let head = &body[..body.len().min(SNIPPET_CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    let mut out: String = text
        .chars()
        .take(SNIPPET_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > SNIPPET_CHARS || body.len() > head.len() {
        out.push('…');
    }
    out
}
