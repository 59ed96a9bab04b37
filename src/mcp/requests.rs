//! JSON-RPC requests in flight: sending them (with the stateless envelope and a timeout), reading what comes
//! back, and ending them: answered, refused, lost, timed out or abandoned.

use super::config::{Endpoint, HttpTransport};
use super::lifecycle::{Phase, client_info, offers_stateless, speaks_stateless};
use super::transport::{Failure, Incoming, Outgoing, Transport};
use super::{McpClient, McpEvent};
use crate::base::io::OpId;
use crate::wire::jsonrpc::{self, JsonRpcError, JsonRpcMessage, JsonRpcResponse, RequestId};
use crate::wire::mcp::STATELESS_VERSION;
use serde_json::{Map, Value, json};

/// Progress resets a request's timeout, but never past this many timeouts in all.
const MAX_TIMEOUTS_WITH_PROGRESS: u64 = 10;
/// At most this many "unsupported protocol version" answers are met by sending again, per connection.
const MAX_VERSION_RETRIES: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Rpc {
    Discover,
    Initialize,
    Op(OpId),
    Listen,
}

#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) kind: Rpc,
    pub(super) timer: Option<crate::base::io::EffectId>,
    pub(super) started_ms: u64,
}

impl McpClient {
    /// Sends a request with a timeout. With `progress`, its id is its progress token. The stateless revision's
    /// envelope goes into `_meta` of every request.
    pub(super) fn send_request(
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
        let timeout = match kind {
            Rpc::Listen => None,
            // The probe gets half of the connection's time: a server that ignores it still gets the handshake.
            Rpc::Discover => Some(self.connect_time_left() / 2),
            Rpc::Initialize => Some(self.connect_time_left()),
            Rpc::Op(_) => Some(self.config.timeout_ms),
        };
        let timer = timeout.map(|ms| self.io.timer(ms));
        self.pending.insert(rpc, Pending { kind, timer, started_ms: self.io.now_ms });
        let body = jsonrpc::request(rpc, method, Some(params));
        let message =
            Outgoing { rpc: Some(rpc), method: method.to_owned(), name, param_headers: headers, body, confirm: false };
        self.transport.send(message, &mut self.io);
        rpc
    }

    /// The stateless revision's `_meta` envelope (empty in the handshake era).
    pub(super) fn envelope(&self) -> Map<String, Value> {
        let mut meta = Map::new();
        if self.stateless {
            meta.insert("io.modelcontextprotocol/protocolVersion".into(), json!(STATELESS_VERSION));
            meta.insert("io.modelcontextprotocol/clientInfo".into(), client_info());
            meta.insert("io.modelcontextprotocol/clientCapabilities".into(), self.config.capabilities.to_json());
        }
        meta
    }

