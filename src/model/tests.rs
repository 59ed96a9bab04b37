use super::*;
use crate::wire::responses::request_with;
use serde_json::json;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// What a final error says of the endpoint it failed at: the hosted default here.
const HOSTED: &str = " (endpoint https://api.portkey.ai)";

fn client(retries: u32) -> ModelClient {
    ModelClient::new(PortkeyConfig::default(), 60_000, retries)
}

fn span() -> Span {
    Span { trace_id: "t".into(), turn: 1 }
}

/// Sends `body` as a fresh call.
fn send(c: &mut ModelClient, body: &ModelRequest, now: u64) -> OpId {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let call = OpId { run: 1, id: EffectId::new(Owner::Loop, n) };
    c.send(call, body, &span(), now);
    call
}

/// The effects out now (`poll_output` gives every effect before any event).
fn effects(c: &mut ModelClient) -> Vec<Effect> {
    std::iter::from_fn(|| c.effects.pop()).collect()
}

fn events(c: &mut ModelClient) -> Vec<ModelEvent> {
    std::iter::from_fn(|| c.events.pop_front()).collect()
}

/// The HTTP and timer keys of the attempt just sent.
fn attempt(c: &mut ModelClient) -> (EffectId, EffectId) {
    let out = effects(c);
    let http = out.iter().find_map(|e| if let Effect::Http { id, .. } = e { Some(*id) } else { None });
    let timer = out.iter().find_map(|e| if let Effect::Timer { id, .. } = e { Some(*id) } else { None });
    (http.expect("an HTTP effect"), timer.expect("its timeout"))
}

fn response_json() -> Value {
    json!({"id":"resp_1","object":"response","status":"completed","output":[
        {"type":"message","id":"m","role":"assistant","content":[{"type":"output_text","text":"Hello world"}]}
    ],"usage":{"total_tokens":3}})
}

fn reply(c: &mut ModelClient, key: EffectId, status: u16, headers: &[(&str, &str)], body: &str, now: u64) {
    let headers: Vec<(String, String)> = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    c.handle_http_head(key, status, &headers);
    for chunk in body.as_bytes().chunks(7) {
        c.handle_http_chunk(key, chunk, now);
    }
    c.handle_http_end(key, now);
}

fn done(events: &[ModelEvent]) -> &Result<ModelResponse> {
    events.iter().find_map(|e| if let ModelEvent::Done { result, .. } = e { Some(result) } else { None }).unwrap()
}

#[test]
fn a_json_answer_keeps_portkey_headers() {
    let mut c = client(2);
    let call = send(&mut c, &request_with(json!({"model": "m"})), 0);
    let (http, timer) = attempt(&mut c);
    let headers = [("Content-Type", "application/json"), ("X-Portkey-Cache-Status", "MISS"), ("server", "x")];
    reply(&mut c, http, 200, &headers, &response_json().to_string(), 5);
    assert_eq!(effects(&mut c), [Effect::Cancel { id: timer }], "the timeout is cleared");
    let out = events(&mut c);
    assert!(matches!(&out[..], [ModelEvent::Done { call: k, .. }] if *k == call));
    let response = done(&out).as_ref().unwrap();
    assert_eq!(response.output_text(), "Hello world");
    assert_eq!(response.headers, [("x-portkey-cache-status".to_owned(), "MISS".to_owned())]);
}

