//! How to reach one MCP server, and what the application answers for it.

use crate::base::json::Fields;
use crate::base::limits::MAX_TIMEOUT_MS;
use crate::wire::mcp::{HANDSHAKE_VERSIONS, LATEST_HANDSHAKE_VERSION, STATELESS_VERSION};
use serde_json::{Map, Value, json};

/// The default per-request timeout.
pub(super) const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Environment variables a stdio server inherits from the host (everything else must be given in `env`, so
/// that the host's secrets do not leak into every server process).
pub(super) const INHERITED_ENV: &[&str] =
    &["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "TMPDIR", "SYSTEMROOT"];

/// Where the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An HTTP endpoint: Streamable HTTP, or the legacy HTTP+SSE transport.
    Http {
        /// The URL.
        url: String,
        /// Which HTTP transport.
        transport: HttpTransport,
    },
    /// A program the host starts, talking over stdin and stdout.
    Stdio {
        /// Program.
        command: String,
        /// Arguments.
        args: Vec<String>,
        /// Variables added to the few inherited from the host (`HOME`, `PATH`, `LANG`, …).
        env: Vec<(String, String)>,
        /// Working directory.
        cwd: Option<String>,
    },
}

/// Which HTTP transport to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpTransport {
    /// Streamable HTTP, falling back to HTTP+SSE when the server refuses the handshake POST.
    Auto,
    /// Streamable HTTP only.
    Streamable,
    /// The legacy HTTP+SSE transport (2024-11-05).
    Sse,
}

/// Which protocol era to speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// Probe with `server/discover`; fall back to the handshake.
    Auto,
    /// The handshake era, offering this version in `initialize`.
    Handshake(String),
    /// The stateless 2026-07-28 revision only.
    Stateless,
}

/// Client capabilities the application backs with handlers. Only these are declared to servers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `sampling/createMessage`.
    pub sampling: bool,
    /// `elicitation/create`.
    pub elicitation: bool,
    /// `roots/list`.
    pub roots: bool,
}

impl Capabilities {
    pub(super) fn to_json(self) -> Value {
        let mut caps = Map::new();
        if self.sampling {
            caps.insert("sampling".into(), json!({}));
        }
        if self.elicitation {
            caps.insert("elicitation".into(), json!({"form": {}}));
        }
        if self.roots {
            caps.insert("roots".into(), json!({}));
        }
        Value::Object(caps)
    }

    pub(super) fn allows(self, method: &str) -> bool {
        match method {
            "sampling/createMessage" => self.sampling,
            "elicitation/create" => self.elicitation,
            "roots/list" => self.roots,
            _ => false,
        }
    }
}

/// How to reach one MCP server: nothing about what an agent does with its tools. Header values are secrets:
/// they never appear in messages, nor in `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// The name the application gives the server; used in messages (never its URL).
    pub name: String,
    /// Where it is.
    pub endpoint: Endpoint,
    /// Extra HTTP headers sent with every request (for example `Authorization`).
    pub headers: Vec<(String, String)>,
    /// More values to keep out of everything the client emits (besides header values, session ids, token-like
    /// URL parts, `env` values and secret-named arguments, which are found on their own).
    pub secrets: Vec<String>,
    /// Per-request timeout in milliseconds.
    pub timeout_ms: u64,
    /// The protocol era.
    pub protocol: Protocol,
    /// What the application answers for the server.
    pub capabilities: Capabilities,
}

impl std::fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        let endpoint = match &self.endpoint {
            Endpoint::Http { transport, .. } => format!("http ({transport:?})"),
            Endpoint::Stdio { command, .. } => format!("stdio ({command})"),
        };
        f.debug_struct("ConnectionConfig")
            .field("name", &self.name)
            .field("endpoint", &endpoint)
            .field("headers", &headers)
            .field("timeout_ms", &self.timeout_ms)
            .field("protocol", &self.protocol)
            .field("capabilities", &self.capabilities)
            .finish()
    }
}

const PROTOCOL_HEADERS: &[&str] =
    &["content-type", "accept", "mcp-session-id", "mcp-protocol-version", "last-event-id", "mcp-method", "mcp-name"];

