//! The OpenAI Responses API as the tool loop needs it: reading a `Response`, and the request the loop makes.
//! Output items are kept as verbatim JSON so that item types this crate does not know pass through untouched.
//! The tool list is most of a request and the same every turn, so it is shared with the catalog and written
//! out once, not copied and serialised again for each turn.

use crate::base::json;
use crate::base::text::cap_chars;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

/// The most of a provider's error message kept (it goes into errors, events and snapshots).
pub(crate) const MAX_MESSAGE_CHARS: usize = 1000;

/// A provider's message, capped at [`MAX_MESSAGE_CHARS`].
pub(crate) fn cap_message(message: &str) -> String {
    cap_chars(message, MAX_MESSAGE_CHARS)
}

/// A `function_call` output item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The id the output must answer.
    pub call_id: String,
    /// The function name the model chose.
    pub name: String,
    /// The arguments: a JSON string, unparsed.
    pub arguments: String,
}

/// Token usage, summed over the turns of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Total tokens.
    pub total_tokens: u64,
    /// Input tokens served from the provider's cache.
    pub cached_tokens: u64,
    /// Output tokens spent on reasoning.
    pub reasoning_tokens: u64,
}

impl Usage {
    /// Adds a Responses `usage` object (absent fields count as zero).
    pub fn add(&mut self, usage: Option<&Value>) {
        let Some(u) = usage else { return };
        let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
        // Saturating: the numbers come from the provider and must not be able to overflow.
        self.input_tokens = self.input_tokens.saturating_add(n(u.get("input_tokens")));
        self.output_tokens = self.output_tokens.saturating_add(n(u.get("output_tokens")));
        self.total_tokens = self.total_tokens.saturating_add(n(u.get("total_tokens")));
        self.cached_tokens = self.cached_tokens.saturating_add(n(u.pointer("/input_tokens_details/cached_tokens")));
        self.reasoning_tokens =
            self.reasoning_tokens.saturating_add(n(u.pointer("/output_tokens_details/reasoning_tokens")));
    }
}

/// A Responses API `Response`, the parts the loop reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelResponse {
    /// `resp_…`.
    pub id: String,
    /// `completed`, `incomplete`, `failed`, …; absent counts as `completed`.
    pub status: String,
    /// The output items, verbatim.
    pub output: Vec<Value>,
    /// `usage`, verbatim.
    pub usage: Option<Value>,
    /// `error.message` when failed.
    pub error: Option<String>,
    /// `incomplete_details.reason` when incomplete.
    pub incomplete_reason: Option<String>,
    /// The endpoint's `x-portkey-*` response headers (set by whoever read the HTTP response).
    pub headers: Vec<(String, String)>,
}

impl ModelResponse {
    /// Reads a response body; `Err` says what is missing.
    pub fn from_value(value: Value) -> Result<ModelResponse, String> {
        let Value::Object(mut obj) = value else { return Err("the response is not a JSON object".into()) };
        let id =
            obj.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or("the response has no id")?.to_owned();
        let status = obj.get("status").and_then(Value::as_str).unwrap_or("completed").to_owned();
        let output = match obj.remove("output") {
            Some(Value::Array(items)) => items,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err("the response's output is not an array".into()),
        };
        let error = obj.get("error").filter(|e| !e.is_null()).map(|e| match e.get("message").and_then(Value::as_str) {
            Some(m) => cap_message(m),
            None => cap_message(&json::text(e)),
        });
        let incomplete_reason =
            obj.get("incomplete_details").and_then(|d| d.get("reason")).and_then(Value::as_str).map(str::to_owned);
        let usage = obj.remove("usage");
        Ok(ModelResponse { id, status, output, usage, error, incomplete_reason, headers: Vec::new() })
    }

    /// The response as a Responses `Response` object again: what [`ModelResponse::from_value`] reads (the
    /// headers aside).
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("id".into(), Value::String(self.id.clone()));
        obj.insert("status".into(), Value::String(self.status.clone()));
        obj.insert("output".into(), Value::Array(self.output.clone()));
        if let Some(usage) = &self.usage {
            obj.insert("usage".into(), usage.clone());
        }
        if let Some(message) = &self.error {
            obj.insert("error".into(), serde_json::json!({ "message": message }));
        }
        if let Some(reason) = &self.incomplete_reason {
            obj.insert("incomplete_details".into(), serde_json::json!({ "reason": reason }));
        }
        Value::Object(obj)
    }

    /// The `function_call` items, in output order. An item without a `call_id` cannot be answered and is
    /// reported in the second list.
    pub fn function_calls(&self) -> (Vec<FunctionCall>, Vec<String>) {
        let mut calls = Vec::new();
        let mut unanswerable = Vec::new();
        for item in &self.output {
            if item.get("type").and_then(Value::as_str) != Some("function_call") {
                continue;
            }
            let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
            match (text("call_id").filter(|c| !c.is_empty()), text("name")) {
                (Some(call_id), name) => calls.push(FunctionCall {
                    call_id,
                    name: name.unwrap_or_default(),
                    arguments: text("arguments").unwrap_or_default(),
                }),
                (None, name) => unanswerable.push(name.unwrap_or_default()),
            }
        }
        (calls, unanswerable)
    }

    /// The text of every `output_text` part of every `message` item, joined (the SDKs' `output_text`).
    pub fn output_text(&self) -> String {
        let mut text = String::new();
        for item in self.output.iter().filter(|i| i.get("type").and_then(Value::as_str) == Some("message")) {
            for part in item.get("content").and_then(Value::as_array).into_iter().flatten() {
                if part.get("type").and_then(Value::as_str) == Some("output_text") {
                    text.push_str(part.get("text").and_then(Value::as_str).unwrap_or(""));
                }
            }
        }
        text
    }
}

