//! The model endpoint as a sans-IO machine: each `send` is one Responses request over HTTP, read as JSON or
//! as an SSE stream (text deltas come out as they arrive), with a timeout per attempt and retries of what may
//! heal (network errors, timeouts, 408, 409, 429, 5xx) after an exponential, jittered backoff or the
//! endpoint's `Retry-After`. Time arrives as `now_ms`; waiting is a timer effect.

mod portkey;

pub use portkey::{DEFAULT_BASE_URL, PortkeyConfig};
pub(crate) use portkey::{MAX_RESPONSE_BYTES, Span};

use crate::base::error::{Error, Result};
use crate::base::http::{self, BodyBuffer, HttpRequest};
use crate::base::io::{Effect, EffectId, Effects, OpId, Owner};
use crate::base::json_scan::read_without;
use crate::base::mix::backoff;
use crate::base::queue::Queue;
use crate::base::sse::{SseEvent, SseParser};
use crate::base::vec_map::VecMap;
use crate::wire::responses::{ModelRequest, ModelResponse, cap_message};
use portkey::parse_response;
use serde_json::Value;

/// The longest wait before a retry; an endpoint asking for more gets its error reported instead.
const MAX_RETRY_WAIT_MS: u64 = 120_000;

/// What [`ModelClient::poll_output`] gives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ModelOutput {
    /// Work for the host.
    Effect(Effect),
    /// Something that happened to a request.
    Event(ModelEvent),
}

/// What a request did.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // The variants' docs say what the fields are.
pub(crate) enum ModelEvent {
    /// Streamed text of request `call`.
    Delta { call: OpId, delta: String },
    /// Attempt `attempt` failed with `error`; the next one starts in `delay_ms`.
    Retrying { call: OpId, attempt: u32, delay_ms: u64, error: Error },
    /// Request `call` is over.
    Done { call: OpId, result: Result<ModelResponse> },
}

#[derive(Debug)]
enum Body {
    Json(BodyBuffer),
    Stream(Box<Streamed>),
}

#[derive(Debug)]
struct Streamed {
    parser: SseParser,
    bytes: usize,
}

#[derive(Debug)]
struct Call {
    request: HttpRequest,
    /// Failed attempts so far.
    failures: u32,
    /// The HTTP effect in flight, if any.
    http: Option<EffectId>,
    /// The timeout of the attempt in flight, or the backoff before the next one.
    timer: EffectId,
    status: u16,
    /// The `x-portkey-*` headers of the last response, lower-cased.
    headers: Vec<(String, String)>,
    /// The last response's `Retry-After`.
    retry_after_ms: Option<u64>,
    body: Body,
}

/// The model endpoint's requests in flight. The shape of every machine here:
/// - commands: [`ModelClient::send`] (a request named by the caller's [`OpId`], echoed in its events) and
///   [`ModelClient::cancel`];
/// - inputs: `handle_http_*` and [`ModelClient::handle_timer`] with the [`EffectId`] they report and the time;
///   each returns whether the id was this client's;
/// - output: drain [`ModelClient::poll_output`] until `None` after every command or input.
#[derive(Debug)]
pub(crate) struct ModelClient {
    portkey: PortkeyConfig,
    timeout_ms: u64,
    max_retries: u32,
    calls: VecMap<OpId, Call>,
    effects: Effects,
    events: Queue<ModelEvent>,
}

impl ModelClient {
    /// A client for `portkey`; each attempt may take `timeout_ms`, and a request is tried `max_retries` more
    /// times when it fails in a way that may heal.
    pub(crate) fn new(portkey: PortkeyConfig, timeout_ms: u64, max_retries: u32) -> ModelClient {
        let (effects, events) = (Effects::new(Owner::Model), Queue::new());
        ModelClient { portkey, timeout_ms, max_retries, calls: VecMap::default(), effects, events }
    }

    /// Sends the request `body` (a Responses request) as `call`, traced as `span`.
    pub(crate) fn send(&mut self, call: OpId, body: &ModelRequest, span: &Span, now_ms: u64) {
        let request = self.portkey.request(body, span);
        let placeholder = Call {
            request,
            failures: 0,
            http: None,
            timer: EffectId::new(Owner::Model, 0),
            status: 0,
            headers: Vec::new(),
            retry_after_ms: None,
            body: Body::Json(BodyBuffer::new(0)),
        };
        self.calls.insert(call, placeholder);
        self.attempt(call, now_ms);
    }

    /// Stops request `call`: what is in flight is cancelled and nothing more is reported for it. Returns whether
    /// it was in flight here.
    pub(crate) fn cancel(&mut self, call: OpId) -> bool {
        let Some(c) = self.calls.remove(&call) else { return false };
        self.stop(&c);
        true
    }

