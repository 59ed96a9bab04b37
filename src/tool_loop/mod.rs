//! The tool loop: one Responses API conversation in which the model calls tools until it answers.
//!
//! Sans-IO and at the semantic level: it asks for model calls ([`LoopEffect::CallModel`]) and tool calls
//! ([`LoopEffect::CallTool`]) and is told their results. It does not know how either is carried out, so a
//! host that already owns an MCP client or an OpenAI/Portkey SDK client can drive it directly.
//!
//! Driving contract: after creating (or restoring) the loop and after every `handle_*`, `decide` or `cancel`,
//! drain [`ToolLoop::poll_output`] until it returns [`LoopOutput::Wait`], [`LoopOutput::Paused`] or
//! [`LoopOutput::Done`]. The calls of one turn come out together (up to each server's concurrency limit),
//! so the host can run them concurrently; results may come back in any order.
//!
//! Guarantees: every `call_id` the model sends gets exactly one `function_call_output`, in the model's call
//! order; an unknown tool name or unparseable arguments become an error output for the model, never a crash.
//! [`ToolLoop::snapshot`] between steps gives versioned JSON that [`ToolLoop::restore`] continues: recorded
//! results are kept and never asked for again; calls that were in flight follow [`Inflight`].

mod policy;
mod snapshot;

pub use policy::{Approve, Continuation, DEFAULT_MAX_CONCURRENT_CALLS, Inflight, ServerPolicy, read_approve};
pub use snapshot::SNAPSHOT_VERSION;

use crate::content::{self, ToolOutput};
use crate::error::{Error, Result};
use crate::event::{Event, PendingCall, RunResult, RunStatus, ToolCallRecord, TurnRecord};
use crate::json::object;
use crate::queue::Queue;
use crate::responses::request::ModelRequest;
use crate::responses::{FunctionCall, ModelResponse, Usage};
use crate::schema::{self, Catalog};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Request fields the loop owns; `modelSettings` cannot set them.
const RESERVED_FIELDS: &[&str] =
    &["model", "input", "instructions", "tools", "previous_response_id", "stream", "store", "conversation"];

/// The most of a model-chosen name repeated in messages.
const MAX_ECHOED_CHARS: usize = 100;

/// What the model is told about a call that was running when its run was interrupted.
const UNKNOWN_OUTCOME: &str = "the outcome of this call is unknown: the run was interrupted while it was running, so it \
     may or may not have taken effect. Check before calling it again.";

/// The most calls one model turn may make unless configured otherwise: models make a few, and a flood of
/// them (a prompt injection in a tool output) must not cost unbounded work. The rest are answered with an error.
pub const DEFAULT_MAX_TOOL_CALLS_PER_TURN: u32 = 64;

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
    /// Ask for a streamed response (`stream: true`).
    pub stream: bool,
    /// How the conversation continues from turn to turn.
    pub continuation: Continuation,
    /// Which calls wait for a person (servers may override it).
    pub approve: Approve,
    /// What a restored run does with calls that were in flight.
    pub inflight: Inflight,
    /// The most calls the model may make in one turn (default [`DEFAULT_MAX_TOOL_CALLS_PER_TURN`]); the rest are
    /// answered with an error (`None`: no limit).
    pub max_tool_calls_per_turn: Option<u32>,
    /// Per-server approval and concurrency (servers not listed: the agent's `approve`, 4 calls at once).
    pub servers: Vec<ServerPolicy>,
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
            stream: false,
            continuation: Continuation::Auto,
            approve: Approve::Never,
            inflight: Inflight::RetryIfIdempotent,
            max_tool_calls_per_turn: Some(DEFAULT_MAX_TOOL_CALLS_PER_TURN),
            servers: Vec::new(),
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
        if self.max_tool_calls_per_turn == Some(0) {
            return Err("maxToolCallsPerTurn must be at least 1".into());
        }
        if let Some(s) = self.servers.iter().find(|s| s.max_concurrent_calls == 0) {
            return Err(format!("servers.{}.maxConcurrentCalls must be at least 1", s.server));
        }
        if let Some(key) = self.model_settings.keys().find(|k| RESERVED_FIELDS.contains(&k.as_str())) {
            return Err(format!("modelSettings cannot set '{key}': the tool loop owns it"));
        }
        Ok(())
    }

    fn server(&self, name: &str) -> Option<&ServerPolicy> {
        self.servers.iter().find(|s| s.server == name)
    }

    fn concurrency(&self, server: &str) -> usize {
        self.server(server).map_or(DEFAULT_MAX_CONCURRENT_CALLS, |s| s.max_concurrent_calls) as usize
    }
}

