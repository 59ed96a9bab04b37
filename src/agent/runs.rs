//! Runs: started or resumed once the catalog is there, their loops' outputs turned into MCP calls and model
//! requests, and ended (done, paused, cancelled, timed out).

use super::{Driver, Effect, Output, Pending, RunId, RunOptions};
use crate::base::error::{Error, Result};
use crate::event::{Event, RunResult, RunStatus};
use crate::mcp::OpId;
use crate::model::{ModelEvent, Span};
use crate::tool_loop::{self, Decision, LoopEffect, LoopOutput, ToolLoop, ToolResult};
use crate::wire::responses::ModelRequest;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub(super) enum Start {
    Input(Value),
    Snapshot(Value, Vec<Decision>),
}

#[derive(Debug, Clone)]
pub(super) enum RunState {
    AwaitingCatalog(Start),
    Looping(Box<ToolLoop>),
}

#[derive(Debug, Clone)]
pub(super) struct Run {
    pub(super) trace_id: String,
    pub(super) state: RunState,
    pub(super) options: RunOptions,
    /// The deadline's timer effect.
    pub(super) deadline: Option<u64>,
}

/// A tool call in flight: the run and loop effect it answers, the model's call id, and when it started.
#[derive(Debug, Clone)]
pub(super) struct ToolOp {
    pub(super) run: RunId,
    pub(super) effect: u64,
    pub(super) call_id: String,
    pub(super) started_ms: u64,
}

impl Driver {
    /// Starts a run with the user's `input` (text or input items). `trace_id` goes to Portkey as
    /// `x-portkey-trace-id`; the host makes one per run when the application gives none.
    pub fn start_run(&mut self, input: Value, trace_id: &str, options: RunOptions, now_ms: u64) -> Result<RunId> {
        tool_loop::validate_input(&input)?;
        self.begin(Start::Input(input), trace_id.to_owned(), options, now_ms)
    }

    /// Continues the run of `snapshot` (from [`Output::Snapshot`] or a paused run's result, taken by this
    /// host or any other), with `decisions` for the calls waiting for approval. Its trace id is kept.
    pub fn resume_run(
        &mut self,
        snapshot: Value,
        decisions: Vec<Decision>,
        options: RunOptions,
        now_ms: u64,
    ) -> Result<RunId> {
        let trace_id = snapshot.get("traceId").and_then(Value::as_str).unwrap_or_default().to_owned();
        // Refuse a bad snapshot now, not after listing the tools.
        ToolLoop::restore(self.config.loop_config(), Arc::default(), &snapshot, decisions.clone())?;
        self.begin(Start::Snapshot(snapshot, decisions), trace_id, options, now_ms)
    }

    /// Cancels run `run`: its MCP calls in flight are cancelled (servers get `notifications/cancelled`), its
    /// model request is aborted, and it ends with status `cancelled` and `reason`.
    pub fn cancel_run(&mut self, run: RunId, reason: &str, now_ms: u64) -> Result<()> {
        self.now_ms = now_ms;
        let Some(r) = self.runs.get_mut(&run) else { return Err(Error::host(format!("run {run} is not active"))) };
        match &mut r.state {
            RunState::Looping(tool_loop) => tool_loop.cancel(reason),
            RunState::AwaitingCatalog(_) => {
                self.end_run(run);
                let result = RunResult { reason: Some(reason.to_owned()), ..RunResult::new(RunStatus::Cancelled) };
                self.out.push_back(Output::Done { run, result: Ok(result) });
            }
        }
        self.pump();
        Ok(())
    }

