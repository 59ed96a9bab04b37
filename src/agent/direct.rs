//! Operations without a run: tools listed and called directly (`connectMcp`, `McpConnection`), and single model
//! requests (a durable host that journals each step drives the tool loop itself).

use super::{Driver, Output};
use crate::base::error::{Error, Result};
use crate::base::io::{EffectId, OpId};
use crate::mcp::McpClient;
use crate::model::Span;
use crate::wire::responses::{ModelRequest, ModelResponse};
use serde_json::{Value, json};

impl Driver {
    /// Lists every tool of `server` directly, without a model; ends with [`Output::OpDone`] carrying the
    /// server's `tools` array, verbatim. Returns the operation id.
    pub fn list_tools(&mut self, server: &str, now_ms: u64) -> Result<EffectId> {
        self.direct_op(server, now_ms, |client, op, now| client.list_tools(op, true, now))
    }

    /// Calls a tool of `server` directly (asking for progress, [`Output::OpProgress`]); ends with
    /// [`Output::OpDone`] carrying the `CallToolResult`, verbatim. Returns the operation id.
    pub fn call_tool(&mut self, server: &str, name: &str, arguments: Value, now_ms: u64) -> Result<EffectId> {
        self.direct_op(server, now_ms, |client, op, now| client.call_tool(op, name, arguments, true, now))
    }

    /// Sends one model request (a [`ToolLoop`](crate::tool_loop::ToolLoop)'s `CallModel`) with the endpoint's
    /// headers, timeout and retries, traced as turn `turn` of `trace_id`; ends with [`Output::OpDone`] carrying
    /// `{ response, headers }`: the Response and the endpoint's `x-portkey-*` headers, for the loop's
    /// `handle_model_response`. Returns the operation id.
    pub fn call_model(&mut self, request: &ModelRequest, trace_id: &str, turn: u32, now_ms: u64) -> Result<EffectId> {
        self.now_ms = now_ms;
        if self.closed {
            return Err(Error::cancelled("closed"));
        }
        let op = self.own_op();
        self.direct.push(op.id);
        self.model.send(op, request, &Span { trace_id: trace_id.to_owned(), turn }, now_ms);
        self.pump();
        Ok(op.id)
    }

    /// Cancels direct operation `op`: a server is told, a model request is aborted, and it ends with an error
    /// saying `reason`. `Ok(false)` when it has already ended.
    pub fn cancel_op(&mut self, op: EffectId, reason: &str, now_ms: u64) -> Result<bool> {
        self.now_ms = now_ms;
        let op = OpId { run: 0, id: op };
        if self.model.cancel(op) {
            self.direct_done(op, Err(Error::cancelled(reason)));
        } else if !self.servers.iter_mut().any(|s| s.cancel(op, reason, now_ms)) {
            return self.late(op.id);
        }
        self.pump();
        Ok(true)
    }

    fn direct_op(
        &mut self,
        server: &str,
        now_ms: u64,
        start: impl FnOnce(&mut McpClient, OpId, u64),
    ) -> Result<EffectId> {
        self.now_ms = now_ms;
        if self.closed {
            return Err(Error::cancelled("closed"));
        }
        let index = self.server_index(server).ok_or_else(|| Error::config(format!("no server named '{server}'")))?;
        let op = self.own_op();
        self.direct.push(op.id);
        start(&mut self.servers[index], op, now_ms);
        self.pump();
        Ok(op.id)
    }

    /// A direct model request is over.
    pub(super) fn direct_model_done(&mut self, op: OpId, result: Result<ModelResponse>) {
        let result = result.map(|r| {
            let headers: serde_json::Map<String, Value> =
                r.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            json!({ "response": r.to_value(), "headers": headers })
        });
        self.direct_done(op, result);
    }

    pub(super) fn direct_done(&mut self, op: OpId, result: Result<Value>) {
        if let Some(at) = self.direct.iter().position(|d| *d == op.id) {
            self.direct.swap_remove(at);
            self.out.push_back(Output::OpDone { op: op.id, result });
        }
    }
}
