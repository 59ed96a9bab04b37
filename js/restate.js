// Durable runs on Restate (Node): a workflow per run drives the tool loop; the tool listing, each model request
// and each tool call is a journaled step (`ctx.run`), so a handler that Restate runs again after a worker died
// replays them from the journal instead of repeating them. Approvals are durable promises; the run's snapshot,
// status and events are its state. Needs `@restatedev/restate-sdk` (Node 22 or later).

import * as restate from '@restatedev/restate-sdk';
import './node.js';
import { agentDriver } from './agent.js';
import { directHost } from './direct.js';
import { McpLoopError, configError } from './errors.js';
import { deliver } from './host.js';
import { isClient } from './local.js';
import { ToolLoop } from './loop.js';
import { approverFor, decisionList } from './options.js';

export { restateClient } from './restate-client.js';

const { RestatePromise, TerminalError } = restate;

/**
 * A Restate workflow (named `name`, default `mcpLoop`) that runs conversations with `options` (the same as
 * `createAgent`'s). Each worker process that serves it opens the MCP connections once and reuses them across
 * runs. `onEvent` gets the worker's own events (servers connecting, their logs, warnings).
 */
export function restateWorkflow(options, { name = 'mcpLoop', onEvent } = {}) {
  if (typeof Promise.withResolvers !== 'function') {
    // The SDK would fail every invocation with a TypeError, and Restate would retry it forever.
    throw configError(`mcp-loop/restate needs Node 22 or later (the Restate SDK uses Promise.withResolvers); this is Node ${process.versions.node}`);
  }
  const loopOptions = loopOptionsOf(options);
  // Options are checked now; connections open with the first run.
  const worker = openWorker(options, onEvent);
  return restate.workflow({
    name,
    handlers: {
      run: (ctx, request) => terminal(ctx, () => runConversation(ctx, worker, loopOptions, request ?? {})),
      status: restate.handlers.workflow.shared((ctx) => progress(ctx)),
      snapshot: restate.handlers.workflow.shared(async (ctx) => (await ctx.get('snapshot')) ?? null),
      events: restate.handlers.workflow.shared(async (ctx, request) => {
        const after = request?.after ?? 0;
        if (!Number.isInteger(after) || after < 0) throw new TerminalError('after must be a position: 0 or more');
        // One context operation at a time: the SDK refuses overlapping ones ("awaitNext already pending").
        const run = await progress(ctx);
        const starts = (await ctx.get('chunks')) ?? [];
        const total = run.events ?? 0;
        // The chunks holding events from position `after` on (each starts where `starts` says); a chunk written
        // after `run` was read is left for the next call.
        const first = Math.max(0, starts.findLastIndex((start) => start <= after));
        const wanted = after < total ? range(first, starts.length) : [];
        const chunks = [];
        for (const n of wanted) chunks.push(await ctx.get(`events.${n}`));
        const base = starts[first] ?? 0;
        const events = chunks.flatMap((c) => c ?? []).slice(after - base, total - base);
        return { events, next: Math.max(after, total), status: run.status };
      }),
      decide: restate.handlers.workflow.shared(async (ctx, decisions) => {
        const run = await progress(ctx);
        const list = decisionsFor(decisions, run.pending);
        for (const decision of list) await ctx.promise(`decision.${decision.callId}`).resolve(decision);
        return { decided: list.length };
      }),
      cancel: restate.handlers.workflow.shared(async (ctx, reason) => {
        const cancel = ctx.promise('cancel');
        if ((await cancel.peek()) !== undefined) return false;
        await cancel.resolve(typeof reason === 'string' && reason ? reason : 'cancelled');
        return true;
      }),
    },
  });
}

/** Errors the run has already recorded in its state. */
const recorded = new WeakSet();

/**
 * Runs the `run` handler. mcp-loop's own errors (bad input, a broken host) end the run, as terminal errors do:
 * Restate must not retry them, and the run's state says it failed. Other errors are Restate's to retry.
 */
