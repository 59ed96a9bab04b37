//! What the MCP client machine and its transports exchange. The client deals in JSON-RPC messages; a
//! transport ([`StreamableHttp`], [`LegacySse`], [`Stdio`]) turns them into effects for the host and turns
//! the host's inputs back into messages.

mod legacy_sse;
mod stdio;
mod streamable_http;

pub(crate) use stdio::Reaper;

use super::config::{ConnectionConfig, Endpoint, HttpTransport};
use crate::base::http::HttpRequest;
use crate::base::io::{EffectId, Effects, Owner};
use crate::base::queue::Queue;
use crate::wire::jsonrpc::JsonRpcError;
use legacy_sse::LegacySse;
use stdio::Stdio;
use streamable_http::StreamableHttp;

/// One JSON-RPC message on its way out.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    /// The id of a request (a response is awaited); `None` for notifications and responses.
    pub(crate) rpc: Option<i64>,
    /// The method (for `Mcp-Method`), empty for responses.
    pub(crate) method: String,
    /// `Mcp-Name` (stateless revision: the tool name of a `tools/call`).
    pub(crate) name: Option<String>,
    /// `Mcp-Param-*` headers (stateless revision).
    pub(crate) param_headers: Vec<(String, String)>,
    /// The serialised message.
    pub(crate) body: String,
    /// Report [`Incoming::Accepted`] once the server took it (for `notifications/initialized`).
    pub(crate) confirm: bool,
}

/// What a transport reports back to the client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Incoming {
    /// One payload (a message or a batch) to parse.
    Message(String),
    /// The request was refused at the HTTP level; `error` is the JSON-RPC error in the body, if any.
    Refused { rpc: i64, status: u16, error: Option<JsonRpcError>, text: String },
    /// Nothing more will arrive for the request (connection failed, stream ended without an answer).
    Lost { rpc: i64, failure: Failure },
    /// The request was refused for want of authorization (HTTP 401, or 403), with the `WWW-Authenticate`
    /// values; only where the client authorizes.
    Unauthorized { rpc: i64, status: u16, challenge: Vec<String> },
    /// The server no longer knows `session`, which the request (or the GET stream, `None`) carried.
    SessionGone { rpc: Option<i64>, session: String },
    /// The server took (or refused) a message sent with `confirm`.
    Accepted(Result<(), Failure>),
    /// The whole connection is gone (process exited, event stream closed): every request is lost.
    Down(Failure),
    /// Something worth telling the application that breaks nothing.
    Warning(String),
    /// A line the server process wrote to stderr.
    Stderr(String),
}

/// Why a message got no answer, and whether another attempt may get one: after a dropped connection, or an
/// HTTP 408, 429 or 5xx.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) error: String,
    pub(crate) transient: bool,
}

impl Failure {
    /// Trying again would end the same way.
    pub(crate) fn lasting(error: impl Into<String>) -> Failure {
        Failure { error: error.into(), transient: false }
    }

    /// The connection failed or dropped.
    pub(crate) fn transient(error: impl Into<String>) -> Failure {
        Failure { error: error.into(), transient: true }
    }

    /// What got no response (`request`, `the event stream`) and why, as the host reports it; `lasting` when
    /// trying again cannot help.
    pub(crate) fn unanswered(what: &str, message: &str, lasting: bool) -> Failure {
        Failure { error: format!("{what} failed: {message}"), transient: !lasting }
    }

    /// Refused with HTTP `status`.
    pub(crate) fn status(status: u16, error: impl Into<String>) -> Failure {
        Failure { error: error.into(), transient: matches!(status, 408 | 429 | 500..=599) }
    }
}

/// What a transport works with: the effect sink (ids tagged with the client's owner), what it reports back to the
/// client, the server's name (for HTTP effects) and the clock.
#[derive(Debug)]
pub(crate) struct Io {
    pub(crate) now_ms: u64,
    pub(crate) effects: Effects,
    pub(crate) incoming: Queue<Incoming>,
    server: String,
}

