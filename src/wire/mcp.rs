//! MCP wire types the client reads: tools, the initialize and discover results, and the version lists.

use crate::base::text::base64;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The version this client offers in `initialize`.
pub(crate) const LATEST_HANDSHAKE_VERSION: &str = "2025-11-25";

/// Every handshake-era version this client accepts from a server, newest first.
pub(crate) const HANDSHAKE_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07"];

/// The stateless revision: no handshake, `_meta` on every request.
pub(crate) const STATELESS_VERSION: &str = "2026-07-28";

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
    /// `execution.taskSupport` (2025-11-25): `forbidden` (default), `optional` or `required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_support: Option<String>,
}

impl Tool {
    /// Reads one tool from untrusted JSON; `Err` says why it is unusable.
    pub fn from_value(value: Value) -> Result<Tool, String> {
        let Value::Object(mut obj) = value else { return Err("a tool must be an object".into()) };
        let name = match obj.remove("name") {
            Some(Value::String(name)) if !name.is_empty() => name,
            _ => return Err("a tool needs a non-empty string \"name\"".into()),
        };
        let mut text = |key: &str| match obj.remove(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let (title, description) = (text("title"), text("description"));
        Ok(Tool {
            name,
            title,
            description,
            annotations: obj.remove("annotations").filter(Value::is_object),
            task_support: obj
                .get("execution")
                .and_then(|e| e.get("taskSupport"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            input_schema: obj.remove("inputSchema"),
        })
    }

    /// The arguments the stateless revision mirrors into `Mcp-Param-{header}` headers (`x-mcp-header`), as
    /// (path of property names, header name). `Err` says why the annotation is invalid, and a client must then
    /// not offer the tool: the name must be a non-empty RFC 9110 token, unique without regard to case, on a
    /// string, integer or boolean property reached from the root through `properties` only.
    pub fn header_params(&self) -> Result<Vec<(Vec<String>, String)>, String> {
        let mut found = Vec::new();
        if let Some(schema) = &self.input_schema {
            collect_header_params(schema, &mut Vec::new(), &mut found, 0)?;
        }
        for (i, (_, name)) in found.iter().enumerate() {
            if found[..i].iter().any(|(_, other)| other.eq_ignore_ascii_case(name)) {
                return Err(format!("x-mcp-header '{name}' is used twice"));
            }
        }
        Ok(found)
    }
}

fn collect_header_params(
    schema: &Value,
    path: &mut Vec<String>,
    found: &mut Vec<(Vec<String>, String)>,
    depth: usize,
) -> Result<(), String> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return Ok(()) };
    if depth > 32 {
        return Ok(());
    }
    for (key, property) in properties {
        path.push(key.clone());
        if let Some(name) = property.get("x-mcp-header") {
            let name = name.as_str().ok_or("x-mcp-header must be a string")?;
            let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            if name.is_empty() || !name.bytes().all(token) {
                return Err(format!("x-mcp-header '{name}' is not a valid header name"));
            }
            match property.get("type").and_then(Value::as_str) {
                Some("string" | "integer" | "boolean") => found.push((path.clone(), name.to_owned())),
                other => {
                    return Err(format!(
                        "x-mcp-header '{name}' is on a property of type {}",
                        other.unwrap_or("(none)")
                    ));
                }
            }
        }
        collect_header_params(property, path, found, depth + 1)?;
        path.pop();
    }
    Ok(())
}

/// The `Mcp-Param-*` headers for a call: each annotated argument that is present and not null, strings as is
/// (base64-wrapped when unsafe), integers in decimal, booleans as `true` / `false`.
pub(crate) fn param_headers(params: &[(Vec<String>, String)], arguments: &Value) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    for (path, name) in params {
        let value = path.iter().try_fold(arguments, |v, key| v.get(key));
        let text = match value {
            Some(Value::String(s)) => header_value(s),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => continue,
        };
        headers.push((format!("mcp-param-{name}"), text));
    }
    headers
}

/// A header value as the stateless revision sends it: plain when it is safe ASCII, else
/// `=?base64?<base64 of the UTF-8>?=` (non-ASCII, control characters, surrounding whitespace, or a value that
/// itself looks like the wrapper).
pub(crate) fn header_value(value: &str) -> String {
    let wrapper_like = value.starts_with("=?") && value.ends_with("?=");
    let plain = value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.starts_with([' ', '\t'])
        && !value.ends_with([' ', '\t'])
        && !wrapper_like;
    if plain { value.to_owned() } else { format!("=?base64?{}?=", base64(value.as_bytes())) }
}

impl Tool {
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
    /// Reads a `server/discover` result (stateless revision); `None` when the server does not offer
    /// 2026-07-28.
    pub fn from_discover_result(result: &Value) -> Option<ServerInfo> {
        let versions = result.get("supportedVersions")?.as_array()?;
        if !versions.iter().any(|v| v == STATELESS_VERSION) {
            return None;
        }
        let info = result.pointer("/_meta/io.modelcontextprotocol~1serverInfo").or(result.get("serverInfo"));
        Some(ServerInfo::read(STATELESS_VERSION, info, result))
    }

