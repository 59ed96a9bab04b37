//! What a run reports while it goes, and what it ends with. Shared by the tool loop, the driver and every host.

use crate::wire::responses::Usage;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A step of a run, for logs, progress displays and tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
#[non_exhaustive]
pub enum Event {
    /// A run began (or resumed from a snapshot).
    RunStarted {
        /// The Portkey trace id of the run.
        #[serde(skip_serializing_if = "Option::is_none")]
        trace_id: Option<String>,
        /// Whether it continues a snapshot.
        resumed: bool,
    },
    /// A model request is about to go out.
    TurnStarted {
        /// 1-based turn number.
        turn: u32,
    },
    /// A piece of the model's text, as it streams (only in streamed runs).
    TextDelta {
        /// Turn number.
        turn: u32,
        /// The new text.
        delta: String,
    },
    /// A model request failed in a way that may heal; it is sent again after `delay_ms`. Text deltas the failed
    /// attempt streamed are void: the next attempt streams the turn's text from its start.
    ModelRetry {
        /// Turn number.
        turn: u32,
        /// Failed attempts so far.
        attempt: u32,
        /// The wait before the next attempt (the endpoint's `Retry-After`, or a jittered backoff).
        delay_ms: u64,
        /// What went wrong.
        error: String,
    },
    /// The model answered.
    TurnCompleted {
        /// Turn number.
        turn: u32,
        /// The response id.
        response_id: String,
        /// How many tool calls it asked for.
        tool_calls: usize,
        /// Its text, if any.
        text: String,
    },
    /// A tool call is going out (or was answered locally, see [`Event::ToolCallFinished`]).
    ToolCallStarted {
        /// The model's call id.
        call_id: String,
        /// The function name the model used.
        name: String,
        /// The server it routes to (absent for an unknown name).
        #[serde(skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        /// The original MCP tool name.
        #[serde(skip_serializing_if = "Option::is_none")]
        tool: Option<String>,
        /// The arguments as parsed (or the raw string when they do not parse).
        arguments: Value,
    },
    /// A tool call has its output.
    ToolCallFinished {
        /// The model's call id.
        call_id: String,
        /// The function name.
        name: String,
        /// The server it went to (absent when it was answered locally).
        #[serde(skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        /// The original MCP tool name.
        #[serde(skip_serializing_if = "Option::is_none")]
        tool: Option<String>,
        /// How long the server took, in milliseconds (set by the driver; absent when answered locally).
        #[serde(skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
        /// The output the model gets: a string, or a list of `input_text` / `input_image` / `input_file` parts.
        output: Value,
        /// Whether it is an error.
        is_error: bool,
    },
    /// An MCP server finished its handshake.
    ServerConnected {
        /// The configured name.
        server: String,
        /// The negotiated protocol version.
        protocol_version: String,
        /// The server's own `{name, version}`, as it reports them.
        #[serde(skip_serializing_if = "Option::is_none")]
        server_info: Option<Value>,
    },
    /// The tools of every server were listed and converted.
    ToolsListed {
        /// How many function tools the model gets.
        count: usize,
        /// How many of them are strict.
        strict: usize,
        /// Tools hidden or not made strict, and why.
        notes: Vec<String>,
    },
    /// A server changed a tool's definition since the agent first listed it (`toolChanges` decides what
    /// happens: `accept` and `warn` use the new definition, `block` hides the tool).
    ToolChanged {
        /// The server.
        server: String,
        /// The tool's MCP name.
        tool: String,
        /// Whether the tool is now hidden from the model.
        blocked: bool,
    },
    /// Progress of a tool call, as its server reports it (each report also restarts the call's timeout).
    ToolProgress {
        /// The model's call id.
        call_id: String,
        /// The server.
        server: String,
        /// Progress so far.
        progress: f64,
        /// Total, if known.
        #[serde(skip_serializing_if = "Option::is_none")]
        total: Option<f64>,
        /// The server's message, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// A log message from an MCP server (`notifications/message`), or a line a stdio server wrote to stderr
    /// (`level` is `stderr`).
    ServerLog {
        /// The server.
        server: String,
        /// RFC 5424 level (`debug` … `emergency`), or `stderr`.
        level: String,
        /// The logger's name.
        #[serde(skip_serializing_if = "Option::is_none")]
        logger: Option<String>,
        /// The data.
        data: Value,
    },
    /// A server said its tools changed; they are listed again before the next model turn.
    ToolsChanged {
        /// The server.
        server: String,
    },
    /// Any other notification from an MCP server.
    Notification {
        /// The configured server name.
        server: String,
        /// The notification method.
        method: String,
        /// Its params, verbatim.
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<Value>,
    },
    /// Something the application should know that does not stop the run.
    Warning {
        /// The server concerned, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        /// What happened.
        message: String,
    },
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// The model answered without calling a tool.
    Completed,
    /// The model still wanted tools after `maxTurns` turns; those calls were not executed.
    MaxTurns,
    /// The provider stopped the response early (`incompleteReason` says why).
    Incomplete,
    /// Calls wait for a person's decision (`pending`); resume the `snapshot` with the decisions.
    AwaitingApproval,
    /// The application cancelled the run, or its deadline passed (`reason` says which).
    Cancelled,
}

/// A call waiting for a person's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingCall {
    /// The model's call id: the key of the decision.
    pub call_id: String,
    /// The function name.
    pub name: String,
    /// The server.
    pub server: String,
    /// The original MCP tool name.
    pub tool: String,
    /// The arguments the server would get.
    pub arguments: Value,
    /// The tool's annotations, verbatim (hints from the server, untrusted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
}

