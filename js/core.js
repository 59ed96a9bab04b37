// The platform-neutral host: drives the wasm core (sans-IO machines) with fetch, child processes (where the
// platform has them) and timers. Entry points (node.js, browser.js) initialise the wasm module and the
// platform, then re-export this file.

import { Driver, ToolLoop as CoreLoop, toFunctionTools as convertTools } from '../pkg/mcp_loop.js';
import { platform } from './platform.js';
import { CONNECTION, clientServer, isClient, localUrl, modelFunction } from './local.js';

/** An error from mcp-loop: `code` is 'config' | 'mcp' | 'model' | 'cancelled' | 'host'. */
export class McpLoopError extends Error {
  constructor(text, fields = {}) {
    super(text);
    this.name = 'McpLoopError';
    this.code = fields.code ?? 'host';
    if (fields.status !== undefined) this.status = fields.status;
    if (fields.server !== undefined) this.server = fields.server;
    if (fields.message !== undefined) this.detail = fields.message;
  }
}

/** Errors thrown by the wasm bindings are `Error`s with a `code`; give them our class and name. */
function wrap(error) {
  if (error instanceof Error && typeof error.code === 'string') {
    return new McpLoopError(error.message, { code: error.code, status: error.status, server: error.server });
  }
  return error;
}

const config = (message) => new McpLoopError(message, { code: 'config' });

const reason = (signal) => String(signal?.reason?.message ?? signal?.reason ?? 'aborted');

/** `fn()`, with what the core throws turned into an `McpLoopError`. */
function guarded(fn) {
  try {
    return fn();
  } catch (error) {
    throw wrap(error);
  }
}

/** A core failure given as a `done` or `opDone` output. */
const failure = (out) => new McpLoopError(out.text, out.error);

/**
 * Starts a run or an operation on `host`: `begin(machine)` gives its id, and `register(id, settle, resolve,
 * reject)` keeps its outcome handlers, each wrapped with `settle` so that the `signal` listener (which calls
 * `stop(machine, id)`) goes when it ends: an application may share one signal across many calls.
 */
function launch(host, signal, begin, stop, register) {
  if (host.broken) return Promise.reject(host.broken);
  if (signal?.aborted) return Promise.reject(new McpLoopError('cancelled before it started', { code: 'cancelled' }));
  return new Promise((resolve, reject) => {
    host.feed((machine) => {
      let id;
      try {
        id = begin(machine);
      } catch (error) {
        return reject(wrap(error));
      }
      const cancel = () => host.feed((m) => stop(m, id));
      signal?.addEventListener('abort', cancel, { once: true });
      const settle = (finish) => (value) => {
        signal?.removeEventListener('abort', cancel);
        finish(value);
      };
      register(id, settle, resolve, reject);
    });
  });
}

/**
 * Converts MCP tools (the `tools` of a `tools/list` result, or the whole result) to Responses API function
 * tools. `resolve(name)` routes a function name the model uses back to `{ server, tool }`.
 */
export function toFunctionTools(tools, options = {}) {
  const out = guarded(() => JSON.parse(convertTools(JSON.stringify(tools), JSON.stringify(options))));
  const routes = new Map(Object.entries(out.routes));
  return { tools: out.tools, notes: out.notes, resolve: (name) => routes.get(name) ?? null };
}

// ---- options ----

const HANDLER_KINDS = { elicitation: 'elicitation/create', sampling: 'sampling/createMessage', roots: 'roots/list' };
const SERVER_KEYS = [
  'url',
  'command',
  'args',
  'env',
  'cwd',
  'headers',
  'timeoutMs',
  'protocol',
  'transport',
  'allowTools',
  'denyTools',
  'label',
  'approve',
  'maxConcurrentCalls',
  'client',
];

function headerPairs(headers, where) {
  if (headers === undefined || headers === null) return undefined;
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return [...headers];
  if (Array.isArray(headers)) return headers;
  if (typeof headers === 'object') return Object.entries(headers);
  throw config(`${where} must be an object, an array of pairs, a Headers or a function`);
}

