//! The HTTP+SSE transport of 2024-11-05 (deprecated, still common): one long GET event stream whose first
//! event names the endpoint to POST messages to; every answer arrives on the stream.

use super::streamable_http::error_text;
use super::{Failure, Incoming, Io, Outgoing};
use crate::base::http::{BodyBuffer, HttpRequest, header, media_type};
use crate::base::io::EffectId;
use crate::base::limits::MAX_MESSAGE_BYTES;
use crate::base::sse::SseParser;
use crate::base::url::origin;
use crate::base::vec_map::VecMap;

#[derive(Debug)]
enum State {
    Idle,
    /// The GET is out; messages wait for the `endpoint` event.
    Connecting(EffectId),
    Open {
        stream: EffectId,
        endpoint: String,
    },
}

#[derive(Debug)]
struct Post {
    rpc: Option<i64>,
    confirm: bool,
    status: u16,
    body: BodyBuffer,
}

/// The transport for one event-stream URL.
#[derive(Debug)]
pub(crate) struct LegacySse {
    url: String,
    headers: Vec<(String, String)>,
    /// Sent as `MCP-Protocol-Version` once negotiated.
    pub(crate) protocol_version: Option<String>,
    state: State,
    parser: SseParser,
    queued: Vec<Outgoing>,
    posts: VecMap<EffectId, Post>,
}

impl LegacySse {
    pub(crate) fn new(url: String, headers: Vec<(String, String)>) -> LegacySse {
        LegacySse {
            url,
            headers,
            protocol_version: None,
            state: State::Idle,
            parser: SseParser::new(MAX_MESSAGE_BYTES),
            queued: Vec::new(),
            posts: VecMap::default(),
        }
    }

    fn request(&self, method: &str, url: &str, body: Option<String>) -> HttpRequest {
        let mut headers = Vec::with_capacity(self.headers.len() + 3);
        if body.is_some() {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
        } else {
            headers.push(("accept".to_owned(), "text/event-stream".to_owned()));
        }
        if let Some(version) = &self.protocol_version {
            headers.push(("mcp-protocol-version".to_owned(), version.clone()));
        }
        headers.extend(self.headers.iter().cloned());
        HttpRequest { method: method.to_owned(), url: url.to_owned(), headers, body }
    }

    /// The session the message endpoint names: its longest query value (`?sessionId=…`).
    pub(crate) fn session_id(&self) -> Option<&str> {
        let State::Open { endpoint, .. } = &self.state else { return None };
        let query = endpoint.split_once('?')?.1;
        query.split('&').filter_map(|pair| pair.split_once('=')).map(|(_, v)| v).max_by_key(|v| v.len())
    }

    pub(crate) fn send(&mut self, message: Outgoing, io: &mut Io) {
        match &self.state {
            State::Open { endpoint, .. } => {
                let key = io.http(self.request("POST", endpoint, Some(message.body)));
                let post =
                    Post { rpc: message.rpc, confirm: message.confirm, status: 0, body: BodyBuffer::new(64 << 10) };
                self.posts.insert(key, post);
            }
            State::Connecting(_) => self.queued.push(message),
            State::Idle => {
                self.queued.push(message);
                self.parser = SseParser::new(MAX_MESSAGE_BYTES);
                let key = io.http(self.request("GET", &self.url, None));
                self.state = State::Connecting(key);
            }
        }
    }

    /// Answers come on the shared stream; nothing to release.
    pub(crate) fn answered(&mut self, _rpc: i64, _io: &mut Io) {}

    /// A POST only delivers; the answer would come on the stream, which stays.
    pub(crate) fn abandon(&mut self, _rpc: i64, _io: &mut Io) {}

    pub(crate) fn close(&mut self, io: &mut Io) {
        if let State::Connecting(stream) | State::Open { stream, .. } = self.state {
            io.cancel(stream);
        }
        for (key, _) in self.posts.take() {
            io.cancel(key);
        }
        self.queued.clear();
        self.state = State::Idle;
    }

    fn stream_key(&self) -> Option<EffectId> {
        match self.state {
            State::Connecting(key) | State::Open { stream: key, .. } => Some(key),
            State::Idle => None,
        }
    }

    pub(crate) fn handle_head(
        &mut self,
        key: EffectId,
        status: u16,
        headers: &[(String, String)],
        io: &mut Io,
    ) -> bool {
        if let Some(post) = self.posts.get_mut(&key) {
            post.status = status;
            return true;
        }
        if self.stream_key() != Some(key) {
            return false;
        }
        if !(200..300).contains(&status) {
            self.down(Failure::status(status, format!("the event stream was refused (HTTP {status})")), io);
        } else if media_type(header(headers, "content-type")) != "text/event-stream" {
            self.down(Failure::lasting("the event stream URL did not answer with an event stream"), io);
        }
        true
    }