async function terminal(ctx, work) {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof McpLoopError || error instanceof TerminalError)) throw error;
    // Ours are bad requests, unless mcp-loop said otherwise or Restate cancelled the invocation.
    const code = error instanceof McpLoopError ? error.code : error instanceof restate.CancelledError ? 'cancelled' : 'config';
    if (!recorded.has(error)) ctx.set('run', { status: 'failed', error: { code, message: error.message } });
    throw error instanceof TerminalError ? error : new TerminalError(error.message);
  }
}

/** The tool loop's options from an agent's: approval functions are asked in a step, so the loop pauses for them. */
function loopOptionsOf(options) {
  if (!options || typeof options !== 'object') throw configError('restateWorkflow needs the agent options');
  const { servers = {}, portkey: _p, handlers: _h, fetch: _f, callModel: _c, approve, ...rest } = options;
  const mode = (policy) => (typeof policy === 'function' ? 'always' : policy);
  const policies = Object.entries(servers).map(([server, s]) => {
    const { approve: policy, maxConcurrentCalls } = ownOptions(s);
    return [server, { approve: mode(policy), maxConcurrentCalls }];
  });
  return { ...rest, approve: mode(approve), servers: Object.fromEntries(policies) };
}

/** A server entry's own options: none for a URL string or a client object. */
const ownOptions = (server) => (server && typeof server === 'object' && !isClient(server) ? server : {});

/** What one worker process keeps across runs: the connections (one driver), the tool listing until a server
 * says its tools changed, and the approval functions. */
function openWorker(options, onEvent) {
  const { driver, approvers, ...parts } = agentDriver(options);
  let listing = null;
  const { host, start } = directHost(driver, {
    ...parts,
    onEvent(event) {
      if (event.type === 'toolsChanged') listing = null;
      deliver(onEvent, event);
    },
  });
  const ready = host.restoreAuth();
  const op = async (begin, signal) => {
    await ready;
    return start(begin, { signal });
  };
  const servers = Object.entries(options.servers ?? {});
  return {
    approvers,
    tools() {
      listing ??= Promise.all(servers.map(([name]) => op((m) => m.listTools(name, Date.now())))).then(
        (lists) => Object.fromEntries(servers.map(([name, s], i) => [name, { tools: lists[i], label: ownOptions(s).label }])),
      );
      listing.catch(() => (listing = null));
      return listing;
    },
    callTool: (server, tool, args, signal) => op((m) => m.callTool(server, tool, JSON.stringify(args), Date.now()), signal),
    callModel: (request, traceId, turn, signal) => op((m) => m.callModel(JSON.stringify(request), traceId, turn, Date.now()), signal),
  };
}

/**
 * The `run` handler. Determinism is what makes replay work: the loop's clock is the time recorded in the step
 * it last heard from, outcomes are fed in the order the calls went out, and every value written to state comes
 * from journaled steps.
 */
