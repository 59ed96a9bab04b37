//! The MCP client machine for one server over Streamable HTTP, handshake era (`2024-11-05` … `2025-11-25`).
//!
//! Sans-IO: the caller asks for semantic operations ([`McpClient::list_tools`], [`McpClient::call_tool`]),
//! drains HTTP requests with [`McpClient::poll_transmit`], feeds each response back by key
//! (`handle_head`, `handle_chunk`, `handle_end`, `handle_error`) and drains results with
//! [`McpClient::poll_event`]. The handshake (`initialize`, `notifications/initialized`) happens on the first
//! operation; operations asked for meanwhile wait for it.
//!
//! Every text this machine emits has the server's URL, header values and session id redacted, so it can be
//! shown to a model or written to a log.

use super::jsonrpc::{self, JsonRpcError, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse, RequestId};
use super::types::{LATEST_HANDSHAKE_VERSION, ServerInfo, Tool};
use crate::http::{BodyBuffer, HttpRequest, header, media_type};
use crate::json::Fields;
use crate::sse::SseParser;
use crate::vec_map::VecMap;
use serde_json::{Value, json};
use std::collections::VecDeque;

/// Identifies one semantic operation (a full tool listing or one tool call).
pub type OpId = u64;

/// At most this many `tools/list` pages are followed.
pub const MAX_PAGES: u32 = 100;
/// At most this many tools are kept from one server.
pub const MAX_TOOLS: usize = 10_000;
/// The largest JSON-RPC message (or SSE event) accepted from a server.
pub const MAX_MESSAGE_BYTES: usize = 32 << 20;
/// How much of an error body is kept for the message.
const MAX_ERROR_BODY: usize = 64 << 10;

/// How to reach one MCP server. Header values are secrets: they never appear in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The name the application gives the server; used in tool names and messages.
    pub name: String,
    /// The Streamable HTTP endpoint.
    pub url: String,
    /// Extra headers sent with every request (for example `Authorization`).
    pub headers: Vec<(String, String)>,
    /// Per-request timeout in milliseconds.
    pub timeout_ms: u64,
}

/// The default per-request timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;

const PROTOCOL_HEADERS: &[&str] =
    &["content-type", "accept", "mcp-session-id", "mcp-protocol-version", "last-event-id"];

impl ServerConfig {
    /// A server with no extra headers and the default timeout.
    pub fn new(name: &str, url: &str) -> ServerConfig {
        ServerConfig { name: name.to_owned(), url: url.to_owned(), headers: Vec::new(), timeout_ms: DEFAULT_TIMEOUT_MS }
    }

    /// Reads `{name, url, headers, timeoutMs}`; `path` names it in messages.
    pub(crate) fn read(value: &Value, path: &str) -> Result<ServerConfig, String> {
        let f = Fields::new(value, path)?;
        f.only(&["name", "url", "headers", "timeoutMs"])?;
        Ok(ServerConfig {
            name: f.string("name")?.unwrap_or_default(),
            url: f.string("url")?.ok_or_else(|| format!("{path}.url is required"))?,
            headers: f.headers("headers")?,
            timeout_ms: f.number("timeoutMs")?.unwrap_or(DEFAULT_TIMEOUT_MS),
        })
    }

    /// Checks the configuration before any request is made.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() {
            return Err("a server needs a non-empty name".into());
        }
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(format!("server '{}': the url must start with http:// or https://", self.name));
        }
        if !(1..=crate::driver::MAX_TIMEOUT_MS).contains(&self.timeout_ms) {
            return Err(format!(
                "server '{}': timeoutMs must be between 1 and {}",
                self.name,
                crate::driver::MAX_TIMEOUT_MS
            ));
        }
        for (name, _) in &self.headers {
            if PROTOCOL_HEADERS.iter().any(|p| p.eq_ignore_ascii_case(name)) {
                return Err(format!(
                    "server '{}': header '{name}' is set by the protocol and cannot be configured",
                    self.name
                ));
            }
        }
        Ok(())
    }
}

