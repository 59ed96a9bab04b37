//! The host task: it owns the driver, performs its effects with tokio (HTTP with reqwest, processes, timers),
//! and hands results to the callers waiting on them.

use super::http::perform;
use super::process::spawn_process;
use super::{CancellationToken, EventHandler, Hooks, InputRequest, ProgressHandler, RunOptions, SnapshotHandler};
use crate::agent::{self, Driver, Output, RunId};
use crate::base::error::{Error, Result};
use crate::base::io::{Effect, EffectId, StdioOp};
use crate::event::{PendingCall, RunResult, RunStatus};
use crate::tool_loop::Decision;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

/// What the host task can start on the driver.
pub(super) enum Work {
    Run { input: Value, trace_id: String },
    Resume { snapshot: Value, decisions: Vec<Decision> },
    ListTools { server: String },
    CallTool { server: String, name: String, arguments: Value },
}

impl Work {
    /// A new run of `input`, traced as the options say (or with a fresh trace id).
    pub(super) fn run(input: Value, options: &RunOptions) -> Work {
        Work::Run { input, trace_id: options.trace_id.clone().unwrap_or_else(new_trace_id) }
    }

    pub(super) fn start(self, driver: &mut Driver, options: agent::RunOptions, now: u64) -> Result<Job> {
        match self {
            Work::Run { input, trace_id } => driver.start_run(input, &trace_id, options, now).map(Job::Run),
            Work::Resume { snapshot, decisions } => driver.resume_run(snapshot, decisions, options, now).map(Job::Run),
            Work::ListTools { server } => driver.list_tools(&server, now).map(Job::Op),
            Work::CallTool { server, name, arguments } => driver.call_tool(&server, &name, arguments, now).map(Job::Op),
        }
    }
}

/// What the driver calls a piece of work: a run, or a direct operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Job {
    Run(RunId),
    Op(EffectId),
}

/// The handlers and settings of one piece of work.
#[derive(Default)]
pub(super) struct Options {
    pub(super) on_event: Option<EventHandler>,
    pub(super) on_progress: Option<ProgressHandler>,
    pub(super) on_snapshot: Option<SnapshotHandler>,
    pub(super) cancel: Option<CancellationToken>,
    pub(super) run: agent::RunOptions,
}

impl From<RunOptions> for Options {
    fn from(o: RunOptions) -> Options {
        let run = agent::RunOptions { stream: o.stream, snapshots: o.on_snapshot.is_some() };
        Options { on_event: o.on_event, on_progress: None, on_snapshot: o.on_snapshot, cancel: o.cancel, run }
    }
}

pub(super) const CANCELLED_BY_APP: &str = "cancelled by the application";

pub(super) enum Finished {
    Run(Box<RunResult>),
    Op(Value),
}

impl Finished {
    pub(super) fn into_run(self) -> Result<RunResult> {
        match self {
            Finished::Run(result) => Ok(*result),
            Finished::Op(_) => Err(Error::host("a run ended as an operation")),
        }
    }
}

pub(super) enum Command {
    Start { token: u64, work: Work, options: Options, reply: oneshot::Sender<Result<Finished>> },
    Cancel(u64, String),
    Close(oneshot::Sender<()>),
}

/// The caller's side of a host task.
pub(super) struct Handle {
    pub(super) commands: mpsc::UnboundedSender<Command>,
    pub(super) tokens: AtomicU64,
}

/// Cancels the work when the caller drops its future before the work is done.
pub(super) struct CancelOnDrop<'a> {
    handle: &'a Handle,
    token: u64,
    armed: bool,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.handle.commands.send(Command::Cancel(self.token, "the caller gave up".into()));
        }
    }
}

impl Handle {
    pub(super) fn start(driver: Driver, hooks: Hooks) -> Result<Handle> {
        Handle::start_with(driver, hooks, Vec::new())
    }

