//! A run that survives its process: start a conversation, or continue one from a snapshot that any host
//! (Node, a browser, native Rust) took, with decisions for calls waiting for approval. Reads one JSON object
//! on stdin and prints the run's result as JSON on stdout:
//!
//! ```sh
//! echo '{"config": {…agent options…}, "input": "…"}' | cargo run --features native --example resume
//! echo '{"config": {…}, "snapshot": {…}, "decisions": [{"callId": "c1", "approved": true}]}' \
//!   | cargo run --features native --example resume
//! ```
//!
//! The agent options are the JSON form of `createAgent`'s (`servers` as an array of `{name, url, …}`). Give
//! `"snapshots": true` to print every step's snapshot on stderr, one JSON line each.

use mcp_loop::native::{Agent, RunOptions};
use mcp_loop::{AgentConfig, Decision};
use serde_json::{Value, json};
use std::io::Read;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut text = String::new();
    let outcome = match std::io::stdin().read_to_string(&mut text) {
        Ok(_) => run(&text).await,
        Err(e) => Err(format!("cannot read stdin: {e}")),
    };
    match outcome {
        Ok(result) => println!("{result}"),
        Err(error) => {
            println!("{}", json!({ "error": error }));
            std::process::exit(1);
        }
    }
}

async fn run(text: &str) -> Result<Value, String> {
    let job: Value = serde_json::from_str(text).map_err(|e| format!("stdin is not JSON: {e}"))?;
    let config = AgentConfig::from_json(&job["config"]).map_err(|e| e.to_string())?;
    let agent = Agent::new(config).map_err(|e| e.to_string())?;
    let mut options = RunOptions { stream: job["stream"] == true, ..RunOptions::default() };
    if job["snapshots"] == true {
        options.on_snapshot = Some(Box::new(|snapshot: &Value| eprintln!("{snapshot}")));
    }
    let result = match job.get("snapshot") {
        Some(snapshot) => {
            let decisions = Decision::list_from_json(job.get("decisions").unwrap_or(&json!([])));
            agent.resume(snapshot.clone(), decisions.map_err(|e| e.to_string())?, options).await
        }
        None => agent.run_with(job["input"].clone(), options).await,
    };
    agent.close().await;
    let result = result.map_err(|e| e.to_string())?;
    serde_json::to_value(result).map_err(|e| e.to_string())
}
