//! The Streamable HTTP transport (2025-03-26 onwards, and the stateless 2026-07-28 revision).
//!
//! Every message is a POST; the answer to a request comes as one JSON body or on an SSE stream that may carry
//! the server's notifications and requests first. Handshake era only: the session id, the optional GET stream
//! for server-initiated messages, resumption of a broken stream with `Last-Event-ID` after the server's
//! `retry:` delay, and DELETE on close. Stateless revision: `Mcp-Method` / `Mcp-Name` / `Mcp-Param-*` headers
//! instead of a session, and a stream that breaks loses its request.

use super::{Failure, Incoming, Io, Outgoing};
use crate::base::http::{BodyBuffer, HttpRequest, header, media_type};
use crate::base::io::EffectId;
use crate::base::limits::MAX_MESSAGE_BYTES;
use crate::base::sse::SseParser;
use crate::base::vec_map::VecMap;
use crate::wire::jsonrpc::{JsonRpcError, JsonRpcMessage, JsonRpcResponse};
use crate::wire::mcp::header_value;

/// How much of an error body is kept for its message.
const MAX_ERROR_BODY: usize = 64 << 10;
/// How often a broken request stream is resumed before the request counts as lost.
const MAX_RESUMES: u32 = 3;
/// The wait before resuming when the server named none.
const DEFAULT_RETRY_MS: u64 = 1000;
/// The longest wait between attempts to reopen the GET stream.
const MAX_REOPEN_MS: u64 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// A message; `rpc` is set for requests; `confirm` asks for [`Incoming::Accepted`].
    Post {
        rpc: Option<i64>,
        initialize: bool,
        confirm: bool,
    },
    /// The standalone GET stream for server-initiated messages.
    Stream,
    /// A GET resuming request `rpc`'s broken stream (`attempts` so far).
    Resume {
        rpc: i64,
        attempts: u32,
    },
    Delete,
}

impl Kind {
    fn rpc(self) -> Option<i64> {
        match self {
            Kind::Post { rpc, .. } => rpc,
            Kind::Resume { rpc, .. } => Some(rpc),
            Kind::Stream | Kind::Delete => None,
        }
    }
}

#[derive(Debug)]
enum Reader {
    Head,
    Json(BodyBuffer),
    Sse(SseParser),
    Status(u16, BodyBuffer),
    Ignore,
}

#[derive(Debug)]
struct Exchange {
    kind: Kind,
    reader: Reader,
    /// The session id the request carried: a 404 to it means that session is gone.
    session: Option<String>,
    /// For a resumption: the event id it resumed after (kept if the new stream brings no new id).
    last_event_id: Option<String>,
    /// The `WWW-Authenticate` values of a 401 or 403.
    challenge: Vec<String>,
}

/// A resumption waiting for its timer.
#[derive(Debug, Clone, PartialEq)]
struct Resume {
    rpc: i64,
    last_event_id: String,
    attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum GetStream {
    Off,
    Open(EffectId),
    /// Waiting on this timer to reopen.
    Reopen(EffectId),
    /// The server answered 405 (or refused otherwise): no standalone stream.
    Unsupported,
}

/// The transport for one server URL.
#[derive(Debug)]
pub(crate) struct StreamableHttp {
    url: String,
    headers: Vec<(String, String)>,
    /// The session the server assigned (handshake era).
    pub(crate) session_id: Option<String>,
    /// Sent as `MCP-Protocol-Version` once known.
    pub(crate) protocol_version: Option<String>,
    /// The stateless revision: no session, no GET stream, no resumption, method headers on every POST.
    pub(crate) stateless: bool,
    exchanges: VecMap<EffectId, Exchange>,
    resumes: VecMap<EffectId, Resume>,
    /// Timers bounding the exchanges that no request timeout covers (notifications, responses, DELETE):
    /// timer → exchange.
    deadlines: VecMap<EffectId, EffectId>,
    /// How long those may take.
    timeout_ms: u64,
    get: GetStream,
    /// Reopen attempts since the GET stream last delivered an event (for the backoff).
    get_attempts: u32,
    /// The access token sent on every request, once authorized.
    pub(crate) bearer: Option<String>,
    /// A refused request with a Bearer challenge is reported as [`Incoming::Unauthorized`] (the client can
    /// authorize), not as a failure.
    pub(crate) authorizes: bool,
}

impl StreamableHttp {
    pub(crate) fn new(url: String, headers: Vec<(String, String)>, timeout_ms: u64) -> StreamableHttp {
        StreamableHttp {
            url,
            headers,
            session_id: None,
            protocol_version: None,
            stateless: false,
            exchanges: VecMap::default(),
            resumes: VecMap::default(),
            deadlines: VecMap::default(),
            timeout_ms,
            get: GetStream::Off,
            get_attempts: 0,
            bearer: None,
            authorizes: false,
        }
    }