#[test]
fn a_stream_gives_deltas_and_the_same_response_as_json() {
    let response = response_json();
    let events_text = [
        json!({"type":"response.created","sequence_number":0,"response":{"id":"resp_1","status":"in_progress","output":[]}}),
        json!({"type":"response.output_text.delta","sequence_number":1,"item_id":"m","output_index":0,"content_index":0,"delta":"Hello"}),
        json!({"type":"response.output_text.delta","sequence_number":2,"item_id":"m","output_index":0,"content_index":0,"delta":" world"}),
        json!({"type":"response.completed","sequence_number":3,"response":response}),
    ]
    .iter()
    .map(|e| format!("event: {}\r\ndata: {e}\r\n\r\n", e["type"].as_str().unwrap()))
    .collect::<String>();
    let mut c = client(0);
    send(&mut c, &request_with(json!({"stream": true})), 0);
    let (http, _) = attempt(&mut c);
    reply(&mut c, http, 200, &[("content-type", "text/event-stream; charset=utf-8")], &events_text, 1);
    let out = events(&mut c);
    let deltas: Vec<&str> = out
        .iter()
        .filter_map(|e| if let ModelEvent::Delta { delta, .. } = e { Some(delta.as_str()) } else { None })
        .collect();
    assert_eq!(deltas, ["Hello", " world"]);
    assert_eq!(done(&out).as_ref().unwrap(), &ModelResponse::from_value(response).unwrap());

    // A stream that stops before its final event is an error, not a truncated answer.
    let mut c = client(2);
    send(&mut c, &request_with(json!({})), 0);
    let (http, _) = attempt(&mut c);
    reply(&mut c, http, 200, &[("content-type", "text/event-stream")], "event: response.created\ndata: {}\n\n", 1);
    let out = events(&mut c);
    assert!(done(&out).as_ref().unwrap_err().to_string().contains("stream ended"), "{out:?}");
    // An `error` event carries the provider's message; its code says whether it may heal.
    for (code, status, retried) in
        [("server_error", 500, true), ("rate_limit_exceeded", 429, true), ("context_length_exceeded", 400, false)]
    {
        let mut c = client(1);
        send(&mut c, &request_with(json!({})), 0);
        let (http, _) = attempt(&mut c);
        let error = format!("event: error\ndata: {{\"type\":\"error\",\"code\":\"{code}\",\"message\":\"boom\"}}\n\n");
        reply(&mut c, http, 200, &[("content-type", "text/event-stream")], &error, 1);
        let out = events(&mut c);
        match &out[..] {
            [ModelEvent::Retrying { error, .. }] => {
                assert!(retried && *error == Error::model(Some(status), "boom"), "{code}")
            }
            [ModelEvent::Done { result, .. }] => {
                assert!(!retried && *result == Err(Error::model(Some(status), format!("boom{HOSTED}"))), "{code}")
            }
            other => panic!("{code}: {other:?}"),
        }
    }
    // The final event ends the request, even if the connection stays open after it.
    let mut c = client(0);
    send(&mut c, &request_with(json!({})), 0);
    let (http, timer) = attempt(&mut c);
    c.handle_http_head(http, 200, &[("content-type".into(), "text/event-stream".into())]);
    let completed = format!(
        "event: response.completed\ndata: {}\n\n",
        json!({"type":"response.completed","response":response_json()})
    );
    c.handle_http_chunk(http, completed.as_bytes(), 2);
    assert!(done(&events(&mut c)).is_ok());
    let stops = effects(&mut c);
    assert!(stops.contains(&Effect::Cancel { id: http }) && stops.contains(&Effect::Cancel { id: timer }));
}

