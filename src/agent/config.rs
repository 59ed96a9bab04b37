//! An agent's configuration: the model and its endpoint, the run settings, and the MCP servers; read from the
//! JSON hosts send, and checked before anything is sent.

use crate::auth::AuthConfig;
use crate::base::error::{Error, Result};
use crate::base::io::MAX_SERVERS;
use crate::base::json::Fields;
use crate::base::limits::MAX_TIMEOUT_MS;
use crate::content::DEFAULT_MAX_OUTPUT_CHARS;
use crate::mcp::ConnectionConfig;
use crate::model::PortkeyConfig;
use crate::schema::ConvertOptions;
use crate::schema::control::{ToolChanges, ToolFilter};
use crate::tool_loop::{
    Approve, Continuation, DEFAULT_MAX_CONCURRENT_CALLS, DEFAULT_MAX_TOOL_CALLS_PER_TURN, Inflight, LoopConfig,
    ServerPolicy, read_approve,
};
use serde_json::{Map, Value};

/// Everything an agent needs: the model, how to reach it, and the MCP servers. Build it as a struct (with
/// `..AgentConfig::default()`) or read it from JSON with [`AgentConfig::from_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// The model name (or Portkey `@provider/model`).
    pub model: String,
    /// Instructions sent with every request.
    pub instructions: Option<String>,
    /// The most model turns a run may take (default 10).
    pub max_turns: u32,
    /// Further request fields for every model request (`temperature`, `reasoning`, …).
    pub model_settings: Map<String, Value>,
    /// The cap on one tool output, in characters (default 100 000).
    pub max_output_chars: usize,
    /// How long one model request may take, in milliseconds (default 10 minutes).
    pub model_timeout_ms: u64,
    /// How tools become function tools (names, descriptions, strict mode).
    pub convert: ConvertOptions,
    /// Check the model's arguments against each tool's own schema before calling it (default on).
    pub validate_arguments: bool,
    /// What happens when a server changes a tool's definition (default: warn).
    pub tool_changes: ToolChanges,
    /// How the conversation continues from turn to turn (default `auto`).
    pub continuation: Continuation,
    /// Which calls wait for a person (default: none; servers may override it).
    pub approve: Approve,
    /// What a resumed run does with calls that were in flight (default: retry if read-only or idempotent).
    pub inflight: Inflight,
    /// The most calls the model may make in one turn (default 64; `None`: no limit).
    pub max_tool_calls_per_turn: Option<u32>,
    /// `parallel_tool_calls` for the request, when set.
    pub parallel_tool_calls: Option<bool>,
    /// How many times a model request that failed in a way that may heal is tried again (default 2).
    pub max_retries: u32,
    /// The longest a run may take, in milliseconds (`None`: no limit); then it ends `cancelled`.
    pub run_timeout_ms: Option<u64>,
    /// The model endpoint.
    pub portkey: PortkeyConfig,
    /// The MCP servers, in the order their tools are offered.
    pub servers: Vec<ServerEntry>,
}

/// One MCP server of an agent: how to reach it, and what the agent does with its tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEntry {
    /// How to reach it (its `name` names the server everywhere).
    pub connection: ConnectionConfig,
    /// Which of its tools the model may see.
    pub tools: ToolFilter,
    /// Put in front of its tools' descriptions for the model (`[label] …`).
    pub label: Option<String>,
    /// Which of its calls wait for a person, overriding the agent's policy.
    pub approve: Option<Approve>,
    /// The most tool calls of one run running on it at once.
    pub max_concurrent_calls: u32,
    /// The host adds headers to every request to it (a headers hook, for rotating tokens): the agent asks with
    /// [`Output::HeadersRequest`](crate::Output::HeadersRequest) first.
    pub headers_hook: bool,
    /// Authorize with the server when it asks (OAuth 2.1, the MCP authorization spec); `None`: a 401 fails.
    pub auth: Option<AuthConfig>,
}

