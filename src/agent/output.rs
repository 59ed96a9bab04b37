//! What the agent gives its host: effects to perform, and everything else the application hears.

use crate::base::error::Result;
use crate::base::io::{Effect, EffectId};
use crate::event::{Event, PendingCall, RunResult};
use serde_json::Value;

/// Identifies a run of the agent.
pub type RunId = u64;

/// What [`Driver::poll_output`](crate::Driver::poll_output) returns: the host protocol.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
#[non_exhaustive]
pub enum Output {
    /// Perform this.
    Effect(Effect),
    /// Tell the application. `run` is `None` for agent-level events (connections, catalog, logs).
    Event {
        /// The run concerned.
        run: Option<RunId>,
        /// What happened.
        event: Event,
    },
    /// An MCP server asks the application something (`elicitation/create`, `sampling/createMessage`,
    /// `roots/list`); answer with [`Driver::answer_input`](crate::Driver::answer_input).
    InputRequest {
        /// The id to answer with.
        id: EffectId,
        /// The server asking.
        server: String,
        /// The run whose tool call it belongs to, when known.
        run: Option<RunId>,
        /// The request method.
        method: String,
        /// Its params, verbatim.
        params: Value,
    },
    /// A call of `run` under the `host` approval policy waits: the host's function says whether a person must
    /// decide it; answer with [`Driver::answer_approval`](crate::Driver::answer_approval). The calls it waves
    /// through run; the run pauses for the others.
    ApprovalRequest {
        /// The id to answer with.
        id: EffectId,
        /// The run.
        run: RunId,
        /// The call.
        call: PendingCall,
    },
    /// A request to `server` waits for the extra headers of its headers hook (a rotating token, say); answer
    /// with [`Driver::answer_headers`](crate::Driver::answer_headers).
    HeadersRequest {
        /// The id to answer with (the request's own effect id).
        id: EffectId,
        /// The server.
        server: String,
    },
    /// `server` wants authorization and the person must take part: let them open `url` (a browser, a popup,
    /// `chrome.identity.launchWebAuthFlow`), then answer with
    /// [`Driver::answer_authorize`](crate::Driver::answer_authorize) and the URL they were redirected to.
    AuthorizeRequest {
        /// The id to answer with.
        id: EffectId,
        /// The server.
        server: String,
        /// The authorization request (it holds no secret: PKCE keeps the verifier here).
        url: String,
    },
    /// `server`'s client authenticates with a key the host keeps (`private_key_jwt`): sign `input` (ES256) and
    /// answer with [`Driver::answer_sign`](crate::Driver::answer_sign) and the signature, base64url.
    SignRequest {
        /// The id to answer with.
        id: EffectId,
        /// The server.
        server: String,
        /// The JWS signing input (a JWT's header and claims; no secret).
        input: String,
    },
    /// `server`'s authorization changed (a sign-in, a refresh): `state` is what a later driver may start from
    /// ([`Driver::restore_auth`](crate::Driver::restore_auth)). It holds tokens and secrets: for the
    /// application's token storage only.
    AuthState {
        /// The server.
        server: String,
        /// The state to store.
        state: Value,
    },
    /// A step of a run that asked for snapshots is recorded: its state now, for
    /// [`Driver::resume_run`](crate::Driver::resume_run).
    Snapshot {
        /// The run.
        run: RunId,
        /// Versioned JSON.
        snapshot: Value,
    },
    /// A run is over.
    Done {
        /// The run.
        run: RunId,
        /// Its result.
        result: Result<RunResult>,
    },
    /// A direct MCP operation ([`Driver::list_tools`](crate::Driver::list_tools), [`Driver::call_tool`](crate::Driver::call_tool)) is over.
    OpDone {
        /// The operation.
        op: EffectId,
        /// The `tools` array of a listing, or the `CallToolResult` of a call.
        result: Result<Value>,
    },
    /// Progress of a direct MCP operation.
    OpProgress {
        /// The operation.
        op: EffectId,
        /// Progress so far.
        progress: f64,
        /// Total, if known.
        total: Option<f64>,
        /// The server's message.
        message: Option<String>,
    },
    /// Effects are out; nothing more until one of them reports.
    Wait,
    /// No run is active and no effect is out.
    Idle,
}

/// How one run goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Ask for streamed responses: text comes as [`Event::TextDelta`] events while the model writes.
    pub stream: bool,
    /// Give an [`Output::Snapshot`] after every step.
    pub snapshots: bool,
    /// The run's Portkey trace id (`x-portkey-trace-id`); the agent makes one (`mcp-loop-` and 32 hex digits)
    /// when it is absent. A resumed run keeps its snapshot's.
    pub trace_id: Option<String>,
    /// Continue the conversation the provider stored up to this response (an earlier result's `response_id`).
    pub previous_response_id: Option<String>,
    /// Continue a conversation from its items (an earlier result's `history`), sent in front of the input.
    pub history: Vec<Value>,
}
