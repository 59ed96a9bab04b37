use super::*;
use crate::base::http::{HttpRequest, header};
use crate::event::{CallStatus, PendingCall, RunResult, RunStatus};
use crate::model::MAX_RESPONSE_BYTES;
use crate::tool_loop::{Approve, Continuation, Decision, Inflight, ServerPolicy};
use crate::wire::responses::{ModelRequest, ModelResponse};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const SECRET_URL: &str = "http://10.9.8.7:3001/mcp";
const SECRET_TOKEN: &str = "Bearer intranet-secret-123";

type Model = Box<dyn FnMut(&Value) -> (u16, Value)>;
/// Status, headers, body.
type Reply = (u16, Vec<(String, String)>, String);

/// A host that performs effects synchronously against in-memory fakes.
struct Host {
    driver: Driver,
    now: u64,
    requests: Vec<HttpRequest>,
    timers: BTreeMap<EffectId, u64>,
    cancelled: Vec<EffectId>,
    held: Vec<EffectId>,
    events: Vec<(Option<RunId>, Event)>,
    done: Vec<(RunId, Result<RunResult>)>,
    model: Model,
    /// Tool names whose calls the fake server never answers.
    hang: Vec<&'static str>,
    listing_fails: bool,
    /// Set once the `mutate` tool ran: the server then offers one more tool.
    mutated: bool,
    snapshots: Vec<(RunId, Value)>,
    /// The host's approval function: whether a person must decide a call (`host` policy); without one the
    /// questions stay open.
    approver: Option<fn(&PendingCall) -> bool>,
    /// Calls the approval function was asked about.
    asked: Vec<String>,
    /// Approval questions left open.
    open_questions: Vec<EffectId>,
    /// What the headers hook gives (`headersHook` servers).
    hook: std::result::Result<Vec<(String, String)>, String>,
}

fn config(servers: &[&str]) -> AgentConfig {
    AgentConfig::from_json(&json!({
        "model": "gpt-test",
        "portkey": {"baseURL": "http://127.0.0.1:8787/v1", "provider": "openai", "customHost": "http://127.0.0.1:9999/v1", "authorization": "Bearer model-key"},
        "servers": servers.iter().enumerate().map(|(i, name)| json!({
            "name": name,
            "url": format!("{SECRET_URL}/{i}"),
            "headers": [["authorization", SECRET_TOKEN]],
            "timeoutMs": 5000
        })).collect::<Vec<_>>()
    }))
    .unwrap()
}

impl Host {
    fn new(config: AgentConfig, model: impl FnMut(&Value) -> (u16, Value) + 'static) -> Host {
        Host {
            driver: Driver::new(config, 7).unwrap(),
            now: 1_000,
            requests: Vec::new(),
            timers: BTreeMap::new(),
            cancelled: Vec::new(),
            held: Vec::new(),
            events: Vec::new(),
            done: Vec::new(),
            model: Box::new(model),
            hang: Vec::new(),
            listing_fails: false,
            mutated: false,
            snapshots: Vec::new(),
            approver: Some(|_| true),
            asked: Vec::new(),
            open_questions: Vec::new(),
            hook: Ok(Vec::new()),
        }
    }

    /// Drains outputs, performs every HTTP effect, and repeats until nothing is left to perform.
    fn settle(&mut self) {
        loop {
            let mut work = Vec::new();
            loop {
                match self.driver.poll_output() {
                    Output::Effect(Effect::Http { id, request, .. }) => work.push((id, request)),
                    Output::Effect(Effect::Timer { id, at_ms }) => {
                        self.timers.insert(id, at_ms);
                    }
                    Output::Effect(Effect::Cancel { id }) => {
                        self.timers.remove(&id);
                        self.held.retain(|h| *h != id);
                        self.cancelled.push(id);
                    }
                    Output::Event { run, event } => self.events.push((run, event)),
                    Output::Done { run, result } => self.done.push((run, result)),
                    Output::Snapshot { run, snapshot } => self.snapshots.push((run, snapshot)),
                    Output::InputRequest { .. } => panic!("no server here asks anything"),
                    Output::AuthorizeRequest { .. } | Output::SignRequest { .. } | Output::AuthState { .. } => {
                        panic!("no server here wants authorization")
                    }
                    Output::ApprovalRequest { id, call, .. } => match self.approver {
                        Some(approver) => {
                            self.asked.push(call.call_id.clone());
                            assert_eq!(self.driver.answer_approval(id, approver(&call), self.now), Ok(true));
                        }
                        None => self.open_questions.push(id),
                    },
                    Output::HeadersRequest { id, .. } => {
                        assert_eq!(self.driver.answer_headers(id, self.hook.clone(), self.now), Ok(true));
                    }
                    Output::Effect(Effect::Stdio { .. }) => panic!("no stdio server here"),
                    Output::OpDone { .. } | Output::OpProgress { .. } => panic!("runs only"),
                    Output::Wait | Output::Idle => break,
                }
            }
            if work.is_empty() {
                return;
            }
            for (id, request) in work {
                self.requests.push(request.clone());
                self.now += 1;
                match self.respond(&request) {
                    Some((status, headers, body)) => {
                        self.driver.handle_http_head(id, status, &headers, self.now).unwrap();
                        for chunk in body.as_bytes().chunks(5) {
                            if self.driver.handle_http_chunk(id, chunk, self.now).is_err() {
                                break;
                            }
                        }
                        let _ = self.driver.handle_http_end(id, self.now);
                    }
                    None => self.held.push(id),
                }
            }
        }
    }

