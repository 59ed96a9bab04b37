//! The MCP client machine for one server: the protocol, over any transport. Split by concern: `config` (how
//! to reach the server), `lifecycle` (connecting, both eras), `requests` (JSON-RPC bookkeeping, timeouts,
//! progress), `ops` (listings and calls), `server_requests` (what the server asks), `sessions` (404
//! recovery), `redact` (secrets out of every text), and `transport/` (Streamable HTTP, HTTP+SSE, stdio).
//!
//! Sans-IO, in the shape of every machine here:
//! - commands: [`McpClient::list_tools`], [`McpClient::call_tool`] (operations named by the caller's [`OpId`],
//!   echoed in their events), [`McpClient::cancel`], [`McpClient::answer_input`], [`McpClient::close`];
//! - inputs: `handle_http_*`, `handle_stdio_*` and [`McpClient::handle_timer`], each with the [`EffectId`] of the
//!   effect it reports and the current time; each returns whether the id was this client's;
//! - output: after every command or input, drain [`McpClient::poll_output`] until it gives `None`: effects
//!   (HTTP requests, child-process actions, timers, aborts; their ids tagged with this client's [`Owner`]) and
//!   events, in order.
//!
//! - **Eras.** `protocol: auto` probes with `server/discover` (the stateless 2026-07-28 revision) and falls
//!   back to the `initialize` handshake (2024-11-05 … 2025-11-25) when the server does not speak it; over HTTP
//!   a server that refuses the handshake POST is tried once more as the legacy HTTP+SSE transport. A fixed
//!   `protocol` skips the probe.
//! - **Requests** carry a timeout (reset by progress, capped at ten times the timeout); a request that times
//!   out or is cancelled is abandoned and the server is told (`notifications/cancelled`, or a closed stream in
//!   the stateless revision over HTTP).
//! - **Server requests** (`elicitation/create`, `sampling/createMessage`, `roots/list`, and the stateless
//!   revision's `input_required` results) go to the application as [`McpEvent::InputRequest`] when it
//!   declared the capability, and are refused otherwise.
//! - A 404 to a request that carried a session id starts a new session and sends the request again, once.
//!
//! Every text this machine emits has the server's URL, header values and session id redacted.

mod authorization;
mod config;
mod lifecycle;
mod ops;
mod redact;
mod requests;
mod server_requests;
mod sessions;
mod transport;

pub use config::{Capabilities, ConnectionConfig, Endpoint, HttpTransport, Protocol};

use crate::base::io::{Effect, EffectId, OpId, Owner};
use crate::base::queue::Queue;
use crate::base::secrets::Secrets;
use crate::base::vec_map::VecMap;
use crate::wire::mcp::{ServerInfo, Tool};
use lifecycle::Phase;
use ops::Op;
use requests::Pending;
use serde_json::Value;
use server_requests::Input;
use transport::{Io, Reaper, Transport};

/// What [`McpClient::poll_output`] gives.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum McpOutput {
    /// Work for the host.
    Effect(Effect),
    /// Something that happened.
    Event(McpEvent),
}

/// What the client reports.
#[derive(Debug, Clone, PartialEq)]
pub enum McpEvent {
    /// The handshake (or discovery) finished.
    Connected(ServerInfo),
    /// A listing finished: every page, in server order. `ttl_ms` is how long the server lets it be cached.
    Tools {
        /// The operation.
        op: OpId,
        /// The tools the client can use (well formed, each name once; in the stateless revision, with valid
        /// `x-mcp-header` annotations).
        tools: Vec<Tool>,
        /// The same tools exactly as the server sent them, every field kept, when the listing asked for it.
        verbatim: Vec<Value>,
        /// The server's `ttlMs` (stateless revision).
        ttl_ms: Option<u64>,
    },
    /// A `tools/call` returned a result (which may itself say `isError`).
    ToolResult {
        /// The operation.
        op: OpId,
        /// The `CallToolResult`, verbatim.
        result: Value,
    },
    /// An operation failed; the text is safe to show to a model.
    Failed {
        /// The operation.
        op: OpId,
        /// What went wrong.
        error: String,
    },
    /// Progress of an operation.
    Progress {
        /// The operation.
        op: OpId,
        /// Progress so far.
        progress: f64,
        /// Total, if known.
        total: Option<f64>,
        /// A message, if any.
        message: Option<String>,
    },
    /// A log message (`notifications/message`), or a line the server process wrote to stderr (`level` is
    /// `stderr`).
    Log {
        /// RFC 5424 level, or `stderr`.
        level: String,
        /// The logger's name.
        logger: Option<String>,
        /// The data.
        data: Value,
    },
    /// The server's tool list changed.
    ToolsChanged,
    /// The server asks the application something; answer with [`McpClient::answer_input`].
    InputRequest {
        /// The id to answer with.
        id: EffectId,
        /// The operation it belongs to, when known.
        op: Option<OpId>,
        /// `elicitation/create`, `sampling/createMessage` or `roots/list`.
        method: String,
        /// Its params, verbatim.
        params: Value,
    },
    /// Something went wrong that does not fail an operation.
    Warning(String),
    /// The server wants authorization (once per round: the refused requests wait for
    /// [`McpClient::authorized`] or [`McpClient::authorization_failed`]).
    AuthChallenge {
        /// 401, or 403 (more scope).
        status: u16,
        /// The values of its `WWW-Authenticate` headers.
        challenge: Vec<String>,
    },
    /// Any other notification from the server.
    Notification {
        /// Method.
        method: String,
        /// Params.
        params: Option<Value>,
    },
}

