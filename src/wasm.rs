//! JavaScript bindings (wasm32 + feature `wasm`). A thin translation layer: data crosses as JSON strings
//! (and body chunks as bytes), errors as real `Error` objects with a `code`. The typed public API lives in
//! `js/` (`core.js`, `index.d.ts`).

// Items here are reached from JavaScript, not from Rust.
#![allow(unreachable_pub)]

use crate::driver::{AgentConfig, Driver};
use crate::error::Error;
use crate::json::Fields;
use crate::schema::{Catalog, ConvertOptions};
use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

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

fn id(value: f64) -> u64 {
    value as u64
}

/// The driver of one agent (see the Rust `driver` module for the contract).
#[wasm_bindgen(js_name = Driver)]
pub struct WasmDriver(Driver);

#[wasm_bindgen(js_class = Driver)]
impl WasmDriver {
    /// `config` is the JSON of an `AgentConfig`.
    #[wasm_bindgen(constructor)]
    pub fn new(config: &str) -> Result<WasmDriver, JsValue> {
        let config =
            AgentConfig::from_json(&parse("invalid agent configuration", config)?).map_err(|e| js_error(&e))?;
        Driver::new(config).map(WasmDriver).map_err(|e| js_error(&e))
    }

    /// Starts a run; `input` is JSON (a string or an array of input items). Returns the run id.
    #[wasm_bindgen(js_name = startRun)]
    pub fn start_run(&mut self, input: &str, trace_id: &str, now_ms: f64) -> Result<f64, JsValue> {
        let input = parse("invalid input", input)?;
        self.0.start_run(input, trace_id, id(now_ms)).map(|run| run as f64).map_err(|e| js_error(&e))
    }

    /// Response head; `headers` is JSON `[[name, value], …]`.
    #[wasm_bindgen(js_name = handleHttpHead)]
    pub fn handle_http_head(&mut self, effect: f64, status: u16, headers: &str, now_ms: f64) -> Result<(), JsValue> {
        let headers = Fields::new(&json!({ "headers": parse("invalid headers", headers)? }), "")
            .and_then(|f| f.headers("headers"))
            .map_err(|e| js_error(&Error::host(e)))?;
        self.0.handle_http_head(id(effect), status, &headers, id(now_ms)).map_err(|e| js_error(&e))
    }

    /// One body chunk.
    #[wasm_bindgen(js_name = handleHttpChunk)]
    pub fn handle_http_chunk(&mut self, effect: f64, chunk: &[u8], now_ms: f64) -> Result<(), JsValue> {
        self.0.handle_http_chunk(id(effect), chunk, id(now_ms)).map_err(|e| js_error(&e))
    }

    /// The end of the body.
    #[wasm_bindgen(js_name = handleHttpEnd)]
    pub fn handle_http_end(&mut self, effect: f64, now_ms: f64) -> Result<(), JsValue> {
        self.0.handle_http_end(id(effect), id(now_ms)).map_err(|e| js_error(&e))
    }

    /// A transport failure (the message must not contain the URL).
    #[wasm_bindgen(js_name = handleHttpError)]
    pub fn handle_http_error(&mut self, effect: f64, message: &str, now_ms: f64) -> Result<(), JsValue> {
        self.0.handle_http_error(id(effect), message, id(now_ms)).map_err(|e| js_error(&e))
    }

    /// A timer fired.
    #[wasm_bindgen(js_name = handleTimer)]
    pub fn handle_timer(&mut self, effect: f64, now_ms: f64) -> Result<(), JsValue> {
        self.0.handle_timer(id(effect), id(now_ms)).map_err(|e| js_error(&e))
    }

    /// Ends every run and the sessions; drain until `idle`.
    pub fn close(&mut self, now_ms: f64) {
        self.0.close(id(now_ms));
    }

    /// The next output as JSON (`{"type": "http" | "timer" | "cancel" | "event" | "done" | "wait" | "idle", …}`).
    #[wasm_bindgen(js_name = pollOutput)]
    pub fn poll_output(&mut self) -> String {
        self.0.poll_output().to_json().to_string()
    }
}

/// Converts the `tools` of a `tools/list` result (or the whole result) for one server. `options` is JSON
/// `{ "server"?: string, "prefix"?: "auto" | "always" | "never", "maxDescriptionChars"?: number }`.
/// Returns JSON `{ tools, routes, notes }`.
#[wasm_bindgen(js_name = toFunctionTools)]
pub fn to_function_tools(tools: &str, options: &str) -> Result<String, JsValue> {
    let tools = parse("invalid tools", tools)?;
    let options = parse("invalid options", options)?;
    let server = options.get("server").and_then(Value::as_str).unwrap_or("default");
    let convert = ConvertOptions::from_json(&options, &["server"]).map_err(|e| js_error(&Error::config(e)))?;
    let (catalog, notes) = Catalog::from_json(server, &tools, &convert);
    Ok(json!({"tools": catalog.tools, "routes": catalog.routes, "notes": notes}).to_string())
}
