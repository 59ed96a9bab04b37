//! The one definition of every JSON text hosts outside Rust read (the JS host through the wasm bindings, and the
//! CLI): the agent's outputs, the tool loop's outputs, and failures. Each output is an object with a `type`; a
//! finished run or operation carries `result`, or `error` (with its `code`) and its `text`.

use crate::agent::Output;
use crate::base::error::Error;
use crate::base::json::text;
use crate::tool_loop::{LoopEffect, LoopOutput};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// `"result": …`, or `"error": {code, …}, "text": "…"` for a failure.
fn outcome<M: SerializeMap, T: Serialize>(map: &mut M, outcome: &Result<T, Error>) -> Result<(), M::Error> {
    match outcome {
        Ok(result) => map.serialize_entry("result", result),
        Err(error) => {
            map.serialize_entry("error", error)?;
            map.serialize_entry("text", &error.to_string())
        }
    }
}

impl Serialize for Output {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Output::Effect(effect) = self {
            return effect.serialize(serializer);
        }
        let mut map = serializer.serialize_map(None)?;
        match self {
            Output::Effect(_) => {}
            Output::Event { run, event } => {
                map.serialize_entry("type", "event")?;
                map.serialize_entry("run", run)?;
                map.serialize_entry("event", event)?;
            }
            Output::InputRequest { id, server, run, method, params } => {
                map.serialize_entry("type", "inputRequest")?;
                map.serialize_entry("id", id)?;
                map.serialize_entry("server", server)?;
                map.serialize_entry("run", run)?;
                map.serialize_entry("method", method)?;
                map.serialize_entry("params", params)?;
            }
            Output::ApprovalRequest { id, run, call } => {
                map.serialize_entry("type", "approvalRequest")?;
                map.serialize_entry("id", id)?;
                map.serialize_entry("run", run)?;
                map.serialize_entry("call", call)?;
            }
            Output::HeadersRequest { id, server } => {
                map.serialize_entry("type", "headersRequest")?;
                map.serialize_entry("id", id)?;
                map.serialize_entry("server", server)?;
            }
            Output::SignRequest { id, server, input } => {
                map.serialize_entry("type", "signRequest")?;
                map.serialize_entry("id", id)?;
                map.serialize_entry("server", server)?;
                map.serialize_entry("input", input)?;
            }
            Output::AuthState { server, state } => {
                map.serialize_entry("type", "authState")?;
                map.serialize_entry("server", server)?;
                map.serialize_entry("state", state)?;
            }
            Output::AuthorizeRequest { id, server, url } => {
                map.serialize_entry("type", "authorizeRequest")?;
                map.serialize_entry("id", id)?;
                map.serialize_entry("server", server)?;
                map.serialize_entry("url", url)?;
            }
            Output::Snapshot { run, snapshot } => {
                map.serialize_entry("type", "snapshot")?;
                map.serialize_entry("run", run)?;
                map.serialize_entry("snapshot", snapshot)?;
            }
            Output::Done { run, result } => {
                map.serialize_entry("type", "done")?;
                map.serialize_entry("run", run)?;
                outcome(&mut map, result)?;
            }
            Output::OpDone { op, result } => {
                map.serialize_entry("type", "opDone")?;
                map.serialize_entry("op", op)?;
                outcome(&mut map, result)?;
            }
            Output::OpProgress { op, progress, total, message } => {
                map.serialize_entry("type", "opProgress")?;
                map.serialize_entry("op", op)?;
                map.serialize_entry("progress", progress)?;
                map.serialize_entry("total", total)?;
                map.serialize_entry("message", message)?;
            }
            Output::Wait => map.serialize_entry("type", "wait")?,
            Output::Idle => map.serialize_entry("type", "idle")?,
        }
        map.end()
    }
}

impl Output {
    /// The JSON text hosts outside Rust receive: `{"type": "http" | "stdio" | "timer" | "cancel" | "event" |
    /// "inputRequest" | "approvalRequest" | "headersRequest" | "authorizeRequest" | "signRequest" | "authState" | "snapshot" | "done" | "opDone" | "opProgress" |
    /// "wait" | "idle", …}`.
    pub fn to_text(&self) -> String {
        text(self)
    }
}

impl Serialize for LoopOutput {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let LoopOutput::Effect(effect) = self {
            return effect.serialize(serializer);
        }
        let mut map = serializer.serialize_map(None)?;
        match self {
            LoopOutput::Effect(_) => {}
            LoopOutput::Event(event) => {
                map.serialize_entry("type", "event")?;
                map.serialize_entry("event", event)?;
            }
            LoopOutput::Paused(pending) => {
                map.serialize_entry("type", "paused")?;
                map.serialize_entry("pending", pending)?;
            }
            LoopOutput::Done(result) => {
                map.serialize_entry("type", "done")?;
                outcome(&mut map, result)?;
            }
            LoopOutput::Wait => map.serialize_entry("type", "wait")?,
        }
        map.end()
    }
}

