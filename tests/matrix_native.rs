//! Real servers, every transport and both protocol eras, through the native MCP client (`McpConnection`):
//! the official server-everything over Streamable HTTP, legacy HTTP+SSE and stdio; the Python SDK's server in
//! the handshake era and the stateless revision, with SSE and plain JSON responses, and over stdio. Against
//! each: every tool listed, a call with progress, one returning an image, one returning an error.
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

use common::{Stack, root};
use mcp_loop::ConnectionConfig;
use mcp_loop::native::{HeadersHook, Hooks, McpConnection};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

struct Kind {
    tools: [&'static str; 4],
    progress: (&'static str, Value),
    image: &'static str,
    error: (&'static str, Value),
}

fn everything() -> Kind {
    Kind {
        tools: ["echo", "get-sum", "get-tiny-image", "trigger-long-running-operation"],
        progress: ("trigger-long-running-operation", json!({"duration": 1, "steps": 3})),
        image: "get-tiny-image",
        error: ("get-sum", json!({"a": "not a number", "b": 1})),
    }
}

fn python() -> Kind {
    Kind {
        tools: ["add", "slow_progress", "image", "fail"],
        progress: ("slow_progress", json!({"steps": 3})),
        image: "image",
        error: ("fail", json!({"message": "expected failure"})),
    }
}

async fn check(name: &str, server: Value, kind: Kind, progress_expected: bool) {
    let config = ConnectionConfig::from_json(&server, "server").unwrap();
    // A rotating credential through the headers hook (the servers here accept any).
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let headers: HeadersHook = Arc::new(move |_server: String| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Box::pin(async move { Ok(vec![("authorization".to_owned(), format!("Bearer rotating-{n}"))]) })
    });
    let mcp = McpConnection::new(config, Hooks { headers: Some(headers), ..Hooks::default() }).unwrap();
    let names: Vec<String> =
        mcp.list_tools().await.unwrap().iter().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect();
    for tool in kind.tools {
        assert!(names.iter().any(|n| n == tool), "{name}: {tool} listed ({names:?})");
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let on_progress =
        Box::new(move |p: f64, total: Option<f64>, _: Option<&str>| sink.lock().unwrap().push((p, total)));
    let done = mcp.call_tool(kind.progress.0, kind.progress.1, Some(on_progress)).await.unwrap();
    assert_ne!(done["isError"], true, "{name}: {done}");
    if progress_expected {
        let seen = seen.lock().unwrap().clone();
        assert!(seen.len() >= 2 && seen.last().unwrap().1 == Some(3.0), "{name}: progress {seen:?}");
    }
    let image = mcp.call_tool(kind.image, json!({}), None).await.unwrap();
    let picture =
        image["content"].as_array().unwrap().iter().find(|b| b["type"] == "image").cloned().unwrap_or_default();
    assert_eq!(picture["mimeType"], "image/png", "{name}: {image}");
    let failed = mcp.call_tool(kind.error.0, kind.error.1, None).await.unwrap();
    assert_eq!(failed["isError"], true, "{name}: {failed}");
    mcp.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transport_and_both_eras() {
    let stack = Stack::start(&[
        "everything",
        "everything-sse",
        "python",
        "python-json",
        "python-stateless",
        "python-stateless-json",
    ])
    .await;
    let root = root();
    let everything_stdio = root.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let python_stdio = root.join("tests/support/python_server.py");
    let cases = [
        ("server-everything, Streamable HTTP", json!({"url": stack.url("everything")}), everything(), true),
        ("server-everything, legacy HTTP+SSE", json!({"url": stack.url("everything-sse")}), everything(), true),
        (
            "server-everything, stdio",
            json!({"command": "node", "args": [everything_stdio, "stdio"]}),
            everything(),
            true,
        ),
        ("python, handshake, SSE", json!({"url": stack.url("python"), "protocol": "2025-11-25"}), python(), true),
        (
            "python, handshake, JSON",
            json!({"url": stack.url("python-json"), "protocol": "2025-11-25"}),
            python(),
            false,
        ),
        ("python, stateless (detected), SSE", json!({"url": stack.url("python-stateless")}), python(), true),
        ("python, stateless (detected), JSON", json!({"url": stack.url("python-stateless-json")}), python(), false),
        (
            "python, stdio (detected)",
            json!({"command": root.join(".venv/bin/python"), "args": [python_stdio, "--stdio"]}),
            python(),
            true,
        ),
    ];
    for (name, mut server, kind, progress) in cases {
        server["name"] = json!("server");
        server["timeoutMs"] = json!(20_000);
        check(name, server, kind, progress).await;
    }
    stack.stop().await;
}
