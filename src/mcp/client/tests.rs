use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const URL: &str = "http://10.1.2.3:8080/mcp?tenant=acme";
const TOKEN: &str = "Bearer s3cret-token";

fn client() -> McpClient {
    McpClient::new(ServerConfig {
        name: "intranet".into(),
        url: URL.into(),
        headers: vec![("authorization".into(), TOKEN.into())],
        timeout_ms: 1000,
    })
}

fn sent(c: &mut McpClient) -> Vec<Transmit> {
    std::iter::from_fn(|| c.poll_transmit()).collect()
}

fn events(c: &mut McpClient) -> Vec<McpEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn body(t: &Transmit) -> Value {
    serde_json::from_str(t.request.body.as_deref().unwrap()).unwrap()
}

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn reply_json(c: &mut McpClient, key: u64, value: Value) {
    assert!(c.handle_head(key, 200, &h(&[("content-type", "application/json")])));
    assert!(c.handle_chunk(key, value.to_string().as_bytes()));
    assert!(c.handle_end(key));
}

fn reply_sse(c: &mut McpClient, key: u64, extra: &[(&str, &str)], events: &[Value]) {
    let mut headers = h(&[("content-type", "text/event-stream")]);
    headers.extend(h(extra));
    assert!(c.handle_head(key, 200, &headers));
    let mut stream = String::from("id: 1\ndata: \n\n");
    for e in events {
        stream.push_str(&format!("event: message\ndata: {e}\n\n"));
    }
    // Once the request is answered the client lets go of the stream (the host then aborts it).
    for chunk in stream.as_bytes().chunks(7) {
        if !c.handle_chunk(key, chunk) {
            return;
        }
    }
    c.handle_end(key);
}

fn accept(c: &mut McpClient, key: u64) {
    assert!(c.handle_head(key, 202, &[]));
    assert!(c.handle_end(key));
}

fn init_result(version: &str) -> Value {
    json!({"protocolVersion": version, "capabilities": {"tools": {}}, "serverInfo": {"name": "demo", "version": "1"}})
}

/// Runs the handshake; returns the transmits that were waiting behind it.
fn connect(c: &mut McpClient, version: &str) -> Vec<Transmit> {
    let init = sent(c);
    assert_eq!(init.len(), 1);
    let rpc = body(&init[0]);
    assert_eq!(rpc["method"], "initialize");
    assert_eq!(rpc["params"]["protocolVersion"], LATEST_HANDSHAKE_VERSION);
    assert_eq!(init[0].request.header("mcp-session-id"), None);
    let id = rpc["id"].clone();
    reply_sse(
        c,
        init[0].key,
        &[("mcp-session-id", "sess-42")],
        &[json!({"jsonrpc":"2.0","id":id,"result":init_result(version)})],
    );
    let notice = sent(c);
    assert_eq!(notice.len(), 1, "only the initialized notification goes out before it is accepted");
    assert_eq!(body(&notice[0])["method"], "notifications/initialized");
    assert_eq!(notice[0].request.header("mcp-session-id"), Some("sess-42"));
    accept(c, notice[0].key);
    sent(c)
}

