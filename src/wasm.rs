//! JavaScript bindings (wasm32 + feature `wasm`). A thin translation layer: data crosses as JSON strings
//! (and body chunks as bytes), errors as real `Error` objects with a `code`. The typed public API lives in
//! `js/` (`core.js`, `index.d.ts`).

// Items here are reached from JavaScript, not from Rust.
#![allow(unreachable_pub)]

use crate::agent::{AgentConfig, Driver, Output, RunOptions};
use crate::base::error::Error;
use crate::base::io::{Effect, EffectId};
use crate::base::json::{self, Fields};
use crate::schema::{self, Catalog, ServerTools};
use crate::tool_loop::{Decision, LoopConfig, ToolLoop, ToolResult};
use crate::wire::mcp::Tool;
use crate::wire::responses::{ModelRequest, ModelResponse};
use serde_json::{Value, json};
use std::sync::Arc;
use wasm_bindgen::prelude::*;

// talc instead of the default dlmalloc: 2.8 KB less gzipped, and as fast on a catalog's many small allocations
// (bench/convert.mjs, bench/loop.mjs).
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// A JS `Error` with `code` (and `status` / `server` when known), so callers can branch without parsing text.
fn js_error(error: &Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    let set = |key: &str, value: JsValue| {
        let _ = js_sys::Reflect::set(&js, &JsValue::from_str(key), &value);
    };
    set("code", JsValue::from_str(error.code()));
    match error {
        Error::Model { status: Some(status), .. } => set("status", JsValue::from_f64(f64::from(*status))),
        Error::Mcp { server, .. } => set("server", JsValue::from_str(server)),
        _ => {}
    }
    js.into()
}

/// Parses JSON from JavaScript (always through `from_slice`, so the wasm carries one JSON reader).
fn parse(what: &str, json: &str) -> Result<Value, JsValue> {
    serde_json::from_slice(json.as_bytes()).map_err(|e| js_error(&Error::config(format!("{what}: {e}"))))
}

/// Decisions given as JSON `[{callId, approved, reason?}]`.
fn decision_list(json: &str) -> Result<Vec<Decision>, JsValue> {
    Decision::list_from_json(&parse("invalid decisions", json)?).map_err(|e| js_error(&e))
}

/// A time, or a run id, from JavaScript.
fn ms(value: f64) -> u64 {
    value as u64
}

/// An effect id from JavaScript (a number below 2^53).
fn id(value: f64) -> EffectId {
    EffectId::from_raw(value as u64)
}

/// `{"stream"?: bool, "snapshots"?: bool, "traceId"?: string, "previousResponseId"?: string, "history"?: [item]}`.
fn run_options(json: &str) -> Result<RunOptions, JsValue> {
    let value = parse("invalid run options", json)?;
    let read = || -> Result<RunOptions, String> {
        let f = Fields::new(&value, "")?;
        Ok(RunOptions {
            stream: f.flag("stream")?.unwrap_or(false),
            snapshots: f.flag("snapshots")?.unwrap_or(false),
            trace_id: f.string("traceId")?,
            previous_response_id: f.string("previousResponseId")?,
            history: f.array("history")?.to_vec(),
        })
    };
    read().map_err(|e| js_error(&Error::config(e)))
}

/// Headers as JSON `[[name, value], …]` or `{ name: value }`.
fn header_list(json: &str) -> Result<Vec<(String, String)>, JsValue> {
    Fields::new(&json::object([("headers", parse("invalid headers", json)?)]), "")
        .and_then(|f| f.headers("headers"))
        .map_err(|e| js_error(&Error::host(e)))
}

/// The driver of one agent (see the Rust `Driver` for the contract), and the body of the `http` output polled last.
#[wasm_bindgen(js_name = Driver)]
pub struct WasmDriver(Driver, Option<String>);