    fn respond(&mut self, request: &HttpRequest) -> Option<Reply> {
        let json_headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if request.url.ends_with("/responses") {
            let body: Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
            let (status, reply) = (self.model)(&body);
            return Some((status, json_headers, reply.to_string()));
        }
        if request.method == "DELETE" {
            return Some((200, vec![], String::new()));
        }
        let rpc: Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
        let id = rpc["id"].clone();
        let result = match rpc["method"].as_str().unwrap() {
            "initialize" => {
                let sse = format!(
                    "event: message\ndata: {}\n\n",
                    json!({"jsonrpc":"2.0","id":id,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"fake","version":"1.0"}}})
                );
                let headers = vec![
                    ("content-type".to_owned(), "text/event-stream".to_owned()),
                    ("mcp-session-id".to_owned(), "session-abc-999".to_owned()),
                ];
                return Some((200, headers, sse));
            }
            // Like the TypeScript SDK's servers: no session, no stateless revision.
            "server/discover" => {
                let refusal = json!({"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request: No valid session ID provided"}});
                return Some((400, json_headers, refusal.to_string()));
            }
            "notifications/initialized" | "notifications/cancelled" => return Some((202, vec![], String::new())),
            "tools/list" if self.listing_fails => return Some((500, json_headers, "internal error".into())),
            "tools/list" if self.mutated => {
                json!({"tools":[{"name":"echo"},{"name":"slow"},{"name":"mutate"},{"name":"newtool"}]})
            }
            "tools/list" => {
                json!({"tools":[{"name":"echo","inputSchema":{"type":"object","properties":{"message":{"type":"string"}}}},{"name":"slow"},{"name":"mutate"}]})
            }
            "tools/call" if rpc["params"]["name"] == "mutate" => {
                // The tool changes the server's tools and says so on the call's own stream, before answering.
                self.mutated = true;
                let changed = json!({"jsonrpc":"2.0","method":"notifications/tools/list_changed"});
                let answer = json!({"jsonrpc":"2.0","id":id,"result":{"content":[{"type":"text","text":"mutated"}]}});
                let sse = format!("data: {changed}\n\ndata: {answer}\n\n");
                return Some((200, vec![("content-type".to_owned(), "text/event-stream".to_owned())], sse));
            }
            "tools/call" => {
                let name = rpc["params"]["name"].as_str().unwrap().to_owned();
                if self.hang.contains(&name.as_str()) {
                    return None;
                }
                json!({"content":[{"type":"text","text":format!("{name} says {}", rpc["params"]["arguments"]["message"].as_str().unwrap_or("nothing"))}]})
            }
            other => panic!("unexpected method {other}"),
        };
        Some((200, json_headers, json!({"jsonrpc":"2.0","id":id,"result":result}).to_string()))
    }

    fn fire_timers(&mut self) {
        let due: Vec<EffectId> = self.timers.keys().copied().collect();
        for id in due {
            // One at a time: a timer may cancel the others (a run's deadline, its calls' timeouts).
            if self.timers.remove(&id).is_none() {
                continue;
            }
            self.now += 5000;
            self.driver.handle_timer(id, self.now).unwrap();
            self.settle();
        }
    }
}

fn response(id: &str, output: Value) -> Value {
    json!({"id": id, "object": "response", "status": "completed", "output": output,
           "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}})
}

fn call(call_id: &str, name: &str, args: Value) -> Value {
    json!({"type":"function_call","id":format!("fc_{call_id}"),"call_id":call_id,"name":name,"arguments":args.to_string(),"status":"completed"})
}

fn answer(text: &str) -> Value {
    json!({"type":"message","id":"msg_1","role":"assistant","status":"completed","content":[{"type":"output_text","text":text,"annotations":[]}]})
}

/// A model that calls the two `echo` tools in turn 1 and then repeats their outputs.
fn two_server_model(request: &Value) -> (u16, Value) {
    match request.get("previous_response_id") {
        None => (
            200,
            response(
                "resp_1",
                json!([
                    call("c1", "hr__echo", json!({"message":"one"})),
                    call("c2", "it__echo", json!({"message":"two"}))
                ]),
            ),
        ),
        Some(_) => {
            let outputs: Vec<&str> =
                request["input"].as_array().unwrap().iter().map(|o| o["output"].as_str().unwrap()).collect();
            (200, response("resp_2", json!([answer(&outputs.join(" | "))])))
        }
    }
}

#[test]
fn a_full_run_across_two_servers() {
    let mut host = Host::new(config(&["hr", "it"]), two_server_model);
    let run = host
        .driver
        .start_run(
            json!("echo one and two"),
            RunOptions { trace_id: Some("trace-xyz".into()), ..RunOptions::default() },
            host.now,
        )
        .unwrap();
    host.settle();
    let (done_run, result) = host.done.pop().expect("the run finished");
    assert_eq!(done_run, run);
    let result = result.unwrap();
    assert_eq!(result.status, RunStatus::Completed);
    assert_eq!(result.output_text, "echo says one | echo says two");
    assert_eq!(result.turns, 2);
    assert_eq!(result.usage.total_tokens, 30);
    assert_eq!(result.trace_id.as_deref(), Some("trace-xyz"));
    assert_eq!(result.tool_calls.len(), 2);
    assert_eq!(result.tool_calls[1].server.as_deref(), Some("it"));

    let model_requests: Vec<&HttpRequest> = host.requests.iter().filter(|r| r.url.ends_with("/responses")).collect();
    assert_eq!(model_requests.len(), 2);
    for r in &model_requests {
        assert_eq!(r.url, "http://127.0.0.1:8787/v1/responses");
        assert_eq!(r.header("x-portkey-trace-id"), Some("trace-xyz"));
        assert_eq!(r.header("x-portkey-parent-span-id"), Some("run"));
        assert_eq!(r.header("x-portkey-provider"), Some("openai"));
        assert_eq!(r.header("authorization"), Some("Bearer model-key"));
    }
    let first: Value = serde_json::from_str(model_requests[0].body.as_deref().unwrap()).unwrap();
    let names: Vec<&str> = first["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["hr__echo", "hr__slow", "hr__mutate", "it__echo", "it__slow", "it__mutate"]);

    let mcp_calls: Vec<&HttpRequest> =
        host.requests.iter().filter(|r| r.body.as_deref().is_some_and(|b| b.contains("tools/call"))).collect();
    assert_eq!(mcp_calls.len(), 2);
    assert!(
        mcp_calls.iter().all(|r| r.header("mcp-session-id") == Some("session-abc-999")
            && r.header("authorization") == Some(SECRET_TOKEN))
    );

    assert!(host.timers.is_empty(), "every timer was cancelled when its request finished");
    let kinds: Vec<String> = host
        .events
        .iter()
        .map(|(_, e)| serde_json::to_value(e).unwrap()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "runStarted",
            "serverConnected",
            "serverConnected",
            "toolsListed",
            "turnStarted",
            "turnCompleted",
            "toolCallStarted",
            "toolCallStarted",
            "toolCallFinished",
            "toolCallFinished",
            "turnStarted",
            "turnCompleted"
        ]
    );
    let spans: Vec<_> = model_requests.iter().map(|r| r.header("x-portkey-span-id").unwrap()).collect();
    assert_eq!(spans, ["turn-1", "turn-2"], "a span per turn");
    let durations = host.events.iter().filter_map(|(_, e)| match e {
        Event::ToolCallFinished { duration_ms, .. } => Some(*duration_ms),
        _ => None,
    });
    assert!(durations.into_iter().all(|d| d.is_some()), "the driver times every call it made");
    assert_eq!(host.driver.poll_output(), Output::Idle);
}

#[test]
fn nothing_about_a_server_reaches_the_model_side() {
    let mut host = Host::new(config(&["hr", "it"]), |request| {
        if request.get("previous_response_id").is_none() {
            // The model calls an unknown tool and a tool that leaks its server's URL in an error.
            (200, response("resp_1", json!([call("c1", "nope", json!({})), call("c2", "hr__slow", json!({}))])))
        } else {
            (200, response("resp_2", json!([answer("ok")])))
        }
    });
    host.hang.push("slow");
    host.driver.start_run(json!("go"), RunOptions::default(), host.now).unwrap();
    host.settle();
    host.fire_timers();
    assert!(host.done.pop().unwrap().1.is_ok());
    let secrets = [SECRET_URL, "10.9.8.7", "intranet-secret-123", "session-abc-999"];
    for request in host.requests.iter().filter(|r| r.url.ends_with("/responses")) {
        let everything = format!("{} {:?} {}", request.url, request.headers, request.body.as_deref().unwrap_or(""));
        for secret in secrets {
            assert!(!everything.contains(secret), "{secret} leaked into {everything}");
        }
    }
    for (_, event) in &host.events {
        let text = serde_json::to_string(event).unwrap();
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} leaked into event {text}");
        }
    }
}