#[test]
fn handshake_then_every_page_of_tools() {
    let mut c = client();
    let op = c.list_tools();
    let list = connect(&mut c, "2025-06-18");
    assert!(matches!(events(&mut c).as_slice(), [McpEvent::Connected(info)] if info.protocol_version == "2025-06-18"));
    assert_eq!(list.len(), 1);
    let t = &list[0].request;
    assert_eq!(t.header("mcp-protocol-version"), Some("2025-06-18"));
    assert_eq!(t.header("mcp-session-id"), Some("sess-42"));
    assert_eq!(t.header("authorization"), Some(TOKEN));
    assert_eq!(t.header("accept"), Some("application/json, text/event-stream"));
    let first = body(&list[0]);
    assert_eq!(first["method"], "tools/list");
    assert!(first.get("params").is_none());
    reply_json(
        &mut c,
        list[0].key,
        json!({"jsonrpc":"2.0","id":first["id"],"result":{"tools":[{"name":"a"}],"nextCursor":"p2"}}),
    );
    let page2 = sent(&mut c);
    let second = body(&page2[0]);
    assert_eq!(second["params"]["cursor"], "p2");
    reply_sse(
        &mut c,
        page2[0].key,
        &[],
        &[json!({"jsonrpc":"2.0","id":second["id"],"result":{"tools":[{"name":"b"},{"bad":1}]}})],
    );
    let evs = events(&mut c);
    assert!(matches!(&evs[0], McpEvent::Warning(w) if w.contains("malformed tool")), "{evs:?}");
    match &evs[1] {
        McpEvent::Tools { op: got, tools } => {
            assert_eq!(*got, op);
            assert_eq!(tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn operations_wait_for_the_handshake_and_then_go_out_together() {
    let mut c = client();
    let a = c.call_tool("x", json!({}));
    let b = c.call_tool("y", json!({"k": 1}));
    let calls = connect(&mut c, "2025-11-25");
    assert_eq!(calls.len(), 2);
    let (ba, bb) = (body(&calls[0]), body(&calls[1]));
    assert_eq!(ba["params"], json!({"name":"x","arguments":{}}));
    reply_json(&mut c, calls[1].key, json!({"jsonrpc":"2.0","id":bb["id"],"result":{"content":[]}}));
    reply_json(
        &mut c,
        calls[0].key,
        json!({"jsonrpc":"2.0","id":ba["id"],"error":{"code":-32602,"message":"Unknown tool: x"}}),
    );
    let evs = events(&mut c);
    assert!(evs.contains(&McpEvent::ToolResult { op: b, result: json!({"content":[]}) }));
    assert!(evs.contains(&McpEvent::Failed { op: a, error: "MCP error -32602: Unknown tool: x".into() }));
}

#[test]
fn a_repeated_cursor_stops_the_listing_with_a_warning() {
    let mut c = client();
    c.list_tools();
    let mut next = connect(&mut c, "2025-11-25");
    for _ in 0..3 {
        let id = body(&next[0])["id"].clone();
        reply_json(
            &mut c,
            next[0].key,
            json!({"jsonrpc":"2.0","id":id,"result":{"tools":[{"name":format!("t{id}")}],"nextCursor":"same"}}),
        );
        next = sent(&mut c);
        if next.is_empty() {
            break;
        }
    }
    let evs = events(&mut c);
    assert!(evs.iter().any(|e| matches!(e, McpEvent::Warning(w) if w.contains("repeated cursor"))), "{evs:?}");
    assert!(evs.iter().any(|e| matches!(e, McpEvent::Tools { tools, .. } if tools.len() == 2)), "{evs:?}");
}

#[test]
fn answers_ping_and_refuses_unknown_server_requests_on_the_stream() {
    let mut c = client();
    let op = c.call_tool("slow", json!({}));
    let call = connect(&mut c, "2025-11-25");
    let id = body(&call[0])["id"].clone();
    reply_sse(
        &mut c,
        call[0].key,
        &[],
        &[
            json!({"jsonrpc":"2.0","id":"srv-1","method":"ping"}),
            json!({"jsonrpc":"2.0","id":"srv-2","method":"sampling/createMessage","params":{}}),
            json!({"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}),
            json!({"jsonrpc":"2.0","id":id,"result":{"content":[{"type":"text","text":"done"}]}}),
        ],
    );
    let replies = sent(&mut c);
    assert_eq!(body(&replies[0]), json!({"jsonrpc":"2.0","id":"srv-1","result":{}}));
    assert_eq!(body(&replies[1])["error"]["code"], -32601);
    assert_eq!(replies[1].request.header("mcp-session-id"), Some("sess-42"));
    let evs = events(&mut c);
    assert!(
        evs.iter().any(|e| matches!(e, McpEvent::Notification { method, .. } if method == "notifications/progress"))
    );
    assert!(evs.iter().any(|e| matches!(e, McpEvent::ToolResult { op: o, .. } if *o == op)));
}

#[test]
fn an_unsupported_version_fails_waiting_operations_and_the_next_one_reconnects() {
    let mut c = client();
    let op = c.list_tools();
    let init = sent(&mut c);
    let id = body(&init[0])["id"].clone();
    reply_json(&mut c, init[0].key, json!({"jsonrpc":"2.0","id":id,"result":init_result("2099-01-01")}));
    match events(&mut c).as_slice() {
        [McpEvent::Failed { op: o, error }] => {
            assert_eq!(*o, op);
            assert!(error.contains("2099-01-01") && error.contains("could not connect"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    c.list_tools();
    assert_eq!(body(&sent(&mut c)[0])["method"], "initialize");
}

#[test]
fn http_errors_name_the_status_and_never_the_secrets() {
    let mut c = client();
    let op = c.call_tool("x", json!({}));
    let call = connect(&mut c, "2025-11-25");
    assert!(c.handle_head(call[0].key, 500, &h(&[("content-type", "application/json")])));
    let leak = format!(
        r#"{{"jsonrpc":"2.0","error":{{"code":-32603,"message":"backend {URL} rejected {TOKEN} for sess-42 (connect 10.1.2.3:8080)"}}}}"#
    );
    assert!(c.handle_chunk(call[0].key, leak.as_bytes()));
    assert!(c.handle_end(call[0].key));
    match events(&mut c).pop() {
        Some(McpEvent::Failed { op: o, error }) => {
            assert_eq!(o, op);
            assert!(error.starts_with("HTTP 500: backend [redacted] rejected"), "{error}");
            for secret in [URL, "10.1.2.3", "s3cret", "sess-42"] {
                assert!(!error.contains(secret), "{error}");
            }
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_stream_that_ends_without_the_response_fails_the_call() {
    let mut c = client();
    let op = c.call_tool("x", json!({}));
    let call = connect(&mut c, "2025-11-25");
    reply_sse(&mut c, call[0].key, &[], &[]);
    assert!(
        matches!(events(&mut c).pop(), Some(McpEvent::Failed { op: o, error }) if o == op && error.contains("without answering"))
    );
}

#[test]
fn malformed_json_body_fails_the_call_and_transport_errors_are_reported() {
    let mut c = client();
    let a = c.call_tool("x", json!({}));
    let b = c.call_tool("y", json!({}));
    let calls = connect(&mut c, "2025-11-25");
    assert!(c.handle_head(calls[0].key, 200, &h(&[("content-type", "application/json")])));
    assert!(c.handle_chunk(calls[0].key, b"{not json"));
    assert!(c.handle_end(calls[0].key));
    assert!(c.handle_error(calls[1].key, "connection reset"));
    let evs = events(&mut c);
    assert!(
        evs.iter()
            .any(|e| matches!(e, McpEvent::Failed { op, error } if *op == a && error.contains("malformed JSON-RPC")))
    );
    assert!(evs.iter().any(
        |e| matches!(e, McpEvent::Failed { op, error } if *op == b && error == "request failed: connection reset")
    ));
    assert!(!c.handle_end(calls[0].key), "a finished exchange is not ours any more");
    assert!(!c.handle_head(999, 200, &[]));
}

#[test]
fn an_oversized_message_is_refused() {
    let mut c = client();
    let op = c.call_tool("x", json!({}));
    let call = connect(&mut c, "2025-11-25");
    assert!(c.handle_head(call[0].key, 200, &h(&[("content-type", "application/json")])));
    let big = vec![b' '; MAX_MESSAGE_BYTES + 1];
    assert!(c.handle_chunk(call[0].key, &big));
    assert!(
        matches!(events(&mut c).pop(), Some(McpEvent::Failed { op: o, error }) if o == op && error.contains("exceeded"))
    );
    assert!(!c.has_exchanges());
}

#[test]
fn close_deletes_the_session_and_fails_what_is_pending() {
    let mut c = client();
    c.list_tools();
    let list = connect(&mut c, "2025-11-25");
    let op = c.call_tool("later", json!({}));
    let abandoned = c.close();
    assert!(abandoned.contains(&list[0].key));
    let delete = sent(&mut c);
    assert!(
        delete.iter().any(|t| t.request.method == "DELETE" && t.request.header("mcp-session-id") == Some("sess-42"))
    );
    let evs = events(&mut c);
    assert!(evs.iter().any(|e| matches!(e, McpEvent::Failed { op: o, .. } if *o == op)));
    let after = c.call_tool("x", json!({}));
    assert!(
        matches!(events(&mut c).pop(), Some(McpEvent::Failed { op, error }) if op == after && error.contains("closed"))
    );
}

#[test]
fn an_invalid_session_id_is_refused() {
    let mut c = client();
    c.list_tools();
    let init = sent(&mut c);
    let headers = h(&[("content-type", "text/event-stream"), ("mcp-session-id", "bad id")]);
    assert!(c.handle_head(init[0].key, 200, &headers));
    assert!(!c.handle_chunk(init[0].key, b"data: x\n\n"), "the exchange is dropped");
    assert!(
        matches!(events(&mut c).pop(), Some(McpEvent::Failed { error, .. }) if error.contains("invalid Mcp-Session-Id"))
    );
}

#[test]
fn validates_configuration() {
    let mut config = ServerConfig { name: "s".into(), url: "ftp://x".into(), headers: vec![], timeout_ms: 1 };
    assert!(config.validate().unwrap_err().contains("http"));
    config.url = "http://x".into();
    assert!(config.validate().is_ok());
    config.headers.push(("Mcp-Session-Id".into(), "x".into()));
    assert!(config.validate().unwrap_err().contains("set by the protocol"));
}

#[test]
fn origin_of_urls() {
    assert_eq!(origin("http://a:1/b?c"), "http://a:1");
    assert_eq!(origin("https://a"), "https://a");
}

#[test]
fn a_404_on_a_session_starts_a_new_session_and_retries_once() {
    let mut c = client();
    let op = c.call_tool("x", json!({"k": 1}));
    let call = connect(&mut c, "2025-11-25");
    assert!(c.handle_head(call[0].key, 404, &h(&[("content-type", "application/json")])));
    assert!(c.handle_end(call[0].key));
    let evs = events(&mut c);
    assert!(
        matches!(evs.as_slice(), [McpEvent::Connected(_), McpEvent::Warning(w)] if w.contains("new session")),
        "{evs:?}"
    );
    // A fresh initialize without the dead session id, then the same call on the new session.
    let init = sent(&mut c);
    assert_eq!(body(&init[0])["method"], "initialize");
    assert_eq!(init[0].request.header("mcp-session-id"), None);
    let id = body(&init[0])["id"].clone();
    reply_sse(
        &mut c,
        init[0].key,
        &[("mcp-session-id", "sess-43")],
        &[json!({"jsonrpc":"2.0","id":id,"result":init_result("2025-11-25")})],
    );
    let notice = sent(&mut c);
    accept(&mut c, notice[0].key);
    let again = sent(&mut c);
    assert_eq!(body(&again[0])["params"], json!({"name":"x","arguments":{"k":1}}));
    assert_eq!(again[0].request.header("mcp-session-id"), Some("sess-43"));
    // A second 404 for the same call is not retried again.
    assert!(c.handle_head(again[0].key, 404, &[]));
    assert!(c.handle_end(again[0].key));
    let evs = events(&mut c);
    assert!(
        evs.iter().any(|e| matches!(e, McpEvent::Failed { op: o, error } if *o == op && error.contains("HTTP 404"))),
        "{evs:?}"
    );
}

#[test]
fn a_404_on_a_listing_lists_again_from_the_first_page() {
    let mut c = client();
    let op = c.list_tools();
    let list = connect(&mut c, "2025-11-25");
    let id = body(&list[0])["id"].clone();
    reply_json(
        &mut c,
        list[0].key,
        json!({"jsonrpc":"2.0","id":id,"result":{"tools":[{"name":"a"}],"nextCursor":"p2"}}),
    );
    let page2 = sent(&mut c);
    assert!(c.handle_head(page2[0].key, 404, &[]));
    assert!(c.handle_end(page2[0].key));
    let init = sent(&mut c);
    let id = body(&init[0])["id"].clone();
    reply_json(&mut c, init[0].key, json!({"jsonrpc":"2.0","id":id,"result":init_result("2025-11-25")}));
    let notice = sent(&mut c);
    accept(&mut c, notice[0].key);
    let first = sent(&mut c);
    assert!(body(&first[0]).get("params").is_none(), "the old cursor is not reused");
    let id = body(&first[0])["id"].clone();
    reply_json(&mut c, first[0].key, json!({"jsonrpc":"2.0","id":id,"result":{"tools":[{"name":"a"},{"name":"b"}]}}));
    let evs = events(&mut c);
    assert!(
        evs.iter().any(|e| matches!(e, McpEvent::Tools { op: o, tools } if *o == op && tools.len() == 2)),
        "{evs:?}"
    );
}

#[test]
fn a_request_stream_is_released_once_answered() {
    let mut c = client();
    c.call_tool("x", json!({}));
    let call = connect(&mut c, "2025-11-25");
    let id = body(&call[0])["id"].clone();
    assert!(c.handle_head(call[0].key, 200, &h(&[("content-type", "text/event-stream")])));
    let answer = format!("data: {}\n\n", json!({"jsonrpc":"2.0","id":id,"result":{"content":[]}}));
    assert!(c.handle_chunk(call[0].key, answer.as_bytes()));
    assert!(!c.has_exchange(call[0].key), "the server kept the stream open; the client lets go");
}

#[test]
fn redaction_catches_bare_tokens_and_any_case() {
    let c = client();
    let text = "token s3cret-token from HTTP://10.1.2.3:8080/MCP?tenant=acme";
    let out = c.redact(text);
    assert!(!out.contains("s3cret") && !out.contains("10.1.2.3"), "{out}");
}
