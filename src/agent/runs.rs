//! Runs: started or resumed once the catalog is there, their loops' outputs turned into MCP calls and model
//! requests, and ended (done, paused, cancelled, timed out).

use super::{Driver, Output, RunId, RunOptions};
use crate::base::error::{Error, Result};
use crate::base::io::{Effect, EffectId, OpId, Owner};
use crate::base::mix::mix;
use crate::event::{Event, PendingCall, RunResult, RunStatus};
use crate::model::{ModelEvent, Span};
use crate::tool_loop::{self, Approve, Decision, LoopEffect, LoopOutput, ToolLoop, ToolResult};
use crate::wire::responses::ModelRequest;
use serde_json::Value;
use std::sync::Arc;

/// How a run begins once the catalog is there: the user's input, the stored response it continues from and its
/// trace id, or a snapshot (which holds its trace id) with decisions.
#[derive(Debug, Clone)]
pub(super) enum Start {
    Input { input: Value, previous: Option<String>, trace_id: String },
    Snapshot(Value, Vec<Decision>),
}

#[derive(Debug, Clone)]
pub(super) enum RunState {
    AwaitingCatalog(Start),
    Looping(Box<ToolLoop>),
}

#[derive(Debug, Clone)]
pub(super) struct Run {
    pub(super) state: RunState,
    pub(super) options: RunOptions,
    /// The deadline's timer, when the run has one (its id names the run: [`Owner::Run`]).
    pub(super) deadline: Option<EffectId>,
    /// Calls under the `host` policy that the host's function left to a person (not asked about again).
    pub(super) referred: Vec<String>,
    /// A pause waiting for the host's approval answers.
    pub(super) asking: Option<Asking>,
}

/// A pause of a run whose calls under the `host` policy wait for the host's function.
#[derive(Debug, Clone)]
pub(super) struct Asking {
    /// Every call the loop paused for.
    pending: Vec<PendingCall>,
    /// The questions still open: id and call.
    open: Vec<(EffectId, String)>,
    /// The calls the function waved through so far.
    approved: Vec<Decision>,
}

impl Driver {
    /// Starts a run with the user's `input` (text or input items), continuing the conversation of
    /// `options.previous_response_id` or `options.history` when given.
    pub fn start_run(&mut self, input: Value, mut options: RunOptions, now_ms: u64) -> Result<RunId> {
        tool_loop::validate_input(&input)?;
        let previous = options.previous_response_id.take();
        let history = std::mem::take(&mut options.history);
        if previous.is_some() && !history.is_empty() {
            return Err(Error::config("a run continues by previousResponseId or by history, not both"));
        }
        tool_loop::validate_previous(&self.config.loop_config(), previous.as_deref())?;
        let input = tool_loop::after_history(history, input)?;
        let trace_id = options.trace_id.clone().unwrap_or_else(|| self.trace_id(self.next_run));
        self.begin(Start::Input { input, previous, trace_id: trace_id.clone() }, trace_id, options, now_ms)
    }

    /// A trace id for run `run`: `mcp-loop-` and 32 hex digits, from the host's entropy.
    fn trace_id(&self, run: RunId) -> String {
        let high = mix(self.entropy ^ mix(run));
        format!("mcp-loop-{high:016x}{:016x}", mix(high ^ self.entropy))
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
        // Refuse a bad snapshot now, not after listing the tools.
        let probe = ToolLoop::restore(self.config.loop_config(), Arc::default(), &snapshot, decisions.clone(), now_ms)?;
        let trace_id = probe.trace_id().to_owned();
        self.begin(Start::Snapshot(snapshot, decisions), trace_id, options, now_ms)
    }