impl ServerEntry {
    /// The keys of a server entry besides its connection's ([`ConnectionConfig::KEYS`]).
    const POLICY_KEYS: &'static [&'static str] =
        &["allowTools", "denyTools", "label", "approve", "maxConcurrentCalls", "headersHook", "auth"];

    /// A server with the default policy: every tool offered, the agent's approvals, 4 calls at once.
    pub fn new(connection: ConnectionConfig) -> ServerEntry {
        ServerEntry {
            connection,
            tools: ToolFilter::default(),
            label: None,
            approve: None,
            max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS,
            headers_hook: false,
            auth: None,
        }
    }

    /// The server's configured name.
    pub fn name(&self) -> &str {
        &self.connection.name
    }

    /// Reads `{name, url | command, …connection keys, allowTools, denyTools, label, approve, maxConcurrentCalls}`.
    fn read(value: &Value, path: &str) -> std::result::Result<ServerEntry, String> {
        let f = Fields::new(value, path)?;
        f.only(&[ConnectionConfig::KEYS, Self::POLICY_KEYS].concat())?;
        let names = |key: &str| -> std::result::Result<Vec<String>, String> {
            let list = f.array(key)?.iter().map(|n| n.as_str().map(str::to_owned));
            list.collect::<Option<_>>().ok_or(format!("{path}.{key} must be a list of tool names or * patterns"))
        };
        let (approve, max_concurrent_calls) = read_policy(&f)?;
        Ok(ServerEntry {
            connection: ConnectionConfig::read(&f)?,
            tools: ToolFilter { allow: names("allowTools")?, deny: names("denyTools")? },
            label: f.string("label")?,
            approve,
            max_concurrent_calls,
            headers_hook: f.flag("headersHook")?.unwrap_or(false),
            auth: f.value("auth").map(|a| AuthConfig::read(a, &format!("{path}.auth"))).transpose()?,
        })
    }

    /// The part of it a run's tool loop needs.
    fn policy(&self) -> ServerPolicy {
        ServerPolicy {
            server: self.connection.name.clone(),
            approve: self.approve,
            max_concurrent_calls: self.max_concurrent_calls,
        }
    }
}

/// `approve` and `maxConcurrentCalls` of a server entry.
fn read_policy(f: &Fields) -> std::result::Result<(Option<Approve>, u32), String> {
    let approve = f.string("approve")?.map(|a| read_approve(&a, &format!("{}.approve", f.path()))).transpose()?;
    Ok((approve, f.count("maxConcurrentCalls")?.unwrap_or(DEFAULT_MAX_CONCURRENT_CALLS)))
}

/// The agent's own option keys (besides the conversion's, [`ConvertOptions::KEYS`]).
const AGENT_KEYS: &[&str] = &[
    "model",
    "instructions",
    "maxTurns",
    "modelSettings",
    "maxOutputChars",
    "modelTimeoutMs",
    "validateArguments",
    "toolChanges",
    "continuation",
    "approve",
    "inflight",
    "maxToolCallsPerTurn",
    "parallelToolCalls",
    "maxRetries",
    "runTimeoutMs",
    "portkey",
    "servers",
];

/// Every option key the core reads, by object: the one list hosts check their own option objects against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionKeys {
    /// The agent's options.
    pub agent: Vec<&'static str>,
    /// One entry of `servers`.
    pub server: Vec<&'static str>,
    /// `portkey`.
    pub portkey: &'static [&'static str],
}

/// The option keys of [`AgentConfig::from_json`].
pub fn option_keys() -> OptionKeys {
    OptionKeys {
        agent: [AGENT_KEYS, ConvertOptions::KEYS].concat(),
        server: [ConnectionConfig::KEYS, ServerEntry::POLICY_KEYS].concat(),
        portkey: PortkeyConfig::KEYS,
    }
}

