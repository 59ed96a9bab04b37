//! The tool loop: one Responses API conversation in which the model calls tools until it answers.
//!
//! Sans-IO and at the semantic level: it asks for model calls ([`LoopEffect::CallModel`]) and tool calls
//! ([`LoopEffect::CallTool`]) and is told their results. It does not know how either is carried out, so a
//! host that already owns an MCP client or an OpenAI/Portkey SDK client can drive it directly.
//!
//! Driving contract: after creating the loop and after every `handle_*`, drain [`ToolLoop::poll_output`]
//! until it returns [`LoopOutput::Wait`] or [`LoopOutput::Done`]. All tool calls of one turn come out
//! together, before the `Wait`, so the host can run them concurrently; results may come back in any order.
//!
//! Guarantees: every `call_id` the model sends gets exactly one `function_call_output`, in the model's call
//! order; an unknown tool name or unparseable arguments become an error output for the model, never a crash.

use crate::content::{self, ToolOutput};
use crate::error::{Error, Result};
use crate::event::{Event, RunResult, RunStatus, ToolCallRecord};
use crate::queue::Queue;
use crate::responses::{FunctionCall, ModelResponse, Usage};
use crate::schema::{self, Catalog};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Request fields the loop owns; `modelSettings` cannot set them. (`store: false` and `conversation` would
/// break continuing with `previous_response_id`.)
const RESERVED_FIELDS: &[&str] =
    &["model", "input", "instructions", "tools", "previous_response_id", "stream", "store", "conversation"];

/// How a run behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopConfig {
    /// The model name (or Portkey `@provider/model`).
    pub model: String,
    /// System/developer instructions, sent with every request.
    pub instructions: Option<String>,
    /// The most model turns a run may take.
    pub max_turns: u32,
    /// Further request fields merged into every request (`temperature`, `max_output_tokens`, `reasoning`, …).
    pub model_settings: Map<String, Value>,
    /// The cap on one tool output, in characters.
    pub max_output_chars: usize,
    /// Check the model's arguments against the tool's own schema before calling it.
    pub validate_arguments: bool,
}

impl Default for LoopConfig {
    fn default() -> Self {
        LoopConfig {
            model: String::new(),
            instructions: None,
            max_turns: 10,
            model_settings: Map::new(),
            max_output_chars: content::DEFAULT_MAX_OUTPUT_CHARS,
            validate_arguments: true,
        }
    }
}

impl LoopConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.model.trim().is_empty() {
            return Err("model is required".into());
        }
        self.validate_settings()
    }

    /// Checks everything but the model (an agent used only for direct MCP calls needs none).
    pub fn validate_settings(&self) -> std::result::Result<(), String> {
        if self.max_turns == 0 {
            return Err("maxTurns must be at least 1".into());
        }
        if self.max_output_chars < 100 {
            return Err("maxOutputChars must be at least 100".into());
        }
        if let Some(key) = self.model_settings.keys().find(|k| RESERVED_FIELDS.contains(&k.as_str())) {
            return Err(format!("modelSettings cannot set '{key}': the tool loop owns it"));
        }
        Ok(())
    }
}

/// Work for the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
#[must_use]
pub enum LoopEffect {
    /// Send `request` (a Responses API request body) and report the response with [`ToolLoop::handle_model_response`].
    CallModel {
        /// Effect id.
        id: u64,
        /// The request body.
        request: Value,
    },
    /// Call MCP tool `tool` on `server` and report with [`ToolLoop::handle_tool_result`].
    CallTool {
        /// Effect id.
        id: u64,
        /// The model's call id.
        call_id: String,
        /// The server's configured name.
        server: String,
        /// The original MCP tool name.
        tool: String,
        /// The arguments object.
        arguments: Value,
    },
}

/// What [`ToolLoop::poll_output`] returns.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum LoopOutput {
    /// Perform this.
    Effect(LoopEffect),
    /// Tell the application.
    Event(Event),
    /// Nothing more until a result arrives.
    Wait,
    /// The run is over.
    Done(Result<RunResult>),
}

/// The outcome of one tool call, as the host reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolResult {
    /// The server answered with this `CallToolResult` (which may say `isError`).
    Result(Value),
    /// The call did not complete (transport or protocol error); the text is shown to the model.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Call {
    call_id: String,
    name: String,
    server: Option<String>,
    tool: Option<String>,
    arguments: Value,
    effect: Option<u64>,
    output: Option<Value>,
    is_error: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Model { effect: u64 },
    Tools { response_id: String, calls: Vec<Call> },
    Done,
}

