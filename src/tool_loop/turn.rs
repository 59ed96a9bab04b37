//! One turn: the model's response read, its calls routed and checked (unknown tools, arguments that do not
//! parse or fit, the per-turn limit, approval), started within each server's concurrency, and their outputs
//! sent back as the next request.

use super::state::{Call, CallState, Phase, Route, record, set_output, started};
use super::{Approve, Continuation, LoopEffect, LoopOutput, ToolLoop, loop_id};
use crate::base::error::Error;
use crate::base::json::object;
use crate::base::text::cap_chars;
use crate::content::ToolOutput;
use crate::event::{Event, RunStatus, ToolCallRecord, TurnRecord};
use crate::schema;
use crate::wire::responses::{FunctionCall, ModelRequest, ModelResponse};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The most of a model-chosen name repeated in messages.
const MAX_ECHOED_CHARS: usize = 100;

impl ToolLoop {
    // ---- internals ----

    pub(super) fn take_response(&mut self, response: ModelResponse) {
        self.state.usage.add(response.usage.as_ref());
        self.state.turn_details.push(TurnRecord {
            turn: self.state.turn,
            response_id: response.id.clone(),
            headers: response.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect(),
        });
        if self.keeps_history() {
            // A call that reuses the id of one answered in an earlier turn is refused and left out of the history,
            // which never holds two outputs for one call.
            let fresh = response.output.iter().filter(|item| !self.answered_before(item));
            let fresh: Vec<Value> = fresh.cloned().collect();
            self.state.history.extend(fresh);
        }
        let (calls, unanswerable) = response.function_calls();
        self.out.push_back(LoopOutput::Event(Event::TurnCompleted {
            turn: self.state.turn,
            response_id: response.id.clone(),
            tool_calls: calls.len(),
            text: response.output_text(),
        }));
        for name in unanswerable {
            let name = cap_chars(&name, MAX_ECHOED_CHARS);
            self.warn(format!("the model sent a function call without call_id (name '{name}'); it cannot be answered"));
        }
        match response.status.as_str() {
            "completed" => {}
            "incomplete" => return self.finish_with(RunStatus::Incomplete, response),
            "failed" => {
                let message = response.error.unwrap_or_else(|| "the response failed without an error message".into());
                return self.finish(Err(Error::model(None, message)));
            }
            other => {
                let message = format!("unexpected response status '{other}'");
                return self.finish(Err(Error::model(None, message)));
            }
        }
        if calls.is_empty() {
            return self.finish_with(RunStatus::Completed, response);
        }
        if self.state.turn >= self.config.max_turns {
            // The calls the model asked for last are in the result, not run.
            let turn = self.state.turn;
            let asked = calls.into_iter().map(|fc| self.routed(fc, CallState::Ready)).map(|c| record(turn, c));
            let asked: Vec<ToolCallRecord> = asked.collect();
            self.state.records.extend(asked);
            return self.finish_with(RunStatus::MaxTurns, response);
        }
        self.start_tools(response.id, calls);
    }

    pub(super) fn start_tools(&mut self, response_id: String, model_calls: Vec<FunctionCall>) {
        let mut calls: Vec<Call> = Vec::with_capacity(model_calls.len());
        let limit = self.config.max_tool_calls_per_turn.map_or(usize::MAX, |n| n as usize);
        for fc in model_calls {
            if calls.iter().any(|c| c.call_id == fc.call_id) {
                self.warn(format!("the model repeated call_id '{}'; only the first call runs", fc.call_id));
                continue;
            }
            if self.state.records.iter().any(|r| r.call_id == fc.call_id) {
                let message = format!(
                    "call_id '{}' was answered in an earlier turn: this call was not run (give each call a new id)",
                    cap_chars(&fc.call_id, MAX_ECHOED_CHARS)
                );
                let mut call = self.routed(fc, CallState::Awaiting);
                self.out.push_back(LoopOutput::Event(started(&call)));
                let event = set_output(&mut call, ToolOutput::error(&message), self.now_ms);
                self.out.push_back(LoopOutput::Event(event));
                calls.push(call);
                continue;
            }
            let catalog = Arc::clone(&self.catalog);
            let target = catalog.resolve(&fc.name);
            // What the server gets: the model's arguments without the nulls strict mode asked for, checked
            // against the tool's own schema. A call that goes nowhere keeps the model's arguments in the record.
            let (arguments, problem) = match (target, parse_arguments(&fc.arguments)) {
                (Some(t), Ok(model)) => {
                    let sent = t.server_arguments(model.clone());
                    match self.config.validate_arguments.then(|| schema::validate::validate(&sent, t.input_schema())) {
                        Some(Err(problem)) => {
                            (model, Some(format!("do not fit its schema: {problem}; send them again")))
                        }
                        _ => (sent, None),
                    }
                }
                (None, Ok(model)) => (model, None),
                (_, Err(problem)) => (Value::String(fc.arguments.clone()), Some(problem)),
            };
            let route = target.map(Route::of);
            let failure = match (target, problem) {
                _ if calls.len() >= limit => Some(format!(
                    "not run: at most {limit} tool calls are allowed in one turn; make the others in a later turn"
                )),
                (None, _) => Some(self.unknown_tool_message(&fc.name)),
                (Some(_), Some(problem)) => Some(format!("the arguments for '{}' {problem}", fc.name)),
                (Some(t), None) if self.needs_approval(t) => None,
                (Some(_), None) => {
                    calls.push(Call { call_id: fc.call_id, name: fc.name, route, arguments, state: CallState::Ready });
                    continue;
                }
            };
            let mut call = Call { call_id: fc.call_id, name: fc.name, route, arguments, state: CallState::Awaiting };
            if let Some(message) = failure {
                self.out.push_back(LoopOutput::Event(started(&call)));
                let event = set_output(&mut call, ToolOutput::error(&message), self.now_ms);
                self.out.push_back(LoopOutput::Event(event));
            }
            calls.push(call);
        }
        self.state.phase = Phase::Tools { response_id, calls, paused: false };
        self.progress();
    }

