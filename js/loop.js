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

  constructor(core) {
    this.#core = core;
  }

  static start(options, tools, input) {
    ensureLoaded('ToolLoop.start');
    return new ToolLoop(guarded(() => new CoreLoop(loopOptions(options), listedTools(tools), JSON.stringify(input), '', Date.now())));
  }

  static restore(options, tools, snapshot, decisions = []) {
    ensureLoaded('ToolLoop.restore');
    const text = snapshotText(snapshot);
    return new ToolLoop(guarded(() => CoreLoop.restore(loopOptions(options), listedTools(tools), text, decisionsJson(decisions), Date.now())));
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