impl Default for AgentConfig {
    fn default() -> Self {
        let defaults = LoopConfig::default();
        AgentConfig {
            model: String::new(),
            instructions: None,
            max_turns: defaults.max_turns,
            model_settings: Map::new(),
            max_output_chars: DEFAULT_MAX_OUTPUT_CHARS,
            model_timeout_ms: 600_000,
            convert: ConvertOptions::default(),
            validate_arguments: true,
            tool_changes: ToolChanges::default(),
            continuation: Continuation::default(),
            approve: Approve::default(),
            inflight: Inflight::default(),
            max_tool_calls_per_turn: Some(DEFAULT_MAX_TOOL_CALLS_PER_TURN),
            parallel_tool_calls: None,
            max_retries: 2,
            run_timeout_ms: None,
            portkey: PortkeyConfig::default(),
            servers: Vec::new(),
        }
    }
}

/// How messages name server `i`: by the name the application gave it (`servers.calendar`, as in the JS
/// options), or by its place when it has none.
fn server_path(i: usize, entry: &Value) -> String {
    match entry.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) {
        Some(name) => format!("servers.{name}"),
        None => format!("servers[{i}]"),
    }
}

impl AgentConfig {
    /// Reads the configuration from JSON, in the shape `createAgent` documents (`servers` as an array of
    /// `{name, url, headers, timeoutMs}`). Unknown options are refused, so a typo is an error.
    pub fn from_json(value: &Value) -> Result<AgentConfig> {
        Self::read(value).map_err(Error::config)
    }

    /// The run options of a tool loop driven alone (no endpoint, no connections): the agent's options but
    /// `portkey`, with `servers` as policies `[{name, approve?, maxConcurrentCalls?}]`.
    pub fn loop_from_json(value: &Value) -> Result<(LoopConfig, ConvertOptions)> {
        let read = || -> std::result::Result<_, String> {
            let f = Fields::new(value, "")?;
            let known: Vec<&str> = option_keys().agent.into_iter().filter(|k| *k != "portkey").collect();
            f.only(&known)?;
            let policies = f.array("servers")?.iter().enumerate().map(|(i, entry)| {
                let f = Fields::new(entry, &server_path(i, entry))?;
                f.only(&["name", "approve", "maxConcurrentCalls"])?;
                let name = f.string("name")?.filter(|n| !n.is_empty()).ok_or(format!("{} needs a name", f.path()))?;
                let (approve, max_concurrent_calls) = read_policy(&f)?;
                Ok(ServerPolicy { server: name, approve, max_concurrent_calls })
            });
            let policies = policies.collect::<std::result::Result<Vec<_>, String>>()?;
            let config = Self::read_options(&f)?;
            Ok((LoopConfig { servers: policies, ..config.loop_config() }, config.convert))
        };
        read().map_err(Error::config)
    }

    fn read(value: &Value) -> std::result::Result<AgentConfig, String> {
        let f = Fields::new(value, "")?;
        f.only(&option_keys().agent)?;
        let servers = f.array("servers")?.iter().enumerate();
        let servers = servers.map(|(i, v)| ServerEntry::read(v, &server_path(i, v)));
        Ok(AgentConfig {
            servers: servers.collect::<std::result::Result<_, _>>()?,
            portkey: f.value("portkey").map(PortkeyConfig::read).transpose()?.unwrap_or_default(),
            ..Self::read_options(&f)?
        })
    }

