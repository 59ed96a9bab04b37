//! A run as versioned JSON: `{"format": "mcp-loop/run", "version": 1, "state": {…}}`. The configuration and
//! the tool catalog are not in it (the restoring host has its own, and a snapshot holds no server address or
//! credential); every call made keeps its route, so it does not depend on the catalog being the same.
//!
//! Written and read by hand, like every JSON reader of the crate: derived serde readers would cost tens of
//! kilobytes of WebAssembly, and a hand reader names the field that is wrong.

use super::state::{Call, CallState, Phase, Route, State, set_output};
use super::{Decision, LoopConfig, LoopOutput, ToolLoop};
use crate::base::error::{Error, Result};
use crate::base::json::Fields;
use crate::base::queue::Queue;
use crate::content::ToolOutput;
use crate::event::{CallStatus, ToolCallRecord, TurnRecord};
use crate::schema::Catalog;
use crate::wire::responses::Usage;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The snapshot format this build writes and reads.
pub const SNAPSHOT_VERSION: u64 = 1;

const FORMAT: &str = "mcp-loop/run";

/// What the model is told about a call that was running when its run was interrupted.
pub(super) const UNKNOWN_OUTCOME: &str = "the outcome of this call is unknown: the run was interrupted while it was running, so it \
     may or may not have taken effect. Check before calling it again.";

impl ToolLoop {
    /// The run's state as versioned JSON, with its trace id. Take it between steps (after draining
    /// `poll_output`); calls the host has been given are recorded as in flight.
    pub fn snapshot(&self) -> Value {
        let state = write_state(&self.state);
        json!({"format": FORMAT, "version": SNAPSHOT_VERSION, "state": state, "traceId": self.state.trace_id})
    }

    /// Continues the run of `snapshot` with this host's configuration and catalog, applying `decisions` to
    /// calls waiting for approval. A pending model request is sent again; calls that were in flight follow
    /// `config.inflight`; recorded results are kept and never asked for again. The run keeps its trace id.
    pub fn restore(
        config: LoopConfig,
        catalog: Arc<Catalog>,
        snapshot: &Value,
        decisions: Vec<Decision>,
        now_ms: u64,
    ) -> Result<ToolLoop> {
        config.validate().map_err(Error::config)?;
        let state = read(snapshot)?;
        let mut this = ToolLoop { config, catalog, state, out: Queue::new(), now_ms };
        match std::mem::replace(&mut this.state.phase, Phase::Done) {
            Phase::Done => return Err(Error::config("the run in this snapshot is already over")),
            Phase::Model { input, previous, .. } => {
                if !decisions.is_empty() {
                    return Err(Error::config("this run waits for the model, not for decisions"));
                }
                this.state.turn = this.state.turn.saturating_sub(1);
                this.send_model(input, previous, true);
            }
            Phase::Tools { response_id, mut calls, .. } => {
                let policy = this.config.inflight;
                for call in calls.iter_mut() {
                    let CallState::Running { .. } = call.state else { continue };
                    let retry_safe = call.route.as_ref().is_some_and(|r| r.retry_safe);
                    if policy.retries(retry_safe) {
                        call.state = CallState::Ready;
                    } else {
                        let event = set_output(call, ToolOutput::error(UNKNOWN_OUTCOME), this.now_ms);
                        this.out.push_back(LoopOutput::Event(event));
                    }
                }
                this.state.phase = Phase::Tools { response_id, calls, paused: false };
                if decisions.is_empty() {
                    this.progress();
                } else {
                    this.decide_all(decisions, now_ms)?;
                }
            }
        }
        Ok(this)
    }
}

