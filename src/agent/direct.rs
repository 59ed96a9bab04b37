//! MCP without a model: tools listed and called directly (`connectMcp`, `McpConnection`).

use super::{Driver, Output, unknown};
use crate::base::error::{Error, Result};
use crate::base::text::cap_chars;
use crate::mcp::{McpClient, OpId};
use serde_json::Value;

impl Driver {
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
            return Err(Error::host(format!("no server named '{}'", cap_chars(server, 100))));
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

    pub(super) fn direct_op(
        &mut self,
        server: &str,
        now_ms: u64,
        start: impl FnOnce(&mut McpClient, u64) -> OpId,
    ) -> Result<u64> {
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

    pub(super) fn direct_done(&mut self, server: usize, op: OpId, result: Result<Value>) {
        if let Some(id) = self.direct.remove(&(server, op)) {
            self.out.push_back(Output::OpDone { op: id, result });
        }
    }
}
