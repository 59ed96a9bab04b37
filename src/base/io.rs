//! Effects: the work a machine hands its host, as owned plain data whose id names the machine it belongs to.
//!
//! Every id a host sees ([`EffectId`]) carries its owner ([`Owner`]): the agent routes each outcome by that tag
//! alone, with no table from host ids to machine ids. Ids stay below 2^53, so JavaScript numbers hold them.

use super::http::HttpRequest;
use super::queue::Queue;
use serde::{Deserialize, Serialize};

/// Which machine an id belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The agent itself: its direct MCP operations, listings, and the questions it asks the host.
    Agent,
    /// The model client.
    Model,
    /// The MCP client of the agent's server at this index.
    Server(u32),
    /// A tool loop (its model and tool calls; a loop's ids are its own, kept in its snapshot).
    Loop,
    /// Run `n` of the agent: its one timer, the run's deadline.
    Run(u64),
    /// The authorization of the agent's server at this index (its requests to authorization servers).
    Auth(u32),
}

/// The id of an effect, or of a question a host answers: the owner's tag and a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EffectId(u64);

const KIND_BITS: u32 = 3;
const SERVER_BITS: u32 = 12;
const ID_BITS: u32 = 53;
/// The most servers an agent may have.
pub(crate) const MAX_SERVERS: usize = 1 << SERVER_BITS;

impl EffectId {
    /// The `number`th id of `owner` (for [`Owner::Run`], the run's timer: `number` is ignored).
    pub fn new(owner: Owner, number: u64) -> EffectId {
        let (kind, index, number) = match owner {
            Owner::Agent => (0, 0, number),
            Owner::Model => (1, 0, number),
            Owner::Server(i) => (2, u64::from(i) & (MAX_SERVERS as u64 - 1), number),
            Owner::Loop => (3, 0, number),
            Owner::Run(run) => (4, 0, run),
            Owner::Auth(i) => (5, u64::from(i) & (MAX_SERVERS as u64 - 1), number),
        };
        let shift = if matches!(kind, 2 | 5) { KIND_BITS + SERVER_BITS } else { KIND_BITS };
        let number = number & ((1 << (ID_BITS - shift)) - 1);
        EffectId(kind | index << KIND_BITS | number << shift)
    }

    /// An id as a host gives it back.
    pub fn from_raw(raw: u64) -> EffectId {
        EffectId(raw)
    }

    /// The number hosts see.
    pub fn get(self) -> u64 {
        self.0
    }

    /// Who it belongs to; `None` for a number no machine ever made.
    pub fn owner(self) -> Option<Owner> {
        let index = self.0 >> KIND_BITS;
        Some(match self.0 & ((1 << KIND_BITS) - 1) {
            _ if self.0 >> ID_BITS != 0 => return None,
            0 => Owner::Agent,
            1 => Owner::Model,
            2 => Owner::Server((index & (MAX_SERVERS as u64 - 1)) as u32),
            3 => Owner::Loop,
            4 => Owner::Run(index),
            5 => Owner::Auth((index & (MAX_SERVERS as u64 - 1)) as u32),
            _ => return None,
        })
    }

    /// Its number among its owner's ids.
    pub(crate) fn number(self) -> u64 {
        match self.owner() {
            Some(Owner::Server(_) | Owner::Auth(_)) => self.0 >> (KIND_BITS + SERVER_BITS),
            _ => self.0 >> KIND_BITS,
        }
    }
}

impl std::fmt::Display for EffectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An operation a caller starts on a client (an MCP listing or tool call, a model request), named by the caller
/// and echoed with its outcome, so the caller routes the outcome without a lookup. The agent names a run's call
/// by the run and the loop's effect id, and its own operations with run 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpId {
    /// The caller's scope (the agent's run; 0 for the agent's own operations).
    pub run: u64,
    /// The caller's id for it.
    pub id: EffectId,
}

/// Work for the host.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
#[must_use]
#[non_exhaustive]
pub enum Effect {
    /// Perform this request; report the response head, each body chunk and the end (or a transport error).
    Http {
        /// Effect id.
        id: EffectId,
        /// The request.
        request: HttpRequest,
        /// The MCP server it goes to (`None` for the model), for hosts that answer a server in-process.
        #[serde(skip_serializing_if = "Option::is_none")]
        server: Option<String>,
    },
    /// Act on an MCP server's child process; report its stdout, its stderr and (always, also after `close`) its
    /// exit.
    Stdio {
        /// Effect id of the process (the same for every op on it).
        id: EffectId,
        /// What to do.
        #[serde(flatten)]
        op: StdioOp,
    },
    /// Report `id` at (or after) `at_ms`.
    Timer {
        /// Effect id.
        id: EffectId,
        /// When, in the host's milliseconds clock (the one it passes as `now_ms`).
        at_ms: u64,
    },
    /// Stop effect `id` (abort the request, clear the timer) and report nothing more for it.
    Cancel {
        /// The effect to stop.
        id: EffectId,
    },
}