    /// Cancels run `run`: its MCP calls in flight are cancelled (servers get `notifications/cancelled`), its
    /// model request is aborted, and it ends with status `cancelled` and `reason`. `Ok(false)` when the run has
    /// already ended.
    pub fn cancel_run(&mut self, run: RunId, reason: &str, now_ms: u64) -> Result<bool> {
        self.now_ms = now_ms;
        if self.end_asking(run) {
            // A pause waiting for the host's answers is already a safe stop: it is the result.
            self.pump();
            return Ok(true);
        }
        let Some(r) = self.runs.get_mut(&run) else { return self.late(EffectId::new(Owner::Run(run), 0)) };
        match &mut r.state {
            RunState::Looping(tool_loop) => tool_loop.cancel(reason),
            RunState::AwaitingCatalog(_) => {
                self.end_run(run);
                let result = RunResult { reason: Some(reason.to_owned()), ..RunResult::new(RunStatus::Cancelled) };
                self.out.push_back(Output::Done { run, result: Ok(result) });
            }
        }
        self.pump();
        Ok(true)
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
            let id = EffectId::new(Owner::Run(run), 0);
            self.effect(Effect::Timer { id, at_ms: now_ms.saturating_add(after) });
            id
        });
        let resumed = matches!(start, Start::Snapshot(..));
        let event = Event::RunStarted { trace_id: Some(trace_id).filter(|t| !t.is_empty()), resumed };
        self.out.push_back(Output::Event { run: Some(run), event });
        let state = RunState::AwaitingCatalog(start);
        self.runs.insert(run, Run { state, options, deadline, referred: Vec::new(), asking: None });
        if self.catalog.is_some() && !self.catalog_outdated() {
            self.start_waiting_runs();
        } else {
            self.list_all();
        }
        self.pump();
        Ok(run)
    }

    /// The deadline of `run` passed: it ends `cancelled`.
    pub(super) fn deadline(&mut self, run: RunId) -> bool {
        let Some(r) = self.runs.get_mut(&run) else { return false };
        r.deadline = None;
        let reason = format!("the run took longer than runTimeoutMs ({} ms)", self.config.run_timeout_ms.unwrap_or(0));
        let _ = self.cancel_run(run, &reason, self.now_ms);
        true
    }

    /// After a step of `run` (a model answer, a tool result, a resume), its snapshot, when the run asked for
    /// them: taken before the step's effects are drained, so it goes out ahead of them (write-ahead).
    pub(super) fn step_snapshot(&mut self, run: RunId) {
        let Some(Run { state: RunState::Looping(tool_loop), options, .. }) = self.runs.get(&run) else { return };
        if options.snapshots && !tool_loop.is_done() {
            let snapshot = tool_loop.snapshot();
            self.out.push_back(Output::Snapshot { run, snapshot });
        }
    }

    pub(super) fn model_event(&mut self, event: ModelEvent) {
        match event {
            ModelEvent::Done { call, result } if call.run == 0 => self.direct_model_done(call, result),
            ModelEvent::Done { call, result } => {
                if let Some(Run { state: RunState::Looping(tool_loop), .. }) = self.runs.get_mut(&call.run) {
                    // The loop asked for exactly this call, so it takes the answer.
                    let _ = tool_loop.handle_model_response(call.id, result, self.now_ms);
                    self.step_snapshot(call.run);
                }
            }
            ModelEvent::Delta { call, delta } => self.turn_event(call.run, |turn| Event::TextDelta { turn, delta }),
            ModelEvent::Retrying { call, attempt, delay_ms, error } => self
                .turn_event(call.run, |turn| Event::ModelRetry { turn, attempt, delay_ms, error: error.to_string() }),
        }
    }

    /// An event of `run`'s current turn.
    fn turn_event(&mut self, run: RunId, event: impl FnOnce(u32) -> Event) {
        if let Some(Run { state: RunState::Looping(tool_loop), .. }) = self.runs.get(&run) {
            let event = event(tool_loop.turn());
            self.out.push_back(Output::Event { run: Some(run), event });
        }
    }

    /// Forgets a run and stops its deadline; returns it.
    pub(super) fn end_run(&mut self, run: RunId) -> Option<Run> {
        let r = self.runs.remove(&run)?;
        if let Some(id) = r.deadline {
            self.effect(Effect::Cancel { id });
        }
        self.parked.retain(|p| *p != run);
        self.questions.retain(|_, r| *r != run);
        Some(r)
    }

    pub(super) fn loop_output(&mut self, run: RunId, output: LoopOutput) {
        match output {
            LoopOutput::Effect(LoopEffect::CallModel { id, request }) => {
                if self.catalog_outdated() {
                    // Tools changed (or their listing expired): list again before the model sees them.
                    self.parked.push(run);
                    self.list_all();
                } else {
                    self.send_turn(run, id, &request);
                }
            }
            LoopOutput::Effect(LoopEffect::CallTool { id, server, tool, arguments, .. }) => {
                let op = OpId { run, id };
                match self.server_index(&server) {
                    Some(i) => self.servers[i].call_tool(op, &tool, arguments, true, self.now_ms),
                    None => self.tool_result(op, ToolResult::Failed(format!("no server named '{server}'"))),
                }
            }
            LoopOutput::Effect(LoopEffect::Cancel { id }) => {
                // The model client or one server has it in flight, or it waits for the catalog.
                let (op, now) = (OpId { run, id }, self.now_ms);
                let _ = self.model.cancel(op)
                    || self.servers.iter_mut().any(|s| s.cancel(op, "the run was cancelled", now));
                self.parked.retain(|p| *p != run);
            }
            LoopOutput::Event(event) => self.out.push_back(Output::Event { run: Some(run), event }),
            LoopOutput::Paused(pending) => self.paused(run, pending),
            LoopOutput::Done(result) => {
                self.end_run(run);
                self.out.push_back(Output::Done { run, result });
            }
            LoopOutput::Wait => {}
        }
    }

    pub(super) fn send_turn(&mut self, run: RunId, id: EffectId, request: &ModelRequest) {
        let Some(Run { state: RunState::Looping(tool_loop), .. }) = self.runs.get(&run) else { return };
        let span = Span { trace_id: tool_loop.trace_id().to_owned(), turn: tool_loop.turn() };
        self.model.send(OpId { run, id }, request, &span, self.now_ms);
    }

    pub(super) fn tool_result(&mut self, op: OpId, result: ToolResult) {
        if let Some(Run { state: RunState::Looping(tool_loop), .. }) = self.runs.get_mut(&op.run) {
            // The loop asked for exactly this call, so it takes the result.
            let _ = tool_loop.handle_tool_result(op.id, result, self.now_ms);
            self.step_snapshot(op.run);
        }
    }

    /// `run` paused for `pending`: the calls under the `host` policy go to the host's function first (each at
    /// most once per run); the run's result is the pause only when a person must decide.
    fn paused(&mut self, run: RunId, pending: Vec<PendingCall>) {
        let Some(r) = self.runs.get(&run) else { return };
        let asks: Vec<PendingCall> = pending
            .iter()
            .filter(|c| self.host_decides(&c.server) && !r.referred.contains(&c.call_id))
            .cloned()
            .collect();
        if asks.is_empty() {
            return self.end_paused(run, pending);
        }
        let mut open = Vec::with_capacity(asks.len());
        for call in asks {
            let id = self.ids.id();
            self.questions.insert(id, run);
            open.push((id, call.call_id.clone()));
            self.out.push_back(Output::ApprovalRequest { id, run, call });
        }
        if let Some(r) = self.runs.get_mut(&run) {
            r.asking = Some(Asking { pending, open, approved: Vec::new() });
        }
    }

    /// The host's answer to [`Output::ApprovalRequest`] `id`: whether a person must decide the call. Once every
    /// call of the pause is answered, the ones waved through run; the run pauses again for the rest when they
    /// are done.
    pub fn answer_approval(&mut self, id: EffectId, needs_person: bool, now_ms: u64) -> Result<bool> {
        self.now_ms = now_ms;
        let Some(run) = self.questions.remove(&id) else { return self.late(id) };
        let Some(r) = self.runs.get_mut(&run) else { return Ok(false) };
        let Some(asking) = r.asking.as_mut() else { return Ok(false) };
        let Some(at) = asking.open.iter().position(|(q, _)| *q == id) else { return Ok(false) };
        let (_, call_id) = asking.open.swap_remove(at);
        match needs_person {
            true => r.referred.push(call_id),
            false => asking.approved.push(Decision { call_id, approved: true, reason: None }),
        }
        if asking.open.is_empty() {
            let Some(Asking { pending, approved, .. }) = r.asking.take() else { return Ok(true) };
            match (&mut r.state, approved.is_empty()) {
                (RunState::Looping(tool_loop), false) => {
                    // Only calls the loop paused for, each once: the loop takes them.
                    let _ = tool_loop.decide_all(approved, now_ms);
                    self.step_snapshot(run);
                }
                _ => self.end_paused(run, pending),
            }
        }
        self.pump();
        Ok(true)
    }

    /// Ends `run` with its pause if it waits for the host's approval answers; says whether it did.
    pub(super) fn end_asking(&mut self, run: RunId) -> bool {
        let Some(asking) = self.runs.get_mut(&run).and_then(|r| r.asking.take()) else { return false };
        self.end_paused(run, asking.pending);
        true
    }

    /// Ends `run` paused for `pending`: its result carries its snapshot, to resume it anywhere.
    fn end_paused(&mut self, run: RunId, pending: Vec<PendingCall>) {
        let Some(Run { state: RunState::Looping(tool_loop), .. }) = self.end_run(run) else { return };
        self.out.push_back(Output::Done { run, result: Ok(tool_loop.into_paused(pending)) });
    }

    /// Whether the calls to `server` wait for the host's function (the `host` approval policy).
    fn host_decides(&self, server: &str) -> bool {
        let policy = self.config.servers.iter().find(|s| s.name() == server).and_then(|s| s.approve);
        policy.unwrap_or(self.config.approve) == Approve::Host
    }
}
