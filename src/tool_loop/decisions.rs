//! A person's decisions on calls that wait for approval.

use super::state::{CallState, Phase, set_output};
use super::{LoopOutput, ToolLoop};
use crate::base::error::{Error, Result};
use crate::base::json::Fields;
use crate::content::ToolOutput;
use crate::wire::responses::cap_message;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A person's decision on a pending call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The call decided on.
    pub call_id: String,
    /// Run it, or not.
    pub approved: bool,
    /// Told to the model with a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ToolLoop {
    /// A decision on a call waiting for approval: approved calls run, rejected ones tell the model so.
    pub fn decide(&mut self, decision: Decision, now_ms: u64) -> Result<()> {
        self.decide_all(vec![decision], now_ms)
    }

    /// Several decisions at once: all are checked before any is applied, so a bad one changes nothing.
    pub fn decide_all(&mut self, decisions: Vec<Decision>, now_ms: u64) -> Result<()> {
        for (i, d) in decisions.iter().enumerate() {
            let Some(call) = self.calls().iter().find(|c| c.call_id == d.call_id) else {
                return Err(Error::config(format!("no call '{}' in this turn", d.call_id)));
            };
            if call.state != CallState::Awaiting || decisions[..i].iter().any(|e| e.call_id == d.call_id) {
                return Err(Error::config(format!("call '{}' is not waiting for a decision", d.call_id)));
            }
        }
        self.now_ms = now_ms;
        for decision in decisions {
            let Some(call) = self.calls_mut().iter_mut().find(|c| c.call_id == decision.call_id) else { continue };
            if decision.approved {
                call.state = CallState::Ready;
            } else {
                let mut message = "rejected by the user: this call was not run".to_owned();
                if let Some(reason) = decision.reason.filter(|r| !r.is_empty()) {
                    message = format!("{message} ({})", cap_message(&reason));
                }
                let event = set_output(call, ToolOutput::error(&message), now_ms);
                self.out.push_back(LoopOutput::Event(event));
            }
        }
        if let Phase::Tools { paused, .. } = &mut self.state.phase {
            *paused = false;
        }
        self.progress();
        Ok(())
    }
}

impl Decision {
    /// Reads decisions from JSON `[{"callId", "approved", "reason"?}]`.
    pub fn list_from_json(value: &Value) -> Result<Vec<Decision>> {
        let Value::Array(items) = value else {
            return Err(Error::config("decisions must be a list of {callId, approved, reason?}"));
        };
        let read = |(i, item): (usize, &Value)| -> std::result::Result<Decision, String> {
            let f = Fields::new(item, &format!("decisions[{i}]"))?;
            f.only(&["callId", "approved", "reason"])?;
            Ok(Decision {
                call_id: f.string("callId")?.ok_or(format!("decisions[{i}].callId is required"))?,
                approved: f.flag("approved")?.ok_or(format!("decisions[{i}].approved must be true or false"))?,
                reason: f.string("reason")?,
            })
        };
        items.iter().enumerate().map(read).collect::<std::result::Result<_, _>>().map_err(Error::config)
    }
}
