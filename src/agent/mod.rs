//! The agent's machine composes the others: an [`McpClient`] per server, the [`ModelClient`] for the Portkey
//! endpoint, and a [`ToolLoop`] per run. It turns their semantic steps into transport effects any host can
//! perform: [`Effect::Http`] (the response comes back as head, body chunks and end), [`Effect::Stdio`],
//! [`Effect::Timer`] and [`Effect::Cancel`].
//!
//! Every id a host sees names its owner ([`EffectId`], [`Owner`]): an outcome goes to the machine the tag
//! names, with no table between them. A run's calls reach the clients as [`OpId`]s (the run and its loop's
//! effect id), which come back with their results.
//!
//! Several runs may be active at once; they share the servers' sessions and the tool catalog.

mod authorizing;
mod catalog;
mod config;
mod direct;
mod output;
mod runs;

pub use config::{AgentConfig, OptionKeys, ServerEntry, option_keys};
pub use output::{Output, RunId, RunOptions};

use crate::base::error::{Error, Result};
use crate::base::io::{Effect, EffectId, Ids, OpId, Owner, StdioOp};
use crate::base::queue::Queue;
use crate::base::vec_map::VecMap;
use crate::event::Event;
use crate::mcp::{McpClient, McpEvent, McpOutput};
use crate::model::{ModelClient, ModelOutput};
use crate::schema::Catalog;
use crate::schema::control::Baseline;
use crate::tool_loop::{LoopOutput, ToolResult};
use catalog::ListingSlot;
use runs::{Run, RunState};
use serde_json::Value;
use std::sync::Arc;

/// The composed machine of one agent. The shape of every machine here:
/// - commands: [`Driver::start_run`], [`Driver::resume_run`], [`Driver::cancel_run`], [`Driver::list_tools`],
///   [`Driver::call_tool`], [`Driver::cancel_op`], [`Driver::answer_input`], [`Driver::close`];
/// - inputs: `handle_http_*`, `handle_stdio_*` and [`Driver::handle_timer`], each with the [`EffectId`] of the
///   effect it reports and the current time in milliseconds. Each returns `Ok(true)` when the effect's owner
///   took it, `Ok(false)` when it is no longer out (an outcome that raced a cancel: drop it), and `Err` only
///   for an id this agent never issued (a broken host);
/// - output: after [`Driver::new`] and after every command or input, drain [`Driver::poll_output`] until it
///   returns [`Output::Wait`] or [`Output::Idle`]. Perform effects concurrently; every HTTP effect has a
///   timer, and when the timer fires first the agent cancels the request itself.
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
    /// Runs whose model call waits for a fresh catalog.
    parked: Vec<RunId>,
    runs: VecMap<RunId, Run>,
    model: ModelClient,
    /// Effects the host has and has not finished (for `Idle`, and to tell a late outcome from a made-up one).
    outstanding: Vec<EffectId>,
    /// Direct operations (MCP without a model) in flight.
    direct: Vec<EffectId>,
    /// The agent's own ids: direct operations, listings, and its questions to the host.
    ids: Ids,
    /// Open approval questions, by id: the run asking.
    questions: VecMap<EffectId, RunId>,
    /// HTTP requests waiting for their server's headers hook.
    held: Vec<Effect>,
    /// The host's random bits, for the trace ids the agent makes.
    entropy: u64,
    /// Per server, its authorization (servers with `auth`).
    auth: Vec<Option<authorizing::Authorizing>>,
    next_run: RunId,
    now_ms: u64,
    closed: bool,
    out: Queue<Output>,
}

