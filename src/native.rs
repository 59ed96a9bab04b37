//! The native host (feature `native`): tokio performs the driver's effects with reqwest, timers and aborts.
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

use crate::driver::{AgentConfig, Driver, Effect, Output, RunId};
use crate::error::{Error, Result};
use crate::event::{Event, RunResult};
use crate::http::HttpRequest;
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

/// Called with every event of a run (and with agent-level events while the run is active).
pub type EventHandler = Box<dyn FnMut(&Event) + Send>;

/// Options for one run.
#[derive(Default)]
pub struct RunOptions {
    /// The Portkey trace id; one is made when absent.
    pub trace_id: Option<String>,
    /// Receives the run's events as they happen.
    pub on_event: Option<EventHandler>,
}

enum Command {
    Run { input: Value, options: RunOptions, reply: oneshot::Sender<Result<RunResult>> },
    Close { reply: oneshot::Sender<()> },
}

enum Input {
    Head(u64, u16, Vec<(String, String)>),
    Chunk(u64, Vec<u8>),
    End(u64),
    Failed(u64, String),
    Timer(u64),
}

/// An agent: the model, its Portkey route and its MCP servers, with sessions kept across runs.
pub struct Agent {
    commands: mpsc::UnboundedSender<Command>,
}

impl Agent {
    /// Validates `config` and starts the agent's task. Must be called inside a tokio runtime.
    pub fn new(config: AgentConfig) -> Result<Agent> {
        let driver = Driver::new(config)?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::config("mcp_loop::native::Agent::new must be called inside a tokio runtime"))?;
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?;
        let (commands, receiver) = mpsc::unbounded_channel();
        runtime.spawn(Host::new(driver, http).serve(receiver));
        Ok(Agent { commands })
    }

    /// Runs one conversation to its end.
    pub async fn run(&self, input: impl Into<Value>) -> Result<RunResult> {
        self.run_with(input, RunOptions::default()).await
    }

    /// Runs one conversation with options (trace id, event handler).
    pub async fn run_with(&self, input: impl Into<Value>, options: RunOptions) -> Result<RunResult> {
        let (reply, result) = oneshot::channel();
        self.commands
            .send(Command::Run { input: input.into(), options, reply })
            .map_err(|_| Error::cancelled("the agent is closed"))?;
        result.await.unwrap_or_else(|_| Err(Error::cancelled("the agent stopped")))
    }

    /// Ends every run, closes the MCP sessions, and waits until that is done.
    pub async fn close(&self) {
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::Close { reply }).is_ok() {
            let _ = done.await;
        }
    }
}

struct RunSlot {
    reply: oneshot::Sender<Result<RunResult>>,
    on_event: Option<EventHandler>,
}

struct Host {
    driver: Driver,
    http: reqwest::Client,
    inputs_tx: mpsc::UnboundedSender<Input>,
    inputs: mpsc::UnboundedReceiver<Input>,
    tasks: HashMap<u64, AbortHandle>,
    runs: HashMap<RunId, RunSlot>,
    closing: Vec<oneshot::Sender<()>>,
}

impl Host {
    fn new(driver: Driver, http: reqwest::Client) -> Host {
        let (inputs_tx, inputs) = mpsc::unbounded_channel();
        Host { driver, http, inputs_tx, inputs, tasks: HashMap::new(), runs: HashMap::new(), closing: Vec::new() }
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
                    Some(Command::Run { input, options, reply }) => self.start(input, options, reply),
                    Some(Command::Close { reply }) => {
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

    fn start(&mut self, input: Value, options: RunOptions, reply: oneshot::Sender<Result<RunResult>>) {
        let trace_id = options.trace_id.unwrap_or_else(new_trace_id);
        match self.driver.start_run(input, &trace_id, now_ms()) {
            Ok(run) => {
                self.runs.insert(run, RunSlot { reply, on_event: options.on_event });
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    /// Drains the driver; returns true when it is idle.
    fn drain(&mut self) -> bool {
        loop {
            match self.driver.poll_output() {
                Output::Effect(Effect::Http { id, request }) => {
                    let task = tokio::spawn(perform(self.http.clone(), id, request, self.inputs_tx.clone()));
                    self.tasks.insert(id, task.abort_handle());
                }
                Output::Effect(Effect::Timer { id, at_ms }) => {
                    let inputs = self.inputs_tx.clone();
                    let delay = Duration::from_millis(at_ms.saturating_sub(now_ms()));
                    let task = tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = inputs.send(Input::Timer(id));
                    });
                    self.tasks.insert(id, task.abort_handle());
                }
                Output::Effect(Effect::Cancel { id }) => {
                    if let Some(task) = self.tasks.remove(&id) {
                        task.abort();
                    }
                }
                Output::Event { run: Some(run), event } => {
                    if let Some(handler) = self.runs.get_mut(&run).and_then(|slot| slot.on_event.as_mut()) {
                        handler(&event);
                    }
                }
                Output::Event { run: None, event } => {
                    for handler in self.runs.values_mut().filter_map(|slot| slot.on_event.as_mut()) {
                        handler(&event);
                    }
                }
                Output::Done { run, result } => {
                    if let Some(slot) = self.runs.remove(&run) {
                        let _ = slot.reply.send(result);
                    }
                }
                Output::Wait => return false,
                Output::Idle => return true,
            }
        }
    }

    fn feed(&mut self, input: Input) {
        let now = now_ms();
        // An input for an effect that was cancelled meanwhile is refused by the driver; that race is harmless.
        let _ = match input {
            Input::Head(id, status, headers) => self.driver.handle_http_head(id, status, &headers, now),
            Input::Chunk(id, bytes) => self.driver.handle_http_chunk(id, &bytes, now),
            Input::End(id) => {
                self.tasks.remove(&id);
                self.driver.handle_http_end(id, now)
            }
            Input::Failed(id, message) => {
                self.tasks.remove(&id);
                self.driver.handle_http_error(id, &message, now)
            }
            Input::Timer(id) => {
                self.tasks.remove(&id);
                self.driver.handle_timer(id, now)
            }
        };
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