    pub(crate) fn handle_chunk(&mut self, key: EffectId, chunk: &[u8], io: &mut Io) -> bool {
        if let Some(post) = self.posts.get_mut(&key) {
            post.body.push(chunk);
            return true;
        }
        if self.stream_key() != Some(key) {
            return false;
        }
        let mut events = Vec::new();
        if self.parser.feed(chunk, &mut events).is_err() {
            self.down(Failure::lasting(format!("a message from the server exceeded {MAX_MESSAGE_BYTES} bytes")), io);
            return true;
        }
        for event in events {
            match event.event.as_deref() {
                Some("endpoint") => self.on_endpoint(key, event.data.trim(), io),
                None | Some("message") if !event.data.trim().is_empty() => io.report(Incoming::Message(event.data)),
                _ => {}
            }
        }
        true
    }

    pub(crate) fn handle_end(&mut self, key: EffectId, io: &mut Io) -> bool {
        if let Some(post) = self.posts.remove(&key) {
            let ok = (200..300).contains(&post.status);
            let text = error_text(post.status, None, &post.body);
            match (ok, post.rpc, post.confirm) {
                (true, _, true) => io.report(Incoming::Accepted(Ok(()))),
                (false, _, true) => io.report(Incoming::Accepted(Err(Failure::status(post.status, text)))),
                (false, Some(rpc), _) => io.report(Incoming::Refused { rpc, status: post.status, error: None, text }),
                (false, None, _) => io.report(Incoming::Warning(format!("the server refused a message: {text}"))),
                (true, _, false) => {}
            }
            return true;
        }
        if self.stream_key() != Some(key) {
            return false;
        }
        self.down(Failure::transient("the server closed the event stream"), io);
        true
    }

    pub(crate) fn handle_error(&mut self, key: EffectId, message: &str, lasting: bool, io: &mut Io) -> bool {
        if let Some(post) = self.posts.remove(&key) {
            let failure = Failure::unanswered("request", message, lasting);
            match (post.rpc, post.confirm) {
                (_, true) => io.report(Incoming::Accepted(Err(failure))),
                (Some(rpc), false) => io.report(Incoming::Lost { rpc, failure }),
                (None, false) => io.report(Incoming::Warning(failure.error)),
            }
            return true;
        }
        if self.stream_key() != Some(key) {
            return false;
        }
        self.down(Failure::unanswered("the event stream", message, lasting), io);
        true
    }

    fn on_endpoint(&mut self, stream: EffectId, data: &str, io: &mut Io) {
        let endpoint = resolve(&self.url, data);
        if !same_origin(&endpoint, &self.url) {
            io.cancel(stream);
            self.down(Failure::lasting("the server named a message endpoint on another origin, which is refused"), io);
            return;
        }
        self.state = State::Open { stream, endpoint };
        for message in std::mem::take(&mut self.queued) {
            self.send(message, io);
        }
    }

    /// The stream is gone: every request waiting on it is lost; the next message connects again.
    fn down(&mut self, failure: Failure, io: &mut Io) {
        if let Some(stream) = self.stream_key() {
            io.cancel(stream);
        }
        self.state = State::Idle;
        self.queued.clear();
        io.report(Incoming::Down(failure));
    }
}

/// `reference` resolved against `base` (absolute URL, absolute path, or relative path).
fn resolve(base: &str, reference: &str) -> String {
    if reference.starts_with("http://") || reference.starts_with("https://") {
        return reference.to_owned();
    }
    let origin = origin(base);
    if reference.starts_with('/') {
        return format!("{origin}{reference}");
    }
    let path = base[origin.len()..].split(['?', '#']).next().unwrap_or("");
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    format!("{origin}{}{reference}", if dir.is_empty() { "/" } else { dir })
}

fn same_origin(a: &str, b: &str) -> bool {
    origin(a).eq_ignore_ascii_case(origin(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn resolves_endpoints_like_a_browser() {
        let base = "http://127.0.0.1:3001/sse?x=1";
        assert_eq!(resolve(base, "/message?sessionId=a"), "http://127.0.0.1:3001/message?sessionId=a");
        assert_eq!(resolve(base, "message?s=a"), "http://127.0.0.1:3001/message?s=a");
        assert_eq!(resolve("http://h/a/b/sse", "m"), "http://h/a/b/m");
        assert_eq!(resolve(base, "http://evil:1/m"), "http://evil:1/m");
        assert!(same_origin("http://127.0.0.1:3001/m", base));
        assert!(!same_origin("http://evil:1/m", base));
        assert!(!same_origin("https://127.0.0.1:3001/m", base));
    }
}