async function runConversation(ctx, worker, loopOptions, { input, traceId = ctx.key, history }) {
  if (typeof input !== 'string' && !Array.isArray(input)) throw new TerminalError('the run needs an input: text or input items');
  if (history !== undefined && !Array.isArray(history)) throw new TerminalError('history must be a list of input items');
  if (typeof traceId !== 'string') throw new TerminalError('traceId must be a string');
  let clock = 0;
  const now = () => clock;
  const state = { status: 'running', turn: 0, events: 0 };
  const starts = []; // where each chunk of events begins
  let events = [];
  const publish = (snapshot) => {
    if (events.length) {
      ctx.set(`events.${starts.length}`, events);
      starts.push(state.events);
      ctx.set('chunks', starts);
      state.events += events.length;
    }
    events = [];
    if (snapshot) ctx.set('snapshot', loop.snapshot());
    ctx.set('run', { ...state });
  };

  const listed = await ctx.run('tools', () => attempt(async () => ({ tools: await worker.tools() })));
  const fail = (error) => {
    Object.assign(state, { status: 'failed', error });
    publish(false);
    const terminalError = new TerminalError(error.message);
    recorded.add(terminalError);
    return terminalError;
  };
  if (listed.error) throw fail(listed.error);
  clock = listed.at;
  const begin = history ? [...history, ...(typeof input === 'string' ? [{ role: 'user', content: input }] : input)] : input;
  const loop = ToolLoop.start(loopOptions, listed.tools, begin, { traceId, now });
  const cancelled = ctx.promise('cancel').get().map((reason) => ({ cancelled: reason }));
  const limit = new Deadline(ctx, loopOptions.runTimeoutMs, cancelled);
  await limit.resume();
  const inflight = []; // { id, kind, step, controller, outcome? }, in the order the calls went out
  let batch = null; // the calls of this round, announced together before any starts
  let pause = 0;

  for (;;) {
    const out = loop.next();
    if (batch && out.type !== 'callTool' && out.type !== 'event') {
      inflight.push(...(await startCalls(ctx, worker, batch)));
      batch = null;
    }
    switch (out.type) {
      case 'event':
        events.push(out.event);
        continue;
      case 'callModel': {
        state.turn += 1;
        publish(true);
        const { turn } = state;
        const controller = new AbortController();
        const step = ctx.run(`model ${turn}`, () => attempt(() => worker.callModel(out.request, traceId, turn, controller.signal)));
        inflight.push({ id: out.id, kind: 'model', step, controller });
        continue;
      }
      case 'callTool':
        (batch ??= []).push(out);
        continue;
      case 'cancel': {
        const at = inflight.findIndex((f) => f.id === out.id);
        if (at >= 0) inflight.splice(at, 1)[0].controller.abort('the run was cancelled');
        continue;
      }
      case 'paused': {
        await limit.pause();
        const decisions = await approvals(ctx, worker, out.pending, ++pause, state, publish, cancelled);
        await limit.resume();
        delete state.pending;
        if (decisions.cancelled) {
          loop.cancel(decisions.cancelled);
        } else {
          state.status = 'running';
          loop.decide(decisions);
        }
        continue;
      }
      case 'done': {
        if (out.error) throw fail({ code: out.error.code, message: out.error.message, status: out.error.status });
        Object.assign(state, { status: out.result.status === 'cancelled' ? 'cancelled' : 'done' });
        publish(false);
        return out.result;
      }
      default: {
        // `wait`. Outcomes go to the loop in the order the calls went out; every open step is awaited at once
        // (Restate runs a step's work only while it is awaited), and the journal fixes which one came first.
        if (events.length) publish(false);
        if (!inflight.length) throw new TerminalError('the tool loop waits for nothing (a bug in mcp-loop)');
        if (inflight[0].outcome) {
          const next = inflight.shift();
          clock = next.outcome.at;
          feed(loop, next, next.outcome);
          continue;
        }
        const open = inflight.filter((f) => !f.outcome);
        const first = await RestatePromise.race([limit.stop, ...open.map((f) => f.step.map((outcome) => ({ f, outcome })))]);
        if (first.cancelled) {
          for (const f of inflight) f.controller.abort(first.cancelled);
          loop.cancel(first.cancelled);
          continue;
        }
        first.f.outcome = first.outcome;
      }
    }
  }
}

/**
 * `runTimeoutMs` on Restate: a durable timer over the run's working time (waiting for a person does not count, as
 * a paused run of an agent does not), raced with the run's cancellation as `stop`.
 */
class Deadline {
  #ctx;
  #limit;
  #cancelled;
  #used = 0;
  #since = 0;
  stop;

