//! The host task: it owns the driver, performs its effects with tokio (HTTP with reqwest, processes, timers),
//! answers its questions with the application's hooks, and hands results to the callers waiting on them. All
//! policy (when to ask, what a failure means, how a process ends) is the core's; this only does the I/O.

use super::http::perform;
use super::process::{Process, Signal, spawn_process};
use super::{
    AuthorizeHook, CancellationToken, EventHandler, Hooks, InputRequest, ProgressHandler, RunOptions, SnapshotHandler,
};
use crate::agent::{self, Driver, Output, RunId};
use crate::base::error::{Error, Result};
use crate::base::io::{Effect, EffectId, StdioOp};
use crate::event::{PendingCall, RunResult};
use crate::tool_loop::Decision;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

/// What the host task can start on the driver.
pub(super) enum Work {
    Run { input: Value },
    Resume { snapshot: Value, decisions: Vec<Decision> },
    ListTools { server: String },
    CallTool { server: String, name: String, arguments: Value },
}

impl Work {
    pub(super) fn start(self, driver: &mut Driver, options: agent::RunOptions, now: u64) -> Result<Job> {
        match self {
            Work::Run { input } => driver.start_run(input, options, now).map(Job::Run),
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
        let run = agent::RunOptions {
            stream: o.stream,
            snapshots: o.on_snapshot.is_some(),
            trace_id: o.trace_id,
            previous_response_id: o.previous_response_id,
            history: o.history,
        };
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
    Start { token: u64, work: Work, options: Box<Options>, reply: oneshot::Sender<Result<Finished>> },
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
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::config("mcp-loop's native host must be started inside a tokio runtime"))?;
        let http = Clients::new(&hooks)?;
        let (commands, receiver) = mpsc::unbounded_channel();
        runtime.spawn(Host::new(driver, http, hooks).serve(receiver));
        Ok(Handle { commands, tokens: AtomicU64::new(1) })
    }

    /// Hands work to the host task; the receiver gets its end (at once, if the task is gone).
    pub(super) fn send(&self, work: Work, options: impl Into<Options>) -> (u64, oneshot::Receiver<Result<Finished>>) {
        let token = self.tokens.fetch_add(1, Ordering::Relaxed);
        let (reply, result) = oneshot::channel();
        let _ = self.commands.send(Command::Start { token, work, options: Box::new(options.into()), reply });
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

/// An outcome for the driver, from a task of the host.
pub(super) enum Input {
    Head(EffectId, u16, Vec<(String, String)>),
    Chunk(EffectId, Vec<u8>),
    End(EffectId),
    Failed(EffectId, String, bool),
    Timer(EffectId),
    Stdout(EffectId, Vec<u8>),
    Stderr(EffectId, Vec<u8>),
    Exit(EffectId, String),
    Answer(EffectId, std::result::Result<Value, String>),
    Headers(EffectId, std::result::Result<Vec<(String, String)>, String>),
    Authorized(EffectId, std::result::Result<String, String>),
    Signed(EffectId, std::result::Result<String, String>),
}

pub(super) struct Slot {
    token: u64,
    reply: oneshot::Sender<Result<Finished>>,
    on_event: Option<EventHandler>,
    on_progress: Option<ProgressHandler>,
    on_snapshot: Option<SnapshotHandler>,
}

/// The HTTP clients: one for every request, and one per name with its own TLS (`Hooks::tls`).
struct Clients {
    shared: reqwest::Client,
    by_name: HashMap<String, reqwest::Client>,
}

impl Clients {
    fn new(hooks: &Hooks) -> Result<Clients> {
        let built = |builder: reqwest::ClientBuilder| {
            builder.build().map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))
        };
        let mut by_name = HashMap::new();
        for (name, tls) in &hooks.tls {
            // What is wrong is said without the PEM's content.
            let wrong = |what: &str| Error::config(format!("the tls of '{name}': {what}"));
            let mut builder = reqwest::Client::builder();
            if !tls.ca.is_empty() {
                for ca in
                    reqwest::Certificate::from_pem_bundle(&tls.ca).map_err(|_| wrong("ca is not PEM certificates"))?
                {
                    builder = builder.add_root_certificate(ca);
                }
            }
            if let Some(identity) = &tls.identity {
                let identity = reqwest::Identity::from_pem(identity)
                    .map_err(|_| wrong("identity is not a PEM certificate with its key"))?;
                builder = builder.identity(identity);
            }
            by_name.insert(name.clone(), built(builder)?);
        }
        Ok(Clients { shared: built(reqwest::Client::builder())?, by_name })
    }

