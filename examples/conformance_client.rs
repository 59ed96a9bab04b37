//! The conformance client for `@modelcontextprotocol/conformance`, on the native host:
//! `cargo run --features native --example conformance_client -- <url>`. The runner names the scenario in
//! `MCP_CONFORMANCE_SCENARIO` (and its context in `MCP_CONFORMANCE_CONTEXT`). The protocol era is detected, as
//! an application would; `MCP_LOOP_PROTOCOL` can fix it.

use mcp_loop::native::{AuthorizeHook, Hooks, InputHandler, InputRequest, McpConnection, SignHook};
use mcp_loop::{AuthConfig, ConnectionConfig, Grant, ServerEntry};
use serde_json::{Map, Value, json};
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().next_back().ok_or("usage: conformance_client <url>")?;
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let context: Value =
        serde_json::from_str(&std::env::var("MCP_CONFORMANCE_CONTEXT").unwrap_or_else(|_| "{}".into()))?;
    let protocol = std::env::var("MCP_LOOP_PROTOCOL").unwrap_or_else(|_| "auto".into());
    let config = ConnectionConfig::from_json(
        &json!({
            "name": "server", "url": url, "protocol": protocol, "timeoutMs": 20000,
            "capabilities": {"elicitation": true, "sampling": true, "roots": true}
        }),
        "server",
    )?;
    let mut server = ServerEntry::new(config);
    if scenario.starts_with("auth/") {
        server.auth = Some(auth(&scenario, &context));
    }
    let sign = context["private_key_pem"].as_str().map(signer);
    let hooks = Hooks { on_input: Some(answers()), authorize: Some(sign_in()), sign, ..Hooks::default() };
    let connection = McpConnection::with_server(server, hooks)?;
    let tools = connection.list_tools().await?;
    let names: Vec<String> = tools.iter().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect();
    let call = |name: String, arguments: Value| {
        let connection = &connection;
        async move {
            let result = connection.call_tool(&name, arguments, None).await?;
            println!("{name} {result}");
            Ok::<(), mcp_loop::Error>(())
        }
    };
    match scenario.as_str() {
        "tools_call" => call("add_numbers".into(), json!({"a": 2, "b": 3})).await?,
        "elicitation-sep1034-client-defaults" => call("test_client_elicitation_defaults".into(), json!({})).await?,
        "sse-retry" => call("test_reconnection".into(), json!({})).await?,
        "json-schema-2020-12-preservation" => {
            let tool = tools.iter().find(|t| t["name"] == "json_schema_2020_12_tool").ok_or("no focal tool")?;
            call("json_schema_echo".into(), json!({"schema": tool["inputSchema"]})).await?
        }
        "sep-2322-client-request-state" => {
            for name in
                ["test_mrtr_echo_state", "test_mrtr_unrelated", "test_mrtr_no_state", "test_mrtr_no_result_type"]
            {
                call(name.into(), json!({})).await?;
            }
        }
        "http-standard-headers" => {
            for name in names {
                call(name, json!({})).await?;
            }
        }
        "http-custom-headers" => {
            for tool_call in context["toolCalls"].as_array().into_iter().flatten() {
                let name = tool_call["name"].as_str().unwrap_or_default().to_owned();
                call(name, tool_call["arguments"].clone()).await?;
            }
        }
        // Only the tools the client kept can be called: every one with an invalid x-mcp-header was dropped.
        "http-invalid-tool-headers" => {
            for name in names {
                call(name, json!({"region": "us-east1"})).await?;
            }
        }
        // The authorization scenarios' server has one tool; calling it is a second authorized request.
        _ if names.iter().any(|n| n == "test-tool") => call("test-tool".into(), json!({})).await?,
        // initialize, request-metadata, json-schema-ref-no-deref: connecting and listing is the scenario.
        _ => {}
    }
    connection.close().await;
    Ok(())
}

/// The client's details: pre-registered ones from the context, and the Client ID Metadata Document URL the
/// suite expects; the machine scenarios' grants.
fn auth(scenario: &str, context: &Value) -> AuthConfig {
    let text = |key: &str| context[key].as_str().map(str::to_owned);
    let grant = match scenario {
        "auth/client-credentials-basic" | "auth/client-credentials-jwt" => Grant::ClientCredentials,
        "auth/enterprise-managed-authorization" => Grant::Enterprise {
            idp_token_endpoint: text("idp_token_endpoint").unwrap_or_default(),
            id_token: text("idp_id_token").unwrap_or_default(),
            idp_client_id: text("idp_client_id"),
        },
        _ => Grant::AuthorizationCode,
    };
    AuthConfig {
        grant,
        client_id: text("client_id"),
        client_secret: text("client_secret"),
        client_metadata_url: Some("https://conformance-test.local/client-metadata.json".into()),
        redirect_uri: "http://localhost:3000/callback".into(),
        client_name: "mcp-loop conformance client".into(),
        signing: context["private_key_pem"].as_str().map(|_| "ES256".to_owned()),
        ..AuthConfig::default()
    }
}

/// The suite's authorization servers redirect at once, with the code: "the person" is a request that reads the
/// redirect instead of following it.
fn sign_in() -> AuthorizeHook {
    Arc::new(|_server: String, url: String| {
        Box::pin(async move {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| e.to_string())?;
            let response = client.get(&url).send().await.map_err(|e| e.to_string())?;
            let location = response.headers().get("location").and_then(|l| l.to_str().ok()).ok_or("no redirect")?;
            Ok(location.to_owned())
        })
    })
}

/// ES256 with the context's P-256 key (PKCS#8 PEM): the JWS signature, `r || s`, base64url.
fn signer(pem: &str) -> SignHook {
    use p256::ecdsa::{Signature, SigningKey, signature::Signer};
    use p256::pkcs8::DecodePrivateKey;
    let key = SigningKey::from_pkcs8_pem(pem).ok();
    Arc::new(move |_server: String, input: String| {
        let key = key.clone();
        Box::pin(async move {
            let key = key.ok_or("the private key is not PKCS#8 PEM")?;
            let signature: Signature = key.sign(input.as_bytes());
            Ok(base64url(&signature.to_bytes()))
        })
    })
}

/// base64url without padding.
fn base64url(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| n << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
        }
    }
    out
}

/// Elicitations are accepted with nothing filled in (the client applies the schema's defaults) except a
/// boolean without a default, answered yes; sampling and roots get fixed answers.
fn answers() -> InputHandler {
    Arc::new(|request: InputRequest| {
        Box::pin(async move {
            match request.method.as_str() {
                "elicitation/create" => {
                    let mut content = Map::new();
                    for (key, schema) in request
                        .params
                        .pointer("/requestedSchema/properties")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                    {
                        if schema["type"] == "boolean" && schema.get("default").is_none() {
                            content.insert(key.clone(), json!(true));
                        }
                    }
                    Ok(json!({"action": "accept", "content": content}))
                }
                "sampling/createMessage" => Ok(
                    json!({"role": "assistant", "content": {"type": "text", "text": "ok"}, "model": "conformance", "stopReason": "endTurn"}),
                ),
                "roots/list" => Ok(json!({"roots": []})),
                other => Err(format!("no answer for {other}")),
            }
        })
    })
}