fn read(snapshot: &Value) -> Result<State> {
    if snapshot.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(Error::config("not an mcp-loop run snapshot (its format is not \"mcp-loop/run\")"));
    }
    match snapshot.get("version").and_then(Value::as_u64) {
        Some(SNAPSHOT_VERSION) => {}
        Some(v) if v > SNAPSHOT_VERSION => {
            return Err(Error::config(format!(
                "the snapshot has format version {v}, written by a newer mcp-loop; this one reads version {SNAPSHOT_VERSION}"
            )));
        }
        other => {
            let has = other.map_or_else(|| "no format version".to_owned(), |v| format!("format version {v}"));
            return Err(Error::config(format!(
                "the snapshot has {has}; this mcp-loop reads version {SNAPSHOT_VERSION}"
            )));
        }
    }
    let state = snapshot.get("state").unwrap_or(&Value::Null);
    let trace_id = match snapshot.get("traceId") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(id)) => id.clone(),
        Some(_) => return Err(Error::config("the snapshot is damaged: traceId must be a string")),
    };
    let state = read_state(state, trace_id).and_then(check);
    state.map_err(|e| Error::config(format!("the snapshot is damaged: {e}")))
}

/// What the machine relies on and a snapshot (from anywhere) could break: unique calls, a route for every call
/// still to run, effect ids below the next one, counters far from overflowing.
fn check(state: State) -> Read<State> {
    let mut ids: Vec<u64> = Vec::new();
    if let Phase::Model { effect, .. } = &state.phase {
        ids.push(*effect);
    }
    if let Phase::Tools { calls, .. } = &state.phase {
        for (i, call) in calls.iter().enumerate() {
            if calls[..i].iter().any(|c| c.call_id == call.call_id) {
                return Err(format!("call '{}' appears twice", call.call_id));
            }
            match call.state {
                CallState::Done { .. } => {}
                _ if call.route.is_none() => return Err(format!("call '{}' has nowhere to go", call.call_id)),
                CallState::Running { effect, .. } => ids.push(effect),
                _ => {}
            }
        }
    }
    let unique = ids.iter().enumerate().all(|(i, id)| !ids[..i].contains(id));
    if !unique || ids.iter().any(|id| *id >= state.next_effect) || state.next_effect > 1 << 49 {
        return Err("its effect ids are inconsistent".into());
    }
    if state.turn > u32::MAX / 2 {
        return Err("its turn count is out of range".into());
    }
    Ok(state)
}

fn write_state(state: &State) -> Value {
    let phase = match &state.phase {
        Phase::Model { effect, input, previous } => {
            json!({"phase": "model", "effect": effect, "input": input, "previous": previous})
        }
        Phase::Tools { response_id, calls, paused } => json!({
            "phase": "tools",
            "responseId": response_id,
            "paused": paused,
            "calls": calls.iter().map(write_call).collect::<Vec<_>>(),
        }),
        Phase::Done => json!({"phase": "done"}),
    };
    json!({
        "phase": phase,
        "turn": state.turn,
        "usage": state.usage,
        "records": state.records,
        "turnDetails": state.turn_details,
        "history": state.history,
        "replaying": state.replaying,
        "continued": state.continued,
        "nextEffect": state.next_effect,
    })
}

fn write_call(call: &Call) -> Value {
    let mut out = Map::new();
    out.insert("callId".into(), json!(call.call_id));
    out.insert("name".into(), json!(call.name));
    if let Some(r) = &call.route {
        let mut route = json!({"server": r.server, "tool": r.tool, "retrySafe": r.retry_safe});
        if let Some(annotations) = &r.annotations {
            route["annotations"] = annotations.clone();
        }
        out.insert("route".into(), route);
    }
    out.insert("arguments".into(), call.arguments.clone());
    let state = match &call.state {
        CallState::Awaiting => "awaiting",
        CallState::Ready => "ready",
        CallState::Running { effect, .. } => {
            out.insert("effect".into(), json!(effect));
            "running"
        }
        CallState::Done { output, is_error } => {
            out.insert("output".into(), output.clone());
            out.insert("isError".into(), json!(is_error));
            "done"
        }
    };
    out.insert("state".into(), json!(state));
    Value::Object(out)
}

type Read<T> = std::result::Result<T, String>;

fn read_state(value: &Value, trace_id: String) -> Read<State> {
    let f = Fields::new(value, "state")?;
    let phase = value.get("phase").ok_or("state.phase is missing")?;
    Ok(State {
        phase: read_phase(phase)?,
        turn: required_count(&f, "turn")?,
        usage: read_usage(f.value("usage").unwrap_or(&Value::Null)),
        records: f.array("records")?.iter().map(read_record).collect::<Read<_>>()?,
        turn_details: f.array("turnDetails")?.iter().map(read_turn).collect::<Read<_>>()?,
        history: f.array("history")?.to_vec(),
        replaying: f.flag("replaying")?.unwrap_or(false),
        continued: f.flag("continued")?.unwrap_or(false),
        next_effect: required(&f, "nextEffect")?,
        trace_id,
    })
}

