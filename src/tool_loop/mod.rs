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

mod decisions;
mod policy;
mod snapshot;
mod state;
mod turn;

pub use decisions::Decision;
pub use policy::{Approve, Continuation, Inflight, LoopConfig, ServerPolicy};
pub(crate) use policy::{DEFAULT_MAX_CONCURRENT_CALLS, DEFAULT_MAX_TOOL_CALLS_PER_TURN, read_approve};
pub use snapshot::SNAPSHOT_VERSION;

use crate::base::error::{Error, Result};
use crate::base::io::{EffectId, Owner};
use crate::base::queue::Queue;
use crate::content::{self, ToolOutput};
use crate::event::{Event, PendingCall, RunResult, RunStatus};
use crate::schema::Catalog;
use crate::wire::responses::{ModelRequest, ModelResponse, Usage};
use serde::Serialize;
use serde_json::Value;
use state::{CallState, Phase, State, pending, record, set_output};
use std::sync::Arc;
use turn::stored_unavailable;

/// Work for the host.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
#[must_use]
pub enum LoopEffect {
    /// Send `request` (a Responses API request; [`ModelRequest::to_text`] is its body) and report the response
    /// with [`ToolLoop::handle_model_response`].
    CallModel {
        /// Effect id.
        id: EffectId,
        /// The request body.
        request: ModelRequest,
    },
    /// Call MCP tool `tool` on `server` and report with [`ToolLoop::handle_tool_result`].
    CallTool {
        /// Effect id.
        id: EffectId,
        /// The model's call id.
        call_id: String,
        /// The server's configured name.
        server: String,
        /// The original MCP tool name.
        tool: String,
        /// The arguments object.
        arguments: Value,
        /// Whether the call may be made again if the host lost track of it while it was running (a crash before
        /// its result was recorded): the `inflight` policy applied to the tool's annotations, as a restored
        /// snapshot applies it. A host that journals each call (a durable-execution engine) asks this.
        retry_if_interrupted: bool,
    },
    /// Stop effect `id` (the run was cancelled): abort the model request, or cancel the MCP call (MCP servers
    /// get `notifications/cancelled`). Report nothing more for it.
    Cancel {
        /// The effect to stop.
        id: EffectId,
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

/// The outcome of one tool call, as the host reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolResult {
    /// The server answered with this `CallToolResult` (which may say `isError`).
    Result(Value),
    /// The call did not complete (transport or protocol error); the text is shown to the model.
    Failed(String),
    /// The host lost track of the call while it was running (a crash before its result was recorded) and may
    /// not make it again (`retry_if_interrupted` was false): the model is told its outcome is unknown.
    Interrupted,
}

/// One run of the tool loop. The shape of every machine here:
/// - getters: [`ToolLoop::turn`], [`ToolLoop::is_done`], [`ToolLoop::snapshot`], [`ToolLoop::model_request`];
/// - inputs: [`ToolLoop::handle_model_response`] and [`ToolLoop::handle_tool_result`], each with the id of the
///   effect it answers and the current time; `Ok(false)` for an id no longer pending (the race of an answer
///   that arrives after a cancel), `Err` only for an id this loop never issued;
/// - commands: [`ToolLoop::decide`], [`ToolLoop::decide_all`], [`ToolLoop::cancel`], [`ToolLoop::set_catalog`];
/// - output: after creating or restoring the loop and after every input or command, drain
///   [`ToolLoop::poll_output`] until it returns [`LoopOutput::Wait`], [`LoopOutput::Paused`] or
///   [`LoopOutput::Done`].
///
/// ```
/// use mcp_loop::{Catalog, LoopConfig, LoopEffect, LoopOutput, ModelResponse, ServerTools, Tool, ToolLoop, ToolResult};
/// use serde_json::json;
/// use std::sync::Arc;
///
/// let tools = vec![Tool::from_value(json!({"name": "echo"})).unwrap()];
/// let catalog = Catalog::build(vec![ServerTools { server: "intranet".into(), label: None, tools }], &Default::default(), None);
/// let config = LoopConfig { model: "gpt-4.1".into(), ..LoopConfig::default() };
/// let mut run = ToolLoop::new(config, Arc::new(catalog), json!("Say hi through echo"), "", 0).unwrap();
/// let mut now = 0;
/// loop {
///     now += 1;
///     match run.poll_output() {
///         LoopOutput::Effect(LoopEffect::CallModel { id, request }) => {
///             // Send `request.to_text()` to the Responses API; here, the model answers at once.
///             let calls = request.fields["input"].is_string();
///             let output = match calls {
///                 true => json!([{"type": "function_call", "call_id": "c1", "name": "echo", "arguments": "{}"}]),
///                 false => json!([{"type": "message", "content": [{"type": "output_text", "text": "hi"}]}]),
///             };
///             let response = ModelResponse::from_value(json!({"id": format!("r{now}"), "output": output}));
///             run.handle_model_response(id, Ok(response.unwrap()), now).unwrap();
///         }
///         LoopOutput::Effect(LoopEffect::CallTool { id, server, tool, arguments, .. }) => {
///             // Call `tool` on MCP server `server` with `arguments`; here, a canned CallToolResult.
///             let _ = (server, tool, arguments);
///             let result = ToolResult::Result(json!({"content": [{"type": "text", "text": "hi"}]}));
///             run.handle_tool_result(id, result, now).unwrap();
///         }
///         LoopOutput::Done(result) => {
///             assert_eq!(result.unwrap().output_text, "hi");
///             break;
///         }
///         LoopOutput::Paused(_) | LoopOutput::Wait => unreachable!("no approvals, and every effect is answered"),
///         _ => {} // cancellations, and events for the application
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct ToolLoop {
    config: LoopConfig,
    /// Shared with the driver and the other runs: a catalog can be large.
    catalog: Arc<Catalog>,
    state: State,
    out: Queue<LoopOutput>,
    /// The time of the latest input, for the durations of calls.
    now_ms: u64,
}

impl ToolLoop {
    /// Starts a run: `input` is the user's text or a list of Responses input items. `trace_id` names the run in
    /// Portkey's traces (empty: none); it stays with the run, in its snapshots and its result.
    pub fn new(
        config: LoopConfig,
        catalog: Arc<Catalog>,
        input: Value,
        trace_id: &str,
        now_ms: u64,
    ) -> Result<ToolLoop> {
        Self::continuing(config, catalog, None, input, trace_id, now_ms)
    }