/// The client machine for one server.
pub struct McpClient {
    config: ConnectionConfig,
    transport: Transport,
    io: Io,
    phase: Phase,
    stateless: bool,
    server: Option<ServerInfo>,
    next_rpc: i64,
    ops: VecMap<OpId, Op>,
    waiting: Queue<OpId>,
    pending: VecMap<i64, Pending>,
    inputs: VecMap<EffectId, Input>,
    /// Operations already sent again on a new session (each is retried at most once).
    retried: Vec<OpId>,
    /// Stateless revision: each tool's `x-mcp-header` parameters.
    header_params: VecMap<String, Vec<(Vec<String>, String)>>,
    listen_timer: Option<EffectId>,
    /// Bounds the wait for `notifications/initialized` to be accepted.
    announce_timer: Option<EffectId>,
    /// The connection being made, while it is.
    connecting: Option<lifecycle::Attempts>,
    /// The next connection attempt, after a failure that may heal.
    connect_retry: Option<EffectId>,
    /// Listings to send again, after a failure that may heal.
    op_retries: VecMap<EffectId, OpId>,
    version_retries: u32,
    events: Queue<McpEvent>,
    /// Everything secret about the server, taken out of every event.
    secrets: Secrets,
    /// Secrets learned while running (a headers hook's values, session ids), the latest ones.
    remembered: Vec<String>,
    /// Sessions the server forgot (HTTP 404) since an operation last succeeded.
    sessions_lost: u32,
    /// Server processes being ended.
    reaper: Reaper,
    /// Requests refused for want of authorization, waiting for it.
    unauthorized: Vec<requests::Rpc>,
}

impl McpClient {
    /// A client that has not connected yet; its ids are tagged with `owner`.
    pub fn new(config: ConnectionConfig, owner: Owner) -> Self {
        let transport = Transport::new(&config, false);
        let secrets = redact::configured_secrets(&config);
        McpClient {
            io: Io::new(owner, config.name.clone()),
            config,
            transport,
            phase: Phase::Idle,
            stateless: false,
            server: None,
            next_rpc: 1,
            ops: VecMap::default(),
            waiting: Queue::new(),
            pending: VecMap::default(),
            inputs: VecMap::default(),
            retried: Vec::new(),
            header_params: VecMap::default(),
            listen_timer: None,
            announce_timer: None,
            connecting: None,
            connect_retry: None,
            op_retries: VecMap::default(),
            version_retries: 0,
            events: Queue::new(),
            secrets,
            remembered: Vec::new(),
            sessions_lost: 0,
            reaper: Reaper::default(),
            unauthorized: Vec::new(),
        }
    }

    /// The configured name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// What the server said about itself, once connected.
    pub fn server_info(&self) -> Option<&ServerInfo> {
        self.server.as_ref()
    }

    /// Ends the session: pending operations fail, and the transport closes (DELETE, process end).
    pub fn close(&mut self, now_ms: u64) {
        self.io.now_ms = now_ms;
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Closed;
        for (_, pending) in self.pending.take() {
            if let Some(timer) = pending.timer {
                self.io.cancel(timer);
            }
        }
        let retries = self.op_retries.take().into_iter().map(|(timer, _)| timer);
        for timer in self.listen_timer.take().into_iter().chain(self.connect_retry.take()).chain(retries) {
            self.io.cancel(timer);
        }
        let ops: Vec<OpId> = self.ops.keys().copied().collect();
        for op in ops {
            self.fail_op(op, "the client was closed".into());
        }
        self.waiting.clear();
        self.inputs.clear();
        self.close_transport();
    }