/// One model turn, for observability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnRecord {
    /// Turn number.
    pub turn: u32,
    /// The response id.
    pub response_id: String,
    /// The `x-portkey-*` response headers (retry count, cache status, provider, trace id), by lower-case name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub headers: Map<String, Value>,
}

/// Where a recorded call stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// It has its output (it ran, or was refused, rejected or cancelled: the output says so).
    #[default]
    Done,
    /// It waits for a person's decision (a paused run).
    AwaitingApproval,
    /// It has not run: it waits for a free slot or a decision elsewhere in the turn, or the run ended first
    /// (`max_turns`).
    NotRun,
}

/// One tool call the model asked for: executed, refused, or (in a paused or `max_turns` result) not yet run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallRecord {
    /// Turn in which the model asked for it.
    pub turn: u32,
    /// The model's call id.
    pub call_id: String,
    /// The function name.
    pub name: String,
    /// The server (absent for an unknown name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The original MCP tool name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The arguments (the raw string when they do not parse).
    pub arguments: Value,
    /// What the model got back: a string, or a list of input parts (`null` while it has not run).
    pub output: Value,
    /// Whether that was an error.
    pub is_error: bool,
    /// Where it stands.
    #[serde(default)]
    pub status: CallStatus,
}

/// The result of a finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    /// How it ended.
    pub status: RunStatus,
    /// The final answer's text.
    pub output_text: String,
    /// The final response's output items, verbatim.
    pub output: Vec<Value>,
    /// Model turns taken.
    pub turns: u32,
    /// Every tool call, in the order the model made them.
    pub tool_calls: Vec<ToolCallRecord>,
    /// Tokens, summed over the turns.
    pub usage: Usage,
    /// The last response id.
    pub response_id: String,
    /// Why the response was incomplete, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete_reason: Option<String>,
    /// The Portkey trace id of the run (set by the driver).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Every model turn: response id and Portkey's response headers.
    pub turn_details: Vec<TurnRecord>,
    /// Why a cancelled run ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The calls waiting for a decision (status `awaiting_approval`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingCall>,
    /// The run's state, to resume it (status `awaiting_approval`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Value>,
    /// Every item of the conversation (earlier history, inputs, output items, tool outputs), for the next
    /// run's `history`: when the run kept all of it (continuation `auto` or `replay`, not continued by
    /// `previous_response_id`) and ended (not paused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Value>>,
}

impl RunResult {
    /// A result with `status` and nothing else yet.
    pub fn new(status: RunStatus) -> RunResult {
        RunResult {
            status,
            output_text: String::new(),
            output: Vec::new(),
            turns: 0,
            tool_calls: Vec::new(),
            usage: Usage::default(),
            response_id: String::new(),
            incomplete_reason: None,
            trace_id: None,
            turn_details: Vec::new(),
            reason: None,
            pending: Vec::new(),
            snapshot: None,
            history: None,
        }
    }
}