/// An HTTP request the host must perform, with the key its response is fed back under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Key for `handle_*`.
    pub key: u64,
    /// The request.
    pub request: HttpRequest,
    /// How long the host (through the driver's timers) lets it run.
    pub timeout_ms: u64,
}

/// What the client reports.
#[derive(Debug, Clone, PartialEq)]
pub enum McpEvent {
    /// The handshake finished.
    Connected(ServerInfo),
    /// A listing finished: every page, in server order.
    Tools {
        /// The operation.
        op: OpId,
        /// The tools.
        tools: Vec<Tool>,
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
    /// Something went wrong that does not fail an operation (a skipped tool, a repeated cursor, …).
    Warning(String),
    /// A notification from the server (progress, log message, list changed).
    Notification {
        /// Method.
        method: String,
        /// Params.
        params: Option<Value>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Idle,
    Initializing,
    SendingInitialized,
    Ready,
    Closed,
}

#[derive(Debug, Clone)]
enum Op {
    ListTools { tools: Vec<Tool>, cursors: Vec<String>, pages: u32 },
    CallTool { name: String, arguments: Value },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rpc {
    Initialize,
    Op(OpId),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Purpose {
    /// Carries JSON-RPC request `id`; its response may come as JSON or on an SSE stream.
    Request(i64),
    Initialized,
    Reply,
    Delete,
}

#[derive(Debug, Clone)]
enum Reader {
    Head,
    Json(BodyBuffer),
    Sse(SseParser),
    Status(u16, BodyBuffer),
    Ignore,
}

#[derive(Debug, Clone)]
struct Exchange {
    purpose: Purpose,
    reader: Reader,
    /// The session id the request carried: a 404 to it means that session is gone.
    session: Option<String>,
}

/// The client machine for one server.
#[derive(Debug, Clone)]
pub struct McpClient {
    config: ServerConfig,
    phase: Phase,
    session_id: Option<String>,
    server: Option<ServerInfo>,
    next_rpc: i64,
    next_key: u64,
    next_op: OpId,
    ops: VecMap<OpId, Op>,
    /// Operations already sent again on a new session (each is retried at most once).
    retried: Vec<OpId>,
    waiting: VecDeque<OpId>,
    rpcs: VecMap<i64, Rpc>,
    exchanges: VecMap<u64, Exchange>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<McpEvent>,
}

impl McpClient {
    /// A client that has not connected yet.
    pub fn new(config: ServerConfig) -> Self {
        McpClient {
            config,
            phase: Phase::Idle,
            session_id: None,
            server: None,
            next_rpc: 1,
            next_key: 1,
            next_op: 1,
            ops: VecMap::default(),
            retried: Vec::new(),
            waiting: VecDeque::new(),
            rpcs: VecMap::default(),
            exchanges: VecMap::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configured name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// What the server said in its `initialize` result, once connected.
    pub fn server_info(&self) -> Option<&ServerInfo> {
        self.server.as_ref()
    }

    /// Lists every tool (following `nextCursor`). Completes with [`McpEvent::Tools`] or [`McpEvent::Failed`].
    pub fn list_tools(&mut self) -> OpId {
        self.start(Op::ListTools { tools: Vec::new(), cursors: Vec::new(), pages: 0 })
    }

    /// Calls a tool. Completes with [`McpEvent::ToolResult`] or [`McpEvent::Failed`].
    pub fn call_tool(&mut self, name: &str, arguments: Value) -> OpId {
        self.start(Op::CallTool { name: name.to_owned(), arguments })
    }

    /// Ends the session: pending operations fail, and a session the server assigned is deleted. Returns the
    /// keys of the requests still out, which the host should abort.
    pub fn close(&mut self) -> Vec<u64> {
        if self.phase == Phase::Closed {
            return Vec::new();
        }
        let abandoned: Vec<u64> = self.exchanges.keys().copied().collect();
        self.exchanges.clear();
        let pending: Vec<OpId> = self.ops.keys().copied().collect();
        for op in pending {
            self.fail_op(op, "the client was closed".into());
        }
        self.rpcs.clear();
        self.waiting.clear();
        if self.session_id.is_some() {
            let request = self.request("DELETE", None);
            self.send(request, Purpose::Delete);
        }
        self.phase = Phase::Closed;
        abandoned
    }

    /// The next HTTP request to perform.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing to report.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<McpEvent> {
        self.events.pop_front()
    }

    /// True while a request is out.
    pub fn has_exchanges(&self) -> bool {
        !self.exchanges.is_empty()
    }

    /// True while exchange `key` is still wanted.
    pub fn has_exchange(&self, key: u64) -> bool {
        self.exchanges.contains_key(&key)
    }

    /// The response head of exchange `key`. Returns false if the key is not one of ours.
    pub fn handle_head(&mut self, key: u64, status: u16, headers: &[(String, String)]) -> bool {
        let Some(exchange) = self.exchanges.get_mut(&key) else { return false };
        let purpose = exchange.purpose;
        exchange.reader = if !(200..300).contains(&status) {
            Reader::Status(status, BodyBuffer::new(MAX_ERROR_BODY))
        } else {
            match media_type(header(headers, "content-type")).as_str() {
                "text/event-stream" => Reader::Sse(SseParser::new(MAX_MESSAGE_BYTES)),
                "application/json" => Reader::Json(BodyBuffer::new(MAX_MESSAGE_BYTES)),
                _ => Reader::Ignore,
            }
        };
        if !(200..300).contains(&status) {
            return true;
        }
        match purpose {
            Purpose::Request(rpc) if self.rpcs.get(&rpc) == Some(&Rpc::Initialize) => {
                if let Some(id) = header(headers, "mcp-session-id") {
                    if id.is_empty() || !id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
                        self.rpcs.remove(&rpc);
                        self.fail_connection("the server sent an invalid Mcp-Session-Id".into());
                        self.exchanges.remove(&key);
                        return true;
                    }
                    self.session_id = Some(id.to_owned());
                }
            }
            Purpose::Initialized if self.phase == Phase::SendingInitialized => {
                self.phase = Phase::Ready;
                while let Some(op) = self.waiting.pop_front() {
                    self.send_op(op);
                }
            }
            _ => {}
        }
        true
    }

    /// A body chunk of exchange `key`.
    pub fn handle_chunk(&mut self, key: u64, chunk: &[u8]) -> bool {
        let Some(exchange) = self.exchanges.get_mut(&key) else { return false };
        let mut events = Vec::new();
        let overflow = match &mut exchange.reader {
            Reader::Json(body) => !body.push(chunk),
            Reader::Sse(parser) => parser.feed(chunk, &mut events).is_err(),
            // An error body is only read for its message; past the limit the message is just shorter.
            Reader::Status(_, body) => {
                body.push(chunk);
                false
            }
            Reader::Head | Reader::Ignore => false,
        };
        for event in events {
            if event.is_message() && !event.data.trim().is_empty() {
                self.receive(&event.data, None);
            }
        }
        // A request's stream has nothing more to say once the request is answered; stop holding the connection.
        if let Some(Exchange { purpose: Purpose::Request(rpc), reader: Reader::Sse(_), .. }) = self.exchanges.get(&key)
        {
            if !self.rpcs.contains_key(rpc) {
                self.exchanges.remove(&key);
                return true;
            }
        }
        if overflow {
            let purpose = exchange_purpose(&self.exchanges, key);
            self.exchanges.remove(&key);
            self.fail_purpose(purpose, format!("a message from the server exceeded {MAX_MESSAGE_BYTES} bytes"));
        }
        true
    }

    /// The end of exchange `key`'s body.
    pub fn handle_end(&mut self, key: u64) -> bool {
        let Some(exchange) = self.exchanges.remove(&key) else { return false };
        match exchange.reader {
            Reader::Json(body) => {
                let text = String::from_utf8_lossy(body.bytes()).into_owned();
                self.receive(&text, Some(exchange.purpose));
            }
            Reader::Status(404, _) if exchange.session.is_some() && self.retry_on_new_session(&exchange) => {
                return true;
            }
            Reader::Status(status, body) => {
                let message = error_text(status, &body, exchange.session.is_some());
                self.fail_purpose(exchange.purpose, message);
                return true;
            }
            Reader::Sse(_) | Reader::Ignore | Reader::Head => {}
        }
        if let Purpose::Request(rpc) = exchange.purpose {
            if self.rpcs.contains_key(&rpc) {
                self.fail_purpose(
                    exchange.purpose,
                    "the server ended the response without answering the request".into(),
                );
            }
        }
        true
    }

    /// Exchange `key` failed in transport (connection refused, reset, timed out). `message` must not carry
    /// secrets; it is redacted anyway.
    pub fn handle_error(&mut self, key: u64, message: &str) -> bool {
        let Some(exchange) = self.exchanges.remove(&key) else { return false };
        self.fail_purpose(exchange.purpose, format!("request failed: {message}"));
        true
    }

    // ---- internals ----

    fn start(&mut self, op: Op) -> OpId {
        let id = self.next_op;
        self.next_op += 1;
        self.ops.insert(id, op);
        match self.phase {
            Phase::Closed => self.fail_op(id, "the client is closed".into()),
            Phase::Ready => self.send_op(id),
            Phase::Idle => {
                self.waiting.push_back(id);
                self.send_initialize();
            }
            Phase::Initializing | Phase::SendingInitialized => self.waiting.push_back(id),
        }
        id
    }

    fn send_initialize(&mut self) {
        self.phase = Phase::Initializing;
        self.session_id = None;
        self.server = None;
        let params = json!({
            "protocolVersion": LATEST_HANDSHAKE_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "mcp-loop", "version": env!("CARGO_PKG_VERSION")},
        });
        self.send_rpc(Rpc::Initialize, "initialize", Some(params));
    }

    fn send_op(&mut self, op: OpId) {
        let (method, params) = match self.ops.get(&op) {
            Some(Op::ListTools { cursors, .. }) => ("tools/list", cursors.last().map(|c| json!({"cursor": c}))),
            Some(Op::CallTool { name, arguments }) => {
                ("tools/call", Some(json!({"name": name, "arguments": arguments})))
            }
            None => return,
        };
        self.send_rpc(Rpc::Op(op), method, params);
    }

    fn send_rpc(&mut self, rpc: Rpc, method: &str, params: Option<Value>) {
        let id = self.next_rpc;
        self.next_rpc += 1;
        self.rpcs.insert(id, rpc);
        let request = self.request("POST", Some(jsonrpc::request(id, method, params)));
        self.send(request, Purpose::Request(id));
    }

    fn request(&self, method: &str, body: Option<String>) -> HttpRequest {
        let mut headers = Vec::with_capacity(self.config.headers.len() + 4);
        if body.is_some() {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
            headers.push(("accept".to_owned(), "application/json, text/event-stream".to_owned()));
        }
        if let Some(server) = &self.server {
            headers.push(("mcp-protocol-version".to_owned(), server.protocol_version.clone()));
        }
        if let Some(session) = &self.session_id {
            headers.push(("mcp-session-id".to_owned(), session.clone()));
        }
        headers.extend(self.config.headers.iter().cloned());
        HttpRequest { method: method.to_owned(), url: self.config.url.clone(), headers, body }
    }

    fn send(&mut self, request: HttpRequest, purpose: Purpose) {
        let key = self.next_key;
        self.next_key += 1;
        let session = self.session_id.clone();
        self.exchanges.insert(key, Exchange { purpose, reader: Reader::Head, session });
        self.transmits.push_back(Transmit { key, request, timeout_ms: self.config.timeout_ms });
    }

    /// Handles one body or SSE payload. `body_of` is set for a plain JSON body, whose parse errors fail
    /// the exchange's request; on a stream a malformed event is only a warning.
    fn receive(&mut self, text: &str, body_of: Option<Purpose>) {
        match JsonRpcMessage::parse_all(text) {
            Ok(messages) => {
                for message in messages {
                    self.dispatch(message);
                }
            }
            Err(e) => match body_of {
                Some(purpose) => self.fail_purpose(purpose, format!("malformed JSON-RPC message: {e}")),
                None => self.warn(format!("ignored a malformed message: {e}")),
            },
        }
    }

    fn dispatch(&mut self, message: JsonRpcMessage) {
        match message {
            JsonRpcMessage::Response(JsonRpcResponse { id: Some(RequestId::Number(id)), outcome }) => {
                match self.rpcs.remove(&id) {
                    Some(Rpc::Initialize) => self.on_initialize(outcome),
                    Some(Rpc::Op(op)) => self.on_op_response(op, outcome),
                    None => self.warn(format!("ignored a response to unknown request {id}")),
                }
            }
            JsonRpcMessage::Response(JsonRpcResponse { id, outcome }) => {
                let what = match outcome {
                    Err(e) => format!("error {}: {}", e.code, e.message),
                    Ok(_) => "result".into(),
                };
                let id = match id {
                    Some(RequestId::String(s)) => format!("'{s}'"),
                    Some(RequestId::Number(n)) => n.to_string(),
                    None => "null".to_owned(),
                };
                self.warn(format!("ignored a response with unknown id {id} ({what})"));
            }
            JsonRpcMessage::Request(JsonRpcRequest { id, method, .. }) => {
                let outcome = if method == "ping" {
                    Ok(json!({}))
                } else {
                    Err(JsonRpcError {
                        code: jsonrpc::METHOD_NOT_FOUND,
                        message: format!("Method not found: {method}"),
                        data: None,
                    })
                };
                let request = self.request("POST", Some(jsonrpc::response(&id, outcome)));
                self.send(request, Purpose::Reply);
            }
            JsonRpcMessage::Notification(n) => {
                self.events.push_back(McpEvent::Notification { method: n.method, params: n.params })
            }
        }
    }

    fn on_initialize(&mut self, outcome: Result<Value, JsonRpcError>) {
        let info = match outcome {
            Ok(result) => ServerInfo::from_initialize_result(&result),
            Err(e) => Err(format!("initialize was refused: MCP error {}: {}", e.code, e.message)),
        };
        match info {
            Ok(info) => {
                self.server = Some(info.clone());
                self.events.push_back(McpEvent::Connected(info));
                self.phase = Phase::SendingInitialized;
                let request = self.request("POST", Some(jsonrpc::notification("notifications/initialized", None)));
                self.send(request, Purpose::Initialized);
            }
            Err(message) => self.fail_connection(message),
        }
    }

    fn on_op_response(&mut self, op: OpId, outcome: Result<Value, JsonRpcError>) {
        let result = match outcome {
            Ok(result) => result,
            Err(e) => return self.fail_op(op, format!("MCP error {}: {}", e.code, e.message)),
        };
        self.retried.retain(|r| *r != op);
        match self.ops.remove(&op) {
            Some(Op::CallTool { .. }) if result.is_object() => {
                self.events.push_back(McpEvent::ToolResult { op, result })
            }
            Some(Op::CallTool { .. }) => self
                .events
                .push_back(McpEvent::Failed { op, error: "malformed tools/call result: not an object".into() }),
            Some(Op::ListTools { tools, cursors, pages }) => self.on_tools_page(op, tools, cursors, pages + 1, &result),
            None => {}
        }
    }

    fn on_tools_page(&mut self, op: OpId, mut tools: Vec<Tool>, mut cursors: Vec<String>, pages: u32, result: &Value) {
        let Some(page) = result.get("tools").and_then(Value::as_array) else {
            let error = "malformed tools/list result: \"tools\" must be an array".to_owned();
            return self.events.push_back(McpEvent::Failed { op, error });
        };
        for raw in page {
            match Tool::from_value(raw) {
                _ if tools.len() >= MAX_TOOLS => {
                    self.warn(format!("kept only the first {MAX_TOOLS} tools"));
                    break;
                }
                Ok(tool) if tools.iter().any(|t| t.name == tool.name) => {
                    self.warn(format!("skipped a second tool named '{}'", tool.name))
                }
                Ok(tool) => tools.push(tool),
                Err(e) => self.warn(format!("skipped a malformed tool: {e}")),
            }
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
        self.events.push_back(McpEvent::Tools { op, tools });
    }

    /// The server answered 404 to a request that carried a session id: that session is gone, so the request was
    /// not run. Start a new session (once per operation) and send the request again on it.
    fn retry_on_new_session(&mut self, exchange: &Exchange) -> bool {
        let Purpose::Request(rpc) = exchange.purpose else { return false };
        let Some(Rpc::Op(op)) = self.rpcs.get(&rpc).copied() else { return false };
        if self.retried.contains(&op) || !self.ops.contains_key(&op) {
            return false;
        }
        self.retried.push(op);
        self.rpcs.remove(&rpc);
        if let Some(Op::ListTools { tools, cursors, pages }) = self.ops.get_mut(&op) {
            // Cursors belong to the session that issued them: list again from the start.
            tools.clear();
            cursors.clear();
            *pages = 0;
        }
        if exchange.session == self.session_id && self.phase != Phase::Closed {
            self.warn("the server ended the session (HTTP 404); starting a new session".into());
            self.waiting.push_back(op);
            self.send_initialize();
        } else if self.phase == Phase::Ready {
            self.send_op(op);
        } else {
            self.waiting.push_back(op);
        }
        true
    }

    fn fail_purpose(&mut self, purpose: Purpose, message: String) {
        match purpose {
            Purpose::Request(rpc) => match self.rpcs.remove(&rpc) {
                Some(Rpc::Initialize) => self.fail_connection(message),
                Some(Rpc::Op(op)) => self.fail_op(op, message),
                None => {}
            },
            Purpose::Initialized if self.phase == Phase::SendingInitialized => {
                self.fail_connection(format!("notifications/initialized was refused: {message}"))
            }
            Purpose::Initialized | Purpose::Reply | Purpose::Delete => self.warn(message),
        }
    }

    /// The handshake failed: every waiting operation fails, and the next operation starts a fresh handshake.
    fn fail_connection(&mut self, message: String) {
        if self.phase == Phase::Closed {
            return;
        }
        // Redact while the session id is still known: the server may have repeated it in its error.
        let message = self.redact(&format!("could not connect: {message}"));
        self.phase = Phase::Idle;
        self.session_id = None;
        self.server = None;
        while let Some(op) = self.waiting.pop_front() {
            self.fail_op(op, message.clone());
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

    /// Removes everything secret about this server from `text`: its URL, origin, host, header values and
    /// session id.
    pub fn redact(&self, text: &str) -> String {
        let origin = origin(&self.config.url);
        let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        let mut secrets: Vec<&str> = vec![self.config.url.as_str(), origin, authority];
        // The bare host name too, unless it is too short or too common to mean anything.
        if host.len() >= 4 && host != "localhost" {
            secrets.push(host);
        }
        for (_, value) in &self.config.headers {
            secrets.push(value);
            // The credential alone too (`Bearer abc` → `abc`), in case a server echoes just the token.
            if let Some((_, credential)) = value.split_once(' ') {
                secrets.push(credential.trim());
            }
        }
        secrets.extend(self.session_id.as_deref());
        secrets.retain(|s| s.len() >= 4);
        let mut out = text.to_owned();
        // Longest first, so the whole URL goes before its origin does. (A handful of entries: no sort needed.)
        while let Some(i) = (0..secrets.len()).max_by_key(|&i| secrets[i].len()) {
            out = replace_ignoring_ascii_case(&out, secrets.swap_remove(i), "[redacted]");
        }
        out
    }
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

fn exchange_purpose(exchanges: &VecMap<u64, Exchange>, key: u64) -> Purpose {
    exchanges.get(&key).map(|e| e.purpose).unwrap_or(Purpose::Reply)
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find(['/', '?', '#']) {
        Some(end) => &url[..after_scheme + end],
        None => url,
    }
}

fn error_text(status: u16, body: &BodyBuffer, had_session: bool) -> String {
    let detail = serde_json::from_slice::<Value>(body.bytes())
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.get("message")).and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| body.text_snippet(200));
    let what = match status {
        401 => "the server requires authorization (HTTP 401)".to_owned(),
        403 => "the server refused access (HTTP 403)".to_owned(),
        404 if had_session => "the server no longer knows this session (HTTP 404)".to_owned(),
        _ => format!("HTTP {status}"),
    };
    if detail.is_empty() { what } else { format!("{what}: {detail}") }
}

#[cfg(test)]
mod tests;