    pub(super) fn needs_approval(&self, tool: &schema::CatalogTool) -> bool {
        let policy = self.config.server(&tool.server).and_then(|s| s.approve).unwrap_or(self.config.approve);
        match policy {
            Approve::Never => false,
            Approve::Always | Approve::Host => true,
            Approve::Destructive => tool.destructive(),
        }
    }

    /// Starts the calls that may start, then continues: the next model turn once every call has its output,
    /// or a pause when only decisions are missing.
    pub(super) fn progress(&mut self) {
        let mut effects = Vec::new();
        let mut next_effect = self.state.next_effect;
        let Phase::Tools { response_id, calls, .. } = &mut self.state.phase else { return };
        // Calls running per server, counted once (a turn may hold many calls).
        let mut running: Vec<(String, usize)> = Vec::new();
        for route in
            calls.iter().filter(|c| matches!(c.state, CallState::Running { .. })).filter_map(|c| c.route.as_ref())
        {
            *running_on(&mut running, &route.server) += 1;
        }
        for call in calls.iter_mut() {
            let Some(route) = call.route.as_ref().filter(|_| call.state == CallState::Ready) else { continue };
            let count = running_on(&mut running, &route.server);
            if *count >= self.config.concurrency(&route.server) {
                continue;
            }
            *count += 1;
            let effect = next_effect;
            next_effect += 1;
            let (server, tool) = (route.server.clone(), route.tool.clone());
            let retry_if_interrupted = self.config.inflight.retries(route.retry_safe);
            call.state = CallState::Running { effect, started_ms: Some(self.now_ms) };
            effects.push(LoopOutput::Event(started(call)));
            effects.push(LoopOutput::Effect(LoopEffect::CallTool {
                id: loop_id(effect),
                call_id: call.call_id.clone(),
                server,
                tool,
                arguments: call.arguments.clone(),
                retry_if_interrupted,
            }));
        }
        let open = calls.iter().any(|c| !matches!(c.state, CallState::Done { .. }));
        let response_id = response_id.clone();
        self.state.next_effect = next_effect;
        self.out.extend(effects);
        if !open {
            self.next_turn(response_id);
        }
    }

    /// Every call has its output: record them and give them to the model.
    pub(super) fn next_turn(&mut self, response_id: String) {
        let Phase::Tools { calls, .. } = std::mem::replace(&mut self.state.phase, Phase::Done) else { return };
        let outputs: Vec<Value> = calls
            .iter()
            .map(|c| {
                let output = match &c.state {
                    CallState::Done { output, .. } => output.clone(),
                    _ => Value::Null,
                };
                object([
                    ("type", "function_call_output".into()),
                    ("call_id", c.call_id.as_str().into()),
                    ("output", output),
                ])
            })
            .collect();
        if self.keeps_history() {
            let fresh = outputs.iter().filter(|o| !self.answered_before(o)).cloned().collect::<Vec<_>>();
            self.state.history.extend(fresh);
        }
        let turn = self.state.turn;
        self.state.records.extend(calls.into_iter().map(|c| record(turn, c)));
        self.send_model(Value::Array(outputs), Some(response_id), true);
    }

    /// Whether `item` (a function call or its output) belongs to a call answered in an earlier turn.
    fn answered_before(&self, item: &Value) -> bool {
        let Some(call_id) = item.get("call_id").and_then(Value::as_str) else { return false };
        let kind = item.get("type").and_then(Value::as_str);
        matches!(kind, Some("function_call" | "function_call_output"))
            && self.state.records.iter().any(|r| r.call_id == call_id)
    }

