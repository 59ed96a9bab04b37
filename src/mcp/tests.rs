use super::*;
use crate::base::http::HttpRequest;
use crate::base::io::StdioOp;
use crate::base::limits::MAX_MESSAGE_BYTES;
use crate::wire::mcp::LATEST_HANDSHAKE_VERSION;
use serde_json::json;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const URL: &str = "http://10.1.2.3:8080/mcp?tenant=acme";
const TOKEN: &str = "Bearer s3cret-token";

fn config(protocol: Protocol) -> ConnectionConfig {
    ConnectionConfig {
        headers: vec![("authorization".into(), TOKEN.into())],
        timeout_ms: 1000,
        protocol,
        ..ConnectionConfig::new("intranet", URL)
    }
}

/// A handshake-era client whose application answers elicitations.
fn eliciting() -> McpClient {
    let config = config(Protocol::Handshake("2025-11-25".into()));
    McpClient::new(
        ConnectionConfig { capabilities: Capabilities { elicitation: true, ..Capabilities::default() }, ..config },
        Owner::Server(0),
    )
}

/// A handshake-era server process (`node`).
fn stdio_config() -> ConnectionConfig {
    ConnectionConfig {
        endpoint: Endpoint::Stdio { command: "node".into(), args: Vec::new(), env: Vec::new(), cwd: None },
        headers: Vec::new(),
        ..config(Protocol::Handshake("2025-11-25".into()))
    }
}

fn handshake() -> McpClient {
    McpClient::new(config(Protocol::Handshake("2025-11-25".into())), Owner::Server(0))
}

/// What the client asked the host to do, sorted by kind.
#[derive(Default, Debug)]
struct Effects {
    http: Vec<(EffectId, HttpRequest)>,
    stdio: Vec<(EffectId, StdioOp)>,
    timers: Vec<(EffectId, u64)>,
    cancels: Vec<EffectId>,
}

impl Effects {
    fn body(&self, i: usize) -> Value {
        serde_json::from_str(self.http[i].1.body.as_deref().unwrap()).unwrap()
    }
    fn key(&self, i: usize) -> EffectId {
        self.http[i].0
    }
    fn header(&self, i: usize, name: &str) -> Option<&str> {
        self.http[i].1.header(name)
    }
}

fn drain(c: &mut McpClient) -> Effects {
    let mut effects = Effects::default();
    // `poll_output` gives every effect before any event: the events stay for `events`.
    while let Some(effect) = c.io.effects.pop() {
        match effect {
            Effect::Http { id, request, server } => {
                assert_eq!(server.as_deref(), Some(c.name()), "HTTP effects name their server");
                effects.http.push((id, request))
            }
            Effect::Stdio { id, op } => effects.stdio.push((id, op)),
            Effect::Timer { id, at_ms } => effects.timers.push((id, at_ms)),
            Effect::Cancel { id } => effects.cancels.push(id),
        }
    }
    effects
}

fn events(c: &mut McpClient) -> Vec<McpEvent> {
    std::iter::from_fn(|| c.next_event()).collect()
}

/// Whether `evs` tell that operation `op` failed, with `text` in the error.
fn failed(evs: &[McpEvent], op: OpId, text: &str) -> bool {
    evs.iter().any(|e| matches!(e, McpEvent::Failed { op: o, error } if *o == op && error.contains(text)))
}

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Starts a listing as a fresh operation.
fn list(c: &mut McpClient, now: u64) -> OpId {
    let op = next_op();
    c.list_tools(op, false, now);
    op
}

/// Starts a tool call as a fresh operation.
fn call(c: &mut McpClient, name: &str, arguments: Value, progress: bool, now: u64) -> OpId {
    let op = next_op();
    c.call_tool(op, name, arguments, progress, now);
    op
}

fn next_op() -> OpId {
    static OPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    OpId { run: 1, id: EffectId::new(Owner::Loop, OPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) }
}

fn reply_json(c: &mut McpClient, key: EffectId, status: u16, value: &Value) {
    assert!(c.handle_http_head(key, status, &h(&[("content-type", "application/json")]), 0));
    c.handle_http_chunk(key, value.to_string().as_bytes(), 0);
    c.handle_http_end(key, 0);
}

fn reply_sse(c: &mut McpClient, key: EffectId, extra: &[(&str, &str)], events: &[Value]) {
    let mut headers = h(&[("content-type", "text/event-stream")]);
    headers.extend(h(extra));
    assert!(c.handle_http_head(key, 200, &headers, 0));
    let mut stream = String::from("id: 1\ndata: \n\n");
    for e in events {
        stream.push_str(&format!("event: message\ndata: {e}\n\n"));
    }
    // Once the request is answered the client lets go of the stream (the host then aborts it).
    for chunk in stream.as_bytes().chunks(7) {
        if !c.handle_http_chunk(key, chunk, 0) {
            return;
        }
    }
    c.handle_http_end(key, 0);
}

fn accept(c: &mut McpClient, key: EffectId) {
    assert!(c.handle_http_head(key, 202, &[], 0));
    c.handle_http_end(key, 0);
}

fn result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn init_result(version: &str, caps: Value) -> Value {
    json!({"protocolVersion": version, "capabilities": caps, "serverInfo": {"name": "demo", "version": "1"}})
}

/// Runs the handshake; returns what was waiting behind it (and the GET stream, if one was opened).
fn connect(c: &mut McpClient, version: &str, caps: Value) -> Effects {
    let init = drain(c);
    assert_eq!(init.body(0)["method"], "initialize");
    assert_eq!(init.header(0, "mcp-session-id"), None);
    let id = init.body(0)["id"].clone();
    reply_sse(c, init.key(0), &[("mcp-session-id", "sess-42")], &[result(&id, init_result(version, caps))]);
    let mut notice = drain(c);
    let get = notice.http.iter().position(|(_, r)| r.method == "GET").map(|i| notice.http.remove(i));
    assert_eq!(notice.http.len(), 1, "only the initialized notification goes out before it is accepted");
    assert_eq!(notice.body(0)["method"], "notifications/initialized");
    assert_eq!(notice.header(0, "mcp-session-id"), Some("sess-42"));
    accept(c, notice.key(0));
    let mut after = drain(c);
    after.http.extend(get);
    after
}