impl ConnectionConfig {
    /// The option keys of a connection.
    pub const KEYS: &'static [&'static str] = &[
        "name",
        "url",
        "command",
        "args",
        "env",
        "cwd",
        "headers",
        "secrets",
        "timeoutMs",
        "protocol",
        "transport",
        "capabilities",
    ];

    /// A Streamable HTTP server with no extra headers and the defaults.
    pub fn new(name: &str, url: &str) -> ConnectionConfig {
        ConnectionConfig {
            name: name.to_owned(),
            endpoint: Endpoint::Http { url: url.to_owned(), transport: HttpTransport::Auto },
            headers: Vec::new(),
            secrets: Vec::new(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            protocol: Protocol::Auto,
            capabilities: Capabilities::default(),
        }
    }

    /// Reads `{name, url | command, args, env, cwd, headers, secrets, timeoutMs, protocol, transport, capabilities}` and
    /// refuses any other key; `path` names it in messages.
    pub fn from_json(value: &Value, path: &str) -> Result<ConnectionConfig, String> {
        let f = Fields::new(value, path)?;
        f.only(Self::KEYS)?;
        Self::read(&f)
    }

    /// Reads the connection's keys ([`ConnectionConfig::KEYS`]) of an object whose other keys the caller checks.
    pub(crate) fn read(f: &Fields) -> Result<ConnectionConfig, String> {
        let path = f.path();
        let endpoint = match (f.string("url")?, f.string("command")?) {
            (Some(url), None) => {
                let transports = [
                    ("auto", HttpTransport::Auto),
                    ("streamable-http", HttpTransport::Streamable),
                    ("sse", HttpTransport::Sse),
                ];
                let transport = f.choice("transport", &transports)?.unwrap_or(HttpTransport::Auto);
                Endpoint::Http { url, transport }
            }
            (None, Some(command)) => {
                Endpoint::Stdio { command, args: f.strings("args")?, env: f.headers("env")?, cwd: f.string("cwd")? }
            }
            (Some(_), Some(_)) => return Err(format!("{path} needs a url or a command, not both")),
            (None, None) => return Err(format!("{path} needs a url (HTTP) or a command (stdio)")),
        };
        let protocol = match f.string("protocol")?.as_deref() {
            None | Some("auto") => Protocol::Auto,
            // The handshake without the probe, offering what `auto` offers after it.
            Some("handshake") => Protocol::Handshake(LATEST_HANDSHAKE_VERSION.to_owned()),
            Some(STATELESS_VERSION) => Protocol::Stateless,
            Some(v) if HANDSHAKE_VERSIONS.contains(&v) => Protocol::Handshake(v.to_owned()),
            Some(other) => {
                return Err(format!("{path}.protocol '{other}' is not a protocol version this client speaks"));
            }
        };
        let mut capabilities = Capabilities::default();
        if let Some(caps) = f.value("capabilities") {
            let caps = Fields::new(caps, &format!("{path}.capabilities"))?;
            caps.only(&["sampling", "elicitation", "roots"])?;
            let flag = |key: &str| caps.value(key).is_some_and(|v| v == &Value::Bool(true));
            capabilities =
                Capabilities { sampling: flag("sampling"), elicitation: flag("elicitation"), roots: flag("roots") };
        }
        Ok(ConnectionConfig {
            name: f.string("name")?.unwrap_or_default(),
            endpoint,
            headers: f.headers("headers")?,
            secrets: f.strings("secrets")?,
            timeout_ms: f.number("timeoutMs")?.unwrap_or(DEFAULT_TIMEOUT_MS),
            protocol,
            capabilities,
        })
    }

    /// Checks the configuration before any request is made.
    pub fn validate(&self) -> Result<(), String> {
        let name = &self.name;
        if name.is_empty() {
            return Err("a server needs a non-empty name".into());
        }
        match &self.endpoint {
            Endpoint::Http { url, transport } => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!("server '{name}': the url must start with http:// or https://"));
                }
                if *transport == HttpTransport::Sse && self.protocol == Protocol::Stateless {
                    return Err(format!("server '{name}': the legacy SSE transport has no stateless revision"));
                }
            }
            Endpoint::Stdio { command, .. } => {
                if command.is_empty() {
                    return Err(format!("server '{name}': the command is empty"));
                }
                if !self.headers.is_empty() {
                    return Err(format!(
                        "server '{name}': headers apply to HTTP servers; give a stdio server env instead"
                    ));
                }
            }
        }
        if !(1..=MAX_TIMEOUT_MS).contains(&self.timeout_ms) {
            return Err(format!("server '{name}': timeoutMs must be between 1 and {}", MAX_TIMEOUT_MS));
        }
        for (header, _) in &self.headers {
            if PROTOCOL_HEADERS.iter().any(|p| p.eq_ignore_ascii_case(header))
                || header.to_ascii_lowercase().starts_with("mcp-param-")
            {
                return Err(format!(
                    "server '{name}': header '{header}' is set by the protocol and cannot be configured"
                ));
            }
        }
        Ok(())
    }
}