    /// `{name, version}` as the server reports them, when it gives a name.
    pub fn identity(&self) -> Option<Value> {
        let name = self.name.as_ref()?;
        Some(serde_json::json!({"name": name, "version": self.version}))
    }

    /// True when the server said it announces tool list changes.
    pub fn tools_list_changed(&self) -> bool {
        self.capabilities.pointer("/tools/listChanged") == Some(&Value::Bool(true))
    }

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
        Ok(ServerInfo::read(version, result.get("serverInfo"), result))
    }

    /// The fields both eras share: `info` is where the server's `{name, version}` are, `result` the rest.
    fn read(version: &str, info: Option<&Value>, result: &Value) -> ServerInfo {
        let text = |key: &str| info.and_then(|i| i.get(key)).and_then(Value::as_str).map(str::to_owned);
        ServerInfo {
            protocol_version: version.to_owned(),
            name: text("name"),
            version: text("version"),
            capabilities: result.get("capabilities").cloned().unwrap_or(Value::Object(Default::default())),
            instructions: result.get("instructions").and_then(Value::as_str).map(str::to_owned),
        }
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
        let tool = Tool::from_value(json!({"name":"a.b","title":"T","inputSchema":{"type":"object"},"annotations":{"readOnlyHint":true},"icons":[]})).unwrap();
        assert_eq!(tool.name, "a.b");
        assert_eq!(tool.best_description(), "T");
        assert!(Tool::from_value(json!({"name":""})).is_err());
        assert!(Tool::from_value(json!({"name":3})).is_err());
        assert!(Tool::from_value(json!("x")).is_err());
        let titled = Tool::from_value(json!({"name":"x","annotations":{"title":"From annotations"}})).unwrap();
        assert_eq!(titled.best_description(), "From annotations");
    }

    #[test]
    fn finds_and_checks_header_parameters() {
        let tool = |schema: Value| Tool::from_value(json!({"name": "t", "inputSchema": schema})).unwrap();
        let ok = tool(json!({"type":"object","properties":{
            "region": {"type":"string","x-mcp-header":"Region"},
            "opts": {"type":"object","properties":{"verbose":{"type":"boolean","x-mcp-header":"Verbose"}}},
            "n": {"type":"integer","x-mcp-header":"N"}, "plain": {"type":"string"}}}));
        let params = ok.header_params().unwrap();
        assert_eq!(params.len(), 3);
        let headers = param_headers(&params, &json!({"region":"eu-west","opts":{"verbose":false},"n":7,"plain":"x"}));
        assert_eq!(
            headers,
            [
                ("mcp-param-Region".into(), "eu-west".into()),
                ("mcp-param-Verbose".into(), "false".into()),
                ("mcp-param-N".into(), "7".into())
            ]
        );
        let encoded = param_headers(&params, &json!({"region":" Zürich"}));
        assert_eq!(encoded, [("mcp-param-Region".to_owned(), "=?base64?IFrDvHJpY2g=?=".to_owned())]);
        assert!(param_headers(&params, &json!({"region": null})).is_empty(), "null is omitted");
        for bad in [
            json!({"properties":{"a":{"type":"string","x-mcp-header":""}}}),
            json!({"properties":{"a":{"type":"number","x-mcp-header":"A"}}}),
            json!({"properties":{"a":{"type":"object","x-mcp-header":"A"}}}),
            json!({"properties":{"a":{"type":"string","x-mcp-header":"My A"}}}),
            json!({"properties":{"a":{"type":"string","x-mcp-header":"Région"}}}),
            json!({"properties":{"a":{"type":"string","x-mcp-header":"A"},"b":{"type":"string","x-mcp-header":"a"}}}),
        ] {
            assert!(tool(bad.clone()).header_params().is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_a_discover_result() {
        let info = ServerInfo::from_discover_result(&json!({"resultType":"complete","supportedVersions":["2026-07-28"],
            "capabilities":{"tools":{"listChanged":true}},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"py","version":"2"}}})).unwrap();
        assert_eq!((info.name.as_deref(), info.protocol_version.as_str()), (Some("py"), "2026-07-28"));
        assert!(info.tools_list_changed());
        assert!(ServerInfo::from_discover_result(&json!({"supportedVersions":["2025-11-25"]})).is_none());
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

    #[test]
    fn header_values_are_wrapped_only_when_unsafe() {
        for plain in ["us-west1", "us west 1", "", "42"] {
            assert_eq!(header_value(plain), plain);
        }
        assert_eq!(header_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(header_value("line1\r\nline2"), "=?base64?bGluZTENCmxpbmUy?=");
        assert_eq!(header_value("\tindented"), "=?base64?CWluZGVudGVk?=");
        assert_eq!(
            header_value("=?base64?x?="),
            "=?base64?PT9iYXNlNjQ/eD89?=",
            "a value that looks wrapped is wrapped"
        );
    }
}