    /// Every option but `portkey` and `servers`.
    fn read_options(f: &Fields) -> std::result::Result<AgentConfig, String> {
        let defaults = AgentConfig::default();
        let model_settings = match f.value("modelSettings") {
            None => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err("modelSettings must be an object".into()),
        };
        Ok(AgentConfig {
            model: f.string("model")?.unwrap_or_default(),
            instructions: f.string("instructions")?,
            max_turns: f.count("maxTurns")?.unwrap_or(defaults.max_turns),
            model_settings,
            max_output_chars: f.number("maxOutputChars")?.map_or(defaults.max_output_chars, |n| n as usize),
            model_timeout_ms: f.number("modelTimeoutMs")?.unwrap_or(defaults.model_timeout_ms),
            convert: ConvertOptions::read(f)?,
            validate_arguments: f.flag("validateArguments")?.unwrap_or(true),
            tool_changes: f
                .choice(
                    "toolChanges",
                    &[("accept", ToolChanges::Accept), ("warn", ToolChanges::Warn), ("block", ToolChanges::Block)],
                )?
                .unwrap_or(ToolChanges::Warn),
            continuation: f
                .choice(
                    "continuation",
                    &[
                        ("auto", Continuation::Auto),
                        ("previous_response_id", Continuation::PreviousResponseId),
                        ("replay", Continuation::Replay),
                    ],
                )?
                .unwrap_or_default(),
            approve: f.string("approve")?.map(|a| read_approve(&a, "approve")).transpose()?.unwrap_or_default(),
            inflight: f
                .choice(
                    "inflight",
                    &[
                        ("retry-if-idempotent", Inflight::RetryIfIdempotent),
                        ("retry", Inflight::Retry),
                        ("fail", Inflight::Fail),
                    ],
                )?
                .unwrap_or_default(),
            max_tool_calls_per_turn: f.count("maxToolCallsPerTurn")?.or(defaults.max_tool_calls_per_turn),
            parallel_tool_calls: f.flag("parallelToolCalls")?,
            max_retries: f.count("maxRetries")?.unwrap_or(defaults.max_retries),
            run_timeout_ms: f.number("runTimeoutMs")?,
            ..defaults
        })
    }

    /// The part of the configuration a [`ToolLoop`](crate::ToolLoop) takes (for hosts that drive the loop alone).
    pub fn loop_config(&self) -> LoopConfig {
        let mut model_settings = self.model_settings.clone();
        if let Some(parallel) = self.parallel_tool_calls {
            model_settings.insert("parallel_tool_calls".into(), Value::Bool(parallel));
        }
        LoopConfig {
            model: self.model.clone(),
            instructions: self.instructions.clone(),
            max_turns: self.max_turns,
            model_settings,
            max_output_chars: self.max_output_chars,
            validate_arguments: self.validate_arguments,
            stream: false,
            continuation: self.continuation,
            approve: self.approve,
            inflight: self.inflight,
            max_tool_calls_per_turn: self.max_tool_calls_per_turn,
            servers: self.servers.iter().map(ServerEntry::policy).collect(),
        }
    }

    /// Checks everything before the first request.
    pub fn validate(&self) -> Result<()> {
        self.loop_config().validate_settings().map_err(Error::config)?;
        self.portkey.validate().map_err(Error::config)?;
        if !(1..=MAX_TIMEOUT_MS).contains(&self.model_timeout_ms) {
            return Err(Error::config(format!("modelTimeoutMs must be between 1 and {MAX_TIMEOUT_MS}")));
        }
        if self.run_timeout_ms.is_some_and(|t| !(1..=MAX_TIMEOUT_MS).contains(&t)) {
            return Err(Error::config(format!("runTimeoutMs must be between 1 and {MAX_TIMEOUT_MS}")));
        }
        if self.max_retries > 10 {
            return Err(Error::config("maxRetries must be at most 10"));
        }
        if self.servers.len() > MAX_SERVERS {
            return Err(Error::config(format!("an agent takes at most {MAX_SERVERS} servers")));
        }
        for (i, server) in self.servers.iter().enumerate() {
            server.connection.validate().map_err(Error::config)?;
            if server.headers_hook && !matches!(server.connection.endpoint, crate::mcp::Endpoint::Http { .. }) {
                let name = server.name();
                return Err(Error::config(format!("server '{name}': a headers hook applies to HTTP servers")));
            }
            if self.servers[..i].iter().any(|s| s.name() == server.name()) {
                return Err(Error::config(format!("two servers are named '{}'", server.name())));
            }
        }
        Ok(())
    }
}