    fn request(&self, method: &str, accept: &str, body: Option<String>) -> HttpRequest {
        let mut headers = Vec::with_capacity(self.headers.len() + 6);
        let mut add = |name: &str, value: &str| headers.push((name.to_owned(), value.to_owned()));
        if body.is_some() {
            add("content-type", "application/json");
        }
        add("accept", accept);
        if let Some(version) = &self.protocol_version {
            add("mcp-protocol-version", version);
        }
        if let (Some(session), false) = (&self.session_id, self.stateless) {
            add("mcp-session-id", session);
        }
        if let Some(token) = &self.bearer {
            add("authorization", &format!("Bearer {token}"));
        }
        headers.extend(self.headers.iter().cloned());
        HttpRequest { method: method.to_owned(), url: self.url.clone(), headers, body }
    }

    fn start(&mut self, kind: Kind, request: HttpRequest, last_event_id: Option<String>, io: &mut Io) -> EffectId {
        let key = io.http(request);
        let session = if self.stateless { None } else { self.session_id.clone() };
        let exchange = Exchange { kind, reader: Reader::Head, session, last_event_id, challenge: Vec::new() };
        self.exchanges.insert(key, exchange);
        if matches!(kind, Kind::Post { rpc: None, .. } | Kind::Delete) {
            let timer = io.timer(self.timeout_ms);
            self.deadlines.insert(timer, key);
        }
        key
    }

    /// Exchange `key` is over: stop its deadline, if it has one.
    fn finished(&mut self, key: EffectId, io: &mut Io) {
        let timer = self.deadlines.iter().find(|(_, k)| *k == key).map(|(t, _)| *t);
        if let Some(timer) = timer {
            self.deadlines.remove(&timer);
            io.cancel(timer);
        }
    }

    pub(crate) fn send(&mut self, message: Outgoing, io: &mut Io) {
        let initialize = message.method == "initialize";
        let confirm = message.confirm;
        let mut request = self.request("POST", "application/json, text/event-stream", Some(message.body));
        if self.stateless {
            if !message.method.is_empty() {
                request.headers.push(("mcp-method".to_owned(), message.method));
            }
            if let Some(name) = message.name {
                request.headers.push(("mcp-name".to_owned(), header_value(&name)));
            }
            request.headers.extend(message.param_headers);
        }
        self.start(Kind::Post { rpc: message.rpc, initialize, confirm }, request, None, io);
    }

    /// Opens the standalone GET stream the server may use for its own messages (handshake era).
    pub(crate) fn open_get_stream(&mut self, io: &mut Io) {
        if matches!(self.get, GetStream::Off | GetStream::Reopen(_)) && !self.stateless {
            let key = self.start(Kind::Stream, self.request("GET", "text/event-stream", None), None, io);
            self.get = GetStream::Open(key);
        }
    }

    pub(crate) fn answered(&mut self, rpc: i64, io: &mut Io) {
        // JSON bodies finish by themselves; a stream the server keeps open is let go.
        let carrying = self
            .exchanges
            .iter()
            .find(|(_, e)| e.kind.rpc() == Some(rpc) && matches!(e.reader, Reader::Sse(_)))
            .map(|(key, _)| *key);
        if let Some(key) = carrying {
            self.exchanges.remove(&key);
            io.cancel(key);
        }
    }

