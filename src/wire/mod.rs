//! Wire types of the two protocols, as specs define them: parsed and encoded, with no state.

pub(crate) mod jsonrpc;
pub(crate) mod mcp;
pub(crate) mod responses;