#[test]
fn the_tools_echo_is_not_read_and_a_broken_one_is_still_an_error() {
    let echo = json!([{"type":"function","name":"t","parameters":{"type":"object","properties":{}},"strict":false}]);
    let mut with_echo = response_json();
    with_echo["tools"] = echo.clone();
    let expected = ModelResponse::from_value(response_json()).unwrap();
    let answer = |stream: bool, body: &str| {
        let mut c = client(0);
        send(&mut c, &request_with(json!({"stream": stream})), 0);
        let (http, _) = attempt(&mut c);
        let kind = if stream { "text/event-stream" } else { "application/json" };
        reply(&mut c, http, 200, &[("content-type", kind)], body, 1);
        done(&events(&mut c)).clone()
    };
    assert_eq!(answer(false, &with_echo.to_string()), Ok(expected.clone()));
    let started =
        json!({"type":"response.created","response":{"id":"resp_1","status":"in_progress","tools":echo,"output":[]}});
    let completed = json!({"type":"response.completed","response":with_echo});
    let stream =
        format!("event: response.created\ndata: {started}\n\nevent: response.completed\ndata: {completed}\n\n");
    assert_eq!(answer(true, &stream), Ok(expected));
    // Not JSON inside the echo: the body is not JSON, as it was before the echo was cut unread.
    let broken = with_echo.to_string().replace(r#""strict":false}]"#, r#""strict":false]]"#);
    assert!(answer(false, &broken).unwrap_err().to_string().contains("not JSON"), "{broken}");
}

#[test]
fn a_lasting_transport_failure_is_not_retried() {
    let mut c = client(2);
    send(&mut c, &request_with(json!({})), 1_000);
    let (http, _) = attempt(&mut c);
    c.handle_http_error(http, "the server's certificate is not trusted", true, 1_001);
    let out = events(&mut c);
    assert!(!out.iter().any(|e| matches!(e, ModelEvent::Retrying { .. })), "{out:?}");
    let Err(Error::Model { status: None, message }) = done(&out) else { panic!("{out:?}") };
    assert!(message.starts_with("the server's certificate is not trusted"), "{message}");
}

#[test]
fn failures_that_may_heal_are_retried_after_retry_after_or_a_backoff() {
    let mut c = client(2);
    send(&mut c, &request_with(json!({})), 1_000);
    let (http, _) = attempt(&mut c);
    reply(&mut c, http, 503, &[("retry-after", "2")], "{\"error\":{\"message\":\"busy\"}}", 1_000);
    let out = events(&mut c);
    assert!(matches!(&out[..], [ModelEvent::Retrying { attempt: 1, delay_ms: 2000, .. }]), "{out:?}");
    let backoff_timer = effects(&mut c).iter().find_map(|e| match e {
        Effect::Timer { id, at_ms } => Some((*id, *at_ms)),
        _ => None,
    });
    let (timer, at) = backoff_timer.unwrap();
    assert_eq!(at, 3_000);
    c.handle_timer(timer, 3_000);
    let (http, _) = attempt(&mut c);
    c.handle_http_error(http, "connection reset", false, 3_001);
    let out = events(&mut c);
    let ModelEvent::Retrying { attempt: 2, delay_ms, .. } = out[0] else { panic!("{out:?}") };
    assert!((500..=1000).contains(&delay_ms), "the second backoff is 1 s with jitter: {delay_ms}");
    let (timer, _) = effects(&mut c)
        .iter()
        .find_map(|e| match e {
            Effect::Timer { id, at_ms } => Some((*id, *at_ms)),
            _ => None,
        })
        .unwrap();
    c.handle_timer(timer, 4_000);
    let (http, _) = attempt(&mut c);
    reply(&mut c, http, 429, &[], "{\"error\":{\"message\":\"slow down\"}}", 4_001);
    assert_eq!(
        done(&events(&mut c)),
        &Err(Error::model(Some(429), format!("slow down{HOSTED}"))),
        "attempts are used up"
    );
}

#[test]
fn what_will_not_heal_fails_at_once() {
    for (status, headers) in [(400, vec![]), (401, vec![]), (503, vec![("retry-after", "3600")])] {
        let mut c = client(3);
        send(&mut c, &request_with(json!({})), 0);
        let (http, _) = attempt(&mut c);
        reply(&mut c, http, status, &headers, "{\"error\":{\"message\":\"no\"}}", 0);
        let out = events(&mut c);
        assert_eq!(out.len(), 1, "{status}: {out:?}");
        assert_eq!(done(&out), &Err(Error::model(Some(status), format!("no{HOSTED}"))));
    }
}

#[test]
fn a_timeout_aborts_the_attempt_and_cancel_stops_everything() {
    let mut c = client(1);
    let call = send(&mut c, &request_with(json!({})), 0);
    let (http, timer) = attempt(&mut c);
    c.handle_timer(timer, 60_000);
    assert!(effects(&mut c).contains(&Effect::Cancel { id: http }));
    assert!(matches!(&events(&mut c)[..], [ModelEvent::Retrying { .. }]));
    c.cancel(call);
    assert!(effects(&mut c).iter().all(|e| matches!(e, Effect::Cancel { .. })));
    c.handle_http_end(http, 1);
    assert!(events(&mut c).is_empty(), "nothing more is reported for a cancelled call");
}