/// One run of the tool loop.
#[derive(Debug, Clone)]
pub struct ToolLoop {
    config: LoopConfig,
    /// Shared with the driver and the other runs: a catalog can be large.
    catalog: Arc<Catalog>,
    phase: Phase,
    turn: u32,
    next_effect: u64,
    usage: Usage,
    records: Vec<ToolCallRecord>,
    out: Queue<LoopOutput>,
}

impl ToolLoop {
    /// Starts a run: `input` is the user's text or a list of Responses input items.
    pub fn new(config: LoopConfig, catalog: Arc<Catalog>, input: Value) -> Result<ToolLoop> {
        config.validate().map_err(Error::config)?;
        validate_input(&input)?;
        let mut this = ToolLoop {
            config,
            catalog,
            phase: Phase::Done,
            turn: 0,
            next_effect: 1,
            usage: Usage::default(),
            records: Vec::new(),
            out: Queue::new(),
        };
        this.call_model(input, None);
        Ok(this)
    }

    /// Replaces the tools offered from the next model request on (the driver lists them again when a server
    /// says they changed). Calls already made keep their routes.
    pub fn set_catalog(&mut self, catalog: Arc<Catalog>) {
        self.catalog = catalog;
    }

    /// Turns taken so far.
    pub fn turn(&self) -> u32 {
        self.turn
    }

    /// The next thing to do; see the module docs for the contract.
    pub fn poll_output(&mut self) -> LoopOutput {
        self.out.pop_front().unwrap_or(LoopOutput::Wait)
    }

    /// True once the run has ended (its `Done` may still be waiting in `poll_output`).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The model's answer (or the failure to get one) for effect `id`.
    pub fn handle_model_response(&mut self, id: u64, response: Result<ModelResponse>) -> Result<()> {
        if self.phase != (Phase::Model { effect: id }) {
            return Err(Error::host(format!("no model call {id} is pending")));
        }
        match response {
            Ok(response) => self.take_response(response),
            Err(e) => self.finish(Err(e)),
        }
        Ok(())
    }

