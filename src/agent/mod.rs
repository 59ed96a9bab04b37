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

mod catalog;
mod config;
mod direct;
mod output;
mod runs;

pub use config::{AgentConfig, OptionKeys, ServerEntry, option_keys};
pub use output::{Effect, Output, RunId, RunOptions};

use crate::base::error::{Error, Result};
use crate::base::queue::Queue;
use crate::base::vec_map::VecMap;
use crate::event::Event;
use crate::mcp::{McpClient, McpEffect, McpEvent, OpId};
use crate::model::{ModelClient, ModelEffect};
use crate::schema::Catalog;
use crate::schema::control::Baseline;
use crate::tool_loop::{LoopOutput, ToolResult};
use crate::wire::responses::ModelRequest;
use catalog::ListingSlot;
use runs::{Run, RunState, ToolOp};
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug, Clone)]
enum Pending {
    /// Any effect of an MCP client (request, process, timer), by its key there.
    Mcp { server: usize, key: u64 },
    /// Any effect of the model client, by its key there.
    Model { key: u64 },
    /// The deadline of a run.
    Deadline { run: RunId },
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

impl Driver {
    /// A driver for `config`; nothing is sent until the first run.
    pub fn new(config: AgentConfig) -> Result<Driver> {
        config.validate()?;
        let servers = config.servers.iter().map(|s| McpClient::new(s.connection.clone())).collect();
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

    pub(super) fn pump(&mut self) {
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

    pub(super) fn model_effect(&mut self, effect: ModelEffect) {
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

    pub(super) fn mcp_effect(&mut self, server: usize, effect: McpEffect) {
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

    pub(super) fn mcp_event(&mut self, server: usize, event: McpEvent) {
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

    pub(super) fn with_process(
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

    pub(super) fn track(&mut self, server: usize, key: u64) -> u64 {
        let id = self.effect_id();
        self.pending.insert(id, Pending::Mcp { server, key });
        id
    }

    pub(super) fn effect_of(&self, server: usize, key: u64) -> Option<u64> {
        self.pending.iter().find_map(|(id, p)| match p {
            Pending::Mcp { server: s, key: k } if *s == server && *k == key => Some(*id),
            _ => None,
        })
    }

    pub(super) fn effect_id(&mut self) -> u64 {
        let id = self.next_effect;
        self.next_effect += 1;
        id
    }
}

fn unknown(id: u64) -> Error {
    Error::host(format!("effect {id} is not pending (finished, cancelled, or never issued)"))
}

#[cfg(test)]
mod tests;