    /// Sends a notification (with the envelope in the stateless revision). `confirm`: report when delivered.
    pub(super) fn notify(&mut self, method: &str, params: Option<Value>, confirm: bool) {
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
    pub(super) fn send_message(&mut self, body: String) {
        let message =
            Outgoing { rpc: None, method: String::new(), name: None, param_headers: Vec::new(), body, confirm: false };
        self.transport.send(message, &mut self.io);
    }

    /// Works through what the transport reported (which may report more while this runs).
    pub(super) fn process(&mut self) {
        self.remember_session();
        while let Some(incoming) = self.io.incoming.pop_front() {
            match incoming {
                Incoming::Message(text) => self.receive(&text),
                Incoming::Refused { rpc, status, error, text } => self.refused(rpc, status, error, text),
                Incoming::Lost { rpc, failure } => self.fail_rpc(rpc, failure),
                Incoming::Unauthorized { rpc, status, challenge } => self.unauthorized(rpc, status, challenge),
                Incoming::SessionGone { rpc, session } => self.session_gone(rpc, &session),
                Incoming::Down(failure) => self.down(failure),
                Incoming::Accepted(Ok(())) if self.phase == Phase::Announcing => {
                    if let Some(timer) = self.announce_timer.take() {
                        self.io.cancel(timer);
                    }
                    let info = self.server.clone();
                    if let Some(info) = info {
                        self.connected(info);
                    }
                }
                Incoming::Accepted(Err(failure)) if self.phase == Phase::Announcing => {
                    let error = format!("notifications/initialized was refused: {}", failure.error);
                    self.connect_failed(Failure { error, ..failure })
                }
                Incoming::Accepted(_) => {}
                Incoming::Warning(message) => self.warn(message),
                Incoming::Stderr(line) => self.events.push_back(McpEvent::Log {
                    level: "stderr".into(),
                    logger: None,
                    data: Value::String(line),
                }),
            }
        }
    }

    pub(super) fn receive(&mut self, text: &str) {
        match JsonRpcMessage::parse_all(text) {
            Ok(messages) => {
                for message in messages {
                    self.dispatch(message);
                }
            }
            Err(e) => self.warn(format!("ignored a malformed message: {e}")),
        }
    }

    pub(super) fn dispatch(&mut self, message: JsonRpcMessage) {
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
    pub(super) fn settle(&mut self, rpc: i64) -> Pending {
        let pending = self.pending.remove(&rpc).unwrap_or(Pending { kind: Rpc::Listen, timer: None, started_ms: 0 });
        if let Some(timer) = pending.timer {
            self.io.cancel(timer);
        }
        self.transport.answered(rpc, &mut self.io);
        pending
    }

    pub(super) fn refused(&mut self, rpc: i64, status: u16, error: Option<JsonRpcError>, text: String) {
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
                self.discovery_failed(Failure::status(status, text));
            }
            // An endpoint that refuses the handshake POST may be a legacy HTTP+SSE server.
            Rpc::Initialize if matches!(status, 400 | 404 | 405) && self.may_fall_back_to_sse() => {
                self.settle(rpc);
                self.warn(format!("the server refused Streamable HTTP ({text}); trying the legacy HTTP+SSE transport"));
                self.transport = Transport::new(&self.config, true);
                self.send_initialize();
            }
            _ => self.fail_rpc(rpc, Failure::status(status, text)),
        }
    }

    pub(super) fn may_fall_back_to_sse(&self) -> bool {
        matches!(self.config.endpoint, Endpoint::Http { transport: HttpTransport::Auto, .. })
            && self.transport.is_streamable_http()
    }

    /// Request `rpc` ended without an answer.
    pub(super) fn fail_rpc(&mut self, rpc: i64, failure: Failure) {
        if !self.pending.contains_key(&rpc) {
            return;
        }
        let pending = self.settle(rpc);
        match pending.kind {
            Rpc::Discover => self.discovery_failed(failure),
            Rpc::Initialize => self.connect_failed(failure),
            Rpc::Op(op) => self.op_failed(op, failure),
            Rpc::Listen => self.listen_later(),
        }
    }

    /// No answer in time. The message tells the real wait: since the request went out (progress may have
    /// extended it), or since connecting began.
    pub(super) fn timed_out(&mut self, rpc: i64) {
        let Some(pending) = self.pending.get(&rpc) else { return };
        let elapsed = match pending.kind {
            Rpc::Discover | Rpc::Initialize if self.connecting.is_some() => self.connecting_for(),
            _ => self.io.now_ms.saturating_sub(pending.started_ms),
        };
        self.abandon(rpc, "timed out");
        self.fail_rpc(rpc, Failure::lasting(format!("request failed: timed out after {elapsed} ms")));
    }

    /// Stops waiting for `rpc` and tells the server: `notifications/cancelled`, or (stateless revision over
    /// HTTP) the closed stream itself.
    pub(super) fn abandon(&mut self, rpc: i64, reason: &str) {
        self.transport.abandon(rpc, &mut self.io);
        let http_stateless = self.stateless && !self.transport.is_stdio();
        let initialize = self.pending.get(&rpc).is_some_and(|p| p.kind == Rpc::Initialize);
        if !http_stateless && !initialize {
            self.notify("notifications/cancelled", Some(json!({"requestId": rpc, "reason": reason})), false);
        }
    }

    /// Progress: the request's timeout starts again, within the overall cap.
    pub(super) fn rearm(&mut self, rpc: i64) {
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
}
