//! The one definition of every JSON text hosts outside Rust read (the JS host through the wasm bindings, and the
//! CLI): the agent's outputs, the tool loop's outputs, and failures.

use crate::agent::Output;
use crate::base::error::Error;
use crate::base::json::text;
use crate::tool_loop::{LoopEffect, LoopOutput};
use serde_json::json;

impl Error {
    /// The members a failed run or operation carries in the JSON hosts receive: `"error":{code,…},"text":"…"`.
    pub(crate) fn json_members(&self) -> String {
        format!(r#""error":{},"text":{}"#, text(self), text(&self.to_string()))
    }
}

impl Output {
    /// The JSON text hosts outside Rust receive: `{"type": "http" | "stdio" | "timer" | "cancel" | "event" |
    /// "inputRequest" | "done" | "opDone" | "opProgress" | "wait" | "idle", …}`; a finished run or operation
    /// carries `result`, or `error` (with its `code`) and its `text`.
    pub fn to_text(&self) -> String {
        match self {
            Output::Effect(effect) => text(effect),
            Output::Event { run, event } => {
                format!(r#"{{"type":"event","run":{},"event":{}}}"#, text(run), text(event))
            }
            Output::InputRequest { id, server, run, method, params } => text(
                &json!({"type": "inputRequest", "id": id, "server": server, "run": run, "method": method, "params": params}),
            ),
            Output::Snapshot { run, snapshot } => {
                format!(r#"{{"type":"snapshot","run":{run},"snapshot":{}}}"#, text(snapshot))
            }
            Output::Done { run, result: Ok(result) } => {
                format!(r#"{{"type":"done","run":{run},"result":{}}}"#, text(result))
            }
            Output::Done { run, result: Err(error) } => {
                format!(r#"{{"type":"done","run":{run},{}}}"#, error.json_members())
            }
            Output::OpDone { op, result: Ok(result) } => {
                format!(r#"{{"type":"opDone","op":{op},"result":{}}}"#, text(result))
            }
            Output::OpDone { op, result: Err(error) } => {
                format!(r#"{{"type":"opDone","op":{op},{}}}"#, error.json_members())
            }
            Output::OpProgress { op, progress, total, message } => {
                text(&json!({"type": "opProgress", "op": op, "progress": progress, "total": total, "message": message}))
            }
            Output::Wait => r#"{"type":"wait"}"#.to_owned(),
            Output::Idle => r#"{"type":"idle"}"#.to_owned(),
        }
    }
}

impl LoopOutput {
    /// The JSON text hosts outside Rust receive: an effect (`{"type": "callModel" | "callTool" | "cancel", …}`),
    /// `{"type": "event", "event"}`, `{"type": "paused", "pending"}`, `{"type": "done", "result"}` (or `"error"`
    /// with its `code`, and `"text"`) or `{"type": "wait"}`.
    pub fn to_text(self) -> String {
        match self {
            LoopOutput::Effect(LoopEffect::CallModel { id, request }) => {
                format!(r#"{{"type":"callModel","id":{id},"request":{}}}"#, request.to_text())
            }
            LoopOutput::Effect(effect) => text(&effect),
            LoopOutput::Event(event) => format!(r#"{{"type":"event","event":{}}}"#, text(&event)),
            LoopOutput::Paused(pending) => format!(r#"{{"type":"paused","pending":{}}}"#, text(&pending)),
            LoopOutput::Done(Ok(result)) => format!(r#"{{"type":"done","result":{}}}"#, text(&result)),
            LoopOutput::Done(Err(error)) => {
                format!(r#"{{"type":"done",{}}}"#, error.json_members())
            }
            LoopOutput::Wait => r#"{"type":"wait"}"#.to_owned(),
        }
    }
}
