//! The one error type of the core. Every failure a server, a model or a caller can cause is a value of
//! this type with a stable `code`; nothing in the core panics on bad input.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Everything that can go wrong, grouped by who caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Error {
    /// The configuration or an argument given by the application is invalid.
    Config {
        /// What is wrong.
        message: String,
    },
    /// An MCP server failed: unreachable, refused, or broke the protocol.
    Mcp {
        /// The configured name of the server (never its URL).
        server: String,
        /// What happened, with nothing secret in it.
        message: String,
    },
    /// The model endpoint (Portkey or any Responses API) failed.
    Model {
        /// HTTP status, when the endpoint answered.
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// The provider's message.
        message: String,
    },
    /// The run was stopped by the application (closed agent, cancellation).
    Cancelled {
        /// Why.
        message: String,
    },
    /// The host broke the driving contract (for example an input for an unknown effect id).
    Host {
        /// What the host did wrong.
        message: String,
    },
}

impl Error {
    /// A stable machine-readable code: `config`, `mcp`, `model`, `cancelled` or `host`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Config { .. } => "config",
            Error::Mcp { .. } => "mcp",
            Error::Model { .. } => "model",
            Error::Cancelled { .. } => "cancelled",
            Error::Host { .. } => "host",
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config { message: message.into() }
    }

    pub(crate) fn mcp(server: &str, message: impl Into<String>) -> Self {
        Error::Mcp { server: server.to_owned(), message: message.into() }
    }

    pub(crate) fn model(status: Option<u16>, message: impl Into<String>) -> Self {
        Error::Model { status, message: message.into() }
    }

    pub(crate) fn cancelled(message: impl Into<String>) -> Self {
        Error::Cancelled { message: message.into() }
    }

    pub(crate) fn host(message: impl Into<String>) -> Self {
        Error::Host { message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { message } => write!(f, "invalid configuration: {message}"),
            Error::Mcp { server, message } => write!(f, "MCP server '{server}': {message}"),
            Error::Model { status: Some(status), message } => {
                write!(f, "model request failed (HTTP {status}): {message}")
            }
            Error::Model { status: None, message } => write!(f, "model request failed: {message}"),
            Error::Cancelled { message } => write!(f, "cancelled: {message}"),
            Error::Host { message } => write!(f, "host error: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn serializes_with_a_stable_code() {
        let e = Error::model(Some(401), "bad key");
        assert_eq!(e.code(), "model");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json, serde_json::json!({"code":"model","status":401,"message":"bad key"}));
        assert_eq!(e.to_string(), "model request failed (HTTP 401): bad key");
        let back: Error = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn names_the_server_not_the_url() {
        let e = Error::mcp("intranet", "connection refused");
        assert_eq!(e.to_string(), "MCP server 'intranet': connection refused");
    }
}