impl Io {
    pub(crate) fn new(owner: Owner, server: String) -> Io {
        Io { now_ms: 0, effects: Effects::new(owner), incoming: Queue::new(), server }
    }

    pub(crate) fn http(&mut self, request: HttpRequest) -> EffectId {
        self.effects.http(request, Some(self.server.clone()))
    }

    pub(crate) fn timer(&mut self, after_ms: u64) -> EffectId {
        self.effects.timer(self.now_ms.saturating_add(after_ms))
    }

    pub(crate) fn cancel(&mut self, id: EffectId) {
        self.effects.cancel(id);
    }

    pub(crate) fn report(&mut self, incoming: Incoming) {
        self.incoming.push_back(incoming);
    }
}

/// The three transports behind one interface.
#[derive(Debug)]
pub(crate) enum Transport {
    Http(StreamableHttp),
    Sse(LegacySse),
    Stdio(Stdio),
}

macro_rules! each {
    ($self:expr, $t:ident => $body:expr) => {
        match $self {
            Transport::Http($t) => $body,
            Transport::Sse($t) => $body,
            Transport::Stdio($t) => $body,
        }
    };
}

impl Transport {
    /// The transport `config` asks for; `legacy_sse` after an endpoint refused Streamable HTTP.
    pub(crate) fn new(config: &ConnectionConfig, legacy_sse: bool) -> Transport {
        match &config.endpoint {
            Endpoint::Http { url, transport } if legacy_sse || *transport == HttpTransport::Sse => {
                Transport::Sse(LegacySse::new(url.clone(), config.headers.clone()))
            }
            Endpoint::Http { url, .. } => {
                Transport::Http(StreamableHttp::new(url.clone(), config.headers.clone(), config.timeout_ms))
            }
            Endpoint::Stdio { command, args, env, cwd } => {
                Transport::Stdio(Stdio::new(command.clone(), args.clone(), env.clone(), cwd.clone()))
            }
        }
    }

    pub(crate) fn is_legacy_sse(&self) -> bool {
        matches!(self, Transport::Sse(_))
    }

    pub(crate) fn is_streamable_http(&self) -> bool {
        matches!(self, Transport::Http(_))
    }

    pub(crate) fn is_stdio(&self) -> bool {
        matches!(self, Transport::Stdio(_))
    }

    /// Speak the stateless revision (method headers, no session) or the handshake era (HTTP only).
    pub(crate) fn set_stateless(&mut self, stateless: bool, version: Option<&str>) {
        if let Transport::Http(t) = self {
            t.stateless = stateless;
            t.protocol_version = version.map(str::to_owned);
        }
    }

    /// The negotiated version, sent as `MCP-Protocol-Version` from now on (HTTP transports).
    pub(crate) fn set_protocol_version(&mut self, version: &str) {
        match self {
            Transport::Http(t) => t.protocol_version = Some(version.to_owned()),
            Transport::Sse(t) => t.protocol_version = Some(version.to_owned()),
            Transport::Stdio(_) => {}
        }
    }

    /// Opens the standalone GET stream for the server's own messages (Streamable HTTP only).
    pub(crate) fn open_get_stream(&mut self, io: &mut Io) {
        if let Transport::Http(t) = self {
            t.open_get_stream(io);
        }
    }

    /// The session the server assigned: Streamable HTTP's session id, or the legacy message endpoint's.
    pub(crate) fn session_id(&self) -> Option<&str> {
        match self {
            Transport::Http(t) => t.session_id.as_deref(),
            Transport::Sse(t) => t.session_id(),
            Transport::Stdio(_) => None,
        }
    }

    /// From now on, a request refused for want of authorization is reported as such (Streamable HTTP only).
    pub(crate) fn authorize(&mut self) {
        if let Transport::Http(t) = self {
            t.authorizes = true;
        }
    }

