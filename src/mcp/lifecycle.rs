//! Connecting, being connected, and losing the connection, in both protocol eras.
//!
//! ```text
//!            first operation                 discover result offers 2026-07-28
//!   Idle ──────────────────────► Discovering ───────────────────────────────────► Ready
//!    ▲   (protocol auto/stateless)    │ no stateless revision here                  ▲
//!    │                                ▼                                             │
//!    │   (fixed handshake version) Initializing ──initialize ok──► Announcing ──────┘
//!    │                                │            (notifications/initialized accepted)
//!    └──── failure: every waiting ────┘  a refused POST in `auto`: the legacy HTTP+SSE transport, from Initializing
//!          operation fails; the next one connects again      (close: Closed, from anywhere, for good)
//!
//!   a failure that may heal (a dropped connection, 408, 429, 5xx; not a process's) while connecting:
//!   Backoff, then Idle and a new attempt, while the connection's time lasts
//! ```
//!
//! Connecting has one `timeoutMs` for all its attempts: the probe gets half of what is left, the handshake the
//! rest, so a server that never answers fails the first operation after `timeoutMs`, not twice that.

use super::config::Protocol;
use super::ops::Op;
use super::requests::Rpc;
use super::transport::{Failure, Transport};
use super::{McpClient, McpEvent};
use crate::base::io::OpId;
use crate::base::mix::backoff;
use crate::wire::jsonrpc::JsonRpcError;
use crate::wire::mcp::{LATEST_HANDSHAKE_VERSION, STATELESS_VERSION, ServerInfo};
use serde_json::{Value, json};

/// The wait before reopening a `subscriptions/listen` stream.
const LISTEN_REOPEN_MS: u64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Phase {
    Idle,
    Discovering,
    Initializing,
    /// `notifications/initialized` is out; requests wait until it is accepted.
    Announcing,
    Ready,
    /// An attempt failed in a way that may heal; the next one starts when the backoff ends.
    Backoff,
    Closed,
}

/// A connection being made: when it began, and how many attempts failed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Attempts {
    pub(super) started_ms: u64,
    pub(super) failures: u32,
}

impl McpClient {
    pub(super) fn start(&mut self, id: OpId, op: Op, now_ms: u64) {
        self.io.now_ms = now_ms;
        self.ops.insert(id, op);
        self.run_op(id);
        self.process();
    }

    /// Sends operation `id` once there is a connection, connecting if need be.
    pub(super) fn run_op(&mut self, id: OpId) {
        match self.phase {
            Phase::Closed => self.fail_op(id, "the client is closed".into()),
            Phase::Ready => self.send_op(id),
            Phase::Idle => {
                self.waiting.push_back(id);
                self.connect();
            }
            Phase::Discovering | Phase::Initializing | Phase::Announcing | Phase::Backoff => self.waiting.push_back(id),
        }
    }

