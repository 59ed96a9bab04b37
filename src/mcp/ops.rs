//! The client's operations: a tool listing (every page) and a tool call (with the stateless revision's
//! `input_required` rounds), from start to result or failure.

use super::requests::Rpc;
use super::server_requests::Asker;
use super::transport::Failure;
use super::{McpClient, McpEvent};
use crate::base::io::OpId;
use crate::base::json::object;
use crate::base::mix::backoff;
use crate::wire::jsonrpc::JsonRpcError;
use crate::wire::mcp::{Tool, param_headers};
use serde_json::{Map, Value, json};

/// At most this many `tools/list` pages are followed.
pub(super) const MAX_PAGES: u32 = 100;
/// At most this many tools are kept from one server.
pub(super) const MAX_TOOLS: usize = 10_000;
/// At most this many `input_required` rounds for one call.
pub(super) const MAX_INPUT_ROUNDS: u32 = 16;

#[derive(Debug, Clone)]
pub(super) enum Op {
    ListTools(Box<Listing>),
    CallTool(Box<Call>),
}

/// A listing under way: the tools so far, each also as sent (when asked for), the cursors followed, and its
/// failed attempts.
#[derive(Debug, Clone, Default)]
pub(super) struct Listing {
    pub(super) tools: Vec<Tool>,
    pub(super) verbatim: Option<Vec<Value>>,
    pub(super) cursors: Vec<String>,
    pub(super) pages: u32,
    pub(super) started_ms: u64,
    pub(super) failures: u32,
}

impl Listing {
    /// Back to the first page (cursors belong to the session that issued them).
    pub(super) fn restart(&mut self) {
        self.tools.clear();
        self.verbatim.iter_mut().for_each(Vec::clear);
        self.cursors.clear();
        self.pages = 0;
    }
}

#[derive(Debug, Clone)]
pub(super) struct Call {
    pub(super) name: String,
    pub(super) arguments: Value,
    pub(super) progress: bool,
    /// Stateless revision, `input_required`: how many rounds there were (a call with rounds carries
    /// `inputResponses`), the opaque state to echo (only when the server sent one), the answers so far, and
    /// the keys still awaited.
    pub(super) rounds: u32,
    pub(super) request_state: Option<Value>,
    pub(super) responses: Map<String, Value>,
    pub(super) awaiting: Vec<String>,
}

impl McpClient {
    /// Lists every tool (following `nextCursor`) as operation `op`; with `verbatim`, each is also kept exactly
    /// as the server sent it. Completes with [`McpEvent::Tools`] or [`McpEvent::Failed`].
    pub fn list_tools(&mut self, op: OpId, verbatim: bool, now_ms: u64) {
        let listing = Listing { verbatim: verbatim.then(Vec::new), started_ms: now_ms, ..Listing::default() };
        self.start(op, Op::ListTools(Box::new(listing)), now_ms)
    }

    /// Calls a tool as operation `op`; with `progress`, the server is asked for progress notifications.
    /// Completes with [`McpEvent::ToolResult`] or [`McpEvent::Failed`].
    pub fn call_tool(&mut self, op: OpId, name: &str, arguments: Value, progress: bool, now_ms: u64) {
        let call = Call {
            name: name.to_owned(),
            arguments,
            progress,
            rounds: 0,
            request_state: None,
            responses: Map::new(),
            awaiting: Vec::new(),
        };
        self.start(op, Op::CallTool(Box::new(call)), now_ms)
    }

    /// Cancels an operation: the server is told, and the operation fails with `reason`. Returns whether `op` was
    /// one of this client's operations.
    pub fn cancel(&mut self, op: OpId, reason: &str, now_ms: u64) -> bool {
        if !self.ops.contains_key(&op) {
            return false;
        }
        self.io.now_ms = now_ms;
        let rpc = self.pending.iter().find(|(_, p)| p.kind == Rpc::Op(op)).map(|(rpc, _)| *rpc);
        if let Some(rpc) = rpc {
            self.abandon(rpc, reason);
            self.settle(rpc);
        }
        self.waiting.retain(|w| *w != op);
        self.fail_op(op, format!("cancelled: {reason}"));
        self.process();
        true
    }

    pub(super) fn send_op(&mut self, op: OpId) {
        let (method, params, name, headers) = match self.ops.get(&op) {
            Some(Op::ListTools(listing)) => {
                let params = listing.cursors.last().map_or_else(|| json!({}), |c| json!({ "cursor": c }));
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

    pub(super) fn on_op_response(&mut self, op: OpId, outcome: Result<Value, JsonRpcError>) {
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
                self.events.push_back(McpEvent::ToolResult { op, result });
            }
            Some(Op::CallTool(_)) => self.fail_op(op, "malformed tools/call result: not an object".into()),
            Some(Op::ListTools { .. }) => self.on_tools_page(op, result),
            None => {}
        }
    }

    /// Stateless revision: the server needs answers before it can complete the call. Ask the application for
    /// each, then call again with them and the server's `requestState` echoed exactly.
    pub(super) fn input_required(&mut self, op: OpId, result: &Value) {
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

    pub(super) fn on_tools_page(&mut self, op: OpId, mut result: Value) {
        let Some(Value::Array(page)) = result.get_mut("tools").map(Value::take) else {
            return self.fail_op(op, "malformed tools/list result: \"tools\" must be an array".into());
        };
        let Some(Op::ListTools(mut listing)) = self.ops.remove(&op) else { return };
        listing.pages += 1;
        let Listing { tools, verbatim, cursors, pages, .. } = &mut *listing;
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
            let copy = verbatim.is_some().then(|| raw.clone());
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
                    verbatim.iter_mut().zip(copy).for_each(|(v, copy)| v.push(copy));
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
            Some(_) if *pages >= MAX_PAGES => self.warn(format!("stopped listing tools after {MAX_PAGES} pages")),
            Some(cursor) if tools.len() < MAX_TOOLS => {
                cursors.push(cursor.to_owned());
                self.ops.insert(op, Op::ListTools(listing));
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
        let Listing { tools, verbatim, .. } = *listing;
        self.events.push_back(McpEvent::Tools { op, tools, verbatim: verbatim.unwrap_or_default(), ttl_ms });
    }

    /// An operation's request failed. A listing is sent again after a backoff when the failure may heal, while
    /// its `timeoutMs` lasts (it changes nothing); a call is not (it may have run), and fails.
    pub(super) fn op_failed(&mut self, op: OpId, failure: Failure) {
        let (now, timeout) = (self.io.now_ms, self.config.timeout_ms);
        let mut error = failure.error;
        if let Some(Op::ListTools(listing)) = self.ops.get_mut(&op) {
            listing.failures += 1;
            let wait = backoff(listing.failures - 1, now ^ op.id.get());
            let (failures, elapsed) = (listing.failures, now.saturating_sub(listing.started_ms));
            if failure.transient && elapsed.saturating_add(wait) < timeout {
                self.warn(format!("listing tools failed ({error}); trying again in {wait} ms"));
                let timer = self.io.timer(wait);
                self.op_retries.insert(timer, op);
                return;
            }
            if failures > 1 {
                error = format!("{error} ({failures} attempts failed in {elapsed} ms)");
            }
        }
        self.fail_op(op, error);
    }

    pub(super) fn fail_op(&mut self, op: OpId, message: String) {
        self.retried.retain(|r| *r != op);
        if self.ops.remove(&op).is_some() {
            self.events.push_back(McpEvent::Failed { op, error: message });
        }
    }
}
