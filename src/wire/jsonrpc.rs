//! JSON-RPC 2.0 messages as MCP uses them. Incoming messages are classified from raw JSON so that a malformed
//! message from a server becomes an error value, never a panic.

use crate::base::limits::MAX_JSON_DEPTH;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// A request id: a string or an integer, never null.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RequestId {
    /// Integer id (the ids this client sends).
    Number(i64),
    /// String id.
    String(String),
}

impl RequestId {
    fn from_value(value: &Value) -> Option<RequestId> {
        match value {
            Value::String(s) => Some(RequestId::String(s.clone())),
            Value::Number(n) => n.as_i64().map(RequestId::Number),
            _ => None,
        }
    }

    fn to_value(&self) -> Value {
        match self {
            RequestId::Number(n) => json!(n),
            RequestId::String(s) => json!(s),
        }
    }
}

/// The `error` member of a response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct JsonRpcError {
    /// Error code (-32601 method not found, -32602 invalid params, …).
    pub code: i64,
    /// Human-readable message.
    pub message: String,
    /// Optional details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl JsonRpcError {
    fn from_value(value: &Value) -> Option<JsonRpcError> {
        Some(JsonRpcError {
            code: value.get("code")?.as_i64()?,
            message: value.get("message")?.as_str()?.to_owned(),
            data: value.get("data").cloned(),
        })
    }
}

/// Method not found.
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;

/// A request (has an id and a method).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonRpcRequest {
    /// Request id.
    pub id: RequestId,
    /// Method name.
    pub method: String,
    /// Params, if any.
    pub params: Option<Value>,
}

/// A notification (a method, no id).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonRpcNotification {
    /// Method name.
    pub method: String,
    /// Params, if any.
    pub params: Option<Value>,
}

/// A response: a result or an error for the request with `id`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonRpcResponse {
    /// The id of the request answered (absent only when the server could not read it).
    pub id: Option<RequestId>,
    /// `Ok(result)` or `Err(error)`.
    pub outcome: Result<Value, JsonRpcError>,
}

/// Any message on the wire.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonRpcMessage {
    /// A request.
    Request(JsonRpcRequest),
    /// A notification.
    Notification(JsonRpcNotification),
    /// A response.
    Response(JsonRpcResponse),
}

impl JsonRpcMessage {
    /// Parses a body or an SSE `data` payload: one message, or a batch (array) of messages.
    /// Parts nested deeper than [`MAX_JSON_DEPTH`] become the string [`CUT_MARK`].
    pub(crate) fn parse_all(text: &str) -> Result<Vec<JsonRpcMessage>, String> {
        let cut = cut_deep(text, MAX_JSON_DEPTH);
        let text = cut.as_deref().unwrap_or(text);
        let value: Value = serde_json::from_slice(text.as_bytes()).map_err(|e| format!("invalid JSON: {e}"))?;
        match value {
            Value::Array(items) if !items.is_empty() => items.into_iter().map(Self::from_value).collect(),
            Value::Array(_) => Err("empty JSON-RPC batch".into()),
            other => Ok(vec![Self::from_value(other)?]),
        }
    }

    /// Classifies one JSON value.
    pub(crate) fn from_value(value: Value) -> Result<JsonRpcMessage, String> {
        let Value::Object(mut obj) = value else {
            return Err("a JSON-RPC message must be an object".into());
        };
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err("missing \"jsonrpc\": \"2.0\"".into());
        }
        let id = obj.remove("id").filter(|v| !v.is_null());
        let id = id.as_ref();
        if let Some(method) = obj.get("method") {
            let method = method.as_str().ok_or("\"method\" must be a string")?.to_owned();
            let params = obj.remove("params");
            return match id {
                Some(id) => {
                    let id = RequestId::from_value(id).ok_or("invalid request id")?;
                    Ok(JsonRpcMessage::Request(JsonRpcRequest { id, method, params }))
                }
                None => Ok(JsonRpcMessage::Notification(JsonRpcNotification { method, params })),
            };
        }
        let id = match id {
            Some(id) => Some(RequestId::from_value(id).ok_or("invalid response id")?),
            None => None,
        };
        let outcome = if let Some(result) = obj.remove("result") {
            Ok(result)
        } else if let Some(error) = obj.remove("error") {
            Err(JsonRpcError::from_value(&error).ok_or("malformed error object")?)
        } else {
            return Err("a message needs \"method\", \"result\" or \"error\"".into());
        };
        Ok(JsonRpcMessage::Response(JsonRpcResponse { id, outcome }))
    }
}