#[wasm_bindgen(js_class = Driver)]
impl WasmDriver {
    /// `config` is the JSON of an `AgentConfig`; `entropy` random bytes (the core draws none itself).
    #[wasm_bindgen(constructor)]
    pub fn new(config: &str, entropy: &[u8]) -> Result<WasmDriver, JsValue> {
        let config =
            AgentConfig::from_json(&parse("invalid agent configuration", config)?).map_err(|e| js_error(&e))?;
        let entropy = entropy.iter().fold(0u64, |acc, b| acc.rotate_left(8) ^ u64::from(*b));
        Driver::new(config, entropy).map(|driver| WasmDriver(driver, None)).map_err(|e| js_error(&e))
    }

    /// Starts a run; `input` is JSON (a string or an array of input items), `options` JSON
    /// `{"stream"?: bool, "snapshots"?: bool, "traceId"?: string}`. Returns the run id.
    #[wasm_bindgen(js_name = startRun)]
    pub fn start_run(&mut self, input: &str, options: &str, now_ms: f64) -> Result<f64, JsValue> {
        let input = parse("invalid input", input)?;
        let options = run_options(options)?;
        self.0.start_run(input, options, ms(now_ms)).map(|run| run as f64).map_err(|e| js_error(&e))
    }

    /// Resumes a run from its snapshot (JSON) with decisions (JSON `[{callId, approved, reason?}]`).
    #[wasm_bindgen(js_name = resumeRun)]
    pub fn resume_run(&mut self, snapshot: &str, decisions: &str, options: &str, now_ms: f64) -> Result<f64, JsValue> {
        let snapshot = parse("invalid snapshot", snapshot)?;
        let decisions = decision_list(decisions)?;
        let options = run_options(options)?;
        self.0.resume_run(snapshot, decisions, options, ms(now_ms)).map(|run| run as f64).map_err(|e| js_error(&e))
    }

