//! The agent in native Rust. Give it an MCP server and a question; the model is reached through Portkey,
//! configured from the environment the same way as the `mcp-loop run` command:
//!
//! ```sh
//! PORTKEY_API_KEY=… PORTKEY_PROVIDER=@openai-prod \
//!   cargo run --features native --example native -- http://127.0.0.1:8000/mcp "What is on my calendar today?"
//! ```
//!
//! Offline, against the stand-ins the tests use (`node tests/support/stack.mjs` prints their URLs):
//!
//! ```sh
//! PORTKEY_BASE_URL=<gateway> PORTKEY_PROVIDER=openai PORTKEY_CUSTOM_HOST=<model> OPENAI_API_KEY=standin \
//!   cargo run --features native --example native -- <everything> 'What is 2 + 3? Also echo "hi".'
//! ```

use mcp_loop::native::{Agent, RunOptions};
use mcp_loop::{AgentConfig, Event};
use serde_json::{Map, Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(question)) = (args.next(), args.next()) else {
        eprintln!("usage: native <mcp-url> <question>   (Portkey settings from PORTKEY_* and OPENAI_API_KEY)");
        std::process::exit(2);
    };
    let mut portkey = Map::new();
    for (key, var) in [
        ("baseURL", "PORTKEY_BASE_URL"),
        ("apiKey", "PORTKEY_API_KEY"),
        ("provider", "PORTKEY_PROVIDER"),
        ("virtualKey", "PORTKEY_VIRTUAL_KEY"),
        ("config", "PORTKEY_CONFIG"),
        ("customHost", "PORTKEY_CUSTOM_HOST"),
    ] {
        if let Ok(value) = std::env::var(var) {
            portkey.insert(key.into(), Value::String(value));
        }
    }
    if let Ok(key) = std::env::var("OPENAI_API_KEY") {
        portkey.insert("authorization".into(), Value::String(format!("Bearer {key}")));
    }
    let model = std::env::var("MCP_LOOP_MODEL").unwrap_or_else(|_| "gpt-4.1-mini".into());
    let config = AgentConfig::from_json(&json!({
        "model": model,
        "portkey": portkey,
        "servers": [{ "name": "server", "url": url }],
    }))?;

    let agent = Agent::new(config)?;
    let on_event = Box::new(|event: &Event| match event {
        Event::TurnStarted { turn } => println!("── turn {turn}"),
        Event::ToolCallStarted { name, arguments, .. } => println!("   → {name} {arguments}"),
        Event::ToolCallFinished { name, output, is_error, .. } => {
            let flag = if *is_error { " (error)" } else { "" };
            // A string, or a list of parts when there are images or files.
            let text = output.as_str().map_or_else(|| output.to_string(), str::to_owned);
            println!("   ← {name}{flag}: {}", text.chars().take(160).collect::<String>())
        }
        _ => {}
    });
    let result = agent.run_with(question, RunOptions { on_event: Some(on_event), ..RunOptions::default() }).await;
    agent.close().await;
    let result = result?;
    println!(
        "\n{}\n\n({:?}, {} turns, {} tool calls)",
        result.output_text,
        result.status,
        result.turns,
        result.tool_calls.len()
    );
    Ok(())
}