    /// Starts a run that continues the conversation the provider stored up to response `previous` (a
    /// result's `response_id`): the first request carries it as `previous_response_id`. `None` starts a new
    /// conversation, as [`ToolLoop::new`]. A conversation whose responses were not stored (`replay`) continues
    /// with its history instead: the earlier result's `history` in front of the new input.
    pub fn continuing(
        config: LoopConfig,
        catalog: Arc<Catalog>,
        previous: Option<String>,
        input: Value,
        trace_id: &str,
        now_ms: u64,
    ) -> Result<ToolLoop> {
        config.validate().map_err(Error::config)?;
        validate_input(&input)?;
        validate_previous(&config, previous.as_deref())?;
        let replaying = config.continuation == Continuation::Replay;
        let state = State {
            phase: Phase::Done,
            turn: 0,
            usage: Usage::default(),
            records: Vec::new(),
            turn_details: Vec::new(),
            history: Vec::new(),
            replaying,
            continued: previous.is_some(),
            next_effect: 1,
            trace_id: trace_id.to_owned(),
        };
        let mut this = ToolLoop { config, catalog, state, out: Queue::new(), now_ms };
        this.call_model(input, previous);
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

    /// The run's Portkey trace id (empty: none).
    pub fn trace_id(&self) -> &str {
        &self.state.trace_id
    }

    /// The model call in flight and its request as it would go out now, with the current catalog: a host that
    /// held the request back until the tools were listed again sends this one.
    pub fn model_request(&self) -> Option<(EffectId, ModelRequest)> {
        let Phase::Model { effect, input, previous } = &self.state.phase else { return None };
        Some((loop_id(*effect), self.request(input, previous.as_deref())))
    }

    /// The model's call id of running tool call `id`.
    pub fn call_id(&self, id: EffectId) -> Option<&str> {
        let number = id.number();
        let running = |c: &&state::Call| matches!(c.state, CallState::Running { effect, .. } if effect == number);
        self.calls().iter().find(running).map(|c| c.call_id.as_str())
    }

    /// The next thing to do; see the type's docs for the contract.
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
    pub fn handle_model_response(
        &mut self,
        id: EffectId,
        response: Result<ModelResponse>,
        now_ms: u64,
    ) -> Result<bool> {
        self.check_issued(id)?;
        self.now_ms = now_ms;
        let Phase::Model { effect, input, previous } = &mut self.state.phase else { return Ok(false) };
        if *effect != id.number() {
            return Ok(false);
        }
        match response {
            Ok(response) => self.take_response(response),
            Err(e)
                if self.config.continuation == Continuation::Auto && previous.is_some() && stored_unavailable(&e) =>
            {
                if self.state.continued {
                    // The history starts at the stored response the run continued from: replaying it would
                    // silently drop the conversation before that.
                    let message = format!(
                        "the endpoint cannot continue from a stored response ({e}), and this run continues a \
                         conversation by previousResponseId: continue it with the earlier result's history instead"
                    );
                    self.finish(Err(Error::model(None, message)));
                    return Ok(true);
                }
                // The endpoint keeps no responses (a provider Portkey translates): send the history instead.
                let (input, previous) = (std::mem::take(input), previous.take());
                self.state.replaying = true;
                self.warn(format!("the endpoint cannot continue from a stored response ({e}); replaying the history"));
                self.state.turn -= 1;
                self.send_model(input, previous, false);
            }
            Err(e) => self.finish(Err(e)),
        }
        Ok(true)
    }

    /// The result of tool effect `id`.
    pub fn handle_tool_result(&mut self, id: EffectId, result: ToolResult, now_ms: u64) -> Result<bool> {
        self.check_issued(id)?;
        self.now_ms = now_ms;
        let max = self.config.max_output_chars;
        let number = id.number();
        let running = |c: &&mut state::Call| matches!(c.state, CallState::Running { effect, .. } if effect == number);
        let Some(call) = self.calls_mut().iter_mut().find(running) else { return Ok(false) };
        let output = match result {
            ToolResult::Result(value) => content::to_output(&value, max),
            ToolResult::Failed(message) => ToolOutput::error(&message),
            ToolResult::Interrupted => ToolOutput::error(snapshot::UNKNOWN_OUTCOME),
        };
        let event = set_output(call, output, now_ms);
        self.out.push_back(LoopOutput::Event(event));
        self.progress();
        Ok(true)
    }

    /// Ends the run now: effects in flight are cancelled ([`LoopEffect::Cancel`]) and the run is done with
    /// status `cancelled` and `reason`. Results already recorded stay in the result.
    pub fn cancel(&mut self, reason: &str) {
        let phase = std::mem::replace(&mut self.state.phase, Phase::Done);
        match phase {
            Phase::Model { effect, .. } => {
                self.out.push_back(LoopOutput::Effect(LoopEffect::Cancel { id: loop_id(effect) }))
            }
            Phase::Tools { mut calls, .. } => {
                // Every call stays in the record: what was running may have taken effect, and the app must see it.
                for call in &mut calls {
                    let message = match call.state {
                        CallState::Done { .. } => continue,
                        CallState::Running { effect, .. } => {
                            self.out.push_back(LoopOutput::Effect(LoopEffect::Cancel { id: loop_id(effect) }));
                            "cancelled while it was running: its outcome is unknown"
                        }
                        CallState::Awaiting | CallState::Ready => "not run: the run was cancelled",
                    };
                    let _ = set_output(call, ToolOutput::error(message), self.now_ms);
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

    /// The result of a run paused for `pending` (from [`LoopOutput::Paused`]): its snapshot (to resume it
    /// anywhere), the calls waiting for decisions, and everything so far. The loop is used up.
    pub fn into_paused(mut self, pending: Vec<PendingCall>) -> RunResult {
        let snapshot = self.snapshot();
        RunResult { snapshot: Some(snapshot), pending, ..self.result(RunStatus::AwaitingApproval, None) }
    }

    /// `Err` for an id this loop never issued: the host mixed up its effects.
    fn check_issued(&self, id: EffectId) -> Result<()> {
        match id.owner() == Some(Owner::Loop) && (1..self.state.next_effect).contains(&id.number()) {
            true => Ok(()),
            false => Err(Error::host(format!("effect {id} was never issued by this run"))),
        }
    }
}

/// The id the host sees for the loop's effect number `n`.
pub(super) fn loop_id(n: u64) -> EffectId {
    EffectId::new(Owner::Loop, n)
}

/// Checks a run's input: the user's text, or a list of Responses input items.
pub(crate) fn validate_input(input: &Value) -> Result<()> {
    match input {
        Value::String(s) if !s.is_empty() => Ok(()),
        Value::Array(items) if !items.is_empty() => Ok(()),
        _ => Err(Error::config("input must be a non-empty string or a non-empty array of input items")),
    }
}

/// A stored conversation can be continued only where responses are stored.
pub(crate) fn validate_previous(config: &LoopConfig, previous: Option<&str>) -> Result<()> {
    match previous {
        Some("") => Err(Error::config("previousResponseId is empty")),
        Some(_) if config.continuation == Continuation::Replay => Err(Error::config(
            "previousResponseId continues a conversation the provider stored, and continuation 'replay' stores \
             none: continue with the earlier result's history instead",
        )),
        _ => Ok(()),
    }
}

/// `input` after the items of an earlier conversation (`history`, as a result gives it).
pub(crate) fn after_history(history: Vec<Value>, input: Value) -> Result<Value> {
    if history.is_empty() {
        return Ok(input);
    }
    if let Some(i) = history.iter().position(|item| !item.is_object()) {
        return Err(Error::config(format!("history[{i}] is not an input item (an object)")));
    }
    let mut items = history;
    match input {
        Value::String(text) => items.push(serde_json::json!({"role": "user", "content": text})),
        Value::Array(more) => items.extend(more),
        _ => {}
    }
    Ok(Value::Array(items))
}

#[cfg(test)]
mod tests;
