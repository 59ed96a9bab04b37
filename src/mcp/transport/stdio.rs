//! The stdio transport: the server is a child process of the host; messages are lines of JSON on its stdin
//! and stdout, and its stderr is a log. The core splits the byte stream into lines itself (bounded), so
//! every host feeds raw chunks.

use super::{Failure, Incoming, Io, Outgoing};
use crate::base::io::{EffectId, StdioOp};
use crate::base::limits::MAX_MESSAGE_BYTES;
use crate::base::lines::{Framed, Lines};
use crate::mcp::config::INHERITED_ENV;
use crate::wire::jsonrpc;

/// The longest stderr line kept (the rest is cut): stderr is only a log.
const MAX_STDERR_LINE: usize = 4096;

/// How long a closing server process gets after its stdin closes before TERM, and after TERM before KILL.
pub(crate) const GRACE_MS: u64 = 2_000;

/// Server processes on their way out: stdin closed; past a grace period, TERM; past another, KILL; forgotten at
/// their exit (which the host always reports). It outlives the transports, so a process closed by a failed
/// connection is ended like any other.
#[derive(Debug, Default)]
pub(crate) struct Reaper {
    closing: Vec<Closing>,
}

#[derive(Debug)]
struct Closing {
    process: EffectId,
    /// The next step's timer (none once KILL went out).
    timer: Option<EffectId>,
    terminated: bool,
}

impl Reaper {
    pub(crate) fn close(&mut self, process: EffectId, io: &mut Io) {
        io.effects.stdio(process, StdioOp::Close);
        let timer = Some(io.timer(GRACE_MS));
        self.closing.push(Closing { process, timer, terminated: false });
    }

    pub(crate) fn handle_timer(&mut self, key: EffectId, io: &mut Io) -> bool {
        let Some(closing) = self.closing.iter_mut().find(|c| c.timer == Some(key)) else { return false };
        if closing.terminated {
            io.effects.stdio(closing.process, StdioOp::Kill);
            closing.timer = None;
        } else {
            io.effects.stdio(closing.process, StdioOp::Terminate);
            closing.terminated = true;
            closing.timer = Some(io.timer(GRACE_MS));
        }
        true
    }

    pub(crate) fn handle_exit(&mut self, process: EffectId, io: &mut Io) -> bool {
        let Some(at) = self.closing.iter().position(|c| c.process == process) else { return false };
        if let Some(timer) = self.closing.swap_remove(at).timer {
            io.cancel(timer);
        }
        true
    }
}

/// The transport for one server process.
#[derive(Debug)]
pub(crate) struct Stdio {
    command: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    cwd: Option<String>,
    process: Option<EffectId>,
    stdout: Lines,
    stderr: Lines,
    /// An answer over the size limit is being dropped; its id may come at its end.
    cut_answer: bool,
}

impl Stdio {
    pub(crate) fn new(command: String, args: Vec<String>, env: Vec<(String, String)>, cwd: Option<String>) -> Stdio {
        Stdio {
            command,
            args,
            env,
            cwd,
            process: None,
            stdout: Lines::new(MAX_MESSAGE_BYTES),
            stderr: Lines::new(MAX_STDERR_LINE),
            cut_answer: false,
        }
    }

    pub(crate) fn send(&mut self, message: Outgoing, io: &mut Io) {
        let key = match self.process {
            Some(key) => key,
            None => {
                let key = io.effects.id();
                let op = StdioOp::Spawn {
                    command: self.command.clone(),
                    args: self.args.clone(),
                    inherit: INHERITED_ENV.iter().map(|v| (*v).to_owned()).collect(),
                    env: self.env.clone(),
                    cwd: self.cwd.clone(),
                };
                io.effects.stdio(key, op);
                self.process = Some(key);
                self.stdout = Lines::new(MAX_MESSAGE_BYTES);
                self.stderr = Lines::new(MAX_STDERR_LINE);
                self.cut_answer = false;
                key
            }
        };
        // Serialised JSON never holds a raw newline, so one message is exactly one line. Writes keep their
        // order, so a message is delivered as soon as it is written.
        let line = message.body + "\n";
        io.effects.stdio(key, StdioOp::Write { line });
        if message.confirm {
            io.report(Incoming::Accepted(Ok(())));
        }
    }

    /// Answers share the process's stdout; nothing to release or abort per request.
    pub(crate) fn answered(&mut self, _rpc: i64, _io: &mut Io) {}

    pub(crate) fn abandon(&mut self, _rpc: i64, _io: &mut Io) {}

    /// Lets go of the process; it is the [`Reaper`]'s to end.
    pub(crate) fn close(&mut self) -> Option<EffectId> {
        self.process.take()
    }

    pub(crate) fn handle_stdout(&mut self, key: EffectId, chunk: &[u8], io: &mut Io) -> bool {
        if self.process != Some(key) {
            return false;
        }
        let mut framed = Vec::new();
        self.stdout.feed(chunk, &mut framed);
        let too_big = || Failure::lasting(format!("the server's answer was over {MAX_MESSAGE_BYTES} bytes"));
        for piece in framed {
            match piece {
                Framed::Line(line) if line.trim().is_empty() => {}
                Framed::Line(line) => io.report(Incoming::Message(line)),
                // An answer too big to read fails its request at once, if its id comes first (the Python SDK),
                // else when it ends (the TypeScript SDK writes the id last).
                Framed::Cut(head) => match jsonrpc::cut_head(&head) {
                    (Some(rpc), true) => io.report(Incoming::Lost { rpc, failure: too_big() }),
                    (None, true) => self.cut_answer = true,
                    (_, false) => io.report(Incoming::Warning(format!(
                        "dropped a message over {MAX_MESSAGE_BYTES} bytes from the server"
                    ))),
                },
                Framed::CutEnd(tail) if std::mem::take(&mut self.cut_answer) => match jsonrpc::trailing_id(&tail) {
                    Some(rpc) => io.report(Incoming::Lost { rpc, failure: too_big() }),
                    None => io.report(Incoming::Warning(format!(
                        "dropped an answer over {MAX_MESSAGE_BYTES} bytes whose id could not be read"
                    ))),
                },
                Framed::CutEnd(_) => {}
            }
        }
        true
    }

    pub(crate) fn handle_stderr(&mut self, key: EffectId, chunk: &[u8], io: &mut Io) -> bool {
        if self.process != Some(key) {
            return false;
        }
        let mut framed = Vec::new();
        self.stderr.feed(chunk, &mut framed);
        for piece in framed {
            match piece {
                Framed::Line(line) if !line.trim().is_empty() => io.report(Incoming::Stderr(line)),
                Framed::Cut(head) => io.report(Incoming::Stderr(format!("{}…", String::from_utf8_lossy(&head)))),
                _ => {}
            }
        }
        true
    }

    /// The process ended (or could not start); `reason` says how.
    pub(crate) fn handle_exit(&mut self, key: EffectId, reason: &str, io: &mut Io) -> bool {
        if self.process != Some(key) {
            return false;
        }
        self.process = None;
        io.report(Incoming::Down(Failure::lasting(format!("the server process {reason}"))));
        true
    }
}
