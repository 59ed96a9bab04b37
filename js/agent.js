// The agent: a model behind Portkey plus private MCP servers, sessions kept across runs.

import { Driver } from '../pkg/mcp_loop.js';
import { applyKnownEras } from './eras.js';
import { configError, failure, guarded, wrap } from './errors.js';
import { Host, deliver, launch } from './host.js';
import { modelFunction } from './local.js';
import { agentConfig, approverFor, decisionsJson, entropy, pickTransport, snapshotText } from './options.js';
import { init, isLoaded } from './wasm.js';

/** The longest an `onSnapshot` promise holds a run's calls back. */
const SNAPSHOT_WAIT_MS = 30_000;

/** Creates an agent: a model behind Portkey plus private MCP servers, sessions kept across runs. */
export function createAgent(options) {
  return new Agent(options);
}

/**
 * The core driver for an agent's options, and what its host keeps: transport, eras, hooks, handlers, in-process
 * servers and model, approval functions.
 */
export function agentDriver(options) {
  const { core, handlers, hooks, approvers, locals } = agentConfig(options);
  if (options.callModel !== undefined) {
    if (typeof options.callModel !== 'function') throw configError('callModel must be a function (request, { headers }) => response');
    locals.set('', modelFunction(options.callModel));
    // Answered here: errors name no endpoint.
    core.portkey.inProcess = true;
  }
  const eras = applyKnownEras(core.servers);
  const driver = guarded(() => new Driver(JSON.stringify(core), entropy()));
  return { driver, transport: pickTransport(options, hooks), eras, hooks, handlers, locals, approvers };
}

class Agent {
  #host = null;
  #ready;
  #approvers;
  #runs = new Map();
  /** Stored authorization states being loaded; runs start after. */
  #restoring = null;

  /** With the core loaded (Node, or after `init()`), the options are checked at once; else on first use. */
  constructor(options) {
    if (isLoaded()) {
      this.#build(options);
      return;
    }
    this.#ready = init().then(() => this.#build(options));
    this.#ready.catch(() => {}); // the first call reports it
  }

