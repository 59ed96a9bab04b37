//! A Responses request as the tool loop makes it. The tool list is most of a request and the same every turn,
//! so it is shared with the catalog and written out once, not copied and serialised again for each turn.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use std::sync::Arc;

/// The function tools of a catalog, as a request's `tools` list and as its JSON text.
#[derive(Debug, Default, PartialEq)]
pub struct ToolList {
    list: Vec<Value>,
    text: String,
}

impl ToolList {
    /// The list, with its text made now.
    pub fn new(list: Vec<Value>) -> ToolList {
        let text = crate::json::text(&list);
        ToolList { list, text }
    }

    /// The function tools.
    pub fn as_slice(&self) -> &[Value] {
        &self.list
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
    /// The body as JSON text: the fields, then the tools' text as it is.
    pub fn to_text(&self) -> String {
        let mut text = crate::json::text(&self.fields);
        if !self.tools.list.is_empty() {
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
        if !self.tools.list.is_empty() {
            fields.insert("tools".into(), Value::Array(self.tools.list.clone()));
        }
        Value::Object(fields)
    }
}

/// A request with these fields and no tools (for tests).
#[cfg(test)]
pub(crate) fn request_with(fields: Value) -> ModelRequest {
    ModelRequest { fields: fields.as_object().cloned().unwrap_or_default(), tools: Arc::default() }
}

impl Serialize for ModelRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in &self.fields {
            map.serialize_entry(key, value)?;
        }
        if !self.tools.list.is_empty() {
            map.serialize_entry("tools", &self.tools.list)?;
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
    fn the_text_is_the_value_written_out() {
        let tools = Arc::new(ToolList::new(vec![json!({"type": "function", "name": "a\"b"})]));
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
