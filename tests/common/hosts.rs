//! One job through either host: the native agent here, or the Node one (`tests/support/parity-node.mjs`) in a
//! fresh process. A job is `{config, needsPerson, runs: [{input, cancelOn?}]}` (see parity-node.mjs); each gives
//! `{events, results}`: every run's events, and how each run ended (its result, or `{error}`).

use super::root;
use mcp_loop::native::{Agent, CancellationToken, Hooks, RunOptions};
use mcp_loop::{AgentConfig, Event};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The native side: the same job, with this crate's agent.
pub async fn native(job: &Value) -> Value {
    let config = AgentConfig::from_json(&job["config"]).unwrap();
    let needs: Vec<String> = serde_json::from_value(job["needsPerson"].clone()).unwrap();
    let approve = move |call: &mcp_loop::PendingCall| needs.iter().any(|n| call.arguments["label"] == n.as_str());
    let approve = (job["config"]["approve"] == "host").then(|| Arc::new(approve) as _);
    let agent = Agent::with_hooks(config, Hooks { approve, ..Hooks::default() }).unwrap();
    let (mut events, mut results) = (Vec::new(), Vec::new());
    for run in job["runs"].as_array().unwrap() {
        let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
        let cancel = CancellationToken::new();
        let (sink, token, cancel_on) = (seen.clone(), cancel.clone(), run["cancelOn"].as_str().map(str::to_owned));
        let on_event = move |event: &Event| {
            let event = serde_json::to_value(event).unwrap();
            if cancel_on.as_deref().is_some_and(|t| event["type"] == t) {
                token.cancel();
            }
            sink.lock().unwrap().push(event);
        };
        let options = RunOptions { on_event: Some(Box::new(on_event)), cancel: Some(cancel), ..RunOptions::default() };
        let result = agent.run_with(run["input"].clone(), options).await;
        results.push(result.map_or_else(|e| json!({"error": e.to_string()}), |r| serde_json::to_value(r).unwrap()));
        events.push(Value::Array(std::mem::take(&mut *seen.lock().unwrap())));
    }
    agent.close().await;
    json!({"events": events, "results": results})
}

/// The Node side: `tests/support/parity-node.mjs` in a fresh process.
pub async fn node(job: &Value) -> Value {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("node")
        .arg("tests/support/parity-node.mjs")
        .current_dir(root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(job.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the Node run ends within a minute")
        .unwrap();
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}
