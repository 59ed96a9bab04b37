//! Bounds the whole core shares.

/// The longest timeout accepted (about 24 days: the most a JavaScript timer can wait).
pub const MAX_TIMEOUT_MS: u64 = (1 << 31) - 1;

/// The largest JSON-RPC message (or SSE event, or stdout line) accepted from an MCP server.
pub(crate) const MAX_MESSAGE_BYTES: usize = 32 << 20;

/// How deep a message from a server may nest before the deeper parts are cut (serde_json refuses a whole
/// document past 127 levels; a cut keeps the rest of it readable).
pub(crate) const MAX_JSON_DEPTH: usize = 100;