/// The function tools of a catalog as a request's `tools` list: JSON text, written once with the catalog
/// (a catalog is most of a request and the same every turn; keeping values too would copy it once more).
#[derive(Debug, Default, PartialEq)]
pub struct ToolList {
    len: usize,
    text: String,
}

impl ToolList {
    /// The list of `tools`, written now.
    pub fn new<T: Serialize>(tools: &[T]) -> ToolList {
        ToolList { len: tools.len(), text: json::text(tools) }
    }

    /// How many tools.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The list as JSON text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The tools as JSON values, read back from the text (for inspection: requests use the text).
    pub fn to_values(&self) -> Vec<Value> {
        match serde_json::from_slice::<Value>(self.text.as_bytes()) {
            Ok(Value::Array(tools)) => tools,
            _ => Vec::new(),
        }
    }
}

/// A Responses request body: its fields, and the tools it offers (left out when there are none).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    /// Every field but `tools`.
    pub fields: Map<String, Value>,
    /// The tools.
    pub tools: Arc<ToolList>,
}

impl ModelRequest {
    /// The body as JSON text: the fields, then the tools' text as it was made with the catalog (a catalog is
    /// most of a request, and the same every turn: it is not written again).
    pub fn to_text(&self) -> String {
        let mut text = json::text(&self.fields);
        if !self.tools.is_empty() {
            text.pop(); // the closing brace
            text.push_str(if self.fields.is_empty() { "\"tools\":" } else { ",\"tools\":" });
            text.push_str(&self.tools.text);
            text.push('}');
        }
        text
    }

    /// The body as one JSON value.
    pub fn to_value(&self) -> Value {
        let mut fields = self.fields.clone();
        if !self.tools.is_empty() {
            fields.insert("tools".into(), Value::Array(self.tools.to_values()));
        }
        Value::Object(fields)
    }
}

/// A request with these fields and no tools (for tests and fuzzing).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn request_with(fields: Value) -> ModelRequest {
    ModelRequest { fields: fields.as_object().cloned().unwrap_or_default(), tools: Arc::default() }
}

impl Serialize for ModelRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in &self.fields {
            map.serialize_entry(key, value)?;
        }
        if !self.tools.is_empty() {
            // Rare (hosts get `to_text`): the tools are read back from their text.
            map.serialize_entry("tools", &self.tools.to_values())?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn reads_calls_text_and_usage() {
        let r = ModelResponse::from_value(json!({
            "id":"resp_1","object":"response","status":"completed",
            "output":[
                {"type":"reasoning","id":"rs_1","summary":[]},
                {"type":"function_call","id":"fc_1","call_id":"call_1","name":"echo","arguments":"{\"message\":\"hi\"}","status":"completed"},
                {"type":"function_call","id":"fc_2","name":"lost","arguments":"{}"},
                {"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hello"},{"type":"refusal","refusal":"no"},{"type":"output_text","text":" world"}]}
            ],
            "usage":{"input_tokens":10,"output_tokens":5,"total_tokens":15,"input_tokens_details":{"cached_tokens":2},"output_tokens_details":{"reasoning_tokens":1}}
        }))
        .unwrap();
        let (calls, lost) = r.function_calls();
        assert_eq!(
            calls,
            vec![FunctionCall {
                call_id: "call_1".into(),
                name: "echo".into(),
                arguments: "{\"message\":\"hi\"}".into()
            }]
        );
        assert_eq!(lost, vec!["lost".to_owned()]);
        assert_eq!(r.output_text(), "Hello world");
        let mut usage = Usage::default();
        usage.add(r.usage.as_ref());
        usage.add(r.usage.as_ref());
        assert_eq!(
            usage,
            Usage { input_tokens: 20, output_tokens: 10, total_tokens: 30, cached_tokens: 4, reasoning_tokens: 2 }
        );
    }

    #[test]
    fn reads_failures_and_refuses_garbage() {
        let failed = ModelResponse::from_value(
            json!({"id":"r","status":"failed","error":{"code":"server_error","message":"boom"}}),
        )
        .unwrap();
        assert_eq!(failed.error.as_deref(), Some("boom"));
        let inc = ModelResponse::from_value(
            json!({"id":"r","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}),
        )
        .unwrap();
        assert_eq!(inc.incomplete_reason.as_deref(), Some("max_output_tokens"));
        assert!(ModelResponse::from_value(json!([])).is_err());
        assert!(ModelResponse::from_value(json!({"status":"completed"})).is_err());
        assert!(ModelResponse::from_value(json!({"id":"r","output":{}})).is_err());
    }

    #[test]
    fn the_text_is_the_value_written_out() {
        let tools = Arc::new(ToolList::new(&[json!({"type": "function", "name": "a\"b"})]));
        let fields = json!({"model": "m", "input": "hi"}).as_object().unwrap().clone();
        let with = ModelRequest { fields: fields.clone(), tools };
        let without = ModelRequest { fields, tools: Arc::default() };
        for request in [&with, &without] {
            let parsed: Value = serde_json::from_str(&request.to_text()).unwrap();
            assert_eq!(parsed, request.to_value());
            assert_eq!(serde_json::to_value(request).unwrap(), request.to_value());
        }
        assert_eq!(with.to_value()["tools"][0]["name"], "a\"b");
        assert_eq!(without.to_value().get("tools"), None);
        let only_tools = ModelRequest { fields: Map::new(), tools: with.tools.clone() };
        assert_eq!(only_tools.to_text(), r#"{"tools":[{"type":"function","name":"a\"b"}]}"#);
    }
}
