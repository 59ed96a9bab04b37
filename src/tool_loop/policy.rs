//! The choices an application makes about a run: how the conversation continues, which calls wait for a
//! person, how many run at once, and what happens to a call that was in flight when a run was interrupted.

use serde::{Deserialize, Serialize};

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
pub const DEFAULT_MAX_CONCURRENT_CALLS: u32 = 4;

/// Reads an approval policy by its name (`option` names the option in the message).
pub fn read_approve(name: &str, option: &str) -> Result<Approve, String> {
    match name {
        "never" => Ok(Approve::Never),
        "always" => Ok(Approve::Always),
        "destructive" => Ok(Approve::Destructive),
        "host" => Ok(Approve::Host),
        _ => Err(format!("{option} must be always, never, destructive or a function, not '{name}'")),
    }
}