    /// Ends the transport's connection; a server process goes to the reaper.
    fn close_transport(&mut self) {
        if let Some(process) = self.transport.close(&mut self.io) {
            self.reaper.close(process, &mut self.io);
        }
        self.io.incoming.clear();
    }

    /// The next effect or event; `None` when there is nothing more until an input or a command.
    pub fn poll_output(&mut self) -> Option<McpOutput> {
        match self.io.effects.pop() {
            Some(effect) => Some(McpOutput::Effect(effect)),
            None => self.next_event().map(McpOutput::Event),
        }
    }

    /// Whether this client issued `id` (an effect or a question), answered or not.
    pub fn issued(&self, id: EffectId) -> bool {
        self.io.effects.issued(id)
    }

    /// The response head of HTTP effect `key`. Returns false if the id is not one of ours.
    pub fn handle_http_head(&mut self, key: EffectId, status: u16, headers: &[(String, String)], now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours = self.transport.handle_http_head(key, status, headers, &mut self.io);
        self.process();
        ours
    }

    /// A body chunk of HTTP effect `key`.
    pub fn handle_http_chunk(&mut self, key: EffectId, chunk: &[u8], now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours = self.transport.handle_http_chunk(key, chunk, &mut self.io);
        self.process();
        ours
    }

    /// The end of HTTP effect `key`'s body.
    pub fn handle_http_end(&mut self, key: EffectId, now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours = self.transport.handle_http_end(key, &mut self.io);
        self.process();
        ours
    }

    /// HTTP effect `key` failed in transport; `lasting` when trying again cannot help (a certificate the host
    /// does not trust). `message` must not carry secrets; it is redacted anyway.
    pub fn handle_http_error(&mut self, key: EffectId, message: &str, lasting: bool, now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours = self.transport.handle_http_error(key, message, lasting, &mut self.io);
        self.process();
        ours
    }

    /// Bytes the server process wrote to stdout.
    pub fn handle_stdio_stdout(&mut self, key: EffectId, chunk: &[u8], now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours = self.transport.handle_stdio_stdout(key, chunk, &mut self.io);
        self.process();
        ours
    }

    /// Bytes the server process wrote to stderr.
    pub fn handle_stdio_stderr(&mut self, key: EffectId, chunk: &[u8], now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours = self.transport.handle_stdio_stderr(key, chunk, &mut self.io);
        self.process();
        ours
    }

    /// The server process ended or could not start; `reason` says how (`exited with code 1`, …).
    pub fn handle_stdio_exit(&mut self, key: EffectId, reason: &str, now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours =
            self.reaper.handle_exit(key, &mut self.io) || self.transport.handle_stdio_exit(key, reason, &mut self.io);
        self.process();
        ours
    }

    /// Timer `key` fired.
    pub fn handle_timer(&mut self, key: EffectId, now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let timed_out = self.pending.iter().find(|(_, p)| p.timer == Some(key)).map(|(rpc, _)| *rpc);
        let ours = if let Some(rpc) = timed_out {
            self.timed_out(rpc);
            true
        } else if self.listen_timer == Some(key) {
            self.listen_timer = None;
            self.listen();
            true
        } else if self.announce_timer == Some(key) {
            self.announce_timer = None;
            let after = self.connecting_for();
            self.fail_connection(format!("notifications/initialized was not accepted within {after} ms"));
            true
        } else if self.connect_retry == Some(key) {
            self.connect_retry = None;
            self.phase = Phase::Idle;
            self.connect();
            true
        } else if let Some(op) = self.op_retries.remove(&key) {
            if self.ops.contains_key(&op) {
                self.run_op(op);
            }
            true
        } else {
            self.reaper.handle_timer(key, &mut self.io) || self.transport.handle_timer(key, &mut self.io)
        };
        self.process();
        ours
    }

    pub(super) fn warn(&mut self, message: String) {
        self.events.push_back(McpEvent::Warning(message));
    }
}

/// Only what is safe to log: the transport holds the URL, headers and session id.
impl std::fmt::Debug for McpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClient")
            .field("config", &self.config)
            .field("phase", &self.phase)
            .field("stateless", &self.stateless)
            .field("ops", &self.ops.keys().collect::<Vec<_>>())
            .field("requests", &self.pending.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
