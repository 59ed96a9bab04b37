// MCP alone: one server, its tools listed and called directly (the same driver as an agent's, with no model).

import { Driver } from '../pkg/mcp_loop.js';
import { applyKnownEras } from './eras.js';
import { directHost } from './direct.js';
import { configError, guarded } from './errors.js';
import { deliver } from './host.js';
import { CONNECTION } from './local.js';
import { checkHandlers, entropy, pickTransport, serverConfig } from './options.js';
import { init } from './wasm.js';

/**
 * Connects to one MCP server (Streamable HTTP, legacy HTTP+SSE, or stdio in Node) and resolves once it
 * answered: `{ serverInfo, protocolVersion, listTools(), callTool(name, args, { signal, onProgress }), close() }`.
 */
export async function connectMcp(options) {
  if (!options || typeof options !== 'object') throw configError('connectMcp needs an options object');
  const { handlers, fetch: _fetch, name = 'server', onEvent, ...server } = options;
  if (server.client !== undefined) throw configError('connectMcp connects to a url or a command; a client is already connected');
  await init();
  const checked = checkHandlers(handlers);
  const hooks = new Map();
  const core = serverConfig(name, server, checked, hooks);
  const eras = applyKnownEras([core]);
  const machine = guarded(() => new Driver(JSON.stringify({ servers: [core] }), entropy()));
  let connected = null;
  const { host, start } = directHost(machine, {
    transport: pickTransport(options, hooks),
    eras,
    hooks,
    handlers: checked,
    onEvent(event) {
      if (event.type === 'serverConnected') connected = event;
      deliver(onEvent, event);
    },
  });
  const listTools = () => start((m) => m.listTools(name, Date.now()));
  await host.restoreAuth();
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
