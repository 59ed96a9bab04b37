//! MCP alone, for applications that want a client and no model: one server, its tools listed and called
//! directly. The same host protocol as the [`Driver`](crate::driver::Driver) (effects, events, input
//! requests), with operations that end in [`Output::OpDone`].

use crate::driver::{Effect, Output};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::mcp::{McpClient, McpEffect, McpEvent, OpId, ServerConfig};
use serde_json::{Value, json};
use std::collections::VecDeque;

/// One MCP server, spoken to directly.
#[derive(Debug)]
pub struct Connection {
    client: McpClient,
    name: String,
    out: VecDeque<Output>,
    /// Operations not yet done, so `Idle` can be told apart from `Wait`.
    open_ops: Vec<OpId>,
    /// Effects out (keys), for the same reason.
    open_effects: Vec<u64>,
}

impl Connection {
    /// A connection for `config`; nothing is sent until the first operation.
    pub fn new(config: ServerConfig) -> Result<Connection> {
        config.validate().map_err(Error::config)?;
        let name = config.name.clone();
        Ok(Connection {
            client: McpClient::new(config),
            name,
            out: VecDeque::new(),
            open_ops: Vec::new(),
            open_effects: Vec::new(),
        })
    }

    /// Lists every tool; ends with `OpDone` carrying the `tools` array.
    pub fn list_tools(&mut self, now_ms: u64) -> OpId {
        let op = self.client.list_tools(now_ms);
        self.started(op)
    }

    /// Calls a tool (asking for progress); ends with `OpDone` carrying the `CallToolResult`.
    pub fn call_tool(&mut self, name: &str, arguments: Value, now_ms: u64) -> OpId {
        let op = self.client.call_tool(name, arguments, true, now_ms);
        self.started(op)
    }

    /// Cancels an operation (the server is told); it ends with a `cancelled` error.
    pub fn cancel(&mut self, op: OpId, reason: &str, now_ms: u64) {
        self.client.cancel(op, reason, now_ms);
        self.pump();
    }

    /// Answers an `InputRequest`.
    pub fn answer_input(&mut self, id: u64, outcome: std::result::Result<Value, String>, now_ms: u64) -> Result<()> {
        let known = self.client.answer_input(id, outcome, now_ms);
        self.pump();
        if known { Ok(()) } else { Err(unknown(id)) }
    }

