//! What a run is, as a snapshot holds it: the phase, the calls of the current turn and their states, the
//! records so far; and the small helpers that read and finish them.

use super::{LoopOutput, ToolLoop};
use crate::base::error::Result;
use crate::content::ToolOutput;
use crate::event::{CallStatus, Event, PendingCall, RunResult, RunStatus, ToolCallRecord, TurnRecord};
use crate::schema::CatalogTool;
use crate::wire::responses::{ModelResponse, Usage};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum CallState {
    /// Waits for a person's decision.
    Awaiting,
    /// Decided; waits for a free slot on its server.
    Ready,
    /// The host has the `CallTool` effect, since `started_ms` (unknown for a call restored from a snapshot,
    /// which does not keep it).
    Running { effect: u64, started_ms: Option<u64> },
    /// Has its output.
    Done { output: Value, is_error: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Call {
    pub(super) call_id: String,
    pub(super) name: String,
    pub(super) route: Option<Route>,
    pub(super) arguments: Value,
    pub(super) state: CallState,
}

/// Where a call goes, fixed when the model makes it (a catalog that changes later does not move it).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Route {
    pub(super) server: String,
    pub(super) tool: String,
    pub(super) retry_safe: bool,
    pub(super) annotations: Option<Value>,
}

impl Route {
    pub(super) fn of(tool: &CatalogTool) -> Route {
        Route {
            server: tool.server.clone(),
            tool: tool.tool.clone(),
            retry_safe: tool.retry_safe(),
            annotations: tool.annotations.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Phase {
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
pub(super) struct State {
    pub(super) phase: Phase,
    pub(super) turn: u32,
    pub(super) usage: Usage,
    pub(super) records: Vec<ToolCallRecord>,
    pub(super) turn_details: Vec<TurnRecord>,
    /// Every item of the conversation, kept when it may be replayed (`continuation` not
    /// `previous_response_id`).
    pub(super) history: Vec<Value>,
    /// The history goes in `input` with `store: false` (configured, or switched to by `auto`).
    pub(super) replaying: bool,
    /// The run continues a stored conversation (`previous_response_id` given at its start): its history holds
    /// only what came after, so it cannot be replayed nor given as the conversation's.
    pub(super) continued: bool,
    pub(super) next_effect: u64,
    /// Names the run in Portkey's traces (empty: none).
    pub(super) trace_id: String,
}

impl ToolLoop {
    pub(super) fn calls(&self) -> &[Call] {
        match &self.state.phase {
            Phase::Tools { calls, .. } => calls,
            _ => &[],
        }
    }

    pub(super) fn calls_mut(&mut self) -> &mut [Call] {
        match &mut self.state.phase {
            Phase::Tools { calls, .. } => calls,
            _ => &mut [],
        }
    }

    /// The run's result; the records move into it (the run is over), with the calls of a turn still open (a
    /// pause) as they stand.
    pub(super) fn result(&mut self, status: RunStatus, response: Option<ModelResponse>) -> RunResult {
        let turn_details = std::mem::take(&mut self.state.turn_details);
        let mut tool_calls = std::mem::take(&mut self.state.records);
        if let Phase::Tools { calls, .. } = &self.state.phase {
            tool_calls.extend(calls.iter().cloned().map(|call| record(self.state.turn, call)));
        }
        // The whole conversation, for the next run's `history`: when this run holds all of it, and not for a
        // pause (its calls have no outputs yet).
        let whole = self.keeps_history() && !self.state.continued && status != RunStatus::AwaitingApproval;
        let mut result = RunResult {
            history: whole.then(|| self.state.history.clone()),
            turns: self.state.turn,
            tool_calls,
            usage: self.state.usage,
            response_id: turn_details.last().map(|t| t.response_id.clone()).unwrap_or_default(),
            turn_details,
            trace_id: Some(self.state.trace_id.clone()).filter(|t| !t.is_empty()),
            ..RunResult::new(status)
        };
        if let Some(r) = response {
            result.output_text = r.output_text();
            result.output = r.output;
            result.incomplete_reason = r.incomplete_reason;
        }
        result
    }

    pub(super) fn finish_with(&mut self, status: RunStatus, response: ModelResponse) {
        let result = self.result(status, Some(response));
        self.finish(Ok(result));
    }

    pub(super) fn finish(&mut self, result: Result<RunResult>) {
        self.state.phase = Phase::Done;
        self.out.push_back(LoopOutput::Done(result));
    }

    pub(super) fn warn(&mut self, message: String) {
        self.out.push_back(LoopOutput::Event(Event::Warning { server: None, message }));
    }

    pub(super) fn effect_id(&mut self) -> u64 {
        let id = self.state.next_effect;
        self.state.next_effect += 1;
        id
    }
}

pub(super) fn started(call: &Call) -> Event {
    Event::ToolCallStarted {
        call_id: call.call_id.clone(),
        name: call.name.clone(),
        server: call.route.as_ref().map(|r| r.server.clone()),
        tool: call.route.as_ref().map(|r| r.tool.clone()),
        arguments: call.arguments.clone(),
    }
}

/// Gives `call` its output; a call that was running at `now_ms` tells how long it took.
pub(super) fn set_output(call: &mut Call, output: ToolOutput, now_ms: u64) -> Event {
    let duration_ms = match call.state {
        CallState::Running { started_ms, .. } => started_ms.map(|started| now_ms.saturating_sub(started)),
        _ => None,
    };
    call.state = CallState::Done { output: output.output.clone(), is_error: output.is_error };
    Event::ToolCallFinished {
        call_id: call.call_id.clone(),
        name: call.name.clone(),
        server: call.route.as_ref().map(|r| r.server.clone()),
        tool: call.route.as_ref().map(|r| r.tool.clone()),
        duration_ms,
        output: output.output,
        is_error: output.is_error,
    }
}

pub(super) fn pending(call: &Call) -> Option<PendingCall> {
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

pub(super) fn record(turn: u32, call: Call) -> ToolCallRecord {
    let (output, is_error, status) = match call.state {
        CallState::Done { output, is_error } => (output, is_error, CallStatus::Done),
        CallState::Awaiting => (Value::Null, false, CallStatus::AwaitingApproval),
        CallState::Ready | CallState::Running { .. } => (Value::Null, false, CallStatus::NotRun),
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
        status,
    }
}