/// Work for the host.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
#[must_use]
pub enum LoopEffect {
    /// Send `request` (a Responses API request; [`ModelRequest::to_text`] is its body) and report the response
    /// with [`ToolLoop::handle_model_response`].
    CallModel {
        /// Effect id.
        id: u64,
        /// The request body.
        request: ModelRequest,
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
    /// Stop effect `id` (the run was cancelled): abort the model request, or cancel the MCP call (MCP servers
    /// get `notifications/cancelled`). Report nothing more for it.
    Cancel {
        /// The effect to stop.
        id: u64,
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
    /// Calls wait for decisions ([`ToolLoop::decide`]); nothing else is running. The loop can be snapshotted
    /// and resumed elsewhere.
    Paused(Vec<PendingCall>),
    /// The run is over.
    Done(Result<RunResult>),
}

impl LoopOutput {
    /// The JSON text hosts outside Rust receive: an effect (`{"type": "callModel" | "callTool" | "cancel", …}`),
    /// `{"type": "event", "event"}`, `{"type": "paused", "pending"}`, `{"type": "done", "result"}` (or `"error"`
    /// with its `code`, and `"text"`) or `{"type": "wait"}`.
    pub fn to_text(self) -> String {
        use crate::json::text;
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

/// The outcome of one tool call, as the host reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolResult {
    /// The server answered with this `CallToolResult` (which may say `isError`).
    Result(Value),
    /// The call did not complete (transport or protocol error); the text is shown to the model.
    Failed(String),
}

/// A person's decision on a pending call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The call decided on.
    pub call_id: String,
    /// Run it, or not.
    pub approved: bool,
    /// Told to the model with a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum CallState {
    /// Waits for a person's decision.
    Awaiting,
    /// Decided; waits for a free slot on its server.
    Ready,
    /// The host has the `CallTool` effect.
    Running { effect: u64 },
    /// Has its output.
    Done { output: Value, is_error: bool },
}

#[derive(Debug, Clone, PartialEq)]
struct Call {
    call_id: String,
    name: String,
    route: Option<Route>,
    arguments: Value,
    state: CallState,
}

/// Where a call goes, fixed when the model makes it (a catalog that changes later does not move it).
#[derive(Debug, Clone, PartialEq)]
struct Route {
    server: String,
    tool: String,
    retry_safe: bool,
    annotations: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// A model request for `input` (the new items) is out as `effect`.
    Model {
        effect: u64,
        input: Value,
        previous: Option<String>,
    },
    /// The calls of the model's last response.
    Tools {
        response_id: String,
        calls: Vec<Call>,
        paused: bool,
    },
    Done,
}

/// Everything a run is, as a snapshot holds it (the configuration and the catalog come from the host).
#[derive(Debug, Clone, PartialEq)]
struct State {
    phase: Phase,
    turn: u32,
    usage: Usage,
    records: Vec<ToolCallRecord>,
    turn_details: Vec<TurnRecord>,
    /// Every item of the conversation, kept when it may be replayed (`continuation` not
    /// `previous_response_id`).
    history: Vec<Value>,
    /// The history goes in `input` with `store: false` (configured, or switched to by `auto`).
    replaying: bool,
    next_effect: u64,
}

/// One run of the tool loop.
#[derive(Debug, Clone)]
pub struct ToolLoop {
    config: LoopConfig,
    /// Shared with the driver and the other runs: a catalog can be large.
    catalog: Arc<Catalog>,
    state: State,
    out: Queue<LoopOutput>,
}

impl ToolLoop {
    /// Starts a run: `input` is the user's text or a list of Responses input items.
    pub fn new(config: LoopConfig, catalog: Arc<Catalog>, input: Value) -> Result<ToolLoop> {
        config.validate().map_err(Error::config)?;
        validate_input(&input)?;
        let replaying = config.continuation == Continuation::Replay;
        let state = State {
            phase: Phase::Done,
            turn: 0,
            usage: Usage::default(),
            records: Vec::new(),
            turn_details: Vec::new(),
            history: Vec::new(),
            replaying,
            next_effect: 1,
        };
        let mut this = ToolLoop { config, catalog, state, out: Queue::new() };
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
        self.state.turn
    }

    /// The next thing to do; see the module docs for the contract.
    pub fn poll_output(&mut self) -> LoopOutput {
        if let Some(output) = self.out.pop_front() {
            return output;
        }
        // A pause is decided here, once everything queued is out: decisions given one by one (or calls still
        // to start) never make a pause that is no longer true.
        let Phase::Tools { calls, paused: paused @ false, .. } = &mut self.state.phase else { return LoopOutput::Wait };
        if calls.iter().any(|c| matches!(c.state, CallState::Ready | CallState::Running { .. })) {
            return LoopOutput::Wait;
        }
        let awaiting: Vec<PendingCall> = calls.iter().filter_map(pending).collect();
        if awaiting.is_empty() {
            return LoopOutput::Wait;
        }
        *paused = true;
        LoopOutput::Paused(awaiting)
    }

    /// True once the run has ended (its `Done` may still be waiting in `poll_output`).
    pub fn is_done(&self) -> bool {
        self.state.phase == Phase::Done
    }

    /// The model's answer (or the failure to get one) for effect `id`.
    pub fn handle_model_response(&mut self, id: u64, response: Result<ModelResponse>) -> Result<()> {
        let Phase::Model { effect, input, previous } = &mut self.state.phase else {
            return Err(Error::host(format!("no model call {id} is pending")));
        };
        if *effect != id {
            return Err(Error::host(format!("no model call {id} is pending")));
        }
        match response {
            Ok(response) => self.take_response(response),
            Err(e)
                if self.config.continuation == Continuation::Auto && previous.is_some() && stored_unavailable(&e) =>
            {
                // The endpoint keeps no responses (a provider Portkey translates): send the history instead.
                let (input, previous) = (std::mem::take(input), previous.take());
                self.state.replaying = true;
                self.warn(format!("the endpoint cannot continue from a stored response ({e}); replaying the history"));
                self.state.turn -= 1;
                self.send_model(input, previous, false);
            }
            Err(e) => self.finish(Err(e)),
        }
        Ok(())
    }

    /// The result of tool effect `id`.
    pub fn handle_tool_result(&mut self, id: u64, result: ToolResult) -> Result<()> {
        let max = self.config.max_output_chars;
        let Some(call) = self.calls_mut().iter_mut().find(|c| c.state == CallState::Running { effect: id }) else {
            return Err(Error::host(format!("no tool call {id} is pending")));
        };
        let output = match result {
            ToolResult::Result(value) => content::to_output(&value, max),
            ToolResult::Failed(message) => ToolOutput::error(&message),
        };
        let event = set_output(call, output);
        self.out.push_back(LoopOutput::Event(event));
        self.progress();
        Ok(())
    }

    /// A decision on a call waiting for approval: approved calls run, rejected ones tell the model so.
    pub fn decide(&mut self, decision: Decision) -> Result<()> {
        self.decide_all(vec![decision])
    }

    /// Several decisions at once: all are checked before any is applied, so a bad one changes nothing.
    pub fn decide_all(&mut self, decisions: Vec<Decision>) -> Result<()> {
        for (i, d) in decisions.iter().enumerate() {
            let Some(call) = self.calls().iter().find(|c| c.call_id == d.call_id) else {
                return Err(Error::config(format!("no call '{}' in this turn", d.call_id)));
            };
            if call.state != CallState::Awaiting || decisions[..i].iter().any(|e| e.call_id == d.call_id) {
                return Err(Error::config(format!("call '{}' is not waiting for a decision", d.call_id)));
            }
        }
        for decision in decisions {
            let Some(call) = self.calls_mut().iter_mut().find(|c| c.call_id == decision.call_id) else { continue };
            if decision.approved {
                call.state = CallState::Ready;
            } else {
                let mut message = "rejected by the user: this call was not run".to_owned();
                if let Some(reason) = decision.reason.filter(|r| !r.is_empty()) {
                    message = format!("{message} ({})", crate::responses::cap_message(&reason));
                }
                let event = set_output(call, ToolOutput::error(&message));
                self.out.push_back(LoopOutput::Event(event));
            }
        }
        if let Phase::Tools { paused, .. } = &mut self.state.phase {
            *paused = false;
        }
        self.progress();
        Ok(())
    }

    /// Ends the run now: effects in flight are cancelled ([`LoopEffect::Cancel`]) and the run is done with
    /// status `cancelled` and `reason`. Results already recorded stay in the result.
    pub fn cancel(&mut self, reason: &str) {
        let phase = std::mem::replace(&mut self.state.phase, Phase::Done);
        match phase {
            Phase::Model { effect, .. } => self.out.push_back(LoopOutput::Effect(LoopEffect::Cancel { id: effect })),
            Phase::Tools { mut calls, .. } => {
                // Every call stays in the record: what was running may have taken effect, and the app must see it.
                for call in &mut calls {
                    let message = match call.state {
                        CallState::Done { .. } => continue,
                        CallState::Running { effect } => {
                            self.out.push_back(LoopOutput::Effect(LoopEffect::Cancel { id: effect }));
                            "cancelled while it was running: its outcome is unknown"
                        }
                        CallState::Awaiting | CallState::Ready => "not run: the run was cancelled",
                    };
                    let _ = set_output(call, ToolOutput::error(message));
                }
                let turn = self.state.turn;
                self.state.records.extend(calls.into_iter().map(|c| record(turn, c)));
            }
            Phase::Done => return,
        }
        let mut result = self.result(RunStatus::Cancelled, None);
        result.reason = Some(reason.to_owned());
        self.out.push_back(LoopOutput::Done(Ok(result)));
    }

    // ---- internals ----

    fn take_response(&mut self, response: ModelResponse) {
        self.state.usage.add(response.usage.as_ref());
        self.state.turn_details.push(TurnRecord {
            turn: self.state.turn,
            response_id: response.id.clone(),
            headers: response.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect(),
        });
        if self.keeps_history() {
            self.state.history.extend(response.output.iter().cloned());
        }
        let (calls, unanswerable) = response.function_calls();
        self.out.push_back(LoopOutput::Event(Event::TurnCompleted {
            turn: self.state.turn,
            response_id: response.id.clone(),
            tool_calls: calls.len(),
            text: response.output_text(),
        }));
        for name in unanswerable {
            let name = schema::cap_chars(&name, MAX_ECHOED_CHARS);
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
            return self.finish_with(RunStatus::MaxTurns, response);
        }
        self.start_tools(response.id, calls);
    }

    fn start_tools(&mut self, response_id: String, model_calls: Vec<FunctionCall>) {
        let mut calls: Vec<Call> = Vec::with_capacity(model_calls.len());
        let limit = self.config.max_tool_calls_per_turn.map_or(usize::MAX, |n| n as usize);
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
            let route = target.map(|t| Route {
                server: t.server.clone(),
                tool: t.tool.clone(),
                retry_safe: t.retry_safe(),
                annotations: t.annotations.clone(),
            });
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
                let event = set_output(&mut call, ToolOutput::error(&message));
                self.out.push_back(LoopOutput::Event(event));
            }
            calls.push(call);
        }
        self.state.phase = Phase::Tools { response_id, calls, paused: false };
        self.progress();
    }