    /// Ends the session; drain until `Idle`.
    pub fn close(&mut self, now_ms: u64) {
        self.client.close(now_ms);
        self.pump();
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Output {
        self.pump();
        match self.out.pop_front() {
            Some(output) => output,
            None if self.open_ops.is_empty() && self.open_effects.is_empty() => Output::Idle,
            None => Output::Wait,
        }
    }

    /// The response head of HTTP effect `id`.
    pub fn handle_http_head(&mut self, id: u64, status: u16, headers: &[(String, String)], now_ms: u64) -> Result<()> {
        let ours = self.client.handle_http_head(id, status, headers, now_ms);
        self.checked(id, ours, false)
    }

    /// A body chunk of HTTP effect `id`.
    pub fn handle_http_chunk(&mut self, id: u64, chunk: &[u8], now_ms: u64) -> Result<()> {
        let ours = self.client.handle_http_chunk(id, chunk, now_ms);
        self.checked(id, ours, false)
    }

    /// The end of HTTP effect `id`'s body.
    pub fn handle_http_end(&mut self, id: u64, now_ms: u64) -> Result<()> {
        let ours = self.client.handle_http_end(id, now_ms);
        self.checked(id, ours, true)
    }

    /// HTTP effect `id` failed in transport.
    pub fn handle_http_error(&mut self, id: u64, message: &str, now_ms: u64) -> Result<()> {
        let ours = self.client.handle_http_error(id, message, now_ms);
        self.checked(id, ours, true)
    }

    /// Bytes the server process wrote to stdout.
    pub fn handle_stdio_stdout(&mut self, id: u64, chunk: &[u8], now_ms: u64) -> Result<()> {
        let ours = self.client.handle_stdio_stdout(id, chunk, now_ms);
        self.checked(id, ours || self.open_effects.contains(&id), false)
    }

    /// Bytes the server process wrote to stderr.
    pub fn handle_stdio_stderr(&mut self, id: u64, chunk: &[u8], now_ms: u64) -> Result<()> {
        let ours = self.client.handle_stdio_stderr(id, chunk, now_ms);
        self.checked(id, ours || self.open_effects.contains(&id), false)
    }

    /// The server process ended.
    pub fn handle_stdio_exit(&mut self, id: u64, reason: &str, now_ms: u64) -> Result<()> {
        let ours = self.client.handle_stdio_exit(id, reason, now_ms);
        self.checked(id, ours || self.open_effects.contains(&id), true)
    }

    /// Timer `id` fired.
    pub fn handle_timer(&mut self, id: u64, now_ms: u64) -> Result<()> {
        let ours = self.client.handle_timer(id, now_ms);
        self.checked(id, ours, true)
    }

    fn started(&mut self, op: OpId) -> OpId {
        self.open_ops.push(op);
        self.pump();
        op
    }

    fn checked(&mut self, id: u64, ours: bool, finished: bool) -> Result<()> {
        if finished || !ours {
            self.open_effects.retain(|e| *e != id);
        }
        self.pump();
        if ours { Ok(()) } else { Err(unknown(id)) }
    }

    fn pump(&mut self) {
        while let Some(effect) = self.client.poll_effect() {
            let effect = match effect {
                McpEffect::Http { key, request } => {
                    self.open_effects.push(key);
                    Effect::Http { id: key, request, server: Some(self.name.clone()) }
                }
                McpEffect::Stdio { key, op } => {
                    if !self.open_effects.contains(&key) {
                        self.open_effects.push(key);
                    }
                    Effect::Stdio { id: key, op }
                }
                McpEffect::Timer { key, at_ms } => {
                    self.open_effects.push(key);
                    Effect::Timer { id: key, at_ms }
                }
                McpEffect::Cancel { key } => {
                    self.open_effects.retain(|e| *e != key);
                    Effect::Cancel { id: key }
                }
            };
            self.out.push_back(Output::Effect(effect));
        }
        while let Some(event) = self.client.poll_event() {
            let server = self.name.clone();
            let output = match event {
                McpEvent::Connected(info) => {
                    let server_info = info.identity();
                    let event = Event::ServerConnected { server, protocol_version: info.protocol_version, server_info };
                    Output::Event { run: None, event }
                }
                McpEvent::Tools { op, tools, .. } => self.done(op, Ok(json!(tools))),
                McpEvent::ToolResult { op, result } => self.done(op, Ok(result)),
                McpEvent::Failed { op, error } => self.done(op, Err(Error::mcp(&server, error))),
                McpEvent::Progress { op, progress, total, message } => {
                    Output::OpProgress { op, progress, total, message }
                }
                McpEvent::Log { level, logger, data } => {
                    Output::Event { run: None, event: Event::ServerLog { server, level, logger, data } }
                }
                McpEvent::ToolsChanged => Output::Event { run: None, event: Event::ToolsChanged { server } },
                McpEvent::InputRequest { id, method, params, .. } => {
                    Output::InputRequest { id, server, run: None, method, params }
                }
                McpEvent::Warning(message) => {
                    Output::Event { run: None, event: Event::Warning { server: Some(server), message } }
                }
                McpEvent::Notification { method, params } => {
                    Output::Event { run: None, event: Event::Notification { server, method, params } }
                }
            };
            self.out.push_back(output);
        }
    }

    fn done(&mut self, op: OpId, result: Result<Value>) -> Output {
        self.open_ops.retain(|o| *o != op);
        Output::OpDone { op, result }
    }
}

fn unknown(id: u64) -> Error {
    Error::host(format!("effect {id} is not pending (finished, cancelled, or never issued)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_call_on_its_own_ends_in_op_done() {
        let mut config = ServerConfig::new("s", "http://127.0.0.1:9/mcp");
        config.protocol = crate::mcp::Protocol::Handshake("2025-11-25".into());
        let mut c = Connection::new(config).unwrap();
        assert_eq!(c.poll_output(), Output::Idle);
        let op = c.call_tool("echo", json!({"m": 1}), 0);
        let (id, request, server) = loop {
            match c.poll_output() {
                Output::Effect(Effect::Http { id, request, server }) => break (id, request, server),
                Output::Effect(Effect::Timer { .. }) => {}
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(server.as_deref(), Some("s"));
        assert!(request.body.unwrap().contains("initialize"));
        // The server is gone: the call fails with an error naming it, and the connection is idle again.
        c.handle_http_error(id, "connection refused", 1).unwrap();
        let mut done = None;
        loop {
            match c.poll_output() {
                Output::OpDone { op: o, result } => done = Some((o, result)),
                Output::Idle => break,
                Output::Wait => panic!("nothing should be left"),
                _ => {}
            }
        }
        let (o, result) = done.unwrap();
        assert_eq!(o, op);
        assert_eq!(
            result.unwrap_err().to_string(),
            "MCP server 's': could not connect: request failed: connection refused"
        );
        assert_eq!(c.handle_http_end(id, 2).unwrap_err().code(), "host");
    }
}
