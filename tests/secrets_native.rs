//! Secrets stay home, in both hosts: against a server that writes every credential it is given into its tool
//! definitions, results, errors, progress and logs (`tests/support/leaky-server.mjs`, raw, URL-encoded and in
//! base64), no form of any of them reaches the model stand-in's requests, the events or the errors, whether the
//! job runs in the native host or in Node.
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

use common::hosts::{native, node};
use common::{Stack, root};
use serde_json::{Value, json};

const AUTHORIZATION: &str = "Bearer tok-AUTH-4821";
const API_KEY: &str = "key/API+99=";
const QUERY_TOKEN: &str = "QSECRET-q7";
const ENV_VALUE: &str = "env-SECRET-31";
const ARG_TOKEN: &str = "arg-SECRET-77";
const PROMPT: &str = "What is 2 + 3? Also echo \"leak test\" and show a tiny image.";

/// The job: the leaky server over HTTP (with credentials in headers and in the URL) and over stdio (in its
/// environment and arguments); `path` is the HTTP server's path (`mcp`, or `refuse` to fail connecting), and
/// `client` keeps apart what the server knows from each host.
fn job(stack: &Stack, path: &str, client: &str) -> Value {
    let url = stack.url("leaky").replace("/mcp", &format!("/{path}?client={client}&api_key={QUERY_TOKEN}"));
    json!({
        "config": {
            "model": "gpt-standin",
            "portkey": {"baseURL": stack.url("model"), "provider": "openai", "authorization": "Bearer standin"},
            "servers": [
                {"name": "web", "url": url, "transport": "streamable-http", "headers": {"authorization": AUTHORIZATION, "x-api-key": API_KEY}},
                {"name": "local", "command": "node", "cwd": root(), "env": {"LEAKY_ENV": ENV_VALUE},
                 "args": ["tests/support/leaky-server.mjs", format!("--token={ARG_TOKEN}")]}
            ]
        },
        "needsPerson": [],
        "runs": [{"input": PROMPT}]
    })
}

async fn get(url: String) -> Value {
    serde_json::from_str(&reqwest::get(url).await.unwrap().text().await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_reaches_the_model_the_events_or_the_errors_in_either_host() {
    let stack = Stack::start(&["leaky", "model"]).await;
    let outcomes = [
        native(&job(&stack, "mcp", "native")).await,
        node(&job(&stack, "mcp", "node")).await,
        native(&job(&stack, "refuse", "native")).await,
        node(&job(&stack, "refuse", "node")).await,
    ];

    // It worked, and the server leaked.
    for outcome in &outcomes[..2] {
        let result = &outcome["results"][0];
        assert_eq!(result["status"], "completed", "{outcome}");
        let calls: Vec<(&Value, &Value)> =
            result["toolCalls"].as_array().unwrap().iter().map(|c| (&c["tool"], &c["isError"])).collect();
        assert_eq!(calls.len(), 3, "sum over stdio, echo and the failing image over HTTP: {calls:?}");
        let events = outcome["events"][0].as_array().unwrap();
        let told = |kind: &str, key: &str| {
            events.iter().any(|e| e["type"] == kind && e[key].to_string().contains("[redacted]"))
        };
        assert!(told("toolProgress", "message") && told("serverLog", "logger") && told("serverLog", "data"));
        assert!(told("serverConnected", "serverInfo"), "{events:?}");
    }
    for outcome in &outcomes[2..] {
        let error = outcome["results"][0]["error"].as_str().unwrap_or_else(|| panic!("{outcome}"));
        assert!(error.contains("HTTP 400: bad request from [redacted]"), "{error}");
    }
    let leaked =
        get(format!("{}/__leaked?also={ENV_VALUE}&also={ARG_TOKEN}", stack.url("leaky").trim_end_matches("/mcp")))
            .await;
    let known = leaked["known"].as_array().unwrap();
    let sessions = known.iter().filter(|k| k.as_str().is_some_and(|k| k.starts_with("sess-"))).count();
    assert!(sessions >= 4, "each host had an old and a new session: {known:?}");
    for secret in [AUTHORIZATION, API_KEY, QUERY_TOKEN] {
        assert!(known.iter().any(|k| k == secret), "the server saw {secret}: {known:?}");
    }
    let requests = get(format!("{}/__requests", stack.url("model").trim_end_matches("/v1"))).await;
    assert!(requests.to_string().contains("[redacted]"), "the model saw the redacted leak");

    // Nothing of any secret, in any form, anywhere.
    let texts = [requests.to_string(), outcomes.iter().map(Value::to_string).collect::<Vec<_>>().join("\n")];
    for form in leaked["forms"].as_array().unwrap().iter().filter_map(Value::as_str) {
        for text in &texts {
            if let Some(at) = text.find(form) {
                let around = &text.as_bytes()[at.saturating_sub(200)..(at + 200).min(text.len())];
                panic!("{form} leaked: …{}…", String::from_utf8_lossy(around));
            }
        }
    }
    stack.stop().await;
}
