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

/// The outcome of one tool call, as the host reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolResult {
    /// The server answered with this `CallToolResult` (which may say `isError`).
    Result(Value),
    /// The call did not complete (transport or protocol error); the text is shown to the model.
    Failed(String),
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

    /// The run so far as a result with `status`, for a pause: take its snapshot first, since the records move
    /// into the result and the loop is used up.
    pub fn into_result(mut self, status: RunStatus) -> RunResult {
        self.result(status, None)
    }
}

/// Checks a run's input: the user's text, or a list of Responses input items.
pub(crate) fn validate_input(input: &Value) -> Result<()> {
    match input {
        Value::String(s) if !s.is_empty() => Ok(()),
        Value::Array(items) if !items.is_empty() => Ok(()),
        _ => Err(Error::config("input must be a non-empty string or a non-empty array of input items")),
    }
}

#[cfg(test)]
mod tests;