/// Serialises a request.
pub(crate) fn request(id: i64, method: &str, params: Option<Value>) -> String {
    let mut obj = Map::new();
    obj.insert("jsonrpc".into(), json!("2.0"));
    obj.insert("id".into(), json!(id));
    obj.insert("method".into(), json!(method));
    if let Some(params) = params {
        obj.insert("params".into(), params);
    }
    crate::base::json::text(&Value::Object(obj))
}

/// Serialises a notification.
pub(crate) fn notification(method: &str, params: Option<Value>) -> String {
    let mut obj = Map::new();
    obj.insert("jsonrpc".into(), json!("2.0"));
    obj.insert("method".into(), json!(method));
    if let Some(params) = params {
        obj.insert("params".into(), params);
    }
    crate::base::json::text(&Value::Object(obj))
}

/// Serialises a response to a server's request.
pub(crate) fn response(id: &RequestId, outcome: Result<Value, JsonRpcError>) -> String {
    crate::base::json::text(&match outcome {
        Ok(result) => crate::base::json::object([("jsonrpc", "2.0".into()), ("id", id.to_value()), ("result", result)]),
        Err(error) => json!({"jsonrpc": "2.0", "id": id.to_value(), "error": error}),
    })
}

/// What stands where [`JsonRpcMessage::parse_all`] cut a part nested too deeply.
pub(crate) const CUT_MARK: &str = "[nested too deeply: cut]";

/// JSON `text` with every array or object nested deeper than `max` levels replaced by the string [`CUT_MARK`],
/// or `None` when nothing is that deep: one deep tool schema must not make a whole listing unreadable.
fn cut_deep(text: &str, max: usize) -> Option<String> {
    let bytes = text.as_bytes();
    // Fewer brackets than the limit cannot nest past it (the common case, checked without a parse).
    if bytes.iter().filter(|b| matches!(b, b'{' | b'[')).count() <= max {
        return None;
    }
    let (mut depth, mut i, mut copied) = (0usize, 0usize, 0usize);
    let mut out: Option<String> = None;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = string_end(bytes, i),
            b'{' | b'[' if depth == max => {
                let end = value_end(bytes, i);
                let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
                out.push_str(&text[copied..i]);
                out.push_str(&format!("\"{CUT_MARK}\""));
                (copied, i) = (end, end);
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    let mut out = out?;
    out.push_str(&text[copied..]);
    Some(out)
}

/// The index of the quote that ends the string starting at `start` (or the last byte, if none does).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() && bytes[i] != b'"' {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    i.min(bytes.len().saturating_sub(1))
}