    pub(crate) fn abandon(&mut self, rpc: i64, io: &mut Io) {
        let keys: Vec<EffectId> =
            self.exchanges.iter().filter(|(_, e)| e.kind.rpc() == Some(rpc)).map(|(k, _)| *k).collect();
        for key in keys {
            self.exchanges.remove(&key);
            io.cancel(key);
        }
        let timers: Vec<EffectId> = self.resumes.iter().filter(|(_, r)| r.rpc == rpc).map(|(k, _)| *k).collect();
        for key in timers {
            self.resumes.remove(&key);
            io.cancel(key);
        }
    }

    pub(crate) fn close(&mut self, io: &mut Io) {
        for (key, _) in self.exchanges.take() {
            io.cancel(key);
        }
        for (key, _) in self.resumes.take() {
            io.cancel(key);
        }
        for (timer, _) in self.deadlines.take() {
            io.cancel(timer);
        }
        if let GetStream::Reopen(timer) = self.get {
            io.cancel(timer);
        }
        self.get = GetStream::Off;
        if self.session_id.is_some() && !self.stateless {
            let request = self.request("DELETE", "application/json, text/event-stream", None);
            self.start(Kind::Delete, request, None, io);
        }
        self.session_id = None;
    }

    pub(crate) fn handle_head(
        &mut self,
        key: EffectId,
        status: u16,
        headers: &[(String, String)],
        io: &mut Io,
    ) -> bool {
        let Some(exchange) = self.exchanges.get_mut(&key) else { return false };
        let ok = (200..300).contains(&status);
        if matches!(status, 401 | 403) {
            let values = headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"));
            exchange.challenge = values.map(|(_, v)| v.clone()).collect();
        }
        exchange.reader = match (ok, media_type(header(headers, "content-type")).as_str()) {
            (false, _) => Reader::Status(status, BodyBuffer::new(MAX_ERROR_BODY)),
            (true, "text/event-stream") => Reader::Sse(SseParser::new(MAX_MESSAGE_BYTES)),
            (true, "application/json") => Reader::Json(BodyBuffer::new(MAX_MESSAGE_BYTES)),
            (true, _) => Reader::Ignore,
        };
        if let (true, Kind::Post { confirm: true, .. }) = (ok, exchange.kind) {
            io.report(Incoming::Accepted(Ok(())));
        }
        if let (true, Kind::Post { initialize: true, .. }) = (ok, exchange.kind) {
            if let Some(id) = header(headers, "mcp-session-id") {
                if id.is_empty() || !id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
                    let kind = exchange.kind;
                    self.exchanges.remove(&key);
                    io.cancel(key);
                    self.lost(kind, Failure::lasting("the server sent an invalid Mcp-Session-Id"), io);
                    return true;
                }
                self.session_id = Some(id.to_owned());
            }
        }
        true
    }

    pub(crate) fn handle_chunk(&mut self, key: EffectId, chunk: &[u8], io: &mut Io) -> bool {
        let Some(exchange) = self.exchanges.get_mut(&key) else { return false };
        let mut events = Vec::new();
        let overflow = match &mut exchange.reader {
            Reader::Json(body) => !body.push(chunk),
            Reader::Sse(parser) => parser.feed(chunk, &mut events).is_err(),
            Reader::Status(_, body) => {
                body.push(chunk);
                false
            }
            Reader::Head | Reader::Ignore => false,
        };
        if exchange.kind == Kind::Stream && !events.is_empty() {
            self.get_attempts = 0;
        }
        for event in events {
            if event.is_message() && !event.data.trim().is_empty() {
                io.report(Incoming::Message(event.data));
            }
        }
        if overflow {
            let kind = exchange.kind;
            self.exchanges.remove(&key);
            io.cancel(key);
            self.lost(
                kind,
                Failure::lasting(format!("a message from the server exceeded {MAX_MESSAGE_BYTES} bytes")),
                io,
            );
        }
        true
    }

