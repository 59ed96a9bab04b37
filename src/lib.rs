//! # mcp-loop
//!
//! Client-side MCP for the OpenAI Responses API, through Portkey. A model provider cannot reach an MCP
//! server on `localhost`, an intranet or behind a VPN; with mcp-loop the application connects to those
//! servers itself, offers their tools to the model as function tools, runs the model's tool calls locally
//! and loops until the answer is ready. Server URLs, headers and session ids never leave the application.
//!
//! The core is sans-IO: it does no I/O, reads no clock, spawns nothing and never panics on bad input. It
//! describes work as plain-data effects and is told their outcomes. Hosts perform the effects:
//! `js/` with `fetch` (Node and browsers, through WebAssembly), and [`native`] with tokio and reqwest.
//!
//! ## How the machines compose
//! ```text
//!  host (js/ through wasm, or native::Agent)         performs effects, answers questions, only I/O
//!    │  Output::Effect { Http | Stdio | Timer | Cancel }   ▲  handle_http_* / handle_stdio_* / handle_timer
//!    │  Output::{InputRequest, ApprovalRequest, HeadersRequest}   │  answer_input / answer_approval / answer_headers
//!    ▼                                                    │
//!  Driver (the agent)  ── routes every outcome by the owner tag in its EffectId ─────────────────────────┐
//!    ├─ ModelClient          ids tagged Model       Responses over HTTP (Portkey), retries, streams  │
//!    ├─ McpClient × servers  ids tagged Server(n)   one MCP server, both eras, three transports      │
//!    └─ ToolLoop × runs      ids tagged Loop        CallModel / CallTool; the Driver passes them to   │
//!                                                   the clients as OpId { run, id }, which come back  │
//!                                                   with the result: no lookup table anywhere ◄───────┘
//!  pure parts: Catalog / convert_json (tools → function tools), to_output (tool results → outputs)
//! ```
//! - [`Driver`]: one agent; transport effects ([`Effect::Http`], `Stdio`, `Timer`, `Cancel`) and questions for
//!   the host (MCP server requests, approvals by a function, a headers hook's rotating headers).
//! - [`ToolLoop`]: one run at the semantic level (`CallModel`, `CallTool`), for hosts that already own an MCP
//!   client or a Portkey/OpenAI client.
//! - [`McpClient`]: one MCP server (both protocol eras; Streamable HTTP, HTTP+SSE or stdio).
//!
//! Every machine has the same shape: commands and `handle_*` inputs (with the current time), then
//! `poll_output` drained until it says there is nothing more. An outcome that raced a cancel is not taken
//! (`Ok(false)`); only an id the machine never issued is an error.
//!
//! Inside, the source is layered and each layer imports only the ones below it: `base` (helpers), `wire`
//! (JSON-RPC, MCP and Responses types), `schema` / `content` / `event` (pure transforms), `mcp`, `model`,
//! `tool_loop`, `agent`, `hostproto` (the JSON hosts read), then the hosts `wasm` and `native`.
//!
//! ## Driving the agent
//! After every input, drain `poll_output` until `Wait` or `Idle`; perform effects concurrently and feed
//! each outcome back with its id and the current time:
//!
//! ```
//! use mcp_loop::{AgentConfig, Driver, Effect, Output, RunOptions};
//! use serde_json::json;
//!
//! let config = AgentConfig::from_json(&json!({
//!     "model": "gpt-4.1",
//!     "portkey": { "apiKey": "pk-…", "provider": "openai" },
//!     "servers": [{ "name": "intranet", "url": "http://127.0.0.1:8000/mcp" }]
//! })).unwrap();
//! // Random bits from the host: the core draws none itself (it makes trace ids from them).
//! let mut driver = Driver::new(config, 0x5eed).unwrap();
//! let run = driver.start_run(json!("What is on my calendar today?"), RunOptions::default(), 0).unwrap();
//! loop {
//!     match driver.poll_output() {
//!         Output::Effect(Effect::Http { id, request, .. }) => {
//!             // Send `request`; then, as the response arrives:
//!             // driver.handle_http_head(id, status, &headers, now)?;
//!             // driver.handle_http_chunk(id, &bytes, now)?;   (for every chunk)
//!             // driver.handle_http_end(id, now)?;              (or handle_http_error)
//!             assert_eq!(request.method, "POST");
//!             let _ = id;
//!         }
//!         Output::Effect(Effect::Stdio { id, op }) => { /* spawn, write to, close, signal a server process */ let _ = (id, op); }
//!         Output::Effect(Effect::Timer { id, at_ms }) => { /* call driver.handle_timer(id, now) at at_ms */ let _ = (id, at_ms); }
//!         Output::Effect(Effect::Cancel { id }) => { /* abort request or timer `id` */ let _ = id; }
//!         Output::Effect(_) => {}
//!         Output::InputRequest { id, .. } => { /* ask the user; then driver.answer_input(id, answer, now) */ let _ = id; }
//!         Output::ApprovalRequest { id, .. } => { /* driver.answer_approval(id, needs_person, now) */ let _ = id; }
//!         Output::HeadersRequest { id, .. } => { /* driver.answer_headers(id, Ok(headers), now) */ let _ = id; }
//!         Output::Event { event, .. } => println!("{event:?}"),
//!         Output::Snapshot { snapshot, .. } => { /* store it: driver.resume_run(snapshot, …) continues the run */ let _ = snapshot; }
//!         Output::Done { run: done, result } => { assert_eq!(done, run); println!("{result:?}"); break; }
//!         Output::Wait | Output::Idle => break, // wait for an outcome, then feed it and drain again
//!         _ => {} // outputs of direct MCP connections, never from a run
//!     }
//! }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod agent;
mod auth;
mod base;
mod content;
mod event;
mod hostproto;
mod mcp;
mod model;
mod schema;
mod tool_loop;
mod wire;

#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub mod native;

#[cfg(all(target_arch = "wasm32", feature = "wasm"))]
mod wasm;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

/// The README's Rust examples, compiled as doc tests: a snippet that stops compiling fails the tests.
#[cfg(all(doctest, feature = "native"))]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

pub use agent::{AgentConfig, Driver, OptionKeys, Output, RunId, RunOptions, ServerEntry, option_keys};
pub use auth::{AuthClient, AuthConfig, AuthOutput, Challenge, Grant, MAX_AUTHORIZATIONS};
pub use base::error::{Error, Result};
pub use base::http::HttpRequest;
pub use base::io::{Effect, EffectId, OpId, Owner, StdioOp};
pub use base::limits::MAX_TIMEOUT_MS;
pub use content::{DEFAULT_MAX_OUTPUT_CHARS, ToolOutput, to_output};
pub use event::{CallStatus, Event, PendingCall, RunResult, RunStatus, ToolCallRecord, TurnRecord};
pub use mcp::{Capabilities, ConnectionConfig, Endpoint, HttpTransport, McpClient, McpEvent, McpOutput, Protocol};
pub use model::{DEFAULT_BASE_URL, PortkeyConfig};
pub use schema::control::{ToolChange, ToolChanges, ToolFilter};
pub use schema::{
    Catalog, CatalogTool, ConvertOptions, FunctionTool, PrefixPolicy, ServerTools, StrictMode, convert_json,
};
pub use tool_loop::{
    Approve, Continuation, Decision, Inflight, LoopConfig, LoopEffect, LoopOutput, SNAPSHOT_VERSION, ServerPolicy,
    ToolLoop, ToolResult,
};
pub use wire::mcp::{ServerInfo, Tool};
pub use wire::responses::{FunctionCall, ModelRequest, ModelResponse, ToolList, Usage};