    pub(super) fn start_with(driver: Driver, hooks: Hooks, host_decides: Vec<String>) -> Result<Handle> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::config("mcp-loop's native host must be started inside a tokio runtime"))?;
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?;
        let (commands, receiver) = mpsc::unbounded_channel();
        runtime.spawn(Host::new(driver, http, hooks, host_decides).serve(receiver));
        Ok(Handle { commands, tokens: AtomicU64::new(1) })
    }

    /// Hands work to the host task; the receiver gets its end (at once, if the task is gone).
    pub(super) fn send(&self, work: Work, options: impl Into<Options>) -> (u64, oneshot::Receiver<Result<Finished>>) {
        let token = self.tokens.fetch_add(1, Ordering::Relaxed);
        let (reply, result) = oneshot::channel();
        let _ = self.commands.send(Command::Start { token, work, options: options.into(), reply });
        (token, result)
    }

    pub(super) async fn submit(&self, work: Work, options: impl Into<Options>) -> Result<Finished> {
        let mut options = options.into();
        let cancel = options.cancel.take();
        let (token, mut result) = self.send(work, options);
        let mut guard = CancelOnDrop { handle: self, token, armed: true };
        let outcome = match cancel {
            Some(cancel) => tokio::select! {
                outcome = &mut result => outcome,
                _ = cancel.cancelled() => {
                    let _ = self.commands.send(Command::Cancel(token, CANCELLED_BY_APP.into()));
                    (&mut result).await
                }
            },
            None => (&mut result).await,
        };
        guard.armed = false;
        outcome.unwrap_or_else(|_| Err(Error::cancelled("the host stopped")))
    }

    pub(super) async fn close(&self) {
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::Close(reply)).is_ok() {
            let _ = done.await;
        }
    }
}

pub(super) enum Input {
    Head(EffectId, u16, Vec<(String, String)>),
    Chunk(EffectId, Vec<u8>),
    End(EffectId),
    Failed(EffectId, String),
    Timer(EffectId),
    Stdout(EffectId, Vec<u8>),
    Stderr(EffectId, Vec<u8>),
    Exit(EffectId, String),
    Answer(EffectId, std::result::Result<Value, String>),
    /// Header values a headers hook gave for a request to this server.
    Secrets(String, Vec<String>),
}

pub(super) struct Slot {
    token: u64,
    /// The run's options, for a run the host resumes itself.
    flags: agent::RunOptions,
    reply: oneshot::Sender<Result<Finished>>,
    on_event: Option<EventHandler>,
    on_progress: Option<ProgressHandler>,
    on_snapshot: Option<SnapshotHandler>,
}

pub(super) struct Host {
    driver: Driver,
    http: reqwest::Client,
    hooks: Hooks,
    /// The servers whose pending calls `hooks.approve` decides.
    host_decides: Vec<String>,
    inputs_tx: mpsc::UnboundedSender<Input>,
    inputs: mpsc::UnboundedReceiver<Input>,
    tasks: HashMap<EffectId, AbortHandle>,
    /// stdin of each server process; dropping it closes the pipe.
    processes: HashMap<EffectId, mpsc::UnboundedSender<String>>,
    /// Work in progress, by the machine's run or operation id.
    slots: HashMap<Job, Slot>,
    closing: Vec<oneshot::Sender<()>>,
}

impl Host {
    fn new(driver: Driver, http: reqwest::Client, hooks: Hooks, host_decides: Vec<String>) -> Host {
        let (inputs_tx, inputs) = mpsc::unbounded_channel();
        Host {
            driver,
            http,
            hooks,
            host_decides,
            inputs_tx,
            inputs,
            tasks: HashMap::new(),
            processes: HashMap::new(),
            slots: HashMap::new(),
            closing: Vec::new(),
        }
    }

    async fn serve(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut accepting = true;
        loop {
            if self.drain() && (!accepting || !self.closing.is_empty()) {
                for reply in self.closing.drain(..) {
                    let _ = reply.send(());
                }
                if !accepting {
                    return;
                }
            }
            tokio::select! {
                command = commands.recv(), if accepting => match command {
                    Some(Command::Start { token, work, options, reply }) => {
                        match work.start(&mut self.driver, options.run, now_ms()) {
                            Ok(id) => {
                                let Options { on_event, on_progress, on_snapshot, run: flags, .. } = options;
                                let slot = Slot { token, flags, reply, on_event, on_progress, on_snapshot };
                                self.slots.insert(id, slot);
                            }
                            Err(e) => {
                                let _ = reply.send(Err(e));
                            }
                        }
                    }
                    Some(Command::Cancel(token, reason)) => {
                        if let Some((id, _)) = self.slots.iter().find(|(_, s)| s.token == token) {
                            let _ = match *id {
                                Job::Run(run) => self.driver.cancel_run(run, &reason, now_ms()),
                                Job::Op(op) => self.driver.cancel_op(op, &reason, now_ms()),
                            };
                        }
                    }
                    Some(Command::Close(reply)) => {
                        self.closing.push(reply);
                        self.driver.close(now_ms());
                    }
                    None => {
                        accepting = false;
                        self.driver.close(now_ms());
                    }
                },
                Some(input) = self.inputs.recv() => self.feed(input),
            }
        }
    }

