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

mod host;
mod http;
mod process;

pub use tokio_util::sync::CancellationToken;

use crate::agent::{AgentConfig, Driver, ServerEntry};
use crate::base::error::{Error, Result};
use crate::event::{Event, PendingCall, RunResult};
use crate::mcp::{ConnectionConfig, Endpoint};
use crate::tool_loop::{Approve, Decision};
use host::{CANCELLED_BY_APP, Command, Finished, Handle, Options, Work, entropy};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot};

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

/// The person's part of an authorization (a server with `auth`): given the server's name and the authorization
/// URL, open it and resolve to the URL the authorization server redirected to (the redirect URI with its
/// query), or an error saying why there is none.
pub type AuthorizeHook = Arc<
    dyn Fn(String, String) -> Pin<Box<dyn Future<Output = std::result::Result<String, String>> + Send>> + Send + Sync,
>;

/// Signs for a server whose client authenticates with a key (`private_key_jwt`): given the server's name and the
/// JWS signing input, the ES256 signature (base64url, `r || s`), or why there is none. The same shape as
/// [`AuthorizeHook`].
pub type SignHook = AuthorizeHook;

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
    /// Signs a person in for a server that wants authorization (see [`AuthorizeHook`]).
    pub authorize: Option<AuthorizeHook>,
    /// Signs a client's assertion (see [`SignHook`]).
    pub sign: Option<SignHook>,
    /// TLS by server name (the empty name for the model endpoint): for servers behind a private CA or asking
    /// for a client certificate. A server's also serves its authorization server.
    pub tls: HashMap<String, TlsOptions>,
}

/// TLS for one server's requests.
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// CA certificates to trust besides the system's (PEM, one or more).
    pub ca: Vec<u8>,
    /// A client certificate: PEM with the certificate (chain) and its private key.
    pub identity: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A private key must not reach logs.
        f.debug_struct("TlsOptions").field("ca", &self.ca.len()).field("identity", &self.identity.is_some()).finish()
    }
}

/// Decides whether a call needs a person's decision (see [`Hooks::approve`]).
pub type ApproveHook = Arc<dyn Fn(&PendingCall) -> bool + Send + Sync>;

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
    /// Continue the conversation the provider stored up to this response (an earlier result's `response_id`).
    pub previous_response_id: Option<String>,
    /// Continue a conversation from its items (an earlier result's `history`).
    pub history: Vec<serde_json::Value>,
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

    /// Like [`Agent::new`], with hooks (answers to what servers ask, headers per request, approvals).
    pub fn with_hooks(mut config: AgentConfig, hooks: Hooks) -> Result<Agent> {
        if config.model.trim().is_empty() {
            return Err(Error::config("model is required"));
        }
        let host_decides = config.servers.iter().any(|s| s.approve == Some(Approve::Host))
            || (config.approve == Approve::Host && config.servers.iter().any(|s| s.approve.is_none()));
        if host_decides == hooks.approve.is_none() {
            return Err(Error::config(
                "Hooks::approve and the approval policy 'host' go together: set both (for the agent or a server) or neither",
            ));
        }
        ask_headers(&mut config.servers, &hooks);
        Ok(Agent { handle: Handle::start(Driver::new(config, entropy())?, hooks)? })
    }

    /// Runs one conversation to its end.
    pub async fn run(&self, input: impl Into<Value>) -> Result<RunResult> {
        self.run_with(input, RunOptions::default()).await
    }

    /// Runs one conversation with options (trace id, events, streaming, snapshots, cancellation).
    pub async fn run_with(&self, input: impl Into<Value>, options: RunOptions) -> Result<RunResult> {
        self.submit_run(Work::Run { input: input.into() }, options).await
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
        let work = Work::Run { input: input.into() };
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
    pub fn new(config: ConnectionConfig, hooks: Hooks) -> Result<McpConnection> {
        Self::with_server(ServerEntry::new(config), hooks)
    }

    /// The same for a server entry: its connection, with its `auth` (signing in through
    /// [`Hooks::authorize`]). The entry's agent policy (tools offered, approvals) does not apply here.
    pub fn with_server(entry: ServerEntry, hooks: Hooks) -> Result<McpConnection> {
        let server = entry.name().to_owned();
        let mut servers = vec![entry];
        ask_headers(&mut servers, &hooks);
        let driver = Driver::new(AgentConfig { servers, ..AgentConfig::default() }, entropy())?;
        Ok(McpConnection { handle: Handle::start(driver, hooks)?, server })
    }

    /// Every tool of the server (all pages), each exactly as the server sent it, unknown fields too.
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

/// With a headers hook, the core asks for headers before every request to an HTTP server.
fn ask_headers(servers: &mut [ServerEntry], hooks: &Hooks) {
    for server in servers.iter_mut().filter(|s| matches!(s.connection.endpoint, Endpoint::Http { .. })) {
        server.headers_hook = hooks.headers.is_some();
    }
}

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
