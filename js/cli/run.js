// `mcp-loop run`: one question answered by the model with the servers' tools, for a person or for a script.

import { createAgent } from '../node.js';
import { MODEL_FLAGS, SERVER_FLAGS, modelOptions, redact, secretsOf, serversFrom } from './config.js';
import { EXIT, Exit, exitCodeOf, usageError } from './exit.js';
import { readStdin } from './input.js';
import { Terminal } from './terminal.js';

export const usage = `usage: mcp-loop run [SERVERS] [MODEL] [--approve MODE] [--json] QUESTION

Answers QUESTION (or stdin, when it is not a terminal) with the tools of the MCP servers. On a terminal the answer
streams as the model writes it, each tool call gets a line on stderr (server, tool, outcome, duration) and calls that
need approval are asked about (y/n). Elsewhere the answer is printed when it is complete.

servers:
  --config FILE             an mcpServers file (Claude Desktop, Cursor; VS Code's "servers"); \${env:NAME} and
                            \${NAME} in its strings take values from the environment
  --server NAME=URL         an HTTP server (Streamable HTTP, or HTTP+SSE); repeatable
  --stdio NAME="CMD ARGS"   a server started here, over stdin/stdout (quoted like a shell line); repeatable
  --header SERVER:NAME=VALUE  a header for an HTTP server; repeatable
  --sign-in-port PORT       a server that asks for a sign-in (OAuth): the URL is printed here and the redirect
                            comes back to http://127.0.0.1:PORT/callback (default 8765, MCP_LOOP_SIGN_IN_PORT)
  --tokens FILE             where sign-ins are kept for the next run (MCP_LOOP_TOKENS; default
                            ~/.config/mcp-loop/tokens.json, readable by you only)
model (flags win over the environment):
  --model MODEL             MCP_LOOP_MODEL, default gpt-4.1-mini
  --instructions TEXT       sent with every request
  --base-url URL            PORTKEY_BASE_URL, default https://api.portkey.ai/v1
  --provider NAME           PORTKEY_PROVIDER (openai, @openai-prod, …); or PORTKEY_VIRTUAL_KEY
  --custom-host URL         PORTKEY_CUSTOM_HOST: the provider URL the gateway forwards to
  --config-id ID            PORTKEY_CONFIG: a saved Portkey config
                            PORTKEY_API_KEY is sent as x-portkey-api-key, OPENAI_API_KEY as the provider's
                            Authorization: Bearer
run:
  --approve MODE            never (default), destructive (calls to tools not marked read-only or non-destructive)
                            or always: which calls wait for a yes on the terminal
  --json                    every event as one JSON line on stdout, then {"type":"result",…} (or
                            {"type":"error",…}); never asks

exit codes: 0 completed · 2 usage or configuration error · 3 paused: calls wait for approval and there is no
terminal to ask (or --json; they are printed) · 4 failed (a server or the model failed, or the run ended
max_turns or incomplete) · 130 interrupted (Ctrl-C: the calls in flight are cancelled on their servers)`;

export const options = { ...SERVER_FLAGS, ...MODEL_FLAGS, approve: { type: 'string' }, json: { type: 'boolean' } };

const APPROVE = ['never', 'destructive', 'always'];
/** How much of a call's arguments a line shows. */
const ARGUMENTS_SHOWN = 200;