    /// Drains the machine; returns true when it is idle.
    fn drain(&mut self) -> bool {
        loop {
            match self.driver.poll_output() {
                Output::Effect(effect) => self.perform(effect),
                Output::Event { run: Some(run), event } => {
                    if let Some(handler) = self.slots.get_mut(&Job::Run(run)).and_then(|slot| slot.on_event.as_mut()) {
                        handler(&event);
                    }
                }
                Output::Event { run: None, event } => {
                    for handler in self.slots.values_mut().filter_map(|slot| slot.on_event.as_mut()) {
                        handler(&event);
                    }
                }
                Output::InputRequest { id, server, method, params, .. } => self.ask(id, server, method, params),
                Output::Snapshot { run, snapshot } => {
                    if let Some(handler) = self.slots.get_mut(&Job::Run(run)).and_then(|slot| slot.on_snapshot.as_mut())
                    {
                        handler(&snapshot);
                    }
                }
                Output::Done { run, result: Ok(result) } if result.status == RunStatus::AwaitingApproval => {
                    self.paused(run, result)
                }
                Output::Done { run, result } => self.finish(Job::Run(run), result.map(|r| Finished::Run(Box::new(r)))),
                Output::OpDone { op, result } => self.finish(Job::Op(op), result.map(Finished::Op)),
                Output::OpProgress { op, progress, total, message } => {
                    if let Some(handler) = self.slots.get_mut(&Job::Op(op)).and_then(|slot| slot.on_progress.as_mut()) {
                        handler(progress, total, message.as_deref());
                    }
                }
                Output::Wait => return false,
                Output::Idle => return true,
            }
        }
    }

