//! MCP: JSON-RPC wire types, the tool types a client reads, and the client machine.

pub mod client;
pub mod jsonrpc;
pub mod types;

pub use client::{McpClient, McpEvent, OpId, ServerConfig, Transmit};
pub use types::{ServerInfo, Tool};