    pub(super) fn begin(&mut self, start: Start, trace_id: String, options: RunOptions, now_ms: u64) -> Result<RunId> {
        self.now_ms = now_ms;
        if self.closed {
            return Err(Error::cancelled("the agent is closed"));
        }
        if self.config.model.trim().is_empty() {
            return Err(Error::config("model is required to run a conversation"));
        }
        let run = self.next_run;
        self.next_run += 1;
        let deadline = self.config.run_timeout_ms.map(|after| {
            let id = self.effect_id();
            self.pending.insert(id, Pending::Deadline { run });
            self.out.push_back(Output::Effect(Effect::Timer { id, at_ms: now_ms.saturating_add(after) }));
            id
        });
        let resumed = matches!(start, Start::Snapshot(..));
        let event = Event::RunStarted { trace_id: Some(trace_id.clone()).filter(|t| !t.is_empty()), resumed };
        self.out.push_back(Output::Event { run: Some(run), event });
        let state = RunState::AwaitingCatalog(start);
        self.runs.insert(run, Run { trace_id, state, options, deadline });
        if self.catalog.is_some() && !self.catalog_outdated() {
            self.start_waiting_runs();
        } else {
            self.list_all();
        }
        self.pump();
        Ok(run)
    }

    /// After a step of `run` (a model answer, a tool result, a resume), its snapshot, when the run asked for
    /// them: taken before the step's effects are drained, so it goes out ahead of them (write-ahead).
    pub(super) fn step_snapshot(&mut self, run: RunId) {
        let Some(Run { state: RunState::Looping(tool_loop), options, trace_id, .. }) = self.runs.get(&run) else {
            return;
        };
        if options.snapshots && !tool_loop.is_done() {
            let snapshot = run_snapshot(tool_loop, trace_id);
            self.out.push_back(Output::Snapshot { run, snapshot });
        }
    }

    pub(super) fn model_event(&mut self, event: ModelEvent) {
        let (call, result) = match event {
            ModelEvent::Done { call, result } => (call, result),
            ModelEvent::Delta { call, delta } => {
                let Some((run, turn)) = self.turn_of(call) else { return };
                return self.out.push_back(Output::Event { run: Some(run), event: Event::TextDelta { turn, delta } });
            }
            ModelEvent::Retrying { call, attempt, delay_ms, error } => {
                let Some((run, turn)) = self.turn_of(call) else { return };
                let event = Event::ModelRetry { turn, attempt, delay_ms, error: error.to_string() };
                return self.out.push_back(Output::Event { run: Some(run), event });
            }
        };
        let Some((run, effect)) = self.model_calls.remove(&call) else { return };
        if let Some(Run { state: RunState::Looping(tool_loop), .. }) = self.runs.get_mut(&run) {
            // The loop asked for exactly this effect, so it cannot refuse it.
            let _ = tool_loop.handle_model_response(effect, result);
            self.step_snapshot(run);
        }
    }

    /// The run and turn of model request `call`.
    pub(super) fn turn_of(&self, call: u64) -> Option<(RunId, u32)> {
        let (run, _) = *self.model_calls.get(&call)?;
        match &self.runs.get(&run)?.state {
            RunState::Looping(tool_loop) => Some((run, tool_loop.turn())),
            RunState::AwaitingCatalog(_) => None,
        }
    }

    /// Forgets a run's deadline; the run itself is removed by the caller.
    pub(super) fn end_run(&mut self, run: RunId) -> Option<Run> {
        let r = self.runs.remove(&run)?;
        if let Some(id) = r.deadline.filter(|id| self.pending.remove(id).is_some()) {
            self.out.push_back(Output::Effect(Effect::Cancel { id }));
        }
        Some(r)
    }