    /// Stops every request; returns them.
    pub(crate) fn cancel_all(&mut self) -> Vec<OpId> {
        let calls = self.calls.take();
        calls.iter().for_each(|(_, c)| self.stop(c));
        calls.into_iter().map(|(op, _)| op).collect()
    }

    /// Whether this client issued effect `id`, answered or not.
    pub(crate) fn issued(&self, id: EffectId) -> bool {
        self.effects.issued(id)
    }

    /// The response head of HTTP effect `key`.
    pub(crate) fn handle_http_head(&mut self, key: EffectId, status: u16, headers: &[(String, String)]) -> bool {
        let Some((_, call)) = self.by_http(key) else { return false };
        call.status = status;
        call.headers = headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
            .filter(|(name, _)| name.starts_with("x-portkey-"))
            .collect();
        call.retry_after_ms = retry_after(headers);
        let streamed = http::media_type(http::header(headers, "content-type")) == "text/event-stream";
        call.body = if streamed && (200..300).contains(&status) {
            Body::Stream(Box::new(Streamed { parser: SseParser::new(MAX_RESPONSE_BYTES), bytes: 0 }))
        } else {
            Body::Json(BodyBuffer::new(MAX_RESPONSE_BYTES))
        };
        true
    }

    /// A body chunk of HTTP effect `key`.
    pub(crate) fn handle_http_chunk(&mut self, key: EffectId, chunk: &[u8], now_ms: u64) -> bool {
        let Some((id, call)) = self.by_http(key) else { return false };
        let mut deltas = Vec::new();
        let mut outcome = None;
        match &mut call.body {
            Body::Json(buffer) => {
                if !buffer.push(chunk) {
                    outcome = Some(Err(too_large()));
                }
            }
            Body::Stream(stream) => {
                stream.bytes = stream.bytes.saturating_add(chunk.len());
                let mut events = Vec::new();
                if stream.parser.feed(chunk, &mut events).is_err() || stream.bytes > 2 * MAX_RESPONSE_BYTES {
                    outcome = Some(Err(too_large()));
                }
                for event in events {
                    match read_stream_event(&event) {
                        StreamItem::Delta(delta) => deltas.push(delta),
                        // The response is whole at its final event: a connection kept open (or reset) after it
                        // changes nothing.
                        StreamItem::Final(result) => {
                            outcome.get_or_insert(result);
                            break;
                        }
                        StreamItem::Other => {}
                    }
                }
            }
        }
        self.events.extend(deltas.into_iter().map(|delta| ModelEvent::Delta { call: id, delta }));
        if let Some(result) = outcome {
            self.effects.cancel(key);
            self.finish(id, result, true, now_ms);
        }
        true
    }

    /// The end of HTTP effect `key`'s body.
    pub(crate) fn handle_http_end(&mut self, key: EffectId, now_ms: u64) -> bool {
        let Some((id, call)) = self.by_http(key) else { return false };
        let status = call.status;
        let result = match &mut call.body {
            Body::Json(buffer) => parse_response(status, buffer),
            Body::Stream(_) => Err(Error::model(Some(status), "the stream ended before the response was complete")),
        };
        self.finish(id, result, true, now_ms);
        true
    }

    /// HTTP effect `key` failed in transport; `lasting` when trying again cannot help.
    pub(crate) fn handle_http_error(&mut self, key: EffectId, message: &str, lasting: bool, now_ms: u64) -> bool {
        let Some((id, _)) = self.by_http(key) else { return false };
        self.finish(id, Err(Error::model(None, message)), !lasting, now_ms);
        true
    }

    /// Timer `key` fired: an attempt timed out, or a backoff is over.
    pub(crate) fn handle_timer(&mut self, key: EffectId, now_ms: u64) -> bool {
        let Some((id, call)) = self.calls.iter_mut().find(|(_, c)| c.timer == key).map(|(id, c)| (*id, c)) else {
            return false;
        };
        match call.http.take() {
            Some(http) => {
                self.effects.cancel(http);
                let error = Error::model(None, format!("timed out after {} ms", self.timeout_ms));
                self.finish(id, Err(error), true, now_ms);
            }
            None => self.attempt(id, now_ms),
        }
        true
    }

    /// The next effect or event; `None` when there is nothing more until an input or a command.
    pub(crate) fn poll_output(&mut self) -> Option<ModelOutput> {
        match self.effects.pop() {
            Some(effect) => Some(ModelOutput::Effect(effect)),
            None => self.events.pop_front().map(ModelOutput::Event),
        }
    }