    /// The client for a request to `server` (`None`: the model endpoint).
    fn to(&self, server: Option<&str>) -> reqwest::Client {
        self.by_name.get(server.unwrap_or("")).unwrap_or(&self.shared).clone()
    }
}

pub(super) struct Host {
    driver: Driver,
    http: Clients,
    hooks: Hooks,
    inputs_tx: mpsc::UnboundedSender<Input>,
    inputs: mpsc::UnboundedReceiver<Input>,
    tasks: HashMap<EffectId, AbortHandle>,
    processes: HashMap<EffectId, Process>,
    /// Work in progress, by the driver's name for it.
    slots: HashMap<Job, Slot>,
    closing: Vec<oneshot::Sender<()>>,
}

impl Host {
    fn new(driver: Driver, http: Clients, hooks: Hooks) -> Host {
        let (inputs_tx, inputs) = mpsc::unbounded_channel();
        Host {
            driver,
            http,
            hooks,
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
                        let options = *options;
                        match work.start(&mut self.driver, options.run, now_ms()) {
                            Ok(job) => {
                                let Options { on_event, on_progress, on_snapshot, .. } = options;
                                let slot = Slot { token, reply, on_event, on_progress, on_snapshot };
                                self.slots.insert(job, slot);
                            }
                            Err(e) => {
                                let _ = reply.send(Err(e));
                            }
                        }
                    }
                    Some(Command::Cancel(token, reason)) => {
                        if let Some((job, _)) = self.slots.iter().find(|(_, s)| s.token == token) {
                            let _ = match *job {
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
                Output::ApprovalRequest { id, call, .. } => {
                    let needs_person = self.needs_person(&call);
                    let _ = self.driver.answer_approval(id, needs_person, now_ms());
                }
                Output::HeadersRequest { id, server } => self.headers(id, server),
                Output::AuthorizeRequest { id, server, url } => self.authorize(id, server, url),
                Output::SignRequest { id, server, input } => self.sign(id, server, input),
                // No token storage natively yet: each agent signs in anew.
                Output::AuthState { .. } => {}
                Output::Snapshot { run, snapshot } => {
                    if let Some(handler) = self.slots.get_mut(&Job::Run(run)).and_then(|slot| slot.on_snapshot.as_mut())
                    {
                        handler(&snapshot);
                    }
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

    /// The approve hook's verdict on a call: whether a person must decide it. A hook that panics leaves the
    /// call to a person, the safe side.
    fn needs_person(&self, call: &PendingCall) -> bool {
        let Some(hook) = &self.hooks.approve else { return true };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(call))).unwrap_or(true)
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

    /// Asks the headers hook for a request to `server`; the core waits for the answer.
    fn headers(&mut self, id: EffectId, server: String) {
        let inputs = self.inputs_tx.clone();
        let Some(hook) = self.hooks.headers.clone() else {
            let _ = inputs.send(Input::Headers(id, Ok(Vec::new())));
            return;
        };
        let task = tokio::spawn(async move {
            // Only the kind of failure: the hook's text may carry the very credential it was fetching.
            let outcome = hook(server).await.map_err(|_| "it returned an error".to_owned());
            let _ = inputs.send(Input::Headers(id, outcome));
        });
        self.tasks.insert(id, task.abort_handle());
    }

    fn authorize(&mut self, id: EffectId, server: String, url: String) {
        let missing = format!("no authorize hook (Hooks::authorize): server '{server}' needs a person to sign in");
        self.ask_auth_hook(id, self.hooks.authorize.clone(), (server, url), missing, Input::Authorized);
    }

    fn sign(&mut self, id: EffectId, server: String, input: String) {
        let missing = format!("no sign hook (Hooks::sign): server '{server}' authenticates with a key");
        self.ask_auth_hook(id, self.hooks.sign.clone(), (server, input), missing, Input::Signed);
    }

    /// Asks an authorization hook of the application (a sign-in, a signature) with `(server, text)`; its answer
    /// comes back through `answer`. Only the kind of a failure: the hook's text may carry a code or a key.
    fn ask_auth_hook(
        &mut self,
        id: EffectId,
        hook: Option<AuthorizeHook>,
        (server, text): (String, String),
        missing: String,
        answer: fn(EffectId, std::result::Result<String, String>) -> Input,
    ) {
        let inputs = self.inputs_tx.clone();
        let Some(hook) = hook else {
            let _ = inputs.send(answer(id, Err(missing)));
            return;
        };
        let task = tokio::spawn(async move {
            let outcome = hook(server, text).await.map_err(|_| "the hook returned an error".to_owned());
            let _ = inputs.send(answer(id, outcome));
        });
        self.tasks.insert(id, task.abort_handle());
    }

    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::Http { id, request, server } => {
                let client = self.http.to(server.as_deref());
                let task = tokio::spawn(perform(client, id, request, self.inputs_tx.clone()));
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
        // An outcome that raced a cancel is simply not taken (`Ok(false)`); the driver decides, not the host.
        let driver = &mut self.driver;
        let _ = match input {
            Input::Head(id, status, headers) => driver.handle_http_head(id, status, &headers, now),
            Input::Chunk(id, bytes) => driver.handle_http_chunk(id, &bytes, now),
            Input::End(id) => {
                self.tasks.remove(&id);
                driver.handle_http_end(id, now)
            }
            Input::Failed(id, message, lasting) => {
                self.tasks.remove(&id);
                driver.handle_http_error(id, &message, lasting, now)
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
            Input::Headers(id, outcome) => {
                self.tasks.remove(&id);
                driver.answer_headers(id, outcome, now)
            }
            Input::Authorized(id, outcome) => {
                self.tasks.remove(&id);
                driver.answer_authorize(id, outcome, now)
            }
            Input::Signed(id, outcome) => {
                self.tasks.remove(&id);
                driver.answer_sign(id, outcome, now)
            }
        };
    }

    fn stdio(&mut self, id: EffectId, op: StdioOp) {
        let signal = |host: &mut Host, signal| {
            if let Some(process) = host.processes.get(&id) {
                let _ = process.signals.send(signal);
            }
        };
        match op {
            StdioOp::Spawn { command, args, inherit, env, cwd } => {
                let inputs = self.inputs_tx.clone();
                match spawn_process(id, &command, &args, &inherit, &env, cwd.as_deref(), inputs.clone()) {
                    Ok(process) => {
                        self.processes.insert(id, process);
                    }
                    Err(e) => {
                        let _ = inputs.send(Input::Exit(id, format!("could not start: {e}")));
                    }
                }
            }
            StdioOp::Write { line } => {
                if let Some(stdin) = self.processes.get(&id).and_then(|p| p.stdin.as_ref()) {
                    let _ = stdin.send(line);
                }
            }
            // Dropping the sender closes stdin.
            StdioOp::Close => {
                if let Some(process) = self.processes.get_mut(&id) {
                    process.stdin = None;
                }
            }
            StdioOp::Terminate => signal(self, Signal::Terminate),
            StdioOp::Kill => signal(self, Signal::Kill),
        }
    }
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Random bits for the core (which draws none itself): the process-wide random hasher state, the time and
/// the process id.
pub(super) fn entropy() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(now_ms());
    hasher.write_u32(std::process::id());
    hasher.finish()
}
