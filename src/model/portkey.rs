//! The model endpoint: Portkey (hosted or the open-source gateway) or any Responses-compatible URL. Builds the
//! HTTP request for one turn and reads the answer. Nothing about MCP servers ever goes in here.

use crate::base::error::Error;
use crate::base::http::{BodyBuffer, HttpRequest};
use crate::base::json::{self, Fields};
use crate::base::json_scan::read_without;
use crate::wire::responses::{ModelRequest, ModelResponse, cap_message};
use serde_json::Value;

/// Portkey's hosted endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.portkey.ai/v1";
/// The largest model response accepted.
pub(crate) const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// How to reach the model through Portkey. Every field maps to one documented Portkey header. Keys are kept out
/// of `{:?}`.
#[derive(Clone, PartialEq)]
pub struct PortkeyConfig {
    /// Base URL; `/responses` is appended.
    pub base_url: String,
    /// `x-portkey-api-key`.
    pub api_key: Option<String>,
    /// `x-portkey-provider` (a provider name or `@slug`).
    pub provider: Option<String>,
    /// `x-portkey-virtual-key`.
    pub virtual_key: Option<String>,
    /// `x-portkey-config`: a config id (string) or a config object.
    pub config: Option<Value>,
    /// `x-portkey-custom-host`: the provider URL the gateway forwards to (for example a local model).
    pub custom_host: Option<String>,
    /// `x-portkey-metadata`: an object of string values.
    pub metadata: Option<Value>,
    /// `Authorization` for the provider, the full header value (for example `Bearer sk-…`).
    pub authorization: Option<String>,
    /// Further headers (for example `x-portkey-cache-namespace`).
    pub headers: Vec<(String, String)>,
    /// Set by a host that answers model requests itself (the JS `callModel`): errors then name no endpoint.
    pub in_process: bool,
}

impl Default for PortkeyConfig {
    fn default() -> Self {
        PortkeyConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key: None,
            provider: None,
            virtual_key: None,
            config: None,
            custom_host: None,
            metadata: None,
            authorization: None,
            headers: Vec::new(),
            in_process: false,
        }
    }
}

