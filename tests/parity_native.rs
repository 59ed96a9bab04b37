//! One scenario through both hosts, the native one here and the Node one (`tests/support/parity-node.mjs`), with
//! the same events and results: two servers (the counting server over HTTP, and a stdio server that ignores its
//! stdin closing), approvals decided by a function, and a run cancelled mid-call. Policy lives in the core, so the
//! hosts must not differ; and both end the stubborn server the contract's way: stdin closed, then TERM.
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

use common::hosts::{native, node};
use common::{Stack, root};
use serde_json::{Value, json};

/// The job both hosts run: agent options in the core's JSON form, the labels the approval function leaves to a
/// person, and the runs (the second one cancelled as soon as its call starts).
fn job(stack: &Stack, log: &std::path::Path) -> Value {
    json!({
        "config": {
            "model": "gpt-standin",
            "portkey": {
                "baseURL": stack.url("gateway"),
                "provider": "openai",
                "customHost": stack.url("model"),
                "authorization": "Bearer standin"
            },
            "approve": "host",
            "servers": [
                {"name": "counting", "url": stack.url("counting")},
                {"name": "stubborn", "command": "node", "args": ["tests/support/stubborn-stdio-server.mjs", log], "cwd": root()}
            ]
        },
        "needsPerson": ["r1b"],
        "runs": [
            {"input": "Do one round of slow writes and echo \"parity\"."},
            {"input": "Wait here forever.", "cancelOn": "toolCallStarted"}
        ]
    })
}

/// An event as both hosts must tell it: what happened to which call, none of the ids, texts or timings. Events
/// of timing alone (deltas, progress, logs, warnings) are left out.
fn essence(event: &Value) -> Option<String> {
    let text = |key: &str| event[key].as_str().unwrap_or("").to_owned();
    let call = || format!("{}/{}", text("server"), text("tool"));
    Some(match event["type"].as_str()? {
        "runStarted" => format!("runStarted resumed={}", event["resumed"]),
        "serverConnected" => format!("serverConnected {}", text("server")),
        "toolsListed" => format!("toolsListed {}", event["count"]),
        "turnStarted" => format!("turnStarted {}", event["turn"]),
        "turnCompleted" => format!("turnCompleted {} calls={}", event["turn"], event["toolCalls"]),
        "toolCallStarted" => format!("toolCallStarted {} {}", call(), event["arguments"]),
        "toolCallFinished" => format!("toolCallFinished {} {} error={}", call(), event["output"], event["isError"]),
        _ => return None,
    })
}

/// A run's events as essences, sorted within each turn (calls of one turn finish in any order).
fn story(events: &Value) -> Vec<Vec<String>> {
    let mut turns: Vec<Vec<String>> = vec![Vec::new()];
    for line in events.as_array().unwrap().iter().filter_map(essence) {
        if line.starts_with("turnStarted") {
            turns.push(Vec::new());
        }
        turns.last_mut().unwrap().push(line);
    }
    turns.iter_mut().for_each(|t| t.sort());
    turns
}

/// How a run ended, as both hosts must tell it.
fn ending(result: &Value) -> Value {
    let mut pending: Vec<&str> =
        result["pending"].as_array().into_iter().flatten().filter_map(|p| p["arguments"]["label"].as_str()).collect();
    pending.sort();
    let calls: Vec<Value> =
        result["toolCalls"].as_array().into_iter().flatten().map(|c| json!([c["tool"], c["isError"]])).collect();
    json!({"status": result["status"], "pending": pending, "calls": calls, "error": result["error"].is_string()})
}

fn log_of(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_and_native_hosts_tell_the_same_story() {
    let stack = Stack::start(&["counting", "gateway", "model"]).await;
    let dir = std::env::temp_dir().join(format!("mcp-loop-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (native_log, node_log) = (dir.join("native.log"), dir.join("node.log"));
    let mine = native(&job(&stack, &native_log)).await;
    let theirs = node(&job(&stack, &node_log)).await;

    for host in [&mine, &theirs] {
        let first = ending(&host["results"][0]);
        assert_eq!(first["status"], "awaiting_approval", "the function left r1b to a person: {host}");
        assert_eq!(first["pending"], json!(["r1b"]));
        assert_eq!(ending(&host["results"][1])["status"], "cancelled", "{host}");
    }
    for (run, (a, b)) in
        mine["results"].as_array().unwrap().iter().zip(theirs["results"].as_array().unwrap()).enumerate()
    {
        assert_eq!(ending(a), ending(b), "run {run} ends the same in both hosts");
    }
    for (run, (a, b)) in mine["events"].as_array().unwrap().iter().zip(theirs["events"].as_array().unwrap()).enumerate()
    {
        assert_eq!(story(a), story(b), "run {run} tells the same events in both hosts");
    }
    let calls = story(&mine["events"][0]).concat();
    assert!(
        calls.iter().any(|l| l.starts_with("toolCallFinished stubborn/echo")),
        "the stdio server answered: {calls:?}"
    );
    assert!(calls.iter().any(|l| l.contains("counting/slow-write")), "{calls:?}");

    // Neither host killed the stubborn server outright: stdin closed first, then TERM ended it.
    for (host, log) in [("native", &native_log), ("node", &node_log)] {
        assert_eq!(
            log_of(log),
            ["stdin closed", "SIGTERM"],
            "the {host} host ends a server that ignores stdin with TERM"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    stack.stop().await;
}
