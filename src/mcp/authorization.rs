//! A server that wants authorization (HTTP 401, or 403 for more scope): the refused requests wait while the
//! client's owner authorizes (the `auth` layer, which this layer does not know), then go out again with the
//! token, or fail with the reason. A refused request never ran, so sending it again is safe.

use super::lifecycle::Phase;
use super::requests::Rpc;
use super::transport::Failure;
use super::{McpClient, McpEvent};

impl McpClient {
    /// From now on a request refused for want of authorization waits and is reported as
    /// [`McpEvent::AuthChallenge`], instead of failing (Streamable HTTP servers).
    pub fn enable_authorization(&mut self) {
        self.transport.authorize();
    }

    pub(super) fn unauthorized(&mut self, rpc: i64, status: u16, challenge: Vec<String>) {
        let Some(kind) = self.pending.get(&rpc).map(|p| p.kind) else { return };
        self.settle(rpc);
        let first = self.unauthorized.is_empty();
        self.unauthorized.push(kind);
        if first {
            self.events.push_back(McpEvent::AuthChallenge { status, challenge });
        }
    }

    /// The owner authorized: `token` goes on every request from now on (a secret, kept out of every event), and
    /// the requests that were refused go out again. Connecting gets its whole time again: a person may have taken
    /// a while.
    pub fn authorized(&mut self, token: String, now_ms: u64) {
        self.io.now_ms = now_ms;
        self.add_secrets([token.clone()]);
        self.transport.set_bearer(token);
        for kind in std::mem::take(&mut self.unauthorized) {
            match kind {
                Rpc::Discover => {
                    self.connecting = None;
                    self.connect();
                }
                Rpc::Initialize => {
                    self.connecting = None;
                    self.send_initialize();
                }
                Rpc::Op(op) if self.phase == Phase::Ready => self.send_op(op),
                Rpc::Op(op) => self.waiting.push_back(op),
                Rpc::Listen => self.listen(),
            }
        }
        self.process();
    }

    /// Authorization failed: the refused requests fail with `message` (which names no credential).
    pub fn authorization_failed(&mut self, message: &str, now_ms: u64) {
        self.io.now_ms = now_ms;
        for kind in std::mem::take(&mut self.unauthorized) {
            let failure = Failure::lasting(format!("authorization failed: {message}"));
            match kind {
                Rpc::Discover | Rpc::Initialize => self.connect_failed(failure),
                Rpc::Op(op) => self.op_failed(op, failure),
                Rpc::Listen => {}
            }
        }
        self.process();
    }
}
