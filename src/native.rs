//! The native host (feature `native`): tokio performs the core's effects with reqwest, child processes,
//! timers and aborts.
//!
//! An [`Agent`] owns one driver in a background task, so several runs may share it concurrently:
//!
//! ```no_run
//! # async fn demo() -> mcp_loop::Result<()> {
//! use mcp_loop::native::Agent;
//! use mcp_loop::AgentConfig;
//!
//! let config = AgentConfig::from_json(&serde_json::json!({
//!     "model": "gpt-4.1",
//!     "portkey": { "apiKey": "pk-…", "provider": "openai" },
//!     "servers": [{ "name": "intranet", "url": "http://127.0.0.1:8000/mcp" }]
//! }))?;
//! let agent = Agent::new(config)?;
//! let result = agent.run("What is on my calendar today?").await?;
//! println!("{}", result.output_text);
//! agent.close().await;
//! # Ok(()) }
//! ```
//!
//! [`McpConnection`] is MCP alone: one server, its tools listed and called directly (the same driver, with no
//! model).

use crate::driver::{self, AgentConfig, Driver, Effect, Output};
use crate::error::{Error, Result};
use crate::event::{Event, PendingCall, RunResult, RunStatus};
use crate::http::HttpRequest;
use crate::mcp::{ServerConfig, StdioOp};
use crate::tool_loop::Approve;
use crate::tool_loop::Decision;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
pub use tokio_util::sync::CancellationToken;

/// Called with every event of a run (and with agent-level events while the run is active).
pub type EventHandler = Box<dyn FnMut(&Event) + Send>;

/// Called with the run's snapshot after every step (see [`RunOptions::on_snapshot`]).
pub type SnapshotHandler = Box<dyn FnMut(&Value) + Send>;

/// Called with the progress of a direct tool call: progress, total, message.
pub type ProgressHandler = Box<dyn FnMut(f64, Option<f64>, Option<&str>) + Send>;

/// What an MCP server asks the application (`elicitation/create`, `sampling/createMessage`, `roots/list`).
#[derive(Debug, Clone)]
pub struct InputRequest {
    /// The server asking.
    pub server: String,
    /// The method.
    pub method: String,
    /// Its params, verbatim.
    pub params: Value,
}

/// Answers [`InputRequest`]s: the result object, or a refusal with a message.
pub type InputHandler =
    Arc<dyn Fn(InputRequest) -> Pin<Box<dyn Future<Output = std::result::Result<Value, String>> + Send>> + Send + Sync>;

/// Gives extra headers for a server (by name) before every request to it: rotating tokens. An error fails
/// that request, with the message.
pub type HeadersHook = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = std::result::Result<Vec<(String, String)>, String>> + Send>>
        + Send
        + Sync,
>;

/// What the application plugs into a host.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Answers what servers ask. Only the capabilities marked in each server's `capabilities` are declared.
    pub on_input: Option<InputHandler>,
    /// Headers asked for before every request to an HTTP server.
    pub headers: Option<HeadersHook>,
    /// For servers whose approval policy is `host`: says per call whether a person must decide (`true`); the
    /// calls it waves through run at once, and the run pauses only for the others.
    pub approve: Option<ApproveHook>,
}

/// Decides whether a call needs a person's decision (see [`Hooks::approve`]).
pub type ApproveHook = Arc<dyn Fn(&PendingCall) -> bool + Send + Sync>;

/// How long a stdio server gets to exit after its stdin closes, before it is killed.
const STDIO_GRACE: Duration = Duration::from_secs(2);

/// Options for one run.
#[derive(Default)]
pub struct RunOptions {
    /// The Portkey trace id; one is made when absent (a resumed run keeps its snapshot's).
    pub trace_id: Option<String>,
    /// Receives the run's events as they happen.
    pub on_event: Option<EventHandler>,
    /// Ask for streamed responses: the model's text arrives as [`Event::TextDelta`] events.
    pub stream: bool,
    /// Receives the run's snapshot after every step: keep the latest to resume the run after a crash.
    pub on_snapshot: Option<SnapshotHandler>,
    /// Cancelling it ends the run with status `cancelled` (MCP calls in flight get `notifications/cancelled`).
    pub cancel: Option<CancellationToken>,
}

/// What [`Agent::stream`] yields: the run's events, then its end.
#[derive(Debug)]
pub enum RunEvent {
    /// A step of the run.
    Event(Event),
    /// The run is over (the last item).
    Done(Result<RunResult>),
}

/// An agent: the model, its Portkey route and its MCP servers, with sessions kept across runs.
pub struct Agent {
    handle: Handle,
}