export async function main({ values: flags, positionals }) {
  if (flags.approve !== undefined && !APPROVE.includes(flags.approve)) throw usageError(`--approve must be ${APPROVE.join(', ')}`);
  const question = positionals.length ? positionals.join(' ') : process.stdin.isTTY ? '' : (await readStdin()).trim();
  if (!question) throw usageError('run needs a QUESTION');
  const servers = await serversFrom(flags);
  if (!Object.keys(servers).length) throw usageError('run needs servers: --config FILE, --server NAME=URL or --stdio NAME="CMD ARGS"');
  const options = { ...modelOptions(flags), servers, ...(flags.approve && { approve: flags.approve }) };
  const secrets = secretsOf(options);
  const hide = (text) => redact(text, secrets);
  const fail = (error) => new Exit(exitCodeOf(error), hide(error.message));
  let agent;
  try {
    agent = createAgent(options);
  } catch (error) {
    throw fail(error);
  }
  const term = new Terminal({ redact: hide });
  const json = flags.json ? (value) => process.stdout.write(`${hide(JSON.stringify(value))}\n`) : null;
  const view = json ? { onEvent: json } : personView(term);
  // Ctrl-C cancels the run (its servers get notifications/cancelled) and the agent closes; a second one leaves now.
  const interrupt = new AbortController();
  const onInterrupt = () => (interrupt.signal.aborted ? process.exit(EXIT.cancelled) : interrupt.abort(new Error('interrupted')));
  process.on('SIGINT', onInterrupt);
  const runOptions = { stream: true, signal: interrupt.signal, onEvent: view.onEvent };
  try {
    let result = await agent.run(question, runOptions);
    while (result.status === 'awaiting_approval' && !json && term.canAsk) {
      const decisions = await ask(term, result.pending, interrupt.signal);
      if (!decisions) throw new Exit(EXIT.cancelled, 'interrupted');
      result = await agent.resume(result.snapshot, decisions, runOptions);
    }
    if (!json) return show(result, term, view);
    json({ type: 'result', ...result });
    return exitCode(result);
  } catch (error) {
    if (json && !(error instanceof Exit)) json({ type: 'error', code: error.code, message: error.message });
    throw error instanceof Exit ? error : fail(error);
  } finally {
    term.close();
    await agent.close();
    process.off('SIGINT', onInterrupt);
  }
}

/** The run as a person follows it: text, a spinner while waiting, a line per finished tool call. */
function personView(term) {
  const running = new Map(); // callId → where
  const calling = () => running.size && term.busy(`calling ${[...running.values()].join(', ')}`);
  const view = {
    streamed: false,
    onEvent(event) {
      switch (event.type) {
        case 'turnStarted':
          return term.busy('waiting for the model');
        case 'textDelta':
          view.streamed = true;
          return term.streams && term.text(event.delta);
        case 'toolCallStarted':
          running.set(event.callId, where(event));
          return calling();
        case 'toolCallFinished':
          running.delete(event.callId);
          term.note(`${where(event)}: ${event.isError ? 'error' : 'ok'}${event.durationMs == null ? '' : `, ${event.durationMs} ms`}`);
          return calling();
        case 'modelRetry':
          return term.note(`the model request failed (${event.error}); trying again`);
        case 'warning':
          return term.note(`warning${event.server ? ` (${event.server})` : ''}: ${event.message}`);
      }
    },
  };
  return view;
}

const where = (call) => `[${call.server ?? '?'}] ${call.tool ?? call.name}`;

const shown = (call) => {
  const args = JSON.stringify(call.arguments ?? {});
  return `${where(call)} ${args.length > ARGUMENTS_SHOWN ? `${args.slice(0, ARGUMENTS_SHOWN)}…` : args}`;
};

/** Asks about each pending call: `{ callId: approved }`, or null when interrupted. The end of stdin is a no. */
async function ask(term, pending, signal) {
  const decisions = {};
  for (const call of pending) {
    const answer = await term.ask(`Allow ${shown(call)}? [y/N] `, signal);
    if (signal.aborted) return null;
    decisions[call.callId] = /^\s*y(es)?\s*$/i.test(answer ?? '');
  }
  return decisions;
}

function exitCode(result) {
  return { completed: EXIT.completed, awaiting_approval: EXIT.paused, cancelled: EXIT.cancelled }[result.status] ?? EXIT.failed;
}

/** The end of a run for a person: the answer (unless it streamed), and why a run that did not complete stopped. */
function show(result, term, view) {
  if (!(term.streams && view.streamed) && result.outputText) term.text(`${result.outputText}\n`);
  term.endLine();
  if (result.status === 'awaiting_approval') {
    term.note(`mcp-loop: paused: ${result.pending.length} call(s) wait for approval, and there is no terminal to ask:`);
    for (const call of result.pending) term.note(`  ${shown(call)}`);
  } else if (result.status === 'cancelled') {
    term.note(`mcp-loop: cancelled${result.reason ? ` (${result.reason})` : ''}`);
  } else if (result.status !== 'completed') {
    term.note(`mcp-loop: the run ended ${result.status}${result.incompleteReason ? ` (${result.incompleteReason})` : ''}`);
  }
  return exitCode(result);
}
