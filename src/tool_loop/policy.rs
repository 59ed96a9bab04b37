//! The choices an application makes about a run: how the conversation continues, which calls wait for a
//! person, how many run at once, and what happens to a call that was in flight when a run was interrupted.

use crate::content::DEFAULT_MAX_OUTPUT_CHARS;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How each model request continues the conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Continuation {
    /// `previous_response_id`, switching to `Replay` when the endpoint says stored responses are unavailable.
    #[default]
    Auto,
    /// Always `previous_response_id` (the provider keeps the conversation).
    PreviousResponseId,
    /// The whole history in `input`, with `store: false` (nothing kept by the provider).
    Replay,
}

/// When a tool call needs a person's decision before it runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approve {
    /// Never: calls run at once.
    #[default]
    Never,
    /// Every call waits for a decision.
    Always,
    /// Calls to tools that may destroy something (not annotated `readOnlyHint: true` or
    /// `destructiveHint: false`) wait for a decision.
    Destructive,
    /// The host decides per call (a function in JS or a closure in Rust); the loop pauses as for `Always` and
    /// the host approves at once the calls its function does not want to ask about.
    Host,
}

/// What a restored run does with a call that was in flight when its snapshot was taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Inflight {
    /// Run it again if its tool is annotated read-only or idempotent; otherwise tell the model its outcome is
    /// unknown.
    #[default]
    RetryIfIdempotent,
    /// Always run it again.
    Retry,
    /// Never run it again: the model is told its outcome is unknown.
    Fail,
}

impl Inflight {
    /// Whether an interrupted call is made again, for a tool that is `retry_safe` (read-only or idempotent).
    pub fn retries(self, retry_safe: bool) -> bool {
        self == Inflight::Retry || (self == Inflight::RetryIfIdempotent && retry_safe)
    }
}

/// Settings for the calls to one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPolicy {
    /// The server's configured name.
    pub server: String,
    /// Overrides the agent's approval policy for this server.
    pub approve: Option<Approve>,
    /// The most calls to this server running at once.
    pub max_concurrent_calls: u32,
}

/// The default limit of calls running at once per server.
pub(crate) const DEFAULT_MAX_CONCURRENT_CALLS: u32 = 4;

/// Reads an approval policy by its name (`option` names the option in the message).
pub(crate) fn read_approve(name: &str, option: &str) -> Result<Approve, String> {
    match name {
        "never" => Ok(Approve::Never),
        "always" => Ok(Approve::Always),
        "destructive" => Ok(Approve::Destructive),
        "host" => Ok(Approve::Host),
        _ => Err(format!("{option} must be always, never, destructive or a function, not '{name}'")),
    }
}

/// Request fields the loop owns; `modelSettings` cannot set them.
const RESERVED_FIELDS: &[&str] =
    &["model", "input", "instructions", "tools", "previous_response_id", "stream", "store", "conversation"];

/// The most calls one model turn may make unless configured otherwise: models make a few, and a flood of
/// them (a prompt injection in a tool output) must not cost unbounded work. The rest are answered with an error.
pub(crate) const DEFAULT_MAX_TOOL_CALLS_PER_TURN: u32 = 64;

/// How a run behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopConfig {
    /// The model name (or Portkey `@provider/model`).
    pub model: String,
    /// System/developer instructions, sent with every request.
    pub instructions: Option<String>,
    /// The most model turns a run may take.
    pub max_turns: u32,
    /// Further request fields merged into every request (`temperature`, `max_output_tokens`, `reasoning`, …).
    pub model_settings: Map<String, Value>,
    /// The cap on one tool output, in characters.
    pub max_output_chars: usize,
    /// Check the model's arguments against the tool's own schema before calling it.
    pub validate_arguments: bool,
    /// Ask for a streamed response (`stream: true`).
    pub stream: bool,
    /// How the conversation continues from turn to turn.
    pub continuation: Continuation,
    /// Which calls wait for a person (servers may override it).
    pub approve: Approve,
    /// What a restored run does with calls that were in flight.
    pub inflight: Inflight,
    /// The most calls the model may make in one turn (default 64); the rest are
    /// answered with an error (`None`: no limit).
    pub max_tool_calls_per_turn: Option<u32>,
    /// Per-server approval and concurrency (servers not listed: the agent's `approve`, 4 calls at once).
    pub servers: Vec<ServerPolicy>,
}

impl Default for LoopConfig {
    fn default() -> Self {
        LoopConfig {
            model: String::new(),
            instructions: None,
            max_turns: 10,
            model_settings: Map::new(),
            max_output_chars: DEFAULT_MAX_OUTPUT_CHARS,
            validate_arguments: true,
            stream: false,
            continuation: Continuation::Auto,
            approve: Approve::Never,
            inflight: Inflight::RetryIfIdempotent,
            max_tool_calls_per_turn: Some(DEFAULT_MAX_TOOL_CALLS_PER_TURN),
            servers: Vec::new(),
        }
    }
}

impl LoopConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.model.trim().is_empty() {
            return Err("model is required".into());
        }
        self.validate_settings()
    }

    /// Checks everything but the model (an agent used only for direct MCP calls needs none).
    pub fn validate_settings(&self) -> std::result::Result<(), String> {
        if self.max_turns == 0 {
            return Err("maxTurns must be at least 1".into());
        }
        if self.max_output_chars < 100 {
            return Err("maxOutputChars must be at least 100".into());
        }
        if self.max_tool_calls_per_turn == Some(0) {
            return Err("maxToolCallsPerTurn must be at least 1".into());
        }
        if let Some(s) = self.servers.iter().find(|s| s.max_concurrent_calls == 0) {
            return Err(format!("servers.{}.maxConcurrentCalls must be at least 1", s.server));
        }
        if let Some(key) = self.model_settings.keys().find(|k| RESERVED_FIELDS.contains(&k.as_str())) {
            return Err(format!("modelSettings cannot set '{key}': the tool loop owns it"));
        }
        Ok(())
    }

    pub(super) fn server(&self, name: &str) -> Option<&ServerPolicy> {
        self.servers.iter().find(|s| s.server == name)
    }

    pub(super) fn concurrency(&self, server: &str) -> usize {
        self.server(server).map_or(DEFAULT_MAX_CONCURRENT_CALLS, |s| s.max_concurrent_calls) as usize
    }
}
