// The host: it performs a machine's effects (HTTP with the platform's transport or fetch, server processes where the platform can start
// them, timers, aborts), answers its questions with the application's functions, and feeds back the outcomes.
// Every policy (when to ask, what a failure means, how a process ends, which ids are late) is the core's.

import { learn } from './eras.js';
import { fromResponse } from './fetch.js';
import { McpLoopError, reason, wrap } from './errors.js';
import { handlerFor, headerPairs } from './options.js';
import { platform } from './platform.js';

/** Pages, workers and extensions: where a refused cross-origin request looks like any network failure. */
const IN_BROWSER = typeof globalThis.process?.versions?.node !== 'string';

/**
 * A transport failure, described without the URL or address (the model may read MCP errors). In a browser a
 * `TypeError` from fetch is most often CORS (or a missing `host_permissions` in an extension): said so, since
 * the browser itself tells nothing more.
 */
function describeFailure(error, server) {
  const code = error?.cause?.code;
  const text = `${error?.name ?? 'Error'}: ${error?.message ?? String(error)}`;
  if (refusedByBrowser(error)) {
    // An MCP server's origin stays out of the text (see `origin`); the core names the model endpoint's.
    const who = server ? 'the MCP server' : 'the model endpoint';
    return `${text} (the browser could not reach ${who}, or refused its answer: it must allow this page's origin with CORS, or an extension needs host_permissions for it)`;
  }
  return code ? `${text} (${code})` : text;
}

const refusedByBrowser = (error) => IN_BROWSER && error?.name === 'TypeError';

/** Ends a response body no one reads any more (its connection is closed or returned to the pool). */
const stop = (chunks) => Promise.resolve(chunks.return?.()).catch(() => {});

/**
 * Performs a machine's effects and feeds back their outcomes. `headersRequest` and `inputRequest` outputs are
 * answered here, with `hooks` (a server's `headers()` and `auth.authorize()` functions) and `handlers`; every other output goes to
 * `onOutput`. If the core ever fails (a trap), every waiter is failed: nothing hangs.
 */
export class Host {
  #machine;
  #transport;
  #hooks;
  #handlers;
  #locals;
  #onOutput;
  #onBroken;
  #requests = new Map();
  /** MCP servers whose requests the browser refused, with their origin: given to the application as the error's `origin`. */
  #refused = new Map();
  /** `name → url` of the servers whose protocol era is remembered (js/eras.js). */
  #eras;
  #timers = new Map();
  #processes = new Map();
  #idle = [];
  #pumping = false;
  #held = null;
  #waits = 0;
  broken = null;