#[test]
fn handshake_then_every_page_of_tools() {
    let mut c = handshake();
    let op = list(&mut c, 0);
    let list = connect(&mut c, "2025-06-18", json!({"tools": {}}));
    assert!(matches!(events(&mut c).as_slice(), [McpEvent::Connected(info)] if info.protocol_version == "2025-06-18"));
    assert_eq!(list.header(0, "mcp-protocol-version"), Some("2025-06-18"));
    assert_eq!(list.header(0, "mcp-session-id"), Some("sess-42"));
    assert_eq!(list.header(0, "authorization"), Some(TOKEN));
    assert_eq!(list.header(0, "accept"), Some("application/json, text/event-stream"));
    assert_eq!(list.header(0, "mcp-method"), None, "no stateless headers in the handshake era");
    let first = list.body(0);
    assert_eq!(first["params"], json!({}));
    reply_json(&mut c, list.key(0), 200, &result(&first["id"], json!({"tools":[{"name":"a"}],"nextCursor":"p2"})));
    let page2 = drain(&mut c);
    assert_eq!(page2.body(0)["params"]["cursor"], "p2");
    let page = json!({"tools":[{"name":"b"},{"bad":1},{"name":"t","execution":{"taskSupport":"required"}}]});
    reply_sse(&mut c, page2.key(0), &[], &[result(&page2.body(0)["id"], page)]);
    let evs = events(&mut c);
    assert!(evs.iter().any(|e| matches!(e, McpEvent::Warning(w) if w.contains("malformed tool"))), "{evs:?}");
    let Some(McpEvent::Tools { op: got, tools, verbatim, ttl_ms: None }) = evs.last() else { panic!("{evs:?}") };
    assert_eq!(*got, op);
    // Every tool is listed (the agent's catalog hides task-only ones; a direct listing shows them).
    assert_eq!(tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["a", "b", "t"]);
    assert!(verbatim.is_empty(), "only a listing that asks keeps the entries as sent");
}

#[test]
fn a_page_that_repeats_one_name_a_hundred_thousand_times_is_cut_short_and_told_in_three_warnings() {
    let mut c = handshake();
    let op = list(&mut c, 0);
    let list = connect(&mut c, "2025-11-25", json!({"tools": {}}));
    let mut page = vec![json!({"name": "a"}), json!({"bad": 1}), json!({"bad": 2})];
    page.extend(std::iter::repeat_n(json!({"name": "a"}), 100_000));
    reply_json(&mut c, list.key(0), 200, &result(&list.body(0)["id"], json!({ "tools": page })));
    let evs = events(&mut c);
    let warnings: Vec<&String> =
        evs.iter().filter_map(|e| if let McpEvent::Warning(w) = e { Some(w) } else { None }).collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].contains("malformed"), "the first skipped entry is told: {warnings:?}");
    assert!(warnings[1].contains("after 20000 entries"), "past twice the tool cap the page is cut: {warnings:?}");
    assert!(warnings[2].contains("skipped 19998 more tools"), "the rest are counted: {warnings:?}");
    assert!(matches!(evs.last(), Some(McpEvent::Tools { op: got, tools, .. }) if *got == op && tools.len() == 1));
}

#[test]
fn a_verbatim_listing_keeps_every_entry_as_the_server_sent_it() {
    let mut c = handshake();
    let op = next_op();
    c.list_tools(op, true, 0);
    let list = connect(&mut c, "2025-11-25", json!({"tools": {}}));
    let page = json!([
        {"name":"a","inputSchema":{"type":"object"},"outputSchema":{"type":"object"},"_meta":{"x":1},"futureField":[1]},
        {"bad":1},
        {"name":"t","execution":{"taskSupport":"required"},"annotations":{"title":"T"}}
    ]);
    reply_json(&mut c, list.key(0), 200, &result(&list.body(0)["id"], json!({ "tools": page })));
    let evs = events(&mut c);
    let Some(McpEvent::Tools { op: got, tools, verbatim, .. }) = evs.last() else { panic!("{evs:?}") };
    assert_eq!((*got, tools.len()), (op, 2));
    assert_eq!(verbatim, &[page[0].clone(), page[2].clone()], "every field of each usable tool, unknown ones too");
}

#[test]
fn a_server_cannot_pile_up_questions_for_the_application() {
    let mut c = eliciting();
    let op = call(&mut c, "ask", json!({}), false, 0);
    let call = connect(&mut c, "2025-11-25", json!({}));
    let questions: Vec<Value> = (0..40)
        .map(|i| json!({"jsonrpc":"2.0","id": format!("q{i}"),"method":"elicitation/create","params":{"message":"?"}}))
        .collect();
    assert!(c.handle_http_head(call.key(0), 200, &h(&[("content-type", "text/event-stream")]), 0));
    let text: String = questions.iter().map(|q| format!("data: {q}\n\n")).collect();
    c.handle_http_chunk(call.key(0), text.as_bytes(), 0);
    let asked = events(&mut c).iter().filter(|e| matches!(e, McpEvent::InputRequest { .. })).count();
    assert_eq!(asked, 32, "the application is asked at most 32 questions at once");
    let refusals = drain(&mut c);
    let refused: Vec<Value> = (0..refusals.http.len()).map(|i| refusals.body(i)).collect();
    assert_eq!(refused.len(), 8, "{refused:?}");
    assert!(refused.iter().all(|r| r["error"]["message"].as_str().is_some_and(|m| m.contains("too many requests"))));
    let _ = op;
}

#[test]
fn operations_wait_for_the_handshake_and_calls_ask_for_progress() {
    let mut c = handshake();
    let a = call(&mut c, "x", json!({}), true, 0);
    let b = call(&mut c, "y", json!({"k": 1}), false, 0);
    let calls = connect(&mut c, "2025-11-25", json!({}));
    assert_eq!(calls.http.len(), 2);
    let (ba, bb) = (calls.body(0), calls.body(1));
    assert_eq!(ba["params"]["_meta"]["progressToken"], ba["id"], "the request id is its progress token");
    assert!(bb["params"].get("_meta").is_none());
    reply_json(&mut c, calls.key(1), 200, &result(&bb["id"], json!({"content":[]})));
    reply_json(
        &mut c,
        calls.key(0),
        200,
        &json!({"jsonrpc":"2.0","id":ba["id"],"error":{"code":-32602,"message":"Unknown tool: x"}}),
    );
    let evs = events(&mut c);
    assert!(evs.contains(&McpEvent::ToolResult { op: b, result: json!({"content":[]}) }));
    assert!(evs.contains(&McpEvent::Failed { op: a, error: "MCP error -32602: Unknown tool: x".into() }));
}

