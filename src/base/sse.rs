//! The one incremental Server-Sent Events parser (WHATWG rules), used for MCP streams and for streamed model
//! responses alike. It is fed body chunks exactly as they arrive: a line, a UTF-8 character or a `\r\n` pair
//! may be split across chunks. Sizes are bounded, because the stream comes from an untrusted peer.

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field; `None` means the default type `message`.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The `id:` field of this event, if it had one.
    pub id: Option<String>,
}

impl SseEvent {
    /// True for events of the default type (absent or `message`).
    pub(crate) fn is_message(&self) -> bool {
        matches!(self.event.as_deref(), None | Some("message"))
    }
}

/// Raised when the peer sends an event larger than the parser accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseTooLarge {
    /// The limit that was exceeded, in bytes.
    pub limit: usize,
}

/// Incremental SSE parser. Call [`SseParser::feed`] for every chunk; events come out as soon as their blank
/// line arrives. An event left unfinished when the stream ends is discarded, as the standard says.
#[derive(Debug, Clone)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    skip_lf: bool,
    started: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
    last_event_id: Option<String>,
    retry_ms: Option<u64>,
    pending_bytes: usize,
    max_event_bytes: usize,
}

impl SseParser {
    /// A parser that refuses events (or lines) larger than `max_event_bytes`.
    pub(crate) fn new(max_event_bytes: usize) -> Self {
        SseParser {
            line: Vec::new(),
            skip_lf: false,
            started: false,
            event: None,
            data: String::new(),
            has_data: false,
            id: None,
            last_event_id: None,
            retry_ms: None,
            pending_bytes: 0,
            max_event_bytes,
        }
    }

    /// The last event id seen on this stream (for `Last-Event-ID` on reconnection).
    pub(crate) fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The reconnection delay the server asked for with `retry:`.
    pub(crate) fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// Feeds one chunk and appends every completed event to `out`.
    pub(crate) fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseTooLarge> {
        while !chunk.is_empty() {
            if self.skip_lf {
                self.skip_lf = false;
                if chunk[0] == b'\n' {
                    chunk = &chunk[1..];
                    continue;
                }
            }
            match chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(end) => {
                    self.push_line_bytes(&chunk[..end])?;
                    self.skip_lf = chunk[end] == b'\r';
                    chunk = &chunk[end + 1..];
                    let line = std::mem::take(&mut self.line);
                    self.process_line(&line, out);
                    self.line = line;
                    self.line.clear();
                }
                None => {
                    self.push_line_bytes(chunk)?;
                    chunk = &[];
                }
            }
        }
        Ok(())
    }

    fn push_line_bytes(&mut self, bytes: &[u8]) -> Result<(), SseTooLarge> {
        self.pending_bytes += bytes.len();
        if self.pending_bytes > self.max_event_bytes {
            return Err(SseTooLarge { limit: self.max_event_bytes });
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn process_line(&mut self, raw: &[u8], out: &mut Vec<SseEvent>) {
        let mut line = raw;
        if !self.started {
            self.started = true;
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match name {
            b"event" => self.event = Some(value.into_owned()),
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"id" if !value.contains('\0') => {
                self.id = Some(value.clone().into_owned());
                self.last_event_id = Some(value.into_owned());
            }
            b"retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry_ms = value.parse().ok();
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        self.pending_bytes = 0;
        let event = self.event.take();
        let id = self.id.take();
        if !self.has_data {
            return;
        }
        self.has_data = false;
        let event = event.filter(|e| !e.is_empty());
        out.push(SseEvent { event, data: std::mem::take(&mut self.data), id });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn parse_in_chunks(input: &[u8], size: usize) -> Vec<SseEvent> {
        let mut parser = SseParser::new(1 << 20);
        let mut out = Vec::new();
        for chunk in input.chunks(size) {
            parser.feed(chunk, &mut out).unwrap();
        }
        out
    }

    const STREAM: &[u8] = "\u{feff}: keep-alive\r\nid: 7\r\nretry: 500\r\ndata: \r\n\r\nevent: message\ndata: {\"a\":\r\ndata: \"é\"}\n\nevent: ping\rdata:x\r\r"
        .as_bytes();

    #[test]
    fn every_chunking_gives_the_same_events() {
        let whole = parse_in_chunks(STREAM, STREAM.len());
        assert_eq!(
            whole,
            vec![
                SseEvent { event: None, data: String::new(), id: Some("7".into()) },
                SseEvent { event: Some("message".into()), data: "{\"a\":\n\"é\"}".into(), id: None },
                SseEvent { event: Some("ping".into()), data: "x".into(), id: None },
            ]
        );
        for size in 1..STREAM.len() {
            assert_eq!(parse_in_chunks(STREAM, size), whole, "chunk size {size}");
        }
    }

    #[test]
    fn remembers_last_id_and_retry() {
        let mut parser = SseParser::new(1024);
        let mut out = Vec::new();
        parser.feed(b"id: 1\nretry: 250\ndata: a\n\nretry: x\ndata: b\n\n", &mut out).unwrap();
        assert_eq!(parser.last_event_id(), Some("1"));
        assert_eq!(parser.retry_ms(), Some(250));
        assert_eq!(out[1].id, None);
    }

    #[test]
    fn an_unfinished_event_is_not_dispatched() {
        assert!(parse_in_chunks(b"data: half", 3).is_empty());
        assert!(parse_in_chunks(b"event: x\n\n", 3).is_empty(), "an event without data is not dispatched");
    }

    #[test]
    fn refuses_an_oversized_event() {
        let mut parser = SseParser::new(16);
        let mut out = Vec::new();
        assert_eq!(parser.feed(b"data: 0123456789", &mut out), Ok(()));
        assert_eq!(parser.feed(b"abcdef", &mut out), Err(SseTooLarge { limit: 16 }));
        let mut parser = SseParser::new(16);
        for _ in 0..10 {
            parser.feed(b"data: 0123\n\n", &mut out).unwrap();
        }
        assert_eq!(out.len(), 10, "the limit applies per event, not per stream");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let out = parse_in_chunks(b"data: \xff\xfe\n\n", 1);
        assert_eq!(out[0].data, "\u{fffd}\u{fffd}");
    }
}