    fn take_response(&mut self, response: ModelResponse) {
        self.usage.add(response.usage.as_ref());
        let (calls, unanswerable) = response.function_calls();
        self.out.push_back(LoopOutput::Event(Event::TurnCompleted {
            turn: self.turn,
            response_id: response.id.clone(),
            tool_calls: calls.len(),
            text: response.output_text(),
        }));
        for name in unanswerable {
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
        if self.turn >= self.config.max_turns {
            return self.finish_with(RunStatus::MaxTurns, response);
        }
        self.start_tools(response.id, calls);
    }

    /// The result of tool effect `id`.
    pub fn handle_tool_result(&mut self, id: u64, result: ToolResult) -> Result<()> {
        let max = self.config.max_output_chars;
        let Phase::Tools { calls, .. } = &mut self.phase else {
            return Err(Error::host(format!("no tool call {id} is pending")));
        };
        let Some(call) = calls.iter_mut().find(|c| c.effect == Some(id) && c.output.is_none()) else {
            return Err(Error::host(format!("no tool call {id} is pending")));
        };
        let output = match result {
            ToolResult::Result(value) => content::to_output(&value, max),
            ToolResult::Failed(message) => ToolOutput::error(&message),
        };
        let event = set_output(call, output);
        self.out.push_back(LoopOutput::Event(event));
        self.continue_if_complete();
        Ok(())
    }

    // ---- internals ----

    fn call_model(&mut self, input: Value, previous: Option<String>) {
        self.turn += 1;
        let mut request = Map::new();
        request.insert("model".into(), json!(self.config.model));
        if let Some(instructions) = &self.config.instructions {
            request.insert("instructions".into(), json!(instructions));
        }
        request.insert("input".into(), input);
        if !self.catalog.functions().is_empty() {
            request.insert("tools".into(), Value::Array(self.catalog.functions().to_vec()));
        }
        if let Some(previous) = previous {
            request.insert("previous_response_id".into(), json!(previous));
        }
        for (k, v) in &self.config.model_settings {
            request.insert(k.clone(), v.clone());
        }
        let id = self.effect_id();
        self.phase = Phase::Model { effect: id };
        self.out.push_back(LoopOutput::Event(Event::TurnStarted { turn: self.turn }));
        self.out.push_back(LoopOutput::Effect(LoopEffect::CallModel { id, request: Value::Object(request) }));
    }

    fn start_tools(&mut self, response_id: String, model_calls: Vec<FunctionCall>) {
        let mut calls: Vec<Call> = Vec::with_capacity(model_calls.len());
        for fc in model_calls {
            if calls.iter().any(|c| c.call_id == fc.call_id) {
                self.warn(format!("the model repeated call_id '{}'; only the first call runs", fc.call_id));
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
            let mut call = Call {
                call_id: fc.call_id,
                name: fc.name,
                server: target.map(|t| t.server.clone()),
                tool: target.map(|t| t.tool.clone()),
                arguments,
                effect: None,
                output: None,
                is_error: false,
            };
            self.out.push_back(LoopOutput::Event(Event::ToolCallStarted {
                call_id: call.call_id.clone(),
                name: call.name.clone(),
                server: call.server.clone(),
                tool: call.tool.clone(),
                arguments: call.arguments.clone(),
            }));
            let failure = match (target, problem) {
                (None, _) => Some(self.unknown_tool_message(&call.name)),
                (Some(_), Some(problem)) => Some(format!("the arguments for '{}' {problem}", call.name)),
                (Some(t), None) => {
                    let id = self.effect_id();
                    call.effect = Some(id);
                    self.out.push_back(LoopOutput::Effect(LoopEffect::CallTool {
                        id,
                        call_id: call.call_id.clone(),
                        server: t.server.clone(),
                        tool: t.tool.clone(),
                        arguments: call.arguments.clone(),
                    }));
                    None
                }
            };
            if let Some(message) = failure {
                let event = set_output(&mut call, ToolOutput::error(&message));
                self.out.push_back(LoopOutput::Event(event));
            }
            calls.push(call);
        }
        self.phase = Phase::Tools { response_id, calls };
        self.continue_if_complete();
    }

    fn continue_if_complete(&mut self) {
        let Phase::Tools { response_id, calls } = &self.phase else { return };
        if calls.iter().any(|c| c.output.is_none()) {
            return;
        }
        let turn = self.turn;
        let outputs: Vec<Value> = calls
            .iter()
            .map(|c| json!({"type": "function_call_output", "call_id": c.call_id, "output": c.output}))
            .collect();
        let previous = response_id.clone();
        let Phase::Tools { calls, .. } = std::mem::replace(&mut self.phase, Phase::Done) else { return };
        self.records.extend(calls.into_iter().map(|c| ToolCallRecord {
            turn,
            call_id: c.call_id,
            name: c.name,
            server: c.server,
            tool: c.tool,
            arguments: c.arguments,
            output: c.output.unwrap_or_default(),
            is_error: c.is_error,
        }));
        self.call_model(Value::Array(outputs), Some(previous));
    }

    fn unknown_tool_message(&self, name: &str) -> String {
        let mut names: Vec<&str> = self.catalog.tools().iter().map(|t| t.function.name.as_str()).take(20).collect();
        if self.catalog.tools().len() > names.len() {
            names.push("…");
        }
        format!("there is no tool named '{name}'. Available tools: {}", names.join(", "))
    }

    fn finish_with(&mut self, status: RunStatus, response: ModelResponse) {
        let result = RunResult {
            status,
            output_text: response.output_text(),
            output: response.output,
            turns: self.turn,
            tool_calls: std::mem::take(&mut self.records),
            usage: self.usage,
            response_id: response.id,
            incomplete_reason: response.incomplete_reason,
            trace_id: None,
        };
        self.finish(Ok(result));
    }

    fn finish(&mut self, result: Result<RunResult>) {
        self.phase = Phase::Done;
        self.out.push_back(LoopOutput::Done(result));
    }

    fn warn(&mut self, message: String) {
        self.out.push_back(LoopOutput::Event(Event::Warning { server: None, message }));
    }

    fn effect_id(&mut self) -> u64 {
        let id = self.next_effect;
        self.next_effect += 1;
        id
    }
}

/// Checks a run's input: the user's text, or a list of Responses input items.
pub fn validate_input(input: &Value) -> Result<()> {
    match input {
        Value::String(s) if !s.is_empty() => Ok(()),
        Value::Array(items) if !items.is_empty() => Ok(()),
        _ => Err(Error::config("input must be a non-empty string or a non-empty array of input items")),
    }
}

fn set_output(call: &mut Call, output: ToolOutput) -> Event {
    call.output = Some(output.output.clone());
    call.is_error = output.is_error;
    Event::ToolCallFinished {
        call_id: call.call_id.clone(),
        name: call.name.clone(),
        output: output.output,
        is_error: output.is_error,
    }
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

#[cfg(test)]
mod tests;