#[test]
fn progress_restarts_the_timeout_and_a_timeout_cancels_on_the_server() {
    let mut c = handshake();
    let op = call(&mut c, "slow", json!({}), true, 0);
    let call = connect(&mut c, "2025-11-25", json!({}));
    let timer = call.timers[0].0;
    let rpc = call.body(0)["id"].clone();
    assert!(c.handle_http_head(call.key(0), 200, &h(&[("content-type", "text/event-stream")]), 500));
    let progress = json!({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":rpc,"progress":1,"total":3,"message":"a third"}});
    c.handle_http_chunk(call.key(0), format!("data: {progress}\n\n").as_bytes(), 900);
    let rearmed = drain(&mut c);
    assert_eq!(rearmed.cancels, [timer], "the old timer goes");
    assert_eq!(rearmed.timers[0].1, 1900, "a new one runs from the progress");
    let evs = events(&mut c);
    assert!(evs.contains(&McpEvent::Progress { op, progress: 1.0, total: Some(3.0), message: Some("a third".into()) }));
    assert!(c.handle_timer(rearmed.timers[0].0, 1900));
    let after = drain(&mut c);
    assert!(after.cancels.contains(&call.key(0)), "the request is aborted");
    let cancelled = after.body(0);
    assert_eq!(cancelled["method"], "notifications/cancelled");
    assert_eq!(cancelled["params"]["requestId"], rpc);
    assert!(failed(&events(&mut c), op, "timed out after 1900 ms"), "the real wait, progress included");
}

#[test]
fn a_broken_stream_is_resumed_with_last_event_id_after_the_retry_delay() {
    let mut c = handshake();
    let op = call(&mut c, "x", json!({}), false, 0);
    let call = connect(&mut c, "2025-11-25", json!({}));
    let rpc = call.body(0)["id"].clone();
    assert!(c.handle_http_head(call.key(0), 200, &h(&[("content-type", "text/event-stream")]), 1000));
    c.handle_http_chunk(call.key(0), b"id: event-2\nretry: 500\ndata: \n\n", 1000);
    c.handle_http_end(call.key(0), 1050);
    let wait = drain(&mut c);
    assert_eq!(wait.timers.len(), 1);
    assert_eq!(wait.timers[0].1, 1550, "waits the server's retry: delay");
    assert!(c.handle_timer(wait.timers[0].0, 1550));
    let get = drain(&mut c);
    assert_eq!(get.http[0].1.method, "GET");
    assert_eq!(get.header(0, "last-event-id"), Some("event-2"));
    assert_eq!(get.header(0, "mcp-session-id"), Some("sess-42"));
    reply_sse(&mut c, get.key(0), &[], &[result(&rpc, json!({"content":[{"type":"text","text":"back"}]}))]);
    assert!(events(&mut c).iter().any(|e| matches!(e, McpEvent::ToolResult { op: o, .. } if *o == op)));
}

#[test]
fn credentials_a_result_or_log_repeats_are_redacted_but_addresses_stay() {
    let mut c = handshake();
    c.add_secrets(["Bearer rotated-token-7".to_owned()]);
    let op = call(&mut c, "whoami", json!({}), false, 0);
    let call = connect(&mut c, "2025-11-25", json!({}));
    let rpc = call.body(0)["id"].clone();
    let said = "you sent s3cret-token, then ROTATED-TOKEN-7, on session sess-42; see http://10.1.2.3:8080/docs";
    let log =
        json!({"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":{"auth": TOKEN}}});
    let answer = result(&rpc, json!({"content":[{"type":"text","text": said}],"isError":true}));
    reply_sse(&mut c, call.key(0), &[], &[log, answer]);
    let evs = events(&mut c);
    let text = evs.iter().find_map(|e| match e {
        McpEvent::ToolResult { op: o, result } if *o == op => result["content"][0]["text"].as_str(),
        _ => None,
    });
    assert_eq!(
        text,
        Some("you sent [redacted], then [redacted], on session [redacted]; see http://10.1.2.3:8080/docs"),
        "{evs:?}"
    );
    assert!(evs.iter().any(|e| matches!(e, McpEvent::Log { data, .. } if data["auth"] == "[redacted]")), "{evs:?}");
}

#[test]
fn a_session_id_that_never_arrived_is_named_when_the_server_refuses_what_follows() {
    let mut c = handshake();
    let op = list(&mut c, 0);
    let init = drain(&mut c);
    let id = init.body(0)["id"].clone();
    // A web page cannot read a header the server does not expose: to it, no session id came.
    reply_sse(&mut c, init.key(0), &[], &[result(&id, init_result("2025-11-25", json!({})))]);
    let notice = drain(&mut c);
    let refusal =
        json!({"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request: Server not initialized"}});
    reply_json(&mut c, notice.key(0), 400, &refusal);
    let evs = events(&mut c);
    let hint = "HTTP 400: Bad Request: Server not initialized (no Mcp-Session-Id reached this client: a server that \
        keeps sessions must send one, and to a web page also Access-Control-Expose-Headers: Mcp-Session-Id)";
    assert!(failed(&evs, op, hint), "{evs:?}");
}