  constructor(ctx, limit, cancelled) {
    [this.#ctx, this.#limit, this.#cancelled, this.stop] = [ctx, limit, cancelled, cancelled];
  }

  async resume() {
    if (!this.#limit) return;
    this.#since = await this.#ctx.date.now();
    const why = `the run took longer than runTimeoutMs (${this.#limit} ms)`;
    const timer = this.#ctx.sleep(Math.max(0, this.#limit - this.#used)).map(() => ({ cancelled: why }));
    this.stop = RestatePromise.race([this.#cancelled, timer]);
  }

  async pause() {
    if (this.#limit) this.#used += (await this.#ctx.date.now()) - this.#since;
  }
}

/**
 * Starts a round's tool calls: one journaled step says they are about to run (unless all may run again), then
 * each call is its own step.
 * When Restate replays this (a worker died) and a call's step runs again after the announcement came from the
 * journal, the call may have run already: it runs again only if the loop says so (`retryIfInterrupted`, the
 * `inflight` rule), else the model is told its outcome is unknown.
 */
async function startCalls(ctx, worker, calls) {
  let fresh = false;
  // A round of calls that may all run again needs no announcement (one round trip to restate-server less).
  if (!calls.every((c) => c.retryIfInterrupted)) {
    await ctx.run(`calls ${calls[0].callId}`, () => {
      fresh = true;
      return calls.map((c) => c.callId);
    });
  }
  return calls.map((call) => {
    const controller = new AbortController();
    const step = ctx.run(`tool ${call.callId}`, () => {
      if (!fresh && !call.retryIfInterrupted) return { at: Date.now(), interrupted: true };
      return attempt(async () => ({ result: await worker.callTool(call.server, call.tool, call.arguments, controller.signal) }));
    });
    return { id: call.id, kind: 'tool', step, controller };
  });
}

/** A step's work, as data: its value with the time it ended, or the error it ended with. A step never throws
 * (Restate would retry it, and a tool call must not be repeated that way). */
async function attempt(work) {
  try {
    const value = await work();
    return { at: Date.now(), ...value };
  } catch (error) {
    return { at: Date.now(), error: { code: error?.code ?? 'host', message: String(error?.message ?? error), status: error?.status } };
  }
}

function feed(loop, { id, kind }, outcome) {
  if (kind === 'model') {
    if (outcome.error) return loop.modelError(id, outcome.error);
    return loop.modelResponse(id, outcome.response, { headers: outcome.headers });
  }
  if (outcome.interrupted) return loop.toolInterrupted(id);
  if (outcome.error) return loop.toolFailed(id, outcome.error.message);
  return loop.toolResult(id, outcome.result);
}

/**
 * A pause: calls under an approval function are asked about in one step; the rest wait for `decide`, each for
 * its own durable promise (resolved by any worker, all at once or one by one), or for the run's cancellation.
 */
async function approvals(ctx, worker, pending, pause, state, publish, cancelled) {
  const asked = await ctx.run(`approve ${pause}`, async () => {
    const person = [];
    for (const call of pending) {
      const fn = approverFor(worker.approvers, call.server);
      const needsPerson = fn ? await Promise.resolve(fn({ ...call })).catch(() => true) : true;
      if (needsPerson) person.push(call.callId);
    }
    return person;
  });
  const waved = pending.filter((c) => !asked.includes(c.callId)).map((c) => ({ callId: c.callId, approved: true }));
  if (!asked.length) return waved;
  Object.assign(state, { status: 'awaiting_approval', pending: pending.filter((c) => asked.includes(c.callId)) });
  publish(true);
  const decided = RestatePromise.all(asked.map((callId) => ctx.promise(`decision.${callId}`).get()));
  const answer = await RestatePromise.race([decided.map((decisions) => ({ decisions })), cancelled]);
  return answer.cancelled ? answer : [...waved, ...answer.decisions];
}

/** The run's state as the client sees it: only the calls not decided yet wait, and a pause whose calls are all
 * decided is running again (the run itself says so at its next step). */
async function progress(ctx) {
  const run = (await ctx.get('run')) ?? { status: 'unknown' };
  if (run.status !== 'awaiting_approval') return { ...run, pending: undefined };
  const pending = [];
  for (const call of run.pending) if ((await ctx.promise(`decision.${call.callId}`).peek()) === undefined) pending.push(call);
  return pending.length ? { ...run, pending } : { ...run, status: 'running', pending: undefined };
}

/** Decisions for calls of `pending`, each at most once. */
function decisionsFor(decisions, pending = []) {
  let list;
  try {
    list = decisionList(decisions ?? {});
  } catch (error) {
    throw new TerminalError(error.message); // a bad request: never retried
  }
  const open = new Set(pending.map((c) => c.callId));
  for (const d of list) {
    if (!open.delete(d.callId)) throw new TerminalError(`call ${d.callId} does not wait for a decision (or is decided already)`);
  }
  return list.map(({ callId, approved, reason }) => ({ callId, approved, ...(typeof reason === 'string' ? { reason } : {}) }));
}

const range = (from, to) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
