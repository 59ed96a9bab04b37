//! A server that forgets its session (HTTP 404 to a request that carried one): a new session, and the request
//! sent again, once.

use super::McpClient;
use super::lifecycle::Phase;
use super::ops::Op;
use super::requests::Rpc;
use super::transport::Failure;

/// How many sessions in a row a server may forget before the client stops starting new ones: a server that
/// answers 404 to everything must end in an error, not in a loop.
pub(super) const MAX_SESSIONS_LOST: u32 = 3;

impl McpClient {
    pub(super) fn session_gone(&mut self, rpc: Option<i64>, session: &str) {
        let current = self.transport.session_id() == Some(session);
        let op = rpc.and_then(|rpc| self.pending.get(&rpc)).and_then(|p| match p.kind {
            Rpc::Op(op) if !self.retried.contains(&op) => Some(op),
            _ => None,
        });
        if let (Some(rpc), None) = (rpc, op) {
            return self.fail_rpc(rpc, Failure::lasting("the server no longer knows this session (HTTP 404)"));
        }
        if let Some(rpc) = rpc {
            self.settle(rpc);
        }
        if let Some(op) = op {
            self.retried.push(op);
            if let Some(Op::ListTools(listing)) = self.ops.get_mut(&op) {
                listing.restart();
            }
        }
        if current && self.phase != Phase::Closed {
            self.waiting.extend(op);
            self.sessions_lost += 1;
            if self.sessions_lost > MAX_SESSIONS_LOST {
                self.sessions_lost = 0;
                let error = format!("the server forgot {} sessions in a row (HTTP 404)", MAX_SESSIONS_LOST + 1);
                return self.down(Failure::lasting(error));
            }
            self.warn("the server ended the session (HTTP 404); starting a new session".into());
            self.transport.forget_session();
            self.send_initialize();
        } else if let Some(op) = op {
            if self.phase == Phase::Ready { self.send_op(op) } else { self.waiting.push_back(op) }
        }
    }
}