impl Agent {
    /// Validates `config` and starts the agent's task. Must be called inside a tokio runtime.
    pub fn new(config: AgentConfig) -> Result<Agent> {
        Agent::with_hooks(config, Hooks::default())
    }

    /// Like [`Agent::new`], with hooks (answers to what servers ask, headers per request).
    pub fn with_hooks(config: AgentConfig, hooks: Hooks) -> Result<Agent> {
        if config.model.trim().is_empty() {
            return Err(Error::config("model is required"));
        }
        // The servers whose calls the approve hook decides.
        let host_decides: Vec<String> = config
            .servers
            .iter()
            .filter(|s| s.approve.unwrap_or(config.approve) == Approve::Host)
            .map(|s| s.name.clone())
            .collect();
        if host_decides.is_empty() != hooks.approve.is_none() {
            return Err(Error::config(
                "Hooks::approve and the approval policy 'host' go together: set both (for the agent or a server) or neither",
            ));
        }
        let driver = Driver::new(config)?;
        Ok(Agent { handle: Handle::start_with(driver, hooks, host_decides)? })
    }

    /// Runs one conversation to its end.
    pub async fn run(&self, input: impl Into<Value>) -> Result<RunResult> {
        self.run_with(input, RunOptions::default()).await
    }

    /// Runs one conversation with options (trace id, events, streaming, snapshots, cancellation).
    pub async fn run_with(&self, input: impl Into<Value>, options: RunOptions) -> Result<RunResult> {
        self.submit_run(Work::run(input.into(), &options), options).await
    }

    /// Continues a run from its snapshot (a paused run's `snapshot`, or one given to `on_snapshot`, by this
    /// process or any other host), with decisions for the calls waiting for approval.
    pub async fn resume(&self, snapshot: Value, decisions: Vec<Decision>, options: RunOptions) -> Result<RunResult> {
        self.submit_run(Work::Resume { snapshot, decisions }, options).await
    }

    /// Runs one conversation, streamed: its events as they happen, then [`RunEvent::Done`]. Dropping the
    /// stream early cancels the run.
    pub fn stream(&self, input: impl Into<Value>, mut options: RunOptions) -> RunStream {
        options.stream = true;
        let (events_tx, events) = mpsc::unbounded_channel();
        let mut on_event = options.on_event.take();
        options.on_event = Some(Box::new(move |event: &Event| {
            if let Some(handler) = on_event.as_mut() {
                handler(event);
            }
            let _ = events_tx.send(event.clone());
        }));
        let work = Work::run(input.into(), &options);
        let cancel = options.cancel.take().map(|c| Box::pin(c.cancelled_owned()));
        let (token, reply) = self.handle.send(work, options);
        RunStream { events: Some(events), reply: Some(reply), cancel, commands: self.handle.commands.clone(), token }
    }

    async fn submit_run(&self, work: Work, options: RunOptions) -> Result<RunResult> {
        self.handle.submit(work, options).await?.into_run()
    }

    /// Ends every run, closes the MCP sessions and processes, and waits until that is done.
    pub async fn close(&self) {
        self.handle.close().await;
    }
}

/// MCP alone: one server, its tools listed and called directly (both protocol eras, every transport).
pub struct McpConnection {
    handle: Handle,
    server: String,
}

impl McpConnection {
    /// Validates `config` and starts the connection's task; nothing is sent until the first call. Must be called
    /// inside a tokio runtime.
    pub fn new(config: ServerConfig, hooks: Hooks) -> Result<McpConnection> {
        let server = config.name.clone();
        let driver = Driver::new(AgentConfig { servers: vec![config], ..AgentConfig::default() })?;
        Ok(McpConnection { handle: Handle::start(driver, hooks)?, server })
    }

    /// Every tool of the server (all pages), verbatim.
    pub async fn list_tools(&self) -> Result<Vec<Value>> {
        match self.handle.submit(Work::ListTools { server: self.server.clone() }, Options::default()).await? {
            Finished::Op(Value::Array(tools)) => Ok(tools),
            _ => Err(Error::host("a listing ended without tools")),
        }
    }

    /// Calls a tool; its `CallToolResult`, verbatim. Dropping the future cancels the call on the server.
    pub async fn call_tool(&self, name: &str, arguments: Value, on_progress: Option<ProgressHandler>) -> Result<Value> {
        let work = Work::CallTool { server: self.server.clone(), name: name.to_owned(), arguments };
        match self.handle.submit(work, Options { on_progress, ..Options::default() }).await? {
            Finished::Op(result) => Ok(result),
            Finished::Run(_) => Err(Error::host("a call ended as a run")),
        }
    }

