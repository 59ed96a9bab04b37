//! The MCP client machine for one server: the protocol, over any transport.
//!
//! Sans-IO: ask for semantic operations ([`McpClient::list_tools`], [`McpClient::call_tool`],
//! [`McpClient::cancel`]), drain [`McpClient::poll_effect`] (HTTP requests, child-process actions, timers,
//! aborts), feed the outcomes back by key with the current time, and drain [`McpClient::poll_event`].
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

use super::jsonrpc::{self, JsonRpcError, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse, RequestId};
use super::legacy_sse::LegacySse;
use super::stdio::Stdio;
use super::streamable_http::StreamableHttp;
use super::transport::{Incoming, Io, McpEffect, Outgoing, Transport};
use super::types::{LATEST_HANDSHAKE_VERSION, STATELESS_VERSION, ServerInfo, Tool, param_headers};
use crate::json::{Fields, object};
use crate::queue::Queue;
use crate::schema::control::ToolFilter;
use crate::tool_loop::{Approve, DEFAULT_MAX_CONCURRENT_CALLS, read_approve};
use crate::vec_map::VecMap;
use serde_json::{Map, Value, json};

/// Identifies one semantic operation (a full tool listing or one tool call).
pub type OpId = u64;

/// At most this many `tools/list` pages are followed.
pub const MAX_PAGES: u32 = 100;
/// At most this many tools are kept from one server.
pub const MAX_TOOLS: usize = 10_000;
/// The default per-request timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Progress resets a request's timeout, but never past this many timeouts in all.
const MAX_TIMEOUTS_WITH_PROGRESS: u64 = 10;
/// At most this many "unsupported protocol version" answers are met by sending again, per connection.
const MAX_VERSION_RETRIES: u32 = 3;
/// At most this many `input_required` rounds for one call.
const MAX_INPUT_ROUNDS: u32 = 16;
/// The wait before reopening a `subscriptions/listen` stream.
const LISTEN_REOPEN_MS: u64 = 5_000;
/// Environment variables a stdio server inherits from the host (everything else must be given in `env`, so
/// that the host's secrets do not leak into every server process).
pub const INHERITED_ENV: &[&str] =
    &["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "TMPDIR", "SYSTEMROOT"];

/// Where the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An HTTP endpoint: Streamable HTTP, or the legacy HTTP+SSE transport.
    Http {
        /// The URL.
        url: String,
        /// Which HTTP transport.
        transport: HttpTransport,
    },
    /// A program the host starts, talking over stdin and stdout.
    Stdio {
        /// Program.
        command: String,
        /// Arguments.
        args: Vec<String>,
        /// Variables added to the inherited ones ([`INHERITED_ENV`]).
        env: Vec<(String, String)>,
        /// Working directory.
        cwd: Option<String>,
    },
}

/// Which HTTP transport to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpTransport {
    /// Streamable HTTP, falling back to HTTP+SSE when the server refuses the handshake POST.
    Auto,
    /// Streamable HTTP only.
    Streamable,
    /// The legacy HTTP+SSE transport (2024-11-05).
    Sse,
}

/// Which protocol era to speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// Probe with `server/discover`; fall back to the handshake.
    Auto,
    /// The handshake era, offering this version in `initialize`.
    Handshake(String),
    /// The stateless 2026-07-28 revision only.
    Stateless,
}

/// Client capabilities the application backs with handlers. Only these are declared to servers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `sampling/createMessage`.
    pub sampling: bool,
    /// `elicitation/create`.
    pub elicitation: bool,
    /// `roots/list`.
    pub roots: bool,
}

impl Capabilities {
    fn to_json(self) -> Value {
        let mut caps = Map::new();
        if self.sampling {
            caps.insert("sampling".into(), json!({}));
        }
        if self.elicitation {
            caps.insert("elicitation".into(), json!({"form": {}}));
        }
        if self.roots {
            caps.insert("roots".into(), json!({}));
        }
        Value::Object(caps)
    }

    fn allows(self, method: &str) -> bool {
        match method {
            "sampling/createMessage" => self.sampling,
            "elicitation/create" => self.elicitation,
            "roots/list" => self.roots,
            _ => false,
        }
    }
}

/// How to reach one MCP server. Header values are secrets: they never appear in messages, nor in `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The name the application gives the server; used in tool names and messages.
    pub name: String,
    /// Where it is.
    pub endpoint: Endpoint,
    /// Extra HTTP headers sent with every request (for example `Authorization`).
    pub headers: Vec<(String, String)>,
    /// Per-request timeout in milliseconds.
    pub timeout_ms: u64,
    /// The protocol era.
    pub protocol: Protocol,
    /// What the application answers for the server.
    pub capabilities: Capabilities,
    /// Which of its tools the agent offers the model (not used by the client itself).
    pub tools: ToolFilter,
    /// Put in front of its tools' descriptions for the model (not used by the client itself).
    pub label: Option<String>,
    /// Which of its calls wait for a person, overriding the agent's policy (not used by the client itself).
    pub approve: Option<Approve>,
    /// The most tool calls of one run running on it at once (not used by the client itself).
    pub max_concurrent_calls: u32,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        let endpoint = match &self.endpoint {
            Endpoint::Http { transport, .. } => format!("http ({transport:?})"),
            Endpoint::Stdio { command, .. } => format!("stdio ({command})"),
        };
        f.debug_struct("ServerConfig")
            .field("name", &self.name)
            .field("endpoint", &endpoint)
            .field("headers", &headers)
            .field("timeout_ms", &self.timeout_ms)
            .field("protocol", &self.protocol)
            .field("capabilities", &self.capabilities)
            .field("tools", &self.tools)
            .field("label", &self.label)
            .field("approve", &self.approve)
            .field("max_concurrent_calls", &self.max_concurrent_calls)
            .finish()
    }
}

const PROTOCOL_HEADERS: &[&str] =
    &["content-type", "accept", "mcp-session-id", "mcp-protocol-version", "last-event-id", "mcp-method", "mcp-name"];