impl std::fmt::Debug for PortkeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "[set]");
        f.debug_struct("PortkeyConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &set(&self.api_key))
            .field("provider", &self.provider)
            .field("virtual_key", &set(&self.virtual_key))
            .field("config", &self.config.as_ref().map(|_| "[set]"))
            .field("custom_host", &self.custom_host)
            .field("authorization", &set(&self.authorization))
            .field("headers", &self.headers.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

impl PortkeyConfig {
    /// The option keys [`PortkeyConfig`] reads.
    pub const KEYS: &'static [&'static str] = &[
        "baseURL",
        "apiKey",
        "provider",
        "virtualKey",
        "config",
        "customHost",
        "metadata",
        "authorization",
        "headers",
    ];

    /// Reads `{baseURL, apiKey, provider, virtualKey, config, customHost, metadata, authorization, headers}`, and
    /// `inProcess`, which only hosts set.
    pub(crate) fn read(value: &Value) -> Result<PortkeyConfig, String> {
        let f = Fields::new(value, "portkey")?;
        f.only(&[Self::KEYS, &["inProcess"]].concat())?;
        Ok(PortkeyConfig {
            base_url: f.string("baseURL")?.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            api_key: f.string("apiKey")?,
            provider: f.string("provider")?,
            virtual_key: f.string("virtualKey")?,
            config: f.value("config").cloned(),
            custom_host: f.string("customHost")?,
            metadata: f.value("metadata").cloned(),
            authorization: f.string("authorization")?,
            headers: f.headers("headers")?,
            in_process: f.flag("inProcess")?.unwrap_or(false),
        })
    }

    /// The endpoint as errors name it: scheme, host and port of `base_url` (never a path, query or userinfo);
    /// `None` when the host answers in-process.
    pub(crate) fn origin(&self) -> Option<String> {
        if self.in_process {
            return None;
        }
        let (scheme, rest) = self.base_url.split_once("://")?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        Some(format!("{scheme}://{host}"))
    }

    /// Checks the configuration before any request is made.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err("portkey.baseURL must start with http:// or https://".into());
        }
        if self.provider.is_some() && self.virtual_key.is_some() {
            return Err("set portkey.provider or portkey.virtualKey, not both".into());
        }
        if let Some(config) = &self.config {
            if !(config.is_string() || config.is_object()) {
                return Err("portkey.config must be a config id (string) or a config object".into());
            }
        }
        if let Some(metadata) = &self.metadata {
            if !metadata.is_object() {
                return Err("portkey.metadata must be an object".into());
            }
        }
        Ok(())
    }

    /// The request for one turn.
    pub fn request(&self, body: &ModelRequest, span: &Span) -> HttpRequest {
        let mut headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            (
                "accept".to_owned(),
                if body.fields.get("stream") == Some(&Value::Bool(true)) {
                    "text/event-stream"
                } else {
                    "application/json"
                }
                .to_owned(),
            ),
        ];
        let mut add = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                headers.push((name.to_owned(), value));
            }
        };
        add("x-portkey-api-key", self.api_key.clone());
        add("x-portkey-provider", self.provider.clone());
        add("x-portkey-virtual-key", self.virtual_key.clone());
        add("x-portkey-config", self.config.as_ref().map(|c| c.as_str().map_or_else(|| json::text(c), str::to_owned)));
        add("x-portkey-custom-host", self.custom_host.clone());
        if !span.trace_id.is_empty() {
            // The run is the root span; each turn is a child of it.
            add("x-portkey-trace-id", Some(span.trace_id.clone()));
            add("x-portkey-span-id", Some(format!("turn-{}", span.turn)));
            add("x-portkey-parent-span-id", Some(ROOT_SPAN.to_owned()));
            add("x-portkey-span-name", Some(format!("mcp-loop turn {}", span.turn)));
        }
        add("x-portkey-metadata", self.metadata.as_ref().map(json::text));
        add("authorization", self.authorization.clone());
        headers.extend(self.headers.iter().cloned());
        HttpRequest {
            method: "POST".to_owned(),
            url: format!("{}/responses", self.base_url.trim_end_matches('/')),
            headers,
            body: Some(body.to_text()),
        }
    }
}

/// The root span of every run's trace.
pub(super) const ROOT_SPAN: &str = "run";

/// Where a model request sits in Portkey's trace of its run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The run's trace id (`x-portkey-trace-id`); empty sends no tracing headers.
    pub trace_id: String,
    /// The turn, which names the span.
    pub turn: u32,
}