impl Driver {
    /// A driver for `config`; nothing is sent until the first run. `entropy` is random bits from the host: the
    /// core draws none itself, and makes the trace ids of runs that bring none from them.
    pub fn new(config: AgentConfig, entropy: u64) -> Result<Driver> {
        config.validate()?;
        let servers = config.servers.iter().enumerate();
        let servers = servers.map(|(i, s)| McpClient::new(s.connection.clone(), Owner::Server(i as u32))).collect();
        let mut servers: Vec<McpClient> = servers;
        let auth = config.servers.iter().enumerate().map(|(i, s)| {
            let auth = s.auth.as_ref()?;
            let crate::mcp::Endpoint::Http { url, .. } = &s.connection.endpoint else { return None };
            servers[i].enable_authorization();
            servers[i].add_secrets(auth.secrets());
            Some(authorizing::Authorizing::new(auth, url, entropy, i))
        });
        let auth = auth.collect();
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
            outstanding: Vec::new(),
            direct: Vec::new(),
            ids: Ids::new(Owner::Agent),
            questions: VecMap::default(),
            held: Vec::new(),
            entropy,
            auth,
            next_run: 1,
            now_ms: 0,
            closed: false,
            out: Queue::new(),
        })
    }

    /// The response head of HTTP effect `id`. Header names may be in any case.
    pub fn handle_http_head(
        &mut self,
        id: EffectId,
        status: u16,
        headers: &[(String, String)],
        now_ms: u64,
    ) -> Result<bool> {
        self.input(id, now_ms, false, |this| match id.owner() {
            Some(Owner::Model) => this.model.handle_http_head(id, status, headers),
            Some(Owner::Server(i)) => this.servers[i as usize].handle_http_head(id, status, headers, now_ms),
            Some(Owner::Auth(i)) => this.auth_head(i as usize, id, status),
            _ => false,
        })
    }

    /// A body chunk of HTTP effect `id`.
    pub fn handle_http_chunk(&mut self, id: EffectId, chunk: &[u8], now_ms: u64) -> Result<bool> {
        self.input(id, now_ms, false, |this| match id.owner() {
            Some(Owner::Model) => this.model.handle_http_chunk(id, chunk, now_ms),
            Some(Owner::Server(i)) => this.servers[i as usize].handle_http_chunk(id, chunk, now_ms),
            Some(Owner::Auth(i)) => this.auth_chunk(i as usize, id, chunk),
            _ => false,
        })
    }

    /// The end of HTTP effect `id`'s body.
    pub fn handle_http_end(&mut self, id: EffectId, now_ms: u64) -> Result<bool> {
        self.input(id, now_ms, true, |this| match id.owner() {
            Some(Owner::Model) => this.model.handle_http_end(id, now_ms),
            Some(Owner::Server(i)) => this.servers[i as usize].handle_http_end(id, now_ms),
            Some(Owner::Auth(i)) => this.auth_end(i as usize, id),
            _ => false,
        })
    }

    /// HTTP effect `id` failed in transport; `lasting` when trying again cannot help (a certificate the host does
    /// not trust, a scheme it cannot speak): the request is not tried again. `message` must not name the URL (it
    /// is redacted for MCP servers anyway).
    pub fn handle_http_error(&mut self, id: EffectId, message: &str, lasting: bool, now_ms: u64) -> Result<bool> {
        self.input(id, now_ms, true, |this| match id.owner() {
            Some(Owner::Model) => this.model.handle_http_error(id, message, lasting, now_ms),
            Some(Owner::Server(i)) => this.servers[i as usize].handle_http_error(id, message, lasting, now_ms),
            Some(Owner::Auth(i)) => this.auth_error(i as usize, id, message),
            _ => false,
        })
    }

    /// Bytes a server process (stdio effect `id`) wrote to stdout.
    pub fn handle_stdio_stdout(&mut self, id: EffectId, chunk: &[u8], now_ms: u64) -> Result<bool> {
        self.input(id, now_ms, false, |this| match id.owner() {
            Some(Owner::Server(i)) => this.servers[i as usize].handle_stdio_stdout(id, chunk, now_ms),
            _ => false,
        })
    }

    /// Bytes a server process wrote to stderr.
    pub fn handle_stdio_stderr(&mut self, id: EffectId, chunk: &[u8], now_ms: u64) -> Result<bool> {
        self.input(id, now_ms, false, |this| match id.owner() {
            Some(Owner::Server(i)) => this.servers[i as usize].handle_stdio_stderr(id, chunk, now_ms),
            _ => false,
        })
    }

    /// The server process ended or could not start; `reason` says how (`exited with code 1`, `could not
    /// start: …`). Report it also after a `close` op: that is how the driver knows the process is reaped.
    pub fn handle_stdio_exit(&mut self, id: EffectId, reason: &str, now_ms: u64) -> Result<bool> {
        self.input(id, now_ms, true, |this| match id.owner() {
            Some(Owner::Server(i)) => this.servers[i as usize].handle_stdio_exit(id, reason, now_ms),
            _ => false,
        })
    }

    /// Timer effect `id` fired.
    pub fn handle_timer(&mut self, id: EffectId, now_ms: u64) -> Result<bool> {
        self.input(id, now_ms, true, |this| match id.owner() {
            Some(Owner::Model) => this.model.handle_timer(id, now_ms),
            Some(Owner::Server(i)) => this.servers[i as usize].handle_timer(id, now_ms),
            Some(Owner::Run(run)) => this.deadline(run),
            _ => false,
        })
    }

    /// The application's answer to [`Output::InputRequest`] `id`: the result, or a refusal with a message.
    pub fn answer_input(
        &mut self,
        id: EffectId,
        outcome: std::result::Result<Value, String>,
        now_ms: u64,
    ) -> Result<bool> {
        self.now_ms = now_ms;
        let Some(Owner::Server(i)) = id.owner() else { return self.late(id) };
        match self.servers.get_mut(i as usize).is_some_and(|s| s.answer_input(id, outcome, now_ms)) {
            true => {
                self.pump();
                Ok(true)
            }
            false => self.late(id),
        }
    }

    /// Ends every run (with a `cancelled` error), aborts what is out, and ends the servers' sessions. Keep
    /// draining until [`Output::Idle`].
    pub fn close(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        if self.closed {
            return;
        }
        self.closed = true;
        for op in self.model.cancel_all().into_iter().filter(|op| op.run == 0) {
            self.direct_done(op, Err(Error::cancelled("closed")));
        }
        self.stop_authorizing();
        for server in &mut self.servers {
            server.close(now_ms);
        }
        self.parked.clear();
        let runs: Vec<RunId> = self.runs.keys().copied().collect();
        for run in runs {
            // A run waiting for the host's approvals ends with its pause: nothing is lost, it can be resumed.
            if !self.end_asking(run) {
                self.end_run(run);
                let result = Err(Error::cancelled("the agent was closed"));
                self.out.push_back(Output::Done { run, result });
            }
        }
        self.pump();
    }

    /// The next thing to do; see the type's docs.
    pub fn poll_output(&mut self) -> Output {
        if let Some(output) = self.out.pop_front() {
            return output;
        }
        if self.runs.is_empty() && self.outstanding.is_empty() && self.direct.is_empty() {
            Output::Idle
        } else {
            Output::Wait
        }
    }

    /// An outcome of effect `id` from the host, delivered to its owner (the effect is over when `ends`).
    fn input(
        &mut self,
        id: EffectId,
        now_ms: u64,
        ends: bool,
        deliver: impl FnOnce(&mut Self) -> bool,
    ) -> Result<bool> {
        self.now_ms = now_ms;
        let Some(at) = self.outstanding.iter().position(|o| *o == id) else { return self.late(id) };
        if ends {
            self.outstanding.swap_remove(at);
        }
        let ours = deliver(self);
        self.pump();
        Ok(ours)
    }

    /// An outcome or an answer for `id`, which is not out (any more): the race of an outcome that arrives after
    /// its effect was cancelled, or a host that made the id up.
    fn late(&self, id: EffectId) -> Result<bool> {
        let issued = match id.owner() {
            Some(Owner::Model) => self.model.issued(id),
            Some(Owner::Server(i)) => self.servers.get(i as usize).is_some_and(|s| s.issued(id)),
            Some(Owner::Run(run)) => (1..self.next_run).contains(&run),
            Some(Owner::Agent) => self.ids.issued(id),
            Some(Owner::Auth(i)) => self.auth_issued(i as usize, id),
            Some(Owner::Loop) | None => false,
        };
        match issued {
            true => Ok(false),
            false => Err(Error::host(format!("effect {id} was never issued (a host mixed up its ids)"))),
        }
    }

    // ---- moving work between the machines ----

    fn pump(&mut self) {
        self.refresh_due_tokens();
        loop {
            let mut progress = false;
            while let Some(output) = self.model.poll_output() {
                progress = true;
                match output {
                    ModelOutput::Effect(effect) => self.effect(effect),
                    ModelOutput::Event(event) => self.model_event(event),
                }
            }
            for server in 0..self.servers.len() {
                while let Some(output) = self.servers[server].poll_output() {
                    progress = true;
                    match output {
                        McpOutput::Effect(effect) => self.effect(effect),
                        McpOutput::Event(event) => self.mcp_event(server, event),
                    }
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

    /// An effect a machine issued, on its way to the host. A cancel of what is no longer out is dropped; a
    /// request to a server with a headers hook waits for its headers.
    fn effect(&mut self, effect: Effect) {
        match &effect {
            // A hook's headers are for the MCP server only, never for its authorization server.
            Effect::Http { id, server: Some(server), .. }
                if matches!(id.owner(), Some(Owner::Server(_))) && self.hooked(server) =>
            {
                let output = Output::HeadersRequest { id: *id, server: server.clone() };
                self.outstanding.push(*id);
                self.held.push(effect);
                return self.out.push_back(output);
            }
            Effect::Http { id, .. } | Effect::Timer { id, .. } | Effect::Stdio { id, op: StdioOp::Spawn { .. } } => {
                self.outstanding.push(*id)
            }
            Effect::Stdio { .. } => {}
            Effect::Cancel { id } => {
                let Some(at) = self.outstanding.iter().position(|o| o == id) else { return };
                self.outstanding.swap_remove(at);
                if let Some(held) = self.held.iter().position(|h| matches!(h, Effect::Http { id: h, .. } if h == id)) {
                    // The host only had the question: the answer, if it comes, is not taken.
                    let _ = self.held.swap_remove(held);
                    return;
                }
            }
        }
        self.out.push_back(Output::Effect(effect));
    }

    fn hooked(&self, server: &str) -> bool {
        self.config.servers.iter().any(|s| s.headers_hook && s.name() == server)
    }

    /// The host's answer to [`Output::HeadersRequest`] `id`: the headers to add to that request, or why its hook
    /// failed (the kind of failure only: its text could carry the very credential it was fetching). The values
    /// are secrets from then on, redacted like configured header values.
    pub fn answer_headers(
        &mut self,
        id: EffectId,
        outcome: std::result::Result<Vec<(String, String)>, String>,
        now_ms: u64,
    ) -> Result<bool> {
        self.now_ms = now_ms;
        let found = self.held.iter().position(|h| matches!(h, Effect::Http { id: h, .. } if *h == id));
        let (Some(at), Some(Owner::Server(i))) = (found, id.owner()) else { return self.late(id) };
        let Effect::Http { id, mut request, server } = self.held.swap_remove(at) else { return self.late(id) };
        let client = &mut self.servers[i as usize];
        match outcome {
            Ok(headers) => {
                client.add_secrets(headers.iter().map(|(_, value)| value.clone()));
                request.headers.extend(headers);
                self.out.push_back(Output::Effect(Effect::Http { id, request, server }));
            }
            Err(why) => {
                self.outstanding.retain(|o| *o != id);
                client.handle_http_error(id, &format!("the headers hook failed ({why})"), false, now_ms);
            }
        }
        self.pump();
        Ok(true)
    }

    fn mcp_event(&mut self, server: usize, event: McpEvent) {
        let name = self.servers[server].name().to_owned();
        if matches!(event, McpEvent::Connected(_) | McpEvent::Tools { .. } | McpEvent::ToolResult { .. }) {
            self.auth_accepted(server);
        }
        let event = match event {
            McpEvent::AuthChallenge { status, challenge } => return self.auth_challenge(server, status, &challenge),
            McpEvent::Connected(info) => {
                let server_info = info.identity();
                Event::ServerConnected { server: name, protocol_version: info.protocol_version, server_info }
            }
            McpEvent::Tools { op, tools, verbatim, ttl_ms } => {
                if let Some(slot) = self.listing_slot(server, op) {
                    *slot = ListingSlot::Listed(tools, ttl_ms);
                    return self.finish_listing_if_complete();
                }
                // An agent's allowTools and denyTools hold for what it lists directly too.
                let filter = &self.config.servers[server].tools;
                let allowed = |t: &Value| t.get("name").and_then(Value::as_str).is_some_and(|n| filter.allows(n));
                return self.direct_done(op, Ok(Value::Array(verbatim.into_iter().filter(allowed).collect())));
            }
            McpEvent::ToolResult { op, result } if op.run == 0 => return self.direct_done(op, Ok(result)),
            McpEvent::ToolResult { op, result } => return self.tool_result(op, ToolResult::Result(result)),
            McpEvent::Failed { op, error } => {
                if self.listing_slot(server, op).is_some() {
                    return self.listing_failed(Error::mcp(&name, format!("listing tools failed: {error}")));
                }
                if op.run == 0 {
                    return self.direct_done(op, Err(Error::mcp(&name, error)));
                }
                return self.tool_result(op, ToolResult::Failed(format!("MCP server '{name}': {error}")));
            }
            McpEvent::Progress { op, progress, total, message } if op.run == 0 => {
                return self.out.push_back(Output::OpProgress { op: op.id, progress, total, message });
            }
            McpEvent::Progress { op, progress, total, message } => {
                let Some(RunState::Looping(tool_loop)) = self.runs.get(&op.run).map(|r| &r.state) else { return };
                let Some(call_id) = tool_loop.call_id(op.id) else { return };
                let event = Event::ToolProgress { call_id: call_id.to_owned(), server: name, progress, total, message };
                return self.out.push_back(Output::Event { run: Some(op.run), event });
            }
            McpEvent::Log { level, logger, data } => Event::ServerLog { server: name, level, logger, data },
            McpEvent::ToolsChanged => {
                self.stale = true;
                Event::ToolsChanged { server: name }
            }
            McpEvent::InputRequest { id, op, method, params } => {
                let run = op.map(|op| op.run).filter(|run| *run != 0);
                return self.out.push_back(Output::InputRequest { id, server: name, run, method, params });
            }
            McpEvent::Warning(message) => Event::Warning { server: Some(name), message },
            McpEvent::Notification { method, params } => Event::Notification { server: name, method, params },
        };
        self.out.push_back(Output::Event { run: None, event });
    }

    /// An operation the agent starts itself (a listing, or a direct one), named with one of its own ids.
    fn own_op(&mut self) -> OpId {
        OpId { run: 0, id: self.ids.id() }
    }

    /// The server named `name`, by its index (which tags its ids).
    fn server_index(&self, name: &str) -> Option<usize> {
        self.servers.iter().position(|s| s.name() == name)
    }
}

#[cfg(test)]
mod tests;
