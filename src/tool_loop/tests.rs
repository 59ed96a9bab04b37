use super::*;
use crate::event::CallStatus;
use crate::schema::ServerTools;
use crate::wire::mcp::Tool;
use serde_json::{Map, json};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn catalog() -> Arc<Catalog> {
    let tools = ["echo", "get-sum"].iter().map(|n| Tool::from_value(json!({"name": n})).unwrap()).collect();
    let servers = vec![ServerTools { server: "everything".into(), label: None, tools }];
    Arc::new(Catalog::build(servers, &Default::default(), None))
}

fn config() -> LoopConfig {
    LoopConfig { model: "gpt-test".into(), instructions: Some("be brief".into()), ..LoopConfig::default() }
}

fn drain(l: &mut ToolLoop) -> Vec<LoopOutput> {
    let mut out = Vec::new();
    loop {
        match l.poll_output() {
            LoopOutput::Wait => return out,
            other => out.push(other),
        }
    }
}

fn effects(outputs: &[LoopOutput]) -> Vec<LoopEffect> {
    outputs.iter().filter_map(|o| if let LoopOutput::Effect(e) = o { Some(e.clone()) } else { None }).collect()
}

fn response(id: &str, output: Value) -> ModelResponse {
    ModelResponse::from_value(json!({"id": id, "status": "completed", "output": output, "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}})).unwrap()
}

fn call(call_id: &str, name: &str, arguments: &str) -> Value {
    json!({"type":"function_call","id":format!("fc_{call_id}"),"call_id":call_id,"name":name,"arguments":arguments,"status":"completed"})
}

fn message(text: &str) -> Value {
    json!({"type":"message","id":"msg_1","role":"assistant","status":"completed","content":[{"type":"output_text","text":text,"annotations":[]}]})
}

fn model_id(outputs: &[LoopOutput]) -> (EffectId, Value) {
    match effects(outputs).as_slice() {
        [LoopEffect::CallModel { id, request }] => (*id, request.to_value()),
        other => panic!("expected one model call, got {other:?}"),
    }
}

fn done(outputs: &[LoopOutput]) -> Result<RunResult> {
    match outputs.last() {
        Some(LoopOutput::Done(r)) => r.clone(),
        other => panic!("expected Done, got {other:?}"),
    }
}

#[test]
fn two_parallel_calls_then_an_answer() {
    let mut l = ToolLoop::new(config(), catalog(), json!("add 2 and 3, echo hi"), "", 0).unwrap();
    let (first, request) = model_id(&drain(&mut l));
    assert_eq!(request["model"], "gpt-test");
    assert_eq!(request["instructions"], "be brief");
    assert_eq!(request["input"], "add 2 and 3, echo hi");
    assert_eq!(
        request["tools"][1],
        json!({"type":"function","name":"get-sum","description":"","parameters":{"type":"object","properties":{},"required":[],"additionalProperties":false},"strict":true})
    );
    assert!(request.get("previous_response_id").is_none());

    l.handle_model_response(
        first,
        Ok(response(
            "resp_1",
            json!([call("c1", "get-sum", r#"{"a":2,"b":3}"#), call("c2", "echo", r#"{"message":"hi"}"#)]),
        )),
        0,
    )
    .unwrap();
    let outs = drain(&mut l);
    let tools = effects(&outs);
    assert_eq!(tools.len(), 2, "both calls of the turn come out before Wait");
    let (LoopEffect::CallTool { id: a, server, tool, arguments, .. }, LoopEffect::CallTool { id: b, .. }) =
        (&tools[0], &tools[1])
    else {
        panic!()
    };
    assert_eq!((server.as_str(), tool.as_str()), ("everything", "get-sum"));
    assert_eq!(arguments, &json!({"a":2,"b":3}));

    // Results arrive out of order; outputs still follow the model's order.
    l.handle_tool_result(*b, ToolResult::Result(json!({"content":[{"type":"text","text":"Echo: hi"}]})), 0).unwrap();
    assert!(effects(&drain(&mut l)).is_empty(), "the turn waits for every call");
    l.handle_tool_result(*a, ToolResult::Result(json!({"content":[{"type":"text","text":"5"}]})), 0).unwrap();
    let (second, request) = model_id(&drain(&mut l));
    assert_eq!(request["previous_response_id"], "resp_1");
    assert_eq!(request["instructions"], "be brief", "instructions are not carried over by the API, so they are resent");
    assert_eq!(
        request["input"],
        json!([{"type":"function_call_output","call_id":"c1","output":"5"},{"type":"function_call_output","call_id":"c2","output":"Echo: hi"}])
    );

    l.handle_model_response(second, Ok(response("resp_2", json!([message("5 and hi")]))), 0).unwrap();
    let result = done(&drain(&mut l)).unwrap();
    assert_eq!(result.status, RunStatus::Completed);
    assert_eq!(result.output_text, "5 and hi");
    assert_eq!(result.turns, 2);
    assert_eq!(result.usage.total_tokens, 10);
    assert_eq!(result.tool_calls.iter().map(|c| c.output.as_str().unwrap()).collect::<Vec<_>>(), ["5", "Echo: hi"]);
    assert!(l.is_done());
}

#[test]
fn bad_calls_become_error_outputs_without_touching_a_server() {
    let mut l = ToolLoop::new(config(), catalog(), json!("x"), "", 0).unwrap();
    let (first, _) = model_id(&drain(&mut l));
    l.handle_model_response(
        first,
        Ok(response(
            "resp_1",
            json!([
                call("c1", "nope", "{}"),
                call("c2", "echo", "{\"message\": "),
                call("c3", "echo", "[1]"),
                call("c4", "echo", ""),
                call("c4", "echo", "{}"),
                {"type":"function_call","name":"echo","arguments":"{}"}
            ]),
        )),
        0,
    )
    .unwrap();
    let outs = drain(&mut l);
    let tools = effects(&outs);
    assert_eq!(tools.len(), 1, "only the empty-argument call reaches a server");
    let LoopEffect::CallTool { id, call_id, arguments, .. } = &tools[0] else { panic!() };
    assert_eq!((call_id.as_str(), arguments), ("c4", &json!({})));
    let warnings = outs.iter().filter(|o| matches!(o, LoopOutput::Event(Event::Warning { .. }))).count();
    assert_eq!(warnings, 2, "a repeated call_id and a call without call_id are reported");
    l.handle_tool_result(*id, ToolResult::Failed("MCP server 'everything': request failed: timed out".into()), 0)
        .unwrap();
    let (_, request) = model_id(&drain(&mut l));
    let outputs: Vec<(String, String)> = request["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["call_id"].as_str().unwrap().to_owned(), o["output"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(outputs.len(), 4, "exactly one output per call_id");
    assert_eq!(outputs[0].1, "Error: there is no tool named 'nope'. Available tools: echo, get-sum");
    assert!(outputs[1].1.starts_with("Error: the arguments for 'echo' are not valid JSON"), "{}", outputs[1].1);
    assert_eq!(outputs[2].1, "Error: the arguments for 'echo' must be a JSON object, not an array");
    assert_eq!(outputs[3], ("c4".into(), "Error: MCP server 'everything': request failed: timed out".into()));
}

#[test]
fn the_server_gets_the_arguments_without_strict_nulls_and_only_when_they_fit() {
    let find = json!({"name": "find", "inputSchema": {"type": "object", "properties": {
        "q": {"type": "string"}, "limit": {"type": "integer", "maximum": 50}
    }, "required": ["q"]}});
    let servers = [ServerTools { server: "s".into(), label: None, tools: vec![Tool::from_value(find).unwrap()] }];
    let catalog = Arc::new(Catalog::build(servers.to_vec(), &Default::default(), None));
    let run = |config: LoopConfig, arguments: &str| {
        let mut l = ToolLoop::new(config, catalog.clone(), json!("x"), "", 0).unwrap();
        let (first, request) = model_id(&drain(&mut l));
        assert_eq!(request["tools"][0]["strict"], json!(true));
        l.handle_model_response(first, Ok(response("r", json!([call("c1", "find", arguments)]))), 0).unwrap();
        drain(&mut l)
    };
    let outs = run(config(), r#"{"q": "vpn", "limit": null}"#);
    let LoopEffect::CallTool { arguments, .. } = &effects(&outs)[0] else { panic!("{outs:?}") };
    assert_eq!(arguments, &json!({"q": "vpn"}), "the null strict mode asked for is gone");
    // Arguments that do not fit the tool's own schema go back to the model, not to the server.
    let outs = run(config(), r#"{"q": "vpn", "limit": 500}"#);
    assert!(effects(&outs).len() == 1 && matches!(effects(&outs)[0], LoopEffect::CallModel { .. }));
    let (_, request) = model_id(&outs);
    assert_eq!(
        request["input"][0]["output"],
        "Error: the arguments for 'find' do not fit its schema: /limit must be at most 50; send them again"
    );
    // validateArguments: false lets the server judge.
    let outs = run(LoopConfig { validate_arguments: false, ..config() }, r#"{"q": "vpn", "limit": 500}"#);
    assert!(matches!(&effects(&outs)[0], LoopEffect::CallTool { arguments, .. } if arguments["limit"] == 500));
}

#[test]
fn stops_at_max_turns_without_running_the_last_calls() {
    let mut l = ToolLoop::new(LoopConfig { max_turns: 2, ..config() }, catalog(), json!("loop"), "", 0).unwrap();
    for turn in 1..=2 {
        let (id, _) = model_id(&drain(&mut l));
        l.handle_model_response(
            id,
            Ok(response(&format!("resp_{turn}"), json!([call(&format!("c{turn}"), "echo", "{}")]))),
            0,
        )
        .unwrap();
        if turn == 1 {
            let outs = drain(&mut l);
            let LoopEffect::CallTool { id, .. } = effects(&outs)[0].clone() else { panic!() };
            l.handle_tool_result(id, ToolResult::Result(json!({"content":[]})), 0).unwrap();
        }
    }
    let outs = drain(&mut l);
    assert!(effects(&outs).is_empty());
    let result = done(&outs).unwrap();
    assert_eq!(result.status, RunStatus::MaxTurns);
    assert_eq!(result.turns, 2);
    let calls: Vec<(&str, CallStatus, &Value)> =
        result.tool_calls.iter().map(|c| (c.call_id.as_str(), c.status, &c.output)).collect();
    assert_eq!(
        calls,
        [("c1", CallStatus::Done, &json!("(the tool returned no content)")), ("c2", CallStatus::NotRun, &Value::Null)],
        "the result carries the call the model asked for last, not run"
    );
    assert_eq!(result.tool_calls[1].tool.as_deref(), Some("echo"));
}

#[test]
fn a_paused_result_carries_the_calls_of_its_turn_as_they_stand() {
    let ask = LoopConfig {
        servers: vec![ServerPolicy {
            server: "everything".into(),
            approve: Some(Approve::Destructive),
            max_concurrent_calls: 4,
        }],
        ..config()
    };
    let (mut l, outs) =
        after_first_turn(ask, annotated_everything(), json!([call("c1", "look", "{}"), call("c2", "write", "{}")]));
    let [(look, _)] = tool_effects(&outs)[..] else { panic!("the read-only call runs: {outs:?}") };
    l.handle_tool_result(look, ToolResult::Result(json!({"content":[{"type":"text","text":"seen"}]})), 5).unwrap();
    let outs = drain(&mut l);
    let Some(LoopOutput::Paused(pending)) = outs.last() else { panic!("{outs:?}") };
    let result = l.into_paused(pending.clone());
    let calls: Vec<(&str, CallStatus, &Value)> =
        result.tool_calls.iter().map(|c| (c.call_id.as_str(), c.status, &c.output)).collect();
    assert_eq!(calls, [("c1", CallStatus::Done, &json!("seen")), ("c2", CallStatus::AwaitingApproval, &Value::Null)]);
}

#[test]
fn a_call_id_answered_in_an_earlier_turn_is_refused_and_the_history_holds_one_output_per_call() {
    for continuation in [Continuation::Replay, Continuation::PreviousResponseId] {
        let (mut l, outs) =
            after_first_turn(LoopConfig { continuation, ..config() }, catalog(), json!([call("c1", "echo", "{}")]));
        let (echo, _) = tool_effects(&outs)[0].clone();
        l.handle_tool_result(echo, ToolResult::Result(json!({"content":[{"type":"text","text":"once"}]})), 1).unwrap();
        let (second, _) = model_id(&drain(&mut l));
        // The model asks again with the same id (and a fresh call beside it).
        let again = json!([call("c1", "echo", "{}"), call("c2", "echo", "{}")]);
        l.handle_model_response(second, Ok(response("resp_2", again)), 2).unwrap();
        let outs = drain(&mut l);
        let ran = tool_effects(&outs);
        assert_eq!(ran.iter().map(|(_, c)| c.as_str()).collect::<Vec<_>>(), ["c2"], "c1 is not run again");
        l.handle_tool_result(ran[0].0, ToolResult::Result(json!({"content":[{"type":"text","text":"new"}]})), 3)
            .unwrap();
        let (_, request) = model_id(&drain(&mut l));
        let outputs_for = |id: &str| {
            let items = request["input"].as_array().unwrap();
            items.iter().filter(|i| i["type"] == "function_call_output" && i["call_id"] == id).count()
        };
        assert_eq!(outputs_for("c1"), 1, "{continuation:?}: one output for c1 in what the model gets: {request}");
        assert_eq!(outputs_for("c2"), 1);
        if continuation == Continuation::PreviousResponseId {
            let refusal = &request["input"][0];
            assert!(refusal["output"].as_str().unwrap().contains("answered in an earlier turn"), "{refusal}");
        }
    }
}

#[test]
fn failed_incomplete_and_provider_errors_end_the_run() {
    let mut l = ToolLoop::new(config(), catalog(), json!("x"), "", 0).unwrap();
    let (id, _) = model_id(&drain(&mut l));
    let failed =
        ModelResponse::from_value(json!({"id":"r","status":"failed","error":{"message":"overloaded"}})).unwrap();
    l.handle_model_response(id, Ok(failed), 0).unwrap();
    assert_eq!(done(&drain(&mut l)), Err(Error::model(None, "overloaded")));

    let mut l = ToolLoop::new(config(), catalog(), json!("x"), "", 0).unwrap();
    let (id, _) = model_id(&drain(&mut l));
    let incomplete = ModelResponse::from_value(json!({"id":"r","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[call("c1","echo","{\"mess")]})).unwrap();
    l.handle_model_response(id, Ok(incomplete), 0).unwrap();
    let outs = drain(&mut l);
    assert!(effects(&outs).is_empty(), "calls of an incomplete response never run");
    let result = done(&outs).unwrap();
    assert_eq!(
        (result.status, result.incomplete_reason.as_deref()),
        (RunStatus::Incomplete, Some("max_output_tokens"))
    );

    let mut l = ToolLoop::new(config(), catalog(), json!("x"), "", 0).unwrap();
    let (id, _) = model_id(&drain(&mut l));
    l.handle_model_response(id, Err(Error::model(Some(401), "invalid api key")), 0).unwrap();
    assert_eq!(done(&drain(&mut l)), Err(Error::model(Some(401), "invalid api key")));
}

#[test]
fn an_answer_for_what_is_not_pending_is_not_taken_and_a_made_up_id_is_an_error() {
    let mut l = ToolLoop::new(config(), catalog(), json!("x"), "", 0).unwrap();
    let (id, _) = model_id(&drain(&mut l));
    assert_eq!(l.handle_tool_result(id, ToolResult::Failed("x".into()), 0), Ok(false), "not a tool call");
    let never = EffectId::new(Owner::Loop, id.number() + 7);
    assert_eq!(l.handle_model_response(never, Ok(response("r", json!([]))), 0).unwrap_err().code(), "host");
    let foreign = EffectId::new(Owner::Model, id.number());
    assert_eq!(l.handle_model_response(foreign, Ok(response("r", json!([]))), 0).unwrap_err().code(), "host");
    assert_eq!(l.handle_model_response(id, Ok(response("r", json!([message("hi")]))), 0), Ok(true));
    assert_eq!(l.handle_model_response(id, Ok(response("r", json!([]))), 0), Ok(false), "a response is taken once");
    assert_eq!(done(&drain(&mut l)).unwrap().output_text, "hi", "the late answer changed nothing");
}

#[test]
fn repeated_polling_does_not_repeat_effects() {
    let mut l = ToolLoop::new(config(), catalog(), json!("x"), "", 0).unwrap();
    assert_eq!(effects(&drain(&mut l)).len(), 1);
    for _ in 0..3 {
        assert_eq!(l.poll_output(), LoopOutput::Wait);
    }
}

#[test]
fn validates_configuration_and_input() {
    assert!(ToolLoop::new(LoopConfig { model: " ".into(), ..config() }, catalog(), json!("x"), "", 0).is_err());
    assert!(ToolLoop::new(LoopConfig { max_turns: 0, ..config() }, catalog(), json!("x"), "", 0).is_err());
    let mut settings = Map::new();
    settings.insert("previous_response_id".into(), json!("r"));
    let err =
        ToolLoop::new(LoopConfig { model_settings: settings, ..config() }, catalog(), json!("x"), "", 0).unwrap_err();
    assert!(err.to_string().contains("previous_response_id"), "{err}");
    let mut settings = Map::new();
    settings.insert("store".into(), json!(false));
    assert!(ToolLoop::new(LoopConfig { model_settings: settings, ..config() }, catalog(), json!("x"), "", 0).is_err());
    assert!(ToolLoop::new(config(), catalog(), json!(""), "", 0).is_err());
    assert!(ToolLoop::new(config(), catalog(), json!({"a": 1}), "", 0).is_err());
    let mut settings = Map::new();
    settings.insert("temperature".into(), json!(0.2));
    let mut l = ToolLoop::new(
        LoopConfig { model_settings: settings, ..config() },
        Arc::default(),
        json!([{"role":"user","content":"hi"}]),
        "",
        0,
    )
    .unwrap();
    let (_, request) = model_id(&drain(&mut l));
    assert_eq!(request["temperature"], 0.2);
    assert!(request.get("tools").is_none(), "no tools, no tools field");
}

// ---- continuation, approvals, snapshots, cancellation, limits ----

/// A catalog with a read-only tool (`look`) and one that may destroy something (`write`).
fn annotated() -> Arc<Catalog> {
    let tools = vec![
        Tool::from_value(json!({"name": "look", "annotations": {"readOnlyHint": true}})).unwrap(),
        Tool::from_value(json!({"name": "write"})).unwrap(),
    ];
    Arc::new(Catalog::build(vec![ServerTools { server: "s".into(), label: None, tools }], &Default::default(), None))
}

/// `look` (read-only) and `write` (destructive) on the server `everything`.
fn annotated_everything() -> Arc<Catalog> {
    let tools = vec![
        Tool::from_value(json!({"name": "look", "annotations": {"readOnlyHint": true}})).unwrap(),
        Tool::from_value(json!({"name": "write", "annotations": {"readOnlyHint": false, "destructiveHint": true}}))
            .unwrap(),
    ];
    Arc::new(Catalog::build(
        vec![ServerTools { server: "everything".into(), label: None, tools }],
        &Default::default(),
        None,
    ))
}

fn tool_effects(outputs: &[LoopOutput]) -> Vec<(EffectId, String)> {
    effects(outputs)
        .into_iter()
        .filter_map(|e| match e {
            LoopEffect::CallTool { id, call_id, .. } => Some((id, call_id)),
            _ => None,
        })
        .collect()
}

fn paused(outputs: &[LoopOutput]) -> Vec<String> {
    match outputs.last() {
        Some(LoopOutput::Paused(pending)) => pending.iter().map(|p| p.call_id.clone()).collect(),
        other => panic!("expected a pause, got {other:?}"),
    }
}

/// A loop past its first model turn, which asked for `calls`.
fn after_first_turn(config: LoopConfig, catalog: Arc<Catalog>, calls: Value) -> (ToolLoop, Vec<LoopOutput>) {
    let mut l = ToolLoop::new(config, catalog, json!("go"), "", 0).unwrap();
    let (id, _) = model_id(&drain(&mut l));
    l.handle_model_response(id, Ok(response("resp_1", calls)), 0).unwrap();
    let outs = drain(&mut l);
    (l, outs)
}

fn restore(config: LoopConfig, snapshot: &Value, decisions: Vec<Decision>) -> Result<ToolLoop> {
    // Through text, as a snapshot travels between hosts.
    let text = serde_json::to_string(snapshot).unwrap();
    ToolLoop::restore(config, annotated(), &serde_json::from_str(&text).unwrap(), decisions, 0)
}

#[test]
fn replay_sends_the_whole_history_with_reasoning_in_front_and_unknown_items_untouched() {
    let replay = LoopConfig { continuation: Continuation::Replay, ..config() };
    let reasoning = json!({"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAA"});
    let unknown = json!({"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search"}});
    let mut l = ToolLoop::new(replay, catalog(), json!("echo hi"), "", 0).unwrap();
    let (id, request) = model_id(&drain(&mut l));
    assert_eq!(request["store"], false);
    assert_eq!(request["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(request["input"], json!([{"role":"user","content":"echo hi"}]));
    let output = json!([reasoning, unknown, call("c1", "echo", "{}")]);
    l.handle_model_response(id, Ok(response("resp_1", output)), 0).unwrap();
    let (tool, _) = tool_effects(&drain(&mut l))[0].clone();
    l.handle_tool_result(tool, ToolResult::Result(json!({"content":[{"type":"text","text":"hi"}]})), 0).unwrap();
    let (_, request) = model_id(&drain(&mut l));
    assert!(request.get("previous_response_id").is_none());
    assert_eq!(request["store"], false);
    assert_eq!(
        request["input"],
        json!([
            {"role":"user","content":"echo hi"},
            reasoning,
            unknown,
            call("c1", "echo", "{}"),
            {"type":"function_call_output","call_id":"c1","output":"hi"}
        ])
    );
}

#[test]
fn auto_switches_to_replay_when_the_endpoint_keeps_no_responses() {
    let (mut l, outs) = after_first_turn(config(), catalog(), json!([call("c1", "echo", "{}")]));
    let (tool, _) = tool_effects(&outs)[0].clone();
    l.handle_tool_result(tool, ToolResult::Result(json!({"content":[]})), 0).unwrap();
    let (id, request) = model_id(&drain(&mut l));
    assert_eq!(request["previous_response_id"], "resp_1");
    assert!(request.get("store").is_none(), "auto stores while it can");
    let refused = Error::model(Some(400), "openai error: previous_response_id is not supported by this provider");
    l.handle_model_response(id, Err(refused), 0).unwrap();
    let outs = drain(&mut l);
    let (_, request) = model_id(&outs);
    assert!(request.get("previous_response_id").is_none());
    assert_eq!(request["store"], false);
    assert_eq!(request["input"].as_array().unwrap().len(), 3, "user message, call, output");
    assert_eq!(l.turn(), 2, "the same turn, sent again");
    assert!(
        outs.iter()
            .any(|o| matches!(o, LoopOutput::Event(Event::Warning { message, .. }) if message.contains("replaying")))
    );
    // Other errors still end the run; previous_response_id mode never switches.
    let fixed = LoopConfig { continuation: Continuation::PreviousResponseId, ..config() };
    let (mut l, outs) = after_first_turn(fixed, catalog(), json!([call("c1", "echo", "{}")]));
    l.handle_tool_result(tool_effects(&outs)[0].0, ToolResult::Result(json!({"content":[]})), 0).unwrap();
    let (id, _) = model_id(&drain(&mut l));
    l.handle_model_response(id, Err(Error::model(Some(400), "previous_response_id not found")), 0).unwrap();
    assert!(done(&drain(&mut l)).is_err());
    assert_eq!(l.snapshot()["state"]["history"], json!([]), "nothing kept that will never be replayed");
}

#[test]
fn a_run_continued_from_a_stored_response_chains_on_it_and_never_replays_a_partial_history() {
    let mut l = ToolLoop::continuing(config(), catalog(), Some("resp_0".into()), json!("echo hi"), "", 0).unwrap();
    let (_, request) = model_id(&drain(&mut l));
    assert_eq!(request["previous_response_id"], "resp_0");
    assert_eq!(request["input"], "echo hi", "only the new input");
    // A snapshot keeps that the history starts mid-conversation.
    let mut l = ToolLoop::restore(config(), catalog(), &l.snapshot(), Vec::new(), 0).unwrap();
    let (id, again) = model_id(&drain(&mut l));
    assert_eq!(again["previous_response_id"], "resp_0");
    let refused = Error::model(Some(400), "openai error: previous_response_id is not supported by this provider");
    l.handle_model_response(id, Err(refused), 0).unwrap();
    let error = done(&drain(&mut l)).unwrap_err();
    assert!(error.to_string().contains("continue it with the earlier result's history"), "{error}");

    let replay = LoopConfig { continuation: Continuation::Replay, ..config() };
    let refused = ToolLoop::continuing(replay, catalog(), Some("resp_0".into()), json!("hi"), "", 0).unwrap_err();
    assert_eq!(refused.code(), "config");
}

#[test]
fn a_finished_run_gives_its_whole_history_and_a_history_goes_in_front_of_the_input() {
    let (mut l, outs) = after_first_turn(config(), catalog(), json!([call("c1", "echo", "{}")]));
    l.handle_tool_result(tool_effects(&outs)[0].0, ToolResult::Result(json!({"content":[]})), 0).unwrap();
    let (id, _) = model_id(&drain(&mut l));
    l.handle_model_response(id, Ok(response("resp_2", json!([message("done")]))), 0).unwrap();
    let history = done(&drain(&mut l)).unwrap().history.unwrap();
    let kinds: Vec<&str> = history.iter().map(|i| i["type"].as_str().or(i["role"].as_str()).unwrap()).collect();
    assert_eq!(kinds, ["user", "function_call", "function_call_output", "message"]);
    assert_eq!(history[0], json!({"role": "user", "content": "go"}));

    let input = after_history(history.clone(), json!("and now?")).unwrap();
    assert_eq!(input.as_array().unwrap().len(), 5);
    assert_eq!(input[4], json!({"role": "user", "content": "and now?"}));
    assert_eq!(after_history(Vec::new(), json!("x")).unwrap(), json!("x"));
    assert!(after_history(vec![json!(1)], json!("x")).unwrap_err().to_string().contains("history[0]"));
}

#[test]
fn approvals_pause_the_turn_and_decisions_continue_it() {
    let ask = LoopConfig { approve: Approve::Always, ..config() };
    let calls = json!([call("c1", "echo", "{}"), call("c2", "get-sum", "{}"), call("c3", "nope", "{}")]);
    let (mut l, outs) = after_first_turn(ask, catalog(), calls);
    assert!(tool_effects(&outs).is_empty(), "nothing runs before a decision");
    assert_eq!(paused(&outs), ["c1", "c2"], "an unknown tool needs no decision: it is answered at once");
    assert_eq!(
        l.decide(Decision { call_id: "c9".into(), approved: true, reason: None }, 0).unwrap_err().code(),
        "config"
    );
    l.decide(Decision { call_id: "c1".into(), approved: true, reason: None }, 0).unwrap();
    let outs = drain(&mut l);
    let (tool, call_id) = tool_effects(&outs)[0].clone();
    assert_eq!(call_id, "c1");
    l.decide(Decision { call_id: "c2".into(), approved: false, reason: Some("not today".into()) }, 0).unwrap();
    assert!(l.decide(Decision { call_id: "c2".into(), approved: true, reason: None }, 0).is_err(), "decided once");
    l.handle_tool_result(tool, ToolResult::Result(json!({"content":[{"type":"text","text":"ok"}]})), 0).unwrap();
    let (_, request) = model_id(&drain(&mut l));
    let outputs: Vec<&str> =
        request["input"].as_array().unwrap().iter().map(|o| o["output"].as_str().unwrap()).collect();
    assert_eq!(outputs[0], "ok");
    assert_eq!(outputs[1], "Error: rejected by the user: this call was not run (not today)");
    assert!(outputs[2].starts_with("Error: there is no tool named 'nope'"));
}

#[test]
fn the_destructive_policy_asks_only_for_tools_not_annotated_harmless() {
    let ask = LoopConfig { approve: Approve::Destructive, ..config() };
    let (_, outs) =
        after_first_turn(ask.clone(), annotated(), json!([call("c1", "look", "{}"), call("c2", "write", "{}")]));
    assert_eq!(tool_effects(&outs).len(), 1, "the read-only call runs");
    // A server's own policy wins over the agent's.
    let servers = vec![ServerPolicy { server: "s".into(), approve: Some(Approve::Never), max_concurrent_calls: 4 }];
    let (_, outs) = after_first_turn(LoopConfig { servers, ..ask }, annotated(), json!([call("c2", "write", "{}")]));
    assert_eq!(tool_effects(&outs).len(), 1);
}

#[test]
fn a_paused_run_resumes_from_its_snapshot_with_decisions() {
    let ask = LoopConfig { approve: Approve::Always, ..config() };
    let (l, outs) =
        after_first_turn(ask.clone(), annotated(), json!([call("c1", "look", "{}"), call("c2", "write", "{}")]));
    assert_eq!(paused(&outs), ["c1", "c2"]);
    let snapshot = l.snapshot();
    let decisions = vec![
        Decision { call_id: "c1".into(), approved: true, reason: None },
        Decision { call_id: "c2".into(), approved: false, reason: None },
    ];
    let mut resumed = restore(ask.clone(), &snapshot, decisions).unwrap();
    let outs = drain(&mut resumed);
    let calls = tool_effects(&outs);
    assert_eq!(calls.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(), ["c1"]);
    // Without decisions it pauses again; a decision for a call that is not pending is refused.
    assert_eq!(paused(&drain(&mut restore(ask.clone(), &snapshot, vec![]).unwrap())), ["c1", "c2"]);
    let wrong = vec![Decision { call_id: "c7".into(), approved: true, reason: None }];
    assert_eq!(restore(ask, &snapshot, wrong).unwrap_err().code(), "config");
}

#[test]
fn calls_in_flight_at_a_snapshot_follow_the_inflight_policy() {
    let (mut l, outs) = after_first_turn(
        config(),
        annotated(),
        json!([call("c1", "look", "{}"), call("c2", "write", "{}"), call("c3", "look", "{}")]),
    );
    let running = tool_effects(&outs);
    assert_eq!(running.len(), 3);
    // c3's result is recorded; c1 and c2 are in flight when the snapshot is taken.
    l.handle_tool_result(running[2].0, ToolResult::Result(json!({"content":[{"type":"text","text":"seen"}]})), 0)
        .unwrap();
    let _ = drain(&mut l);
    let snapshot = l.snapshot();
    let rerun = |inflight: Inflight| {
        let mut l = restore(LoopConfig { inflight, ..config() }, &snapshot, vec![]).unwrap();
        let outs = drain(&mut l);
        let again: Vec<String> = tool_effects(&outs).into_iter().map(|(_, c)| c).collect();
        (l, outs, again)
    };
    let (mut l, outs, again) = rerun(Inflight::RetryIfIdempotent);
    assert_eq!(again, ["c1"], "only the read-only call runs again; the recorded one never does");
    let unknown = outs.iter().find_map(|o| match o {
        LoopOutput::Event(Event::ToolCallFinished { call_id, output, is_error: true, .. }) if call_id == "c2" => {
            Some(output)
        }
        _ => None,
    });
    assert!(unknown.unwrap().as_str().unwrap().contains("outcome of this call is unknown"));
    let (id, _) = tool_effects(&outs)[0].clone();
    l.handle_tool_result(id, ToolResult::Result(json!({"content":[{"type":"text","text":"again"}]})), 0).unwrap();
    let (_, request) = model_id(&drain(&mut l));
    let outputs: Vec<&str> =
        request["input"].as_array().unwrap().iter().map(|o| o["output"].as_str().unwrap()).collect();
    assert_eq!(outputs[0], "again");
    assert!(outputs[1].contains("unknown"));
    assert_eq!(outputs[2], "seen", "the recorded result is kept");
    assert_eq!(rerun(Inflight::Retry).2, ["c1", "c2"]);
    assert!(rerun(Inflight::Fail).2.is_empty());
}

#[test]
fn each_call_says_whether_it_may_run_again_and_an_interrupted_one_tells_the_model() {
    let calls = json!([call("c1", "look", "{}"), call("c2", "write", "{}")]);
    let flags = |inflight: Inflight| {
        let (_, outs) = after_first_turn(LoopConfig { inflight, ..config() }, annotated(), calls.clone());
        effects(&outs)
            .into_iter()
            .filter_map(|e| match e {
                LoopEffect::CallTool { retry_if_interrupted, .. } => Some(retry_if_interrupted),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(flags(Inflight::RetryIfIdempotent), [true, false], "as a restored snapshot decides: read-only only");
    assert_eq!(flags(Inflight::Retry), [true, true]);
    assert_eq!(flags(Inflight::Fail), [false, false]);

    let (mut l, outs) = after_first_turn(config(), annotated(), calls);
    let running = tool_effects(&outs);
    l.handle_tool_result(running[0].0, ToolResult::Result(json!({"content":[{"type":"text","text":"seen"}]})), 0)
        .unwrap();
    assert_eq!(l.handle_tool_result(running[1].0, ToolResult::Interrupted, 0), Ok(true));
    let (_, request) = model_id(&drain(&mut l));
    let outputs: Vec<&str> =
        request["input"].as_array().unwrap().iter().map(|o| o["output"].as_str().unwrap()).collect();
    assert_eq!(outputs[0], "seen");
    assert!(outputs[1].contains("outcome of this call is unknown"), "{}", outputs[1]);
}

#[test]
fn a_snapshot_while_the_model_thinks_sends_the_same_request_again() {
    let (mut l, outs) = after_first_turn(config(), catalog(), json!([call("c1", "echo", "{}")]));
    l.handle_tool_result(tool_effects(&outs)[0].0, ToolResult::Result(json!({"content":[]})), 0).unwrap();
    let (_, before) = model_id(&drain(&mut l));
    let mut resumed = ToolLoop::restore(config(), catalog(), &l.snapshot(), vec![], 0).unwrap();
    let (_, after) = model_id(&drain(&mut resumed));
    assert_eq!(before, after);
    assert_eq!(resumed.turn(), 2);
    assert!(
        ToolLoop::restore(
            config(),
            catalog(),
            &l.snapshot(),
            vec![Decision { call_id: "c1".into(), approved: true, reason: None }],
            0
        )
        .is_err()
    );
}

#[test]
fn snapshots_of_other_versions_or_damaged_ones_are_refused_clearly() {
    let (l, _) = after_first_turn(config(), catalog(), json!([call("c1", "echo", "{}")]));
    let good = l.snapshot();
    let with = |key: &str, value: Value| {
        let mut s = good.clone();
        s[key] = value;
        ToolLoop::restore(config(), catalog(), &s, vec![], 0).unwrap_err().to_string()
    };
    assert!(with("version", json!(2)).contains("newer mcp-loop"));
    assert!(with("version", json!(0)).contains("format version 0"));
    assert!(with("format", json!("other")).contains("not an mcp-loop run snapshot"));
    assert!(with("state", json!({"phase": {"phase": "tools"}})).contains("damaged"));
    let mut finished = ToolLoop::new(config(), catalog(), json!("x"), "", 0).unwrap();
    let (id, _) = model_id(&drain(&mut finished));
    finished.handle_model_response(id, Ok(response("r", json!([message("hi")]))), 0).unwrap();
    let over = ToolLoop::restore(config(), catalog(), &finished.snapshot(), vec![], 0).unwrap_err();
    assert!(over.to_string().contains("already over"));
}

#[test]
fn cancelling_stops_what_is_in_flight_and_keeps_what_was_recorded() {
    let (mut l, outs) =
        after_first_turn(config(), catalog(), json!([call("c1", "echo", "{}"), call("c2", "get-sum", "{}")]));
    let running = tool_effects(&outs);
    l.handle_tool_result(running[0].0, ToolResult::Result(json!({"content":[]})), 0).unwrap();
    let _ = drain(&mut l);
    l.cancel("the user pressed stop");
    let outs = drain(&mut l);
    assert_eq!(effects(&outs), [LoopEffect::Cancel { id: running[1].0 }]);
    let result = done(&outs).unwrap();
    assert_eq!((result.status, result.reason.as_deref()), (RunStatus::Cancelled, Some("the user pressed stop")));
    let records: Vec<(&str, bool)> =
        result.tool_calls.iter().map(|c| (c.output.as_str().unwrap(), c.is_error)).collect();
    assert_eq!(records[0], ("(the tool returned no content)", false), "the finished call stays in the record");
    assert_eq!(
        records[1],
        ("Error: cancelled while it was running: its outcome is unknown", true),
        "so does the one in flight"
    );
    assert!(l.is_done());
    l.cancel("again");
    assert!(drain(&mut l).is_empty(), "cancelling an ended run does nothing");
    // While the model thinks, its request is what gets cancelled.
    let mut l = ToolLoop::new(config(), catalog(), json!("x"), "", 0).unwrap();
    let (id, _) = model_id(&drain(&mut l));
    l.cancel("stop");
    assert_eq!(effects(&drain(&mut l)), [LoopEffect::Cancel { id }]);
}

#[test]
fn calls_per_server_and_per_turn_are_limited() {
    let servers = vec![ServerPolicy { server: "everything".into(), approve: None, max_concurrent_calls: 2 }];
    let five = json!((1..=5).map(|i| call(&format!("c{i}"), "echo", "{}")).collect::<Vec<_>>());
    let (mut l, outs) = after_first_turn(LoopConfig { servers, ..config() }, catalog(), five.clone());
    let first = tool_effects(&outs);
    assert_eq!(first.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(), ["c1", "c2"]);
    l.handle_tool_result(first[1].0, ToolResult::Result(json!({"content":[]})), 0).unwrap();
    assert_eq!(tool_effects(&drain(&mut l)).iter().map(|c| c.1.as_str()).collect::<Vec<_>>(), ["c3"], "a slot freed");

    let (_, outs) = after_first_turn(LoopConfig { max_tool_calls_per_turn: Some(2), ..config() }, catalog(), five);
    assert_eq!(tool_effects(&outs).len(), 2);
    let refused = outs.iter().filter(|o| matches!(o, LoopOutput::Event(Event::ToolCallFinished { output, .. }) if output.as_str().is_some_and(|t| t.contains("at most 2 tool calls")))).count();
    assert_eq!(refused, 3);

    // By default a flood is bounded too: 64 run (4 at a time on the server), the rest are refused.
    let flood = json!((1..=500).map(|i| call(&format!("c{i}"), "echo", "{}")).collect::<Vec<_>>());
    let (_, outs) = after_first_turn(config(), catalog(), flood);
    assert_eq!(tool_effects(&outs).len(), 4);
    let refused = outs.iter().filter(|o| matches!(o, LoopOutput::Event(Event::ToolCallFinished { output, .. }) if output.as_str().is_some_and(|t| t.contains("at most 64 tool calls")))).count();
    assert_eq!(refused, 436);
}

#[test]
fn decisions_given_one_by_one_never_make_a_pause_that_is_not_true() {
    let ask = LoopConfig { approve: Approve::Always, ..config() };
    let (mut l, outs) =
        after_first_turn(ask.clone(), annotated(), json!([call("c1", "look", "{}"), call("c2", "write", "{}")]));
    assert_eq!(paused(&outs), ["c1", "c2"]);
    // Reject c1, then approve c2, without polling in between: c2 runs, and no pause comes out.
    l.decide(Decision { call_id: "c1".into(), approved: false, reason: None }, 0).unwrap();
    l.decide(Decision { call_id: "c2".into(), approved: true, reason: None }, 0).unwrap();
    let outs = drain(&mut l);
    assert_eq!(tool_effects(&outs).iter().map(|c| c.1.as_str()).collect::<Vec<_>>(), ["c2"]);
    assert!(!outs.iter().any(|o| matches!(o, LoopOutput::Paused(_))), "{outs:?}");
    // The same through a snapshot.
    let (l, _) =
        after_first_turn(ask.clone(), annotated(), json!([call("c1", "look", "{}"), call("c2", "write", "{}")]));
    let decisions = vec![
        Decision { call_id: "c1".into(), approved: false, reason: None },
        Decision { call_id: "c2".into(), approved: true, reason: None },
    ];
    let outs = drain(&mut restore(ask, &l.snapshot(), decisions).unwrap());
    assert_eq!(tool_effects(&outs).len(), 1);
    assert!(!outs.iter().any(|o| matches!(o, LoopOutput::Paused(_))));
}

#[test]
fn a_snapshot_that_breaks_what_the_machine_relies_on_is_refused() {
    let (l, _) = after_first_turn(config(), annotated(), json!([call("c1", "look", "{}"), call("c2", "write", "{}")]));
    let good = l.snapshot();
    let broken = |change: &dyn Fn(&mut Value)| {
        let mut s = good.clone();
        change(&mut s);
        ToolLoop::restore(config(), annotated(), &s, vec![], 0).unwrap_err().to_string()
    };
    assert!(broken(&|s| s["state"]["phase"]["calls"][1]["callId"] = json!("c1")).contains("appears twice"));
    assert!(broken(&|s| s["state"]["phase"]["calls"][0]["route"] = Value::Null).contains("nowhere to go"));
    assert!(broken(&|s| s["state"]["nextEffect"] = json!(1)).contains("effect ids"));
    assert!(broken(&|s| s["state"]["nextEffect"] = json!(u64::MAX)).contains("effect ids"));
    assert!(
        broken(&|s| s["state"]["phase"]["calls"][1]["effect"] = s["state"]["phase"]["calls"][0]["effect"].clone())
            .contains("effect ids")
    );
    assert!(broken(&|s| s["state"]["turn"] = json!(u32::MAX)).contains("turn count"));
}

#[test]
fn a_bad_decision_in_a_list_changes_nothing() {
    let ask = LoopConfig { approve: Approve::Always, ..config() };
    let (mut l, _) = after_first_turn(ask, annotated(), json!([call("c1", "look", "{}"), call("c2", "write", "{}")]));
    let decide = |id: &str, approved| Decision { call_id: id.into(), approved, reason: None };
    assert!(l.decide_all(vec![decide("c1", true), decide("c9", true)], 0).is_err());
    assert!(l.decide_all(vec![decide("c1", true), decide("c1", false)], 0).is_err(), "one decision per call");
    assert!(drain(&mut l).is_empty(), "nothing was applied");
    l.decide_all(vec![decide("c1", true), decide("c2", true)], 0).unwrap();
    assert_eq!(tool_effects(&drain(&mut l)).len(), 2);
}