impl LoopOutput {
    /// The JSON text hosts outside Rust receive: an effect (`{"type": "callModel" | "callTool" | "cancel", …}`),
    /// `{"type": "event", "event"}`, `{"type": "paused", "pending"}`, `{"type": "done", "result"}` (or `"error"`
    /// and `"text"`) or `{"type": "wait"}`.
    pub fn to_text(&self) -> String {
        // A request is mostly its tools, the same every turn: their text is made once, with the catalog, and a
        // request's text embeds it (`ModelRequest::to_text`) instead of serialising them again each turn. (serde
        // can only embed text with serde_json's `raw_value`, which costs 17 KB of gzipped wasm.)
        if let LoopOutput::Effect(LoopEffect::CallModel { id, request }) = self {
            return format!(r#"{{"type":"callModel","id":{id},"request":{}}}"#, request.to_text());
        }
        text(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::io::{Effect, EffectId, Owner};
    use crate::event::{Event, PendingCall, RunResult, RunStatus};
    use crate::wire::responses::{ModelRequest, ToolList};
    use serde_json::{Value, json};
    use std::sync::Arc;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn parsed(text: String) -> Value {
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn every_agent_output_is_one_typed_object() {
        let id = EffectId::new(Owner::Agent, 1);
        let call = PendingCall {
            call_id: "c1".into(),
            name: "s__t".into(),
            server: "s".into(),
            tool: "t".into(),
            arguments: json!({"a": 1}),
            annotations: None,
        };
        let cases = [
            (Output::Wait, json!({"type": "wait"})),
            (Output::Idle, json!({"type": "idle"})),
            (Output::Effect(Effect::Cancel { id }), json!({"type": "cancel", "id": id.get()})),
            (
                Output::Event { run: None, event: Event::ToolsChanged { server: "s".into() } },
                json!({"type": "event", "run": null, "event": {"type": "toolsChanged", "server": "s"}}),
            ),
            (
                Output::InputRequest {
                    id,
                    server: "s".into(),
                    run: Some(2),
                    method: "roots/list".into(),
                    params: json!({}),
                },
                json!({"type": "inputRequest", "id": id.get(), "server": "s", "run": 2, "method": "roots/list", "params": {}}),
            ),
            (
                Output::ApprovalRequest { id, run: 2, call },
                json!({"type": "approvalRequest", "id": id.get(), "run": 2,
                    "call": {"callId": "c1", "name": "s__t", "server": "s", "tool": "t", "arguments": {"a": 1}}}),
            ),
            (
                Output::HeadersRequest { id, server: "s".into() },
                json!({"type": "headersRequest", "id": id.get(), "server": "s"}),
            ),
            (
                Output::Snapshot { run: 3, snapshot: json!({"format": "mcp-loop/run"}) },
                json!({"type": "snapshot", "run": 3, "snapshot": {"format": "mcp-loop/run"}}),
            ),
            (
                Output::OpDone { op: id, result: Err(Error::mcp("s", "gone")) },
                json!({"type": "opDone", "op": id.get(), "error": {"code": "mcp", "server": "s", "message": "gone"},
                    "text": "MCP server 's': gone"}),
            ),
            (
                Output::OpProgress { op: id, progress: 1.0, total: None, message: None },
                json!({"type": "opProgress", "op": id.get(), "progress": 1.0, "total": null, "message": null}),
            ),
        ];
        for (output, expected) in cases {
            assert_eq!(parsed(output.to_text()), expected);
        }
        let done = Output::Done { run: 4, result: Ok(RunResult::new(RunStatus::Completed)) };
        let done = parsed(done.to_text());
        assert_eq!((done["type"].as_str(), done["run"].as_u64()), (Some("done"), Some(4)));
        assert_eq!(done["result"]["status"], "completed");
    }

    #[test]
    fn loop_outputs_carry_the_request_with_its_tools_text() {
        let tools = Arc::new(ToolList::new(&[json!({"type": "function", "name": "a"})]));
        let request = ModelRequest { fields: json!({"model": "m"}).as_object().unwrap().clone(), tools };
        let id = EffectId::new(Owner::Loop, 1);
        let call = LoopOutput::Effect(LoopEffect::CallModel { id, request });
        assert_eq!(
            parsed(call.to_text()),
            json!({"type": "callModel", "id": id.get(), "request": {"model": "m", "tools": [{"type": "function", "name": "a"}]}})
        );
        let failed = LoopOutput::Done(Err(Error::model(Some(401), "bad key")));
        assert_eq!(
            parsed(failed.to_text()),
            json!({"type": "done", "error": {"code": "model", "status": 401, "message": "bad key"},
                "text": "model request failed (HTTP 401): bad key"})
        );
        assert_eq!(parsed(LoopOutput::Wait.to_text()), json!({"type": "wait"}));
    }
}