/// The index just past the array or object starting at `start` (or the end of the text).
fn value_end(bytes: &[u8], start: usize) -> usize {
    let (mut depth, mut i) = (0usize, start);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = string_end(bytes, i),
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// What the first bytes of a message too big to read tell: its top-level `id` (when a number that comes that
/// early) and whether it is a response (a top-level `result` or `error`, no `method`).
pub(crate) fn cut_head(head: &[u8]) -> (Option<i64>, bool) {
    let (mut depth, mut i) = (0usize, 0);
    let (mut id, mut answer, mut method) = (None, false, false);
    while i < head.len() {
        match head[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < head.len() && head[i] != b'"' {
                    i += if head[i] == b'\\' { 2 } else { 1 };
                }
                let Some(key) = head.get(start..i) else { break };
                let after = skip_space(head, i + 1);
                if depth == 1 && head.get(after) == Some(&b':') {
                    match key {
                        b"id" => id = leading_number(&head[skip_space(head, after + 1)..]),
                        b"result" | b"error" => answer = true,
                        b"method" => method = true,
                        _ => {}
                    }
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    (id, answer && !method)
}

/// The top-level `id` of a message from its last bytes, when it is the last member (or the one before a last
/// `"jsonrpc": "2.0"`), as the TypeScript SDK writes responses.
pub(crate) fn trailing_id(tail: &[u8]) -> Option<i64> {
    let text = String::from_utf8_lossy(tail);
    let mut rest = text.trim_end().strip_suffix('}')?.trim_end();
    if let Some(before) = rest.strip_suffix("\"2.0\"") {
        let before = before.trim_end().strip_suffix(':')?.trim_end().strip_suffix("\"jsonrpc\"")?;
        rest = before.trim_end().strip_suffix(',')?.trim_end();
    }
    let before = rest.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
    let id = rest[before.len()..].parse().ok()?;
    before.trim_end().strip_suffix(':')?.trim_end().ends_with("\"id\"").then_some(id)
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

fn leading_number(bytes: &[u8]) -> Option<i64> {
    let end = bytes.iter().position(|b| !(b.is_ascii_digit() || *b == b'-')).unwrap_or(bytes.len());
    std::str::from_utf8(&bytes[..end]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn classifies_every_kind() {
        let msgs = JsonRpcMessage::parse_all(
            r#"[{"jsonrpc":"2.0","id":"a","method":"ping"},
                {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}},
                {"jsonrpc":"2.0","id":3,"result":{}},
                {"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"Unknown tool"}}]"#,
        )
        .unwrap();
        assert!(matches!(&msgs[0], JsonRpcMessage::Request(r) if r.id == RequestId::String("a".into())));
        assert!(matches!(&msgs[1], JsonRpcMessage::Notification(n) if n.method == "notifications/progress"));
        assert!(matches!(&msgs[2], JsonRpcMessage::Response(r) if r.id == Some(RequestId::Number(3))));
        match &msgs[3] {
            JsonRpcMessage::Response(JsonRpcResponse { outcome: Err(e), .. }) => assert_eq!(e.code, -32602),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_messages_are_errors() {
        for bad in [
            "not json",
            "[]",
            "42",
            r#"{"id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
            r#"{"jsonrpc":"2.0","id":1,"error":"boom"}"#,
        ] {
            assert!(JsonRpcMessage::parse_all(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn writes_messages() {
        assert_eq!(request(1, "tools/list", None), r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
        assert_eq!(
            notification("notifications/initialized", None),
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#
        );
        assert_eq!(
            response(&RequestId::String("p".into()), Ok(json!({}))),
            r#"{"jsonrpc":"2.0","id":"p","result":{}}"#
        );
    }

    #[test]
    fn the_id_of_a_message_too_big_to_read_comes_from_its_ends() {
        assert_eq!(
            cut_head(br#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"aaaa"#),
            (Some(7), true)
        );
        assert_eq!(
            cut_head(br#"{ "result" : {"id": 3, "x": "\"id\":4"#),
            (None, true),
            "nested ids are not the message's"
        );
        assert_eq!(
            cut_head(br#"{"jsonrpc":"2.0","id":9,"method":"sampling/createMessage","params":{"#),
            (Some(9), false)
        );
        assert_eq!(trailing_id(br#"aaaa"}]},"jsonrpc":"2.0","id":12}"#), Some(12));
        assert_eq!(trailing_id(br#"aaaa"}]},"id": 12 , "jsonrpc" : "2.0" }"#), Some(12));
        assert_eq!(trailing_id(br#"aaaa"}]},"other":{"id":12}}"#), None, "a nested id");
        assert_eq!(trailing_id(b"\xa9xx\"id\":5}"), Some(5), "a tail that starts mid-character");
    }

    #[test]
    fn parts_nested_too_deeply_are_cut_and_the_rest_of_the_message_is_read() {
        let mut deep = json!("leaf");
        for _ in 0..70 {
            deep = json!({"type": "object", "properties": {"x [\"{": deep}});
        }
        let page = json!({"tools": [{"name": "deep", "inputSchema": deep}, {"name": "ok"}]});
        let text = json!({"jsonrpc": "2.0", "id": 3, "result": page}).to_string();
        let Ok(mut messages) = JsonRpcMessage::parse_all(&text) else { panic!("the message is read") };
        let Some(JsonRpcMessage::Response(JsonRpcResponse { outcome: Ok(result), .. })) = messages.pop() else {
            panic!()
        };
        assert_eq!(result["tools"][1], json!({"name": "ok"}));
        let mut schema = &result["tools"][0]["inputSchema"];
        let mut levels = 0;
        while let Some(inner) = schema.get("properties").and_then(|p| p.get("x [\"{")) {
            (schema, levels) = (inner, levels + 1);
        }
        assert_eq!((levels, schema), (48, &json!(CUT_MARK)), "the object that would be the 101st level is cut");
        assert_eq!(cut_deep(r#"{"a":[[[["]]]]"]]]]}"#, 3), Some(r#"{"a":[["[nested too deeply: cut]"]]}"#.into()));
        assert_eq!(cut_deep("[[1]]", 3), None);
    }
}