#[test]
fn a_404_on_a_session_starts_a_new_session_and_retries_once() {
    let mut c = handshake();
    let op = call(&mut c, "x", json!({"k": 1}), false, 0);
    let call = connect(&mut c, "2025-11-25", json!({}));
    reply_json(
        &mut c,
        call.key(0),
        404,
        &json!({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Session not found"}}),
    );
    let evs = events(&mut c);
    assert!(evs.iter().any(|e| matches!(e, McpEvent::Warning(w) if w.contains("new session"))), "{evs:?}");
    let again = connect(&mut c, "2025-11-25", json!({}));
    assert_eq!(again.body(0)["params"], json!({"name":"x","arguments":{"k":1}}));
    reply_json(&mut c, again.key(0), 404, &json!({}));
    let evs = events(&mut c);
    assert!(failed(&evs, op, "HTTP 404"), "{evs:?}");
}

#[test]
fn a_server_that_forgets_every_session_ends_in_an_error_not_a_loop() {
    let mut c = handshake();
    let op = list(&mut c, 0);
    let mut handshakes = 0;
    loop {
        let init = drain(&mut c);
        let Some(0) = init.http.iter().position(|(_, r)| r.body.is_some()) else { break };
        if init.body(0)["method"] != "initialize" {
            break;
        }
        handshakes += 1;
        assert!(handshakes <= 10, "still starting sessions");
        let id = init.body(0)["id"].clone();
        reply_sse(
            &mut c,
            init.key(0),
            &[("mcp-session-id", "sess-42")],
            &[result(&id, init_result("2025-11-25", json!({})))],
        );
        let notice = drain(&mut c);
        assert_eq!(notice.body(0)["method"], "notifications/initialized");
        reply_json(&mut c, notice.key(0), 404, &json!({}));
    }
    assert_eq!(handshakes, 4, "the first session and three new ones");
    let evs = events(&mut c);
    assert!(failed(&evs, op, "forgot 4 sessions in a row"), "{evs:?}");
}

#[test]
fn a_resumption_that_finds_the_session_gone_fails_the_call_without_sending_it_again() {
    let mut c = handshake();
    let op = call(&mut c, "transfer", json!({}), false, 0);
    let call = connect(&mut c, "2025-11-25", json!({}));
    assert!(c.handle_http_head(call.key(0), 200, &h(&[("content-type", "text/event-stream")]), 0));
    c.handle_http_chunk(call.key(0), b"id: e1\ndata: \n\n", 0);
    c.handle_http_end(call.key(0), 0);
    let wait = drain(&mut c);
    assert!(c.handle_timer(wait.timers[0].0, 5000));
    let get = drain(&mut c);
    assert_eq!(get.header(0, "last-event-id"), Some("e1"));
    reply_json(&mut c, get.key(0), 404, &json!({}));
    // The server may already have run the call: it is reported lost, never sent again on a new session.
    let evs = events(&mut c);
    assert!(failed(&evs, op, ""), "{evs:?}");
    let after = drain(&mut c);
    assert!(after.http.is_empty(), "no new session, no second send: {after:?}");
}

#[test]
fn a_server_that_never_accepts_initialized_fails_the_connection_in_time() {
    let mut c = handshake();
    let op = list(&mut c, 0);
    let init = drain(&mut c);
    let id = init.body(0)["id"].clone();
    reply_json(&mut c, init.key(0), 200, &result(&id, init_result("2025-11-25", json!({}))));
    let notice = drain(&mut c);
    assert_eq!(notice.body(0)["method"], "notifications/initialized");
    let (timer, at) = notice.timers[0];
    assert_eq!(at, 1000, "bounded by the server's timeout");
    assert!(c.handle_timer(timer, at));
    let evs = events(&mut c);
    assert!(failed(&evs, op, "initialized"), "{evs:?}");
    let closing = drain(&mut c);
    assert!(closing.cancels.contains(&notice.key(0)), "the hanging notification is aborted: {closing:?}");
}

#[test]
fn elicitation_goes_to_the_application_and_defaults_fill_the_answer() {
    let mut c = eliciting();
    let op = call(&mut c, "ask", json!({}), false, 0);
    let init = drain(&mut c);
    assert_eq!(
        init.body(0)["params"]["capabilities"],
        json!({"elicitation": {"form": {}}}),
        "declared because the app handles it"
    );
    let id = init.body(0)["id"].clone();
    reply_json(&mut c, init.key(0), 200, &result(&id, init_result("2025-11-25", json!({}))));
    let notice = drain(&mut c);
    assert_eq!(notice.http[0].1.method, "GET", "a client that answers requests listens on the GET stream first");
    accept(&mut c, notice.key(1));
    let call = drain(&mut c);
    let schema = json!({"type":"object","properties":{"name":{"type":"string","default":"John Doe"},"age":{"type":"integer","default":30}}});
    let ask = json!({"jsonrpc":"2.0","id":"e1","method":"elicitation/create","params":{"message":"ok?","requestedSchema":schema}});
    assert!(c.handle_http_head(call.key(0), 200, &h(&[("content-type", "text/event-stream")]), 0));
    c.handle_http_chunk(call.key(0), format!("data: {ask}\n\n").as_bytes(), 0);
    let Some(McpEvent::InputRequest { id: input, op: None, method, .. }) = events(&mut c).pop() else { panic!() };
    assert_eq!(method, "elicitation/create");
    assert!(c.answer_input(input, Ok(json!({"action":"accept","content":{"age":41}})), 0));
    let answer = drain(&mut c);
    assert_eq!(
        answer.body(0),
        json!({"jsonrpc":"2.0","id":"e1","result":{"action":"accept","content":{"age":41,"name":"John Doe"}}})
    );
    assert!(!c.answer_input(input, Ok(json!({})), 0), "an input is answered once");
    let _ = op;
}

#[test]
fn server_requests_without_a_handler_are_refused() {
    let mut c = handshake();
    call(&mut c, "slow", json!({}), false, 0);
    let call = connect(&mut c, "2025-11-25", json!({}));
    reply_sse(
        &mut c,
        call.key(0),
        &[],
        &[
            json!({"jsonrpc":"2.0","id":"s1","method":"ping"}),
            json!({"jsonrpc":"2.0","id":"s2","method":"sampling/createMessage","params":{}}),
        ],
    );
    let replies = drain(&mut c);
    assert_eq!(replies.body(0), json!({"jsonrpc":"2.0","id":"s1","result":{}}));
    assert_eq!(replies.body(1)["error"]["code"], -32601);
}

// ---- the stateless revision ----

/// Discovery that finds the stateless revision; returns what was waiting.
fn discover(c: &mut McpClient, caps: Value) -> Effects {
    let probe = drain(c);
    let body = probe.body(0);
    assert_eq!(body["method"], "server/discover");
    assert_eq!(body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"], "2026-07-28");
    assert_eq!(probe.header(0, "mcp-protocol-version"), Some("2026-07-28"));
    assert_eq!(probe.header(0, "mcp-method"), Some("server/discover"));
    let found = json!({"resultType":"complete","supportedVersions":["2026-07-28"],"capabilities":caps,"ttlMs":0,"cacheScope":"private",
        "_meta":{"io.modelcontextprotocol/serverInfo":{"name":"py","version":"2.3"}}});
    reply_json(c, probe.key(0), 200, &result(&body["id"], found));
    drain(c)
}

#[test]
fn auto_finds_the_stateless_revision_and_speaks_it() {
    let mut c = McpClient::new(config(Protocol::Auto), Owner::Server(0));
    let op = list(&mut c, 0);
    let list = discover(&mut c, json!({"tools":{}}));
    assert!(matches!(events(&mut c).as_slice(), [McpEvent::Connected(info)] if info.protocol_version == "2026-07-28"));
    let body = list.body(0);
    assert_eq!(body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"], json!({}));
    assert_eq!(body["params"]["_meta"]["io.modelcontextprotocol/clientInfo"]["name"], "mcp-loop");
    assert_eq!(list.header(0, "mcp-method"), Some("tools/list"));
    assert_eq!(list.header(0, "mcp-session-id"), None);
    let tools = json!({"resultType":"complete","ttlMs":300000,"cacheScope":"private","tools":[
        {"name":"weather","inputSchema":{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"},"days":{"type":"integer"}}}},
        {"name":"broken","inputSchema":{"type":"object","properties":{"score":{"type":"number","x-mcp-header":"Score"}}}}]});
    reply_json(&mut c, list.key(0), 200, &result(&body["id"], tools));
    let evs = events(&mut c);
    assert!(evs.iter().any(|e| matches!(e, McpEvent::Warning(w) if w.contains("skipped 'broken'"))), "{evs:?}");
    assert!(evs.iter().any(
        |e| matches!(e, McpEvent::Tools { op: o, tools, ttl_ms: Some(300000), .. } if *o == op && tools.len() == 1)
    ));
    call(&mut c, "weather", json!({"region": "Zürich", "days": 3}), true, 0);
    let call = drain(&mut c);
    assert_eq!(call.header(0, "mcp-name"), Some("weather"));
    assert_eq!(call.header(0, "mcp-param-Region"), Some("=?base64?WsO8cmljaA==?="));
    assert_eq!(call.body(0)["params"]["_meta"]["progressToken"], call.body(0)["id"]);
    assert!(call.body(0)["params"]["_meta"].get("io.modelcontextprotocol/protocolVersion").is_some());
}

#[test]
fn auto_falls_back_to_the_handshake_when_discovery_is_refused() {
    let mut c = McpClient::new(config(Protocol::Auto), Owner::Server(0));
    list(&mut c, 0);
    let probe = drain(&mut c);
    reply_json(
        &mut c,
        probe.key(0),
        400,
        &json!({"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request: No valid session ID provided"}}),
    );
    let init = drain(&mut c);
    assert_eq!(init.body(0)["method"], "initialize");
    assert_eq!(init.header(0, "mcp-protocol-version"), None, "the handshake request carries no version header");
    assert_eq!(init.header(0, "mcp-method"), None);
    assert!(init.body(0)["params"].get("_meta").is_none());
}

#[test]
fn an_unsupported_version_answer_that_lists_ours_is_met_by_sending_again() {
    let mut c = McpClient::new(config(Protocol::Stateless), Owner::Server(0));
    list(&mut c, 0);
    let probe = drain(&mut c);
    let refusal = json!({"jsonrpc":"2.0","id":probe.body(0)["id"],"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"x"}}});
    reply_json(&mut c, probe.key(0), 400, &refusal);
    let again = drain(&mut c);
    assert_eq!(again.body(0)["method"], "server/discover");
    assert_ne!(again.body(0)["id"], probe.body(0)["id"], "a new id");
}

#[test]
fn input_required_asks_the_application_and_calls_again_with_the_state() {
    let mut c = McpClient::new(
        ConnectionConfig {
            capabilities: Capabilities { elicitation: true, ..Capabilities::default() },
            ..config(Protocol::Stateless)
        },
        Owner::Server(0),
    );
    let op = call(&mut c, "confirm", json!({"x": 1}), false, 0);
    let call = discover(&mut c, json!({"tools":{}}));
    events(&mut c);
    let first = call.body(0);
    assert!(first["params"].get("inputResponses").is_none() && first["params"].get("requestState").is_none());
    let needs = json!({"resultType":"input_required","requestState":"{\"nonce\":7}",
        "inputRequests":{"confirm":{"method":"elicitation/create","params":{"message":"sure?","requestedSchema":{"type":"object","properties":{"confirmed":{"type":"boolean"}}}}}}});
    reply_json(&mut c, call.key(0), 200, &result(&first["id"], needs));
    let Some(McpEvent::InputRequest { id, op: Some(o), .. }) = events(&mut c).pop() else { panic!() };
    assert_eq!(o, op);
    c.answer_input(id, Ok(json!({"action":"accept","content":{"confirmed":true}})), 0);
    let retry = drain(&mut c);
    let body = retry.body(0);
    assert_ne!(body["id"], first["id"]);
    assert_eq!(body["params"]["requestState"], "{\"nonce\":7}", "echoed exactly");
    assert_eq!(body["params"]["inputResponses"], json!({"confirm":{"action":"accept","content":{"confirmed":true}}}));
    assert_eq!(body["params"]["arguments"], json!({"x": 1}));
    // Without a requestState none is sent back.
    reply_json(
        &mut c,
        retry.key(0),
        200,
        &result(
            &body["id"],
            json!({"resultType":"input_required","inputRequests":{"again":{"method":"elicitation/create","params":{}}}}),
        ),
    );
    let Some(McpEvent::InputRequest { id, .. }) = events(&mut c).pop() else { panic!() };
    c.answer_input(id, Ok(json!({"action":"decline"})), 0);
    let third = drain(&mut c);
    assert!(third.body(0)["params"].get("requestState").is_none());
    reply_json(&mut c, third.key(0), 200, &result(&third.body(0)["id"], json!({"content":[],"resultType":"complete"})));
    assert!(events(&mut c).iter().any(|e| matches!(e, McpEvent::ToolResult { op: o, .. } if *o == op)));
}

#[test]
fn input_required_for_an_undeclared_capability_fails_the_call_cleanly() {
    let mut c = McpClient::new(config(Protocol::Stateless), Owner::Server(0));
    let op = call(&mut c, "needs", json!({}), false, 0);
    let call = discover(&mut c, json!({}));
    let needs =
        json!({"resultType":"input_required","inputRequests":{"k":{"method":"sampling/createMessage","params":{}}}});
    reply_json(&mut c, call.key(0), 200, &result(&call.body(0)["id"], needs));
    assert!(failed(&events(&mut c), op, "does not offer"));
}

// ---- other transports ----

#[test]
fn a_server_refusing_the_handshake_post_is_tried_as_legacy_sse() {
    let mut c = handshake();
    let op = list(&mut c, 0);
    let init = drain(&mut c);
    reply_json(&mut c, init.key(0), 405, &json!({}));
    let get = drain(&mut c);
    assert_eq!((get.http[0].1.method.as_str(), get.header(0, "accept")), ("GET", Some("text/event-stream")));
    assert!(c.handle_http_head(get.key(0), 200, &h(&[("content-type", "text/event-stream")]), 0));
    c.handle_http_chunk(get.key(0), b"event: endpoint\ndata: /messages?sessionId=abc\n\n", 0);
    let post = drain(&mut c);
    assert_eq!(post.http[0].1.url, "http://10.1.2.3:8080/messages?sessionId=abc");
    assert_eq!(post.body(0)["method"], "initialize");
    accept(&mut c, post.key(0));
    let id = post.body(0)["id"].clone();
    let answer = result(&id, init_result("2024-11-05", json!({})));
    c.handle_http_chunk(get.key(0), format!("event: message\ndata: {answer}\n\n").as_bytes(), 0);
    let notice = drain(&mut c);
    assert_eq!(notice.body(0)["method"], "notifications/initialized");
    assert_eq!(notice.header(0, "mcp-protocol-version"), Some("2024-11-05"));
    accept(&mut c, notice.key(0));
    let list = drain(&mut c);
    let reply = result(&list.body(0)["id"], json!({"tools":[{"name":"old"}]}));
    c.handle_http_chunk(get.key(0), format!("data: {reply}\n\n").as_bytes(), 0);
    assert!(
        events(&mut c)
            .iter()
            .any(|e| matches!(e, McpEvent::Tools { op: o, tools, .. } if *o == op && tools[0].name == "old"))
    );
}

#[test]
fn a_legacy_endpoint_on_another_origin_is_refused() {
    let mut c = McpClient::new(
        ConnectionConfig {
            endpoint: Endpoint::Http { url: URL.into(), transport: HttpTransport::Sse },
            ..config(Protocol::Auto)
        },
        Owner::Server(0),
    );
    let op = list(&mut c, 0);
    let get = drain(&mut c);
    assert!(c.handle_http_head(get.key(0), 200, &h(&[("content-type", "text/event-stream")]), 0));
    c.handle_http_chunk(get.key(0), b"event: endpoint\ndata: http://evil.example/steal\n\n", 0);
    assert!(drain(&mut c).http.is_empty(), "nothing is posted there");
    assert!(failed(&events(&mut c), op, "another origin"));
}

#[test]
fn stdio_spawns_writes_lines_and_reports_a_dead_process() {
    let mut c = McpClient::new(
        ConnectionConfig {
            endpoint: Endpoint::Stdio {
                command: "node".into(),
                args: vec!["server.js".into()],
                env: vec![("API_TOKEN".into(), "t0ps3cret".into())],
                cwd: None,
            },
            headers: Vec::new(),
            ..config(Protocol::Handshake("2025-11-25".into()))
        },
        Owner::Server(0),
    );
    let op = list(&mut c, 0);
    let start = drain(&mut c);
    let (key, StdioOp::Spawn { command, env, .. }) = &start.stdio[0] else { panic!("{start:?}") };
    assert_eq!((command.as_str(), env.len()), ("node", 1));
    let StdioOp::Write { line } = &start.stdio[1].1 else { panic!() };
    assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
    let init: Value = serde_json::from_str(line.trim()).unwrap();
    let answer = result(&init["id"], init_result("2025-11-25", json!({})));
    // The answer arrives in two pieces, with a log line on stderr.
    let text = format!("{answer}\n");
    c.handle_stdio_stdout(*key, &text.as_bytes()[..10], 0);
    c.handle_stdio_stderr(*key, b"listening; token t0ps3cret\n", 0);
    c.handle_stdio_stdout(*key, &text.as_bytes()[10..], 0);
    let next = drain(&mut c);
    let lines: Vec<&str> = next
        .stdio
        .iter()
        .filter_map(|(_, op)| if let StdioOp::Write { line } = op { Some(line.as_str()) } else { None })
        .collect();
    assert!(lines[0].contains("notifications/initialized") && lines[1].contains("tools/list"), "{lines:?}");
    let evs = events(&mut c);
    assert!(evs.iter().any(|e| matches!(e, McpEvent::Log { level, data, .. } if level == "stderr" && data == "listening; token [redacted]")), "{evs:?}");
    assert!(c.handle_stdio_exit(*key, "exited with code 1", 0));
    assert!(failed(&events(&mut c), op, "the server process exited with code 1"));
    // The next operation starts the process again.
    list(&mut c, 0);
    assert!(matches!(drain(&mut c).stdio[0].1, StdioOp::Spawn { .. }));
}

#[test]
fn a_failed_stdio_handshake_ends_the_process_before_starting_another() {
    let mut c = McpClient::new(stdio_config(), Owner::Server(0));
    let op = list(&mut c, 0);
    let start = drain(&mut c);
    let key = start.stdio[0].0;
    let StdioOp::Write { line } = &start.stdio[1].1 else { panic!() };
    let init: Value = serde_json::from_str(line.trim()).unwrap();
    let refusal = json!({"jsonrpc": "2.0", "id": init["id"], "error": {"code": -32603, "message": "broken"}});
    c.handle_stdio_stdout(key, format!("{refusal}\n").as_bytes(), 0);
    assert!(failed(&events(&mut c), op, ""));
    assert!(
        drain(&mut c).stdio.iter().any(|(k, op)| *k == key && matches!(op, StdioOp::Close)),
        "the old process is ended"
    );
    list(&mut c, 0);
    let again = drain(&mut c);
    assert!(matches!(again.stdio[0], (k, StdioOp::Spawn { .. }) if k != key));
}

#[test]
fn a_closed_server_process_gets_its_stdin_closed_then_term_then_kill_and_is_forgotten_at_its_exit() {
    let stdio = |c: &mut McpClient| {
        let op = list(c, 0);
        let process = drain(c).stdio[0].0;
        (op, process)
    };
    let config = stdio_config();
    // A server that ignores its stdin closing: TERM after the grace period, KILL after another.
    let mut c = McpClient::new(config.clone(), Owner::Server(0));
    let (_, process) = stdio(&mut c);
    c.close(100);
    let closed = drain(&mut c);
    assert!(matches!(closed.stdio[..], [(p, StdioOp::Close)] if p == process));
    let [(grace, at)] = closed.timers[..] else { panic!("{closed:?}") };
    assert_eq!(at, 2_100);
    assert!(c.handle_timer(grace, 2_100));
    let termed = drain(&mut c);
    assert!(matches!(termed.stdio[..], [(p, StdioOp::Terminate)] if p == process), "TERM first: {termed:?}");
    let [(grace, at)] = termed.timers[..] else { panic!("{termed:?}") };
    assert_eq!(at, 4_100);
    assert!(c.handle_timer(grace, 4_100));
    let killed = drain(&mut c);
    assert!(matches!(killed.stdio[..], [(p, StdioOp::Kill)] if p == process) && killed.timers.is_empty());
    assert!(c.handle_stdio_exit(process, "was killed by SIGKILL", 4_200), "the exit of a closing process is ours");
    assert!(drain(&mut c).stdio.is_empty());

    // A server that exits at once: no signal, its timer cancelled. Also for a process a failed connection closed.
    let mut c = McpClient::new(config, Owner::Server(0));
    let (op, process) = stdio(&mut c);
    assert!(c.handle_stdio_stdout(
        process,
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-1,\"message\":\"no\"}}\n",
        5
    ));
    assert!(failed(&events(&mut c), op, "initialize was refused"));
    let closed = drain(&mut c);
    let [(grace, _)] = closed.timers[..] else { panic!("{closed:?}") };
    assert!(c.handle_stdio_exit(process, "exited with code 0", 10));
    let after = drain(&mut c);
    assert_eq!((after.cancels, after.stdio.len()), (vec![grace], 0), "the grace timer is cleared, nothing sent");
    assert!(!c.handle_timer(grace, 2_010), "a cleared timer is nobody's");
}

// ---- bad input, secrets, closing ----

#[test]
fn http_errors_name_the_status_and_never_the_secrets() {
    let mut c = handshake();
    let op = call(&mut c, "x", json!({}), false, 0);
    let call = connect(&mut c, "2025-11-25", json!({}));
    let leak = json!({"jsonrpc":"2.0","error":{"code":-32603,"message":format!("backend {URL} rejected s3cret-token for SESS-42 (connect 10.1.2.3:8080)")}});
    reply_json(&mut c, call.key(0), 500, &leak);
    match events(&mut c).pop() {
        Some(McpEvent::Failed { op: o, error }) => {
            assert_eq!(o, op);
            assert!(error.starts_with("HTTP 500: backend [redacted] rejected"), "{error}");
            for secret in ["10.1.2.3", "s3cret", "sess-42", "SESS-42"] {
                assert!(!error.contains(secret), "{error}");
            }
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_and_stray_messages_leave_the_client_usable() {
    let mut c = handshake();
    let a = call(&mut c, "x", json!({}), false, 0);
    let b = call(&mut c, "y", json!({}), false, 0);
    let calls = connect(&mut c, "2025-11-25", json!({}));
    // A body that is not JSON, and a response with an id nobody asked for.
    assert!(c.handle_http_head(calls.key(0), 200, &h(&[("content-type", "application/json")]), 0));
    c.handle_http_chunk(calls.key(0), b"{not json", 0);
    c.handle_http_end(calls.key(0), 0);
    reply_json(&mut c, calls.key(1), 200, &result(&json!(999), json!({})));
    let evs = events(&mut c);
    assert!(evs.iter().any(|e| matches!(e, McpEvent::Failed { op, .. } if *op == a)), "{evs:?}");
    assert!(
        evs.iter().any(|e| matches!(e, McpEvent::Failed { op, error } if *op == b && error.contains("did not answer"))),
        "{evs:?}"
    );
    assert!(evs.iter().any(|e| matches!(e, McpEvent::Warning(w) if w.contains("unknown id 999"))));
    let c2 = call(&mut c, "z", json!({}), false, 0);
    let third = drain(&mut c);
    reply_json(&mut c, third.key(0), 200, &result(&third.body(0)["id"], json!({"content":[]})));
    assert!(events(&mut c).iter().any(|e| matches!(e, McpEvent::ToolResult { op, .. } if *op == c2)), "still usable");
}

#[test]
fn an_oversized_message_is_refused() {
    let mut c = handshake();
    let op = call(&mut c, "x", json!({}), false, 0);
    let call = connect(&mut c, "2025-11-25", json!({}));
    assert!(c.handle_http_head(call.key(0), 200, &h(&[("content-type", "application/json")]), 0));
    let big = vec![b' '; MAX_MESSAGE_BYTES + 1];
    c.handle_http_chunk(call.key(0), &big, 0);
    assert!(drain(&mut c).cancels.contains(&call.key(0)));
    assert!(failed(&events(&mut c), op, "exceeded"));
}

#[test]
fn close_deletes_the_session_and_fails_what_is_pending() {
    let mut c = handshake();
    list(&mut c, 0);
    let list = connect(&mut c, "2025-11-25", json!({}));
    let op = call(&mut c, "later", json!({}), false, 0);
    let _ = drain(&mut c);
    c.close(0);
    let closing = drain(&mut c);
    assert!(closing.cancels.contains(&list.key(0)));
    assert!(closing.http.iter().any(|(_, r)| r.method == "DELETE" && r.header("mcp-session-id") == Some("sess-42")));
    assert!(failed(&events(&mut c), op, ""));
    let after = call(&mut c, "x", json!({}), false, 0);
    assert!(
        matches!(events(&mut c).pop(), Some(McpEvent::Failed { op, error }) if op == after && error.contains("closed"))
    );
}

#[test]
fn the_get_stream_opens_when_tools_can_change_and_405_is_fine() {
    let mut c = handshake();
    list(&mut c, 0);
    let after = connect(&mut c, "2025-11-25", json!({"tools": {"listChanged": true}}));
    let get = after.http.iter().position(|(_, r)| r.method == "GET").expect("a GET stream");
    reply_json(&mut c, after.key(get), 405, &json!({}));
    assert!(drain(&mut c).timers.is_empty(), "no retrying a 405");
    assert!(!events(&mut c).iter().any(|e| matches!(e, McpEvent::Warning(_))), "405 is not worth a warning");
}

#[test]
fn validates_configuration() {
    let read = |v: Value| ConnectionConfig::from_json(&v, "servers[0]").and_then(|c| c.validate().map(|_| c));
    assert!(read(json!({"name":"s","url":"ftp://x"})).unwrap_err().contains("http"));
    assert!(
        read(json!({"name":"s","url":"http://x","headers":{"Mcp-Session-Id":"x"}}))
            .unwrap_err()
            .contains("set by the protocol")
    );
    assert!(read(json!({"name":"s"})).unwrap_err().contains("url (HTTP) or a command"));
    assert!(read(json!({"name":"s","url":"http://x","protocol":"1999"})).unwrap_err().contains("1999"));
    assert!(read(json!({"name":"s","command":"x","headers":{"a":"b"}})).unwrap_err().contains("env instead"));
    let ok =
        read(json!({"name":"s","command":"npx","args":["-y","srv"],"env":{"K":"v"},"protocol":"2025-06-18"})).unwrap();
    assert_eq!(ok.protocol, Protocol::Handshake("2025-06-18".into()));
    assert!(matches!(ok.endpoint, Endpoint::Stdio { ref args, .. } if args.len() == 2));
    let handshake = read(json!({"name":"s","url":"http://x","protocol":"handshake"})).unwrap();
    assert_eq!(handshake.protocol, Protocol::Handshake(LATEST_HANDSHAKE_VERSION.into()), "the handshake, no probe");
}

#[test]
fn a_server_that_never_answers_fails_the_operation_after_one_timeout_probe_included() {
    let mut c = McpClient::new(config(Protocol::Auto), Owner::Server(0));
    let op = list(&mut c, 0);
    let probe = drain(&mut c);
    assert_eq!(probe.body(0)["method"], "server/discover");
    assert_eq!(probe.timers, [(probe.timers[0].0, 500)], "the probe gets half of the connection's time");
    assert!(c.handle_timer(probe.timers[0].0, 500));
    let init = drain(&mut c);
    assert_eq!(init.body(0)["method"], "initialize");
    assert_eq!(init.timers, [(init.timers[0].0, 1000)], "the handshake gets the rest, not a timeout of its own");
    assert!(c.handle_timer(init.timers[0].0, 1000));
    assert!(failed(&events(&mut c), op, "could not connect: request failed: timed out after 1000 ms"));
}

#[test]
fn connecting_tries_again_after_failures_that_may_heal_and_says_how_many_failed() {
    let mut c = handshake();
    let op = list(&mut c, 0);
    let mut now = 0;
    for attempt in 0..2 {
        let init = drain(&mut c);
        assert_eq!(init.body(0)["method"], "initialize", "attempt {attempt}");
        if attempt == 0 {
            reply_json(&mut c, init.key(0), 503, &json!({"error": "warming up"}));
        } else {
            c.handle_http_error(init.key(0), "connection reset", false, now);
        }
        let retry = drain(&mut c);
        let (timer, at) = retry.timers[0];
        let backoff = at - now;
        assert!((250..=500).contains(&backoff) || (500..=1000).contains(&backoff), "a jittered backoff: {backoff}");
        assert!(events(&mut c).iter().any(|e| matches!(e, McpEvent::Warning(w) if w.contains("trying again"))));
        now = at;
        assert!(c.handle_timer(timer, now));
    }
    let page = connect(&mut c, "2025-11-25", json!({"tools": {}}));
    reply_json(&mut c, page.key(0), 200, &result(&page.body(0)["id"], json!({"tools": [{"name": "a"}]})));
    assert!(matches!(events(&mut c).last(), Some(McpEvent::Tools { op: o, .. }) if *o == op));

    // A failure that will not heal fails at once; one that may heal fails once the time is spent, and says so.
    let mut c = handshake();
    let op = list(&mut c, 0);
    let init = drain(&mut c).key(0);
    reply_json(&mut c, init, 401, &json!({}));
    assert!(failed(&events(&mut c), op, "requires authorization"));
    assert!(drain(&mut c).timers.is_empty(), "no retry");
    let mut c = handshake();
    let op = list(&mut c, 0);
    let init = drain(&mut c).key(0);
    c.handle_http_error(init, "the server's certificate is not trusted", true, 1);
    assert!(failed(&events(&mut c), op, "could not connect: request failed: the server's certificate is not trusted"));
    assert!(drain(&mut c).timers.is_empty(), "a lasting transport failure: no retry");
    let mut c = handshake();
    list(&mut c, 0);
    let error = loop {
        let init = drain(&mut c);
        reply_json(&mut c, init.key(0), 503, &json!({}));
        let failure = events(&mut c).into_iter().find(|e| matches!(e, McpEvent::Failed { .. }));
        if let Some(McpEvent::Failed { error, .. }) = failure {
            break error;
        }
        let (timer, at) = drain(&mut c).timers[0];
        assert!(at < 1000, "every attempt within the server's timeout: {at}");
        assert!(c.handle_timer(timer, at));
    };
    assert!(error.starts_with("could not connect: HTTP 503") && error.contains("attempts failed in"), "{error}");
}

#[test]
fn a_listing_that_fails_in_a_way_that_may_heal_is_sent_again() {
    let mut c = handshake();
    let op = list(&mut c, 0);
    let list = connect(&mut c, "2025-11-25", json!({"tools": {}}));
    c.handle_http_error(list.key(0), "connection reset", false, 10);
    let (timer, at) = drain(&mut c).timers[0];
    assert!(c.handle_timer(timer, at));
    let again = drain(&mut c);
    assert_eq!(again.body(0)["method"], "tools/list");
    reply_json(&mut c, again.key(0), 200, &result(&again.body(0)["id"], json!({"tools": [{"name": "a"}]})));
    assert!(matches!(events(&mut c).last(), Some(McpEvent::Tools { op: o, .. }) if *o == op));
}

#[test]
fn a_stdio_answer_too_big_to_read_fails_its_call_at_once_whichever_end_its_id_is_at() {
    let mut c = McpClient::new(stdio_config(), Owner::Server(0));
    let line = |effects: &Effects, i: usize| -> Value {
        let StdioOp::Write { line } = &effects.stdio[i].1 else { panic!("{effects:?}") };
        serde_json::from_str(line.trim()).unwrap()
    };
    let first = call(&mut c, "big", json!({}), false, 0);
    let start = drain(&mut c);
    let process = start.stdio[0].0;
    let init = line(&start, 1);
    let answer = result(&init["id"], init_result("2025-11-25", json!({"tools": {}})));
    c.handle_stdio_stdout(process, format!("{answer}\n").as_bytes(), 0);
    let sent = drain(&mut c);
    let rpc = line(&sent, sent.stdio.len() - 1)["id"].as_i64().unwrap();
    let second = call(&mut c, "big", json!({}), false, 0);
    let sent = drain(&mut c);
    let rpc2 = line(&sent, 0)["id"].as_i64().unwrap();
    let filler = "x".repeat(64 * 1024);
    // The Python SDK's order: the id first. The call fails as the answer goes over the limit.
    c.handle_stdio_stdout(process, format!("{{\"jsonrpc\":\"2.0\",\"id\":{rpc},\"result\":{{\"t\":\"").as_bytes(), 0);
    for _ in 0..=MAX_MESSAGE_BYTES / filler.len() {
        c.handle_stdio_stdout(process, filler.as_bytes(), 0);
    }
    assert!(failed(&events(&mut c), first, "answer was over"), "before the line even ends");
    c.handle_stdio_stdout(process, b"\"}}\n", 0);
    // The TypeScript SDK's order: the id last. The call fails when the line ends.
    c.handle_stdio_stdout(process, b"{\"result\":{\"t\":\"", 0);
    for _ in 0..=MAX_MESSAGE_BYTES / filler.len() {
        c.handle_stdio_stdout(process, filler.as_bytes(), 0);
    }
    assert!(events(&mut c).is_empty());
    c.handle_stdio_stdout(process, format!("\"}}}},\"jsonrpc\":\"2.0\",\"id\":{rpc2}}}\n").as_bytes(), 0);
    assert!(failed(&events(&mut c), second, "answer was over"));
}

#[test]
fn a_request_refused_for_want_of_authorization_waits_for_it_and_goes_out_again_with_the_token() {
    let mut c = handshake();
    c.enable_authorization();
    let op = list(&mut c, 0);
    let init = drain(&mut c);
    assert_eq!(init.body(0)["method"], "initialize");
    let challenge = r#"Bearer error="invalid_token", resource_metadata="http://10.1.2.3:8080/.well-known/oauth-protected-resource/mcp""#;
    assert!(c.handle_http_head(init.key(0), 401, &h(&[("www-authenticate", challenge)]), 0));
    c.handle_http_end(init.key(0), 0);
    let evs = events(&mut c);
    assert!(
        evs.iter()
            .any(|e| matches!(e, McpEvent::AuthChallenge { status: 401, challenge: values } if values == &[challenge])),
        "{evs:?}"
    );
    assert!(!evs.iter().any(|e| matches!(e, McpEvent::Failed { .. })), "nothing fails while it authorizes");
    // The token arrives: the handshake goes out again with it.
    c.authorized("tok-abc123secret".into(), 5);
    let again = drain(&mut c);
    assert_eq!(again.body(0)["method"], "initialize");
    assert_eq!(again.header(0, "authorization"), Some("Bearer tok-abc123secret"));

    // Without authorization enabled, a 401 fails as before; a failed authorization fails the waiting work.
    let mut plain = handshake();
    let op2 = list(&mut plain, 0);
    let init = drain(&mut plain);
    reply_json(&mut plain, init.key(0), 401, &json!({}));
    assert!(failed(&events(&mut plain), op2, "requires authorization"));
    let mut c = handshake();
    c.enable_authorization();
    let op3 = list(&mut c, 0);
    let init = drain(&mut c);
    reply_json(&mut c, init.key(0), 401, &json!({}));
    c.authorization_failed("the authorization was refused (access_denied)", 0);
    assert!(failed(&events(&mut c), op3, "authorization failed: the authorization was refused (access_denied)"));
    let _ = op;
}