function checkHandlers(handlers = {}) {
  for (const [kind, handler] of Object.entries(handlers)) {
    if (!(kind in HANDLER_KINDS)) throw config(`unknown handler ${kind} (known: ${Object.keys(HANDLER_KINDS).join(', ')})`);
    if (typeof handler !== 'function') throw config(`handlers.${kind} must be a function`);
  }
  return handlers;
}

/** An approval policy for the core: a function stays on the JS side (`approvers`) and the core pauses for it. */
function approvePolicy(approve, key, approvers) {
  // A server's own policy, even a plain one, takes precedence over the agent's function (null: none).
  approvers.set(key, typeof approve === 'function' ? approve : null);
  return typeof approve === 'function' ? 'host' : approve;
}

/** One server's options as the core reads them; `headers` and `approve` functions are kept on the JS side. */
function serverConfig(name, server, handlers, hooks, approvers = new Map(), locals = new Map()) {
  if (typeof server === 'string') server = { url: server };
  if (isClient(server)) server = { client: server };
  if (!server || typeof server !== 'object') throw config(`server '${name}' must be a URL, an MCP client or an options object`);
  for (const key of Object.keys(server)) {
    if (!SERVER_KEYS.includes(key)) throw config(`unknown option servers.${name}.${key} (known: ${SERVER_KEYS.join(', ')})`);
  }
  const { headers, approve, client, ...rest } = server;
  const out = { name, ...rest };
  if (client !== undefined) {
    // The application's own MCP client, answered in-process (js/local.js); the core talks to it as to a server.
    if (!isClient(client)) throw config(`servers.${name}.client must have listTools() and callTool()`);
    if (rest.url || rest.command) throw config(`servers.${name} has a client; it takes no url or command`);
    Object.assign(out, { url: localUrl(name), transport: 'streamable-http', protocol: '2025-11-25' });
    locals.set(name, clientServer(name, client));
  }
  if (approve !== undefined) out.approve = approvePolicy(approve, name, approvers);
  if (typeof headers === 'function') hooks.set(name, headers);
  else out.headers = headerPairs(headers, `servers.${name}.headers`);
  const capabilities = {};
  for (const kind of Object.keys(handlers)) capabilities[kind] = true;
  out.capabilities = capabilities;
  return out;
}

