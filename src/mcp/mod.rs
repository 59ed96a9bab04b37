//! MCP: JSON-RPC wire types, the tool types a client reads, the client machine, and its transports.

pub mod client;
pub mod jsonrpc;
mod legacy_sse;
mod stdio;
mod streamable_http;
mod transport;
pub mod types;

pub use client::{Capabilities, Endpoint, HttpTransport, McpClient, McpEvent, OpId, Protocol, ServerConfig};
pub use transport::{McpEffect, StdioOp};
pub use types::{ServerInfo, Tool};