/// Reads the answer to a turn: a `Response`, or the provider's error with its status and message.
pub(super) fn parse_response(status: u16, body: &BodyBuffer) -> Result<ModelResponse, Error> {
    if body.overflowed() {
        return Err(Error::model(Some(status), format!("the response exceeded {MAX_RESPONSE_BYTES} bytes")));
    }
    // The echo of the request's tools is cut unread (see json_scan).
    let json = read_without(body.bytes(), &["tools"]).ok();
    if !(200..300).contains(&status) {
        let message = json
            .as_ref()
            .and_then(|v| {
                let error = v.get("error");
                error
                    .and_then(|e| e.get("message"))
                    .or(error.filter(|e| e.is_string()))
                    .or(v.get("message"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| body.text_snippet(500));
        let message = if message.is_empty() { "no details given".to_owned() } else { cap_message(&message) };
        return Err(Error::model(Some(status), message));
    }
    let json = json
        .ok_or_else(|| Error::model(Some(status), format!("the response is not JSON: {}", body.text_snippet(200))))?;
    ModelResponse::from_value(json).map_err(|e| Error::model(Some(status), format!("malformed response: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::responses::request_with;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn body(text: &str) -> BodyBuffer {
        let mut b = BodyBuffer::new(MAX_RESPONSE_BYTES);
        b.push(text.as_bytes());
        b
    }

    #[test]
    fn maps_every_option_to_its_header() {
        let config = PortkeyConfig {
            base_url: "http://127.0.0.1:8787/v1/".into(),
            api_key: Some("pk".into()),
            provider: Some("openai".into()),
            config: Some(json!({"retry": {"attempts": 2}})),
            custom_host: Some("http://127.0.0.1:9/v1".into()),
            metadata: Some(json!({"_user": "u1"})),
            authorization: Some("Bearer sk".into()),
            headers: vec![("x-portkey-cache-namespace".into(), "ns".into())],
            ..PortkeyConfig::default()
        };
        config.validate().unwrap();
        let req = config.request(&request_with(json!({"model": "m"})), &Span { trace_id: "trace-1".into(), turn: 2 });
        assert_eq!(req.url, "http://127.0.0.1:8787/v1/responses");
        assert_eq!(req.header("x-portkey-api-key"), Some("pk"));
        assert_eq!(req.header("x-portkey-provider"), Some("openai"));
        assert_eq!(req.header("x-portkey-config"), Some(r#"{"retry":{"attempts":2}}"#));
        assert_eq!(req.header("x-portkey-custom-host"), Some("http://127.0.0.1:9/v1"));
        assert_eq!(req.header("x-portkey-trace-id"), Some("trace-1"));
        assert_eq!(req.header("x-portkey-span-id"), Some("turn-2"));
        assert_eq!(req.header("x-portkey-parent-span-id"), Some(ROOT_SPAN));
        assert_eq!(req.header("x-portkey-span-name"), Some("mcp-loop turn 2"));
        assert_eq!(req.header("x-portkey-metadata"), Some(r#"{"_user":"u1"}"#));
        assert_eq!(req.header("authorization"), Some("Bearer sk"));
        assert_eq!(req.header("x-portkey-cache-namespace"), Some("ns"));
        assert_eq!(req.header("x-portkey-virtual-key"), None);
        assert_eq!(req.body.as_deref(), Some(r#"{"model":"m"}"#));
        let by_id = PortkeyConfig { config: Some(json!("pc-abc")), ..PortkeyConfig::default() };
        let untraced = by_id.request(&request_with(json!({})), &Span { trace_id: String::new(), turn: 1 });
        assert_eq!(untraced.header("x-portkey-config"), Some("pc-abc"));
        assert_eq!(untraced.header("x-portkey-span-id"), None, "no trace, no spans");
    }

    #[test]
    fn refuses_contradictions() {
        let both =
            PortkeyConfig { provider: Some("a".into()), virtual_key: Some("b".into()), ..PortkeyConfig::default() };
        assert!(both.validate().is_err());
        let bad = PortkeyConfig { metadata: Some(json!("x")), ..PortkeyConfig::default() };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn provider_errors_keep_status_and_message() {
        let openai = parse_response(
            400,
            &body(
                r#"{"error":{"message":"openai error: No tool output found for function call call_1.","type":"invalid_request_error"},"provider":"openai"}"#,
            ),
        );
        assert_eq!(
            openai,
            Err(Error::model(Some(400), "openai error: No tool output found for function call call_1."))
        );
        let gateway = parse_response(
            500,
            &body(r#"{"status":"failure","message":"createModelResponse is not supported by anthropic"}"#),
        );
        assert_eq!(gateway, Err(Error::model(Some(500), "createModelResponse is not supported by anthropic")));
        assert_eq!(parse_response(502, &body("Bad Gateway")), Err(Error::model(Some(502), "Bad Gateway")));
        assert_eq!(parse_response(503, &body("")), Err(Error::model(Some(503), "no details given")));
        assert!(
            matches!(parse_response(200, &body("<html>")), Err(Error::Model { message, .. }) if message.contains("not JSON"))
        );
        assert!(parse_response(200, &body(r#"{"id":"resp_1","output":[]}"#)).is_ok());
    }

    #[test]
    fn errors_name_the_endpoint_by_its_origin_only() {
        let at = |base_url: &str| PortkeyConfig { base_url: base_url.into(), ..PortkeyConfig::default() }.origin();
        assert_eq!(at("https://api.portkey.ai/v1").as_deref(), Some("https://api.portkey.ai"));
        assert_eq!(at("http://user:pw@10.0.0.5:8787/v1?key=s#x").as_deref(), Some("http://10.0.0.5:8787"));
        assert_eq!(PortkeyConfig { in_process: true, ..PortkeyConfig::default() }.origin(), None);
    }
}