    /// Ends the session (DELETE, or the process), and waits until that is done.
    pub async fn close(&self) {
        self.handle.close().await;
    }
}

// ---- the host task ----

/// A stream of a run's events, then its end; see [`Agent::stream`].
pub struct RunStream {
    events: Option<mpsc::UnboundedReceiver<Event>>,
    reply: Option<oneshot::Receiver<Result<Finished>>>,
    cancel: Option<Pin<Box<tokio_util::sync::WaitForCancellationFutureOwned>>>,
    commands: mpsc::UnboundedSender<Command>,
    token: u64,
}

impl futures::Stream for RunStream {
    type Item = RunEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RunEvent>> {
        if self.cancel.as_mut().is_some_and(|c| c.as_mut().poll(cx).is_ready()) {
            self.cancel = None;
            let _ = self.commands.send(Command::Cancel(self.token, CANCELLED_BY_APP.into()));
        }
        // The host sends every event before the end and then drops the sender, so the events run out first.
        if let Some(events) = self.events.as_mut() {
            match events.poll_recv(cx) {
                Poll::Ready(Some(event)) => return Poll::Ready(Some(RunEvent::Event(event))),
                Poll::Ready(None) => self.events = None,
                Poll::Pending => return Poll::Pending,
            }
        }
        let Some(reply) = self.reply.as_mut() else { return Poll::Ready(None) };
        let Poll::Ready(result) = Pin::new(reply).poll(cx) else { return Poll::Pending };
        self.reply = None;
        let result = result.unwrap_or_else(|_| Err(Error::cancelled("the host stopped"))).and_then(Finished::into_run);
        Poll::Ready(Some(RunEvent::Done(result)))
    }
}

impl Drop for RunStream {
    fn drop(&mut self) {
        if self.reply.is_some() {
            let _ = self.commands.send(Command::Cancel(self.token, "the caller dropped the stream".into()));
        }
    }
}

/// What the host task can start on the driver.
enum Work {
    Run { input: Value, trace_id: String },
    Resume { snapshot: Value, decisions: Vec<Decision> },
    ListTools { server: String },
    CallTool { server: String, name: String, arguments: Value },
}

impl Work {
    /// A new run of `input`, traced as the options say (or with a fresh trace id).
    fn run(input: Value, options: &RunOptions) -> Work {
        Work::Run { input, trace_id: options.trace_id.clone().unwrap_or_else(new_trace_id) }
    }

    fn start(self, driver: &mut Driver, options: driver::RunOptions, now: u64) -> Result<u64> {
        match self {
            Work::Run { input, trace_id } => driver.start_run(input, &trace_id, options, now),
            Work::Resume { snapshot, decisions } => driver.resume_run(snapshot, decisions, options, now),
            Work::ListTools { server } => driver.list_tools(&server, now),
            Work::CallTool { server, name, arguments } => driver.call_tool(&server, &name, arguments, now),
        }
    }

    fn is_run(&self) -> bool {
        matches!(self, Work::Run { .. } | Work::Resume { .. })
    }
}

/// The handlers and settings of one piece of work.
#[derive(Default)]
struct Options {
    on_event: Option<EventHandler>,
    on_progress: Option<ProgressHandler>,
    on_snapshot: Option<SnapshotHandler>,
    cancel: Option<CancellationToken>,
    run: driver::RunOptions,
}

impl From<RunOptions> for Options {
    fn from(o: RunOptions) -> Options {
        let run = driver::RunOptions { stream: o.stream, snapshots: o.on_snapshot.is_some() };
        Options { on_event: o.on_event, on_progress: None, on_snapshot: o.on_snapshot, cancel: o.cancel, run }
    }
}

const CANCELLED_BY_APP: &str = "cancelled by the application";

enum Finished {
    Run(Box<RunResult>),
    Op(Value),
}

impl Finished {
    fn into_run(self) -> Result<RunResult> {
        match self {
            Finished::Run(result) => Ok(*result),
            Finished::Op(_) => Err(Error::host("a run ended as an operation")),
        }
    }
}

enum Command {
    Start { token: u64, work: Work, options: Options, reply: oneshot::Sender<Result<Finished>> },
    Cancel(u64, String),
    Close(oneshot::Sender<()>),
}

/// The caller's side of a host task.
struct Handle {
    commands: mpsc::UnboundedSender<Command>,
    tokens: AtomicU64,
}

