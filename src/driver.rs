//! The driver composes the machines of one agent: an [`McpClient`] per server, the Portkey endpoint, and a
//! [`ToolLoop`] per run. It turns their semantic steps into transport effects any host can perform:
//! [`Effect::Http`] (the response comes back as head, body chunks and end), [`Effect::Timer`] and
//! [`Effect::Cancel`].
//!
//! Driving contract (as for every machine here): after [`Driver::new`] and after every `start_run`, `handle_*`
//! or `close`, drain [`Driver::poll_output`] until it returns [`Output::Wait`] or [`Output::Idle`]. Perform
//! effects concurrently; feed their outcomes back with their id and the current time in milliseconds. Every
//! HTTP effect gets a timer effect; when the timer fires first, the driver cancels the request.
//!
//! Several runs may be active at once; they share the servers' sessions and the tool catalog.

use crate::content::DEFAULT_MAX_OUTPUT_CHARS;
use crate::error::{Error, Result};
use crate::event::{Event, RunResult, RunStatus};
use crate::http::HttpRequest;
use crate::json::Fields;
use crate::mcp::{McpClient, McpEffect, McpEvent, OpId, ServerConfig, StdioOp, Tool};
use crate::queue::Queue;
use crate::responses::client::{ModelClient, ModelEffect, ModelEvent};
use crate::responses::portkey::{PortkeyConfig, Span};
use crate::responses::request::ModelRequest;
use crate::schema::control::{Baseline, ToolChanges};
use crate::schema::{self, Catalog, ConvertOptions, ServerTools};
use crate::tool_loop::{
    self, Approve, Continuation, Decision, Inflight, LoopConfig, LoopEffect, LoopOutput, ServerPolicy, ToolLoop,
    ToolResult, read_approve,
};
use crate::vec_map::VecMap;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The longest timeout accepted (about 24 days: the most a JavaScript timer can wait).
pub const MAX_TIMEOUT_MS: u64 = (1 << 31) - 1;

/// Identifies a run of the agent.
pub type RunId = u64;

/// Everything an agent needs: the model, how to reach it, and the MCP servers. Build it as a struct (with
/// `..AgentConfig::default()`) or read it from JSON with [`AgentConfig::from_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// The model name (or Portkey `@provider/model`).
    pub model: String,
    /// Instructions sent with every request.
    pub instructions: Option<String>,
    /// The most model turns a run may take (default 10).
    pub max_turns: u32,
    /// Further request fields for every model request (`temperature`, `reasoning`, …).
    pub model_settings: Map<String, Value>,
    /// The cap on one tool output, in characters (default 100 000).
    pub max_output_chars: usize,
    /// How long one model request may take, in milliseconds (default 10 minutes).
    pub model_timeout_ms: u64,
    /// How tools become function tools (names, descriptions, strict mode).
    pub convert: ConvertOptions,
    /// Check the model's arguments against each tool's own schema before calling it (default on).
    pub validate_arguments: bool,
    /// What happens when a server changes a tool's definition (default: warn).
    pub tool_changes: ToolChanges,
    /// How the conversation continues from turn to turn (default `auto`).
    pub continuation: Continuation,
    /// Which calls wait for a person (default: none; servers may override it).
    pub approve: Approve,
    /// What a resumed run does with calls that were in flight (default: retry if read-only or idempotent).
    pub inflight: Inflight,
    /// The most calls the model may make in one turn (default 64; `None`: no limit).
    pub max_tool_calls_per_turn: Option<u32>,
    /// `parallel_tool_calls` for the request, when set.
    pub parallel_tool_calls: Option<bool>,
    /// How many times a model request that failed in a way that may heal is tried again (default 2).
    pub max_retries: u32,
    /// The longest a run may take, in milliseconds (`None`: no limit); then it ends `cancelled`.
    pub run_timeout_ms: Option<u64>,
    /// The model endpoint.
    pub portkey: PortkeyConfig,
    /// The MCP servers, in the order their tools are offered.
    pub servers: Vec<ServerConfig>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        let defaults = LoopConfig::default();
        AgentConfig {
            model: String::new(),
            instructions: None,
            max_turns: defaults.max_turns,
            model_settings: Map::new(),
            max_output_chars: DEFAULT_MAX_OUTPUT_CHARS,
            model_timeout_ms: 600_000,
            convert: ConvertOptions::default(),
            validate_arguments: true,
            tool_changes: ToolChanges::default(),
            continuation: Continuation::default(),
            approve: Approve::default(),
            inflight: Inflight::default(),
            max_tool_calls_per_turn: Some(crate::tool_loop::DEFAULT_MAX_TOOL_CALLS_PER_TURN),
            parallel_tool_calls: None,
            max_retries: 2,
            run_timeout_ms: None,
            portkey: PortkeyConfig::default(),
            servers: Vec::new(),
        }
    }
}

impl AgentConfig {
    /// Reads the configuration from JSON, in the shape `createAgent` documents (`servers` as an array of
    /// `{name, url, headers, timeoutMs}`). Unknown options are refused, so a typo is an error.
    pub fn from_json(value: &Value) -> Result<AgentConfig> {
        Self::read(value).map_err(Error::config)
    }