    pub(crate) fn handle_end(&mut self, key: EffectId, io: &mut Io) -> bool {
        let Some(exchange) = self.exchanges.remove(&key) else { return false };
        self.finished(key, io);
        match (exchange.kind, exchange.reader) {
            (Kind::Post { rpc: Some(rpc), .. }, Reader::Status(status @ (401 | 403), _)) if self.authorizes => {
                io.report(Incoming::Unauthorized { rpc, status, challenge: exchange.challenge })
            }
            (kind, Reader::Status(status, body)) => self.refused(kind, status, &body, exchange.session, io),
            (Kind::Post { rpc, .. }, Reader::Json(body)) => {
                if !body.bytes().is_empty() {
                    io.report(Incoming::Message(String::from_utf8_lossy(body.bytes()).into_owned()));
                }
                if let Some(rpc) = rpc {
                    // Read after the message: if that message answered the request, the client ignores this.
                    io.report(Incoming::Lost {
                        rpc,
                        failure: Failure::lasting("the response did not answer the request"),
                    });
                }
            }
            (Kind::Post { rpc: Some(rpc), .. }, Reader::Sse(parser)) => {
                self.resume_or_lose(rpc, 0, parser.last_event_id().map(str::to_owned), parser.retry_ms(), io)
            }
            (Kind::Resume { rpc, attempts }, Reader::Sse(parser)) => {
                let id = parser.last_event_id().map(str::to_owned).or(exchange.last_event_id);
                self.resume_or_lose(rpc, attempts, id, parser.retry_ms(), io)
            }
            (kind, _) if kind.rpc().is_some() => io.report(Incoming::Lost {
                rpc: kind.rpc().unwrap_or_default(),
                failure: Failure::lasting("the server accepted the request without answering it"),
            }),
            (Kind::Stream, reader) => {
                let retry = if let Reader::Sse(parser) = &reader { parser.retry_ms() } else { None };
                self.reopen_later(retry, io);
            }
            _ => {}
        }
        true
    }

    pub(crate) fn handle_error(&mut self, key: EffectId, message: &str, lasting: bool, io: &mut Io) -> bool {
        let Some(exchange) = self.exchanges.remove(&key) else { return false };
        self.finished(key, io);
        self.lost(exchange.kind, Failure::unanswered("request", message, lasting), io);
        true
    }

    pub(crate) fn handle_timer(&mut self, key: EffectId, io: &mut Io) -> bool {
        if let Some(exchange) = self.deadlines.remove(&key) {
            if let Some(Exchange { kind, .. }) = self.exchanges.remove(&exchange) {
                io.cancel(exchange);
                let after = self.timeout_ms;
                self.lost(kind, Failure::lasting(format!("request failed: timed out after {after} ms")), io);
            }
            return true;
        }
        if let Some(resume) = self.resumes.remove(&key) {
            let mut request = self.request("GET", "text/event-stream", None);
            request.headers.push(("last-event-id".to_owned(), resume.last_event_id.clone()));
            let kind = Kind::Resume { rpc: resume.rpc, attempts: resume.attempts };
            self.start(kind, request, Some(resume.last_event_id), io);
            return true;
        }
        if self.get == GetStream::Reopen(key) {
            self.open_get_stream(io);
            return true;
        }
        false
    }

    // ---- internals ----

    /// A request's stream ended unanswered: resume it after the server's `retry:` delay when the stream had
    /// event ids (handshake era), else the request is lost.
    fn resume_or_lose(
        &mut self,
        rpc: i64,
        attempts: u32,
        last_event_id: Option<String>,
        retry: Option<u64>,
        io: &mut Io,
    ) {
        match last_event_id {
            Some(id) if !self.stateless && attempts < MAX_RESUMES => {
                let timer = io.timer(retry.unwrap_or(DEFAULT_RETRY_MS).min(MAX_REOPEN_MS));
                self.resumes.insert(timer, Resume { rpc, last_event_id: id, attempts: attempts + 1 });
            }
            _ => io.report(Incoming::Lost {
                rpc,
                failure: Failure::transient("the server ended the response without answering the request"),
            }),
        }
    }

    fn reopen_later(&mut self, retry_ms: Option<u64>, io: &mut Io) {
        if self.get == GetStream::Unsupported || self.session_id.is_none() {
            self.get = GetStream::Off;
            return;
        }
        let backoff = DEFAULT_RETRY_MS.saturating_mul(1 << self.get_attempts.min(5)).min(MAX_REOPEN_MS);
        self.get_attempts += 1;
        let timer = io.timer(retry_ms.unwrap_or(backoff).clamp(backoff, MAX_REOPEN_MS));
        self.get = GetStream::Reopen(timer);
    }