/// What to do with a server process. Its `{:?}` leaves out the arguments and the environment's values (they
/// carry credentials).
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum StdioOp {
    /// Start it, with pipes for stdin, stdout and stderr. Its environment is the host's variables named in
    /// `inherit` (when set) plus `env`, and nothing else, so the host's secrets stay out of server processes.
    Spawn {
        /// Program.
        command: String,
        /// Arguments.
        args: Vec<String>,
        /// Variables to take from the host's environment.
        inherit: Vec<String>,
        /// Variables to set.
        env: Vec<(String, String)>,
        /// Working directory.
        #[serde(skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
    },
    /// Write this line (it ends with `\n`) to its stdin.
    Write {
        /// The line.
        line: String,
    },
    /// Close its stdin (a server should then exit; the core sends `terminate`, then `kill`, if it does not).
    Close,
    /// Ask it to stop (SIGTERM; where there are no signals, end it).
    Terminate,
    /// End it now (SIGKILL).
    Kill,
}

impl std::fmt::Debug for StdioOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StdioOp::Spawn { command, args, env, .. } => {
                // Arguments often carry keys (`--api-key …`): only their count, as for the configuration.
                let env: Vec<&str> = env.iter().map(|(name, _)| name.as_str()).collect();
                write!(f, "Spawn {{ command: {command:?}, args: {} hidden, env: {env:?} }}", args.len())
            }
            StdioOp::Write { line } => write!(f, "Write {{ {} bytes }}", line.len()),
            StdioOp::Close => f.write_str("Close"),
            StdioOp::Terminate => f.write_str("Terminate"),
            StdioOp::Kill => f.write_str("Kill"),
        }
    }
}

/// Hands out one owner's ids, in order.
#[derive(Debug)]
pub(crate) struct Ids {
    owner: Owner,
    next: u64,
}

impl Ids {
    pub(crate) fn new(owner: Owner) -> Ids {
        Ids { owner, next: 1 }
    }

    /// A fresh id.
    pub(crate) fn id(&mut self) -> EffectId {
        let id = EffectId::new(self.owner, self.next);
        self.next += 1;
        id
    }

    /// True for an id handed out here (answered or not): an outcome for it that comes late is a race, not a
    /// broken host.
    pub(crate) fn issued(&self, id: EffectId) -> bool {
        id.owner() == Some(self.owner) && (1..self.next).contains(&id.number())
    }
}

/// Where a machine writes its effects: ids tagged with its owner, handed out in order.
#[derive(Debug)]
pub(crate) struct Effects {
    ids: Ids,
    queue: Queue<Effect>,
}

impl Effects {
    pub(crate) fn new(owner: Owner) -> Effects {
        Effects { ids: Ids::new(owner), queue: Queue::new() }
    }

    /// A fresh id (for an effect, or a question the host answers).
    pub(crate) fn id(&mut self) -> EffectId {
        self.ids.id()
    }

    /// True for an id this sink handed out.
    pub(crate) fn issued(&self, id: EffectId) -> bool {
        self.ids.issued(id)
    }

    pub(crate) fn http(&mut self, request: HttpRequest, server: Option<String>) -> EffectId {
        let id = self.id();
        self.queue.push_back(Effect::Http { id, request, server });
        id
    }

    pub(crate) fn timer(&mut self, at_ms: u64) -> EffectId {
        let id = self.id();
        self.queue.push_back(Effect::Timer { id, at_ms });
        id
    }

    pub(crate) fn stdio(&mut self, id: EffectId, op: StdioOp) {
        self.queue.push_back(Effect::Stdio { id, op });
    }

    pub(crate) fn cancel(&mut self, id: EffectId) {
        self.queue.push_back(Effect::Cancel { id });
    }

    pub(crate) fn pop(&mut self) -> Option<Effect> {
        self.queue.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn ids_carry_their_owner_and_stay_below_2_pow_53() {
        let owners = [Owner::Agent, Owner::Model, Owner::Server(0), Owner::Server(4095), Owner::Loop];
        for owner in owners {
            for number in [1, 2, 1 << 30, (1 << 38) - 1] {
                let id = EffectId::new(owner, number);
                assert_eq!((id.owner(), id.number()), (Some(owner), number), "{owner:?} {number}");
                assert!(id.get() < 1 << 53);
                assert_eq!(EffectId::from_raw(id.get()), id);
            }
        }
        let deadline = EffectId::new(Owner::Run(123_456), 0);
        assert_eq!(deadline.owner(), Some(Owner::Run(123_456)));
        assert_ne!(EffectId::new(Owner::Server(1), 5), EffectId::new(Owner::Server(2), 5));
        assert_eq!(EffectId::from_raw(7).owner(), None, "kind 7 is nobody's");
        assert_eq!(EffectId::from_raw(1 << 53).owner(), None, "past 2^53: nobody's");
    }

    #[test]
    fn a_sink_knows_what_it_issued() {
        let mut effects = Effects::new(Owner::Server(3));
        let first = effects.timer(10);
        let second = effects.http(HttpRequest::default(), None);
        assert_eq!(effects.pop(), Some(Effect::Timer { id: first, at_ms: 10 }));
        assert!(matches!(effects.pop(), Some(Effect::Http { id, .. }) if id == second));
        assert!(effects.issued(first) && effects.issued(second));
        assert!(!effects.issued(EffectId::new(Owner::Server(3), 3)), "not yet");
        assert!(!effects.issued(EffectId::new(Owner::Server(4), 1)), "another machine's");
        assert_eq!(effects.pop(), None);
    }
}
