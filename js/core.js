// The platform-neutral host: drives the wasm core (a sans-IO driver) with `fetch` and timers.
// Entry points (node.js, browser.js) initialise the wasm module, then re-export this file.

import { Driver, toFunctionTools as convertTools } from '../pkg/mcp_loop.js';

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

/**
 * Converts MCP tools (the `tools` of a `tools/list` result, or the whole result) to Responses API function
 * tools. `resolve(name)` routes a function name the model uses back to `{ server, tool }`.
 */
export function toFunctionTools(tools, options = {}) {
  let out;
  try {
    out = JSON.parse(convertTools(JSON.stringify(tools), JSON.stringify(options)));
  } catch (error) {
    throw wrap(error);
  }
  const routes = new Map(Object.entries(out.routes));
  return { tools: out.tools, notes: out.notes, resolve: (name) => routes.get(name) ?? null };
}

/** Creates an agent: a model behind Portkey plus private MCP servers, sessions kept across runs. */
export function createAgent(options) {
  return new Agent(options);
}

const AGENT_KEYS = ['model', 'instructions', 'maxTurns', 'modelSettings', 'maxOutputChars', 'modelTimeoutMs'];

function headerPairs(headers, where) {
  if (headers === undefined || headers === null) return undefined;
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return [...headers];
  if (Array.isArray(headers)) return headers;
  if (typeof headers === 'object') return Object.entries(headers);
  throw new McpLoopError(`${where} must be an object, an array of pairs or a Headers`, { code: 'config' });
}

function coreConfig(options) {
  if (!options || typeof options !== 'object') {
    throw new McpLoopError('createAgent needs an options object', { code: 'config' });
  }
  const { servers = {}, portkey = {}, fetch: _fetch, ...rest } = options;
  const config = {};
  for (const [key, value] of Object.entries(rest)) {
    if (!AGENT_KEYS.includes(key)) {
      throw new McpLoopError(`unknown option ${key} (known: ${[...AGENT_KEYS, 'portkey', 'servers', 'fetch'].join(', ')})`, { code: 'config' });
    }
    config[key] = value;
  }
  config.portkey = { ...portkey, headers: headerPairs(portkey.headers, 'portkey.headers') };
  if (typeof servers !== 'object' || Array.isArray(servers)) {
    throw new McpLoopError('servers must be an object: { name: { url, headers, timeoutMs } }', { code: 'config' });
  }
  config.servers = Object.entries(servers).map(([name, server]) => {
    const { headers, ...fields } = typeof server === 'string' ? { url: server } : server ?? {};
    return { name, ...fields, headers: headerPairs(headers, `servers.${name}.headers`) };
  });
  return config;
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

class Agent {
  #driver;
  #fetch;
  #runs = new Map();
  #requests = new Map();
  #timers = new Map();
  #idle = [];
  #pumping = false;
  #broken = null;

  constructor(options) {
    const config = coreConfig(options);
    this.#fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (typeof this.#fetch !== 'function') {
      throw new McpLoopError('no fetch available: pass options.fetch', { code: 'config' });
    }
    try {
      this.#driver = new Driver(JSON.stringify(config));
    } catch (error) {
      throw wrap(error);
    }
  }

  /** Runs one conversation to its end. */
  run(input, { traceId, onEvent } = {}) {
    if (this.#broken) return Promise.reject(this.#broken);
    let run;
    try {
      run = this.#driver.startRun(JSON.stringify(input), traceId ?? newTraceId(), Date.now());
    } catch (error) {
      return Promise.reject(wrap(error));
    }
    return new Promise((resolve, reject) => {
      this.#runs.set(run, { resolve, reject, onEvent });
      this.#pump();
    });
  }

  /** Ends every run, closes the MCP sessions (DELETE) and resolves once nothing is left in flight. */
  close() {
    if (this.#broken) return Promise.resolve();
    const idle = new Promise((resolve) => this.#idle.push(resolve));
    this.#feed(() => this.#driver.close(Date.now()));
    return idle;
  }

  /** Drains the driver: starts effects, delivers events and results, until it waits for an outcome. */
  #pump() {
    if (this.#pumping || this.#broken) return;
    this.#pumping = true;
    try {
      for (;;) {
        let out;
        try {
          out = JSON.parse(this.#driver.pollOutput());
        } catch (error) {
          this.#fail(error);
          return;
        }
        switch (out.type) {
          case 'http':
            this.#http(out.id, out.request);
            break;
          case 'timer':
            this.#timers.set(out.id, setTimeout(() => this.#fire(out.id), Math.max(0, out.atMs - Date.now())));
            break;
          case 'cancel':
            this.#cancel(out.id);
            break;
          case 'event':
            this.#event(out.run, out.event);
            break;
          case 'done':
            this.#done(out);
            break;
          case 'idle':
            for (const resolve of this.#idle.splice(0)) resolve();
            return;
          default: // 'wait'
            return;
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  #event(run, event) {
    const targets = run === null ? [...this.#runs.values()] : [this.#runs.get(run)].filter(Boolean);
    for (const { onEvent } of targets) {
      if (!onEvent) continue;
      try {
        onEvent(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #done({ run, result, error, text }) {
    const slot = this.#runs.get(run);
    if (!slot) return;
    this.#runs.delete(run);
    if (error) {
      slot.reject(new McpLoopError(text, error));
    } else {
      slot.resolve(result);
    }
  }

  /** Feeds one outcome to the driver; inputs for effects it no longer wants are dropped. */
  #feed(apply) {
    if (this.#broken) return;
    try {
      apply();
    } catch (error) {
      // `host`: an outcome for an effect the driver already gave up (cancelled meanwhile). Anything else
      // means the core itself failed.
      if (error?.code !== 'host') return this.#fail(error);
    }
    this.#pump();
  }

  /** The core failed (it cannot recover from a trap): stop everything and fail every run, never hang. */
  #fail(error) {
    this.#broken = new McpLoopError(`the mcp-loop core failed: ${error?.message ?? error}`, { code: 'host' });
    for (const id of [...this.#requests.keys(), ...this.#timers.keys()]) this.#cancel(id);
    for (const { reject } of this.#runs.values()) reject(this.#broken);
    this.#runs.clear();
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #http(id, request) {
    const abort = new AbortController();
    this.#requests.set(id, abort);
    const live = () => this.#requests.get(id) === abort;
    try {
      const response = await this.#fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: abort.signal,
      });
      if (!live()) {
        response.body?.cancel().catch(() => {});
        return;
      }
      this.#feed(() => this.#driver.handleHttpHead(id, response.status, JSON.stringify([...response.headers]), Date.now()));
      if (response.body) {
        const reader = response.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (!live()) {
            reader.cancel().catch(() => {});
            return;
          }
          if (done) break;
          this.#feed(() => this.#driver.handleHttpChunk(id, value, Date.now()));
        }
      }
      if (!live()) return;
      this.#requests.delete(id);
      this.#feed(() => this.#driver.handleHttpEnd(id, Date.now()));
    } catch (error) {
      if (!live()) return;
      this.#requests.delete(id);
      this.#feed(() => this.#driver.handleHttpError(id, describeFailure(error), Date.now()));
    }
  }

  #fire(id) {
    this.#timers.delete(id);
    this.#feed(() => this.#driver.handleTimer(id, Date.now()));
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