    pub(super) fn connect(&mut self) {
        self.connecting.get_or_insert(Attempts { started_ms: self.io.now_ms, failures: 0 });
        let legacy_sse = self.transport.is_legacy_sse();
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

    pub(super) fn set_stateless(&mut self, stateless: bool) {
        self.stateless = stateless;
        self.transport.set_stateless(stateless, stateless.then_some(STATELESS_VERSION));
    }

    pub(super) fn send_initialize(&mut self) {
        self.connecting.get_or_insert(Attempts { started_ms: self.io.now_ms, failures: 0 });
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

    pub(super) fn on_discover(&mut self, outcome: Result<Value, JsonRpcError>) {
        match outcome.ok().as_ref().and_then(ServerInfo::from_discover_result) {
            Some(info) => self.connected(info),
            None => self.discovery_failed(Failure::lasting("the server does not offer protocol 2026-07-28")),
        }
    }

    /// The probe found no stateless revision: speak the handshake, unless the configuration insists.
    pub(super) fn discovery_failed(&mut self, failure: Failure) {
        if self.config.protocol == Protocol::Stateless {
            self.connect_failed(failure);
        } else {
            self.send_initialize();
        }
    }

    pub(super) fn on_initialize(&mut self, outcome: Result<Value, JsonRpcError>) {
        let info = match outcome {
            Ok(result) => ServerInfo::from_initialize_result(&result),
            Err(e) => Err(format!("initialize was refused: MCP error {}: {}", e.code, e.message)),
        };
        match info {
            Ok(info) => {
                self.transport.set_protocol_version(&info.protocol_version);
                // The standalone GET stream carries what the server sends outside any request: list changes,
                // and (from SDK servers) elicitation, sampling and roots requests. Opened now, before anything
                // else, so that it is in place when the first request runs. 405 means the server has none.
                let caps = self.config.capabilities;
                let wanted = info.tools_list_changed() || caps.sampling || caps.elicitation || caps.roots;
                if wanted {
                    self.transport.open_get_stream(&mut self.io);
                }
                self.server = Some(info.clone());
                self.events.push_back(McpEvent::Connected(info));
                self.phase = Phase::Announcing;
                // Nothing else goes out until this is delivered: over HTTP two POSTs may overtake each other.
                self.announce_timer = Some(self.io.timer(self.connect_time_left()));
                self.notify("notifications/initialized", None, true);
            }
            Err(message) => self.fail_connection(message),
        }
    }

    pub(super) fn connected(&mut self, info: ServerInfo) {
        self.connecting = None;
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
    pub(super) fn listen(&mut self) {
        if self.phase == Phase::Ready && self.stateless {
            let params = json!({"notifications": {"toolsListChanged": true}});
            self.send_request(Rpc::Listen, "subscriptions/listen", params, None, Vec::new(), false);
        }
    }

    pub(super) fn listen_later(&mut self) {
        if self.phase == Phase::Ready && self.listen_timer.is_none() {
            self.listen_timer = Some(self.io.timer(LISTEN_REOPEN_MS));
        }
    }

    /// What is left of the connection's time: one `timeoutMs` for every attempt and backoff together.
    pub(super) fn connect_time_left(&self) -> u64 {
        let started = self.connecting.map_or(self.io.now_ms, |a| a.started_ms);
        started.saturating_add(self.config.timeout_ms).saturating_sub(self.io.now_ms)
    }

    /// How long the connection has been in the making.
    pub(super) fn connecting_for(&self) -> u64 {
        self.connecting.map_or(0, |a| self.io.now_ms.saturating_sub(a.started_ms))
    }

    /// A connection attempt failed. One that may heal is made again after a backoff while the connection's time
    /// lasts (not for a process: a new one would fail the same); otherwise every waiting operation fails, told
    /// how many attempts failed.
    pub(super) fn connect_failed(&mut self, failure: Failure) {
        let now = self.io.now_ms;
        let Some(attempts) = self.connecting.as_mut() else { return self.fail_connection(failure.error) };
        attempts.failures += 1;
        let failures = attempts.failures;
        let wait = backoff(failures - 1, now ^ self.next_rpc.unsigned_abs());
        if failure.transient && !self.transport.is_stdio() && wait < self.connect_time_left() {
            self.warn(format!("could not connect ({}); trying again in {wait} ms", failure.error));
            let in_flight = self.reset_connection();
            self.waiting.extend(in_flight);
            self.phase = Phase::Backoff;
            self.connect_retry = Some(self.io.timer(wait));
            return;
        }
        let error = match failures {
            1 => failure.error,
            n => format!("{} ({n} attempts failed in {} ms)", failure.error, self.connecting_for()),
        };
        self.fail_connection(error);
    }

    /// The connection as a whole is gone: everything in flight fails; the next operation reconnects.
    pub(super) fn down(&mut self, failure: Failure) {
        let error = failure.error.clone();
        let rpcs: Vec<i64> = self.pending.keys().copied().collect();
        for rpc in rpcs {
            self.fail_rpc(rpc, failure.clone());
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
        match self.phase {
            Phase::Discovering | Phase::Initializing | Phase::Announcing => self.connect_failed(failure),
            Phase::Ready => self.fail_connection(error),
            Phase::Idle | Phase::Backoff | Phase::Closed => {}
        }
    }

    /// The connection failed: every operation waiting for it fails, and the next operation starts again.
    pub(super) fn fail_connection(&mut self, message: String) {
        if self.phase == Phase::Closed {
            return;
        }
        let message = format!("could not connect: {message}");
        self.phase = Phase::Idle;
        self.connecting = None;
        if let Some(timer) = self.connect_retry.take() {
            self.io.cancel(timer);
        }
        for op in self.reset_connection() {
            self.fail_op(op, message.clone());
        }
        while let Some(op) = self.waiting.pop_front() {
            self.fail_op(op, message.clone());
        }
    }

    /// Lets go of the connection: requests in flight are abandoned (their operations are returned), its timers
    /// stop, and it ends properly (its process reaped, its streams closed, its session deleted); the next
    /// attempt starts a fresh one.
    fn reset_connection(&mut self) -> Vec<OpId> {
        self.server = None;
        let mut ops = Vec::new();
        for (rpc, pending) in self.pending.take() {
            if let Some(timer) = pending.timer {
                self.io.cancel(timer);
            }
            self.transport.abandon(rpc, &mut self.io);
            if let Rpc::Op(op) = pending.kind {
                ops.push(op);
            }
        }
        if let Some(timer) = self.listen_timer.take() {
            self.io.cancel(timer);
        }
        if let Some(timer) = self.announce_timer.take() {
            self.io.cancel(timer);
        }
        self.close_transport();
        self.transport = Transport::new(&self.config, self.transport.is_legacy_sse());
        ops
    }
}

/// True for errors only a server of the stateless revision gives: header mismatch (-32020), a missing client
/// capability (-32021), or invalid params about the `_meta` envelope.
pub(super) fn speaks_stateless(error: Option<&JsonRpcError>) -> bool {
    error.is_some_and(|e| matches!(e.code, -32020 | -32021) || (e.code == -32602 && e.message.contains("_meta")))
}

/// True for the stateless revision's -32022 (unsupported protocol version) when it lists 2026-07-28.
pub(super) fn offers_stateless(error: Option<&JsonRpcError>) -> bool {
    error.is_some_and(|e| {
        e.code == -32022
            && e.data
                .as_ref()
                .and_then(|d| d.get("supported"))
                .and_then(Value::as_array)
                .is_some_and(|v| v.iter().any(|v| v == STATELESS_VERSION))
    })
}

pub(super) fn client_info() -> Value {
    json!({"name": "mcp-loop", "version": env!("CARGO_PKG_VERSION")})
}