    /// The access token to send on every request from now on.
    pub(crate) fn set_bearer(&mut self, token: String) {
        if let Transport::Http(t) = self {
            t.bearer = Some(token);
        }
    }

    /// The server ended the session: the next message starts without one.
    pub(crate) fn forget_session(&mut self) {
        if let Transport::Http(t) = self {
            t.session_id = None;
        }
    }

    /// Sends one message.
    pub(crate) fn send(&mut self, message: Outgoing, io: &mut Io) {
        each!(self, t => t.send(message, io))
    }

    /// The response to `rpc` arrived: stop holding whatever carried it.
    pub(crate) fn answered(&mut self, rpc: i64, io: &mut Io) {
        each!(self, t => t.answered(rpc, io))
    }

    /// Give up on `rpc` (timeout, cancellation): abort what carries it if that can be aborted alone.
    pub(crate) fn abandon(&mut self, rpc: i64, io: &mut Io) {
        each!(self, t => t.abandon(rpc, io))
    }

    /// Ends the connection (DELETE the session, close the stream); a server process is returned for the
    /// [`Reaper`] to end.
    pub(crate) fn close(&mut self, io: &mut Io) -> Option<EffectId> {
        match self {
            Transport::Http(t) => t.close(io),
            Transport::Sse(t) => t.close(io),
            Transport::Stdio(t) => return t.close(),
        }
        None
    }

    pub(crate) fn handle_http_head(
        &mut self,
        id: EffectId,
        status: u16,
        headers: &[(String, String)],
        io: &mut Io,
    ) -> bool {
        match self {
            Transport::Http(t) => t.handle_head(id, status, headers, io),
            Transport::Sse(t) => t.handle_head(id, status, headers, io),
            Transport::Stdio(_) => false,
        }
    }

    pub(crate) fn handle_http_chunk(&mut self, id: EffectId, chunk: &[u8], io: &mut Io) -> bool {
        match self {
            Transport::Http(t) => t.handle_chunk(id, chunk, io),
            Transport::Sse(t) => t.handle_chunk(id, chunk, io),
            Transport::Stdio(_) => false,
        }
    }

    pub(crate) fn handle_http_end(&mut self, id: EffectId, io: &mut Io) -> bool {
        match self {
            Transport::Http(t) => t.handle_end(id, io),
            Transport::Sse(t) => t.handle_end(id, io),
            Transport::Stdio(_) => false,
        }
    }

    pub(crate) fn handle_http_error(&mut self, id: EffectId, message: &str, lasting: bool, io: &mut Io) -> bool {
        match self {
            Transport::Http(t) => t.handle_error(id, message, lasting, io),
            Transport::Sse(t) => t.handle_error(id, message, lasting, io),
            Transport::Stdio(_) => false,
        }
    }

    pub(crate) fn handle_timer(&mut self, id: EffectId, io: &mut Io) -> bool {
        match self {
            Transport::Http(t) => t.handle_timer(id, io),
            Transport::Sse(_) | Transport::Stdio(_) => false,
        }
    }

    pub(crate) fn handle_stdio_stdout(&mut self, id: EffectId, chunk: &[u8], io: &mut Io) -> bool {
        match self {
            Transport::Stdio(t) => t.handle_stdout(id, chunk, io),
            _ => false,
        }
    }

    pub(crate) fn handle_stdio_stderr(&mut self, id: EffectId, chunk: &[u8], io: &mut Io) -> bool {
        match self {
            Transport::Stdio(t) => t.handle_stderr(id, chunk, io),
            _ => false,
        }
    }

    pub(crate) fn handle_stdio_exit(&mut self, id: EffectId, reason: &str, io: &mut Io) -> bool {
        match self {
            Transport::Stdio(t) => t.handle_exit(id, reason, io),
            _ => false,
        }
    }
}
