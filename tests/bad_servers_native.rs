//! Bad input from a server, through the native host: invalid JSON, a stream that never answers, a response
//! over the size cap, an answer to nobody. Each gets a clear error and the connection stays usable. Also: the
//! headers hook runs before every request.
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

use common::Stack;
use mcp_loop::ConnectionConfig;
use mcp_loop::native::{HeadersHook, Hooks, McpConnection};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_errors_and_the_connection_stays_usable() {
    let stack = Stack::start(&["faulty"]).await;
    let url = stack.url("faulty");
    let config = ConnectionConfig::from_json(
        &json!({"name": "faulty", "url": url, "protocol": "2025-11-25", "timeoutMs": 2000}),
        "s",
    )
    .unwrap();
    let counter = Arc::new(AtomicU64::new(0));
    let headers: HeadersHook = Arc::new(move |server: String| {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move { Ok(vec![("authorization".to_owned(), format!("Bearer {server}-{n}"))]) })
    });
    let mcp = McpConnection::new(config, Hooks { headers: Some(headers), ..Hooks::default() }).unwrap();
    let works = || async {
        let result = mcp.call_tool("echo", json!({"ok": 1}), None).await.unwrap();
        assert_eq!(result["content"][0]["text"], "echo {\"ok\":1}");
    };
    works().await;
    for (tool, expected) in [
        ("invalid-json", "did not answer"),
        ("endless", "timed out after 2"),
        ("huge", "exceeded 33554432 bytes"),
        ("wrong-id", "did not answer"),
    ] {
        let error = mcp.call_tool(tool, json!({}), None).await.unwrap_err();
        assert_eq!(error.code(), "mcp", "{tool}: {error}");
        assert!(error.to_string().contains(expected), "{tool}: {error}");
        works().await;
    }
    // A server that repeats the hook's credential in an error: the credential never comes back.
    let error = mcp.call_tool("echo-auth", json!({}), None).await.unwrap_err().to_string();
    assert!(error.contains("token rejected: [redacted]") && !error.contains("faulty-"), "{error}");
    works().await;
    let log = reqwest::get(url.replace("/mcp", "/__requests")).await.unwrap().text().await.unwrap();
    let requests: Vec<Value> = serde_json::from_str(&log).unwrap();
    let tokens: Vec<&str> = requests.iter().filter_map(|r| r["headers"]["authorization"].as_str()).collect();
    assert_eq!(tokens.len(), requests.len(), "every request carried the hook's header");
    assert!(tokens.iter().all(|t| t.starts_with("Bearer faulty-")));
    let distinct: std::collections::HashSet<_> = tokens.iter().collect();
    assert_eq!(distinct.len(), tokens.len(), "a fresh credential each time");
    assert!(
        requests.iter().any(|r| r["body"]["method"] == "notifications/cancelled"),
        "the timed-out call was cancelled"
    );
    mcp.close().await;
    stack.stop().await;
}