    /// A call of the model with its route (when its tool is known) and its arguments as the model sent them.
    fn routed(&self, fc: FunctionCall, state: CallState) -> Call {
        let route = self.catalog.resolve(&fc.name).map(Route::of);
        let arguments = parse_arguments(&fc.arguments).unwrap_or(Value::String(fc.arguments));
        Call { call_id: fc.call_id, name: fc.name, route, arguments, state }
    }

    pub(super) fn call_model(&mut self, input: Value, previous: Option<String>) {
        if self.keeps_history() {
            match &input {
                Value::String(text) => self.state.history.push(json!({"role": "user", "content": text})),
                Value::Array(items) => self.state.history.extend(items.iter().cloned()),
                _ => {}
            }
        }
        self.send_model(input, previous, true);
    }

    /// Sends the request for `input` (new items after `previous`), as this run continues conversations.
    pub(super) fn send_model(&mut self, input: Value, previous: Option<String>, announce: bool) {
        self.state.turn += 1;
        let id = self.effect_id();
        let request = self.request(&input, previous.as_deref());
        self.state.phase = Phase::Model { effect: id, input, previous };
        if announce {
            self.out.push_back(LoopOutput::Event(Event::TurnStarted { turn: self.state.turn }));
        }
        self.out.push_back(LoopOutput::Effect(LoopEffect::CallModel { id: loop_id(id), request }));
    }

    /// The request for `input` (new items after `previous`), with the current catalog's tools.
    pub(super) fn request(&self, input: &Value, previous: Option<&str>) -> ModelRequest {
        let mut request = Map::new();
        request.insert("model".into(), json!(self.config.model));
        if let Some(instructions) = &self.config.instructions {
            request.insert("instructions".into(), json!(instructions));
        }
        if self.state.replaying {
            request.insert("input".into(), Value::Array(self.state.history.clone()));
            request.insert("store".into(), json!(false));
        } else {
            request.insert("input".into(), input.clone());
            if let Some(previous) = previous {
                request.insert("previous_response_id".into(), json!(previous));
            }
        }
        if self.config.stream {
            request.insert("stream".into(), json!(true));
        }
        for (k, v) in &self.config.model_settings {
            request.insert(k.clone(), v.clone());
        }
        if self.keeps_history() {
            // Reasoning items can only be replayed with their encrypted content: ask for it from the first turn
            // on, since `auto` may have to switch to replaying later.
            let include = request.entry("include").or_insert_with(|| json!([]));
            if let Value::Array(list) = include {
                if !list.iter().any(|v| v == "reasoning.encrypted_content") {
                    list.push(json!("reasoning.encrypted_content"));
                }
            }
        }
        ModelRequest { fields: request, tools: self.catalog.functions().clone() }
    }

    /// The history is kept while it may be replayed (a restored run that replays keeps replaying).
    pub(super) fn keeps_history(&self) -> bool {
        self.config.continuation != Continuation::PreviousResponseId || self.state.replaying
    }

    pub(super) fn unknown_tool_message(&self, name: &str) -> String {
        let mut names: Vec<&str> = self.catalog.tools().iter().map(|t| t.function.name.as_str()).take(20).collect();
        if self.catalog.tools().len() > names.len() {
            names.push("…");
        }
        let name = cap_chars(name, MAX_ECHOED_CHARS);
        format!("there is no tool named '{name}'. Available tools: {}", names.join(", "))
    }
}

/// Whether a model error says the endpoint cannot continue from a stored response.
pub(super) fn stored_unavailable(error: &Error) -> bool {
    let Error::Model { status: Some(400 | 404 | 422 | 501), message } = error else { return false };
    let message = message.to_ascii_lowercase();
    message.contains("previous_response_id") || message.contains("previous response")
}

/// The count of calls running on `server`, in a list of a few servers.
fn running_on<'a>(running: &'a mut Vec<(String, usize)>, server: &str) -> &'a mut usize {
    let i = match running.iter().position(|(s, _)| s == server) {
        Some(i) => i,
        None => {
            running.push((server.to_owned(), 0));
            running.len() - 1
        }
    };
    &mut running[i].1
}

/// Parses the model's argument string; the error says what to fix, for the model to read.
fn parse_arguments(raw: &str) -> std::result::Result<Value, String> {
    if raw.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_slice::<Value>(raw.as_bytes()) {
        Ok(Value::Object(map)) => Ok(Value::Object(map)),
        Ok(other) => Err(format!("must be a JSON object, not {}", schema::validate::kind(&other))),
        Err(e) => Err(format!("are not valid JSON ({e}); send them again as one JSON object")),
    }
}