  constructor(machine, { transport, hooks = new Map(), handlers = {}, locals = new Map(), eras = new Map(), onOutput, onBroken }) {
    this.#machine = machine;
    this.#eras = eras;
    this.#transport = transport;
    this.#hooks = hooks;
    this.#handlers = handlers;
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
          // An HTTP request's body comes apart, as bytes (mostly the tools' JSON: not escaped, not re-parsed).
          if (out.type === 'http') out.request.body = this.#machine.takeBody() ?? null;
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
          case 'headersRequest':
            this.#headers(out.id, out.server);
            break;
          case 'authorizeRequest':
            this.#authorize(out.id, out.server, out.url);
            break;
          case 'signRequest': {
            const sign = this.#hooks.get(out.server)?.sign;
            Promise.resolve()
              .then(() => (sign ? sign(out.input) : Promise.reject(new Error('no private key'))))
              .then(
                (signature) => this.feed((m) => m.answerSign(out.id, String(signature), '', Date.now())),
                (error) => this.feed((m) => m.answerSign(out.id, undefined, error?.name ?? 'Error', Date.now())),
              );
            break;
          }
          case 'authState': {
            // A store that fails costs a sign-in later, nothing now.
            const { storage, key } = this.#hooks.get(out.server) ?? {};
            Promise.resolve()
              .then(() => storage?.set(key, out.state))
              .catch(() => {});
            break;
          }
          case 'inputRequest':
            this.#answer(out);
            break;
          case 'idle':
            for (const resolve of this.#idle.splice(0)) resolve();
            return;
          case 'wait':
            return;
          default:
            learn(this.#eras, out);
            if (this.#refused.has(out.error?.server)) out.error.origin = this.#refused.get(out.error.server);
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
        // One millisecond more: Node's timers can fire up to one before `Date.now()` reaches the deadline.
        return this.#timers.set(out.id, setTimeout(() => this.#fire(out.id), Math.max(0, out.atMs - Date.now() + 1)));
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
    // No core is left to end the server processes step by step.
    for (const process of this.#processes.values()) process.signal('SIGKILL');
    this.#onBroken(this.broken);
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Asks a server's `headers()` function for a request's extra headers; the core holds the request until then. */
  #headers(id, server) {
    const hook = this.#hooks.get(server)?.headers;
    Promise.resolve()
      .then(() => (hook ? hook() : []))
      .then((headers) => headerPairs(headers, `servers.${server}.headers()`) ?? [])
      .then(
        (headers) => {
          const pairs = headers.map(([name, value]) => [String(name), String(value)]);
          this.feed((m) => m.answerHeaders(id, JSON.stringify(pairs), '', Date.now()));
        },
        // Only the kind of failure: its text may carry the very credential the hook was fetching.
        (error) => this.feed((m) => m.answerHeaders(id, undefined, error?.code === 'config' ? error.message : (error?.name ?? 'Error'), Date.now())),
      );
  }

  /** Starts each server with `auth` from its stored state (tokens of an earlier agent or process), if any. A
   * store that fails, or a state that is not one, means signing in anew when the server asks. */
  restoreAuth() {
    const servers = [...this.#hooks].filter(([, hook]) => hook.storage);
    return Promise.all(
      servers.map(([server, { storage, key }]) =>
        Promise.resolve()
          .then(() => storage.get(key))
          .then((state) => state && this.feed((m) => m.restoreAuth(server, JSON.stringify(state), Date.now())))
          .catch(() => {}),
      ),
    );
  }

  /** The person's part of an authorization: the server's `auth.authorize(url)` resolves to the URL the
   * authorization server redirected to. Only the kind of a failure goes back: its text may hold a code. */
  #authorize(id, server, url) {
    const authorize = this.#hooks.get(server)?.authorize;
    Promise.resolve()
      .then(() => {
        if (!authorize) throw new McpLoopError(`servers.${server}.auth.authorize is not set: the server needs a person to sign in`, { code: 'config' });
        return authorize(url);
      })
      .then(
        (redirected) => this.feed((m) => m.answerAuthorize(id, String(redirected), '', Date.now())),
        (error) => this.feed((m) => m.answerAuthorize(id, undefined, error?.code === 'config' ? error.message : (error?.name ?? 'Error'), Date.now())),
      );
  }

  /** Answers a server's question with the application's handler (or refuses it). */
  #answer({ id, server, run, method, params }) {
    const handler = handlerFor(this.#handlers, method);
    const answer = handler ? Promise.resolve().then(() => handler(params, { server, run })) : Promise.reject(new Error(`no handler for ${method}`));
    const refuse = (m, why) => m.answerInput(id, undefined, why, Date.now());
    answer.then(
      (result) =>
        this.feed((m) => {
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
      (error) => this.feed((m) => refuse(m, String(error?.message ?? error))),
    );
  }

  async #http(id, request, server) {
    const abort = new AbortController();
    this.#requests.set(id, abort);
    const live = () => this.#requests.get(id) === abort;
    let chunks;
    try {
      const local = this.#locals.get(server ?? '');
      const response = local
        ? fromResponse(await local(request, abort.signal))
        : await this.#transport(request, abort.signal, this.#hooks.get(server ?? '')?.tls);
      chunks = response.body[Symbol.asyncIterator]();
      if (!live()) return stop(chunks);
      this.feed((m) => m.handleHttpHead(id, response.status, JSON.stringify(response.headers), Date.now()));
      for (;;) {
        const { done, value } = await chunks.next();
        if (!live()) return stop(chunks);
        if (done) break;
        this.feed((m) => m.handleHttpChunk(id, value, Date.now()));
      }
      this.#requests.delete(id);
      this.feed((m) => m.handleHttpEnd(id, Date.now()));
    } catch (error) {
      if (!live()) return chunks && stop(chunks);
      this.#requests.delete(id);
      const origin = new URL(request.url).origin;
      if (server && refusedByBrowser(error)) this.#refused.set(server, origin);
      this.feed((m) => m.handleHttpError(id, describeFailure(error, server), error?.lasting === true, Date.now()));
    }
  }

  #stdio(id, op) {
    const exit = (reason) => {
      this.#processes.delete(id);
      this.feed((m) => m.handleStdioExit(id, reason, Date.now()));
    };
    const process = this.#processes.get(id);
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
        return process?.write(op.line);
      case 'close':
        return process?.close();
      case 'terminate':
        return process?.signal('SIGTERM');
      case 'kill':
        return process?.signal('SIGKILL');
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

/**
 * Starts a run or an operation on `host`: `begin(machine)` gives its id, and `register(id, settle, resolve,
 * reject)` keeps its outcome handlers, each wrapped with `settle` so that the `signal` listener (which calls
 * `stop(machine, id)`) goes when it ends: an application may share one signal across many calls.
 */
export function launch(host, signal, begin, stop, register) {
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
      const cancel = () => host.feed((m) => stop(m, id, reason(signal)));
      signal?.addEventListener('abort', cancel, { once: true });
      const settle = (finish) => (value) => {
        signal?.removeEventListener('abort', cancel);
        finish(value);
      };
      register(id, settle, resolve, reject);
    });
  });
}

/** Gives an event to the application's listener. What the listener throws (or an async listener rejects with)
 * is its own affair: it never ends a run nor crashes the process. */
export function deliver(onEvent, event) {
  if (!onEvent) return;
  try {
    const pending = onEvent(event);
    if (typeof pending?.catch === 'function') pending.catch(() => {});
  } catch {
    // ignored, as said above
  }
}