    fn refused(&mut self, kind: Kind, status: u16, body: &BodyBuffer, session: Option<String>, io: &mut Io) {
        let error = rpc_error(body);
        let mut text = error_text(status, error.as_ref(), body);
        // After the handshake without a session id, a refused request most often means the server keeps sessions
        // but its id never reached us: what a web page sees when the server does not expose the header.
        let handshaken = self.protocol_version.is_some() && !self.stateless;
        if handshaken && session.is_none() && matches!(status, 400 | 404) && matches!(kind, Kind::Post { .. }) {
            text.push_str(NO_SESSION_ID);
        }
        match (kind, session) {
            (Kind::Delete, _) => {}
            // A resumption that finds the session gone has lost its request: the server already ran it, so it
            // must not be sent again on a new session.
            (Kind::Post { .. } | Kind::Stream, Some(session)) if status == 404 && !self.stateless => {
                if kind == Kind::Stream {
                    self.get = GetStream::Off;
                }
                io.report(Incoming::SessionGone { rpc: kind.rpc(), session });
            }
            (kind, _) => self.refused_otherwise(kind, status, error, text, io),
        }
    }

    fn refused_otherwise(&mut self, kind: Kind, status: u16, error: Option<JsonRpcError>, text: String, io: &mut Io) {
        match kind {
            Kind::Delete => {}
            Kind::Post { confirm: true, .. } => io.report(Incoming::Accepted(Err(Failure::status(status, text)))),
            Kind::Post { rpc: Some(rpc), .. } => io.report(Incoming::Refused { rpc, status, error, text }),
            Kind::Resume { rpc, .. } => io.report(Incoming::Lost { rpc, failure: Failure::status(status, text) }),
            Kind::Stream => {
                // 405: the server offers no GET stream, which is fine. Anything else is worth a word.
                if status != 405 {
                    io.report(Incoming::Warning(format!("the server refused the event stream: {text}")));
                }
                self.get = GetStream::Unsupported;
            }
            Kind::Post { rpc: None, .. } => {
                io.report(Incoming::Warning(format!("the server refused a notification: {text}")))
            }
        }
    }

    fn lost(&mut self, kind: Kind, failure: Failure, io: &mut Io) {
        match kind {
            Kind::Stream => self.reopen_later(None, io),
            Kind::Post { confirm: true, .. } => io.report(Incoming::Accepted(Err(failure))),
            Kind::Post { rpc: None, .. } => io.report(Incoming::Warning(failure.error)),
            Kind::Delete => {}
            _ => io.report(Incoming::Lost { rpc: kind.rpc().unwrap_or_default(), failure }),
        }
    }
}

const NO_SESSION_ID: &str = " (no Mcp-Session-Id reached this client: a server that keeps sessions must send one, \
    and to a web page also Access-Control-Expose-Headers: Mcp-Session-Id)";

/// The JSON-RPC error in an error body, if there is one.
fn rpc_error(body: &BodyBuffer) -> Option<JsonRpcError> {
    let text = std::str::from_utf8(body.bytes()).ok()?;
    match JsonRpcMessage::parse_all(text).ok()?.pop()? {
        JsonRpcMessage::Response(JsonRpcResponse { outcome: Err(error), .. }) => Some(error),
        _ => None,
    }
}

/// What an HTTP error means, with the server's own words when it gave some.
pub(crate) fn error_text(status: u16, error: Option<&JsonRpcError>, body: &BodyBuffer) -> String {
    let what = match status {
        // No body text: an authorization error may echo the credential (a hook's header the core never saw).
        401 => return "the server requires authorization (HTTP 401)".to_owned(),
        403 => return "the server refused access (HTTP 403)".to_owned(),
        _ => format!("HTTP {status}"),
    };
    let detail = error.map(|e| e.message.clone()).unwrap_or_else(|| body.text_snippet(200));
    if detail.is_empty() { what } else { format!("{what}: {detail}") }
}