    /// Cancels a run; it ends with status `cancelled` and `reason`.
    #[wasm_bindgen(js_name = cancelRun)]
    pub fn cancel_run(&mut self, run: f64, reason: &str, now_ms: f64) -> Result<bool, JsValue> {
        self.0.cancel_run(ms(run), reason, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// Lists the tools of `server` directly (no model); returns the operation id (ends with `opDone`).
    #[wasm_bindgen(js_name = listTools)]
    pub fn list_tools(&mut self, server: &str, now_ms: f64) -> Result<f64, JsValue> {
        self.0.list_tools(server, ms(now_ms)).map(|op| op.get() as f64).map_err(|e| js_error(&e))
    }

    /// Calls a tool of `server` directly (`arguments` is JSON); returns the operation id.
    #[wasm_bindgen(js_name = callTool)]
    pub fn call_tool(&mut self, server: &str, name: &str, arguments: &str, now_ms: f64) -> Result<f64, JsValue> {
        let arguments = parse("invalid arguments", arguments)?;
        self.0.call_tool(server, name, arguments, ms(now_ms)).map(|op| op.get() as f64).map_err(|e| js_error(&e))
    }

    /// Sends one model request (JSON: a tool loop's `callModel` request), traced as turn `turn` of `trace_id`;
    /// returns the operation id (ends with `opDone`: `{ response, headers }`).
    #[wasm_bindgen(js_name = callModel)]
    pub fn call_model(&mut self, request: &str, trace_id: &str, turn: u32, now_ms: f64) -> Result<f64, JsValue> {
        let Value::Object(fields) = parse("invalid request", request)? else {
            return Err(js_error(&Error::config("a model request is a JSON object")));
        };
        let request = ModelRequest { fields, tools: Arc::default() };
        self.0.call_model(&request, trace_id, turn, ms(now_ms)).map(|op| op.get() as f64).map_err(|e| js_error(&e))
    }

    /// Cancels a direct operation; a server is told, a model request aborted.
    #[wasm_bindgen(js_name = cancelOp)]
    pub fn cancel_op(&mut self, op: f64, reason: &str, now_ms: f64) -> Result<bool, JsValue> {
        self.0.cancel_op(id(op), reason, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// Answers a `headersRequest`: `headers` JSON `[[name, value], …]`, or absent with `failure` saying what kind
    /// of failure the hook had.
    #[wasm_bindgen(js_name = answerHeaders)]
    pub fn answer_headers(
        &mut self,
        id: f64,
        headers: Option<String>,
        failure: &str,
        now_ms: f64,
    ) -> Result<bool, JsValue> {
        let outcome = match headers {
            Some(json) => Ok(header_list(&json)?),
            None => Err(failure.to_owned()),
        };
        self.0.answer_headers(self::id(id), outcome, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// Answers an `authorizeRequest`: the URL the person was redirected to, or absent with `failure` saying why
    /// there is none.
    #[wasm_bindgen(js_name = answerAuthorize)]
    pub fn answer_authorize(
        &mut self,
        id: f64,
        url: Option<String>,
        failure: &str,
        now_ms: f64,
    ) -> Result<bool, JsValue> {
        let outcome = url.ok_or_else(|| failure.to_owned());
        self.0.answer_authorize(self::id(id), outcome, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// Answers a `signRequest`: the signature (base64url), or absent with `failure` saying why there is none.
    #[wasm_bindgen(js_name = answerSign)]
    pub fn answer_sign(
        &mut self,
        id: f64,
        signature: Option<String>,
        failure: &str,
        now_ms: f64,
    ) -> Result<bool, JsValue> {
        let outcome = signature.ok_or_else(|| failure.to_owned());
        self.0.answer_sign(self::id(id), outcome, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// Starts a server's authorization from a stored `authState` (`state` JSON); false when not taken.
    #[wasm_bindgen(js_name = restoreAuth)]
    pub fn restore_auth(&mut self, server: &str, state: &str, now_ms: f64) -> Result<bool, JsValue> {
        let state = parse("invalid authorization state", state)?;
        self.0.restore_auth(server, &state, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// Answers an `approvalRequest`: whether a person must decide the call.
    #[wasm_bindgen(js_name = answerApproval)]
    pub fn answer_approval(&mut self, id: f64, needs_person: bool, now_ms: f64) -> Result<bool, JsValue> {
        self.0.answer_approval(self::id(id), needs_person, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// Response head; `headers` is JSON `[[name, value], …]`.
    #[wasm_bindgen(js_name = handleHttpHead)]
    pub fn handle_http_head(&mut self, effect: f64, status: u16, headers: &str, now_ms: f64) -> Result<bool, JsValue> {
        let headers = header_list(headers)?;
        self.0.handle_http_head(id(effect), status, &headers, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// One body chunk.
    #[wasm_bindgen(js_name = handleHttpChunk)]
    pub fn handle_http_chunk(&mut self, effect: f64, chunk: &[u8], now_ms: f64) -> Result<bool, JsValue> {
        self.0.handle_http_chunk(id(effect), chunk, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// The end of the body.
    #[wasm_bindgen(js_name = handleHttpEnd)]
    pub fn handle_http_end(&mut self, effect: f64, now_ms: f64) -> Result<bool, JsValue> {
        self.0.handle_http_end(id(effect), ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// A transport failure (the message must not contain the URL); `lasting` when trying again cannot help.
    #[wasm_bindgen(js_name = handleHttpError)]
    pub fn handle_http_error(
        &mut self,
        effect: f64,
        message: &str,
        lasting: bool,
        now_ms: f64,
    ) -> Result<bool, JsValue> {
        self.0.handle_http_error(id(effect), message, lasting, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// Bytes a server process wrote to stdout.
    #[wasm_bindgen(js_name = handleStdioStdout)]
    pub fn handle_stdio_stdout(&mut self, effect: f64, chunk: &[u8], now_ms: f64) -> Result<bool, JsValue> {
        self.0.handle_stdio_stdout(id(effect), chunk, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// Bytes a server process wrote to stderr.
    #[wasm_bindgen(js_name = handleStdioStderr)]
    pub fn handle_stdio_stderr(&mut self, effect: f64, chunk: &[u8], now_ms: f64) -> Result<bool, JsValue> {
        self.0.handle_stdio_stderr(id(effect), chunk, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// A server process ended (or could not start): `reason` says how.
    #[wasm_bindgen(js_name = handleStdioExit)]
    pub fn handle_stdio_exit(&mut self, effect: f64, reason: &str, now_ms: f64) -> Result<bool, JsValue> {
        self.0.handle_stdio_exit(id(effect), reason, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// A timer fired.
    #[wasm_bindgen(js_name = handleTimer)]
    pub fn handle_timer(&mut self, effect: f64, now_ms: f64) -> Result<bool, JsValue> {
        self.0.handle_timer(id(effect), ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// Answers an `inputRequest`: `result` is JSON, or absent with `refusal` saying why not.
    #[wasm_bindgen(js_name = answerInput)]
    pub fn answer_input(
        &mut self,
        input: f64,
        result: Option<String>,
        refusal: &str,
        now_ms: f64,
    ) -> Result<bool, JsValue> {
        let outcome = match result {
            Some(json) => Ok(parse("invalid answer", &json)?),
            None => Err(refusal.to_owned()),
        };
        self.0.answer_input(id(input), outcome, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// Ends everything; drain until `idle`.
    pub fn close(&mut self, now_ms: f64) {
        self.0.close(ms(now_ms));
    }

    /// The next output as JSON (`{"type": "http" | "stdio" | "timer" | "cancel" | "event" | "inputRequest" |
    /// "done" | "opDone" | "opProgress" | "wait" | "idle", …}`). An `http` output comes without its body: that is
    /// `takeBody`'s, as bytes (a model request is mostly its tools' JSON, which would otherwise be escaped into
    /// this text and parsed out of it again).
    #[wasm_bindgen(js_name = pollOutput)]
    pub fn poll_output(&mut self) -> String {
        let mut output = self.0.poll_output();
        self.1 = match &mut output {
            Output::Effect(Effect::Http { request, .. }) => request.body.take(),
            _ => None,
        };
        output.to_text()
    }

    /// The UTF-8 body of the `http` output polled last (once), or `undefined`.
    #[wasm_bindgen(js_name = takeBody)]
    pub fn take_body(&mut self) -> Option<Vec<u8>> {
        self.1.take().map(String::into_bytes)
    }
}

/// One run of the tool loop alone, for hosts with their own MCP and model clients (see the Rust `tool_loop`
/// module for the contract). Everything crosses as JSON text.
#[wasm_bindgen(js_name = ToolLoop)]
pub struct WasmToolLoop(ToolLoop);

#[wasm_bindgen(js_class = ToolLoop)]
impl WasmToolLoop {
    /// `config` is the run options (JSON: agent options without `portkey`, `servers` as policies
    /// `[{name, approve?, maxConcurrentCalls?}]`), `tools` JSON `[{"server", "label"?, "tools": [MCP tools]}]`,
    /// `input` the user's text or input items (JSON).
    #[wasm_bindgen(constructor)]
    pub fn new(config: &str, tools: &str, input: &str, trace_id: &str, now_ms: f64) -> Result<WasmToolLoop, JsValue> {
        let (config, catalog) = loop_parts(config, tools)?;
        let input = parse("invalid input", input)?;
        ToolLoop::new(config, catalog, input, trace_id, ms(now_ms)).map(WasmToolLoop).map_err(|e| js_error(&e))
    }

    /// Continues a run from its snapshot (JSON), with decisions (JSON `[{callId, approved, reason?}]`).
    pub fn restore(
        config: &str,
        tools: &str,
        snapshot: &str,
        decisions: &str,
        now_ms: f64,
    ) -> Result<WasmToolLoop, JsValue> {
        let (config, catalog) = loop_parts(config, tools)?;
        let snapshot = parse("invalid snapshot", snapshot)?;
        let decisions = decision_list(decisions)?;
        let restored = ToolLoop::restore(config, catalog, &snapshot, decisions, ms(now_ms));
        restored.map(WasmToolLoop).map_err(|e| js_error(&e))
    }

    /// The next output as JSON.
    #[wasm_bindgen(js_name = pollOutput)]
    pub fn poll_output(&mut self) -> String {
        self.0.poll_output().to_text()
    }

    /// The model's response (a Responses `Response`, JSON) to effect `id`, with the endpoint's `x-portkey-*`
    /// response headers (JSON, lower-cased names; or empty); false when it is no longer pending.
    #[wasm_bindgen(js_name = handleModelResponse)]
    pub fn handle_model_response(
        &mut self,
        id: f64,
        response: &str,
        headers: &str,
        now_ms: f64,
    ) -> Result<bool, JsValue> {
        let headers = if headers.is_empty() { Vec::new() } else { header_list(headers)? };
        let response = ModelResponse::from_value(parse("invalid response", response)?)
            .map(|r| ModelResponse { headers, ..r })
            .map_err(|e| Error::model(None, format!("malformed response: {e}")));
        self.0.handle_model_response(self::id(id), response, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// The model request of effect `id` failed (`status` 0 when no HTTP status is known).
    #[wasm_bindgen(js_name = handleModelError)]
    pub fn handle_model_error(&mut self, id: f64, status: u16, message: &str, now_ms: f64) -> Result<bool, JsValue> {
        let error = Error::model((status != 0).then_some(status), message);
        self.0.handle_model_response(self::id(id), Err(error), ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// The `CallToolResult` (JSON) of effect `id`, or with `failure` set, the reason the call did not complete;
    /// with `interrupted`, the host lost track of the call (its outcome is unknown).
    #[wasm_bindgen(js_name = handleToolResult)]
    pub fn handle_tool_result(
        &mut self,
        id: f64,
        result: &str,
        failure: &str,
        interrupted: bool,
        now_ms: f64,
    ) -> Result<bool, JsValue> {
        let result = match failure {
            _ if interrupted => ToolResult::Interrupted,
            "" => ToolResult::Result(parse("invalid tool result", result)?),
            message => ToolResult::Failed(message.to_owned()),
        };
        self.0.handle_tool_result(self::id(id), result, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// Decisions (JSON `[{callId, approved, reason?}]`) on calls waiting for approval.
    pub fn decide(&mut self, decisions: &str, now_ms: f64) -> Result<(), JsValue> {
        let decisions = decision_list(decisions)?;
        self.0.decide_all(decisions, ms(now_ms)).map_err(|e| js_error(&e))
    }

    /// Ends the run: effects in flight get `cancel` outputs, and it is done with status `cancelled`.
    pub fn cancel(&mut self, reason: &str) {
        self.0.cancel(reason);
    }

    /// The run's state as versioned JSON text.
    pub fn snapshot(&self) -> String {
        json::text(&self.0.snapshot())
    }
}

/// A loop's configuration and catalog from JSON.
fn loop_parts(config: &str, tools: &str) -> Result<(LoopConfig, Arc<Catalog>), JsValue> {
    let value = parse("invalid configuration", config)?;
    let (config, convert) = AgentConfig::loop_from_json(&value).map_err(|e| js_error(&e))?;
    let listed = listed_tools(&parse("invalid tools", tools)?).map_err(|e| js_error(&Error::config(e)))?;
    Ok((config, Arc::new(Catalog::build(listed, &convert, None))))
}

/// Every option key the core reads: JSON `{agent, server, portkey}`, each a list of names.
#[wasm_bindgen(js_name = optionKeys)]
pub fn option_keys() -> String {
    let keys = crate::agent::option_keys();
    json::text(&json!({"agent": keys.agent, "server": keys.server, "portkey": keys.portkey}))
}

/// `[{server, label?, tools}]`, each `tools` as a `tools/list` gave them.
fn listed_tools(value: &Value) -> Result<Vec<ServerTools>, String> {
    let Value::Array(servers) = value else { return Err("tools must be a list of {server, label?, tools}".into()) };
    let read = |entry: &Value| -> Result<ServerTools, String> {
        let f = Fields::new(entry, "tools[]")?;
        let server = f.string("server")?.ok_or("tools[].server is required")?;
        let tools = f.array("tools")?.iter().map(|t| Tool::from_value(t.clone()));
        let tools = tools.collect::<Result<_, _>>().map_err(|e| format!("a tool of server '{server}': {e}"))?;
        Ok(ServerTools { server, label: f.string("label")?, tools })
    };
    servers.iter().map(read).collect()
}

/// Converts the `tools` of a `tools/list` result (or the whole result) for one server. `options` is JSON
/// `{ "server"?: string, "toolPrefix"?: "auto" | "always" | "never", "maxDescriptionChars"?: number,
/// "strict"?: "auto" | boolean }`. Returns JSON `{ tools, routes, notes }`.
#[wasm_bindgen(js_name = toFunctionTools)]
pub fn to_function_tools(tools: &str, options: &str) -> Result<String, JsValue> {
    let tools = parse("invalid tools", tools)?;
    let options = parse("invalid options", options)?;
    schema::convert_json(tools, &options).map_err(|e| js_error(&Error::config(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn code(error: &JsValue) -> String {
        js_sys::Reflect::get(error, &JsValue::from_str("code")).unwrap().as_string().unwrap()
    }

    fn poll(driver: &mut WasmDriver) -> Value {
        serde_json::from_str(&driver.poll_output()).unwrap()
    }

    const CONFIG: &str = r#"{"model":"m","portkey":{"baseURL":"http://127.0.0.1:9/v1","provider":"openai"},
        "servers":[{"name":"s","url":"http://127.0.0.1:8/mcp","protocol":"2025-11-25","headers":[["authorization","Bearer t"]]}]}"#;

    #[wasm_bindgen_test]
    fn a_run_crosses_the_boundary_as_json_and_bytes() {
        let mut driver = WasmDriver::new(CONFIG, &[1, 2, 3]).unwrap();
        assert_eq!(poll(&mut driver)["type"], "idle");
        let run = driver.start_run(r#""hello""#, "{}", 1000.0).unwrap();
        assert_eq!(run, 1.0);
        let (mut outputs, mut bodies) = (Vec::new(), Vec::new());
        loop {
            let out = poll(&mut driver);
            if out["type"] == "wait" {
                break;
            }
            bodies.extend(driver.take_body());
            outputs.push(out);
        }
        let sent: Value = serde_json::from_slice(&bodies[0]).unwrap();
        assert_eq!((bodies.len(), &sent["method"]), (1, &json!("initialize")), "one body, once");
        assert_eq!(driver.take_body(), None);
        let timer = outputs.iter().find(|o| o["type"] == "timer").unwrap();
        assert_eq!(timer["atMs"], 61_000, "the request's timeout, from the host's clock");
        let http = outputs.iter().find(|o| o["type"] == "http").unwrap();
        assert_eq!(http["request"]["url"], "http://127.0.0.1:8/mcp");
        assert_eq!(http["server"], "s");
        assert!(http["request"].get("body").is_none(), "the body comes as bytes: {http}");
        let id = http["id"].as_f64().unwrap();

        // A 503 may heal: the handshake is tried again after a backoff.
        driver.handle_http_head(id, 503, r#"{"content-type":"text/plain"}"#, 1001.0).unwrap();
        driver.handle_http_chunk(id, b"overloaded", 1002.0).unwrap();
        driver.handle_http_end(id, 1003.0).unwrap();
        let cancel = poll(&mut driver);
        assert_eq!(cancel["type"], "cancel", "the request's timer is cleared");
        assert_eq!(cancel["id"], timer["id"]);
        let mut outputs: Vec<Value> =
            std::iter::from_fn(|| Some(poll(&mut driver))).take_while(|o| o["type"] != "wait").collect();
        let retry = outputs.iter().find(|o| o["type"] == "timer").unwrap().clone();
        assert!(outputs.iter().any(|o| o["type"] == "event" && o["event"]["type"] == "warning"), "{outputs:?}");
        driver.handle_timer(retry["id"].as_f64().unwrap(), retry["atMs"].as_f64().unwrap()).unwrap();
        outputs = std::iter::from_fn(|| Some(poll(&mut driver))).take_while(|o| o["type"] != "wait").collect();
        let again = outputs.iter().find(|o| o["type"] == "http").unwrap()["id"].as_f64().unwrap();
        // A 401 will not: the run fails, saying how many attempts failed.
        driver.handle_http_head(again, 401, "{}", 2000.0).unwrap();
        driver.handle_http_end(again, 2000.0).unwrap();
        let done = std::iter::from_fn(|| Some(poll(&mut driver))).find(|o| o["type"] == "done").unwrap();
        assert_eq!(done["error"]["code"], "mcp");
        let text = done["text"].as_str().unwrap();
        assert!(text.starts_with("MCP server 's': listing tools failed: could not connect: the server requires authorization (HTTP 401) (2 attempts failed in"), "{text}");
        assert_eq!(poll(&mut driver)["type"], "idle");
    }

    #[wasm_bindgen_test]
    fn a_direct_call_needs_no_model() {
        let mut driver = WasmDriver::new(
            r#"{"servers":[{"name":"s","url":"http://127.0.0.1:8/mcp","protocol":"2025-11-25"}]}"#,
            &[1, 2, 3],
        )
        .unwrap();
        let op = driver.call_tool("s", "echo", r#"{"m":1}"#, 0.0).unwrap();
        let mut http = None;
        loop {
            let out = poll(&mut driver);
            match out["type"].as_str() {
                Some("http") => http = Some(out["id"].as_f64().unwrap()),
                Some("wait") => break,
                _ => {}
            }
        }
        // A refused connection may heal: it is tried again, with a backoff, until the server's timeout is spent.
        driver.handle_http_error(http.unwrap(), "connection refused", false, 1.0).unwrap();
        let mut done = None;
        for _ in 0..1000 {
            let out = poll(&mut driver);
            match out["type"].as_str() {
                Some("timer") => drop(driver.handle_timer(out["id"].as_f64().unwrap(), out["atMs"].as_f64().unwrap())),
                Some("http") => {
                    drop(driver.handle_http_error(out["id"].as_f64().unwrap(), "connection refused", false, 1.0))
                }
                Some("opDone") => {
                    done = Some(out);
                    break;
                }
                _ => {}
            }
        }
        let done = done.expect("the call ends");
        assert_eq!(done["op"], op);
        assert_eq!(done["error"]["code"], "mcp");
        assert!(done["error"]["message"].as_str().unwrap().contains("attempts failed"), "{done}");
        assert_eq!(code(&driver.call_tool("nope", "x", "{}", 2.0).unwrap_err()), "config");
        assert_eq!(code(&driver.start_run(r#""hi""#, "{}", 3.0).unwrap_err()), "config", "no model, no runs");
    }

    #[wasm_bindgen_test]
    fn errors_are_error_objects_with_a_code() {
        let bad = WasmDriver::new(r#"{"model":"m","maxTurn":3}"#, &[1, 2, 3]).err().unwrap();
        assert!(bad.is_instance_of::<js_sys::Error>());
        assert_eq!(code(&bad), "config");
        assert_eq!(code(&WasmDriver::new("{not json", &[1, 2, 3]).err().unwrap()), "config");
        let mut driver = WasmDriver::new(CONFIG, &[1, 2, 3]).unwrap();
        assert_eq!(code(&driver.start_run("42", "{}", 0.0).unwrap_err()), "config");
        assert_eq!(code(&driver.handle_http_end(99.0, 0.0).unwrap_err()), "host");
        assert_eq!(code(&driver.handle_http_head(1.0, 200, "[[1]]", 0.0).unwrap_err()), "host");
    }

    #[wasm_bindgen_test]
    fn converts_tools_for_js() {
        let out: Value = serde_json::from_str(
            &to_function_tools(r#"{"tools":[{"name":"a.b"},{"nope":1}]}"#, r#"{"server":"crm","toolPrefix":"always"}"#)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(out["tools"][0]["name"], "crm__a_b");
        assert_eq!(out["tools"][0]["strict"], true, "no arguments: strict");
        assert_eq!(out["routes"]["crm__a_b"], json!({"server":"crm","tool":"a.b"}));
        assert_eq!(out["notes"].as_array().unwrap().len(), 1);
        assert_eq!(code(&to_function_tools("[]", r#"{"toolPrefix":"sometimes"}"#).unwrap_err()), "config");
    }
}