    /// A paused run: the approve hook waves through what it need not ask about, and the run goes on at once
    /// under the same caller; if a person must decide anything, the pause is the result.
    fn paused(&mut self, run: RunId, mut result: RunResult) {
        let hook = self.hooks.approve.clone();
        let decides = |call: &PendingCall| self.host_decides.contains(&call.server);
        let approved: Vec<Decision> = match (&hook, &result.snapshot) {
            (Some(hook), Some(_)) => result
                .pending
                .iter()
                // A hook that panics leaves the call to a person: the safe side.
                .filter(|call| {
                    decides(call)
                        && !std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(call))).unwrap_or(true)
                })
                .map(|call| Decision { call_id: call.call_id.clone(), approved: true, reason: None })
                .collect(),
            _ => Vec::new(),
        };
        // Moved, not copied: the result is done with once the run goes on.
        let snapshot = match result.snapshot.take() {
            Some(snapshot) if !approved.is_empty() && self.slots.contains_key(&Job::Run(run)) => snapshot,
            snapshot => {
                return self.finish(Job::Run(run), Ok(Finished::Run(Box::new(RunResult { snapshot, ..result }))));
            }
        };
        let Some(slot) = self.slots.remove(&Job::Run(run)) else { return };
        match self.driver.resume_run(snapshot, approved, slot.flags, now_ms()) {
            Ok(next) => {
                self.slots.insert(Job::Run(next), slot);
            }
            Err(e) => {
                let _ = slot.reply.send(Err(e));
            }
        }
    }

    fn finish(&mut self, id: Job, result: Result<Finished>) {
        if let Some(slot) = self.slots.remove(&id) {
            let _ = slot.reply.send(result);
        }
    }

    fn ask(&mut self, id: EffectId, server: String, method: String, params: Value) {
        let inputs = self.inputs_tx.clone();
        match &self.hooks.on_input {
            Some(handler) => {
                let answer = handler(InputRequest { server, method, params });
                tokio::spawn(async move {
                    let _ = inputs.send(Input::Answer(id, answer.await));
                });
            }
            None => {
                let _ = inputs.send(Input::Answer(id, Err(format!("no handler for {method}"))));
            }
        }
    }

    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::Http { id, mut request, server } => {
                let (http, inputs) = (self.http.clone(), self.inputs_tx.clone());
                let hook = server.and_then(|server| self.hooks.headers.clone().map(|hook| (hook, server)));
                let task = tokio::spawn(async move {
                    if let Some((hook, server)) = hook {
                        match hook(server.clone()).await {
                            Ok(extra) => {
                                // The driver redacts them from every message, as it does configured header values.
                                let values = extra.iter().map(|(_, value)| value.clone()).collect();
                                let _ = inputs.send(Input::Secrets(server, values));
                                request.headers.extend(extra);
                            }
                            Err(_) => {
                                // Not its text: that may carry the very credential the hook was fetching.
                                let _ = inputs.send(Input::Failed(id, "the headers hook failed".into()));
                                return;
                            }
                        }
                    }
                    perform(http, id, request, inputs).await
                });
                self.tasks.insert(id, task.abort_handle());
            }
            Effect::Timer { id, at_ms } => {
                let inputs = self.inputs_tx.clone();
                let delay = Duration::from_millis(at_ms.saturating_sub(now_ms()));
                let task = tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = inputs.send(Input::Timer(id));
                });
                self.tasks.insert(id, task.abort_handle());
            }
            Effect::Cancel { id } => {
                if let Some(task) = self.tasks.remove(&id) {
                    task.abort();
                }
            }
            Effect::Stdio { id, op } => self.stdio(id, op),
        }
    }

    fn feed(&mut self, input: Input) {
        let now = now_ms();
        // An input for an effect that was cancelled meanwhile is refused by the driver; that race is harmless.
        let driver = &mut self.driver;
        let _ = match input {
            Input::Head(id, status, headers) => driver.handle_http_head(id, status, &headers, now),
            Input::Chunk(id, bytes) => driver.handle_http_chunk(id, &bytes, now),
            Input::End(id) => {
                self.tasks.remove(&id);
                driver.handle_http_end(id, now)
            }
            Input::Failed(id, message) => {
                self.tasks.remove(&id);
                driver.handle_http_error(id, &message, now)
            }
            Input::Timer(id) => {
                self.tasks.remove(&id);
                driver.handle_timer(id, now)
            }
            Input::Stdout(id, bytes) => driver.handle_stdio_stdout(id, &bytes, now),
            Input::Stderr(id, bytes) => driver.handle_stdio_stderr(id, &bytes, now),
            Input::Exit(id, reason) => {
                self.processes.remove(&id);
                driver.handle_stdio_exit(id, &reason, now)
            }
            Input::Answer(id, outcome) => driver.answer_input(id, outcome, now),
            Input::Secrets(server, values) => driver.add_secrets(&server, values).map(|()| true),
        };
    }

    fn stdio(&mut self, id: EffectId, op: StdioOp) {
        match op {
            StdioOp::Spawn { command, args, inherit, env, cwd } => {
                let inputs = self.inputs_tx.clone();
                match spawn_process(id, &command, &args, &inherit, &env, cwd.as_deref(), inputs.clone()) {
                    Ok(stdin) => {
                        self.processes.insert(id, stdin);
                    }
                    Err(e) => {
                        let _ = inputs.send(Input::Exit(id, format!("could not start: {e}")));
                    }
                }
            }
            StdioOp::Write { line } => {
                if let Some(stdin) = self.processes.get(&id) {
                    let _ = stdin.send(line);
                }
            }
            // Dropping the sender closes stdin; the process task then waits, kills if needed, and reaps.
            StdioOp::Close => {
                self.processes.remove(&id);
            }
        }
    }
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A trace id unique enough for Portkey's logs: time plus the process-wide random hasher state.
pub(super) fn new_trace_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(now_ms());
    hasher.write_u32(std::process::id());
    format!("mcp-loop-{:016x}{:08x}", hasher.finish(), now_ms() as u32)
}