/// Cancels the work when the caller drops its future before the work is done.
struct CancelOnDrop<'a> {
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
    fn start(driver: Driver, hooks: Hooks) -> Result<Handle> {
        Handle::start_with(driver, hooks, Vec::new())
    }

    fn start_with(driver: Driver, hooks: Hooks, host_decides: Vec<String>) -> Result<Handle> {
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
    fn send(&self, work: Work, options: impl Into<Options>) -> (u64, oneshot::Receiver<Result<Finished>>) {
        let token = self.tokens.fetch_add(1, Ordering::Relaxed);
        let (reply, result) = oneshot::channel();
        let _ = self.commands.send(Command::Start { token, work, options: options.into(), reply });
        (token, result)
    }

    async fn submit(&self, work: Work, options: impl Into<Options>) -> Result<Finished> {
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

    async fn close(&self) {
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::Close(reply)).is_ok() {
            let _ = done.await;
        }
    }
}

enum Input {
    Head(u64, u16, Vec<(String, String)>),
    Chunk(u64, Vec<u8>),
    End(u64),
    Failed(u64, String),
    Timer(u64),
    Stdout(u64, Vec<u8>),
    Stderr(u64, Vec<u8>),
    Exit(u64, String),
    Answer(u64, std::result::Result<Value, String>),
    /// Header values a headers hook gave for a request to this server.
    Secrets(String, Vec<String>),
}

struct Slot {
    token: u64,
    run: bool,
    /// The run's options, for a run the host resumes itself.
    flags: driver::RunOptions,
    reply: oneshot::Sender<Result<Finished>>,
    on_event: Option<EventHandler>,
    on_progress: Option<ProgressHandler>,
    on_snapshot: Option<SnapshotHandler>,
}