#[test]
fn a_call_that_times_out_is_cancelled_and_the_model_is_told() {
    let mut host = Host::new(config(&["hr"]), |request| {
        if request.get("previous_response_id").is_none() {
            (
                200,
                response(
                    "resp_1",
                    json!([call("c1", "slow", json!({})), call("c2", "echo", json!({"message":"fast"}))]),
                ),
            )
        } else {
            (200, response("resp_2", json!([answer(&request["input"].to_string())])))
        }
    });
    host.hang.push("slow");
    host.driver.start_run(json!("go"), RunOptions::default(), host.now).unwrap();
    host.settle();
    assert_eq!(host.held.len(), 1, "the slow call is out");
    assert!(host.done.is_empty());
    let held = host.held[0];
    host.fire_timers();
    assert!(host.cancelled.contains(&held), "the timed-out request was aborted");
    let result = host.done.pop().unwrap().1.unwrap();
    assert!(
        result.output_text.contains("Error: MCP server 'hr': request failed: timed out after 5002 ms"),
        "{}",
        result.output_text
    );
    assert!(result.output_text.contains("echo says fast"));
    assert_eq!(
        host.driver.handle_http_end(held, host.now),
        Ok(false),
        "a cancelled effect's late outcome is not taken"
    );
}

#[test]
fn a_server_that_cannot_list_fails_the_run_and_the_next_run_retries() {
    let mut host = Host::new(config(&["hr"]), |_| (200, response("resp_1", json!([answer("hi")]))));
    host.listing_fails = true;
    host.driver.start_run(json!("go"), RunOptions::default(), host.now).unwrap();
    host.settle();
    assert!(host.done.is_empty(), "a 500 may heal: the listing is tried again after a backoff");
    host.fire_timers();
    match host.done.pop().unwrap().1 {
        Err(Error::Mcp { server, message }) => {
            assert_eq!(server, "hr");
            assert!(message.contains("HTTP 500") && message.contains("2 attempts failed"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    host.listing_fails = false;
    host.driver.start_run(json!("go"), RunOptions::default(), host.now).unwrap();
    host.settle();
    assert_eq!(host.done.pop().unwrap().1.unwrap().output_text, "hi");
}

#[test]
fn runs_share_one_listing_and_model_errors_keep_their_status() {
    let mut host = Host::new(config(&["hr"]), |request| match request["input"].as_str() {
        Some("bad") => (
            401,
            json!({"error":{"message":"openai error: Incorrect API key provided","type":"invalid_request_error"}}),
        ),
        _ => (200, response("resp_1", json!([answer("fine")]))),
    });
    let a = host
        .driver
        .start_run(json!("bad"), RunOptions { trace_id: Some("t1".into()), ..RunOptions::default() }, host.now)
        .unwrap();
    let b = host
        .driver
        .start_run(json!("good"), RunOptions { trace_id: Some("t2".into()), ..RunOptions::default() }, host.now)
        .unwrap();
    host.settle();
    let lists = host.requests.iter().filter(|r| r.body.as_deref().is_some_and(|b| b.contains("tools/list"))).count();
    assert_eq!(lists, 1);
    let results: BTreeMap<RunId, Result<RunResult>> = host.done.drain(..).collect();
    let named = "openai error: Incorrect API key provided (endpoint http://127.0.0.1:8787)";
    assert_eq!(results[&a], Err(Error::model(Some(401), named)), "the endpoint named by its origin");
    assert_eq!(results[&b].as_ref().unwrap().output_text, "fine");
}

#[test]
fn close_cancels_runs_and_deletes_sessions() {
    let mut host = Host::new(config(&["hr"]), |_| (200, response("resp_1", json!([call("c1", "slow", json!({}))]))));
    host.hang.push("slow");
    let run = host.driver.start_run(json!("go"), RunOptions::default(), host.now).unwrap();
    host.settle();
    let held = host.held.clone();
    host.driver.close(host.now);
    host.settle();
    assert!(held.iter().all(|h| host.cancelled.contains(h)));
    assert_eq!(host.done.pop().unwrap(), (run, Err(Error::cancelled("the agent was closed"))));
    let delete = host.requests.last().unwrap();
    assert_eq!(
        (delete.method.as_str(), header(&delete.headers, "mcp-session-id")),
        ("DELETE", Some("session-abc-999"))
    );
    assert!(host.timers.is_empty());
    assert_eq!(host.driver.poll_output(), Output::Idle);
    assert_eq!(host.driver.start_run(json!("again"), RunOptions::default(), host.now).unwrap_err().code(), "cancelled");
}

#[test]
fn refuses_bad_configuration_and_input() {
    let mut dup = config(&["hr", "hr"]);
    assert!(Driver::new(dup.clone(), 7).unwrap_err().to_string().contains("two servers"));
    dup.servers.pop();
    dup.model = String::new();
    let mut modelless = Driver::new(dup, 7).expect("direct MCP use needs no model");
    assert!(
        modelless
            .start_run(json!("hi"), RunOptions::default(), 0)
            .unwrap_err()
            .to_string()
            .contains("model is required")
    );
    let mut driver = Driver::new(config(&["hr"]), 7).unwrap();
    assert_eq!(driver.start_run(json!(42), RunOptions::default(), 0).unwrap_err().code(), "config");
    assert_eq!(driver.handle_timer(EffectId::from_raw(77), 0).unwrap_err().code(), "host", "an id nobody issued");
    assert_eq!(driver.poll_output(), Output::Idle);
}

#[test]
fn no_servers_means_no_tools() {
    let mut host = Host::new(config(&[]), |request| {
        assert!(request.get("tools").is_none());
        (200, response("resp_1", json!([answer("plain")])))
    });
    host.driver.start_run(json!("hi"), RunOptions::default(), host.now).unwrap();
    host.settle();
    assert_eq!(host.done.pop().unwrap().1.unwrap().output_text, "plain");
}

#[test]
fn outputs_have_a_json_form_for_other_hosts() {
    let http = Output::Effect(Effect::Http {
        id: EffectId::from_raw(3),
        request: HttpRequest {
            method: "POST".into(),
            url: "u".into(),
            headers: vec![("a".into(), "b".into())],
            body: None,
        },
        server: Some("hr".into()),
    });
    assert_eq!(
        parsed(http.to_text()),
        json!({"type":"http","id":3,"request":{"method":"POST","url":"u","headers":[["a","b"]]},"server":"hr"})
    );
    assert_eq!(
        parsed(Output::Effect(Effect::Timer { id: EffectId::from_raw(4), at_ms: 9 }).to_text()),
        json!({"type":"timer","id":4,"atMs":9})
    );
    assert_eq!(
        parsed(Output::Effect(Effect::Cancel { id: EffectId::from_raw(4) }).to_text()),
        json!({"type":"cancel","id":4})
    );
    let failed = Output::Done { run: 1, result: Err(Error::mcp("hr", "down")) };
    assert_eq!(
        parsed(failed.to_text()),
        json!({"type":"done","run":1,"error":{"code":"mcp","server":"hr","message":"down"},"text":"MCP server 'hr': down"})
    );
    let event =
        Output::Event { run: None, event: Event::ToolsListed { count: 2, strict: 1, notes: vec!["x: why".into()] } };
    assert_eq!(
        parsed(event.to_text()),
        json!({"type":"event","run":null,"event":{"type":"toolsListed","count":2,"strict":1,"notes":["x: why"]}})
    );
    assert_eq!(parsed(Output::Wait.to_text()), json!({"type":"wait"}));
}

#[test]
fn reads_configuration_from_json_and_names_mistakes() {
    let config = AgentConfig::from_json(&json!({
        "model": "m", "maxTurns": 3, "modelSettings": {"temperature": 0},
        "portkey": {"apiKey": "pk", "headers": {"x-portkey-cache-namespace": "n"}},
        "servers": [{"name": "a", "url": "http://x/mcp", "headers": {"authorization": "t"}, "timeoutMs": 10}]
    }))
    .unwrap();
    assert_eq!(config.max_turns, 3);
    assert_eq!(config.portkey.base_url, "https://api.portkey.ai/v1");
    assert_eq!(config.servers[0].connection.headers, vec![("authorization".to_owned(), "t".to_owned())]);
    assert_eq!(config.servers[0].connection.timeout_ms, 10);
    let message = |v: Value| AgentConfig::from_json(&v).unwrap_err().to_string();
    assert!(message(json!({"model": "m", "maxTurn": 3})).contains("unknown option maxTurn"));
    assert!(
        message(json!({"model": "m", "servers": [{"name": "a"}]}))
            .contains("servers.a needs a url (HTTP) or a command (stdio)")
    );
    assert!(message(json!({"model": "m", "portkey": {"apiKey": 1}})).contains("portkey.apiKey must be a string"));
    assert!(
        message(json!({"model": "m", "servers": [{"name": "a", "url": "u", "headers": [1]}]}))
            .contains("servers.a.headers")
    );

    // The tool loop's options, and what they make of a request.
    let loop_options = AgentConfig::from_json(&json!({
        "model": "m", "continuation": "replay", "approve": "destructive", "inflight": "fail",
        "maxToolCallsPerTurn": 5, "parallelToolCalls": false, "maxRetries": 0, "runTimeoutMs": 9000,
        "servers": [{"name": "a", "url": "http://x/mcp", "approve": "never", "maxConcurrentCalls": 1}]
    }))
    .unwrap();
    let l = loop_options.loop_config();
    assert_eq!((l.continuation, l.approve, l.inflight), (Continuation::Replay, Approve::Destructive, Inflight::Fail));
    assert_eq!(l.max_tool_calls_per_turn, Some(5));
    assert_eq!(l.model_settings["parallel_tool_calls"], false);
    assert_eq!(
        l.servers[0],
        ServerPolicy { server: "a".into(), approve: Some(Approve::Never), max_concurrent_calls: 1 }
    );
    assert_eq!((loop_options.max_retries, loop_options.run_timeout_ms), (0, Some(9000)));
    assert!(message(json!({"model": "m", "continuation": "stored"})).contains("continuation must be"));
    assert!(
        message(json!({"model": "m", "approve": "sometimes"})).contains("approve must be always, never, destructive")
    );
    assert!(message(json!({"model": "m", "inflight": "maybe"})).contains("inflight must be"));
    assert!(
        message(json!({"model": "m", "parallelToolCalls": "yes"})).contains("parallelToolCalls must be true or false")
    );
    let zero = json!({"model": "m", "servers": [{"name": "a", "url": "http://x/mcp", "maxConcurrentCalls": 0}]});
    assert!(
        Driver::new(AgentConfig::from_json(&zero).unwrap(), 7).unwrap_err().to_string().contains("maxConcurrentCalls")
    );
}

#[test]
fn a_loop_alone_reads_server_policies_without_addresses() {
    let (l, convert) = AgentConfig::loop_from_json(&json!({
        "model": "m", "strict": false, "approve": "always",
        "servers": [{"name": "a", "approve": "never", "maxConcurrentCalls": 2}, {"name": "b"}]
    }))
    .unwrap();
    assert_eq!(convert.strict, crate::schema::StrictMode::Off);
    assert_eq!(l.approve, Approve::Always);
    assert_eq!(
        l.servers,
        [
            ServerPolicy { server: "a".into(), approve: Some(Approve::Never), max_concurrent_calls: 2 },
            ServerPolicy { server: "b".into(), approve: None, max_concurrent_calls: 4 },
        ]
    );
    let message = |v: Value| AgentConfig::loop_from_json(&v).unwrap_err().to_string();
    assert!(
        message(json!({"model": "m", "servers": [{"name": "a", "url": "http://x"}]}))
            .contains("unknown option servers.a.url")
    );
    assert!(message(json!({"model": "m", "portkey": {}})).contains("unknown option portkey"));
    assert!(message(json!({"model": "m", "servers": [{"approve": "never"}]})).contains("servers[0] needs a name"));
}

#[test]
fn every_option_key_is_read_and_nothing_else() {
    let keys = option_keys();
    let every = |list: &[&str]| -> Value { list.iter().map(|k| (k.to_string(), Value::Null)).collect() };
    // Null counts as absent: each key is known, and nothing more than the list is accepted.
    let mut agent = every(&keys.agent);
    agent["model"] = json!("m");
    let mut server = every(&keys.server);
    server["url"] = json!("http://x/mcp");
    agent["servers"] = json!([server]);
    agent["portkey"] = every(keys.portkey);
    assert!(AgentConfig::from_json(&agent).is_ok(), "{:?}", AgentConfig::from_json(&agent));
    agent["portkey"]["extra"] = json!(1);
    assert!(AgentConfig::from_json(&agent).unwrap_err().to_string().contains("unknown option portkey.extra"));
    for list in [&keys.agent[..], &keys.server, keys.portkey] {
        assert!(list.iter().enumerate().all(|(i, k)| !list[..i].contains(k)), "no key twice: {list:?}");
    }
}

#[test]
fn an_oversized_model_response_is_cut_off_and_fails_the_run() {
    let mut driver = Driver::new(config(&[]), 7).unwrap();
    driver.start_run(json!("hi"), RunOptions::default(), 0).unwrap();
    let id = loop {
        if let Output::Effect(Effect::Http { id, .. }) = driver.poll_output() {
            break id;
        }
    };
    driver.handle_http_head(id, 200, &[], 1).unwrap();
    let chunk = vec![b' '; 1 << 20];
    let mut cancelled = false;
    for _ in 0..=(MAX_RESPONSE_BYTES >> 20) {
        if driver.handle_http_chunk(id, &chunk, 1).is_err() {
            break;
        }
    }
    let mut result = None;
    loop {
        match driver.poll_output() {
            Output::Effect(Effect::Cancel { id: c }) if c == id => cancelled = true,
            Output::Done { result: r, .. } => result = Some(r),
            Output::Idle => break,
            _ => {}
        }
    }
    assert!(cancelled, "the download is aborted");
    let error = result.unwrap().unwrap_err();
    assert!(error.to_string().contains("exceeded"), "{error}");
    let mut config = config(&[]);
    config.model_timeout_ms = 1 << 40;
    assert!(Driver::new(config, 7).unwrap_err().to_string().contains("modelTimeoutMs"));
}

/// A run in which the model calls `mutate` (the server then changes its tools) and answers with the names of the
/// tools its second turn offers.
fn run_mutate(config: AgentConfig) -> (Host, String) {
    let mut host = Host::new(config, |request| match request.get("previous_response_id") {
        None => (200, response("resp_1", json!([call("c1", "mutate", json!({}))]))),
        Some(_) => {
            let names: Vec<&str> =
                request["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
            (200, response("resp_2", json!([answer(&names.join(","))])))
        }
    });
    host.driver.start_run(json!("change your tools"), RunOptions::default(), host.now).unwrap();
    host.settle();
    let result = host.done.pop().unwrap().1.unwrap();
    (host, result.output_text)
}

#[test]
fn a_list_change_is_listed_again_before_the_next_model_turn() {
    let (host, names) = run_mutate(config(&["hr"]));
    assert_eq!(names, "echo,slow,mutate,newtool", "the second turn offers the new tool");
    let lists = host.requests.iter().filter(|r| r.body.as_deref().is_some_and(|b| b.contains("tools/list"))).count();
    assert_eq!(lists, 2);
    assert!(host.events.iter().any(|(_, e)| matches!(e, Event::ToolsChanged { server } if server == "hr")));
}

#[test]
fn a_changed_definition_is_reported_and_blocked_and_filters_apply() {
    use crate::schema::control::{ToolChanges, ToolFilter};
    let mut config = config(&["hr"]);
    config.tool_changes = ToolChanges::Block;
    config.servers[0].tools = ToolFilter { allow: Vec::new(), deny: vec!["sl*".into()] };
    let (host, names) = run_mutate(config);
    // `slow` is denied; `echo` changed its schema after it was first listed, so it is hidden.
    assert_eq!(names, "mutate,newtool");
    let changed: Vec<_> = host.events.iter().filter(|(_, e)| matches!(e, Event::ToolChanged { .. })).collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(
        matches!(&changed[0].1, Event::ToolChanged { server, tool, blocked: true } if server == "hr" && tool == "echo")
    );
    let listed: Vec<_> = host
        .events
        .iter()
        .filter_map(|(_, e)| if let Event::ToolsListed { notes, .. } = e { Some(notes) } else { None })
        .collect();
    assert!(listed[1].iter().any(|n| n.contains("echo: hidden: its definition changed")), "{listed:?}");
}

#[test]
fn debug_output_keeps_secrets_out() {
    let driver = Driver::new(config(&["hr"]), 7).unwrap();
    let text = format!("{driver:?}");
    for secret in ["10.9.8.7", "intranet-secret-123", "model-key"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

// ---- approvals, snapshots, cancellation, deadlines, retries ----

/// A model that calls `echo` once, then repeats the output.
fn echo_once(request: &Value) -> (u16, Value) {
    match request.get("previous_response_id").or(request.get("store")) {
        None => (200, response("resp_1", json!([call("c1", "echo", json!({"message": "hi"}))]))),
        Some(_) => {
            let last = request["input"].as_array().unwrap().last().unwrap().clone();
            (200, response("resp_2", json!([answer(last["output"].as_str().unwrap())])))
        }
    }
}

fn tool_calls(host: &Host) -> usize {
    host.requests.iter().filter(|r| r.body.as_deref().is_some_and(|b| b.contains("\"tools/call\""))).count()
}

#[test]
fn a_paused_run_carries_a_snapshot_without_secrets_that_another_driver_resumes() {
    let mut approving = config(&["hr"]);
    approving.approve = Approve::Always;
    let mut host = Host::new(approving.clone(), echo_once);
    host.driver
        .start_run(json!("go"), RunOptions { trace_id: Some("trace-p".into()), ..RunOptions::default() }, host.now)
        .unwrap();
    host.settle();
    let result = host.done.pop().unwrap().1.unwrap();
    assert_eq!(result.status, RunStatus::AwaitingApproval);
    assert_eq!(result.pending.len(), 1);
    assert_eq!(tool_calls(&host), 0, "nothing runs before the decision");
    let snapshot = result.snapshot.unwrap();
    let text = snapshot.to_string();
    for secret in [SECRET_URL, "10.9.8.7", "intranet-secret-123", "session-abc-999", "model-key"] {
        assert!(!text.contains(secret), "{secret} in the snapshot");
    }
    assert_eq!(snapshot["traceId"], "trace-p");

    let mut other = Host::new(approving, echo_once);
    let decisions = vec![Decision { call_id: "c1".into(), approved: true, reason: None }];
    let run = other.driver.resume_run(snapshot.clone(), decisions, RunOptions::default(), other.now).unwrap();
    other.settle();
    let (done_run, result) = other.done.pop().unwrap();
    assert_eq!(done_run, run);
    let result = result.unwrap();
    assert_eq!((result.status, result.output_text.as_str()), (RunStatus::Completed, "echo says hi"));
    assert_eq!(result.trace_id.as_deref(), Some("trace-p"), "the resumed run stays in its trace");
    assert_eq!(tool_calls(&other), 1);
    assert!(matches!(other.events[0].1, Event::RunStarted { resumed: true, .. }));
    let bad =
        other.driver.resume_run(json!({"format": "mcp-loop/run", "version": 9}), vec![], RunOptions::default(), 0);
    assert!(bad.unwrap_err().to_string().contains("newer mcp-loop"), "refused at once, not after listing");
}

#[test]
fn a_snapshot_follows_every_step_when_asked() {
    let mut host = Host::new(config(&["hr"]), echo_once);
    let options = RunOptions { snapshots: true, ..RunOptions::default() };
    host.driver.start_run(json!("go"), options, host.now).unwrap();
    host.settle();
    assert!(host.done.pop().unwrap().1.is_ok());
    let phases: Vec<&str> =
        host.snapshots.iter().map(|(_, s)| s["state"]["phase"]["phase"].as_str().unwrap()).collect();
    assert_eq!(
        phases,
        ["tools", "model"],
        "after the model's call, after the tool's result (the final answer ends the run)"
    );
}

#[test]
fn cancelling_a_run_tells_the_server_and_ends_it_cancelled() {
    let mut host = Host::new(config(&["hr"]), |_| (200, response("resp_1", json!([call("c1", "slow", json!({}))]))));
    host.hang.push("slow");
    let run = host.driver.start_run(json!("go"), RunOptions::default(), host.now).unwrap();
    host.settle();
    let held = host.held[0];
    host.driver.cancel_run(run, "the user pressed stop", host.now).unwrap();
    host.settle();
    assert!(host.cancelled.contains(&held), "the call's request is aborted");
    let cancelled =
        host.requests.iter().any(|r| r.body.as_deref().is_some_and(|b| b.contains("notifications/cancelled")));
    assert!(cancelled, "the server is told");
    let result = host.done.pop().unwrap().1.unwrap();
    assert_eq!((result.status, result.reason.as_deref()), (RunStatus::Cancelled, Some("the user pressed stop")));
    assert_eq!(host.driver.cancel_run(run, "again", host.now), Ok(false), "an ended run is not active");
    assert_eq!(host.driver.cancel_run(run + 1, "never", host.now).unwrap_err().code(), "host", "a run never started");
}

#[test]
fn a_run_past_its_deadline_ends_cancelled() {
    let mut limited = config(&["hr"]);
    limited.run_timeout_ms = Some(1000);
    let mut host = Host::new(limited, |_| (200, response("resp_1", json!([call("c1", "slow", json!({}))]))));
    host.hang.push("slow");
    host.driver.start_run(json!("go"), RunOptions::default(), host.now).unwrap();
    host.settle();
    host.fire_timers();
    let result = host.done.pop().unwrap().1.unwrap();
    assert_eq!(result.status, RunStatus::Cancelled);
    assert!(result.reason.unwrap().contains("runTimeoutMs"));
    assert!(host.timers.is_empty(), "no timer outlives the run");
}

#[test]
fn a_model_error_that_may_heal_is_tried_again() {
    let mut failures = 0;
    let mut host = Host::new(config(&["hr"]), move |request| {
        if failures < 1 {
            failures += 1;
            return (503, json!({"error": {"message": "overloaded"}}));
        }
        echo_once(request)
    });
    host.driver.start_run(json!("go"), RunOptions::default(), host.now).unwrap();
    host.settle();
    assert!(host.done.is_empty(), "waiting to try again");
    host.fire_timers();
    let result = host.done.pop().unwrap().1.unwrap();
    assert_eq!(result.status, RunStatus::Completed);
    let retry = host.events.iter().find_map(|(_, e)| match e {
        Event::ModelRetry { attempt, error, .. } => Some((*attempt, error.clone())),
        _ => None,
    });
    assert_eq!(retry, Some((1, "model request failed (HTTP 503): overloaded".into())));
}

/// An output's text, read back.
fn parsed(text: String) -> Value {
    serde_json::from_str(&text).unwrap()
}

#[test]
fn an_approval_function_waves_calls_through_and_the_run_pauses_for_the_rest() {
    let mut config = config(&["hr", "it"]);
    config.approve = Approve::Host;
    let mut host = Host::new(config, two_server_model);
    host.approver = Some(|call| call.server == "it");
    let run = host.driver.start_run(json!("echo one and two"), RunOptions::default(), host.now).unwrap();
    host.settle();
    assert_eq!(host.asked, ["c1", "c2"], "each call of the pause is asked about once");
    let (paused_run, paused) = host.done.pop().expect("the run paused");
    let paused = paused.unwrap();
    assert_eq!((paused_run, paused.status), (run, RunStatus::AwaitingApproval));
    assert_eq!(paused.pending.iter().map(|p| p.call_id.as_str()).collect::<Vec<_>>(), ["c2"]);
    let calls: Vec<&str> =
        host.requests.iter().filter_map(|r| r.body.as_deref()).filter(|b| b.contains("tools/call")).collect();
    assert_eq!(calls.len(), 1, "the waved-through call ran, the other waits for a person");
    assert!(calls[0].contains("\"one\""));
    let recorded: Vec<(&str, CallStatus)> = paused.tool_calls.iter().map(|c| (c.call_id.as_str(), c.status)).collect();
    assert_eq!(recorded, [("c1", CallStatus::Done), ("c2", CallStatus::AwaitingApproval)], "the pause says what ran");
    let snapshot = paused.snapshot.expect("a pause can be resumed");
    assert_eq!(snapshot["state"]["phase"]["calls"][0]["state"], "done", "the waved-through call's output is kept");

    // A person approves the rest: the run completes without asking the function again about c2.
    let decisions = vec![Decision { call_id: "c2".into(), approved: true, reason: None }];
    host.asked.clear();
    host.driver.resume_run(snapshot, decisions, RunOptions::default(), host.now).unwrap();
    host.settle();
    assert!(host.asked.is_empty(), "decided calls are not asked about");
    let done = host.done.pop().unwrap().1.unwrap();
    assert_eq!((done.status, done.output_text.as_str()), (RunStatus::Completed, "echo says one | echo says two"));
}

#[test]
fn a_run_waiting_for_approval_answers_ends_with_its_pause_when_cancelled_or_closed() {
    for close in [false, true] {
        let mut config = config(&["hr"]);
        config.approve = Approve::Host;
        let mut host = Host::new(config, |_| (200, response("resp_1", json!([call("c1", "echo", json!({}))]))));
        host.approver = None;
        let run = host.driver.start_run(json!("go"), RunOptions::default(), host.now).unwrap();
        host.settle();
        let [id] = host.open_questions[..] else { panic!("one approval question: {:?}", host.open_questions) };
        assert!(host.done.is_empty(), "the run waits for the answer");
        match close {
            true => host.driver.close(host.now),
            false => assert_eq!(host.driver.cancel_run(run, "stop", host.now), Ok(true)),
        }
        host.settle();
        let result = host.done.pop().unwrap().1.unwrap();
        assert_eq!(result.status, RunStatus::AwaitingApproval, "the pause is the result, nothing is lost");
        assert!(result.snapshot.is_some());
        assert_eq!(host.driver.answer_approval(id, false, host.now), Ok(false), "a late answer is not taken");
    }
}

#[test]
fn a_headers_hook_is_asked_before_every_request_and_its_values_are_secrets() {
    let mut hooked = config(&["hr"]);
    hooked.servers[0].headers_hook = true;
    let mut host = Host::new(hooked, |request| match request.get("previous_response_id") {
        None => (200, response("resp_1", json!([call("c1", "echo", json!({"message": "rotating-token-42"}))]))),
        Some(_) => (200, response("resp_2", json!([answer(request["input"][0]["output"].as_str().unwrap())]))),
    });
    host.hook = Ok(vec![("x-api-key".into(), "rotating-token-42".into())]);
    host.driver.start_run(json!("go"), RunOptions::default(), host.now).unwrap();
    host.settle();
    let mcp: Vec<&HttpRequest> = host.requests.iter().filter(|r| !r.url.ends_with("/responses")).collect();
    assert!(mcp.len() >= 3, "initialize, initialized, tools/list, tools/call");
    assert!(mcp.iter().all(|r| r.header("x-api-key") == Some("rotating-token-42")), "on every MCP request");
    let model: Vec<&HttpRequest> = host.requests.iter().filter(|r| r.url.ends_with("/responses")).collect();
    assert!(model.iter().all(|r| r.header("x-api-key").is_none()), "never to the model");
    let result = host.done.pop().unwrap().1.unwrap();
    assert_eq!(result.output_text, "echo says [redacted]", "the hook's value is a secret like a configured one");

    // A hook that fails fails that request, with only the kind of failure in the message.
    let mut failing = config(&["hr"]);
    failing.servers[0].headers_hook = true;
    let mut host = Host::new(failing, |_| unreachable!("the tools cannot be listed"));
    host.hook = Err("TypeError".into());
    host.driver.start_run(json!("go"), RunOptions::default(), host.now).unwrap();
    host.settle();
    // Like a dropped connection, it may heal (a token service that hiccups): tried again while time lasts.
    host.fire_timers();
    let error = host.done.pop().unwrap().1.unwrap_err().to_string();
    assert!(error.contains("the headers hook failed (TypeError)"), "{error}");
    assert!(host.requests.is_empty(), "nothing went out without its headers");
}

#[test]
fn runs_without_a_trace_id_get_one_from_the_host_entropy() {
    let ids = |entropy: u64| {
        let mut driver = Driver::new(config(&["hr"]), entropy).unwrap();
        let events: Vec<Option<String>> = (0..2)
            .map(|_| {
                driver.start_run(json!("go"), RunOptions::default(), 0).unwrap();
                std::iter::from_fn(|| match driver.poll_output() {
                    Output::Wait | Output::Idle => None,
                    output => Some(output),
                })
                .find_map(|o| match o {
                    Output::Event { event: Event::RunStarted { trace_id, .. }, .. } => Some(trace_id),
                    _ => None,
                })
                .unwrap()
            })
            .collect();
        events
    };
    let first = ids(1);
    let [Some(a), Some(b)] = first.as_slice() else { panic!("{first:?}") };
    for id in [a, b] {
        let hex = id.strip_prefix("mcp-loop-").unwrap();
        assert!(hex.len() == 32 && hex.bytes().all(|c| c.is_ascii_hexdigit()), "{id}");
    }
    assert_ne!(a, b, "each run its own");
    assert_eq!(ids(1), first, "the same entropy, the same ids: the core draws no randomness itself");
    assert_ne!(ids(2), first);
}

/// Every output until the driver waits.
fn drain(driver: &mut Driver) -> Vec<Output> {
    std::iter::from_fn(|| Some(driver.poll_output()))
        .take_while(|o| !matches!(o, Output::Wait | Output::Idle))
        .collect()
}

#[test]
fn a_single_model_request_goes_out_traced_and_comes_back_with_its_headers() {
    let mut driver = Driver::new(config(&[]), 1).unwrap();
    let fields = json!({"model": "gpt-test", "input": "hi"}).as_object().unwrap().clone();
    let request = ModelRequest { fields, tools: Arc::default() };
    let op = driver.call_model(&request, "trace-7", 2, 0).unwrap();
    let outs = drain(&mut driver);
    let [Output::Effect(Effect::Http { id, request: sent, .. }), Output::Effect(Effect::Timer { .. })] =
        outs.as_slice()
    else {
        panic!("{outs:?}")
    };
    assert_eq!(header(&sent.headers, "x-portkey-trace-id"), Some("trace-7"));
    assert_eq!(header(&sent.headers, "x-portkey-span-id"), Some("turn-2"));
    assert_eq!(serde_json::from_str::<Value>(sent.body.as_deref().unwrap()).unwrap()["input"], "hi");
    let head = [
        ("content-type".to_owned(), "application/json".to_owned()),
        ("x-portkey-cache-status".to_owned(), "MISS".to_owned()),
    ];
    driver.handle_http_head(*id, 200, &head, 1).unwrap();
    driver.handle_http_chunk(*id, response("resp_1", json!([])).to_string().as_bytes(), 1).unwrap();
    driver.handle_http_end(*id, 1).unwrap();
    let outs = drain(&mut driver);
    let [Output::Effect(Effect::Cancel { .. }), Output::OpDone { op: done, result: Ok(value) }] = outs.as_slice()
    else {
        panic!("{outs:?}")
    };
    assert_eq!(*done, op);
    assert_eq!(value["response"]["id"], "resp_1");
    assert_eq!(value["response"]["usage"]["total_tokens"], 15);
    assert_eq!(value["headers"], json!({"x-portkey-cache-status": "MISS"}));
    assert!(ModelResponse::from_value(value["response"].clone()).is_ok(), "what the tool loop reads");

    // Cancelled, and ended by close: each ends with an error, its HTTP request aborted.
    let cancelled = driver.call_model(&request, "", 1, 2).unwrap();
    let closed = driver.call_model(&request, "", 1, 2).unwrap();
    drain(&mut driver);
    assert_eq!(driver.cancel_op(cancelled, "the user gave up", 3), Ok(true));
    let outs = drain(&mut driver);
    assert!(outs.iter().any(|o| matches!(o, Output::Effect(Effect::Cancel { .. }))), "{outs:?}");
    let gave_up = |o: &Output| matches!(o, Output::OpDone { op, result: Err(e) } if *op == cancelled && e.to_string().contains("gave up"));
    assert!(outs.iter().any(gave_up), "{outs:?}");
    driver.close(4);
    let outs = drain(&mut driver);
    assert!(outs.iter().any(|o| matches!(o, Output::OpDone { op, result: Err(_) } if *op == closed)), "{outs:?}");
    assert!(matches!(driver.poll_output(), Output::Idle), "nothing left in flight");
}