impl ServerConfig {
    /// A Streamable HTTP server with no extra headers and the defaults.
    pub fn new(name: &str, url: &str) -> ServerConfig {
        ServerConfig {
            name: name.to_owned(),
            endpoint: Endpoint::Http { url: url.to_owned(), transport: HttpTransport::Auto },
            headers: Vec::new(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            protocol: Protocol::Auto,
            capabilities: Capabilities::default(),
            tools: ToolFilter::default(),
            label: None,
            approve: None,
            max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS,
        }
    }

    /// Reads `{name, url | command, args, env, cwd, headers, timeoutMs, protocol, transport, capabilities}`;
    /// `path` names it in messages.
    pub fn from_json(value: &Value, path: &str) -> Result<ServerConfig, String> {
        let f = Fields::new(value, path)?;
        f.only(&[
            "name",
            "url",
            "command",
            "args",
            "env",
            "cwd",
            "headers",
            "timeoutMs",
            "protocol",
            "transport",
            "capabilities",
            "allowTools",
            "denyTools",
            "label",
            "approve",
            "maxConcurrentCalls",
        ])?;
        let endpoint = match (f.string("url")?, f.string("command")?) {
            (Some(url), None) => {
                let transports = [
                    ("auto", HttpTransport::Auto),
                    ("streamable-http", HttpTransport::Streamable),
                    ("sse", HttpTransport::Sse),
                ];
                let transport = f.choice("transport", &transports)?.unwrap_or(HttpTransport::Auto);
                Endpoint::Http { url, transport }
            }
            (None, Some(command)) => {
                let args = f.array("args")?.iter().map(|a| a.as_str().map(str::to_owned));
                Endpoint::Stdio {
                    command,
                    args: args.collect::<Option<_>>().ok_or(format!("{path}.args must be strings"))?,
                    env: f.headers("env")?,
                    cwd: f.string("cwd")?,
                }
            }
            (Some(_), Some(_)) => return Err(format!("{path} needs a url or a command, not both")),
            (None, None) => return Err(format!("{path} needs a url (HTTP) or a command (stdio)")),
        };
        let protocol = match f.string("protocol")?.as_deref() {
            None | Some("auto") => Protocol::Auto,
            Some(STATELESS_VERSION) => Protocol::Stateless,
            Some(v) if super::types::HANDSHAKE_VERSIONS.contains(&v) => Protocol::Handshake(v.to_owned()),
            Some(other) => {
                return Err(format!("{path}.protocol '{other}' is not a protocol version this client speaks"));
            }
        };
        let mut capabilities = Capabilities::default();
        if let Some(caps) = f.value("capabilities") {
            let caps = Fields::new(caps, &format!("{path}.capabilities"))?;
            caps.only(&["sampling", "elicitation", "roots"])?;
            let flag = |key: &str| caps.value(key).is_some_and(|v| v == &Value::Bool(true));
            capabilities =
                Capabilities { sampling: flag("sampling"), elicitation: flag("elicitation"), roots: flag("roots") };
        }
        let names = |key: &str| -> Result<Vec<String>, String> {
            let list = f.array(key)?.iter().map(|n| n.as_str().map(str::to_owned));
            list.collect::<Option<_>>().ok_or(format!("{path}.{key} must be a list of tool names or * patterns"))
        };
        Ok(ServerConfig {
            name: f.string("name")?.unwrap_or_default(),
            endpoint,
            headers: f.headers("headers")?,
            timeout_ms: f.number("timeoutMs")?.unwrap_or(DEFAULT_TIMEOUT_MS),
            protocol,
            capabilities,
            tools: ToolFilter { allow: names("allowTools")?, deny: names("denyTools")? },
            label: f.string("label")?,
            approve: f.string("approve")?.map(|a| read_approve(&a, &format!("{path}.approve"))).transpose()?,
            max_concurrent_calls: f.count("maxConcurrentCalls")?.unwrap_or(DEFAULT_MAX_CONCURRENT_CALLS),
        })
    }

    /// Checks the configuration before any request is made.
    pub fn validate(&self) -> Result<(), String> {
        let name = &self.name;
        if name.is_empty() {
            return Err("a server needs a non-empty name".into());
        }
        match &self.endpoint {
            Endpoint::Http { url, transport } => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!("server '{name}': the url must start with http:// or https://"));
                }
                if *transport == HttpTransport::Sse && self.protocol == Protocol::Stateless {
                    return Err(format!("server '{name}': the legacy SSE transport has no stateless revision"));
                }
            }
            Endpoint::Stdio { command, .. } => {
                if command.is_empty() {
                    return Err(format!("server '{name}': the command is empty"));
                }
                if !self.headers.is_empty() {
                    return Err(format!(
                        "server '{name}': headers apply to HTTP servers; give a stdio server env instead"
                    ));
                }
            }
        }
        if !(1..=crate::driver::MAX_TIMEOUT_MS).contains(&self.timeout_ms) {
            return Err(format!("server '{name}': timeoutMs must be between 1 and {}", crate::driver::MAX_TIMEOUT_MS));
        }
        for (header, _) in &self.headers {
            if PROTOCOL_HEADERS.iter().any(|p| p.eq_ignore_ascii_case(header))
                || header.to_ascii_lowercase().starts_with("mcp-param-")
            {
                return Err(format!(
                    "server '{name}': header '{header}' is set by the protocol and cannot be configured"
                ));
            }
        }
        Ok(())
    }
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
        /// The tools.
        tools: Vec<Tool>,
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
        id: u64,
        /// The operation it belongs to, when known.
        op: Option<OpId>,
        /// `elicitation/create`, `sampling/createMessage` or `roots/list`.
        method: String,
        /// Its params, verbatim.
        params: Value,
    },
    /// Something went wrong that does not fail an operation.
    Warning(String),
    /// Any other notification from the server.
    Notification {
        /// Method.
        method: String,
        /// Params.
        params: Option<Value>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Idle,
    Discovering,
    Initializing,
    /// `notifications/initialized` is out; requests wait until it is accepted.
    Announcing,
    Ready,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rpc {
    Discover,
    Initialize,
    Op(OpId),
    Listen,
}

#[derive(Debug, Clone)]
struct Pending {
    kind: Rpc,
    timer: Option<u64>,
    started_ms: u64,
}

#[derive(Debug, Clone)]
enum Op {
    ListTools { tools: Vec<Tool>, cursors: Vec<String>, pages: u32 },
    CallTool(Box<Call>),
}

#[derive(Debug, Clone)]
struct Call {
    name: String,
    arguments: Value,
    progress: bool,
    /// Stateless revision, `input_required`: how many rounds there were (a call with rounds carries
    /// `inputResponses`), the opaque state to echo (only when the server sent one), the answers so far, and
    /// the keys still awaited.
    rounds: u32,
    request_state: Option<Value>,
    responses: Map<String, Value>,
    awaiting: Vec<String>,
}

#[derive(Debug, Clone)]
enum Asker {
    /// A server request (handshake era): answer with a JSON-RPC response.
    Rpc(RequestId),
    /// An `input_required` result (stateless revision): answer by calling again.
    Retry { op: OpId, key: String },
}

#[derive(Debug, Clone)]
struct Input {
    asker: Asker,
    method: String,
    params: Value,
}

/// The client machine for one server.
pub struct McpClient {
    config: ServerConfig,
    transport: Transport,
    io: Io,
    phase: Phase,
    stateless: bool,
    server: Option<ServerInfo>,
    next_rpc: i64,
    next_op: OpId,
    next_input: u64,
    ops: VecMap<OpId, Op>,
    waiting: Queue<OpId>,
    pending: VecMap<i64, Pending>,
    inputs: VecMap<u64, Input>,
    /// Operations already sent again on a new session (each is retried at most once).
    retried: Vec<OpId>,
    /// Stateless revision: each tool's `x-mcp-header` parameters.
    header_params: VecMap<String, Vec<(Vec<String>, String)>>,
    listen_timer: Option<u64>,
    /// Bounds the wait for `notifications/initialized` to be accepted.
    announce_timer: Option<u64>,
    version_retries: u32,
    events: Queue<McpEvent>,
    /// Header values a host's headers hook gave (rotating tokens), the latest few: secrets like the configured
    /// ones, so they are redacted too.
    hook_secrets: Vec<String>,
    /// Sessions the server forgot (HTTP 404) since an operation last succeeded.
    sessions_lost: u32,
}

/// How many of a server's requests (elicitation, sampling, roots) may wait for the application at once.
const MAX_OPEN_INPUTS: usize = 32;

/// How many sessions in a row a server may forget before the client stops starting new ones: a server that
/// answers 404 to everything must end in an error, not in a loop.
const MAX_SESSIONS_LOST: u32 = 3;

/// How many header values from a headers hook are remembered for redaction.
const MAX_HOOK_SECRETS: usize = 16;

impl McpClient {
    /// A client that has not connected yet.
    pub fn new(config: ServerConfig) -> Self {
        let transport = new_transport(&config, false);
        McpClient {
            config,
            transport,
            io: Io::default(),
            phase: Phase::Idle,
            stateless: false,
            server: None,
            next_rpc: 1,
            next_op: 1,
            next_input: 1,
            ops: VecMap::default(),
            waiting: Queue::new(),
            pending: VecMap::default(),
            inputs: VecMap::default(),
            retried: Vec::new(),
            header_params: VecMap::default(),
            listen_timer: None,
            announce_timer: None,
            version_retries: 0,
            events: Queue::new(),
            hook_secrets: Vec::new(),
            sessions_lost: 0,
        }
    }

    /// Header values the host added to a request (a headers hook's): redacted from every message like the
    /// configured ones. The latest few are kept.
    pub fn add_secrets(&mut self, values: impl IntoIterator<Item = String>) {
        for value in values {
            if !self.hook_secrets.contains(&value) {
                if self.hook_secrets.len() == MAX_HOOK_SECRETS {
                    self.hook_secrets.remove(0);
                }
                self.hook_secrets.push(value);
            }
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

    /// Lists every tool (following `nextCursor`). Completes with [`McpEvent::Tools`] or [`McpEvent::Failed`].
    pub fn list_tools(&mut self, now_ms: u64) -> OpId {
        self.start(Op::ListTools { tools: Vec::new(), cursors: Vec::new(), pages: 0 }, now_ms)
    }

    /// Calls a tool; with `progress`, the server is asked for progress notifications. Completes with
    /// [`McpEvent::ToolResult`] or [`McpEvent::Failed`].
    pub fn call_tool(&mut self, name: &str, arguments: Value, progress: bool, now_ms: u64) -> OpId {
        let call = Call {
            name: name.to_owned(),
            arguments,
            progress,
            rounds: 0,
            request_state: None,
            responses: Map::new(),
            awaiting: Vec::new(),
        };
        self.start(Op::CallTool(Box::new(call)), now_ms)
    }

    /// Cancels an operation: the server is told, and the operation fails with `reason`.
    pub fn cancel(&mut self, op: OpId, reason: &str, now_ms: u64) {
        self.io.now_ms = now_ms;
        let rpc = self.pending.iter().find(|(_, p)| p.kind == Rpc::Op(op)).map(|(rpc, _)| *rpc);
        if let Some(rpc) = rpc {
            self.abandon(rpc, reason);
            self.settle(rpc);
        }
        self.waiting.retain(|w| *w != op);
        self.fail_op(op, format!("cancelled: {reason}"));
        self.process();
    }

    /// The application's answer to [`McpEvent::InputRequest`] `id`: a result, or a refusal with a message.
    pub fn answer_input(&mut self, id: u64, outcome: Result<Value, String>, now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let Some(input) = self.inputs.remove(&id) else { return false };
        let outcome = outcome.map(|result| match input.method.as_str() {
            "elicitation/create" => with_elicitation_defaults(&input.params, result),
            _ => result,
        });
        match input.asker {
            Asker::Rpc(request) => {
                let outcome = outcome.map_err(|message| JsonRpcError { code: -32603, message, data: None });
                self.send_message(jsonrpc::response(&request, outcome));
            }
            Asker::Retry { op, key } => match (outcome, self.ops.get_mut(&op)) {
                (Ok(result), Some(Op::CallTool(call))) => {
                    call.awaiting.retain(|k| *k != key);
                    call.responses.insert(key, result);
                    if call.awaiting.is_empty() {
                        self.send_op(op);
                    }
                }
                (Err(message), _) => self.fail_op(op, format!("the application did not answer the server: {message}")),
                _ => {}
            },
        }
        self.process();
        true
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
        if let Some(timer) = self.listen_timer.take() {
            self.io.cancel(timer);
        }
        let ops: Vec<OpId> = self.ops.keys().copied().collect();
        for op in ops {
            self.fail_op(op, "the client was closed".into());
        }
        self.waiting.clear();
        self.inputs.clear();
        self.transport.close(&mut self.io);
        self.io.incoming.clear();
    }

    /// The next thing for the host to do.
    #[must_use]
    pub fn poll_effect(&mut self) -> Option<McpEffect> {
        self.io.effects.pop_front()
    }

    /// The next thing to report.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<McpEvent> {
        self.events.pop_front()
    }

    /// The response head of HTTP effect `key`. Returns false if the key is not one of ours.
    pub fn handle_http_head(&mut self, key: u64, status: u16, headers: &[(String, String)], now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours = self.transport.handle_http_head(key, status, headers, &mut self.io);
        self.process();
        ours
    }

    /// A body chunk of HTTP effect `key`.
    pub fn handle_http_chunk(&mut self, key: u64, chunk: &[u8], now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours = self.transport.handle_http_chunk(key, chunk, &mut self.io);
        self.process();
        ours
    }

    /// The end of HTTP effect `key`'s body.
    pub fn handle_http_end(&mut self, key: u64, now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours = self.transport.handle_http_end(key, &mut self.io);
        self.process();
        ours
    }

    /// HTTP effect `key` failed in transport. `message` must not carry secrets; it is redacted anyway.
    pub fn handle_http_error(&mut self, key: u64, message: &str, now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours = self.transport.handle_http_error(key, message, &mut self.io);
        self.process();
        ours
    }

    /// Bytes the server process wrote to stdout.
    pub fn handle_stdio_stdout(&mut self, key: u64, chunk: &[u8], now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours = self.transport.stdio().is_some_and(|t| t.handle_stdout(key, chunk, &mut self.io));
        self.process();
        ours
    }

    /// Bytes the server process wrote to stderr.
    pub fn handle_stdio_stderr(&mut self, key: u64, chunk: &[u8], now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours = self.transport.stdio().is_some_and(|t| t.handle_stderr(key, chunk, &mut self.io));
        self.process();
        ours
    }

    /// The server process ended or could not start; `reason` says how (`exited with code 1`, …).
    pub fn handle_stdio_exit(&mut self, key: u64, reason: &str, now_ms: u64) -> bool {
        self.io.now_ms = now_ms;
        let ours = self.transport.stdio().is_some_and(|t| t.handle_exit(key, reason, &mut self.io));
        self.process();
        ours
    }

    /// Timer `key` fired.
    pub fn handle_timer(&mut self, key: u64, now_ms: u64) -> bool {
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
            let after = self.config.timeout_ms;
            self.fail_connection(format!("notifications/initialized was not accepted within {after} ms"));
            true
        } else {
            self.transport.handle_timer(key, &mut self.io)
        };
        self.process();
        ours
    }

    // ---- connecting ----

    fn start(&mut self, op: Op, now_ms: u64) -> OpId {
        self.io.now_ms = now_ms;
        let id = self.next_op;
        self.next_op += 1;
        self.ops.insert(id, op);
        match self.phase {
            Phase::Closed => self.fail_op(id, "the client is closed".into()),
            Phase::Ready => self.send_op(id),
            Phase::Idle => {
                self.waiting.push_back(id);
                self.connect();
            }
            Phase::Discovering | Phase::Initializing | Phase::Announcing => self.waiting.push_back(id),
        }
        self.process();
        id
    }

    fn connect(&mut self) {
        let legacy_sse = matches!(self.transport, Transport::Sse(_));
        match &self.config.protocol {
            Protocol::Handshake(_) => self.send_initialize(),
            _ if legacy_sse => self.send_initialize(),
            Protocol::Auto | Protocol::Stateless => {
                self.set_stateless(true);
                self.phase = Phase::Discovering;
                self.send_request(Rpc::Discover, "server/discover", json!({}), None, Vec::new(), false);
            }
        }
    }

    fn set_stateless(&mut self, stateless: bool) {
        self.stateless = stateless;
        if let Transport::Http(t) = &mut self.transport {
            t.stateless = stateless;
            t.protocol_version = stateless.then(|| STATELESS_VERSION.to_owned());
        }
    }

    fn send_initialize(&mut self) {
        self.set_stateless(false);
        self.phase = Phase::Initializing;
        self.server = None;
        let version = match &self.config.protocol {
            Protocol::Handshake(v) => v.as_str(),
            _ => LATEST_HANDSHAKE_VERSION,
        };
        let params = json!({
            "protocolVersion": version,
            "capabilities": self.config.capabilities.to_json(),
            "clientInfo": client_info(),
        });
        self.send_request(Rpc::Initialize, "initialize", params, None, Vec::new(), false);
    }

    fn on_discover(&mut self, outcome: Result<Value, JsonRpcError>) {
        match outcome.ok().as_ref().and_then(ServerInfo::from_discover_result) {
            Some(info) => self.connected(info),
            None => self.discovery_failed("the server does not offer protocol 2026-07-28".into()),
        }
    }

    /// The probe found no stateless revision: speak the handshake, unless the configuration insists.
    fn discovery_failed(&mut self, why: String) {
        if self.config.protocol == Protocol::Stateless {
            self.fail_connection(why);
        } else {
            self.send_initialize();
        }
    }

    fn on_initialize(&mut self, outcome: Result<Value, JsonRpcError>) {
        let info = match outcome {
            Ok(result) => ServerInfo::from_initialize_result(&result),
            Err(e) => Err(format!("initialize was refused: MCP error {}: {}", e.code, e.message)),
        };
        match info {
            Ok(info) => {
                match &mut self.transport {
                    Transport::Http(t) => t.protocol_version = Some(info.protocol_version.clone()),
                    Transport::Sse(t) => t.protocol_version = Some(info.protocol_version.clone()),
                    Transport::Stdio(_) => {}
                }
                // The standalone GET stream carries what the server sends outside any request: list changes,
                // and (from SDK servers) elicitation, sampling and roots requests. Opened now, before anything
                // else, so that it is in place when the first request runs. 405 means the server has none.
                let caps = self.config.capabilities;
                let wanted = info.tools_list_changed() || caps.sampling || caps.elicitation || caps.roots;
                if let (Transport::Http(t), true) = (&mut self.transport, wanted) {
                    t.open_get_stream(&mut self.io);
                }
                self.server = Some(info.clone());
                self.events.push_back(McpEvent::Connected(info));
                self.phase = Phase::Announcing;
                // Nothing else goes out until this is delivered: over HTTP two POSTs may overtake each other.
                self.announce_timer = Some(self.io.timer(self.config.timeout_ms));
                self.notify("notifications/initialized", None, true);
            }
            Err(message) => self.fail_connection(message),
        }
    }

    fn connected(&mut self, info: ServerInfo) {
        let list_changed = info.tools_list_changed();
        if self.phase == Phase::Discovering {
            self.server = Some(info.clone());
            self.events.push_back(McpEvent::Connected(info));
        }
        self.phase = Phase::Ready;
        while let Some(op) = self.waiting.pop_front() {
            self.send_op(op);
        }
        if self.stateless && list_changed {
            self.listen();
        }
    }

    /// Stateless revision: the long-lived `subscriptions/listen` request that carries list changes.
    fn listen(&mut self) {
        if self.phase == Phase::Ready && self.stateless {
            let params = json!({"notifications": {"toolsListChanged": true}});
            self.send_request(Rpc::Listen, "subscriptions/listen", params, None, Vec::new(), false);
        }
    }

    // ---- sending ----

    fn send_op(&mut self, op: OpId) {
        let (method, params, name, headers) = match self.ops.get(&op) {
            Some(Op::ListTools { cursors, .. }) => {
                let params = cursors.last().map_or_else(|| json!({}), |c| json!({ "cursor": c }));
                ("tools/list", params, None, Vec::new())
            }
            Some(Op::CallTool(call)) => {
                let mut params = object([("name", call.name.as_str().into()), ("arguments", call.arguments.clone())]);
                if call.rounds > 0 {
                    params["inputResponses"] = Value::Object(call.responses.clone());
                    if let Some(state) = &call.request_state {
                        params["requestState"] = state.clone();
                    }
                }
                let headers = match self.header_params.get(&call.name) {
                    Some(p) if self.stateless => param_headers(p, &call.arguments),
                    _ => Vec::new(),
                };
                let progress = call.progress;
                let name = Some(call.name.clone());
                self.send_request(Rpc::Op(op), "tools/call", params, name, headers, progress);
                return;
            }
            None => return,
        };
        self.send_request(Rpc::Op(op), method, params, name, headers, false);
    }

    /// Sends a request with a timeout. With `progress`, its id is its progress token. The stateless revision's
    /// envelope goes into `_meta` of every request.
    fn send_request(
        &mut self,
        kind: Rpc,
        method: &str,
        mut params: Value,
        name: Option<String>,
        headers: Vec<(String, String)>,
        progress: bool,
    ) -> i64 {
        let rpc = self.next_rpc;
        self.next_rpc += 1;
        let mut meta = self.envelope();
        if progress {
            meta.insert("progressToken".into(), json!(rpc));
        }
        if !meta.is_empty() {
            params["_meta"] = Value::Object(meta);
        }
        let timer = (kind != Rpc::Listen).then(|| self.io.timer(self.config.timeout_ms));
        self.pending.insert(rpc, Pending { kind, timer, started_ms: self.io.now_ms });
        let body = jsonrpc::request(rpc, method, Some(params));
        let message =
            Outgoing { rpc: Some(rpc), method: method.to_owned(), name, param_headers: headers, body, confirm: false };
        self.transport.send(message, &mut self.io);
        rpc
    }

    /// The stateless revision's `_meta` envelope (empty in the handshake era).
    fn envelope(&self) -> Map<String, Value> {
        let mut meta = Map::new();
        if self.stateless {
            meta.insert("io.modelcontextprotocol/protocolVersion".into(), json!(STATELESS_VERSION));
            meta.insert("io.modelcontextprotocol/clientInfo".into(), client_info());
            meta.insert("io.modelcontextprotocol/clientCapabilities".into(), self.config.capabilities.to_json());
        }
        meta
    }

    /// Sends a notification (with the envelope in the stateless revision). `confirm`: report when delivered.
    fn notify(&mut self, method: &str, params: Option<Value>, confirm: bool) {
        let mut params = params.unwrap_or_else(|| json!({}));
        let meta = self.envelope();
        if !meta.is_empty() {
            params["_meta"] = Value::Object(meta);
        }
        let params = (params != json!({})).then_some(params);
        let body = jsonrpc::notification(method, params);
        let message =
            Outgoing { rpc: None, method: method.to_owned(), name: None, param_headers: Vec::new(), body, confirm };
        self.transport.send(message, &mut self.io);
    }

    /// Sends a response to a server request.
    fn send_message(&mut self, body: String) {
        let message =
            Outgoing { rpc: None, method: String::new(), name: None, param_headers: Vec::new(), body, confirm: false };
        self.transport.send(message, &mut self.io);
    }

    // ---- receiving ----

    /// Works through what the transport reported (which may report more while this runs).
    fn process(&mut self) {
        while let Some(incoming) = self.io.incoming.pop_front() {
            match incoming {
                Incoming::Message(text) => self.receive(&text),
                Incoming::Refused { rpc, status, error, text } => self.refused(rpc, status, error, text),
                Incoming::Lost { rpc, error } => self.fail_rpc(rpc, error),
                Incoming::SessionGone { rpc, session } => self.session_gone(rpc, &session),
                Incoming::Down { error } => self.down(error),
                Incoming::Accepted(Ok(())) if self.phase == Phase::Announcing => {
                    if let Some(timer) = self.announce_timer.take() {
                        self.io.cancel(timer);
                    }
                    let info = self.server.clone();
                    if let Some(info) = info {
                        self.connected(info);
                    }
                }
                Incoming::Accepted(Err(error)) if self.phase == Phase::Announcing => {
                    self.fail_connection(format!("notifications/initialized was refused: {error}"))
                }
                Incoming::Accepted(_) => {}
                Incoming::Warning(message) => self.warn(message),
                Incoming::Stderr(line) => {
                    let line = self.redact(&line);
                    self.events.push_back(McpEvent::Log {
                        level: "stderr".into(),
                        logger: None,
                        data: Value::String(line),
                    })
                }
            }
        }
    }

    fn receive(&mut self, text: &str) {
        match JsonRpcMessage::parse_all(text) {
            Ok(messages) => {
                for message in messages {
                    self.dispatch(message);
                }
            }
            Err(e) => self.warn(format!("ignored a malformed message: {e}")),
        }
    }

    fn dispatch(&mut self, message: JsonRpcMessage) {
        match message {
            JsonRpcMessage::Response(JsonRpcResponse { id: Some(RequestId::Number(rpc)), outcome })
                if self.pending.contains_key(&rpc) =>
            {
                let pending = self.settle(rpc);
                match pending.kind {
                    Rpc::Discover => self.on_discover(outcome),
                    Rpc::Initialize => self.on_initialize(outcome),
                    Rpc::Op(op) => self.on_op_response(op, outcome),
                    Rpc::Listen => self.listen_later(),
                }
            }
            JsonRpcMessage::Response(JsonRpcResponse { id, outcome }) => {
                let id = match id {
                    Some(RequestId::String(s)) => format!("'{s}'"),
                    Some(RequestId::Number(n)) => n.to_string(),
                    None => "null".to_owned(),
                };
                let what = match outcome {
                    Err(e) => format!("error {}: {}", e.code, e.message),
                    Ok(_) => "result".into(),
                };
                self.warn(format!("ignored a response with unknown id {id} ({what})"));
            }
            JsonRpcMessage::Request(request) => self.server_request(request),
            JsonRpcMessage::Notification(n) => self.notification(n.method, n.params),
        }
    }

    /// The request is answered: stop its timer and let go of its stream.
    fn settle(&mut self, rpc: i64) -> Pending {
        let pending = self.pending.remove(&rpc).unwrap_or(Pending { kind: Rpc::Listen, timer: None, started_ms: 0 });
        if let Some(timer) = pending.timer {
            self.io.cancel(timer);
        }
        self.transport.answered(rpc, &mut self.io);
        pending
    }

    fn server_request(&mut self, request: JsonRpcRequest) {
        let JsonRpcRequest { id, method, params } = request;
        if method == "ping" {
            return self.send_message(jsonrpc::response(&id, Ok(json!({}))));
        }
        if !self.config.capabilities.allows(&method) {
            let error = JsonRpcError {
                code: jsonrpc::METHOD_NOT_FOUND,
                message: format!("Method not found: {method}"),
                data: None,
            };
            return self.send_message(jsonrpc::response(&id, Err(error)));
        }
        if self.inputs.len() >= MAX_OPEN_INPUTS {
            // A server may not pile up questions the application has not answered yet.
            let message = format!("too many requests waiting for the application (at most {MAX_OPEN_INPUTS})");
            let error = JsonRpcError { code: -32603, message, data: None };
            return self.send_message(jsonrpc::response(&id, Err(error)));
        }
        self.ask(Asker::Rpc(id), None, method, params.unwrap_or(Value::Null));
    }

    fn ask(&mut self, asker: Asker, op: Option<OpId>, method: String, params: Value) {
        let id = self.next_input;
        self.next_input += 1;
        self.inputs.insert(id, Input { asker, method: method.clone(), params: params.clone() });
        self.events.push_back(McpEvent::InputRequest { id, op, method, params });
    }

    fn notification(&mut self, method: String, params: Option<Value>) {
        let p = params.as_ref();
        let number = |key: &str| p.and_then(|p| p.get(key)).and_then(Value::as_f64);
        match method.as_str() {
            "notifications/progress" => {
                let token = p.and_then(|p| p.get("progressToken")).and_then(Value::as_i64);
                let pending = token.and_then(|t| self.pending.get(&t).map(|pending| (t, pending.kind)));
                if let (Some((rpc, Rpc::Op(op))), Some(progress)) = (pending, number("progress")) {
                    self.rearm(rpc);
                    let message = p.and_then(|p| p.get("message")).and_then(Value::as_str).map(str::to_owned);
                    self.events.push_back(McpEvent::Progress { op, progress, total: number("total"), message });
                }
            }
            "notifications/message" => {
                let text = |key: &str| p.and_then(|p| p.get(key)).and_then(Value::as_str).map(str::to_owned);
                let mut data = p.and_then(|p| p.get("data")).cloned().unwrap_or(Value::Null);
                self.redact_credentials(&mut data);
                let level = text("level").unwrap_or_else(|| "info".into());
                self.events.push_back(McpEvent::Log { level, logger: text("logger"), data });
            }
            "notifications/tools/list_changed" => self.events.push_back(McpEvent::ToolsChanged),
            "notifications/subscriptions/acknowledged" | "notifications/cancelled" => {}
            _ => self.events.push_back(McpEvent::Notification { method, params }),
        }
    }

    fn on_op_response(&mut self, op: OpId, outcome: Result<Value, JsonRpcError>) {
        let result = match outcome {
            Ok(result) => result,
            Err(e) => return self.fail_op(op, format!("MCP error {}: {}", e.code, e.message)),
        };
        if result.get("resultType").and_then(Value::as_str) == Some("input_required") {
            return self.input_required(op, &result);
        }
        match self.ops.get(&op) {
            Some(Op::CallTool(_)) if result.is_object() => {
                self.ops.remove(&op);
                self.retried.retain(|r| *r != op);
                self.sessions_lost = 0;
                let mut result = result;
                self.redact_credentials(&mut result);
                self.events.push_back(McpEvent::ToolResult { op, result });
            }
            Some(Op::CallTool(_)) => self.fail_op(op, "malformed tools/call result: not an object".into()),
            Some(Op::ListTools { .. }) => self.on_tools_page(op, result),
            None => {}
        }
    }

    /// Stateless revision: the server needs answers before it can complete the call. Ask the application for
    /// each, then call again with them and the server's `requestState` echoed exactly.
    fn input_required(&mut self, op: OpId, result: &Value) {
        let requests = result.get("inputRequests").and_then(Value::as_object).cloned().unwrap_or_default();
        let Some(Op::CallTool(call)) = self.ops.get_mut(&op) else {
            return self.fail_op(op, "the server asked for input on a request that cannot take it".into());
        };
        call.rounds += 1;
        if call.rounds > MAX_INPUT_ROUNDS {
            return self.fail_op(op, format!("the server asked for input more than {MAX_INPUT_ROUNDS} times"));
        }
        call.request_state = result.get("requestState").cloned();
        call.responses.clear();
        call.awaiting = requests.keys().cloned().collect();
        if call.awaiting.is_empty() {
            return self.send_op(op);
        }
        for (key, request) in requests {
            let method = request.get("method").and_then(Value::as_str).unwrap_or("").to_owned();
            if !self.config.capabilities.allows(&method) {
                return self.fail_op(op, format!("the server asked for '{method}', which this client does not offer"));
            }
            let params = request.get("params").cloned().unwrap_or(Value::Null);
            self.ask(Asker::Retry { op, key }, Some(op), method, params);
        }
    }

    fn on_tools_page(&mut self, op: OpId, mut result: Value) {
        let Some(Value::Array(page)) = result.get_mut("tools").map(Value::take) else {
            return self.fail_op(op, "malformed tools/list result: \"tools\" must be an array".into());
        };
        let Some(Op::ListTools { mut tools, mut cursors, pages }) = self.ops.remove(&op) else { return };
        let pages = pages + 1;
        // Names already kept, for the duplicate check (a page may repeat a name a million times).
        let mut names: Map<String, Value> = tools.iter().map(|t| (t.name.clone(), Value::Null)).collect();
        // Skipped entries: the first is told, the rest counted.
        let mut skipped = 0usize;
        for (n, raw) in page.into_iter().enumerate() {
            if tools.len() >= MAX_TOOLS {
                self.warn(format!("kept only the first {MAX_TOOLS} tools"));
                break;
            }
            if n >= 2 * MAX_TOOLS {
                self.warn(format!("stopped reading a page of tools after {n} entries"));
                break;
            }
            let kept = Tool::from_value(raw).map_err(|e| format!("skipped a malformed tool: {e}")).and_then(|tool| {
                if names.contains_key(&tool.name) {
                    return Err(format!("skipped a second tool named '{}'", tool.name));
                }
                if self.stateless {
                    let params = tool.header_params().map_err(|why| format!("skipped '{}': {why}", tool.name))?;
                    self.header_params.insert(tool.name.clone(), params);
                }
                Ok(tool)
            });
            match kept {
                Ok(tool) => {
                    names.insert(tool.name.clone(), Value::Null);
                    tools.push(tool);
                }
                Err(why) => {
                    skipped += 1;
                    if skipped == 1 {
                        self.warn(why);
                    }
                }
            }
        }
        if skipped > 1 {
            let more = skipped - 1;
            self.warn(format!("skipped {more} more tools on that page (repeated names or unusable entries)"));
        }
        let next = result.get("nextCursor").and_then(Value::as_str).filter(|c| !c.is_empty());
        match next {
            Some(cursor) if cursors.iter().any(|c| c == cursor) => {
                self.warn(format!("stopped listing tools: the server repeated cursor '{cursor}'"))
            }
            Some(_) if pages >= MAX_PAGES => self.warn(format!("stopped listing tools after {MAX_PAGES} pages")),
            Some(cursor) if tools.len() < MAX_TOOLS => {
                cursors.push(cursor.to_owned());
                self.ops.insert(op, Op::ListTools { tools, cursors, pages });
                return self.send_op(op);
            }
            _ => {}
        }
        self.retried.retain(|r| *r != op);
        let ttl_ms = result.get("ttlMs").and_then(Value::as_u64);
        self.sessions_lost = 0;
        // Tools no longer listed take their header parameters with them (a later tool of the same name may
        // declare others).
        if self.stateless {
            self.header_params.retain(|name, _| names.contains_key(name));
        }
        self.events.push_back(McpEvent::Tools { op, tools, ttl_ms });
    }

    // ---- failures, timeouts, sessions ----

    fn refused(&mut self, rpc: i64, status: u16, error: Option<JsonRpcError>, text: String) {
        let Some(kind) = self.pending.get(&rpc).map(|p| p.kind) else { return };
        match kind {
            // The stateless revision's "unsupported protocol version" naming ours as supported: send again.
            _ if self.stateless && offers_stateless(error.as_ref()) && self.version_retries < MAX_VERSION_RETRIES => {
                self.version_retries += 1;
                self.settle(rpc);
                match kind {
                    Rpc::Discover => self.connect(),
                    Rpc::Op(op) => self.send_op(op),
                    Rpc::Listen => self.listen(),
                    Rpc::Initialize => {}
                }
            }
            // The server does not serve change subscriptions (or refuses ours): stop asking.
            Rpc::Listen => {
                self.settle(rpc);
            }
            // No stateless revision at this endpoint: the handshake, then. Unless the refusal itself is in the
            // stateless revision's words: then the server speaks it and the error is the answer.
            Rpc::Discover if speaks_stateless(error.as_ref()) => {
                self.settle(rpc);
                self.fail_connection(text);
            }
            Rpc::Discover => {
                self.settle(rpc);
                self.discovery_failed(text);
            }
            // An endpoint that refuses the handshake POST may be a legacy HTTP+SSE server.
            Rpc::Initialize if matches!(status, 400 | 404 | 405) && self.may_fall_back_to_sse() => {
                self.settle(rpc);
                self.warn(format!("the server refused Streamable HTTP ({text}); trying the legacy HTTP+SSE transport"));
                self.transport = new_transport(&self.config, true);
                self.send_initialize();
            }
            _ => self.fail_rpc(rpc, text),
        }
    }

    fn may_fall_back_to_sse(&self) -> bool {
        matches!(self.config.endpoint, Endpoint::Http { transport: HttpTransport::Auto, .. })
            && matches!(self.transport, Transport::Http(_))
    }

    /// Request `rpc` ended without an answer.
    fn fail_rpc(&mut self, rpc: i64, error: String) {
        if !self.pending.contains_key(&rpc) {
            return;
        }
        let pending = self.settle(rpc);
        match pending.kind {
            Rpc::Discover => self.discovery_failed(error),
            Rpc::Initialize => self.fail_connection(error),
            Rpc::Op(op) => self.fail_op(op, error),
            Rpc::Listen => self.listen_later(),
        }
    }

    fn timed_out(&mut self, rpc: i64) {
        let after = self.config.timeout_ms;
        self.abandon(rpc, "timed out");
        self.fail_rpc(rpc, format!("request failed: timed out after {after} ms"));
    }

    /// Stops waiting for `rpc` and tells the server: `notifications/cancelled`, or (stateless revision over
    /// HTTP) the closed stream itself.
    fn abandon(&mut self, rpc: i64, reason: &str) {
        self.transport.abandon(rpc, &mut self.io);
        let http_stateless = self.stateless && !matches!(self.transport, Transport::Stdio(_));
        let initialize = self.pending.get(&rpc).is_some_and(|p| p.kind == Rpc::Initialize);
        if !http_stateless && !initialize {
            self.notify("notifications/cancelled", Some(json!({"requestId": rpc, "reason": reason})), false);
        }
    }

    /// Progress: the request's timeout starts again, within the overall cap.
    fn rearm(&mut self, rpc: i64) {
        let timeout = self.config.timeout_ms;
        let now = self.io.now_ms;
        let Some(pending) = self.pending.get(&rpc) else { return };
        let cap = pending.started_ms.saturating_add(timeout.saturating_mul(MAX_TIMEOUTS_WITH_PROGRESS));
        let old = pending.timer;
        let after = timeout.min(cap.saturating_sub(now));
        let timer = self.io.timer(after);
        if let Some(old) = old {
            self.io.cancel(old);
        }
        if let Some(pending) = self.pending.get_mut(&rpc) {
            pending.timer = Some(timer);
        }
    }

    fn session_gone(&mut self, rpc: Option<i64>, session: &str) {
        let current = match &self.transport {
            Transport::Http(t) => t.session_id.as_deref() == Some(session),
            _ => false,
        };
        let op = rpc.and_then(|rpc| self.pending.get(&rpc)).and_then(|p| match p.kind {
            Rpc::Op(op) if !self.retried.contains(&op) => Some(op),
            _ => None,
        });
        if let (Some(rpc), None) = (rpc, op) {
            return self.fail_rpc(rpc, "the server no longer knows this session (HTTP 404)".into());
        }
        if let Some(rpc) = rpc {
            self.settle(rpc);
        }
        if let Some(op) = op {
            self.retried.push(op);
            if let Some(Op::ListTools { tools, cursors, pages }) = self.ops.get_mut(&op) {
                // Cursors belong to the session that issued them: list again from the start.
                tools.clear();
                cursors.clear();
                *pages = 0;
            }
        }
        if current && self.phase != Phase::Closed {
            self.waiting.extend(op);
            self.sessions_lost += 1;
            if self.sessions_lost > MAX_SESSIONS_LOST {
                self.sessions_lost = 0;
                return self.down(format!("the server forgot {} sessions in a row (HTTP 404)", MAX_SESSIONS_LOST + 1));
            }
            self.warn("the server ended the session (HTTP 404); starting a new session".into());
            if let Transport::Http(t) = &mut self.transport {
                t.session_id = None;
            }
            self.send_initialize();
        } else if let Some(op) = op {
            if self.phase == Phase::Ready { self.send_op(op) } else { self.waiting.push_back(op) }
        }
    }

    /// The connection as a whole is gone: everything in flight fails; the next operation reconnects.
    fn down(&mut self, error: String) {
        let rpcs: Vec<i64> = self.pending.keys().copied().collect();
        for rpc in rpcs {
            self.fail_rpc(rpc, error.clone());
        }
        // Calls waiting for the application's answers (`input_required`) have nothing in flight, but their
        // connection is gone all the same.
        let asking: Vec<OpId> = self
            .ops
            .iter()
            .filter(|(_, op)| matches!(op, Op::CallTool(call) if !call.awaiting.is_empty()))
            .map(|(id, _)| *id)
            .collect();
        for op in asking {
            self.fail_op(op, error.clone());
        }
        self.inputs.clear();
        if !matches!(self.phase, Phase::Closed | Phase::Idle) {
            self.fail_connection(error);
        }
    }

    /// The handshake failed: every waiting operation fails, and the next operation starts again.
    fn fail_connection(&mut self, message: String) {
        if self.phase == Phase::Closed {
            return;
        }
        // Redact while the session id is still known: the server may have repeated it in its error.
        let message = self.redact(&format!("could not connect: {message}"));
        self.phase = Phase::Idle;
        self.server = None;
        for (rpc, pending) in self.pending.take() {
            if let Some(timer) = pending.timer {
                self.io.cancel(timer);
            }
            self.transport.abandon(rpc, &mut self.io);
            if let Rpc::Op(op) = pending.kind {
                self.fail_op(op, message.clone());
            }
        }
        if let Some(timer) = self.listen_timer.take() {
            self.io.cancel(timer);
        }
        if let Some(timer) = self.announce_timer.take() {
            self.io.cancel(timer);
        }
        // The old connection ends properly (its process reaped, its streams closed, its session deleted), and
        // the next operation starts a fresh one.
        self.transport.close(&mut self.io);
        self.io.incoming.clear();
        self.transport = new_transport(&self.config, matches!(self.transport, Transport::Sse(_)));
        while let Some(op) = self.waiting.pop_front() {
            self.fail_op(op, message.clone());
        }
    }

    fn listen_later(&mut self) {
        if self.phase == Phase::Ready && self.listen_timer.is_none() {
            self.listen_timer = Some(self.io.timer(LISTEN_REOPEN_MS));
        }
    }

    fn fail_op(&mut self, op: OpId, message: String) {
        self.retried.retain(|r| *r != op);
        if self.ops.remove(&op).is_some() {
            let error = self.redact(&message);
            self.events.push_back(McpEvent::Failed { op, error });
        }
    }

    fn warn(&mut self, message: String) {
        let message = self.redact(&message);
        self.events.push_back(McpEvent::Warning(message));
    }

    /// Removes everything secret about this server from `text`: its URL, origin, host, header values,
    /// credentials, environment values and session id.
    pub fn redact(&self, text: &str) -> String {
        let mut secrets = self.credentials();
        if let Endpoint::Http { url, .. } = &self.config.endpoint {
            let origin = origin(url);
            let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
            let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
            secrets.extend([url.as_str(), origin, authority]);
            // The bare host name too, unless it is too common to mean anything.
            if host != "localhost" {
                secrets.push(host);
            }
        }
        replace_secrets(text, secrets)
    }

    /// Removes this server's credentials (header values, environment values, session id) from every string in
    /// `value`, a result or a notification the model or the application gets. Its address stays: results
    /// rightly name resources on their own server.
    fn redact_credentials(&self, value: &mut Value) {
        let secrets = self.credentials();
        if secrets.is_empty() {
            return;
        }
        fn walk(value: &mut Value, secrets: &[&str]) {
            match value {
                Value::String(text) if secrets.iter().any(|s| contains_ignoring_ascii_case(text, s)) => {
                    *text = replace_secrets(text, secrets.to_vec());
                }
                Value::Array(items) => items.iter_mut().for_each(|v| walk(v, secrets)),
                Value::Object(map) => map.values_mut().for_each(|v| walk(v, secrets)),
                _ => {}
            }
        }
        walk(value, &secrets);
    }

    /// The credentials of this server: header values (and the token alone, `Bearer abc` → `abc`, in case a
    /// server repeats just that), environment values and the session id.
    fn credentials(&self) -> Vec<&str> {
        let mut secrets: Vec<&str> = Vec::new();
        if let Endpoint::Stdio { env, .. } = &self.config.endpoint {
            secrets.extend(env.iter().map(|(_, v)| v.as_str()));
        }
        let header_values = self.config.headers.iter().map(|(_, v)| v).chain(&self.hook_secrets);
        for value in header_values {
            secrets.push(value);
            if let Some((_, credential)) = value.split_once(' ') {
                secrets.push(credential.trim());
            }
        }
        if let Transport::Http(t) = &self.transport {
            secrets.extend(t.session_id.as_deref());
        }
        secrets.retain(|s| s.len() >= 4);
        secrets
    }
}

/// `text` with each secret replaced by `[redacted]`, ignoring ASCII case; longest first, so a whole URL goes
/// before its origin does. (A handful of entries: no sort needed.)
fn replace_secrets(text: &str, mut secrets: Vec<&str>) -> String {
    let mut out = text.to_owned();
    while let Some(i) = (0..secrets.len()).max_by_key(|&i| secrets[i].len()) {
        out = replace_ignoring_ascii_case(&out, secrets.swap_remove(i), "[redacted]");
    }
    out
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

fn new_transport(config: &ServerConfig, legacy_sse: bool) -> Transport {
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

/// True for errors only a server of the stateless revision gives: header mismatch (-32020), a missing client
/// capability (-32021), or invalid params about the `_meta` envelope.
fn speaks_stateless(error: Option<&JsonRpcError>) -> bool {
    error.is_some_and(|e| matches!(e.code, -32020 | -32021) || (e.code == -32602 && e.message.contains("_meta")))
}

/// True for the stateless revision's -32022 (unsupported protocol version) when it lists 2026-07-28.
fn offers_stateless(error: Option<&JsonRpcError>) -> bool {
    error.is_some_and(|e| {
        e.code == -32022
            && e.data
                .as_ref()
                .and_then(|d| d.get("supported"))
                .and_then(Value::as_array)
                .is_some_and(|v| v.iter().any(|v| v == STATELESS_VERSION))
    })
}

fn client_info() -> Value {
    json!({"name": "mcp-loop", "version": env!("CARGO_PKG_VERSION")})
}

/// An accepted elicitation with the schema's defaults filled in for fields the application left out
/// (SEP-1034): the server asked with defaults, so it gets them.
fn with_elicitation_defaults(params: &Value, mut result: Value) -> Value {
    let Some(properties) = params.pointer("/requestedSchema/properties").and_then(Value::as_object) else {
        return result;
    };
    if result.get("action").and_then(Value::as_str) != Some("accept") {
        return result;
    }
    if !result.get("content").is_some_and(Value::is_object) {
        result["content"] = json!({});
    }
    if let Some(content) = result.get_mut("content").and_then(Value::as_object_mut) {
        for (key, schema) in properties {
            if let (false, Some(default)) = (content.contains_key(key), schema.get("default")) {
                content.insert(key.clone(), default.clone());
            }
        }
    }
    result
}

/// `scheme://host[:port]` of a URL.
pub(crate) fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find(['/', '?', '#']) {
        Some(end) => &url[..after_scheme + end],
        None => url,
    }
}

fn contains_ignoring_ascii_case(text: &str, needle: &str) -> bool {
    text.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Replaces every occurrence of `needle`, comparing ASCII letters without case (host names are case-blind).
/// ASCII lowercasing keeps byte offsets, so positions found in the lowercase copy hold in the original.
fn replace_ignoring_ascii_case(text: &str, needle: &str, with: &str) -> String {
    let (hay, needle) = (text.to_ascii_lowercase(), needle.to_ascii_lowercase());
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, _) in hay.match_indices(&needle) {
        if start >= last {
            out.push_str(&text[last..start]);
            out.push_str(with);
            last = start + needle.len();
        }
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests;
