//! Plain-data HTTP, as the core hands it to a host and gets it back. The core never opens a connection: it
//! describes a request, and the host feeds back the response head, the body chunks and the end.

use serde::{Deserialize, Serialize};

/// A request for the host to perform. Its `{:?}` shows no URL and no header values (an MCP server's address and
/// credentials must not reach logs).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET`, `POST` or `DELETE`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header pairs, in order (a `fetch` accepts this shape as `HeadersInit`).
    pub headers: Vec<(String, String)>,
    /// UTF-8 body (JSON for every request the core makes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &"[hidden]")
            .field("headers", &self.headers.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>())
            .field("body", &self.body.as_ref().map(String::len))
            .finish()
    }
}

impl HttpRequest {
    /// The first value of header `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// The first value of header `name` in `headers` (ASCII case-insensitive).
pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// The media type of a `Content-Type` value, lowercased, without parameters.
pub(crate) fn media_type(content_type: Option<&str>) -> String {
    content_type.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// A response body collected up to a limit; beyond it the body is refused rather than held.
#[derive(Debug, Clone, Default)]
pub(crate) struct BodyBuffer {
    bytes: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl BodyBuffer {
    /// An empty buffer that accepts at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        BodyBuffer { bytes: Vec::new(), limit, overflowed: false }
    }

    /// Appends a chunk; returns false (and drops the data) once the limit is passed.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> bool {
        if self.overflowed || self.bytes.len() + chunk.len() > self.limit {
            self.overflowed = true;
            self.bytes = Vec::new();
            return false;
        }
        self.bytes.extend_from_slice(chunk);
        true
    }

    /// True once more than the limit arrived.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The bytes collected so far.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The body as text (invalid UTF-8 replaced), cut to `max_chars` characters for messages.
    pub(crate) fn text_snippet(&self, max_chars: usize) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        let text = text.trim();
        match text.char_indices().nth(max_chars) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn headers_are_case_insensitive() {
        let headers = vec![("Mcp-Session-Id".to_owned(), "abc".to_owned())];
        assert_eq!(header(&headers, "mcp-session-id"), Some("abc"));
        assert_eq!(header(&headers, "x"), None);
        assert_eq!(media_type(Some("Text/Event-Stream; charset=utf-8")), "text/event-stream");
        assert_eq!(media_type(None), "");
    }

    #[test]
    fn body_buffer_refuses_past_its_limit() {
        let mut body = BodyBuffer::new(4);
        assert!(body.push(b"ab"));
        assert!(body.push(b"cd"));
        assert!(!body.push(b"e"));
        assert!(body.overflowed());
        assert!(body.bytes().is_empty());
        assert!(!body.push(b""), "stays refused");
    }

    #[test]
    fn snippets_cut_at_character_boundaries() {
        let mut body = BodyBuffer::new(100);
        body.push("  ééé  ".as_bytes());
        assert_eq!(body.text_snippet(2), "éé…");
        assert_eq!(body.text_snippet(10), "ééé");
    }
}