  #build(options) {
    const { driver, approvers, ...parts } = agentDriver(options);
    this.#approvers = approvers;
    this.#host = new Host(driver, {
      ...parts,
      onOutput: (out) => this.#output(out),
      onBroken: (error) => {
        for (const { reject } of this.#runs.values()) reject(error);
        this.#runs.clear();
      },
    });
    this.#restoring = this.#host.restoreAuth().then(() => {
      this.#restoring = null;
    });
  }

  /**
   * Runs one conversation until it ends or pauses for approvals (`status: 'awaiting_approval'`, with `pending`
   * and a `snapshot` for `resume`). Options: `traceId`, `onEvent`, `onSnapshot` (the run's state after every
   * step), `signal` (an AbortSignal: the run ends `cancelled`), `stream` (streamed model responses),
   * `previousResponseId` or `history` (continue an earlier run's conversation).
   */
  run(input, options = {}) {
    return this.#start((driver, flags) => driver.startRun(JSON.stringify(input), flags, Date.now()), options);
  }

  /** Continues a run from its snapshot (taken here or by any other host), with decisions for its pending calls. */
  resume(snapshot, decisions = [], options = {}) {
    let text, list;
    try {
      [text, list] = [snapshotText(snapshot), decisionsJson(decisions)];
    } catch (error) {
      return Promise.reject(wrap(error));
    }
    return this.#start((driver, flags) => driver.resumeRun(text, list, flags, Date.now()), options);
  }

  /**
   * Runs one conversation with streamed responses: an async iterator of the run's events (`textDelta` as the
   * model writes, tool calls, progress, …), ending with `{ type: 'runCompleted', result }`. Breaking out of the
   * loop cancels the run.
   */
  stream(input, options = {}) {
    const queue = [];
    const waiting = []; // resolvers of `next()` calls waiting for an item (callers may overlap)
    let finished = false;
    const push = (item) => {
      queue.push(item);
      for (const wake of waiting.splice(0)) wake();
    };
    const abort = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;
    const onEvent = (event) => {
      push({ event });
      deliver(options.onEvent, event);
    };
    this.run(input, { ...options, stream: true, signal, onEvent }).then(
      (result) => push({ event: { type: 'runCompleted', result } }),
      (error) => push({ error }),
    );
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next() {
        while (!queue.length) {
          if (finished) return { done: true, value: undefined };
          await new Promise((resolve) => waiting.push(resolve));
        }
        const { event, error } = queue.shift();
        if (error) {
          finished = true;
          throw error;
        }
        if (event.type === 'runCompleted') finished = true;
        return { done: false, value: event };
      },
      async return() {
        if (!finished) abort.abort(new Error('the stream was closed'));
        finished = true;
        return { done: true, value: undefined };
      },
    };
  }

  #start(begin, options = {}) {
    if (!this.#host) return this.#ready.then(() => this.#start(begin, options));
    if (this.#restoring) return this.#restoring.then(() => this.#start(begin, options));
    const { traceId, onEvent, onSnapshot, signal, stream = false, previousResponseId, history } = options;
    const flags = JSON.stringify({ stream, snapshots: typeof onSnapshot === 'function', traceId, previousResponseId, history });
    return launch(
      this.#host,
      signal,
      (driver) => begin(driver, flags),
      (m, run, why) => m.cancelRun(run, why, Date.now()),
      (run, settle, resolve, reject) => this.#runs.set(run, { resolve: settle(resolve), reject: settle(reject), onEvent, onSnapshot }),
    );
  }

  /**
   * Gives a run's `onSnapshot` its snapshot. A promise it returns holds the step's calls back until it settles,
   * for at most SNAPSHOT_WAIT_MS; a store that fails or takes longer does not stop the run: the run's `onEvent`
   * gets a `warning` saying that snapshot may not be stored.
   */
  #store(slot, snapshot) {
    if (!slot?.onSnapshot) return;
    const warn = (why) => deliver(slot.onEvent, { type: 'warning', message: `onSnapshot ${why}; the run goes on without waiting for it` });
    let saved;
    try {
      saved = slot.onSnapshot(snapshot);
    } catch (error) {
      return warn(`failed: ${error?.message ?? error}`);
    }
    if (typeof saved?.then !== 'function') return;
    let timer;
    const late = new Promise((resolve) => (timer = setTimeout(() => resolve(warn(`took longer than ${SNAPSHOT_WAIT_MS} ms`)), SNAPSHOT_WAIT_MS)));
    const stored = Promise.resolve(saved).then(
      () => {},
      (error) => warn(`failed: ${error?.message ?? error}`),
    );
    return Promise.race([stored, late]).finally(() => clearTimeout(timer));
  }

  /** Asks the approval function whether a person must decide `call`. One that fails leaves the call to a person:
   * the safe side. If the run is cancelled or the agent closed meanwhile, the core has already ended the run
   * with its pause, and this answer is not taken. */
  #approve({ id, call }) {
    const fn = approverFor(this.#approvers, call.server);
    Promise.resolve()
      .then(() => (fn ? fn({ ...call }) : true))
      .catch(() => true)
      .then((needsPerson) => this.#host.feed((m) => m.answerApproval(id, Boolean(needsPerson), Date.now())));
  }

  /** Ends every run, closes the MCP sessions and processes, and resolves once nothing is left in flight. */
  close() {
    if (!this.#host) return this.#ready.then(() => this.#host.close(), () => {});
    return this.#host.close();
  }

  #output(out) {
    switch (out.type) {
      case 'event': {
        const targets = out.run === null ? [...this.#runs.values()] : [this.#runs.get(out.run)].filter(Boolean);
        for (const { onEvent } of targets) deliver(onEvent, out.event);
        return;
      }
      case 'approvalRequest':
        return this.#approve(out);
      case 'snapshot':
        return this.#store(this.#runs.get(out.run), out.snapshot);
      case 'done': {
        const slot = this.#runs.get(out.run);
        if (!slot) return;
        this.#runs.delete(out.run);
        if (out.error) slot.reject(failure(out));
        else slot.resolve(out.result);
      }
    }
  }
}