    fn attempt(&mut self, id: OpId, now_ms: u64) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        let http = self.effects.http(call.request.clone(), None);
        let timer = self.effects.timer(now_ms.saturating_add(self.timeout_ms));
        call.http = Some(http);
        call.timer = timer;
        call.status = 0;
        call.headers.clear();
        call.retry_after_ms = None;
    }

    /// Ends an attempt: a retry when the failure may heal (as `retryable` says, unless the caller knows it cannot:
    /// `may_heal` false) and attempts are left, else the call's result.
    fn finish(&mut self, id: OpId, result: Result<ModelResponse>, may_heal: bool, now_ms: u64) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        call.http = None;
        let timer = call.timer;
        let wait = match &result {
            Err(error) if may_heal && retryable(error) && call.failures < self.max_retries => {
                let wait = call.retry_after_ms.unwrap_or_else(|| backoff(call.failures, now_ms ^ id.id.get()));
                (wait <= MAX_RETRY_WAIT_MS).then_some(wait)
            }
            _ => None,
        };
        self.effects.cancel(timer);
        match (wait, result) {
            (Some(delay_ms), Err(error)) => {
                call.failures += 1;
                let attempt = call.failures;
                call.timer = self.effects.timer(now_ms.saturating_add(delay_ms));
                self.events.push_back(ModelEvent::Retrying { call: id, attempt, delay_ms, error });
            }
            (_, mut result) => {
                let Some(call) = self.calls.remove(&id) else { return };
                match &mut result {
                    Ok(response) => response.headers = call.headers,
                    // Which endpoint failed: a forgotten baseURL shows as the hosted default.
                    Err(Error::Model { message, .. }) => {
                        if let Some(origin) = self.portkey.origin() {
                            message.push_str(&format!(" (endpoint {origin})"));
                        }
                    }
                    Err(_) => {}
                }
                self.events.push_back(ModelEvent::Done { call: id, result });
            }
        }
    }

    fn stop(&mut self, call: &Call) {
        if let Some(http) = call.http {
            self.effects.cancel(http);
        }
        self.effects.cancel(call.timer);
    }

    fn by_http(&mut self, key: EffectId) -> Option<(OpId, &mut Call)> {
        self.calls.iter_mut().find(|(_, c)| c.http == Some(key)).map(|(id, c)| (*id, c))
    }
}

enum StreamItem {
    Delta(String),
    Final(Result<ModelResponse>),
    Other,
}

/// Reads one event of a streamed response: text deltas, and the final response (completed, incomplete or
/// failed all carry it whole) or an `error` event.
fn read_stream_event(event: &SseEvent) -> StreamItem {
    // Each event that carries the response carries the echo of the request's tools too: cut unread.
    let Ok(mut data) = read_without(event.data.as_bytes(), &["response", "tools"]) else { return StreamItem::Other };
    let kind = data.get("type").and_then(Value::as_str).or(event.event.as_deref()).unwrap_or("");
    match kind {
        "response.output_text.delta" => {
            StreamItem::Delta(data.get("delta").and_then(Value::as_str).unwrap_or("").to_owned())
        }
        "response.completed" | "response.incomplete" | "response.failed" => {
            // Taken out, not copied: it is the whole response.
            let response = data.get_mut("response").map(Value::take).unwrap_or(Value::Null);
            StreamItem::Final(
                ModelResponse::from_value(response).map_err(|e| Error::model(None, format!("malformed response: {e}"))),
            )
        }
        "error" => {
            let text = |key: &str| data.get(key).or_else(|| data.get("error")?.get(key)).and_then(Value::as_str);
            let message = text("message").unwrap_or("the stream reported an error without a message");
            // The stream's HTTP status was 200; the code says what kind of failure it is, so that only what may
            // heal is tried again.
            let status = match text("code").unwrap_or("") {
                c if c.contains("rate_limit") => 429,
                c if c.is_empty() || c.contains("server_error") || c.contains("overloaded") => 500,
                _ => 400,
            };
            StreamItem::Final(Err(Error::model(Some(status), cap_message(message))))
        }
        _ => StreamItem::Other,
    }
}

fn too_large() -> Error {
    Error::model(None, format!("the response exceeded {MAX_RESPONSE_BYTES} bytes"))
}

/// Whether a failure may heal on its own: no answer (network, timeout), or 408, 409, 429, 5xx.
fn retryable(error: &Error) -> bool {
    match error {
        Error::Model { status: None, message } => !message.starts_with("the response exceeded"),
        Error::Model { status: Some(s), .. } => matches!(s, 408 | 409 | 429 | 500..=599),
        _ => false,
    }
}

/// `Retry-After` in whole seconds (an HTTP date cannot be read without a clock and is ignored), or
/// `retry-after-ms`.
fn retry_after(headers: &[(String, String)]) -> Option<u64> {
    let number = |name: &str| http::header(headers, name).and_then(|v| v.trim().parse::<u64>().ok());
    number("retry-after-ms").or_else(|| number("retry-after").map(|s| s.saturating_mul(1000)))
}

#[cfg(test)]
mod tests;