    pub(super) fn loop_output(&mut self, run: RunId, output: LoopOutput) {
        match output {
            LoopOutput::Effect(LoopEffect::CallModel { id, request }) => {
                if self.catalog_outdated() {
                    // Tools changed (or their listing expired): list again before the model sees them.
                    self.parked.push((run, id, request));
                    self.list_all();
                } else {
                    self.call_model(run, id, request);
                }
            }
            LoopOutput::Effect(LoopEffect::CallTool { id, call_id, server, tool, arguments }) => {
                match self.servers.iter().position(|s| s.name() == server) {
                    Some(index) => {
                        let op = self.servers[index].call_tool(&tool, arguments, true, self.now_ms);
                        let started_ms = self.now_ms;
                        self.tool_ops.insert((index, op), ToolOp { run, effect: id, call_id, started_ms });
                    }
                    None => self.feed_tool(run, id, ToolResult::Failed(format!("no server named '{server}'"))),
                }
            }
            LoopOutput::Effect(LoopEffect::Cancel { id }) => self.cancel_effect(run, id),
            LoopOutput::Event(Event::ToolCallFinished { call_id, name, server, tool, output, is_error, .. }) => {
                let duration_ms = self.durations.remove(&(run, call_id.clone()));
                let event = Event::ToolCallFinished { call_id, name, server, tool, duration_ms, output, is_error };
                self.out.push_back(Output::Event { run: Some(run), event });
            }
            LoopOutput::Event(event) => self.out.push_back(Output::Event { run: Some(run), event }),
            LoopOutput::Paused(pending) => {
                let Some(r) = self.end_run(run) else { return };
                let RunState::Looping(tool_loop) = r.state else { return };
                let snapshot = run_snapshot(&tool_loop, &r.trace_id);
                let mut result = tool_loop.into_result(RunStatus::AwaitingApproval);
                result.snapshot = Some(snapshot);
                result.pending = pending;
                result.trace_id = Some(r.trace_id).filter(|t| !t.is_empty());
                self.out.push_back(Output::Done { run, result: Ok(result) });
            }
            LoopOutput::Done(result) => {
                let trace_id = self.end_run(run).map(|r| r.trace_id);
                let result = result.map(|mut r| {
                    r.trace_id = trace_id.filter(|t| !t.is_empty());
                    r
                });
                self.out.push_back(Output::Done { run, result });
            }
            LoopOutput::Wait => {}
        }
    }

    /// Stops what a cancelled run's loop effect `effect` started: its MCP call, model request or parked request.
    pub(super) fn cancel_effect(&mut self, run: RunId, effect: u64) {
        let tool = self.tool_ops.iter().find(|(_, t)| t.run == run && t.effect == effect).map(|(key, _)| *key);
        if let Some((server, op)) = tool {
            self.tool_ops.remove(&(server, op));
            self.servers[server].cancel(op, "the run was cancelled", self.now_ms);
        }
        let model = self.model_calls.iter().find(|(_, v)| *v == (run, effect)).map(|(call, _)| *call);
        if let Some(call) = model {
            self.model_calls.remove(&call);
            self.model.cancel(call);
        }
        self.parked.retain(|(r, e, _)| (*r, *e) != (run, effect));
    }

    pub(super) fn call_model(&mut self, run: RunId, effect: u64, request: ModelRequest) {
        let Some(Run { trace_id, state: RunState::Looping(tool_loop), .. }) = self.runs.get(&run) else { return };
        let span = Span { trace_id: trace_id.clone(), turn: tool_loop.turn() };
        let call = self.model.send(&request, &span, self.now_ms);
        self.model_calls.insert(call, (run, effect));
    }

    pub(super) fn tool_result(&mut self, server: usize, op: OpId, result: ToolResult) {
        if let Some(ToolOp { run, effect, call_id, started_ms }) = self.tool_ops.remove(&(server, op)) {
            self.durations.insert((run, call_id), self.now_ms.saturating_sub(started_ms));
            self.feed_tool(run, effect, result);
        }
    }

    pub(super) fn feed_tool(&mut self, run: RunId, effect: u64, result: ToolResult) {
        if let Some(Run { state: RunState::Looping(tool_loop), .. }) = self.runs.get_mut(&run) {
            // The loop asked for exactly this effect, so it cannot refuse it.
            let _ = tool_loop.handle_tool_result(effect, result);
            self.step_snapshot(run);
        }
    }
}

/// A run's snapshot, with its trace id (so a resumed run stays in the same Portkey trace).
fn run_snapshot(tool_loop: &ToolLoop, trace_id: &str) -> Value {
    let mut snapshot = tool_loop.snapshot();
    if let Some(map) = snapshot.as_object_mut() {
        map.insert("traceId".into(), json!(trace_id));
    }
    snapshot
}