    fn read(value: &Value) -> std::result::Result<AgentConfig, String> {
        let f = Fields::new(value, "")?;
        let mut known = vec![
            "model",
            "instructions",
            "maxTurns",
            "modelSettings",
            "maxOutputChars",
            "modelTimeoutMs",
            "validateArguments",
            "toolChanges",
            "continuation",
            "approve",
            "inflight",
            "maxToolCallsPerTurn",
            "parallelToolCalls",
            "maxRetries",
            "runTimeoutMs",
            "portkey",
            "servers",
        ];
        known.extend_from_slice(schema::OPTION_KEYS);
        f.only(&known)?;
        let defaults = AgentConfig::default();
        let model_settings = match f.value("modelSettings") {
            None => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err("modelSettings must be an object".into()),
        };
        let servers = f.array("servers")?.iter().enumerate();
        Ok(AgentConfig {
            model: f.string("model")?.unwrap_or_default(),
            instructions: f.string("instructions")?,
            max_turns: f.count("maxTurns")?.unwrap_or(defaults.max_turns),
            model_settings,
            max_output_chars: f.number("maxOutputChars")?.map_or(defaults.max_output_chars, |n| n as usize),
            model_timeout_ms: f.number("modelTimeoutMs")?.unwrap_or(defaults.model_timeout_ms),
            convert: ConvertOptions::read(&f)?,
            validate_arguments: f.flag("validateArguments")?.unwrap_or(true),
            tool_changes: f
                .choice(
                    "toolChanges",
                    &[("accept", ToolChanges::Accept), ("warn", ToolChanges::Warn), ("block", ToolChanges::Block)],
                )?
                .unwrap_or(ToolChanges::Warn),
            continuation: f
                .choice(
                    "continuation",
                    &[
                        ("auto", Continuation::Auto),
                        ("previous_response_id", Continuation::PreviousResponseId),
                        ("replay", Continuation::Replay),
                    ],
                )?
                .unwrap_or_default(),
            approve: f.string("approve")?.map(|a| read_approve(&a, "approve")).transpose()?.unwrap_or_default(),
            inflight: f
                .choice(
                    "inflight",
                    &[
                        ("retry-if-idempotent", Inflight::RetryIfIdempotent),
                        ("retry", Inflight::Retry),
                        ("fail", Inflight::Fail),
                    ],
                )?
                .unwrap_or_default(),
            max_tool_calls_per_turn: f.count("maxToolCallsPerTurn")?.or(defaults.max_tool_calls_per_turn),
            parallel_tool_calls: f.flag("parallelToolCalls")?,
            max_retries: f.count("maxRetries")?.unwrap_or(defaults.max_retries),
            run_timeout_ms: f.number("runTimeoutMs")?,
            portkey: f.value("portkey").map(PortkeyConfig::read).transpose()?.unwrap_or_default(),
            servers: servers
                .map(|(i, v)| ServerConfig::from_json(v, &format!("servers[{i}]")))
                .collect::<std::result::Result<_, _>>()?,
        })
    }

    /// The part of the configuration a [`ToolLoop`] takes (for hosts that drive the loop alone).
    pub fn loop_config(&self) -> LoopConfig {
        let mut model_settings = self.model_settings.clone();
        if let Some(parallel) = self.parallel_tool_calls {
            model_settings.insert("parallel_tool_calls".into(), Value::Bool(parallel));
        }
        let servers = self.servers.iter().map(|s| ServerPolicy {
            server: s.name.clone(),
            approve: s.approve,
            max_concurrent_calls: s.max_concurrent_calls,
        });
        LoopConfig {
            model: self.model.clone(),
            instructions: self.instructions.clone(),
            max_turns: self.max_turns,
            model_settings,
            max_output_chars: self.max_output_chars,
            validate_arguments: self.validate_arguments,
            stream: false,
            continuation: self.continuation,
            approve: self.approve,
            inflight: self.inflight,
            max_tool_calls_per_turn: self.max_tool_calls_per_turn,
            servers: servers.collect(),
        }
    }

    /// Checks everything before the first request.
    pub fn validate(&self) -> Result<()> {
        self.loop_config().validate_settings().map_err(Error::config)?;
        self.portkey.validate().map_err(Error::config)?;
        if !(1..=MAX_TIMEOUT_MS).contains(&self.model_timeout_ms) {
            return Err(Error::config(format!("modelTimeoutMs must be between 1 and {MAX_TIMEOUT_MS}")));
        }
        if self.run_timeout_ms.is_some_and(|t| !(1..=MAX_TIMEOUT_MS).contains(&t)) {
            return Err(Error::config(format!("runTimeoutMs must be between 1 and {MAX_TIMEOUT_MS}")));
        }
        if self.max_retries > 10 {
            return Err(Error::config("maxRetries must be at most 10"));
        }
        for (i, server) in self.servers.iter().enumerate() {
            server.validate().map_err(Error::config)?;
            if self.servers[..i].iter().any(|s| s.name == server.name) {
                return Err(Error::config(format!("two servers are named '{}'", server.name)));
            }
        }
        Ok(())
    }
}

