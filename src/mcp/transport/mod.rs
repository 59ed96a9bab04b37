//! What the MCP client machine and its transports exchange. The client deals in JSON-RPC messages; a
//! transport ([`StreamableHttp`], [`LegacySse`], [`Stdio`]) turns them into effects for the host and turns
//! the host's inputs back into messages.

mod legacy_sse;
mod stdio;
mod streamable_http;

use super::config::{ConnectionConfig, Endpoint, HttpTransport};
use crate::base::http::HttpRequest;
use crate::base::queue::Queue;
use crate::wire::jsonrpc::JsonRpcError;
use legacy_sse::LegacySse;
use serde::Serialize;
use stdio::Stdio;
use streamable_http::StreamableHttp;

/// Work for the host, keyed so the outcome can be fed back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum McpEffect {
    /// Perform this HTTP request; report head, chunks and end (or an error) under `key`.
    Http {
        /// Key for the `handle_http_*` inputs.
        key: u64,
        /// The request.
        request: HttpRequest,
    },
    /// Act on the server's child process.
    Stdio {
        /// Key for the `handle_stdio_*` inputs (one per process).
        key: u64,
        /// What to do.
        op: StdioOp,
    },
    /// Call `handle_timer(key)` at `at_ms`.
    Timer {
        /// Key.
        key: u64,
        /// When, in the host's clock.
        at_ms: u64,
    },
    /// Abort the request, or clear the timer, `key`; report nothing more for it.
    Cancel {
        /// Key.
        key: u64,
    },
}

/// What to do with a server process. Its `{:?}` leaves out the arguments and the environment's values (they carry
/// credentials).
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum StdioOp {
    /// Start it, with pipes for stdin, stdout and stderr. Its environment is the host's variables named in
    /// `inherit` (when set) plus `env`, and nothing else, so the host's secrets stay out of server processes.
    Spawn {
        /// Program.
        command: String,
        /// Arguments.
        args: Vec<String>,
        /// Variables to take from the host's environment.
        inherit: Vec<String>,
        /// Variables to set.
        env: Vec<(String, String)>,
        /// Working directory.
        #[serde(skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
    },
    /// Write this line (it ends with `\n`) to its stdin.
    Write {
        /// The line.
        line: String,
    },
    /// Close its stdin, give it a moment, then terminate it (TERM, then KILL), and reap it.
    Close,
}

impl std::fmt::Debug for StdioOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StdioOp::Spawn { command, args, env, .. } => {
                // Arguments often carry keys (`--api-key …`): only their count, as for the configuration.
                let env: Vec<&str> = env.iter().map(|(name, _)| name.as_str()).collect();
                write!(f, "Spawn {{ command: {command:?}, args: {} hidden, env: {env:?} }}", args.len())
            }
            StdioOp::Write { line } => write!(f, "Write {{ {} bytes }}", line.len()),
            StdioOp::Close => f.write_str("Close"),
        }
    }
}

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
    Lost { rpc: i64, error: String },
    /// The server no longer knows `session`, which the request (or the GET stream, `None`) carried.
    SessionGone { rpc: Option<i64>, session: String },
    /// The server took (or refused) a message sent with `confirm`.
    Accepted(Result<(), String>),
    /// The whole connection is gone (process exited, event stream closed): every request is lost.
    Down { error: String },
    /// Something worth telling the application that breaks nothing.
    Warning(String),
    /// A line the server process wrote to stderr.
    Stderr(String),
}

/// The effect and input queues a transport works with, and the clock.
#[derive(Debug, Default)]
pub(crate) struct Io {
    pub(crate) now_ms: u64,
    next_key: u64,
    pub(crate) effects: Queue<McpEffect>,
    pub(crate) incoming: Queue<Incoming>,
}

impl Io {
    pub(crate) fn key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }

    pub(crate) fn http(&mut self, request: HttpRequest) -> u64 {
        let key = self.key();
        self.effects.push_back(McpEffect::Http { key, request });
        key
    }

    pub(crate) fn timer(&mut self, after_ms: u64) -> u64 {
        let key = self.key();
        let at_ms = self.now_ms.saturating_add(after_ms);
        self.effects.push_back(McpEffect::Timer { key, at_ms });
        key
    }

    pub(crate) fn cancel(&mut self, key: u64) {
        self.effects.push_back(McpEffect::Cancel { key });
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

    /// The session the server assigned (Streamable HTTP).
    pub(crate) fn session_id(&self) -> Option<&str> {
        match self {
            Transport::Http(t) => t.session_id.as_deref(),
            _ => None,
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

    /// Ends the connection (DELETE the session, close the process, close the stream).
    pub(crate) fn close(&mut self, io: &mut Io) {
        each!(self, t => t.close(io))
    }

    pub(crate) fn handle_http_head(
        &mut self,
        key: u64,
        status: u16,
        headers: &[(String, String)],
        io: &mut Io,
    ) -> bool {
        match self {
            Transport::Http(t) => t.handle_head(key, status, headers, io),
            Transport::Sse(t) => t.handle_head(key, status, headers, io),
            Transport::Stdio(_) => false,
        }
    }

    pub(crate) fn handle_http_chunk(&mut self, key: u64, chunk: &[u8], io: &mut Io) -> bool {
        match self {
            Transport::Http(t) => t.handle_chunk(key, chunk, io),
            Transport::Sse(t) => t.handle_chunk(key, chunk, io),
            Transport::Stdio(_) => false,
        }
    }

    pub(crate) fn handle_http_end(&mut self, key: u64, io: &mut Io) -> bool {
        match self {
            Transport::Http(t) => t.handle_end(key, io),
            Transport::Sse(t) => t.handle_end(key, io),
            Transport::Stdio(_) => false,
        }
    }

    pub(crate) fn handle_http_error(&mut self, key: u64, message: &str, io: &mut Io) -> bool {
        match self {
            Transport::Http(t) => t.handle_error(key, message, io),
            Transport::Sse(t) => t.handle_error(key, message, io),
            Transport::Stdio(_) => false,
        }
    }

    pub(crate) fn handle_timer(&mut self, key: u64, io: &mut Io) -> bool {
        match self {
            Transport::Http(t) => t.handle_timer(key, io),
            Transport::Sse(_) | Transport::Stdio(_) => false,
        }
    }

    pub(crate) fn handle_stdio_stdout(&mut self, key: u64, chunk: &[u8], io: &mut Io) -> bool {
        match self {
            Transport::Stdio(t) => t.handle_stdout(key, chunk, io),
            _ => false,
        }
    }

    pub(crate) fn handle_stdio_stderr(&mut self, key: u64, chunk: &[u8], io: &mut Io) -> bool {
        match self {
            Transport::Stdio(t) => t.handle_stderr(key, chunk, io),
            _ => false,
        }
    }

    pub(crate) fn handle_stdio_exit(&mut self, key: u64, reason: &str, io: &mut Io) -> bool {
        match self {
            Transport::Stdio(t) => t.handle_exit(key, reason, io),
            _ => false,
        }
    }
}
