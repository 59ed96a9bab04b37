//! The complete tool loop in native Rust, through the open-source Portkey gateway to the model stand-in, against
//! an MCP server whose tools take a while and that records when each call starts and ends (all on loopback,
//! started by `tests/support/stack.mjs` and stopped by pid). Snapshots and approvals across hosts are tested from
//! Node (tests/js/loop.test.mjs), which runs this crate's `resume` example as the native side.
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod common;

use common::Stack;
use futures::StreamExt;
use mcp_loop::Decision;
use mcp_loop::native::{Agent, CancellationToken, Hooks, RunEvent, RunOptions};
use mcp_loop::{AgentConfig, Event, RunResult, RunStatus};
use serde_json::{Value, json};
use std::sync::Arc;

const ROUNDS: &str = "Do three rounds of slow lookups.";

fn config(stack: &Stack) -> AgentConfig {
    AgentConfig::from_json(&json!({
        "model": "gpt-standin",
        "portkey": {
            "baseURL": stack.url("gateway"),
            "provider": "openai",
            "customHost": stack.url("model"),
            "authorization": "Bearer standin"
        },
        "servers": [{"name": "counting", "url": stack.url("counting")}]
    }))
    .unwrap()
}

/// What the counting server recorded (`/__calls` beside its `/mcp`).
async fn calls(stack: &Stack) -> Vec<Value> {
    let url = stack.url("counting").replace("/mcp", "/__calls");
    serde_json::from_str(&reqwest::get(url).await.unwrap().text().await.unwrap()).unwrap()
}

async fn reset(stack: &Stack) {
    let url = stack.url("counting").replace("/mcp", "/__reset");
    reqwest::Client::new().post(url).send().await.unwrap();
}

fn essence(r: &RunResult) -> Value {
    let calls: Vec<Value> =
        r.tool_calls.iter().map(|c| json!([c.turn, c.tool, c.arguments, c.output, c.is_error])).collect();
    json!({"status": r.status, "text": r.output_text, "turns": r.turns, "calls": calls})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rounds_streamed_equal_the_plain_run_and_each_round_runs_at_once() {
    let stack = Stack::start(&["counting", "gateway", "model"]).await;
    let agent = Agent::new(config(&stack)).unwrap();
    reset(&stack).await;
    let plain = agent.run(ROUNDS).await.unwrap();
    assert_eq!(plain.status, RunStatus::Completed);
    assert_eq!(plain.tool_calls.len(), 9);
    let recorded = calls(&stack).await;
    for round in ["r1", "r2", "r3"] {
        let of: Vec<&Value> = recorded.iter().filter(|c| c["label"].as_str().unwrap().starts_with(round)).collect();
        assert_eq!(of.len(), 3);
        let last_start = of.iter().map(|c| c["startMs"].as_f64().unwrap()).fold(0.0, f64::max);
        let first_end = of.iter().map(|c| c["endMs"].as_f64().unwrap()).fold(f64::MAX, f64::min);
        assert!(last_start < first_end, "the calls of {round} overlap: {of:?}");
    }

    let mut stream = agent.stream(ROUNDS, RunOptions::default());
    let mut events = Vec::new();
    let mut end = None;
    while let Some(item) = stream.next().await {
        match item {
            RunEvent::Event(event) => events.push(event),
            RunEvent::Done(result) => end = Some(result.unwrap()),
        }
    }
    let streamed = end.expect("the stream ends with the result");
    assert_eq!(essence(&streamed), essence(&plain));
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            Event::TextDelta { turn: 4, delta } => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, plain.output_text, "the deltas make the answer");
    let started = events.iter().filter(|e| matches!(e, Event::ToolCallStarted { .. })).count();
    let finished = events.iter().filter(|e| matches!(e, Event::ToolCallFinished { duration_ms: Some(_), .. })).count();
    assert_eq!((started, finished), (9, 9));
    assert!(matches!(events.first(), Some(Event::RunStarted { resumed: false, .. })));
    agent.close().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_token_stops_a_call_on_the_server_and_ends_the_run() {
    let stack = Stack::start(&["counting", "gateway", "model"]).await;
    let agent = Agent::new(config(&stack)).unwrap();
    reset(&stack).await;
    let token = CancellationToken::new();
    let trigger = token.clone();
    let options = RunOptions {
        cancel: Some(token),
        on_event: Some(Box::new(move |e: &Event| {
            if matches!(e, Event::ToolCallStarted { .. }) {
                // Once the call has reached the server.
                let trigger = trigger.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    trigger.cancel();
                });
            }
        })),
        ..RunOptions::default()
    };
    let result = agent.run_with("Wait forever, please.", options).await.unwrap();
    assert_eq!(result.status, RunStatus::Cancelled);
    assert_eq!(result.reason.as_deref(), Some("cancelled by the application"));
    let mut recorded = Vec::new();
    for _ in 0..100 {
        recorded = calls(&stack).await;
        if recorded.first().is_some_and(|c| c["cancelled"] == true) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["tool"], "wait-forever");
    assert_eq!(recorded[0]["cancelled"], true, "the server got notifications/cancelled: {recorded:?}");
    agent.close().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approve_hook_waves_calls_through_and_the_rest_pause() {
    let stack = Stack::start(&["counting", "gateway", "model"]).await;
    let mut config = config(&stack);
    config.approve = mcp_loop::Approve::Host;
    assert!(Agent::new(config.clone()).is_err(), "the host policy needs a hook");
    let hooks = Hooks { approve: Some(Arc::new(|call| call.arguments["label"] == "r1b")), ..Hooks::default() };
    let agent = Agent::with_hooks(config, hooks).unwrap();
    reset(&stack).await;
    let paused = agent.run("Do one round of slow writes.").await.unwrap();
    assert_eq!(paused.status, RunStatus::AwaitingApproval);
    assert_eq!(paused.pending.len(), 1);
    assert_eq!(paused.pending[0].arguments["label"], "r1b");
    let mut ran: Vec<String> = calls(&stack).await.iter().map(|c| c["label"].as_str().unwrap().to_owned()).collect();
    ran.sort();
    assert_eq!(ran, ["r1a", "r1c"], "the others ran without a pause");
    let decision = Decision { call_id: paused.pending[0].call_id.clone(), approved: false, reason: None };
    let done = agent.resume(paused.snapshot.unwrap(), vec![decision], RunOptions::default()).await.unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    assert_eq!(calls(&stack).await.len(), 2, "the rejected call never ran");
    agent.close().await;
    stack.stop().await;
}
