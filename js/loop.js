// The tool loop alone, for hosts that own their MCP clients and their model client.

import { ToolLoop as CoreLoop } from '../pkg/mcp_loop.js';
import { failure, guarded } from './errors.js';
import { decisionsJson, listedTools, loopOptions, snapshotText } from './options.js';
import { ensureLoaded } from './wasm.js';

/**
 * The tool loop alone: it says what to do (`next()` returns `{ type: 'callModel', id, request }`,
 * `{ type: 'callTool', id, callId, server, tool, arguments }`, `{ type: 'cancel', id }`, `{ type: 'event', event }`,
 * `{ type: 'paused', pending }`, `{ type: 'done', result }` or `{ type: 'wait' }`) and is told the outcomes.
 * `tools` is `{ server: tools[] }` as each `tools/list` gave them.
 */
export class ToolLoop {
  #core;
  /** The clock the loop reads (a durable host gives one that replays the same times). */
  #now;

  constructor(core, now) {
    this.#core = core;
    this.#now = now;
  }

  /** `traceId` names the run in its snapshot and result; `now` is its clock (default `Date.now`). */
  static start(options, tools, input, { traceId = '', now = Date.now } = {}) {
    ensureLoaded('ToolLoop.start');
    const core = guarded(() => new CoreLoop(loopOptions(options), listedTools(tools), JSON.stringify(input), String(traceId), now()));
    return new ToolLoop(core, now);
  }

  static restore(options, tools, snapshot, decisions = [], { now = Date.now } = {}) {
    ensureLoaded('ToolLoop.restore');
    const text = snapshotText(snapshot);
    return new ToolLoop(guarded(() => CoreLoop.restore(loopOptions(options), listedTools(tools), text, decisionsJson(decisions), now())), now);
  }

  next() {
    const out = JSON.parse(this.#core.pollOutput());
    if (out.type === 'done' && out.error) out.error = failure(out);
    return out;
  }

  modelResponse(id, response, { headers } = {}) {
    // Portkey's own response headers are what a turn's details keep (as the agent's model client does).
    const portkey = Object.entries(headers instanceof Headers ? Object.fromEntries(headers) : (headers ?? {}))
      .map(([name, value]) => [name.toLowerCase(), String(value)])
      .filter(([name]) => name.startsWith('x-portkey-'));
    const head = portkey.length ? JSON.stringify(portkey) : '';
    return this.#call((c) => c.handleModelResponse(id, JSON.stringify(response), head, this.#now()));
  }

  modelError(id, error) {
    return this.#call((c) => c.handleModelError(id, Number(error?.status) || 0, String(error?.message ?? error), this.#now()));
  }

  toolResult(id, result) {
    return this.#call((c) => c.handleToolResult(id, JSON.stringify(result), '', false, this.#now()));
  }

  toolFailed(id, message) {
    return this.#call((c) => c.handleToolResult(id, '', String(message || 'the call failed'), false, this.#now()));
  }

  toolInterrupted(id) {
    return this.#call((c) => c.handleToolResult(id, '', '', true, this.#now()));
  }

  decide(decisions) {
    this.#call((c) => c.decide(decisionsJson(decisions), this.#now()));
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