/** A trace id for Portkey; `crypto.getRandomValues` works in insecure (plain http intranet) pages too. */
function newTraceId() {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return 'mcp-loop-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A transport failure, described without the URL or address (the model may read MCP errors). */
function describeFailure(error) {
  const code = error?.cause?.code;
  const text = `${error?.name ?? 'Error'}: ${error?.message ?? String(error)}`;
  return code ? `${text} (${code})` : text;
}

function pickFetch(options) {
  const fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
  if (typeof fetch !== 'function') throw config('no fetch available: pass options.fetch');
  return fetch;
}

// ---- the host ----

/**
 * Performs a machine's effects and feeds back their outcomes: HTTP with `fetch` (adding a server's
 * `headers()` hook), server processes where the platform can start them, timers, aborts. Outputs that are not
 * effects go to `onOutput`. If the core ever fails (a trap), every waiter is failed: nothing hangs.
 */
class Host {
  #machine;
  #fetch;
  #hooks;
  #locals;
  #onOutput;
  #onBroken;
  #requests = new Map();
  #timers = new Map();
  #processes = new Map();
  #idle = [];
  #pumping = false;
  #held = null;
  #waits = 0;
  broken = null;

  constructor(machine, { fetch, hooks, locals = new Map(), onOutput, onBroken }) {
    this.#machine = machine;
    this.#fetch = fetch;
    this.#hooks = hooks;
    // In-process answers by server name ('' for the model): clients and a model function the application gave.
    this.#locals = locals;
    this.#onOutput = onOutput;
    this.#onBroken = onBroken;
  }

  /** Calls the machine. An outcome for an effect it already gave up is simply not taken (the binding returns
   * false); anything it throws here means the host broke the contract or the core failed. */
  feed(apply) {
    if (this.broken) return;
    try {
      apply(this.#machine);
    } catch (error) {
      return this.#fail(error);
    }
    this.pump();
  }

  /** Closes the machine and resolves once nothing is left in flight. */
  close() {
    if (this.broken) return Promise.resolve();
    const idle = new Promise((resolve) => this.#idle.push(resolve));
    this.feed((m) => m.close(Date.now()));
    return idle;
  }

  pump() {
    if (this.#pumping || this.broken) return;
    this.#pumping = true;
    try {
      for (;;) {
        let out;
        try {
          out = JSON.parse(this.#machine.pollOutput());
        } catch (error) {
          return this.#fail(error);
        }
        switch (out.type) {
          case 'http':
          case 'stdio':
          case 'timer':
            if (this.#held) this.#held.push({ out, at: Date.now() });
            else this.#perform(out);
            break;
          case 'cancel': {
            // Never held: it drops the held effect it stops, or stops one that went out.
            const held = this.#held?.findIndex(({ out: h }) => h.id === out.id && h.type !== 'stdio') ?? -1;
            if (held >= 0) this.#held.splice(held, 1);
            else this.#cancel(out.id);
            break;
          }
          case 'idle':
            for (const resolve of this.#idle.splice(0)) resolve();
            return;
          case 'wait':
            return;
          default:
            this.#hold(this.#onOutput(out));
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  #perform(out) {
    switch (out.type) {
      case 'http':
        return this.#http(out.id, out.request, out.server);
      case 'stdio':
        return this.#stdio(out.id, out);
      case 'timer':
        return this.#timers.set(out.id, setTimeout(() => this.#fire(out.id), Math.max(0, out.atMs - Date.now())));
    }
  }

  /**
   * An output handler that returns a promise (an `onSnapshot` storing a snapshot) holds back the effects that
   * follow until it settles, so the snapshot is stored before the calls it records as in flight go out. The
   * handler's promise must settle (the agent bounds it); held timers keep their delay.
   */
  #hold(wait) {
    if (typeof wait?.then !== 'function') return;
    this.#held ??= [];
    this.#waits += 1;
    Promise.resolve(wait)
      .catch(() => {})
      .then(() => {
        if (--this.#waits > 0 || this.broken || !this.#held) return;
        const held = this.#held;
        this.#held = null;
        const now = Date.now();
        for (const { out, at } of held) this.#perform(out.type === 'timer' ? { ...out, atMs: out.atMs + (now - at) } : out);
        this.pump();
      });
  }

  #fail(error) {
    this.broken = new McpLoopError(`the mcp-loop core failed: ${error?.message ?? error}`, { code: 'host' });
    this.#held = null;
    for (const id of [...this.#requests.keys(), ...this.#timers.keys()]) this.#cancel(id);
    for (const process of this.#processes.values()) process.close();
    this.#onBroken(this.broken);
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #http(id, request, server) {
    const abort = new AbortController();
    this.#requests.set(id, abort);
    const live = () => this.#requests.get(id) === abort;
    try {
      let headers = request.headers;
      const hook = server !== undefined && this.#hooks.get(server);
      if (hook) {
        let extra;
        try {
          extra = headerPairs(await hook(), `servers.${server}.headers()`) ?? [];
        } catch (error) {
          // Only the kind of error: its text may carry the very credential the hook was fetching.
          throw new Error(error?.code === 'config' ? error.message : `the headers() hook failed (${error?.name ?? 'Error'})`);
        }
        // The core redacts them from every message, as it does configured header values.
        if (extra.length && live()) this.feed((m) => m.addSecrets(server, JSON.stringify(extra.map(([, value]) => String(value)))));
        headers = [...headers, ...extra];
      }
      if (!live()) return;
      const local = this.#locals.get(server ?? '');
      const response = local
        ? await local({ ...request, headers }, abort.signal)
        : await this.#fetch(request.url, { method: request.method, headers, body: request.body, signal: abort.signal });
      if (!live()) {
        response.body?.cancel().catch(() => {});
        return;
      }
      this.feed((m) => m.handleHttpHead(id, response.status, JSON.stringify([...response.headers]), Date.now()));
      if (response.body) {
        const reader = response.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (!live()) {
            reader.cancel().catch(() => {});
            return;
          }
          if (done) break;
          this.feed((m) => m.handleHttpChunk(id, value, Date.now()));
        }
      }
      if (!live()) return;
      this.#requests.delete(id);
      this.feed((m) => m.handleHttpEnd(id, Date.now()));
    } catch (error) {
      if (!live()) return;
      this.#requests.delete(id);
      this.feed((m) => m.handleHttpError(id, describeFailure(error), Date.now()));
    }
  }

  #stdio(id, op) {
    const exit = (reason) => {
      this.#processes.delete(id);
      this.feed((m) => m.handleStdioExit(id, reason, Date.now()));
    };
    switch (op.op) {
      case 'spawn':
        if (!platform.spawn) {
          queueMicrotask(() => exit('could not start: this environment cannot start processes (stdio servers need Node or the native host)'));
          return;
        }
        this.#processes.set(
          id,
          platform.spawn(op, {
            stdout: (bytes) => this.feed((m) => m.handleStdioStdout(id, bytes, Date.now())),
            stderr: (bytes) => this.feed((m) => m.handleStdioStderr(id, bytes, Date.now())),
            exit,
          }),
        );
        return;
      case 'write':
        this.#processes.get(id)?.write(op.line);
        return;
      case 'close':
        this.#processes.get(id)?.close();
    }
  }

  #fire(id) {
    this.#timers.delete(id);
    this.feed((m) => m.handleTimer(id, Date.now()));
  }

  #cancel(id) {
    const timer = this.#timers.get(id);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.#timers.delete(id);
    }
    const request = this.#requests.get(id);
    if (request) {
      this.#requests.delete(id);
      request.abort();
    }
  }
}

/** Answers a server's question with the application's handler (or refuses it). */
function answerWith(host, handlers, { id, server, run, method, params }) {
  const kind = Object.keys(HANDLER_KINDS).find((k) => HANDLER_KINDS[k] === method);
  const handler = kind && handlers[kind];
  const answer = handler
    ? Promise.resolve().then(() => handler(params, { server, run }))
    : Promise.reject(new Error(`no handler for ${method}`));
  const refuse = (m, why) => m.answerInput(id, undefined, why, Date.now());
  answer.then(
    (result) =>
      host.feed((m) => {
        // An answer that cannot be carried (a BigInt, a cycle, a lone surrogate) refuses this one request; it
        // must not break the agent.
        let json;
        try {
          json = JSON.stringify(result ?? {});
        } catch (error) {
          return refuse(m, `the ${method} handler's answer is not JSON (${error?.name ?? 'Error'})`);
        }
        try {
          m.answerInput(id, json, '', Date.now());
        } catch (error) {
          if (error?.code !== 'config') throw error;
          refuse(m, `the ${method} handler's answer is not valid JSON`);
        }
      }),
    (error) => host.feed((m) => refuse(m, String(error?.message ?? error))),
  );
}

/** Gives an event to the application's listener. What the listener throws (or an async listener rejects with)
 * is its own affair: it never ends a run nor crashes the process. */
function deliver(onEvent, event) {
  if (!onEvent) return;
  try {
    const pending = onEvent(event);
    if (typeof pending?.catch === 'function') pending.catch(() => {});
  } catch {
    // ignored, as said above
  }
}

// ---- the agent ----

const AGENT_KEYS = [
  'model',
  'instructions',
  'maxTurns',
  'modelSettings',
  'maxOutputChars',
  'modelTimeoutMs',
  'strict',
  'toolPrefix',
  'maxDescriptionChars',
  'validateArguments',
  'toolChanges',
  'continuation',
  'approve',
  'inflight',
  'maxToolCallsPerTurn',
  'parallelToolCalls',
  'maxRetries',
  'runTimeoutMs',
];

const HOST_KEYS = ['portkey', 'servers', 'handlers', 'fetch', 'callModel'];

/** The longest an `onSnapshot` promise holds a run's calls back. */
const SNAPSHOT_WAIT_MS = 30_000;

/** Decisions as the core takes them, JSON `[{ callId, approved, reason? }]`, from that or `{ [callId]: boolean | { approved, reason } }`. */
function decisionsJson(decisions = []) {
  const list = Array.isArray(decisions)
    ? decisions
    : Object.entries(decisions).map(([callId, d]) => (typeof d === 'boolean' ? { callId, approved: d } : { callId, ...d }));
  for (const d of list) {
    if (typeof d?.callId !== 'string' || typeof d.approved !== 'boolean') {
      throw config('decisions must be [{ callId, approved, reason? }] or { [callId]: boolean | { approved, reason? } }');
    }
  }
  return JSON.stringify(list);
}

/** A snapshot as the core takes it: its JSON text. */
const snapshotText = (snapshot) => (typeof snapshot === 'string' ? snapshot : JSON.stringify(snapshot));

/** Creates an agent: a model behind Portkey plus private MCP servers, sessions kept across runs. */
export function createAgent(options) {
  return new Agent(options);
}

class Agent {
  #host;
  #handlers;
  #approvers = new Map();
  #runs = new Map();
  /** Aborted by `close()`: approval functions still deciding stop waiting, and their pause is the result. */
  #closed = new AbortController();

  constructor(options) {
    if (!options || typeof options !== 'object') throw config('createAgent needs an options object');
    if (typeof options.model !== 'string' || !options.model.trim()) throw config('model is required');
    const { servers = {}, portkey = {}, handlers, fetch: _fetch, callModel, ...rest } = options;
    this.#handlers = checkHandlers(handlers);
    const core = {};
    for (const [key, value] of Object.entries(rest)) {
      if (!AGENT_KEYS.includes(key)) {
        throw config(`unknown option ${key} (known: ${[...AGENT_KEYS, ...HOST_KEYS].join(', ')})`);
      }
      core[key] = value;
    }
    const locals = new Map();
    if (callModel !== undefined) {
      if (typeof callModel !== 'function') throw config('callModel must be a function (request, { headers }) => response');
      locals.set('', modelFunction(callModel));
    }
    core.portkey = { ...portkey, headers: headerPairs(portkey.headers, 'portkey.headers') };
    if (typeof servers !== 'object' || Array.isArray(servers)) {
      throw config('servers must be an object: { name: { url | command, … } }');
    }
    const hooks = new Map();
    // The agent-wide approval function is kept under the key '' (no server has an empty name).
    if (core.approve !== undefined) core.approve = approvePolicy(core.approve, '', this.#approvers);
    core.servers = Object.entries(servers).map(([name, server]) =>
      serverConfig(name, server, this.#handlers, hooks, this.#approvers, locals),
    );
    const driver = guarded(() => new Driver(JSON.stringify(core)));
    this.#host = new Host(driver, {
      fetch: pickFetch(options),
      hooks,
      locals,
      onOutput: (out) => this.#output(out),
      onBroken: (error) => {
        for (const { reject } of this.#runs.values()) reject(error);
        this.#runs.clear();
      },
    });
  }

  /**
   * Runs one conversation until it ends or pauses for approvals (`status: 'awaiting_approval'`, with `pending`
   * and a `snapshot` for `resume`). Options: `traceId`, `onEvent`, `onSnapshot` (the run's state after every
   * step), `signal` (an AbortSignal: the run ends `cancelled`), `stream` (streamed model responses).
   */
  run(input, options = {}) {
    const traceId = options.traceId ?? newTraceId();
    return this.#start((driver, flags) => driver.startRun(JSON.stringify(input), traceId, flags, Date.now()), options);
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

  #start(begin, { traceId, onEvent, onSnapshot, signal, stream = false } = {}) {
    const flags = JSON.stringify({ stream, snapshots: typeof onSnapshot === 'function' });
    const options = { traceId, onEvent, onSnapshot, signal, stream };
    return launch(
      this.#host,
      signal,
      (driver) => begin(driver, flags),
      (m, run) => m.cancelRun(run, reason(signal), Date.now()),
      (run, settle, resolve, reject) =>
        this.#runs.set(run, { resolve: settle((r) => this.#paused(r, options).then(resolve, reject)), reject: settle(reject), onEvent, onSnapshot }),
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

  /** A pause for calls whose policy is a function: it approves at once the calls it does not want to ask about.
   * If the run's signal is aborted or the agent closed meanwhile, the pause itself is the result: nothing is lost,
   * it can be resumed. */
  async #paused(result, options) {
    if (result.status !== 'awaiting_approval') return result;
    const STOP = Symbol('stopped');
    const signals = [options.signal, this.#closed.signal].filter(Boolean);
    let onAbort;
    const stopped = new Promise((resolve) => (onAbort = () => resolve(STOP)));
    if (signals.some((s) => s.aborted)) onAbort();
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
    const approve = [];
    try {
      for (const call of result.pending) {
        const fn = this.#approvers.has(call.server) ? this.#approvers.get(call.server) : this.#approvers.get('');
        // A function that fails leaves the call to a person: the safe side.
        const asking = fn ? Promise.resolve().then(() => fn({ ...call })).catch(() => true) : true;
        const needed = await Promise.race([asking, stopped]);
        if (needed === STOP) return result;
        if (!needed) approve.push({ callId: call.callId, approved: true });
      }
    } finally {
      for (const s of signals) s.removeEventListener('abort', onAbort);
    }
    if (!approve.length) return result;
    // Run the calls nobody needs to see; the run pauses again for the others once those are done.
    return this.resume(result.snapshot, approve, options);
  }

  /** Ends every run, closes the MCP sessions and processes, and resolves once nothing is left in flight. */
  close() {
    this.#closed.abort();
    return this.#host.close();
  }

  #output(out) {
    switch (out.type) {
      case 'event': {
        const targets = out.run === null ? [...this.#runs.values()] : [this.#runs.get(out.run)].filter(Boolean);
        for (const { onEvent } of targets) deliver(onEvent, out.event);
        return;
      }
      case 'inputRequest':
        return answerWith(this.#host, this.#handlers, out);
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

// ---- the tool loop alone ----

/** A run's options for the core: the agent options that shape a run, `servers` as per-server policies. */
function loopOptions(options) {
  if (!options || typeof options !== 'object') throw config('ToolLoop needs an options object');
  const { servers = {}, approve, ...rest } = options;
  if (typeof approve === 'function') {
    throw config("ToolLoop takes approve as 'never', 'always' or 'destructive'; decide paused calls with decide()");
  }
  const policies = Object.entries(servers).map(([name, { approve, maxConcurrentCalls } = {}]) => {
    if (typeof approve === 'function') throw config(`servers.${name}.approve: a function is not possible here; use decide()`);
    return { name, approve, maxConcurrentCalls };
  });
  return JSON.stringify({ ...rest, approve, servers: policies });
}

/** Servers' tools for the core: `{ name: tools[] | { tools, label } }` → `[{ server, label, tools }]`. */
function listedTools(servers) {
  if (!servers || typeof servers !== 'object') throw config('tools must be an object: { server: tools[] }');
  return JSON.stringify(
    Object.entries(servers).map(([server, v]) => (Array.isArray(v) ? { server, tools: v } : { server, label: v?.label, tools: v?.tools ?? [] })),
  );
}

/**
 * The tool loop alone, for hosts that own their MCP clients and model client: it says what to do (`next()`
 * returns `{ type: 'callModel', id, request }`, `{ type: 'callTool', id, callId, server, tool, arguments }`,
 * `{ type: 'cancel', id }`, `{ type: 'event', event }`, `{ type: 'paused', pending }`, `{ type: 'done', result }`
 * or `{ type: 'wait' }`) and is told the outcomes. `tools` is `{ server: tools[] }` as each `tools/list` gave them.
 */
export class ToolLoop {
  #core;

  constructor(core) {
    this.#core = core;
  }

  static start(options, tools, input) {
    return ToolLoop.#make(() => new CoreLoop(loopOptions(options), listedTools(tools), JSON.stringify(input), '', Date.now()));
  }

  static restore(options, tools, snapshot, decisions = []) {
    const text = snapshotText(snapshot);
    return ToolLoop.#make(() => CoreLoop.restore(loopOptions(options), listedTools(tools), text, decisionsJson(decisions), Date.now()));
  }

  static #make(build) {
    return new ToolLoop(guarded(build));
  }

  next() {
    const out = JSON.parse(this.#core.pollOutput());
    if (out.type === 'done' && out.error) out.error = failure(out);
    return out;
  }

  modelResponse(id, response) {
    return this.#call((c) => c.handleModelResponse(id, JSON.stringify(response), Date.now()));
  }

  modelError(id, error) {
    return this.#call((c) => c.handleModelError(id, Number(error?.status) || 0, String(error?.message ?? error), Date.now()));
  }

  toolResult(id, result) {
    return this.#call((c) => c.handleToolResult(id, JSON.stringify(result), '', Date.now()));
  }

  toolFailed(id, message) {
    return this.#call((c) => c.handleToolResult(id, '', String(message || 'the call failed'), Date.now()));
  }

  decide(decisions) {
    this.#call((c) => c.decide(decisionsJson(decisions), Date.now()));
  }

  cancel(reason = 'cancelled') {
    this.#core.cancel(String(reason));
  }

  snapshot() {
    return JSON.parse(this.#core.snapshot());
  }

  #call(apply) {
    return guarded(() => apply(this.#core));
  }
}

// ---- MCP alone ----

/**
 * Connects to one MCP server (Streamable HTTP, legacy HTTP+SSE, or stdio in Node) and resolves once it
 * answered: `{ serverInfo, protocolVersion, listTools(), callTool(name, args, { signal, onProgress }), close() }`.
 */
export async function connectMcp(options) {
  if (!options || typeof options !== 'object') throw config('connectMcp needs an options object');
  const { handlers, fetch: _fetch, name = 'server', onEvent, ...server } = options;
  if (server.client !== undefined) throw config('connectMcp connects to a url or a command; a client is already connected');
  const checked = checkHandlers(handlers);
  const hooks = new Map();
  const core = serverConfig(name, server, checked, hooks);
  // The same driver as an agent's, with one server and no model.
  const machine = guarded(() => new Driver(JSON.stringify({ servers: [core] })));
  const ops = new Map();
  let connected = null;
  const host = new Host(machine, {
    fetch: pickFetch(options),
    hooks,
    onOutput(out) {
      switch (out.type) {
        case 'event':
          if (out.event.type === 'serverConnected') connected = out.event;
          return deliver(onEvent, out.event);
        case 'inputRequest':
          return answerWith(host, checked, out);
        case 'opProgress':
          return deliver(ops.get(out.op)?.onProgress, { progress: out.progress, total: out.total ?? undefined, message: out.message ?? undefined });
        case 'opDone': {
          const slot = ops.get(out.op);
          if (!slot) return;
          ops.delete(out.op);
          if (out.error) slot.reject(failure(out));
          else slot.resolve(out.result);
        }
      }
    },
    onBroken(error) {
      for (const { reject } of ops.values()) reject(error);
      ops.clear();
    },
  });
  const start = (begin, { signal, onProgress } = {}) =>
    launch(
      host,
      signal,
      begin,
      (m, op) => m.cancelOp(op, String(signal.reason ?? 'aborted'), Date.now()),
      (op, settle, resolve, reject) => ops.set(op, { resolve: settle(resolve), reject: settle(reject), onProgress }),
    );
  const listTools = () => start((m) => m.listTools(name, Date.now()));
  try {
    await listTools();
  } catch (error) {
    await host.close();
    throw error;
  }
  return {
    [CONNECTION]: true,
    serverInfo: connected?.serverInfo ?? null,
    protocolVersion: connected?.protocolVersion ?? null,
    listTools,
    callTool: (tool, args = {}, options = {}) => start((m) => m.callTool(name, tool, JSON.stringify(args), Date.now()), options),
    close: () => host.close(),
  };
}
