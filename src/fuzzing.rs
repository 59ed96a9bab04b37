//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, never part of a release): each hands
//! untrusted bytes to one reader the way the wire would, split into chunks as a network splits them (the first
//! byte picks the chunk size). A panic, a hang or memory out of bounds is a bug; a refusal is not.

use crate::base::io::{Effect, EffectId, OpId, Owner};
use crate::base::lines::Lines;
use crate::base::sse::SseParser;
use crate::mcp::{ConnectionConfig, McpClient, McpEvent, McpOutput, Protocol};
use crate::model::{ModelClient, ModelOutput, PortkeyConfig, Span};
use crate::schema::validate::validate;
use crate::schema::{Catalog, ConvertOptions, ServerTools};
use crate::tool_loop::{LoopConfig, LoopOutput, ToolLoop};
use crate::wire::jsonrpc::{JsonRpcMessage, cut_head, trailing_id};
use crate::wire::responses::request_with;
use serde_json::{Value, json};
use std::sync::Arc;

/// `data` past its first byte, in chunks of 1 to 64 bytes.
fn chunks(data: &[u8]) -> std::slice::Chunks<'_, u8> {
    let (size, rest) = data.split_first().map_or((0, data), |(s, rest)| (*s, rest));
    rest.chunks(usize::from(size % 64) + 1)
}

/// The SSE parser, with a small event limit.
pub fn sse(data: &[u8]) {
    let mut parser = SseParser::new(4096);
    let mut events = Vec::new();
    for chunk in chunks(data) {
        if parser.feed(chunk, &mut events).is_err() {
            break;
        }
    }
    let _ = (parser.last_event_id(), parser.retry_ms());
}

/// The JSON-RPC reader, and what is read from the ends of a message too big to read.
pub fn jsonrpc(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = JsonRpcMessage::parse_all(text);
    }
    let _ = (cut_head(data), trailing_id(data));
}

/// The stdio line framer, with a small line limit.
pub fn lines(data: &[u8]) {
    let mut lines = Lines::new(64);
    let mut out = Vec::new();
    for chunk in chunks(data) {
        lines.feed(chunk, &mut out);
    }
}

/// A `tools/list` answer whose `result` is `data`, read by a connected client (every page it asks for gets the
/// same answer), and the tools it keeps converted into a catalog.
pub fn tools_page(data: &[u8]) {
    let config = ConnectionConfig {
        protocol: Protocol::Handshake("2025-11-25".into()),
        ..ConnectionConfig::new("fuzz", "http://127.0.0.1:1/mcp")
    };
    let mut client = McpClient::new(config, Owner::Server(0));
    client.list_tools(OpId { run: 0, id: EffectId::new(Owner::Loop, 1) }, true, 0);
    let mut rounds = 0;
    while let Some(output) = client.poll_output() {
        let (id, body) = match output {
            McpOutput::Effect(Effect::Http { id, request, .. }) => (id, request.body.unwrap_or_default()),
            McpOutput::Effect(_) => continue,
            McpOutput::Event(McpEvent::Tools { tools, verbatim, .. }) => {
                let server = ServerTools { server: "fuzz".into(), label: None, tools };
                let _ = Catalog::build(vec![server], &ConvertOptions::default(), None);
                let _ = Catalog::from_json("fuzz", Value::Array(verbatim), &ConvertOptions::default());
                continue;
            }
            McpOutput::Event(_) => continue,
        };
        rounds += 1;
        let request: Value = serde_json::from_str(&body).unwrap_or_default();
        let answer = match request["method"].as_str() {
            Some("initialize") => json!({"jsonrpc": "2.0", "id": request["id"], "result": {
                "protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "fuzz"}}})
            .to_string(),
            Some("tools/list") if rounds < 8 => {
                format!("{{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{}}}", request["id"], String::from_utf8_lossy(data))
            }
            _ => String::new(),
        };
        let status = if answer.is_empty() { 202 } else { 200 };
        let headers = [("content-type".to_owned(), "application/json".to_owned())];
        client.handle_http_head(id, status, &headers, 0);
        for chunk in answer.as_bytes().chunks(4096) {
            client.handle_http_chunk(id, chunk, 0);
        }
        client.handle_http_end(id, 0);
    }
}

/// The argument validator and strict conversion: `data` is a schema and a value, one JSON text per line.
pub fn validate_arguments(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (schema, value) = text.split_once('\n').unwrap_or((&text, "null"));
    let (Ok(schema), Ok(value)) = (serde_json::from_str::<Value>(schema), serde_json::from_str::<Value>(value)) else {
        return;
    };
    let _ = validate(&value, &schema);
    let catalog = Catalog::from_json("fuzz", json!([{"name": "t", "inputSchema": schema}]), &ConvertOptions::default());
    for tool in catalog.tools() {
        let _ = validate(&value, &tool.function.parameters);
    }
}

/// A model response: `data` as the body of the answer to a turn, as JSON (first byte even) or as a stream.
pub fn responses(data: &[u8]) {
    let stream = data.first().is_some_and(|b| b % 2 == 1);
    let mut client = ModelClient::new(PortkeyConfig::default(), 60_000, 0);
    let body = request_with(json!({"model": "m", "input": "hi", "stream": stream}));
    client.send(
        OpId { run: 1, id: EffectId::new(Owner::Loop, 1) },
        &body,
        &Span { trace_id: String::new(), turn: 1 },
        0,
    );
    while let Some(output) = client.poll_output() {
        let ModelOutput::Effect(Effect::Http { id, .. }) = output else { continue };
        let kind = if stream { "text/event-stream" } else { "application/json" };
        client.handle_http_head(id, 200, &[("content-type".to_owned(), kind.to_owned())]);
        for chunk in chunks(data) {
            client.handle_http_chunk(id, chunk, 0);
        }
        client.handle_http_end(id, 0);
    }
}

/// A snapshot restored into a run.
pub fn snapshot(data: &[u8]) {
    let Ok(snapshot) = serde_json::from_slice::<Value>(data) else { return };
    let config = LoopConfig { model: "m".into(), ..LoopConfig::default() };
    if let Ok(mut run) = ToolLoop::restore(config, Arc::new(Catalog::default()), &snapshot, Vec::new(), 0) {
        // What the restored run does first (a model request, calls sent again, or the end).
        for _ in 0..1000 {
            if matches!(run.poll_output(), LoopOutput::Wait | LoopOutput::Paused(_) | LoopOutput::Done(_)) {
                break;
            }
        }
    }
}
