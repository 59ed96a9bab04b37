//! Authorization for HTTP MCP servers (the MCP authorization spec: OAuth 2.1 with PKCE, Protected Resource
//! Metadata, Authorization Server Metadata, resource indicators). Sans-IO like the other machines.

mod challenge;
mod client;
mod config;
mod metadata;

pub use challenge::Challenge;
pub use client::{AuthClient, AuthOutput, MAX_AUTHORIZATIONS};
pub use config::{AuthConfig, Grant};
