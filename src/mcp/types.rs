//! MCP wire types the client reads: tools, the initialize result, and the version list.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The version this client offers in `initialize`.
pub const LATEST_HANDSHAKE_VERSION: &str = "2025-11-25";

/// Every handshake-era version this client accepts from a server, newest first.
pub const HANDSHAKE_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07"];

/// A tool as `tools/list` describes it. Unknown fields are kept in `extra` only where the client needs them
/// (annotations, execution); the schema is kept verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// Unique name within its server.
    pub name: String,
    /// Display title (2025-06-18+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the tool does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// Tool annotations (hints only, untrusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
}

impl Tool {
    /// Reads one tool from untrusted JSON; `Err` says why it is unusable.
    pub fn from_value(value: &Value) -> Result<Tool, String> {
        let obj = value.as_object().ok_or("a tool must be an object")?;
        let name = match obj.get("name") {
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            _ => return Err("a tool needs a non-empty string \"name\"".into()),
        };
        let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_owned);
        Ok(Tool {
            name,
            title: text("title"),
            description: text("description"),
            input_schema: obj.get("inputSchema").cloned(),
            annotations: obj.get("annotations").filter(|a| a.is_object()).cloned(),
        })
    }

    /// The text for the model: description, else title, else the annotations' title.
    pub fn best_description(&self) -> &str {
        let annotation_title = self.annotations.as_ref().and_then(|a| a.get("title")).and_then(Value::as_str);
        self.description
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .or(self.title.as_deref())
            .or(annotation_title)
            .unwrap_or("")
    }
}

/// What the server said about itself in its `initialize` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// The negotiated protocol version.
    pub protocol_version: String,
    /// `serverInfo.name`.
    pub name: Option<String>,
    /// `serverInfo.version`.
    pub version: Option<String>,
    /// The server's capabilities, verbatim.
    pub capabilities: Value,
    /// Optional instructions for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

impl ServerInfo {
    /// Reads an `initialize` result; refuses versions this client does not speak.
    pub fn from_initialize_result(result: &Value) -> Result<ServerInfo, String> {
        let version = result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .ok_or("the initialize result has no protocolVersion")?;
        if !HANDSHAKE_VERSIONS.contains(&version) {
            return Err(format!(
                "the server answered with protocol version '{version}', which this client does not support (it supports {})",
                HANDSHAKE_VERSIONS.join(", ")
            ));
        }
        let info = result.get("serverInfo");
        let text = |key: &str| info.and_then(|i| i.get(key)).and_then(Value::as_str).map(str::to_owned);
        Ok(ServerInfo {
            protocol_version: version.to_owned(),
            name: text("name"),
            version: text("version"),
            capabilities: result.get("capabilities").cloned().unwrap_or(Value::Object(Default::default())),
            instructions: result.get("instructions").and_then(Value::as_str).map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn reads_tools_defensively() {
        let tool = Tool::from_value(&json!({"name":"a.b","title":"T","inputSchema":{"type":"object"},"annotations":{"readOnlyHint":true},"icons":[]})).unwrap();
        assert_eq!(tool.name, "a.b");
        assert_eq!(tool.best_description(), "T");
        assert!(Tool::from_value(&json!({"name":""})).is_err());
        assert!(Tool::from_value(&json!({"name":3})).is_err());
        assert!(Tool::from_value(&json!("x")).is_err());
        let titled = Tool::from_value(&json!({"name":"x","annotations":{"title":"From annotations"}})).unwrap();
        assert_eq!(titled.best_description(), "From annotations");
    }

    #[test]
    fn accepts_every_handshake_version_and_refuses_others() {
        for v in HANDSHAKE_VERSIONS {
            let info = ServerInfo::from_initialize_result(
                &json!({"protocolVersion": v, "capabilities": {}, "serverInfo": {"name":"s","version":"1"}}),
            )
            .unwrap();
            assert_eq!(info.protocol_version, *v);
        }
        let err = ServerInfo::from_initialize_result(&json!({"protocolVersion":"1999-01-01"})).unwrap_err();
        assert!(err.contains("1999-01-01"), "{err}");
        assert!(ServerInfo::from_initialize_result(&json!({})).is_err());
    }
}