/// Work for the host.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
#[must_use]
#[non_exhaustive]
pub enum Effect {
    /// Perform this request; report with `handle_http_head`, `handle_http_chunk`, `handle_http_end` or
    /// `handle_http_error`.
    Http {
        /// Effect id.
        id: u64,
        /// The request.
        request: HttpRequest,
        /// The MCP server it goes to (`None` for the model), for hosts that add headers per server.
        #[serde(skip_serializing_if = "Option::is_none")]
        server: Option<String>,
    },
    /// Act on an MCP server's child process; report with `handle_stdio_stdout`, `handle_stdio_stderr` and
    /// (always, also after `close`) `handle_stdio_exit`.
    Stdio {
        /// Effect id of the process (the same for every op on it).
        id: u64,
        /// What to do.
        #[serde(flatten)]
        op: StdioOp,
    },
    /// Call `handle_timer(id, now)` at (or after) `at_ms`.
    Timer {
        /// Effect id.
        id: u64,
        /// When, in the host's milliseconds clock (the one it passes as `now_ms`).
        at_ms: u64,
    },
    /// Stop effect `id` (abort the request, clear the timer) and report nothing more for it.
    Cancel {
        /// The effect to stop.
        id: u64,
    },
}

/// What [`Driver::poll_output`] returns: the host protocol.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
#[non_exhaustive]
pub enum Output {
    /// Perform this.
    Effect(Effect),
    /// Tell the application. `run` is `None` for agent-level events (connections, catalog, logs).
    Event {
        /// The run concerned.
        run: Option<RunId>,
        /// What happened.
        event: Event,
    },
    /// An MCP server asks the application something (`elicitation/create`, `sampling/createMessage`,
    /// `roots/list`); answer with [`Driver::answer_input`].
    InputRequest {
        /// The id to answer with.
        id: u64,
        /// The server asking.
        server: String,
        /// The run whose tool call it belongs to, when known.
        run: Option<RunId>,
        /// The request method.
        method: String,
        /// Its params, verbatim.
        params: Value,
    },
    /// A step of a run that asked for snapshots is recorded: its state now, for
    /// [`Driver::resume_run`].
    Snapshot {
        /// The run.
        run: RunId,
        /// Versioned JSON.
        snapshot: Value,
    },
    /// A run is over.
    Done {
        /// The run.
        run: RunId,
        /// Its result.
        result: Result<RunResult>,
    },
    /// A direct MCP operation ([`Driver::list_tools`], [`Driver::call_tool`]) is over.
    OpDone {
        /// The operation.
        op: u64,
        /// The `tools` array of a listing, or the `CallToolResult` of a call.
        result: Result<Value>,
    },
    /// Progress of a direct MCP operation.
    OpProgress {
        /// The operation.
        op: u64,
        /// Progress so far.
        progress: f64,
        /// Total, if known.
        total: Option<f64>,
        /// The server's message.
        message: Option<String>,
    },
    /// Effects are out; nothing more until one of them reports.
    Wait,
    /// No run is active and no effect is out.
    Idle,
}

