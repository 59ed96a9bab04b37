// The platform-neutral API: everything but starting processes, which the Node entry adds. The wasm core is
// loaded by js/wasm.js: at once in Node, on first use or by `init()` in a browser.

import { toFunctionTools as convertTools } from '../pkg/mcp_loop.js';
import { guarded } from './errors.js';
import { ensureLoaded } from './wasm.js';

export { McpLoopError } from './errors.js';
export { init } from './wasm.js';
export { createAgent } from './agent.js';
export { ToolLoop } from './loop.js';
export { connectMcp } from './mcp.js';

/**
 * Converts MCP tools (the `tools` of a `tools/list` result, or the whole result) to Responses API function
 * tools. `resolve(name)` routes a function name the model uses back to `{ server, tool }`.
 */
export function toFunctionTools(tools, options = {}) {
  ensureLoaded('toFunctionTools');
  const out = guarded(() => JSON.parse(convertTools(JSON.stringify(tools), JSON.stringify(options))));
  const routes = new Map(Object.entries(out.routes));
  return { tools: out.tools, notes: out.notes, resolve: (name) => routes.get(name) ?? null };
}
