//! End to end in native Rust: the tokio/reqwest host against the official `server-everything` over
//! Streamable HTTP, with the model stand-in behind the open-source Portkey gateway (all on loopback, started
//! by `tests/support/stack.mjs` and stopped by pid).
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

use common::Stack;
use mcp_loop::native::{Agent, RunOptions};
use mcp_loop::{AgentConfig, Event, RunStatus};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const SECRET: &str = "Bearer native-secret-7f3a";

fn config(stack: &Stack) -> AgentConfig {
    AgentConfig::from_json(&json!({
        "model": "gpt-standin",
        "instructions": "Use the tools.",
        "portkey": {
            "baseURL": stack.url("gateway"),
            "provider": "openai",
            "customHost": stack.url("model"),
            "authorization": "Bearer standin",
            "metadata": {"_user": "native-test"}
        },
        "servers": [{"name": "everything", "url": stack.url("everything"), "headers": {"authorization": SECRET}}]
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sum_and_echo_in_one_turn_through_the_gateway() {
    let stack = Stack::start(&["everything", "gateway", "model"]).await;
    let agent = Agent::new(config(&stack)).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let options = RunOptions {
        trace_id: Some("native-e2e".into()),
        on_event: Some(Box::new(move |e: &Event| sink.lock().unwrap().push(e.clone()))),
        ..RunOptions::default()
    };
    let result = agent.run_with("What is 2 + 3? Also echo \"hello from native Rust\".", options).await.unwrap();

    assert_eq!(result.status, RunStatus::Completed);
    assert_eq!(result.turns, 2);
    let tools: Vec<(&str, u32)> = result.tool_calls.iter().map(|c| (c.tool.as_deref().unwrap(), c.turn)).collect();
    assert_eq!(tools, [("get-sum", 1), ("echo", 1)], "both calls in the first turn");
    assert!(result.output_text.contains("The sum of 2 and 3 is 5."), "{}", result.output_text);
    assert!(result.output_text.contains("Echo: hello from native Rust"), "{}", result.output_text);
    assert_eq!(result.trace_id.as_deref(), Some("native-e2e"));
    assert!(result.usage.total_tokens > 0);
    let events = events.lock().unwrap().clone();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ServerConnected { protocol_version, .. } if protocol_version == "2025-11-25"))
    );
    assert_eq!(events.iter().filter(|e| matches!(e, Event::ToolCallFinished { is_error: false, .. })).count(), 2);

    // What reached the model side carries nothing about the MCP server.
    let log = format!("{}/__requests", stack.url("model").trim_end_matches("/v1"));
    let requests: Value = serde_json::from_str(&reqwest::get(log).await.unwrap().text().await.unwrap()).unwrap();
    let requests = requests.as_array().unwrap();
    assert_eq!(requests.len(), 2);
    let everything = stack.url("everything");
    let port = everything.rsplit(':').next().unwrap().trim_end_matches("/mcp").to_owned();
    for request in requests {
        let text = request.to_string();
        for secret in [everything.as_str(), SECRET, "native-secret", "mcp-session-id", &format!(":{port}")] {
            assert!(!text.contains(secret), "{secret} reached the model side: {text}");
        }
    }

    agent.close().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_error_surfaces_with_status_and_message() {
    let stack = Stack::start(&["everything", "gateway", "model"]).await;
    let mut config = config(&stack);
    config.portkey.authorization = Some("Bearer invalid".into()); // refused, as OpenAI refuses a wrong key
    let agent = Agent::new(config).unwrap();
    let error = agent.run("What is 2 + 3?").await.unwrap_err();
    match &error {
        mcp_loop::Error::Model { status, message } => {
            assert_eq!(*status, Some(401), "{error}");
            assert!(message.contains("Incorrect API key provided: invalid"), "{message}");
        }
        other => panic!("{other}"),
    }
    agent.close().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_nulls_never_reach_the_server_and_images_reach_the_model_as_images() {
    let stack = Stack::start(&["everything", "gateway", "model"]).await;
    let agent = Agent::new(config(&stack)).unwrap();
    let result = agent.run("Show me the tiny image and the resource links.").await.unwrap();
    assert_eq!(result.status, RunStatus::Completed);
    // The stand-in, like a strict model, sent {"count": null}; server-everything refuses a null count, so three
    // links (its default) show the null was removed before the call.
    let links = result.tool_calls.iter().find(|c| c.tool.as_deref() == Some("get-resource-links")).unwrap();
    assert_eq!(links.arguments, json!({}));
    assert!(!links.is_error, "{}", links.output);
    assert_eq!(links.output.to_string().matches("[resource link]").count(), 3, "{}", links.output);
    let image = result.tool_calls.iter().find(|c| c.tool.as_deref() == Some("get-tiny-image")).unwrap();
    let parts = image.output.as_array().expect("a list of parts");
    let url = parts.iter().find(|p| p["type"] == "input_image").expect("an input_image")["image_url"].as_str().unwrap();
    assert!(url.starts_with("data:image/png;base64,"), "{url}");
    // And that is what the model was sent.
    let log = format!("{}/__requests", stack.url("model").trim_end_matches("/v1"));
    let requests: Value = serde_json::from_str(&reqwest::get(log).await.unwrap().text().await.unwrap()).unwrap();
    let second: Value = serde_json::from_str(requests[1]["body"].as_str().unwrap()).unwrap();
    assert!(second["input"].to_string().contains(url));
    agent.close().await;
    stack.stop().await;
}