struct Host {
    driver: Driver,
    http: reqwest::Client,
    hooks: Hooks,
    /// The servers whose pending calls `hooks.approve` decides.
    host_decides: Vec<String>,
    inputs_tx: mpsc::UnboundedSender<Input>,
    inputs: mpsc::UnboundedReceiver<Input>,
    tasks: HashMap<u64, AbortHandle>,
    /// stdin of each server process; dropping it closes the pipe.
    processes: HashMap<u64, mpsc::UnboundedSender<String>>,
    /// Work in progress, by the machine's run or operation id.
    slots: HashMap<u64, Slot>,
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
                        let run = work.is_run();
                        match work.start(&mut self.driver, options.run, now_ms()) {
                            Ok(id) => {
                                let Options { on_event, on_progress, on_snapshot, run: flags, .. } = options;
                                let slot = Slot { token, run, flags, reply, on_event, on_progress, on_snapshot };
                                self.slots.insert(id, slot);
                            }
                            Err(e) => {
                                let _ = reply.send(Err(e));
                            }
                        }
                    }
                    Some(Command::Cancel(token, reason)) => {
                        if let Some((id, slot)) = self.slots.iter().find(|(_, s)| s.token == token) {
                            let _ = match slot.run {
                                true => self.driver.cancel_run(*id, &reason, now_ms()),
                                false => self.driver.cancel_op(*id, &reason, now_ms()),
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
                    if let Some(handler) = self.slots.get_mut(&run).and_then(|slot| slot.on_event.as_mut()) {
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
                    if let Some(handler) = self.slots.get_mut(&run).and_then(|slot| slot.on_snapshot.as_mut()) {
                        handler(&snapshot);
                    }
                }
                Output::Done { run, result: Ok(result) } if result.status == RunStatus::AwaitingApproval => {
                    self.paused(run, result)
                }
                Output::Done { run, result } => self.finish(run, result.map(|r| Finished::Run(Box::new(r)))),
                Output::OpDone { op, result } => self.finish(op, result.map(Finished::Op)),
                Output::OpProgress { op, progress, total, message } => {
                    if let Some(handler) = self.slots.get_mut(&op).and_then(|slot| slot.on_progress.as_mut()) {
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
    fn paused(&mut self, run: u64, mut result: RunResult) {
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
            Some(snapshot) if !approved.is_empty() && self.slots.contains_key(&run) => snapshot,
            snapshot => return self.finish(run, Ok(Finished::Run(Box::new(RunResult { snapshot, ..result })))),
        };
        let Some(slot) = self.slots.remove(&run) else { return };
        match self.driver.resume_run(snapshot, approved, slot.flags, now_ms()) {
            Ok(next) => {
                self.slots.insert(next, slot);
            }
            Err(e) => {
                let _ = slot.reply.send(Err(e));
            }
        }
    }

    fn finish(&mut self, id: u64, result: Result<Finished>) {
        if let Some(slot) = self.slots.remove(&id) {
            let _ = slot.reply.send(result);
        }
    }

    fn ask(&mut self, id: u64, server: String, method: String, params: Value) {
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
            Input::Secrets(server, values) => driver.add_secrets(&server, values),
        };
    }

    fn stdio(&mut self, id: u64, op: StdioOp) {
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

/// Starts a server process with piped stdio. Its output and its end come back as inputs; lines sent on the
/// returned channel go to its stdin, and dropping the channel closes stdin, after which the process gets
/// [`STDIO_GRACE`] to exit before it is killed. It is always reaped.
fn spawn_process(
    id: u64,
    command: &str,
    args: &[String],
    inherit: &[String],
    env: &[(String, String)],
    cwd: Option<&str>,
    inputs: mpsc::UnboundedSender<Input>,
) -> std::io::Result<mpsc::UnboundedSender<String>> {
    let mut cmd = tokio::process::Command::new(command);
    cmd.args(args)
        .env_clear()
        // Variable names are case-blind on Windows (`Path`, `SystemRoot`).
        .envs(
            std::env::vars()
                .filter(|(k, _)| inherit.iter().any(|i| i == k || (cfg!(windows) && i.eq_ignore_ascii_case(k)))),
        )
        .envs(env.iter().cloned())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Some(cwd) = cwd {
        cmd.current_dir(cwd);
    }
    let mut child = cmd.spawn()?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(std::io::Error::other("the process has no pipes"));
    };
    let (lines, mut to_write) = mpsc::unbounded_channel::<String>();
    let (closed, mut closing) = oneshot::channel::<()>();
    let stdout = tokio::spawn(pump(stdout, inputs.clone(), move |bytes| Input::Stdout(id, bytes)));
    let stderr = tokio::spawn(pump(stderr, inputs.clone(), move |bytes| Input::Stderr(id, bytes)));
    // Writes lines until the host drops the channel (close), then closes stdin.
    tokio::spawn(async move {
        while let Some(line) = to_write.recv().await {
            if stdin.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
        drop(stdin);
        let _ = closed.send(());
    });
    // Reports the exit as soon as it happens; after a close, waits the grace period, then kills. Always reaps.
    tokio::spawn(async move {
        let status = tokio::select! {
            status = child.wait() => status,
            _ = &mut closing => match tokio::time::timeout(STDIO_GRACE, child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            },
        };
        // The last output comes before the exit (a final answer must not be lost), unless a grandchild keeps
        // the pipes open: then not for long.
        let _ = tokio::time::timeout(STDIO_GRACE, async {
            let _ = stdout.await;
            let _ = stderr.await;
        })
        .await;
        let reason = match status {
            Ok(status) => match status.code() {
                Some(code) => format!("exited with code {code}"),
                None => "was killed by a signal".to_owned(),
            },
            Err(e) => format!("could not be waited for: {e}"),
        };
        let _ = inputs.send(Input::Exit(id, reason));
    });
    Ok(lines)
}

async fn pump(mut from: impl AsyncRead + Unpin, inputs: mpsc::UnboundedSender<Input>, wrap: impl Fn(Vec<u8>) -> Input) {
    let mut buffer = vec![0u8; 64 << 10];
    while let Ok(n) = from.read(&mut buffer).await {
        if n == 0 || inputs.send(wrap(buffer[..n].to_vec())).is_err() {
            break;
        }
    }
}

async fn perform(http: reqwest::Client, id: u64, request: HttpRequest, inputs: mpsc::UnboundedSender<Input>) {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut builder = http.request(method, &request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = request.body {
        builder = builder.body(body);
    }
    let mut response = match builder.send().await {
        Ok(response) => response,
        Err(e) => {
            let _ = inputs.send(Input::Failed(id, describe(e)));
            return;
        }
    };
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let _ = inputs.send(Input::Head(id, response.status().as_u16(), headers));
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => {
                let _ = inputs.send(Input::Chunk(id, bytes.to_vec()));
            }
            Ok(None) => {
                let _ = inputs.send(Input::End(id));
                return;
            }
            Err(e) => {
                let _ = inputs.send(Input::Failed(id, describe(e)));
                return;
            }
        }
    }
}

/// The error and its causes, without the URL (reqwest puts it in its message).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A trace id unique enough for Portkey's logs: time plus the process-wide random hasher state.
fn new_trace_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(now_ms());
    hasher.write_u32(std::process::id());
    format!("mcp-loop-{:016x}{:08x}", hasher.finish(), now_ms() as u32)
}