    fn needs_approval(&self, tool: &schema::CatalogTool) -> bool {
        let policy = self.config.server(&tool.server).and_then(|s| s.approve).unwrap_or(self.config.approve);
        match policy {
            Approve::Never => false,
            Approve::Always | Approve::Host => true,
            Approve::Destructive => tool.destructive(),
        }
    }

    /// Starts the calls that may start, then continues: the next model turn once every call has its output,
    /// or a pause when only decisions are missing.
    fn progress(&mut self) {
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
            let id = next_effect;
            next_effect += 1;
            let (server, tool) = (route.server.clone(), route.tool.clone());
            call.state = CallState::Running { effect: id };
            effects.push(LoopOutput::Event(started(call)));
            effects.push(LoopOutput::Effect(LoopEffect::CallTool {
                id,
                call_id: call.call_id.clone(),
                server,
                tool,
                arguments: call.arguments.clone(),
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
    fn next_turn(&mut self, response_id: String) {
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
        let turn = self.state.turn;
        self.state.records.extend(calls.into_iter().map(|c| record(turn, c)));
        self.call_model(Value::Array(outputs), Some(response_id));
    }

    fn call_model(&mut self, input: Value, previous: Option<String>) {
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
    fn send_model(&mut self, input: Value, previous: Option<String>, announce: bool) {
        self.state.turn += 1;
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
            if let Some(previous) = &previous {
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
        let id = self.effect_id();
        self.state.phase = Phase::Model { effect: id, input, previous };
        if announce {
            self.out.push_back(LoopOutput::Event(Event::TurnStarted { turn: self.state.turn }));
        }
        let request = ModelRequest { fields: request, tools: self.catalog.functions().clone() };
        self.out.push_back(LoopOutput::Effect(LoopEffect::CallModel { id, request }));
    }

    /// The history is kept while it may be replayed (a restored run that replays keeps replaying).
    fn keeps_history(&self) -> bool {
        self.config.continuation != Continuation::PreviousResponseId || self.state.replaying
    }

    fn calls(&self) -> &[Call] {
        match &self.state.phase {
            Phase::Tools { calls, .. } => calls,
            _ => &[],
        }
    }

    fn calls_mut(&mut self) -> &mut [Call] {
        match &mut self.state.phase {
            Phase::Tools { calls, .. } => calls,
            _ => &mut [],
        }
    }

    fn unknown_tool_message(&self, name: &str) -> String {
        let mut names: Vec<&str> = self.catalog.tools().iter().map(|t| t.function.name.as_str()).take(20).collect();
        if self.catalog.tools().len() > names.len() {
            names.push("…");
        }
        let name = schema::cap_chars(name, MAX_ECHOED_CHARS);
        format!("there is no tool named '{name}'. Available tools: {}", names.join(", "))
    }

    /// The run so far as a result with `status`, for a pause: take its snapshot first, since the records move
    /// into the result and the loop is used up.
    pub fn into_result(mut self, status: RunStatus) -> RunResult {
        self.result(status, None)
    }

    /// The run's result; the records move into it (the run is over).
    fn result(&mut self, status: RunStatus, response: Option<ModelResponse>) -> RunResult {
        let turn_details = std::mem::take(&mut self.state.turn_details);
        let mut result = RunResult {
            turns: self.state.turn,
            tool_calls: std::mem::take(&mut self.state.records),
            usage: self.state.usage,
            response_id: turn_details.last().map(|t| t.response_id.clone()).unwrap_or_default(),
            turn_details,
            ..RunResult::new(status)
        };
        if let Some(r) = response {
            result.output_text = r.output_text();
            result.output = r.output;
            result.incomplete_reason = r.incomplete_reason;
        }
        result
    }

    fn finish_with(&mut self, status: RunStatus, response: ModelResponse) {
        let result = self.result(status, Some(response));
        self.finish(Ok(result));
    }

    fn finish(&mut self, result: Result<RunResult>) {
        self.state.phase = Phase::Done;
        self.out.push_back(LoopOutput::Done(result));
    }

    fn warn(&mut self, message: String) {
        self.out.push_back(LoopOutput::Event(Event::Warning { server: None, message }));
    }

    fn effect_id(&mut self) -> u64 {
        let id = self.state.next_effect;
        self.state.next_effect += 1;
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

/// Whether a model error says the endpoint cannot continue from a stored response.
fn stored_unavailable(error: &Error) -> bool {
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

fn started(call: &Call) -> Event {
    Event::ToolCallStarted {
        call_id: call.call_id.clone(),
        name: call.name.clone(),
        server: call.route.as_ref().map(|r| r.server.clone()),
        tool: call.route.as_ref().map(|r| r.tool.clone()),
        arguments: call.arguments.clone(),
    }
}

fn set_output(call: &mut Call, output: ToolOutput) -> Event {
    call.state = CallState::Done { output: output.output.clone(), is_error: output.is_error };
    Event::ToolCallFinished {
        call_id: call.call_id.clone(),
        name: call.name.clone(),
        server: call.route.as_ref().map(|r| r.server.clone()),
        tool: call.route.as_ref().map(|r| r.tool.clone()),
        duration_ms: None,
        output: output.output,
        is_error: output.is_error,
    }
}

fn pending(call: &Call) -> Option<PendingCall> {
    let route = call.route.as_ref().filter(|_| call.state == CallState::Awaiting)?;
    Some(PendingCall {
        call_id: call.call_id.clone(),
        name: call.name.clone(),
        server: route.server.clone(),
        tool: route.tool.clone(),
        arguments: call.arguments.clone(),
        annotations: route.annotations.clone(),
    })
}

fn record(turn: u32, call: Call) -> ToolCallRecord {
    let (output, is_error) = match call.state {
        CallState::Done { output, is_error } => (output, is_error),
        _ => (Value::Null, false),
    };
    ToolCallRecord {
        turn,
        call_id: call.call_id,
        name: call.name,
        server: call.route.as_ref().map(|r| r.server.clone()),
        tool: call.route.map(|r| r.tool),
        arguments: call.arguments,
        output,
        is_error,
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