impl Output {
    /// The JSON text hosts outside Rust receive: `{"type": "http" | "stdio" | "timer" | "cancel" | "event" |
    /// "inputRequest" | "done" | "opDone" | "opProgress" | "wait" | "idle", …}`; a finished run or operation
    /// carries `result`, or `error` (with its `code`) and its `text`.
    pub fn to_text(&self) -> String {
        use crate::json::text;
        match self {
            Output::Effect(effect) => text(effect),
            Output::Event { run, event } => {
                format!(r#"{{"type":"event","run":{},"event":{}}}"#, text(run), text(event))
            }
            Output::InputRequest { id, server, run, method, params } => text(
                &json!({"type": "inputRequest", "id": id, "server": server, "run": run, "method": method, "params": params}),
            ),
            Output::Snapshot { run, snapshot } => {
                format!(r#"{{"type":"snapshot","run":{run},"snapshot":{}}}"#, text(snapshot))
            }
            Output::Done { run, result: Ok(result) } => {
                format!(r#"{{"type":"done","run":{run},"result":{}}}"#, text(result))
            }
            Output::Done { run, result: Err(error) } => {
                format!(r#"{{"type":"done","run":{run},{}}}"#, error.json_members())
            }
            Output::OpDone { op, result: Ok(result) } => {
                format!(r#"{{"type":"opDone","op":{op},"result":{}}}"#, text(result))
            }
            Output::OpDone { op, result: Err(error) } => {
                format!(r#"{{"type":"opDone","op":{op},{}}}"#, error.json_members())
            }
            Output::OpProgress { op, progress, total, message } => {
                text(&json!({"type": "opProgress", "op": op, "progress": progress, "total": total, "message": message}))
            }
            Output::Wait => r#"{"type":"wait"}"#.to_owned(),
            Output::Idle => r#"{"type":"idle"}"#.to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
enum Pending {
    /// Any effect of an MCP client (request, process, timer), by its key there.
    Mcp { server: usize, key: u64 },
    /// Any effect of the model client, by its key there.
    Model { key: u64 },
    /// The deadline of a run.
    Deadline { run: RunId },
}

/// How one run goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Ask for streamed responses: text comes as [`Event::TextDelta`] events while the model writes.
    pub stream: bool,
    /// Give an [`Output::Snapshot`] after every step.
    pub snapshots: bool,
}

#[derive(Debug, Clone)]
enum Start {
    Input(Value),
    Snapshot(Value, Vec<Decision>),
}

#[derive(Debug, Clone)]
enum RunState {
    AwaitingCatalog(Start),
    Looping(Box<ToolLoop>),
}

#[derive(Debug, Clone)]
struct Run {
    trace_id: String,
    state: RunState,
    options: RunOptions,
    /// The deadline's timer effect.
    deadline: Option<u64>,
}

/// A tool call in flight: the run and loop effect it answers, the model's call id, and when it started.
#[derive(Debug, Clone)]
struct ToolOp {
    run: RunId,
    effect: u64,
    call_id: String,
    started_ms: u64,
}

/// The composed machine of one agent.
#[derive(Debug)]
pub struct Driver {
    config: AgentConfig,
    servers: Vec<McpClient>,
    catalog: Option<Arc<Catalog>>,
    /// The tool definitions first seen, against servers that change them.
    baseline: Baseline,
    /// The catalog must be listed again before the next model turn (a server said its tools changed, or the
    /// listing's `ttlMs` ran out at `expires_ms`).
    stale: bool,
    expires_ms: Option<u64>,
    listing: Option<Vec<ListingSlot>>,
    /// Model calls held back until the catalog is fresh: (run, loop effect, request).
    parked: Vec<(RunId, u64, ModelRequest)>,
    runs: VecMap<RunId, Run>,
    model: ModelClient,
    /// Model requests in flight: the client's call → (run, loop effect).
    model_calls: VecMap<u64, (RunId, u64)>,
    tool_ops: VecMap<(usize, OpId), ToolOp>,
    /// How long finished tool calls took, by (run, call id), until their event goes out.
    durations: VecMap<(RunId, String), u64>,
    /// Direct operations (MCP without a model): the client's operation → the id the host knows.
    direct: VecMap<(usize, OpId), u64>,
    inputs: VecMap<u64, (usize, u64)>,
    pending: VecMap<u64, Pending>,
    next_run: RunId,
    next_effect: u64,
    now_ms: u64,
    closed: bool,
    out: Queue<Output>,
}

#[derive(Debug, Clone)]
enum ListingSlot {
    Waiting(OpId),
    Listed(Vec<Tool>, Option<u64>),
}

impl Driver {
    /// A driver for `config`; nothing is sent until the first run.
    pub fn new(config: AgentConfig) -> Result<Driver> {
        config.validate()?;
        let servers = config.servers.iter().cloned().map(McpClient::new).collect();
        let model = ModelClient::new(config.portkey.clone(), config.model_timeout_ms, config.max_retries);
        Ok(Driver {
            config,
            servers,
            catalog: None,
            baseline: Baseline::default(),
            stale: false,
            expires_ms: None,
            listing: None,
            parked: Vec::new(),
            runs: VecMap::default(),
            model,
            model_calls: VecMap::default(),
            tool_ops: VecMap::default(),
            durations: VecMap::default(),
            direct: VecMap::default(),
            inputs: VecMap::default(),
            pending: VecMap::default(),
            next_run: 1,
            next_effect: 1,
            now_ms: 0,
            closed: false,
            out: Queue::new(),
        })
    }

    /// The tool catalog, once every server has been listed.
    pub fn catalog(&self) -> Option<&Catalog> {
        self.catalog.as_deref()
    }

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

    fn begin(&mut self, start: Start, trace_id: String, options: RunOptions, now_ms: u64) -> Result<RunId> {
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

    /// Lists every tool of `server` directly, without a model; ends with [`Output::OpDone`] carrying the
    /// server's `tools` array, verbatim. Returns the operation id.
    pub fn list_tools(&mut self, server: &str, now_ms: u64) -> Result<u64> {
        self.direct_op(server, now_ms, |client, now| client.list_tools(now))
    }

    /// Calls a tool of `server` directly (asking for progress, [`Output::OpProgress`]); ends with
    /// [`Output::OpDone`] carrying the `CallToolResult`, verbatim. Returns the operation id.
    pub fn call_tool(&mut self, server: &str, name: &str, arguments: Value, now_ms: u64) -> Result<u64> {
        self.direct_op(server, now_ms, |client, now| client.call_tool(name, arguments, true, now))
    }

    /// Header values the host added to a request to `server` (a headers hook's rotating token): they are
    /// redacted from every message, events and tool outputs included, like configured header values.
    pub fn add_secrets(&mut self, server: &str, values: Vec<String>) -> Result<()> {
        let Some(client) = self.servers.iter_mut().find(|s| s.name() == server) else {
            return Err(Error::host(format!("no server named '{}'", schema::cap_chars(server, 100))));
        };
        client.add_secrets(values);
        Ok(())
    }

    /// Cancels direct operation `op`: the server is told, and it ends with an error saying `reason`.
    pub fn cancel_op(&mut self, op: u64, reason: &str, now_ms: u64) -> Result<()> {
        self.now_ms = now_ms;
        let Some(&(server, client_op)) = self.direct.iter().find(|(_, id)| *id == op).map(|(key, _)| key) else {
            return Err(unknown(op));
        };
        self.servers[server].cancel(client_op, reason, now_ms);
        self.pump();
        Ok(())
    }

    fn direct_op(&mut self, server: &str, now_ms: u64, start: impl FnOnce(&mut McpClient, u64) -> OpId) -> Result<u64> {
        self.now_ms = now_ms;
        if self.closed {
            return Err(Error::cancelled("closed"));
        }
        let index = self
            .servers
            .iter()
            .position(|s| s.name() == server)
            .ok_or_else(|| Error::config(format!("no server named '{server}'")))?;
        let id = self.effect_id();
        let op = start(&mut self.servers[index], now_ms);
        self.direct.insert((index, op), id);
        self.pump();
        Ok(id)
    }

    /// The response head of HTTP effect `id`. Header names may be in any case.
    pub fn handle_http_head(&mut self, id: u64, status: u16, headers: &[(String, String)], now_ms: u64) -> Result<()> {
        self.now_ms = now_ms;
        match self.pending.get_mut(&id) {
            Some(Pending::Mcp { server, key }) => {
                let (server, key) = (*server, *key);
                self.servers[server].handle_http_head(key, status, headers, now_ms);
            }
            Some(Pending::Model { key }) => self.model.handle_http_head(*key, status, headers),
            _ => return Err(unknown(id)),
        }
        self.pump();
        Ok(())
    }

    /// A body chunk of HTTP effect `id`.
    pub fn handle_http_chunk(&mut self, id: u64, chunk: &[u8], now_ms: u64) -> Result<()> {
        self.now_ms = now_ms;
        match self.pending.get_mut(&id) {
            Some(Pending::Mcp { server, key }) => {
                let (server, key) = (*server, *key);
                self.servers[server].handle_http_chunk(key, chunk, now_ms);
            }
            Some(Pending::Model { key }) => self.model.handle_http_chunk(*key, chunk, now_ms),
            _ => return Err(unknown(id)),
        }
        self.pump();
        Ok(())
    }

    /// The end of HTTP effect `id`'s body.
    pub fn handle_http_end(&mut self, id: u64, now_ms: u64) -> Result<()> {
        self.now_ms = now_ms;
        match self.pending.remove(&id) {
            Some(Pending::Mcp { server, key }) => {
                self.servers[server].handle_http_end(key, now_ms);
            }
            Some(Pending::Model { key }) => self.model.handle_http_end(key, now_ms),
            _ => return Err(unknown(id)),
        }
        self.pump();
        Ok(())
    }

    /// HTTP effect `id` failed in transport. `message` must not name the URL (it is redacted for MCP
    /// servers anyway).
    pub fn handle_http_error(&mut self, id: u64, message: &str, now_ms: u64) -> Result<()> {
        self.now_ms = now_ms;
        match self.pending.remove(&id) {
            Some(Pending::Mcp { server, key }) => {
                self.servers[server].handle_http_error(key, message, now_ms);
            }
            Some(Pending::Model { key }) => self.model.handle_http_error(key, message, now_ms),
            _ => return Err(unknown(id)),
        }
        self.pump();
        Ok(())
    }

    /// Bytes a server process (stdio effect `id`) wrote to stdout.
    pub fn handle_stdio_stdout(&mut self, id: u64, chunk: &[u8], now_ms: u64) -> Result<()> {
        self.with_process(id, now_ms, |client, key, now| client.handle_stdio_stdout(key, chunk, now))
    }

    /// Bytes a server process wrote to stderr.
    pub fn handle_stdio_stderr(&mut self, id: u64, chunk: &[u8], now_ms: u64) -> Result<()> {
        self.with_process(id, now_ms, |client, key, now| client.handle_stdio_stderr(key, chunk, now))
    }

    /// The server process ended or could not start; `reason` says how (`exited with code 1`, `could not
    /// start: …`). Report it also after a `close` op: that is how the driver knows the process is reaped.
    pub fn handle_stdio_exit(&mut self, id: u64, reason: &str, now_ms: u64) -> Result<()> {
        self.with_process(id, now_ms, |client, key, now| client.handle_stdio_exit(key, reason, now))?;
        self.pending.remove(&id);
        self.pump();
        Ok(())
    }

    /// Timer effect `id` fired.
    pub fn handle_timer(&mut self, id: u64, now_ms: u64) -> Result<()> {
        self.now_ms = now_ms;
        match self.pending.remove(&id) {
            Some(Pending::Mcp { server, key }) => {
                self.servers[server].handle_timer(key, now_ms);
            }
            Some(Pending::Model { key }) => self.model.handle_timer(key, now_ms),
            Some(Pending::Deadline { run }) => {
                if let Some(r) = self.runs.get_mut(&run) {
                    r.deadline = None;
                }
                let reason =
                    format!("the run took longer than runTimeoutMs ({} ms)", self.config.run_timeout_ms.unwrap_or(0));
                let _ = self.cancel_run(run, &reason, now_ms);
            }
            _ => return Err(unknown(id)),
        }
        self.pump();
        Ok(())
    }

    /// The application's answer to [`Output::InputRequest`] `id`: the result, or a refusal with a message.
    pub fn answer_input(&mut self, id: u64, outcome: std::result::Result<Value, String>, now_ms: u64) -> Result<()> {
        self.now_ms = now_ms;
        let Some((server, input)) = self.inputs.remove(&id) else { return Err(unknown(id)) };
        self.servers[server].answer_input(input, outcome, now_ms);
        self.pump();
        Ok(())
    }

    /// Ends every run (with a `cancelled` error), aborts what is out, and ends the servers' sessions. Keep
    /// draining until [`Output::Idle`].
    pub fn close(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        if self.closed {
            return;
        }
        self.closed = true;
        self.model.cancel_all();
        self.model_calls.clear();
        for server in &mut self.servers {
            server.close(now_ms);
        }
        self.tool_ops.clear();
        self.inputs.clear();
        self.parked.clear();
        let runs: Vec<RunId> = self.runs.keys().copied().collect();
        for run in runs {
            self.end_run(run);
            let result = Err(Error::cancelled("the agent was closed"));
            self.out.push_back(Output::Done { run, result });
        }
        self.pump();
    }

    /// The next thing to do; see the module docs.
    pub fn poll_output(&mut self) -> Output {
        if let Some(output) = self.out.pop_front() {
            return output;
        }
        if self.runs.is_empty() && self.pending.is_empty() && self.direct.is_empty() {
            Output::Idle
        } else {
            Output::Wait
        }
    }

    // ---- moving work between the machines ----

    fn pump(&mut self) {
        loop {
            let mut progress = false;
            while let Some(effect) = self.model.poll_effect() {
                progress = true;
                self.model_effect(effect);
            }
            while let Some(event) = self.model.poll_event() {
                progress = true;
                self.model_event(event);
            }
            for server in 0..self.servers.len() {
                while let Some(effect) = self.servers[server].poll_effect() {
                    progress = true;
                    self.mcp_effect(server, effect);
                }
                while let Some(event) = self.servers[server].poll_event() {
                    progress = true;
                    self.mcp_event(server, event);
                }
            }
            let runs: Vec<RunId> = self.runs.keys().copied().collect();
            for run in runs {
                while let Some(RunState::Looping(tool_loop)) = self.runs.get_mut(&run).map(|r| &mut r.state) {
                    let output = tool_loop.poll_output();
                    if output == LoopOutput::Wait {
                        break;
                    }
                    progress = true;
                    self.loop_output(run, output);
                }
            }
            if !progress {
                break;
            }
        }
    }

    /// After a step of `run` (a model answer, a tool result, a resume), its snapshot, when the run asked for
    /// them: taken before the step's effects are drained, so it goes out ahead of them (write-ahead).
    fn step_snapshot(&mut self, run: RunId) {
        let Some(Run { state: RunState::Looping(tool_loop), options, trace_id, .. }) = self.runs.get(&run) else {
            return;
        };
        if options.snapshots && !tool_loop.is_done() {
            let snapshot = run_snapshot(tool_loop, trace_id);
            self.out.push_back(Output::Snapshot { run, snapshot });
        }
    }

    fn model_effect(&mut self, effect: ModelEffect) {
        let output = match effect {
            ModelEffect::Http { key, request } => {
                let id = self.effect_id();
                self.pending.insert(id, Pending::Model { key });
                Effect::Http { id, request, server: None }
            }
            ModelEffect::Timer { key, at_ms } => {
                let id = self.effect_id();
                self.pending.insert(id, Pending::Model { key });
                Effect::Timer { id, at_ms }
            }
            ModelEffect::Cancel { key } => {
                let found = self.pending.iter().find(|(_, p)| matches!(p, Pending::Model { key: k } if *k == key));
                let Some(&(id, _)) = found else { return };
                self.pending.remove(&id);
                Effect::Cancel { id }
            }
        };
        self.out.push_back(Output::Effect(output));
    }

    fn model_event(&mut self, event: ModelEvent) {
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
    fn turn_of(&self, call: u64) -> Option<(RunId, u32)> {
        let (run, _) = *self.model_calls.get(&call)?;
        match &self.runs.get(&run)?.state {
            RunState::Looping(tool_loop) => Some((run, tool_loop.turn())),
            RunState::AwaitingCatalog(_) => None,
        }
    }

    /// Forgets a run's deadline; the run itself is removed by the caller.
    fn end_run(&mut self, run: RunId) -> Option<Run> {
        let r = self.runs.remove(&run)?;
        if let Some(id) = r.deadline.filter(|id| self.pending.remove(id).is_some()) {
            self.out.push_back(Output::Effect(Effect::Cancel { id }));
        }
        Some(r)
    }

    fn mcp_effect(&mut self, server: usize, effect: McpEffect) {
        let output = match effect {
            McpEffect::Http { key, request } => {
                let id = self.track(server, key);
                Effect::Http { id, request, server: Some(self.servers[server].name().to_owned()) }
            }
            McpEffect::Stdio { key, op } => {
                let id = match self.effect_of(server, key) {
                    Some(id) => id,
                    None => self.track(server, key),
                };
                Effect::Stdio { id, op }
            }
            McpEffect::Timer { key, at_ms } => Effect::Timer { id: self.track(server, key), at_ms },
            McpEffect::Cancel { key } => match self.effect_of(server, key) {
                Some(id) => {
                    self.pending.remove(&id);
                    Effect::Cancel { id }
                }
                None => return,
            },
        };
        self.out.push_back(Output::Effect(output));
    }

    fn mcp_event(&mut self, server: usize, event: McpEvent) {
        let name = self.servers[server].name().to_owned();
        let event = match event {
            McpEvent::Connected(info) => {
                let server_info = info.identity();
                Event::ServerConnected { server: name, protocol_version: info.protocol_version, server_info }
            }
            McpEvent::Tools { op, tools, .. } if self.direct.contains_key(&(server, op)) => {
                return self.direct_done(server, op, Ok(json!(tools)));
            }
            McpEvent::Tools { op, tools, ttl_ms } => {
                if let Some(slot) = self.listing_slot(server, op) {
                    *slot = ListingSlot::Listed(tools, ttl_ms);
                    self.finish_listing_if_complete();
                }
                return;
            }
            McpEvent::ToolResult { op, result } if self.direct.contains_key(&(server, op)) => {
                return self.direct_done(server, op, Ok(result));
            }
            McpEvent::ToolResult { op, result } => return self.tool_result(server, op, ToolResult::Result(result)),
            McpEvent::Failed { op, error } if self.direct.contains_key(&(server, op)) => {
                return self.direct_done(server, op, Err(Error::mcp(&name, error)));
            }
            McpEvent::Failed { op, error } => {
                if self.listing_slot(server, op).is_some() {
                    return self.listing_failed(Error::mcp(&name, format!("listing tools failed: {error}")));
                }
                return self.tool_result(server, op, ToolResult::Failed(format!("MCP server '{name}': {error}")));
            }
            McpEvent::Progress { op, progress, total, message } => {
                if let Some(&id) = self.direct.get(&(server, op)) {
                    return self.out.push_back(Output::OpProgress { op: id, progress, total, message });
                }
                let Some(ToolOp { run, call_id, .. }) = self.tool_ops.get(&(server, op)).cloned() else { return };
                let event = Event::ToolProgress { call_id, server: name, progress, total, message };
                return self.out.push_back(Output::Event { run: Some(run), event });
            }
            McpEvent::Log { level, logger, data } => Event::ServerLog { server: name, level, logger, data },
            McpEvent::ToolsChanged => {
                self.stale = true;
                Event::ToolsChanged { server: name }
            }
            McpEvent::InputRequest { id: input, op, method, params } => {
                let id = self.effect_id();
                self.inputs.insert(id, (server, input));
                let run = op.and_then(|op| self.tool_ops.get(&(server, op))).map(|t| t.run);
                return self.out.push_back(Output::InputRequest { id, server: name, run, method, params });
            }
            McpEvent::Warning(message) => Event::Warning { server: Some(name), message },
            McpEvent::Notification { method, params } => Event::Notification { server: name, method, params },
        };
        self.out.push_back(Output::Event { run: None, event });
    }

    fn loop_output(&mut self, run: RunId, output: LoopOutput) {
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
    fn cancel_effect(&mut self, run: RunId, effect: u64) {
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

    fn call_model(&mut self, run: RunId, effect: u64, request: ModelRequest) {
        let Some(Run { trace_id, state: RunState::Looping(tool_loop), .. }) = self.runs.get(&run) else { return };
        let span = Span { trace_id: trace_id.clone(), turn: tool_loop.turn() };
        let call = self.model.send(&request, &span, self.now_ms);
        self.model_calls.insert(call, (run, effect));
    }

    fn direct_done(&mut self, server: usize, op: OpId, result: Result<Value>) {
        if let Some(id) = self.direct.remove(&(server, op)) {
            self.out.push_back(Output::OpDone { op: id, result });
        }
    }

    fn tool_result(&mut self, server: usize, op: OpId, result: ToolResult) {
        if let Some(ToolOp { run, effect, call_id, started_ms }) = self.tool_ops.remove(&(server, op)) {
            self.durations.insert((run, call_id), self.now_ms.saturating_sub(started_ms));
            self.feed_tool(run, effect, result);
        }
    }

    fn feed_tool(&mut self, run: RunId, effect: u64, result: ToolResult) {
        if let Some(Run { state: RunState::Looping(tool_loop), .. }) = self.runs.get_mut(&run) {
            // The loop asked for exactly this effect, so it cannot refuse it.
            let _ = tool_loop.handle_tool_result(effect, result);
            self.step_snapshot(run);
        }
    }

    fn with_process(
        &mut self,
        id: u64,
        now_ms: u64,
        input: impl FnOnce(&mut McpClient, u64, u64) -> bool,
    ) -> Result<()> {
        self.now_ms = now_ms;
        let Some(Pending::Mcp { server, key }) = self.pending.get(&id) else { return Err(unknown(id)) };
        let (server, key) = (*server, *key);
        input(&mut self.servers[server], key, now_ms);
        self.pump();
        Ok(())
    }

    fn track(&mut self, server: usize, key: u64) -> u64 {
        let id = self.effect_id();
        self.pending.insert(id, Pending::Mcp { server, key });
        id
    }

    fn effect_of(&self, server: usize, key: u64) -> Option<u64> {
        self.pending.iter().find_map(|(id, p)| match p {
            Pending::Mcp { server: s, key: k } if *s == server && *k == key => Some(*id),
            _ => None,
        })
    }

    // ---- the catalog ----

    fn catalog_outdated(&self) -> bool {
        self.stale || self.expires_ms.is_some_and(|at| self.now_ms > at)
    }

    /// Lists every server's tools, unless a listing is already under way.
    fn list_all(&mut self) {
        if self.listing.is_some() {
            return;
        }
        let now = self.now_ms;
        self.stale = false;
        let slots = self.servers.iter_mut().map(|s| ListingSlot::Waiting(s.list_tools(now))).collect();
        self.listing = Some(slots);
        self.finish_listing_if_complete();
    }

    fn listing_slot(&mut self, server: usize, op: OpId) -> Option<&mut ListingSlot> {
        let slot = self.listing.as_mut()?.get_mut(server)?;
        matches!(slot, ListingSlot::Waiting(o) if *o == op).then_some(slot)
    }

    fn finish_listing_if_complete(&mut self) {
        let Some(slots) = &self.listing else { return };
        if slots.iter().any(|s| matches!(s, ListingSlot::Waiting(_))) {
            return;
        }
        let Some(slots) = self.listing.take() else { return };
        let mut ttl: Option<u64> = None;
        let servers: Vec<ServerTools> = slots
            .into_iter()
            .zip(&self.config.servers)
            .map(|(slot, config)| {
                let tools = match slot {
                    ListingSlot::Listed(tools, server_ttl) => {
                        ttl = match (ttl, server_ttl) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                        tools.into_iter().filter(|t| config.tools.allows(&t.name)).collect()
                    }
                    ListingSlot::Waiting(_) => Vec::new(),
                };
                ServerTools { server: config.name.clone(), label: config.label.clone(), tools }
            })
            .collect();
        let mut catalog = Catalog::build(servers, &self.config.convert, self.catalog.as_deref());
        for event in self.baseline.review(&mut catalog, self.config.tool_changes) {
            self.out.push_back(Output::Event { run: None, event });
        }
        self.expires_ms = ttl.map(|ttl| self.now_ms.saturating_add(ttl));
        let listed = Event::ToolsListed {
            count: catalog.tools().len(),
            strict: catalog.tools().iter().filter(|t| t.function.strict).count(),
            notes: catalog.notes.clone(),
        };
        self.out.push_back(Output::Event { run: None, event: listed });
        self.set_catalog(Arc::new(catalog));
    }

    /// A fresh catalog: waiting runs start, running runs see it from their next turn on.
    fn set_catalog(&mut self, catalog: Arc<Catalog>) {
        for (_, run) in self.runs.iter_mut() {
            if let RunState::Looping(tool_loop) = &mut run.state {
                tool_loop.set_catalog(catalog.clone());
            }
        }
        self.catalog = Some(catalog);
        self.start_waiting_runs();
        self.release_parked();
    }

    fn listing_failed(&mut self, error: Error) {
        self.listing = None;
        if self.catalog.is_some() {
            // Keep using the tools we have; say so.
            let message = format!("could not list the tools again: {error}");
            self.out.push_back(Output::Event { run: None, event: Event::Warning { server: None, message } });
            self.release_parked();
        }
        let waiting: Vec<RunId> = self
            .runs
            .iter()
            .filter(|(_, r)| matches!(r.state, RunState::AwaitingCatalog(_)))
            .map(|(id, _)| *id)
            .collect();
        for run in waiting {
            self.end_run(run);
            self.out.push_back(Output::Done { run, result: Err(error.clone()) });
        }
    }

    fn release_parked(&mut self) {
        let tools = self.catalog.as_deref().map(|c| c.functions().clone()).unwrap_or_default();
        for (run, effect, mut request) in std::mem::take(&mut self.parked) {
            request.tools = tools.clone();
            self.call_model(run, effect, request);
        }
    }

    fn start_waiting_runs(&mut self) {
        let Some(catalog) = &self.catalog else { return };
        let config = self.config.loop_config();
        let mut failed = Vec::new();
        let mut resumed = Vec::new();
        for (id, run) in self.runs.iter_mut() {
            let RunState::AwaitingCatalog(start) = &mut run.state else { continue };
            let config = LoopConfig { stream: run.options.stream, ..config.clone() };
            let started = match std::mem::replace(start, Start::Input(Value::Null)) {
                Start::Input(input) => ToolLoop::new(config, catalog.clone(), input),
                Start::Snapshot(snapshot, decisions) => {
                    resumed.push(*id);
                    ToolLoop::restore(config, catalog.clone(), &snapshot, decisions)
                }
            };
            match started {
                Ok(tool_loop) => run.state = RunState::Looping(Box::new(tool_loop)),
                Err(e) => failed.push((*id, e)),
            }
        }
        // A resumed run may already have calls out (approved, or run again): its state now comes first.
        for run in resumed {
            self.step_snapshot(run);
        }
        for (run, error) in failed {
            self.end_run(run);
            self.out.push_back(Output::Done { run, result: Err(error) });
        }
    }

    fn effect_id(&mut self) -> u64 {
        let id = self.next_effect;
        self.next_effect += 1;
        id
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

fn unknown(id: u64) -> Error {
    Error::host(format!("effect {id} is not pending (finished, cancelled, or never issued)"))
}

#[cfg(test)]
mod tests;
