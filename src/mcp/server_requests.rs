//! What a server asks the application: `elicitation/create`, `sampling/createMessage` and `roots/list` as
//! JSON-RPC requests (handshake era) or `input_required` results (stateless revision), `ping`, and the
//! server's notifications.

use super::ops::Op;
use super::requests::Rpc;
use super::{McpClient, McpEvent};
use crate::base::io::{EffectId, OpId};
use crate::wire::jsonrpc::{self, JsonRpcError, JsonRpcRequest, RequestId};
use serde_json::{Value, json};

/// How many of a server's requests (elicitation, sampling, roots) may wait for the application at once.
pub(super) const MAX_OPEN_INPUTS: usize = 32;

#[derive(Debug, Clone)]
pub(super) enum Asker {
    /// A server request (handshake era): answer with a JSON-RPC response.
    Rpc(RequestId),
    /// An `input_required` result (stateless revision): answer by calling again.
    Retry { op: OpId, key: String },
}

#[derive(Debug, Clone)]
pub(super) struct Input {
    pub(super) asker: Asker,
    pub(super) method: String,
    pub(super) params: Value,
}

impl McpClient {
    /// The application's answer to [`McpEvent::InputRequest`] `id`: a result, or a refusal with a message.
    pub fn answer_input(&mut self, id: EffectId, outcome: Result<Value, String>, now_ms: u64) -> bool {
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

    pub(super) fn server_request(&mut self, request: JsonRpcRequest) {
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

    pub(super) fn ask(&mut self, asker: Asker, op: Option<OpId>, method: String, params: Value) {
        let id = self.io.effects.id();
        self.inputs.insert(id, Input { asker, method: method.clone(), params: params.clone() });
        self.events.push_back(McpEvent::InputRequest { id, op, method, params });
    }

    pub(super) fn notification(&mut self, method: String, params: Option<Value>) {
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
                let data = p.and_then(|p| p.get("data")).cloned().unwrap_or(Value::Null);
                let level = text("level").unwrap_or_else(|| "info".into());
                self.events.push_back(McpEvent::Log { level, logger: text("logger"), data });
            }
            "notifications/tools/list_changed" => self.events.push_back(McpEvent::ToolsChanged),
            "notifications/subscriptions/acknowledged" | "notifications/cancelled" => {}
            _ => self.events.push_back(McpEvent::Notification { method, params }),
        }
    }
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