fn read_phase(value: &Value) -> Read<Phase> {
    let f = Fields::new(value, "state.phase")?;
    match f.string("phase")?.as_deref() {
        Some("model") => Ok(Phase::Model {
            effect: required(&f, "effect")?,
            input: f.value("input").cloned().ok_or("state.phase.input is missing")?,
            previous: f.string("previous")?,
        }),
        Some("tools") => Ok(Phase::Tools {
            response_id: f.string("responseId")?.ok_or("state.phase.responseId is missing")?,
            calls: f.array("calls")?.iter().map(read_call).collect::<Read<_>>()?,
            paused: f.flag("paused")?.unwrap_or(false),
        }),
        Some("done") => Ok(Phase::Done),
        _ => Err("state.phase.phase must be model, tools or done".into()),
    }
}

fn read_call(value: &Value) -> Read<Call> {
    let f = Fields::new(value, "call")?;
    let route = match f.value("route") {
        None => None,
        Some(route) => {
            let r = Fields::new(route, "call.route")?;
            Some(Route {
                server: r.string("server")?.ok_or("call.route.server is missing")?,
                tool: r.string("tool")?.ok_or("call.route.tool is missing")?,
                retry_safe: r.flag("retrySafe")?.unwrap_or(false),
                annotations: r.value("annotations").cloned(),
            })
        }
    };
    let state = match f.string("state")?.as_deref() {
        Some("awaiting") => CallState::Awaiting,
        Some("ready") => CallState::Ready,
        Some("running") => CallState::Running { effect: required(&f, "effect")?, started_ms: None },
        Some("done") => CallState::Done {
            output: f.value("output").cloned().unwrap_or(Value::Null),
            is_error: f.flag("isError")?.unwrap_or(false),
        },
        _ => return Err("call.state must be awaiting, ready, running or done".into()),
    };
    Ok(Call {
        call_id: f.string("callId")?.ok_or("call.callId is missing")?,
        name: f.string("name")?.unwrap_or_default(),
        route,
        arguments: f.value("arguments").cloned().unwrap_or(Value::Null),
        state,
    })
}

fn read_record(value: &Value) -> Read<ToolCallRecord> {
    let f = Fields::new(value, "record")?;
    Ok(ToolCallRecord {
        turn: required_count(&f, "turn")?,
        call_id: f.string("callId")?.ok_or("record.callId is missing")?,
        name: f.string("name")?.unwrap_or_default(),
        server: f.string("server")?,
        tool: f.string("tool")?,
        arguments: f.value("arguments").cloned().unwrap_or(Value::Null),
        output: f.value("output").cloned().unwrap_or(Value::Null),
        is_error: f.flag("isError")?.unwrap_or(false),
        status: CallStatus::Done,
    })
}

fn read_turn(value: &Value) -> Read<TurnRecord> {
    let f = Fields::new(value, "turnDetails")?;
    Ok(TurnRecord {
        turn: required_count(&f, "turn")?,
        response_id: f.string("responseId")?.unwrap_or_default(),
        headers: f.headers("headers")?.into_iter().map(|(k, v)| (k, Value::String(v))).collect(),
    })
}

fn read_usage(value: &Value) -> Usage {
    let n = |key: &str| value.get(key).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        input_tokens: n("inputTokens"),
        output_tokens: n("outputTokens"),
        total_tokens: n("totalTokens"),
        cached_tokens: n("cachedTokens"),
        reasoning_tokens: n("reasoningTokens"),
    }
}

fn required(f: &Fields<'_>, key: &str) -> Read<u64> {
    f.number(key)?.ok_or_else(|| format!("{key} is missing"))
}

fn required_count(f: &Fields<'_>, key: &str) -> Read<u32> {
    f.count(key)?.ok_or_else(|| format!("{key} is missing"))
}
